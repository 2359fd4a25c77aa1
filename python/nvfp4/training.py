"""Training recipes: which NVFP4 recipe quantizes each operand of a
Linear layer's three GEMMs, presets, per-layer overrides and the seed
policy of stochastic rounding.

A Linear layer ``Y = X W^T`` trains with three GEMMs, each ``D = A B^T``
with both operands quantized along the contracted dimension (SPEC.md
section 12):

=========  ========================  ===========================  =========================
GEMM       computes                  A                            B
=========  ========================  ===========================  =========================
fprop      ``Y  = X W^T``   (M x N)  X rowwise (along K)          W rowwise (along K)
dgrad      ``dX = dY W``    (M x K)  dY rowwise (along N)         W columnwise (W^T, along N)
wgrad      ``dW = dY^T X``  (N x K)  dY columnwise (along M)      X columnwise (X^T, along M)
=========  ========================  ===========================  =========================

So each of X, W and dY is quantized once, in both directions by one
kernel, with the recipe of its role (:class:`OperandRecipe`): the
activation recipe, the weight recipe and the gradient recipe. A
:class:`TrainingRecipe` holds the three. Facts the GEMMs impose, checked
by :meth:`TrainingRecipe.check`:

* The random Hadamard transform acts on the columnwise direction only
  (SPEC.md section 9), in groups of 16 along M. The wgrad GEMM contracts
  over M, and ``(H S a) . (H S b) = a . b`` only when both operands are
  transformed with the same sign vector S: the activation and gradient
  recipes have RHT both or neither (every recipe here uses the default
  sign mask 0xD7E8). The weight's columnwise output feeds dgrad, whose A
  (dY rowwise) is never transformed: the weight recipe has no RHT.
* A columnwise output enters a GEMM as an ordinary operand of its
  transposed shape: what the GEMM reads of a recipe is its outer group
  (where the amaxes apply), numerics form (the quotient form floors the
  amax), E4M3 bound (256 or 448 in the constant ``1/(36 E_A E_B)``) and
  the 128x4 scale layout; transform, rounding, candidate selection and
  block shape only decided the bytes. :meth:`OperandRecipe.gemm_text` is
  that operand recipe. A 16x16 weight quantization without RHT has a
  columnwise output that is the exact transpose of its rowwise one
  (SPEC.md section 5): fprop and dgrad see the same quantized weight.
* GEMM operands need ``sf_layout = 128x4``; every quantization here uses it.

This module is pure Python (no PyTorch): :mod:`nvfp4.torch` runs the
recipes in its training ``Linear``; the CPU tests run the GEMM forms on
NumPy arrays.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import zlib
from collections.abc import Mapping

from ._lib import NVFP4Error

__all__ = ["OperandRecipe", "TrainingRecipe", "SeedPolicy", "RecipePolicy",
           "TRAINING_PRESETS", "get_recipe", "GEMMS", "ROLES", "quantize",
           "operand"]

# The three operand roles, and for each GEMM its (role, direction) of A and B.
ROLES = ("activation", "weight", "grad")
GEMMS = {
    "fprop": (("activation", "rowwise"), ("weight", "rowwise")),
    "dgrad": (("grad", "rowwise"), ("weight", "columnwise")),
    "wgrad": (("grad", "columnwise"), ("activation", "columnwise")),
}

_MASK64 = (1 << 64) - 1


@dataclasses.dataclass(frozen=True)
class OperandRecipe:
    """How one operand (activation, weight or gradient) is quantized: the
    keywords of :func:`nvfp4.recipe_text` that choose numerics. Directions
    (both), scale layout (128x4) and the stochastic-rounding seed are set
    by the training code, not here."""

    outer: str = "tensor"          # tensor, row (per token), window (1x64)
    block: str = "1x16"            # 1x16, 16x16
    numerics: str = "reciprocal"   # reciprocal, quotient
    select: str = "map6"           # map6, mae, mse (4over6)
    e4m3_max: int = 448            # 448, 256
    rounding: str = "nearest"      # nearest, stochastic
    rht: bool = False              # RHT on the columnwise direction

    @property
    def stochastic(self) -> bool:
        return self.rounding == "stochastic"

    def quantize_text(self, seed: int = 0) -> str:
        """The canonical recipe quantizing this operand in both directions
        with 128x4 scales (``seed`` used by stochastic rounding only)."""
        return _quantize_text(self, seed if self.stochastic else 0)

    def rowwise_text(self) -> str:
        """The canonical recipe of the rowwise output alone (no RHT, which
        acts on the columnwise direction only): the same rowwise bytes as
        quantize_text's, for a forward pass without a backward."""
        return _rowwise_text(self)

    def gemm_text(self) -> str:
        """The canonical recipe of this operand's outputs (either direction)
        as a GEMM operand: outer group, numerics form, E4M3 bound and 128x4
        scales, nothing else (one GEMM compilation serves every seed,
        transform and candidate selection)."""
        return _gemm_text(self)

    def describe(self) -> str:
        """A short human-readable summary (docs, logs)."""
        parts = [{"tensor": "per-tensor", "row": "per-token",
                  "window": "1x64", "window64": "1x64"}[self.outer], self.block]
        if self.numerics != "reciprocal":
            parts.append(self.numerics)
        if self.select != "map6":
            parts.append(f"4over6<{self.select}>")
        if self.e4m3_max != 448:
            parts.append(f"E={self.e4m3_max}")
        if self.rht:
            parts.append("RHT (columnwise)")
        if self.stochastic:
            parts.append("SR")
        return ", ".join(parts)


# Canonical texts come from the C ABI once per recipe (and seed).
@functools.lru_cache(maxsize=4096)
def _quantize_text(r: OperandRecipe, seed: int) -> str:
    from . import canonical, recipe_text
    return canonical(recipe_text(
        outer=r.outer, block=r.block, numerics=r.numerics, select=r.select,
        e4m3_max=r.e4m3_max, rounding=r.rounding, seed=seed, rht=r.rht,
        rowwise=True, columnwise=True, sf_layout="128x4"))


@functools.lru_cache(maxsize=256)
def _rowwise_text(r: OperandRecipe) -> str:
    from . import canonical, recipe_text
    return canonical(recipe_text(
        outer=r.outer, block=r.block, numerics=r.numerics, select=r.select,
        e4m3_max=r.e4m3_max, rounding=r.rounding, rht=False, sf_layout="128x4"))


@functools.lru_cache(maxsize=256)
def _gemm_text(r: OperandRecipe) -> str:
    from . import canonical, recipe_text
    return canonical(recipe_text(outer=r.outer, numerics=r.numerics,
                                 e4m3_max=r.e4m3_max, sf_layout="128x4"))


@dataclasses.dataclass(frozen=True)
class TrainingRecipe:
    """The operand recipes of a Linear layer's fprop, dgrad and wgrad."""

    name: str
    activation: OperandRecipe
    weight: OperandRecipe
    grad: OperandRecipe

    def role(self, role: str) -> OperandRecipe:
        if role not in ROLES:
            raise NVFP4Error(f"unknown operand role {role!r} (expected one of "
                             f"{', '.join(ROLES)})")
        return getattr(self, role)

    def check(self) -> "TrainingRecipe":
        """Raises NVFP4Error for a recipe whose GEMMs would not compute the
        product (see the module docstring) or that a quantizer rejects;
        returns self."""
        if self.activation.rht != self.grad.rht:
            raise NVFP4Error(
                f"recipe {self.name}: the wgrad GEMM contracts the columnwise "
                "outputs of the activation and the gradient, so both need RHT or "
                f"neither (activation rht={self.activation.rht}, grad "
                f"rht={self.grad.rht})")
        if self.weight.rht:
            raise NVFP4Error(
                f"recipe {self.name}: the weight's columnwise output meets the "
                "untransformed rowwise gradient in dgrad: the weight recipe "
                "cannot use RHT")
        for role in ("activation", "weight"):
            if self.role(role).stochastic:
                # The seed is part of the recipe (a compile-time constant):
                # a per-step seed in the forward pass would change the
                # traced graph every step under torch.compile. TE rounds
                # only gradients stochastically.
                raise NVFP4Error(
                    f"recipe {self.name}: stochastic rounding applies to the "
                    f"gradient only, got it for the {role}")
        for role in ROLES:
            try:
                self.role(role).quantize_text()
            except NVFP4Error as e:
                raise NVFP4Error(f"recipe {self.name}, {role}: {e}") from None
        return self

    def gemm_operands(self, gemm: str):
        """((role, direction, GEMM operand recipe) of A, of B) for
        ``gemm`` in fprop, dgrad, wgrad."""
        if gemm not in GEMMS:
            raise NVFP4Error(f"unknown GEMM {gemm!r} (expected fprop, dgrad or wgrad)")
        return tuple((role, direction, self.role(role).gemm_text())
                     for role, direction in GEMMS[gemm])

    def table(self) -> str:
        """A Markdown row per operand role (docs, the example's log)."""
        rows = [f"| {r} | {self.role(r).describe()} |" for r in ROLES]
        return "\n".join(["| operand | recipe |", "|---|---|"] + rows)


def quantize(x, recipe: OperandRecipe, seed: int = 0):
    """Quantizes ``x`` (rows x cols, any framework nvfp4.quantize takes) in
    both directions with ``recipe`` (one kernel): the rowwise output runs
    along cols, the columnwise one along rows (rows must be a multiple of
    16)."""
    from . import _info, _is_compiling, _quantize
    from . import quantize as traced
    text = recipe.quantize_text(seed)
    if _is_compiling():  # torch.compile: through the nvfp4 ops
        return traced(x, recipe=text)
    # Separate arrays (not views of one allocation): custom ops return them.
    return _quantize(x, _info(text, None), None, separate=True)


def operand(q, recipe: OperandRecipe, direction: str):
    """The ``direction`` output of ``q`` (a quantize() result of
    ``recipe``) as a GEMM operand: a QuantizeResult holding that output as
    its rowwise one, under the recipe the GEMM reads
    (:meth:`OperandRecipe.gemm_text`). The columnwise output of an
    ``R x C`` matrix is a ``C x R`` operand quantized along R."""
    from ._result import QuantizeResult
    if direction not in ("rowwise", "columnwise"):
        raise NVFP4Error(f"unknown direction {direction!r} (expected rowwise or "
                         "columnwise)")
    suffix = "" if direction == "rowwise" else "_t"
    fields = [getattr(q, name + suffix) for name in ("data", "scale", "amax")]
    if fields[0] is None:
        raise NVFP4Error(f"the quantization has no {direction} output")
    return QuantizeResult(*fields, recipe=recipe.gemm_text())


def _operand(**keys) -> OperandRecipe:
    return OperandRecipe(**keys)


# TransformerEngine's NVFP4BlockScaling defaults: activations and gradients
# per-tensor in 1x16 blocks, weights per-tensor in 16x16 tiles, RHT on the
# columnwise (wgrad) direction of activations and gradients, stochastic
# rounding of the gradients.
_TE_ACT = _operand(rht=True)
_TE_WEIGHT = _operand(block="16x16")
_TE_GRAD = _operand(rht=True, rounding="stochastic")
# 4over6 (E = 256, MAE): every operand picks map-to-4 or map-to-6 per block.
# Stochastic rounding does not combine with it (its candidate error is
# defined for round-to-nearest codes, SPEC.md section 6): gradients round
# to nearest.
_FOS = dict(select="mae", e4m3_max=256)

TRAINING_PRESETS = {
    "te_default": TrainingRecipe("te_default", _TE_ACT, _TE_WEIGHT, _TE_GRAD),
    "per_token": TrainingRecipe("per_token", _operand(outer="row", rht=True),
                                _TE_WEIGHT, _TE_GRAD),
    "local_1x64": TrainingRecipe(
        "local_1x64", _operand(outer="window", numerics="quotient", rht=True),
        _TE_WEIGHT, _TE_GRAD),
    "four_over_six": TrainingRecipe(
        "four_over_six", _operand(rht=True, **_FOS),
        _operand(block="16x16", **_FOS), _operand(rht=True, **_FOS)),
    "per_token_4over6": TrainingRecipe(
        "per_token_4over6", _operand(outer="row", rht=True, **_FOS),
        _operand(block="16x16", **_FOS), _operand(rht=True, **_FOS)),
}


def get_recipe(recipe) -> TrainingRecipe:
    """A TrainingRecipe, or the preset of that name."""
    if isinstance(recipe, TrainingRecipe):
        return recipe
    if isinstance(recipe, str) and recipe in TRAINING_PRESETS:
        return TRAINING_PRESETS[recipe]
    raise NVFP4Error(f"unknown training recipe {recipe!r} (expected a TrainingRecipe "
                     f"or one of {', '.join(TRAINING_PRESETS)})")


@dataclasses.dataclass(frozen=True)
class RecipePolicy:
    """The recipe of each layer: ``default`` unless a pattern of
    ``overrides`` (fnmatch on the layer's qualified name, first match in
    order) names another recipe, or None to keep that layer in high
    precision (TE keeps e.g. the first and last layers in bf16)."""

    default: object = "te_default"
    overrides: tuple = ()

    def __init__(self, default="te_default", overrides=None):
        object.__setattr__(self, "default", get_recipe(default).check())
        items = overrides.items() if isinstance(overrides, Mapping) else (overrides or ())
        resolved = tuple((str(p), None if r is None else get_recipe(r).check())
                         for p, r in items)
        object.__setattr__(self, "overrides", resolved)

    def recipe_for(self, name: str):
        """The TrainingRecipe of layer ``name``, or None for high precision."""
        for pattern, recipe in self.overrides:
            if fnmatch.fnmatchcase(name, pattern):
                return recipe
        return self.default


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


@dataclasses.dataclass(frozen=True)
class SeedPolicy:
    """The stochastic-rounding seed of every quantization, reproducible from
    one ``seed``.

    Stochastic rounding is deterministic given its seed (SPEC.md section
    8: Philox keyed by the seed, counter = the block index and direction),
    and the seed is part of the recipe, so each distinct seed is a kernel
    compilation (about 0.2-0.3 s cold, then cached in memory and on disk).

    ``period=None``: every (layer, step) gets its own seed, as a fresh
    Philox counter per step would; every step compiles a new kernel.
    ``period=P`` (the default, 16): the seeds of all layers come from a pool
    of P seeds, layer ``l`` at step ``s`` taking pool entry
    ``(s + hash(l)) % P``: at most P compilations per recipe whatever the
    number of layers and steps, different layers use different streams in
    a step, and a stream repeats after P steps (on other data: each step's
    rounding is unbiased either way).
    """

    seed: int = 0
    period: object = 16

    def __post_init__(self):
        if not isinstance(self.seed, int) or not 0 <= self.seed <= _MASK64:
            raise NVFP4Error(f"expected seed to be an int in [0, 2**64 - 1], got "
                             f"{self.seed!r}")
        if self.period is not None and (not isinstance(self.period, int)
                                        or self.period < 1):
            raise NVFP4Error(f"expected period to be None or a positive int, got "
                             f"{self.period!r}")

    @staticmethod
    def layer_key(layer: str) -> int:
        """A stable 32-bit key of a layer name (the same in every process)."""
        return zlib.crc32(layer.encode())

    def seed_for(self, layer: str, step: int, role: str = "grad") -> int:
        """The seed of ``role``'s quantization in ``layer`` at ``step``."""
        if role not in ROLES:
            raise NVFP4Error(f"unknown operand role {role!r} (expected one of "
                             f"{', '.join(ROLES)})")
        r = ROLES.index(role)
        if self.period is None:
            x = _splitmix64(self.seed ^ (self.layer_key(layer) << 32))
            x = _splitmix64(x ^ ((step & 0xFFFFFFFFFFFF) << 2) ^ r)
        else:
            slot = (step + self.layer_key(layer)) % self.period
            x = _splitmix64(_splitmix64(self.seed) ^ (slot << 2) ^ r)
        return x
