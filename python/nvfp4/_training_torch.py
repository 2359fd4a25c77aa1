"""Training with NVFP4 recipes in PyTorch: ``nvfp4.torch.TrainingLinear``.

A Linear layer's step as two custom ops with an autograd formula
(``torch.library.register_autograd``), so eager PyTorch, torch.compile
(the ops stay opaque in the graph) and a standard optimizer loop all see
one differentiable operation:

    nvfp4::next_step(counter) -> step          (counter += 1)
    nvfp4::linear_forward(x, weight, bias, step, w..., w_t..., layer, config)
        -> (y, x_data_t, x_scale_t, x_amax_t)
    nvfp4::linear_backward(dy, step, x_t..., w_t..., layer, config, ...)
        -> (dx, dw, dbias)

Forward quantizes the activation once, in both directions (the rowwise
output feeds fprop, the columnwise one is saved for wgrad: 4-bit instead
of the bf16 activation), and multiplies it by the weight's quantized
rowwise output with the bias in the GEMM's epilogue. The weight is
quantized once per update by the 2D recipe, both directions in one kernel
(the caller passes its outputs; TrainingLinear caches them while the
parameter's version counter stays). Backward quantizes dY once in both
directions with the step's stochastic-rounding seed: dgrad multiplies its
rowwise output by the weight's columnwise one, wgrad its columnwise
output by the saved activation's; the bias gradient is a float32 sum of
dY. The float32 (or bf16) master weight and bias stay parameters the
optimizer updates.

``counter`` is a CPU int64 scalar that ``next_step`` reads and increments
(an op that mutates it: PyTorch differentiates only functional ops); the
seed of the backward's gradient quantization derives from the step read,
so every call gets its own seed while a compiled graph stays the same (a
seed in the traced recipe text would recompile every step).
"""

from __future__ import annotations

import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

import nvfp4
from . import training as tr
from ._lib import NVFP4Error
from ._recipes import info_for_text
from ._result import QuantizeResult

__all__ = ["TrainingLinear", "prepare_training"]

# (TrainingRecipe, SeedPolicy) by the key the ops are passed (their repr).
_CONFIGS = {}
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16,
           "float16": torch.float16}
_OUT = {torch.float32: "f32", torch.bfloat16: "bf16", torch.float16: "f16"}


def _config_key(recipe: tr.TrainingRecipe, seeds: tr.SeedPolicy) -> str:
    key = repr((recipe, seeds))
    _CONFIGS[key] = (recipe, seeds)
    return key


def _config(key):
    try:
        return _CONFIGS[key]
    except KeyError:
        raise NVFP4Error(f"unknown training configuration {key!r} (made by "
                         "TrainingLinear in this process)") from None


# Optimizer steps so far, in any optimizer: a fused optimizer updates
# parameters without bumping their version counters, so the weight cache
# keys on this too.
_OPTIMIZER_STEPS = [0]


def _optimizer_stepped(optimizer, args, kwargs):
    _OPTIMIZER_STEPS[0] += 1


register_optimizer_step_post_hook(_optimizer_stepped)


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def _pad_rows(t, rows):
    """``t`` with zero rows appended up to ``rows`` (columnwise blocks run
    along M in 16s; zero rows change no amax and add nothing to wgrad)."""
    if t.shape[0] == rows:
        return t
    return torch.cat([t, t.new_zeros((rows - t.shape[0], t.shape[1]))])


def _padded(m):
    return (m + 15) // 16 * 16


def _operand(data, scale, amax, text):
    return QuantizeResult(data, scale, amax, recipe=text)


def _specs(text, rows, cols):
    from .torch import _specs as specs
    return specs(info_for_text(text), rows, cols)


#===------------------------------------------------------------------------===#
# The ops
#===------------------------------------------------------------------------===#

@torch.library.custom_op("nvfp4::next_step", mutates_args=("counter",),
                         schema="(Tensor(a!) counter) -> Tensor")
def _next_step_op(counter):
    """The counter's value (a new CPU int64 scalar), then counter += 1: the
    step of a call, in the graph without a recompile per value."""
    step = counter.clone()
    counter.add_(1)
    return step


@_next_step_op.register_fake
def _(counter):
    return torch.empty_like(counter)


_FORWARD_SCHEMA = (
    "(Tensor x, Tensor weight, Tensor? bias, Tensor step, Tensor w_data, "
    "Tensor w_scale, Tensor w_amax, Tensor w_data_t, Tensor w_scale_t, "
    "Tensor w_amax_t, str layer, str config) -> "
    "(Tensor, Tensor, Tensor, Tensor)")


@torch.library.custom_op("nvfp4::linear_forward", mutates_args=(),
                         schema=_FORWARD_SCHEMA)
def _forward_op(x, weight, bias, step, w_data, w_scale, w_amax, w_data_t, w_scale_t,
                w_amax_t, layer, config):
    recipe, _ = _config(config)
    x = x.detach()  # an op's implementation runs below autograd
    m = x.shape[0]
    q = tr.quantize(_pad_rows(x, _padded(m)), recipe.activation)
    a = tr.operand(q, recipe.activation, "rowwise")
    b = _operand(w_data, w_scale, w_amax, recipe.weight.gemm_text())
    if bias is not None:
        bias = bias.detach().float()
    y = nvfp4.matmul(a, b, bias=bias, out_dtype=_OUT[x.dtype])
    if y.shape[0] != m:
        y = y[:m].clone()
    return y, q.data_t, q.scale_t, q.amax_t


@_forward_op.register_fake
def _(x, weight, bias, step, w_data, w_scale, w_amax, w_data_t, w_scale_t, w_amax_t,
      layer, config):
    recipe, _ = _config(config)
    m, k = x.shape
    specs = _specs(recipe.activation.quantize_text(), _padded(m), k).by_name
    out = [x.new_empty((m, weight.shape[0]))]
    out += [x.new_empty(specs[n], dtype=torch.uint8 if n != "amax_t" else torch.float32)
            for n in ("data_t", "scale_t", "amax_t")]
    return tuple(out)


_BACKWARD_SCHEMA = (
    "(Tensor dy, Tensor step, Tensor x_data_t, Tensor x_scale_t, Tensor x_amax_t, "
    "Tensor w_data_t, Tensor w_scale_t, Tensor w_amax_t, str layer, str config, "
    "bool needs_dx, str x_dtype, str w_dtype, str bias_dtype) -> "
    "(Tensor, Tensor, Tensor)")


@torch.library.custom_op("nvfp4::linear_backward", mutates_args=(),
                         schema=_BACKWARD_SCHEMA)
def _backward_op(dy, step, x_data_t, x_scale_t, x_amax_t, w_data_t, w_scale_t,
                 w_amax_t, layer, config, needs_dx, x_dtype, w_dtype, bias_dtype):
    recipe, seeds = _config(config)
    dy = dy.detach()
    m = dy.shape[0]
    seed = seeds.seed_for(layer, int(step.item()), "grad") if recipe.grad.stochastic else 0
    g = tr.quantize(_pad_rows(dy, _padded(m)), recipe.grad, seed=seed)
    if needs_dx:  # dX = dY W: dY rowwise (along N) x W columnwise (W^T, along N)
        w_t = _operand(w_data_t, w_scale_t, w_amax_t, recipe.weight.gemm_text())
        dx = nvfp4.matmul(tr.operand(g, recipe.grad, "rowwise"), w_t,
                          out_dtype=_OUT[_DTYPES[x_dtype]])
        if dx.shape[0] != m:
            dx = dx[:m].clone()
    else:
        dx = dy.new_empty((0,))
    # dW = dY^T X: both columnwise (along M), transformed alike.
    x_t = _operand(x_data_t, x_scale_t, x_amax_t, recipe.activation.gemm_text())
    dw = nvfp4.matmul(tr.operand(g, recipe.grad, "columnwise"), x_t,
                      out_dtype=_OUT[_DTYPES[w_dtype]])
    if bias_dtype:
        dbias = dy.sum(0, dtype=torch.float32).to(_DTYPES[bias_dtype])
    else:
        dbias = dy.new_empty((0,))
    return dx, dw, dbias


@_backward_op.register_fake
def _(dy, step, x_data_t, x_scale_t, x_amax_t, w_data_t, w_scale_t, w_amax_t, layer,
      config, needs_dx, x_dtype, w_dtype, bias_dtype):
    m, n = dy.shape
    k = x_data_t.shape[0]
    dx = dy.new_empty((m, k) if needs_dx else (0,), dtype=_DTYPES[x_dtype])
    dw = dy.new_empty((n, k), dtype=_DTYPES[w_dtype])
    dbias = dy.new_empty((n,) if bias_dtype else (0,),
                         dtype=_DTYPES[bias_dtype or "float32"])
    return dx, dw, dbias


def _setup_context(ctx, inputs, output):
    x, weight, bias, step, _, _, _, w_data_t, w_scale_t, w_amax_t, layer, config = inputs
    _, x_data_t, x_scale_t, x_amax_t = output
    ctx.mark_non_differentiable(x_data_t, x_scale_t, x_amax_t)
    ctx.save_for_backward(step, x_data_t, x_scale_t, x_amax_t, w_data_t, w_scale_t,
                          w_amax_t)
    ctx.meta = (layer, config, _dtype_name(x.dtype), _dtype_name(weight.dtype),
                "" if bias is None else _dtype_name(bias.dtype))


def _backward(ctx, dy, *unused):
    step, x_data_t, x_scale_t, x_amax_t, w_data_t, w_scale_t, w_amax_t = ctx.saved_tensors
    layer, config, x_dtype, w_dtype, bias_dtype = ctx.meta
    needs_dx = ctx.needs_input_grad[0]
    dx, dw, dbias = torch.ops.nvfp4.linear_backward(
        dy.contiguous(), step, x_data_t, x_scale_t, x_amax_t, w_data_t, w_scale_t,
        w_amax_t, layer, config, needs_dx, x_dtype, w_dtype, bias_dtype)
    return (dx if needs_dx else None, dw, dbias if bias_dtype else None,
            *(None,) * 9)


torch.library.register_autograd("nvfp4::linear_forward", _backward,
                                setup_context=_setup_context)


#===------------------------------------------------------------------------===#
# The module
#===------------------------------------------------------------------------===#

class TrainingLinear(torch.nn.Module):
    """``nn.Linear`` trained with an NVFP4 training recipe
    (:class:`nvfp4.training.TrainingRecipe`, or a preset name): forward,
    dgrad and wgrad are NVFP4 GEMMs (see the module docstring); ``weight``
    and ``bias`` are ordinary parameters (float32 or bf16 masters) for any
    optimizer. ``seeds`` (:class:`nvfp4.training.SeedPolicy`) gives the
    gradient's stochastic-rounding seed of each call; ``name`` keys this
    layer's seeds (prepare_training passes the qualified name).

    in_features and out_features must be multiples of 16 (the quantized
    dimensions of the GEMMs); any number of tokens works (a ragged count is
    padded with zero rows for the columnwise quantizations). The call
    counter behind the seeds is saved in the state dict (extra state), so a
    resumed run continues the same seed sequence."""

    def __init__(self, in_features, out_features, bias=True, *, recipe="te_default",
                 seeds=None, name="", device=None, dtype=None):
        super().__init__()
        self._set_features(in_features, out_features)
        self.weight = torch.nn.Parameter(torch.empty((out_features, in_features),
                                                     device=device, dtype=dtype))
        self.bias = (torch.nn.Parameter(torch.empty(out_features, device=device,
                                                    dtype=dtype)) if bias else None)
        torch.nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        if self.bias is not None:
            bound = 1 / in_features ** 0.5
            torch.nn.init.uniform_(self.bias, -bound, bound)
        self._setup(recipe, seeds, name)

    def _set_features(self, in_features, out_features):
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if n % 16:
                raise NVFP4Error(f"expected {what} to be a multiple of 16 (a quantized "
                                 f"dimension), got {n}")
        self.in_features, self.out_features = in_features, out_features

    def _setup(self, recipe, seeds, name):
        self.recipe = tr.get_recipe(recipe).check()
        self.seeds = tr.SeedPolicy() if seeds is None else seeds
        self.layer = name
        self._config = _config_key(self.recipe, self.seeds)
        # Resolved here: a traced forward reads them as constants.
        self._weight_text = self.recipe.weight.quantize_text()
        self._act_rowwise_text = self.recipe.activation.rowwise_text()
        self._act_gemm_text = self.recipe.activation.gemm_text()
        self._weight_gemm_text = self.recipe.weight.gemm_text()
        # A plain attribute, not a buffer: it stays on the CPU when the
        # module moves (the ops read it without a device sync).
        self._counter = torch.zeros((), dtype=torch.int64)
        self._weight_cache = None

    @classmethod
    def from_linear(cls, linear, *, recipe="te_default", seeds=None, name=""):
        """A TrainingLinear holding `linear`'s own parameters (an optimizer
        made for `linear` keeps updating them)."""
        self = cls.__new__(cls)
        torch.nn.Module.__init__(self)
        self._set_features(linear.in_features, linear.out_features)
        self.weight = linear.weight
        self.bias = linear.bias
        self._setup(recipe, seeds, name)
        return self

    @property
    def step(self) -> int:
        """Calls so far (the step whose seed the next call uses)."""
        return int(self._counter)

    @step.setter
    def step(self, value: int):
        self._counter.fill_(int(value))

    def quantized_weight(self) -> QuantizeResult:
        """The weight quantized by the recipe's weight recipe in both
        directions, computed once per update: cached while no optimizer has
        stepped (fused optimizers bump no version counter) and the
        parameter's storage and version counter (bumped by in-place
        updates) stay the same."""
        w = self.weight
        key = (w.data_ptr(), w._version, _OPTIMIZER_STEPS[0], w.dtype, w.device,
               tuple(w.shape))
        cache = self._weight_cache
        if cache is None or cache[0] != key:
            q = tr.quantize(w.detach(), self.recipe.weight)
            cache = self._weight_cache = (key, q)
        return cache[1]

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise NVFP4Error(f"expected input features {self.in_features}, got "
                             f"{x.shape[-1]}")
        if torch.compiler.is_compiling():  # traced: no cache, quantized in the graph
            wq = nvfp4.quantize(self.weight.detach(), recipe=self._weight_text)
        else:
            wq = self.quantized_weight()
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)
        if not x2.is_contiguous():
            x2 = x2.contiguous()
        if not torch.is_grad_enabled() or not any(
                t is not None and t.requires_grad for t in (x, self.weight, self.bias)):
            y = self._forward_only(x2, wq)
        else:
            step = torch.ops.nvfp4.next_step(self._counter)
            y = torch.ops.nvfp4.linear_forward(
                x2, self.weight, self.bias, step, wq.data, wq.scale, wq.amax,
                wq.data_t, wq.scale_t, wq.amax_t, self.layer, self._config)[0]
        return y.reshape(*lead, self.out_features)

    def _forward_only(self, x2, wq):
        """fprop alone (evaluation, no gradient): X quantized rowwise only,
        the same bytes as the rowwise output of the training forward; the
        step counter stays."""
        q = nvfp4.quantize(x2.detach(), recipe=self._act_rowwise_text)
        a = QuantizeResult(q.data, q.scale, q.amax, recipe=self._act_gemm_text)
        w = QuantizeResult(wq.data, wq.scale, wq.amax, recipe=self._weight_gemm_text)
        bias = None if self.bias is None else self.bias.detach().float()
        return nvfp4.matmul(a, w, bias=bias, out_dtype=_OUT[x2.dtype])

    def get_extra_state(self):
        return {"step": self.step}

    def set_extra_state(self, state):
        self.step = state["step"]

    def __getstate__(self):  # copies rebuild the weight cache
        state = dict(self.__dict__)
        state["_weight_cache"] = None
        return state

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, recipe={self.recipe.name}, "
                f"layer={self.layer!r}")


def prepare_training(module, recipe="te_default", *, seeds=None, prefix=""):
    """Replaces every ``nn.Linear`` of `module` (recursively, in place) by a
    TrainingLinear sharing its parameters, with the recipe that ``recipe``
    gives for the layer's qualified name: a TrainingRecipe or preset name
    for every layer, or a :class:`nvfp4.training.RecipePolicy` (per-layer
    overrides; None keeps a layer in high precision). Layers whose
    features are not multiples of 16 are kept too. Returns `module`."""
    policy = recipe if isinstance(recipe, tr.RecipePolicy) else tr.RecipePolicy(recipe)
    seeds = tr.SeedPolicy() if seeds is None else seeds
    for name, child in list(module.named_children()):
        full = f"{prefix}{name}"
        if isinstance(child, torch.nn.Linear) and not isinstance(child, TrainingLinear):
            chosen = policy.recipe_for(full)
            if (chosen is not None and child.in_features % 16 == 0
                    and child.out_features % 16 == 0):
                setattr(module, name, TrainingLinear.from_linear(
                    child, recipe=chosen, seeds=seeds, name=full))
        else:
            prepare_training(child, policy, seeds=seeds, prefix=f"{full}.")
    return module
