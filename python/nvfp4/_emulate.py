"""A pure-PyTorch NVFP4 quantizer: the emulation people train with on
Hopper (quantize, dequantize, multiply the dequantized values in bf16).

``fake_quantize`` returns the dequantized values (float32) of one
direction of an :class:`nvfp4.training.OperandRecipe`, with SPEC.md's
formulas written as PyTorch element-wise ops (each one binary32 rounding,
like the kernels): outer amax per tensor or per row, 1x16 or 16x16 block
scales in the reciprocal form, E4M3 and E2M1 rounding, the random
Hadamard transform on the columnwise direction, and stochastic rounding
drawn from ``torch.rand`` (unbiased like the kernels' Philox stream, not
the same bits). It exists as the baseline of python/bench/train_step.py and
as a cross-check (with round-to-nearest it gives the kernels' values, the
RHT's butterfly included); 4over6, the quotient form and 1x64 windows are
not emulated.
"""

from __future__ import annotations

import torch

from ._lib import NVFP4Error

FLT_MAX = 3.4028234663852886e38
# E2M1 magnitudes and the midpoints between them; a midpoint rounds to the
# even code (SPEC.md section 2): 0.25 -> 0, 0.75 -> 1, 1.25 -> 1, 1.75 -> 2,
# 2.5 -> 2, 3.5 -> 4, 5 -> 4.
_E2M1 = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
_RHT_MASK = 0xD7E8


def _f32(value, like):
    return torch.tensor(value, dtype=torch.float32, device=like.device)


def _e2m1_nearest(a):
    """Round-to-nearest-even E2M1 magnitude of a >= 0 (saturating at 6)."""
    q = torch.where(a <= 0.25, 0.0, 0.5)
    q = torch.where(a >= 0.75, 1.0, q)
    q = torch.where(a > 1.25, 1.5, q)
    q = torch.where(a >= 1.75, 2.0, q)
    q = torch.where(a > 2.5, 3.0, q)
    q = torch.where(a >= 3.5, 4.0, q)
    return torch.where(a > 5.0, 6.0, q)


def _e2m1_stochastic(a, generator):
    """E2M1 magnitude of a >= 0 rounded up with probability equal to the
    fraction (8-bit random steps, as SPEC.md section 8)."""
    step = torch.where(a >= 4, 2.0, torch.where(a >= 2, 1.0, 0.5))
    r = torch.randint(0, 256, a.shape, device=a.device, generator=generator,
                      dtype=torch.int32).float() / 256
    t = a + r * step
    step_t = torch.where(t >= 4, 2.0, torch.where(t >= 2, 1.0, 0.5))
    return torch.clamp(torch.floor(t / step_t) * step_t, max=6.0)


def _signs(device):
    """The RHT sign vector s (SPEC.md section 9) as 16 float32 +-1."""
    i = torch.arange(16, device=device)
    return 1.0 - 2.0 * ((_RHT_MASK >> i) & 1).float()


def rht(t):
    """The random Hadamard transform along rows of ``t`` in groups of 16,
    rounded to bf16 (SPEC.md section 9), as float32. The sums run through
    the kernels' radix-2 butterfly (docs/Rationale.md, "RHT summation
    order"): stages pair elements 1, 2, 4 and 8 apart into (a + b, a - b),
    each a binary32 rounding, so the values are the kernels' bit for bit."""
    r, c = t.shape
    g = t.reshape(r, c // 16, 16) * _signs(t.device)  # exact sign flips
    for h in (1, 2, 4, 8):
        pairs = g.reshape(r, c // 16, 16 // (2 * h), 2, h)
        a, b = pairs[..., 0, :], pairs[..., 1, :]
        g = torch.stack((a + b, a - b), dim=-2).reshape(r, c // 16, 16)
    return (g * 0.25).reshape(r, c).to(torch.bfloat16).float()


def covers(recipe) -> bool:
    """Whether fake_quantize emulates this operand recipe."""
    return (recipe.select == "map6" and recipe.numerics == "reciprocal"
            and recipe.outer in ("tensor", "row"))


def fake_quantize(x, recipe, direction="rowwise", generator=None):
    """The dequantized float32 values of ``x`` (R x C) quantized with the
    operand ``recipe`` along C (rowwise), or of ``x^T`` along R
    (columnwise, after the RHT when the recipe has it)."""
    if not covers(recipe):
        raise NVFP4Error("the PyTorch emulation covers map6, reciprocal, per-tensor "
                         f"and per-row recipes, got {recipe}")
    t = x.float() if direction == "rowwise" else x.float().t()
    if direction == "columnwise" and recipe.rht:
        t = rht(t.contiguous())
    r, c = t.shape
    e = float(recipe.e4m3_max)
    mag = torch.nan_to_num(t.abs(), nan=0.0)
    if recipe.outer == "tensor":
        amax = mag.amax().reshape(1, 1)
    else:
        amax = mag.amax(dim=1, keepdim=True)
    s_enc = torch.clamp(_f32(6 * e, t) / amax, max=FLT_MAX)
    s_enc = torch.where((amax == 0) | (s_enc == 0), 1.0, s_enc)
    s_dec = 1.0 / s_enc
    if recipe.block == "16x16":
        tile = mag.reshape(r // 16, 16, c // 16, 16).amax(dim=(1, 3))
        block_amax = tile.repeat_interleave(16, dim=0)
    else:
        block_amax = mag.reshape(r, c // 16, 16).amax(dim=2)
    k = s_enc * _f32(1.0 / 6.0, t)
    sf = torch.clamp(torch.clamp(block_amax * k, max=FLT_MAX), max=e)
    sf = sf.to(torch.float8_e4m3fn).float()  # round to nearest even
    enc = torch.clamp(1.0 / (sf * s_dec), max=FLT_MAX)
    v = t.reshape(r, c // 16, 16) * enc[..., None]
    a = torch.nan_to_num(v.abs(), nan=6.0)
    q = _e2m1_stochastic(a, generator) if recipe.stochastic else _e2m1_nearest(a)
    q = torch.where(torch.signbit(v) & ~torch.isnan(v), -q, q)
    final = (sf * amax) * _f32(1.0 / (6 * e), t)
    return (q * final[..., None]).reshape(r, c)
