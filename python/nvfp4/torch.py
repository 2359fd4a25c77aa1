"""PyTorch integration: ``torch.ops.nvfp4.*`` and an NVFP4 ``Linear``.

Importing this module registers eleven operators with ``torch.library``:

    nvfp4::quantize(Tensor x, str recipe, str input_dtype="") -> Tensor[]
    nvfp4::grouped_quantize(Tensor x, Tensor splits, str recipe,
                            str input_dtype="") -> Tensor[]
    nvfp4::dequantize(Tensor data, Tensor scale, Tensor amax, str recipe) -> Tensor
    nvfp4::matmul(Tensor a_data, Tensor a_scale, Tensor a_amax, str a_recipe,
                  Tensor b_data, Tensor b_scale, Tensor b_amax, str b_recipe,
                  Tensor? bias=None, float alpha=1., str out_dtype="bf16") -> Tensor
    nvfp4::grouped_matmul(<matmul's A>, Tensor splits, <matmul's B>, ...) -> Tensor
    nvfp4::matmul_w4a16(Tensor a, <matmul's B>, ...) -> Tensor   (bf16/f16 A)
    nvfp4::per_token_scale(Tensor amax, int e4m3_max) -> Tensor

and the producers of SPEC.md section 15 (``act`` is "silu" or "gelu_tanh";
the residual is updated in place, declared as mutated):

    nvfp4::rms_norm_quantize(Tensor x, Tensor weight, Tensor(a!)? residual,
                             float eps, str recipe, bool return_y=False,
                             str input_dtype="")
        -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)
    nvfp4::gated_act_quantize(Tensor x, str act, str recipe,
                              bool return_y=False, str input_dtype="") -> Tensor[]
    nvfp4::rms_norm(Tensor x, Tensor weight, Tensor(a!)? residual, float eps,
                    str input_dtype="") -> (Tensor y, Tensor rstd)
    nvfp4::gated_act(Tensor x, str act, str input_dtype="") -> Tensor

The quantize ops return the rowwise data, scale and amax, then the
columnwise ones, for the directions the recipe has; gated_act_quantize
returns y first with return_y. rms_norm_quantize, which mutates its
residual, returns a fixed tuple instead (PyTorch functionalizes an op that
mutates an input only when it returns Tensors, not a Tensor[]): rstd, y,
then the six quantize outputs, each an empty tensor where absent. Their
fake kernels size the outputs from the recipe: concrete sizes through the
C ABI's shape functions (cached), symbolic ones (SymInt) by the same
formulas.

Training with NVFP4 recipes (``TrainingLinear``, ``prepare_training``;
docs/Training.md) adds ``nvfp4::linear_forward`` and
``nvfp4::linear_backward``, a Linear layer's step with an autograd formula.

``nvfp4.quantize``, ``dequantize``, ``matmul``, the grouped forms and the
producers call these ops while ``torch.compiler.is_compiling()``
(torch.compile and torch.export trace them; the graph keeps them), and the
direct ctypes path otherwise: an eager call skips the dispatcher. PyTorch stays optional:
``import nvfp4`` never imports this module unless PyTorch is already
imported (it is then registered at once, or at the first PyTorch tensor).
"""

import sys

import torch

import nvfp4
from . import _device, _producers, _recipes, _result
from ._lib import NVFP4Error
from ._recipes import info_for_text
from ._result import QuantizeResult

__all__ = ["Linear", "swap_linears", "TrainingLinear", "prepare_training"]

_OUT_NAMES = ("f32", "f16", "bf16")
_TORCH_OUT = (torch.float32, torch.float16, torch.bfloat16)
_OUT_CODES = {dtype: code for code, dtype in enumerate(_TORCH_OUT)}
_TORCH_BACKEND = _device._make("torch")


#===------------------------------------------------------------------------===#
# Shapes for fake kernels
#===------------------------------------------------------------------------===#

def _specs(info, rows, cols, groups=None):
    """The output shapes: from the C ABI for concrete sizes, by formula for
    symbolic ones."""
    if all(isinstance(d, int) for d in (rows, cols, 0 if groups is None else groups)):
        return info.specs(rows, cols, groups)
    return info.symbolic_specs(rows, cols, groups)


def _check_input(x, input_dtype):
    if x.dim() != 2:
        raise NVFP4Error(f"expected a 2-D array, got shape {tuple(x.shape)}")
    if not input_dtype and x.dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise NVFP4Error(f"unsupported dtype {str(x.dtype).replace('torch.', '')} "
                         "(expected float32, float16 or bfloat16)")


def _empty_outputs(x, specs):
    return [x.new_empty(shape, dtype=getattr(torch, dtype))
            for _, _, shape, dtype in specs.entries]


#===------------------------------------------------------------------------===#
# The ops
#===------------------------------------------------------------------------===#

def _fields(q, info):
    names = (("data", "scale", "amax") if info.rowwise else ()) + \
            (("data_t", "scale_t", "amax_t") if info.columnwise else ())
    return [getattr(q, n) for n in names]


def _below_autograd(t):
    """An op's tensor argument without autograd history: a compiled graph
    may pass a parameter that requires grad (Inductor drops a traced
    detach), which the host path's DLPack export refuses."""
    return None if t is None else t.detach()


@torch.library.custom_op("nvfp4::quantize", mutates_args=(),
                         schema="(Tensor x, str recipe, str input_dtype=\"\") -> Tensor[]")
def _quantize_op(x, recipe, input_dtype=""):
    info = info_for_text(recipe)
    x = _below_autograd(x)
    # Separate allocations: a custom op's outputs may not alias each other.
    return _fields(nvfp4._quantize(x, info, input_dtype or None, separate=True), info)


@_quantize_op.register_fake
def _(x, recipe, input_dtype=""):
    _check_input(x, input_dtype)
    info = info_for_text(recipe)
    return _empty_outputs(x, _specs(info, x.shape[0], x.shape[1]))


@torch.library.custom_op("nvfp4::grouped_quantize", mutates_args=(),
                         schema="(Tensor x, Tensor splits, str recipe, "
                                "str input_dtype=\"\") -> Tensor[]")
def _grouped_quantize_op(x, splits, recipe, input_dtype=""):
    info = info_for_text(recipe)
    be = _device.gpu_backend(x)
    if be is None:
        raise NVFP4Error("grouped_quantize runs on GPU arrays (PyTorch, CuPy): the C "
                         "ABI has no host grouped quantization")
    return _fields(_device.quantize(be, x, info, input_dtype or None, splits,
                                    separate=True), info)


@_grouped_quantize_op.register_fake
def _(x, splits, recipe, input_dtype=""):
    _check_input(x, input_dtype)
    if splits.dim() != 1 or splits.dtype != torch.int64:
        raise NVFP4Error("expected splits to be a contiguous 1-D int64 array of at "
                         f"least one group size, got {splits.dtype} of shape "
                         f"{tuple(splits.shape)}")
    info = info_for_text(recipe)
    return _empty_outputs(x, _specs(info, x.shape[0], x.shape[1], splits.shape[0]))


@torch.library.custom_op("nvfp4::dequantize", mutates_args=(),
                         schema="(Tensor data, Tensor scale, Tensor amax, str recipe) "
                                "-> Tensor")
def _dequantize_op(data, scale, amax, recipe):
    return nvfp4._dequantize(data, scale, amax, info_for_text(recipe), None)


@_dequantize_op.register_fake
def _(data, scale, amax, recipe):
    if data.dim() != 2:
        raise NVFP4Error(f"expected 2-D data, got shape {tuple(data.shape)}")
    return data.new_empty((data.shape[0], data.shape[1] * 2), dtype=torch.float32)


@torch.library.custom_op("nvfp4::per_token_scale", mutates_args=(),
                         schema="(Tensor amax, int e4m3_max) -> Tensor")
def _per_token_scale_op(amax, e4m3_max):
    return _device.decode_torch(torch, amax, 6 * e4m3_max)


@_per_token_scale_op.register_fake
def _(amax, e4m3_max):
    return torch.empty_like(amax)


_MATMUL_A = "Tensor a_data, Tensor a_scale, Tensor a_amax, str a_recipe"
_MATMUL_B = "Tensor b_data, Tensor b_scale, Tensor b_amax, str b_recipe"
_MATMUL_TAIL = "Tensor? bias=None, float alpha=1., str out_dtype=\"bf16\""


def _as_operand(data, scale, amax, recipe, groups=None):
    return QuantizeResult(data, scale, amax, recipe=recipe, groups=groups)


@torch.library.custom_op("nvfp4::matmul", mutates_args=(),
                         schema=f"({_MATMUL_A}, {_MATMUL_B}, {_MATMUL_TAIL}) -> Tensor")
def _matmul_op(a_data, a_scale, a_amax, a_recipe, b_data, b_scale, b_amax, b_recipe,
               bias=None, alpha=1.0, out_dtype="bf16"):
    bias = _below_autograd(bias)
    return nvfp4._matmul(_as_operand(a_data, a_scale, a_amax, a_recipe),
                         _as_operand(b_data, b_scale, b_amax, b_recipe),
                         bias, alpha, nvfp4._out_code(out_dtype), None, "cpu")


def _check_operands(a_data, a_recipe, b_data, b_recipe, b_rank):
    for name, recipe in (("a", a_recipe), ("b", b_recipe)):
        info = info_for_text(recipe)
        if info.sf_layout != "128x4":
            raise NVFP4Error(f"{name}: matmul operands need sf_layout = 128x4 (the "
                             f"block-scaled MMA layout), got {info.sf_layout} in "
                             f"{info.text}")
    if a_data.dim() != 2 or b_data.dim() != b_rank:
        raise NVFP4Error(f"expected a's data to be 2-D and b's {b_rank}-D, got "
                         f"{tuple(a_data.shape)} and {tuple(b_data.shape)}")
    ka, kb = a_data.shape[1], b_data.shape[-1]
    if isinstance(ka, int) and isinstance(kb, int) and ka != kb:
        raise NVFP4Error(f"A and B must share K: {ka * 2} and {kb * 2}")


@_matmul_op.register_fake
def _(a_data, a_scale, a_amax, a_recipe, b_data, b_scale, b_amax, b_recipe,
      bias=None, alpha=1.0, out_dtype="bf16"):
    _check_operands(a_data, a_recipe, b_data, b_recipe, 2)
    return a_data.new_empty((a_data.shape[0], b_data.shape[0]),
                            dtype=_TORCH_OUT[nvfp4._out_code(out_dtype)])


@torch.library.custom_op("nvfp4::matmul_w4a16", mutates_args=(),
                         schema=f"(Tensor a, {_MATMUL_B}, {_MATMUL_TAIL}) -> Tensor")
def _matmul_w4a16_op(a, b_data, b_scale, b_amax, b_recipe, bias=None, alpha=1.0,
                     out_dtype="bf16"):
    a, bias = _below_autograd(a), _below_autograd(bias)
    return nvfp4._matmul_w4a16(a, _as_operand(b_data, b_scale, b_amax, b_recipe),
                               bias, alpha, nvfp4._out_code(out_dtype), None, "cpu")


@_matmul_w4a16_op.register_fake
def _(a, b_data, b_scale, b_amax, b_recipe, bias=None, alpha=1.0, out_dtype="bf16"):
    info = info_for_text(b_recipe)
    if info.sf_layout != "128x4":
        raise NVFP4Error(f"b: matmul operands need sf_layout = 128x4 (the block-scaled "
                         f"MMA layout), got {info.sf_layout} in {info.text}")
    if a.dtype not in (torch.bfloat16, torch.float16):
        raise NVFP4Error(f"a: expected a bfloat16 or float16 array for W4A16, got "
                         f"{a.dtype}")
    if a.dim() != 2 or b_data.dim() != 2:
        raise NVFP4Error(f"expected 2-D a and b data, got {tuple(a.shape)} and "
                         f"{tuple(b_data.shape)}")
    ka, kb = a.shape[1], b_data.shape[1]
    if isinstance(ka, int) and isinstance(kb, int) and ka != kb * 2:
        raise NVFP4Error(f"A and B must share K: {ka} and {kb * 2}")
    return a.new_empty((a.shape[0], b_data.shape[0]),
                       dtype=_TORCH_OUT[nvfp4._out_code(out_dtype)])


@torch.library.custom_op("nvfp4::grouped_matmul", mutates_args=(),
                         schema=f"({_MATMUL_A}, Tensor splits, {_MATMUL_B}, "
                                f"{_MATMUL_TAIL}) -> Tensor")
def _grouped_matmul_op(a_data, a_scale, a_amax, a_recipe, splits, b_data, b_scale,
                       b_amax, b_recipe, bias=None, alpha=1.0, out_dtype="bf16"):
    groups = splits.shape[0]
    return _device.grouped_matmul(_as_operand(a_data, a_scale, a_amax, a_recipe, groups),
                                  splits,
                                  _as_operand(b_data, b_scale, b_amax, b_recipe, groups),
                                  bias, float(alpha), nvfp4._out_code(out_dtype), None)


@_grouped_matmul_op.register_fake
def _(a_data, a_scale, a_amax, a_recipe, splits, b_data, b_scale, b_amax, b_recipe,
      bias=None, alpha=1.0, out_dtype="bf16"):
    _check_operands(a_data, a_recipe, b_data, b_recipe, 3)
    return a_data.new_empty((a_data.shape[0], b_data.shape[1]),
                            dtype=_TORCH_OUT[nvfp4._out_code(out_dtype)])


#===------------------------------------------------------------------------===#
# Producers (SPEC.md section 15)
#===------------------------------------------------------------------------===#

_STORAGE = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _check_producer(act, x, weight, residual, eps, input_dtype):
    """The fake kernels' checks (those the real run makes first), and the
    produced matrix's columns and dtype."""
    _check_input(x, input_dtype)
    rows, cols = x.shape
    if act is _producers.RMS_NORM:
        _producers._eps(eps)
        if weight.dtype != x.dtype or (residual is not None and residual.dtype != x.dtype):
            raise NVFP4Error(f"expected weight and residual of x's dtype {x.dtype}, got "
                             f"{weight.dtype} and "
                             f"{None if residual is None else residual.dtype}")
        if weight.dim() != 1 or (residual is not None and residual.dim() != 2):
            raise NVFP4Error(f"expected a 1-D weight and a 2-D residual, got shapes "
                             f"{tuple(weight.shape)} and "
                             f"{None if residual is None else tuple(residual.shape)}")
    elif act not in _producers.ACTIVATIONS:
        raise NVFP4Error(f"unknown activation {act!r} (expected silu or gelu_tanh)")
    if isinstance(cols, int):
        cols = _producers.result_cols(act, rows, cols)
    else:
        cols = cols // 2 if act is not _producers.RMS_NORM else cols
    return rows, cols, _STORAGE.get(input_dtype, x.dtype)


def _producer_fake(act, x, weight, residual, eps, recipe, return_y, input_dtype):
    rows, cols, dtype = _check_producer(act, x, weight, residual, eps, input_dtype)
    if recipe is None:  # alone: y (and rstd)
        y = x.new_empty((rows, cols), dtype=dtype)
        return y if act is not _producers.RMS_NORM else \
            (y, x.new_empty((rows,), dtype=torch.float32))
    outs = _empty_outputs(x, _specs(info_for_text(recipe), rows, cols))
    y = x.new_empty((rows, cols), dtype=dtype) if return_y else None
    if act is not _producers.RMS_NORM:
        return ([y] if return_y else []) + outs
    rstd = x.new_empty((rows,), dtype=torch.float32)
    return _rms_outputs(x, rstd, y, info_for_text(recipe), outs)


def _rms_outputs(x, rstd, y, info, outs):
    """rms_norm_quantize's eight outputs: rstd, y, then the rowwise and
    columnwise data, scale and amax (empty tensors for y when not asked and
    for a direction the recipe lacks). A fixed tuple of Tensors, because
    PyTorch functionalizes an op that mutates an input (the residual) only
    when it returns Tensors, not a Tensor[]."""
    outs = iter(outs)
    fields = [next(outs) if on else x.new_empty((0,), dtype=torch.uint8)
              for on in (info.rowwise,) * 3 + (info.columnwise,) * 3]
    return (rstd, x.new_empty((0,), dtype=torch.uint8) if y is None else y, *fields)


def _producer_op(act, x, weight, residual, eps, recipe, return_y, input_dtype):
    info = None if recipe is None else info_for_text(recipe)
    q, rstd, y = _producers.run(act, x, weight, residual, eps, info, return_y,
                                input_dtype or None, separate=True)
    if q is None:  # alone: y (and rstd)
        return y if rstd is None else (y, rstd)
    if act is not _producers.RMS_NORM:
        return ([y] if return_y else []) + _fields(q, info)
    return _rms_outputs(x, rstd, y, info, _fields(q, info))


@torch.library.custom_op("nvfp4::rms_norm_quantize", mutates_args=("residual",),
                         schema="(Tensor x, Tensor weight, Tensor(a!)? residual, "
                                "float eps, str recipe, bool return_y=False, "
                                "str input_dtype=\"\") -> (Tensor, Tensor, Tensor, "
                                "Tensor, Tensor, Tensor, Tensor, Tensor)")
def _rms_norm_quantize_op(x, weight, residual, eps, recipe, return_y=False,
                          input_dtype=""):
    return _producer_op(_producers.RMS_NORM, x, weight, residual, eps, recipe, return_y,
                        input_dtype)


@_rms_norm_quantize_op.register_fake
def _(x, weight, residual, eps, recipe, return_y=False, input_dtype=""):
    return _producer_fake(_producers.RMS_NORM, x, weight, residual, eps, recipe,
                          return_y, input_dtype)


@torch.library.custom_op("nvfp4::gated_act_quantize", mutates_args=(),
                         schema="(Tensor x, str act, str recipe, bool return_y=False, "
                                "str input_dtype=\"\") -> Tensor[]")
def _gated_act_quantize_op(x, act, recipe, return_y=False, input_dtype=""):
    return _producer_op(act, x, None, None, None, recipe, return_y, input_dtype)


@_gated_act_quantize_op.register_fake
def _(x, act, recipe, return_y=False, input_dtype=""):
    return _producer_fake(act, x, None, None, None, recipe, return_y, input_dtype)


@torch.library.custom_op("nvfp4::rms_norm", mutates_args=("residual",),
                         schema="(Tensor x, Tensor weight, Tensor(a!)? residual, "
                                "float eps, str input_dtype=\"\") -> (Tensor, Tensor)")
def _rms_norm_op(x, weight, residual, eps, input_dtype=""):
    return _producer_op(_producers.RMS_NORM, x, weight, residual, eps, None, True,
                        input_dtype)


@_rms_norm_op.register_fake
def _(x, weight, residual, eps, input_dtype=""):
    return _producer_fake(_producers.RMS_NORM, x, weight, residual, eps, None, True,
                          input_dtype)


@torch.library.custom_op("nvfp4::gated_act", mutates_args=(),
                         schema="(Tensor x, str act, str input_dtype=\"\") -> Tensor")
def _gated_act_op(x, act, input_dtype=""):
    return _producer_op(act, x, None, None, None, None, True, input_dtype)


@_gated_act_op.register_fake
def _(x, act, input_dtype=""):
    return _producer_fake(act, x, None, None, None, None, True, input_dtype)


#===------------------------------------------------------------------------===#
# What nvfp4.* calls while compiling
#===------------------------------------------------------------------------===#

# Recipe resolution runs ctypes: Dynamo calls these at trace time and keeps
# their results as constants (outside Dynamo they are plain calls).
@torch._dynamo.assume_constant_result
def _recipe_text(recipe, key):
    return nvfp4._info(recipe, key).text


@torch._dynamo.assume_constant_result
def _keys_text(recipe, keys):
    return nvfp4._keys_info(recipe, dict(keys)).text


@torch._dynamo.assume_constant_result
def _facts(text):
    info = info_for_text(text)
    return info.rowwise, info.columnwise, info.outer, info.bound


@torch._dynamo.assume_constant_result
def _out_name(out_dtype):
    return _OUT_NAMES[nvfp4._out_code(out_dtype)]


def _as_result(outs, text, groups):
    rowwise, columnwise, outer, bound = _facts(text)
    q = QuantizeResult(recipe=text, groups=groups)
    i = 0
    if rowwise:
        q.data, q.scale, q.amax = outs[0], outs[1], outs[2]
        i = 3
    if columnwise:
        q.data_t, q.scale_t, q.amax_t = outs[i], outs[i + 1], outs[i + 2]
    if rowwise and outer == _recipes.OUTER_ROW:
        if "global_scale_inv" in text:
            raise NVFP4Error("recipes with global_scale_inv are not supported "
                             "under torch.compile")
        # In a traced graph an unused multiplier is dead code: no laziness.
        q.per_token_scale = _decode(q.amax, bound)
    return q


def _decode(amax, bound):
    # An op, not its aten ops: Inductor would fuse those into a Triton
    # kernel whose division is approximate (div.full), not IEEE like eager.
    return torch.ops.nvfp4.per_token_scale(amax, bound)


def quantize(x, recipe, key, input_dtype):
    text = _recipe_text(recipe, key)
    return _as_result(torch.ops.nvfp4.quantize(x, text, input_dtype or ""), text, None)


def grouped_quantize(x, splits, recipe, key, input_dtype):
    text = _recipe_text(recipe, key)
    outs = torch.ops.nvfp4.grouped_quantize(x, splits, text, input_dtype or "")
    return _as_result(outs, text, splits.shape[0])


def rms_norm_quantize(x, weight, residual, eps, recipe, keys, return_y, input_dtype):
    text = _keys_text(recipe, tuple(sorted(keys.items())))
    outs = torch.ops.nvfp4.rms_norm_quantize(x, weight, residual, eps, text, return_y,
                                             input_dtype or "")
    rowwise, columnwise, _, _ = _facts(text)
    q = _as_result((outs[2:5] if rowwise else ()) + (outs[5:] if columnwise else ()),
                   text, None)
    q.rstd, q.y = outs[0], (outs[1] if return_y else None)
    return q


def gated_act_quantize(x, act, recipe, keys, return_y, input_dtype):
    text = _keys_text(recipe, tuple(sorted(keys.items())))
    outs = torch.ops.nvfp4.gated_act_quantize(x, act, text, return_y, input_dtype or "")
    q = _as_result(outs[1:] if return_y else outs, text, None)
    q.y = outs[0] if return_y else None
    return q


def rms_norm(x, weight, residual, eps, input_dtype):
    return torch.ops.nvfp4.rms_norm(x, weight, residual, eps, input_dtype or "")


def gated_act(x, act, input_dtype):
    return torch.ops.nvfp4.gated_act(x, act, input_dtype or "")


def dequantize(data, scale, amax, recipe, recipe_keys):
    text = _keys_text(recipe, tuple(sorted(recipe_keys.items())))
    return torch.ops.nvfp4.dequantize(data, scale, amax, text)


def matmul(a, b, bias, alpha, out_dtype):
    return torch.ops.nvfp4.matmul(a.data, a.scale, a.amax, a.recipe, b.data, b.scale,
                                  b.amax, b.recipe, bias, float(alpha),
                                  _out_name(out_dtype))


def matmul_w4a16(a, b, bias, alpha, out_dtype):
    return torch.ops.nvfp4.matmul_w4a16(a, b.data, b.scale, b.amax, b.recipe, bias,
                                        float(alpha), _out_name(out_dtype))


def grouped_matmul(a, splits, b, bias, alpha, out_dtype):
    return torch.ops.nvfp4.grouped_matmul(a.data, a.scale, a.amax, a.recipe, splits,
                                          b.data, b.scale, b.amax, b.recipe, bias,
                                          float(alpha), _out_name(out_dtype))


#===------------------------------------------------------------------------===#
# Linear
#===------------------------------------------------------------------------===#

class Linear(torch.nn.Module):
    """An inference ``nn.Linear`` with NVFP4 weights: the weight is
    quantized once (buffers ``weight_data``, ``weight_scale``,
    ``weight_amax``; ``bias`` in float32), and forward quantizes the
    activation (flattened to rows) and runs the device GEMM with epilogue
    scaling and bias, returning ``out_dtype`` (the input's dtype when
    None). Works eagerly, under CUDA graphs and under torch.compile. Both
    recipes need ``sf_layout = 128x4``.

    ``act_recipe=None`` runs W4A16 (``nvfp4.matmul_w4a16``): activations
    are not quantized but used as bf16 or fp16 (a float32 input is cast to
    bf16), the weight is NVFP4 as above: how Hopper serves NVFP4
    checkpoints."""

    def __init__(self, in_features, out_features, *, weight, bias=None,
                 weight_recipe="per_tensor_2d, sf_layout = 128x4",
                 act_recipe="per_token, sf_layout = 128x4", out_dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._act_info = None if act_recipe is None else info_for_text(act_recipe)
        self.weight_recipe = info_for_text(weight_recipe).text
        self.act_recipe = None if act_recipe is None else self._act_info.text
        self.out_dtype = out_dtype
        recipes = [("weight_recipe", self.weight_recipe)]
        if act_recipe is not None:
            recipes.append(("act_recipe", self.act_recipe))
        for name, recipe in recipes:
            info = info_for_text(recipe)
            if info.sf_layout != "128x4" or not info.rowwise:
                raise NVFP4Error(f"{name} needs a rowwise output with sf_layout = 128x4 "
                                 f"(the block-scaled MMA layout), got {recipe}")
        # Separate buffers (not views of one allocation): export and
        # state_dict see three independent tensors.
        q = nvfp4._quantize(weight, info_for_text(self.weight_recipe), None, separate=True)
        self.register_buffer("weight_data", q.data)
        self.register_buffer("weight_scale", q.scale)
        self.register_buffer("weight_amax", q.amax)
        self.register_buffer("bias", None if bias is None else
                             bias.detach().to(torch.float32).contiguous())
        self._weight = None

    @classmethod
    def from_linear(cls, linear, weight_recipe="per_tensor_2d, sf_layout = 128x4",
                    act_recipe="per_token, sf_layout = 128x4", out_dtype=None):
        """Quantizes the weight of `linear` (an nn.Linear) once."""
        return cls(linear.in_features, linear.out_features,
                   weight=linear.weight.detach(), bias=linear.bias,
                   weight_recipe=weight_recipe, act_recipe=act_recipe,
                   out_dtype=out_dtype)

    def weight_result(self):
        """The weight as a QuantizeResult (cached while the buffers stay)."""
        b = self._buffers
        w = self._weight
        if (w is None or w.data is not b["weight_data"] or w.scale is not b["weight_scale"]
                or w.amax is not b["weight_amax"]):
            w = self._weight = QuantizeResult(b["weight_data"], b["weight_scale"],
                                              b["weight_amax"], recipe=self.weight_recipe)
        return w

    def forward(self, x):
        if nvfp4._is_compiling():  # traced: through the ops
            w = QuantizeResult(self.weight_data, self.weight_scale, self.weight_amax,
                               recipe=self.weight_recipe)
            bias = self.bias
        elif x.is_cuda and self.act_recipe is not None:
            return self._forward_cuda(x)
        else:
            w, bias = self.weight_result(), self._buffers["bias"]
        lead = x.shape[:-1]
        out_dtype = x.dtype if self.out_dtype is None else self.out_dtype
        if self.act_recipe is None:  # W4A16: the activation as bf16/fp16
            a = x.reshape(-1, self.in_features)
            if a.dtype not in (torch.bfloat16, torch.float16):
                a = a.to(torch.bfloat16)
            y = nvfp4.matmul(a.contiguous(), w, bias=bias, out_dtype=out_dtype)
            return y.reshape(*lead, self.out_features)
        q = nvfp4.quantize(x.reshape(-1, self.in_features), recipe=self.act_recipe)
        y = nvfp4.matmul(q, w, bias=bias, out_dtype=out_dtype)
        return y.reshape(*lead, self.out_features)

    def _forward_cuda(self, x):
        """The eager hot path: the device calls without the public API's
        argument handling or nn.Module attribute lookups."""
        flat = x.dim() == 2
        q = _device.quantize(_TORCH_BACKEND, x if flat else x.reshape(-1, self.in_features),
                             self._act_info, None)
        code = _OUT_CODES.get(x.dtype if self.out_dtype is None else self.out_dtype)
        if code is None:
            code = nvfp4._out_code(x.dtype if self.out_dtype is None else self.out_dtype)
        w = _device.operand(self.weight_result(), "weight", _device.PLAIN)
        y = _device.matmul(q._operand, w, self._buffers["bias"], 1.0, code, None)
        return y if flat else y.reshape(*x.shape[:-1], self.out_features)

    def __getstate__(self):  # copies rebuild the weight cache
        state = dict(self.__dict__)
        state["_weight"] = None
        return state

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self._buffers['bias'] is not None}, weight_recipe="
                f"{self.weight_recipe}, act_recipe={self.act_recipe}")


def swap_linears(module, *, include=None, **kwargs):
    """Replaces every ``nn.Linear`` in `module` (recursively, in place) by
    ``Linear.from_linear(child, **kwargs)``; ``include(name, child)``
    chooses which (default: those whose in_features is a multiple of 16).
    Returns `module`."""
    for name, child in list(module.named_children()):
        if isinstance(child, torch.nn.Linear):
            chosen = (include(name, child) if include is not None
                      else child.in_features % 16 == 0)
            if chosen:
                setattr(module, name, Linear.from_linear(child, **kwargs))
        else:
            swap_linears(child, include=include, **kwargs)
    return module


nvfp4._ops = sys.modules[__name__]
nvfp4._is_compiling = _result.compiling = torch.compiler.is_compiling

# Training (nvfp4.training recipes): registers nvfp4::linear_forward and
# nvfp4::linear_backward with their autograd formula.
from ._training_torch import TrainingLinear, prepare_training  # noqa: E402
