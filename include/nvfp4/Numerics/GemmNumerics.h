//===- GemmNumerics.h - SPEC.md section 12 as MLIR ----------------*- C++
//-*-===//
//
// The GEMM half of the numerics: how an NVFP4 operand element decodes, how
// outer amaxes are read, and how the FP32 accumulator is scaled in the
// epilogue. Every matmul lowering (the CPU loops of nvfp4-expand, the GPU
// kernels) calls these functions, so the epilogue arithmetic is written
// once; only the accumulation order is a kernel choice (SPEC.md section 12).
//
// All floating-point values are f32 scalars or vectors of f32; every
// operation is one binary32 rounding (never contracted into an FMA).
//
// Outer-scale classes of an (A, B) recipe pair:
//  * Tensor:  both per-tensor. One scalar per GEMM,
//             D = RN(RN(RN(amaxA*amaxB)*c) * acc).
//  * Row:     at least one per-row operand, no window operand. The per-row
//             amaxes are applied one at a time,
//             D = RN(c * RN(amaxB * RN(amaxA * acc))); a per-tensor operand
//             contributes its scalar as a broadcast vector.
//  * Window:  at least one 1x64-window operand. The outer scale varies
//             along K, so each 64-wide K window is accumulated on its own
//             and promoted with gemmWindowFactor(amaxA(i,w), amaxB(j,w), c)
//             before it is added to the FP32 accumulator; a non-window
//             operand's amax simply does not depend on w. The epilogue then
//             leaves the accumulator unchanged.
// Then `alpha` (RN(alpha * x), skipped when alpha == 1) and `bias` (one
// FP32 addition) follow, in that order, before the output cast.
//
// W4A16 (`nvfp4.matmul_w4a16`): A is bf16/f16, used exactly as given, and
// only B has an outer scale. The formulas are the ones above with A's
// factor absent: a null A recipe and null A amaxes, and the constant
// c = RN(1/(6*E_B)) (B's dequantization constant, SPEC.md section 11):
//  * Tensor (per-tensor B): D = RN(RN(amaxB*c) * acc);
//  * Row (per-row B):       D = RN(c * RN(amaxB[j] * acc)), per column j;
//  * Window (1x64 B):       each 64-wide K window is promoted with
//                           RN(amaxB[j,w]*c) before it joins the sum.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_NUMERICS_GEMMNUMERICS_H
#define NVFP4_NUMERICS_GEMMNUMERICS_H

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.h"

#include "mlir/IR/Builders.h"

namespace mlir {
namespace nvfp4 {

/// Width of a K window of a window (1x64) operand.
constexpr int64_t kGemmWindow = 64;

/// Where a GEMM applies its outer scales (see the file comment).
enum class GemmScaleClass { Tensor, Row, Window };

/// The outer-scale class of an (A, B) recipe pair; a null `aRecipe` is the
/// unscaled A of W4A16, and the class is then B's alone.
GemmScaleClass gemmScaleClass(RecipeAttr aRecipe, RecipeAttr bRecipe);

/// `c = RN(1 / (36 * E_A * E_B))` as an f32 constant, E being each recipe's
/// E4M3 bound (448, or 256 for 4over6). `36 * E_A * E_B` is exact in
/// binary32 (at most 7225344 < 2^24), so c is rounded once. With a null
/// `aRecipe` (W4A16) it is `RN(1 / (6 * E_B))`.
Value gemmC(OpBuilder &b, Location loc, RecipeAttr aRecipe, RecipeAttr bRecipe);

/// The promotion factor of one 64-wide K window of window operands:
/// `RN(RN(amaxA * amaxB) * c)`, or `RN(amaxB * c)` when `amaxA` is null
/// (W4A16). Amaxes as returned by gemmLoadAmax.
Value gemmWindowFactor(OpBuilder &b, Location loc, Value amaxA, Value amaxB,
                       Value c);

/// The epilogue of SPEC.md section 12 on the FP32 accumulator `acc` of
/// element (i, j):
///   Tensor class: RN(RN(RN(amaxA * amaxB) * c) * acc)
///   Row class:    RN(c * RN(amaxB * RN(amaxA * acc)))
///   Window class: acc (already promoted per window; amaxA/amaxB unused
///                 and may be null)
/// then RN(alpha * x) when alpha != 1, then x + bias when `bias` (f32) is
/// not null. `amaxA` is A's amax of row i, `amaxB` B's amax of row j (a
/// per-tensor operand passes its scalar). For W4A16 `aRecipe` and `amaxA`
/// are null and A's factor is left out: Tensor RN(RN(amaxB * c) * acc),
/// Row RN(c * RN(amaxB * acc)).
Value gemmEpilogue(OpBuilder &b, Location loc, RecipeAttr aRecipe,
                   RecipeAttr bRecipe, Value acc, Value amaxA, Value amaxB,
                   Value c, float alpha, Value bias);

/// The decoded operand element `e2m1(nibble) * scale` as f32. `nibble` is
/// i8 or i32 (scalar or vector; only its low 4 bits are read), `scaleF32`
/// the decoded E4M3 block scale (a scalar is broadcast to a vector
/// nibble). Exact: at most 2 x 4 significant bits, so it is also exact in
/// bf16, and the product of two decoded elements is exact in f32.
Value gemmDecode(OpBuilder &b, Location loc, Value nibble, Value scaleF32);

/// GPU kernels decode an operand element to a 16-bit float in one multiply:
/// the nibble's bits are placed so that they read e2m1 * 2^-bias (bias 14
/// for f16, 126 for bf16), then multiplied by the block's decode
/// multiplier, sf * 2^(bias - kGemmDecodeShift). The element then holds
/// e2m1 * sf * 2^-kGemmDecodeShift, exactly: E2M1 x E4M3 has at most 6
/// significant bits and magnitudes 2^-10 .. 2688, so the f16 form spans
/// 2^-17 .. 21 (below 2^-14 on f16's subnormal grid, whose spacing 2^-24
/// divides every such product), and the multiplier stays finite
/// (448 * 2^7 = 57344 in f16; 448 * 2^119 < 2^128 in bf16). A shift of 0
/// would need 448 * 2^14 in f16, which overflows; hence the shift, which
/// the kernel takes back exactly from its f32 sums (gemmRestoreDecoded).
constexpr int64_t kGemmDecodeShift = 7;

/// The decode multiplier of a block for f16 decodes: `scaleF16x2` (the
/// block's E4M3 scale as a vector<2xf16> splat) times 2^7, exact.
Value gemmDecodeScaleF16x2(OpBuilder &b, Location loc, Value scaleF16x2);

/// The decode multiplier of a block for bf16 decodes: `scaleF32` (the
/// block's E4M3 scale as f32) times 2^119 as a vector<2xbf16> splat, exact.
Value gemmDecodeScaleBF16x2(OpBuilder &b, Location loc, Value scaleF32);

/// `acc` (f32), a sum of products of `decodedOperands` (1 or 2) operands
/// decoded with these multipliers, times 2^(kGemmDecodeShift *
/// decodedOperands): the sum of the products of the elements' values.
/// Exact: a power of two, and the sums' magnitudes stay far inside f32's
/// normal range (products of two decoded elements are at least 2^-34).
/// A window promotion applies it to the constant c of gemmWindowFactor
/// instead (once, not per sum): RN(RN(amaxA * amaxB) * c * 2^s) is the
/// factor times 2^s exactly unless that factor is an f32 subnormal
/// (window amaxes below ~2^-53), where the scaled one is the more precise.
Value gemmRestoreDecoded(OpBuilder &b, Location loc, Value acc,
                         int64_t decodedOperands);

/// The packed data byte in bits 7..0 of `byte` (i32; higher bits are
/// ignored) of an operand decoded as a vector<2xf16>: the low nibble's
/// element first, the high nibble's second, each e2m1 * sf *
/// 2^-kGemmDecodeShift for the block's decode multiplier `multiplierF16x2`
/// (gemmDecodeScaleF16x2). Exact, so tensor cores may consume f16 operands
/// without loss (see kGemmDecodeShift).
Value gemmDecodeF16Pair(OpBuilder &b, Location loc, Value byte,
                        Value multiplierF16x2);

/// Nibbles `i` and `i + 4` (0 <= i < 4) of the 32-bit word `word` (i32)
/// decoded as a vector<2xf16>, nibble i first, with the decode multiplier
/// `multiplierF16x2`; exact like gemmDecodeF16Pair. A word's four calls
/// cover its eight nibbles with shifts by constants, one mask-merge and one
/// multiply each, no per-byte extraction: the two nibbles of a pair lie 16
/// bits apart, as the halves of an f16x2 do. The pairing is a permutation
/// of K that a kernel must apply to both operands alike.
Value gemmDecodeF16Nibbles(OpBuilder &b, Location loc, Value word, int64_t i,
                           Value multiplierF16x2);

/// gemmDecodeF16Nibbles for bf16 tensor cores (W4A16 with a bf16 A): the
/// same nibbles as a vector<2xbf16> with the decode multiplier
/// `multiplierBF16x2` (gemmDecodeScaleBF16x2); exact, each element
/// e2m1 * sf * 2^-kGemmDecodeShift.
Value gemmDecodeBF16Nibbles(OpBuilder &b, Location loc, Value word, int64_t i,
                            Value multiplierBF16x2);

/// The decoded E4M3 block scale (f32) of row `row`, 16-block `block` of an
/// operand whose scale matrix has `numBlocks` unpadded columns, from its
/// `128x4` scale buffer `scale` (rank 2 `Rp x Cp`, rank 3 `G x Rp x Cp`
/// with `group` selecting the leading index, or a flat rank-1 view, which
/// saves the division of the byte offset into indices). Index operands are
/// `index`.
Value gemmLoadScale(OpBuilder &b, Location loc, Value scale, Value row,
                    Value block, Value numBlocks, Value group = {});

/// The same scale as its E4M3 byte (i32 0..255), undecoded.
Value gemmLoadScaleByte(OpBuilder &b, Location loc, Value scale, Value row,
                        Value block, Value numBlocks, Value group = {});

/// The outer amax of an operand's row `row` and 64-wide K window `window`
/// (window recipes only; may be null otherwise), read from its amax buffer
/// `amax` of rank 1..3:
///   per-tensor: amax[0], or amax[group] for grouped operands;
///   per-row:    amax[row], or amax[group, row] for a rank-2 buffer;
///   window:     amax[row, window], or amax[group, row, window] (rank 3).
/// The quotient numerics form encoded against fmaxf(amax, 1e-12), so the
/// floored amax is returned for it (SPEC.md sections 4 and 11).
Value gemmLoadAmax(OpBuilder &b, Location loc, RecipeAttr recipe, Value amax,
                   Value row, Value window, Value group = {});

} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_NUMERICS_GEMMNUMERICS_H
