#!/usr/bin/env python3
"""Checks MatmulSm120.cpp's fragment addressing against CUTLASS's layouts.

The sm_120 GEMM (lib/Conversion/NVFP4ToGPU/MatmulSm120.cpp) gives lane
(g, t) = (lane / 4, lane % 4) of a warp these operands of
`mma.sync.m16n8k64.kind::mxf4nvf4.block_scale.scale_vec::4X`:
  A register r, nibble v: row g + 8 (r % 2), K 8t + 32 (r / 2) + v;
  B register r, nibble v: row g of B,        K 8t + 32 r + v;
  scale A byte j: row 8 (lane % 2) + lane / 4, 16-block j of the step;
  scale B byte j: row lane / 4 of B,           16-block j of the step.
This evaluates CUTLASS's thread-value layouts of the same MMA
(include/cute/atom/mma_traits_sm120.hpp, MMA_Traits of
SM120::BLOCKSCALED::SM120_16x8x64_TN_VS, transcribed below) for every lane
and value and compares. No GPU needed; exits 1 on a mismatch.
"""

import sys


def modes(shape, stride):
    """The (size, stride) modes of a nested cute shape, innermost first."""
    if isinstance(shape, tuple):
        return [m for s, d in zip(shape, stride) for m in modes(s, d)]
    return [(shape, stride)]


def index(ms, i):
    """The layout's value at coordinate i (column-major over the modes)."""
    r = 0
    for size, stride in ms:
        r += (i % size) * stride
        i //= size
    return r


# (T32, V) -> index m + rows * k of the (rows x K64) operand.
A = (modes((4, 8), (128, 1)), modes((8, 2, 2), (16, 8, 512)), 16)
B = (modes((4, 8), (64, 1)), modes((8, 2), (8, 256)), 8)
SFA = (modes((2, 2, 8), (8, 0, 1)), modes((64,), (16,)), 16)
SFB = (modes((4, 8), (0, 1)), modes((64,), (8,)), 8)


def coord(layout, lane, v):
    threads, values, rows = layout
    i = index(threads, lane) + index(values, v)
    return i % rows, i // rows


def main():
    bad = 0
    for lane in range(32):
        g, t = lane // 4, lane % 4
        for v in range(32):
            r, nib = v // 8, v % 8
            bad += coord(A, lane, v) != (g + 8 * (r % 2), 8 * t + 32 * (r // 2) + nib)
        for v in range(16):
            r, nib = v // 8, v % 8
            bad += coord(B, lane, v) != (g, 8 * t + 32 * r + nib)
        for k in range(64):  # scale byte k // 16 covers K k
            bad += coord(SFA, lane, k) != (8 * (lane % 2) + lane // 4, k)
            bad += coord(SFB, lane, k) != (lane // 4, k)
    print("sm_120 fragments:", "match CUTLASS" if not bad else f"{bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
