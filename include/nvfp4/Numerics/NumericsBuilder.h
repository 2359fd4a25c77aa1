//===- NumericsBuilder.h - SPEC.md math as MLIR ------------------*- C++ -*-===//
//
// The one place the NVFP4 numerics live. Every lowering (CPU loops, GPU
// kernels for every target) emits its arithmetic through this builder, so
// the paths cannot drift apart; only the few `TargetLeaves` differ per
// target, and each leaf must produce the bytes of the portable sequence.
//
// Conventions:
//  * Values are f32 (or vectors of f32) for numbers and i32 (or vectors of
//    i32, same shape) for codes and bytes. Every op is elementwise, so the
//    same calls emit scalar code or vector code.
//  * Every floating-point op is a single binary32 operation with one
//    rounding and `fastmath<none>`: nothing may be contracted into an FMA
//    (SPEC.md notation).
//  * Comparisons with NaN follow C: `fminf`/`fmaxf` ignore a NaN operand.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_NUMERICS_NUMERICSBUILDER_H
#define NVFP4_NUMERICS_NUMERICSBUILDER_H

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/SmallVector.h"

#include <array>

namespace mlir {
namespace nvfp4 {

/// Elements per scale block.
constexpr unsigned kBlock = 16;

/// Target-specific replacements for a few portable sequences. The default
/// implementation is the portable integer sequence; a target overrides a
/// leaf only with an instruction shown to give the same bytes.
class TargetLeaves {
public:
  virtual ~TargetLeaves();
  /// E2M1 codes of `even` (low nibble) and `odd` (high nibble) packed in
  /// one i32 byte (SPEC.md sections 1 and 2). Returns null to use the
  /// portable sequence.
  virtual Value packE2M1Pair(OpBuilder &b, Location loc, Value even,
                             Value odd) {
    return {};
  }
  /// Whether packE2M1Pair gives an instruction for scalar operands.
  virtual bool hasE2M1PairLeaf() const { return false; }
  /// The E4M3 byte of `v` (SPEC.md section 2), or null for the portable
  /// sequence.
  virtual Value encodeE4M3(OpBuilder &b, Location loc, Value v) { return {}; }
  /// The value of E4M3 byte `byte` (i32) in both halves of a vector<2xf16>
  /// (exact: E4M3 values are f16 values), or null for the portable decode.
  virtual Value decodeE4M3ToF16x2(OpBuilder &b, Location loc, Value byte) {
    return {};
  }
  /// `v` rounded to bf16 (ties to even, subnormals kept, overflow to Inf)
  /// as f32, or null for the portable sequence. A NaN may come back as any
  /// NaN: every caller of NumericsBuilder::roundToBF16 ignores or replaces
  /// NaN payloads.
  virtual Value roundToBF16(OpBuilder &b, Location loc, Value v) {
    return {};
  }
  /// NumericsBuilder::e2m1SignWord of eight f32 values, or null for the
  /// portable sequence.
  virtual Value e2m1SignWord(OpBuilder &b, Location loc, ArrayRef<Value> v) {
    return {};
  }
};

/// Emits SPEC.md's formulas. Cheap to construct; holds no IR state of its
/// own beyond the insertion point of `b`.
class NumericsBuilder {
public:
  NumericsBuilder(OpBuilder &b, Location loc, TargetLeaves *leaves = nullptr)
      : b(b), loc(loc), leaves(leaves) {}

  OpBuilder &getBuilder() { return b; }
  Location getLoc() { return loc; }

  //===--------------------------------------------------------------------===//
  // Constants and single-rounding arithmetic
  //===--------------------------------------------------------------------===//

  /// An f32 constant shaped like `like` (scalar or splat vector).
  Value f32(Value like, float v);
  /// An f32 constant from its bit pattern, shaped like `like`.
  Value f32Bits(Value like, uint32_t bits);
  /// An i32 constant shaped like `like`.
  Value i32(Value like, int32_t v);
  Value f32(float v);
  Value i32(int32_t v);

  Value add(Value x, Value y);
  Value sub(Value x, Value y);
  Value mul(Value x, Value y);
  Value div(Value x, Value y);
  /// RN(x * y + z): one rounding, an explicit FMA (never a contraction of
  /// SPEC.md's separate operations; used only where shown exact).
  Value fma(Value x, Value y, Value z);
  /// C `fminf`/`fmaxf`: a NaN operand is ignored.
  Value fmin(Value x, Value y);
  Value fmax(Value x, Value y);
  Value abs(Value x);
  Value select(Value cond, Value x, Value y);
  Value cmpF(arith::CmpFPredicate pred, Value x, Value y);
  Value cmpI(arith::CmpIPredicate pred, Value x, Value y);
  Value bitsOf(Value f);  // f32 -> i32 bit pattern
  Value fromBits(Value i); // i32 bit pattern -> f32

  //===--------------------------------------------------------------------===//
  // SPEC.md section 2: conversions
  //===--------------------------------------------------------------------===//

  /// E2M1 code (0..15) of `v`: round to nearest, ties to even code,
  /// saturate to 6, sign copied (-0.0 -> 0x8), NaN -> 0x7.
  Value encodeE2M1(Value v);
  /// The magnitude of encodeE2M1(v) (0..7) in the low 23 bits of an i32
  /// (bits 3..22 zero) with a multiple of 2^23 above them, which callers
  /// mask or shift away.
  Value encodeE2M1Magnitude(Value v);
  /// The sign bits of the E2M1 codes of eight values, in place: bit
  /// 4n + 3 of the i32 is bit 3 of encodeE2M1(v[n]) (the sign of
  /// fminf(v[n], 6): NaN -> 0), every other bit 0. Uses the target leaf
  /// when there is one.
  Value e2m1SignWord(ArrayRef<Value> v);
  /// The value of E2M1 code `code` (0..15).
  Value decodeE2M1(Value code);
  /// E4M3 byte of `v`: RNE, saturate finite overflow and +Inf to 0x7E,
  /// NaN -> 0x7F, subnormals down to 2^-9.
  Value encodeE4M3(Value v);
  /// The value of E4M3 byte `byte` (0x7F and 0xFF decode to NaN).
  Value decodeE4M3(Value byte);
  /// decodeE4M3 of a block's scale byte in the block scale formulas:
  /// through the target's decodeE4M3ToF16x2 leaf when there is one (every
  /// E4M3 value is exact in f16 and f32). A NaN byte (0x7F, 0xFF) may give
  /// any NaN; there it only ever makes NaN multipliers, which encode to 0x7.
  Value decodeScaleE4M3(Value sf);
  /// decodeE4M3 of a scalar i32 byte, exactly, in both halves of a
  /// vector<2xf16> (the GEMM's block-scale operand); uses the target leaf
  /// when there is one.
  Value decodeE4M3ToF16x2(Value byte);
  /// `lo | hi << 4`, the packed byte of two codes (SPEC.md section 1).
  Value packNibbles(Value lo, Value hi);
  /// E2M1 codes of an even/odd pair packed into one byte; uses the target
  /// leaf when there is one.
  Value packE2M1Pair(Value even, Value odd);
  /// `v` rounded to the nearest bf16 (ties to even), as f32. NaN stays a
  /// NaN (its payload is the target's); uses the target leaf when there is
  /// one.
  Value roundToBF16(Value v);

  //===--------------------------------------------------------------------===//
  // SPEC.md sections 3 and 4: outer and block scales
  //===--------------------------------------------------------------------===//

  /// `fmaxf(acc, |x|)`: the running amax; NaN elements are ignored.
  Value amaxStep(Value acc, Value x);
  /// S_enc(a, E) = fminf(RN(6E / a), FLT_MAX), 1 when a == 0 or that is 0.
  Value outerEncodeScale(Value amax, unsigned e4m3Max);
  /// The same with `numerator` in place of 6E: fminf(RN(numerator / a),
  /// FLT_MAX), 1 when a == 0 or that is 0 (a global scale on top).
  Value outerEncodeScaleOver(Value amax, float numerator);
  /// RN(1 / x).
  Value reciprocal(Value x);
  /// RN(y / 6E) for E = 448 or 256, without an IEEE division; exact for
  /// every binary32 y except y = +-Inf (NaN) and y = -0 (+0).
  Value divBySixE(Value y, unsigned e4m3Max);

  /// The scale byte and encode multiplier of one block.
  struct BlockScale {
    Value sf;  ///< i32 E4M3 byte
    Value enc; ///< f32 multiplier applied to the block's elements
  };
  /// Reciprocal form (SPEC.md section 4): `sEnc`, `sDec` of the outer group.
  BlockScale blockScaleReciprocal(Value blockAmax, Value sEnc, Value sDec);
  /// Quotient form: `sEncFloored` is S_enc(fmaxf(amax, 1e-12), E).
  BlockScale blockScaleQuotient(Value blockAmax, Value sEncFloored);
  /// The outer encode scale a recipe's numerics form uses for `amax`; with
  /// `amax = given_encode_scale` the operand value is that scale already.
  Value outerScaleFor(RecipeAttr recipe, Value amax);
  /// The block scale of `recipe`'s numerics form (map6 selection).
  BlockScale blockScaleFor(RecipeAttr recipe, Value blockAmax, Value sEnc);

  /// The 8 bytes (i32 each) of two little-endian words of packed codes,
  /// for the block stores (which fold them back into the words).
  SmallVector<Value, 8> bytesOfWords(ArrayRef<Value> words);
  /// The 8 packed data bytes of a block's elements `x` encoded with the
  /// block's multiplier `enc`: round to nearest (through the target's pair
  /// leaf), or stochastically with one random byte per element when
  /// `randomBytes` is not empty.
  SmallVector<Value, 8> encodeElements(ArrayRef<Value> x, Value enc,
                                       ArrayRef<Value> randomBytes = {});

  //===--------------------------------------------------------------------===//
  // SPEC.md section 7: 4over6 candidates
  //===--------------------------------------------------------------------===//

  /// The map-to-4 and map-to-6 candidate scales of a block with amax
  /// `blockAmax` (>= +0; in that order). `sEnc`/`sDec` are the outer
  /// scales.
  std::array<BlockScale, 2> fourOverSixScales(RecipeAttr recipe,
                                              Value blockAmax, Value sEnc,
                                              Value sDec);
  /// The errors of the 16 values `x` (a block, or one row of a 16x16 tile)
  /// under both candidates (map-to-4, map-to-6): RN codes dequantized with
  /// the raw outer `amax` and 6E, accumulated in index order as absolute
  /// (MAE) or squared (MSE) differences. Equal to SPEC.md's sums except
  /// where a dequantized value overflows (NaN there instead of +Inf):
  /// decide with fourOverSixPicksFour, not a plain comparison. With
  /// `magnitudes`, also the codes' magnitudes (bit 3 clear), eight 4-bit
  /// nibbles per i32 in element order: elements 0-7 and 8-15 of map-to-4,
  /// then of map-to-6.
  std::array<Value, 2> fourOverSixErrors(RecipeAttr recipe, ArrayRef<Value> x,
                                         std::array<BlockScale, 2> candidates,
                                         Value amax,
                                         std::array<Value, 4> *magnitudes =
                                             nullptr);
  /// i1: whether map-to-4 wins (SPEC.md: err_4 < err_6, strictly) given the
  /// (summed) errors of fourOverSixErrors.
  Value fourOverSixPicksFour(Value err4, Value err6);
  /// A 1x16 block's chosen scale and its 8 packed data bytes.
  struct FourOverSixBlock {
    BlockScale scale;
    SmallVector<Value, 8> bytes;
  };
  /// Chooses between the candidates of a 1x16 block `x` and encodes it.
  FourOverSixBlock fourOverSixBlock(RecipeAttr recipe, ArrayRef<Value> x,
                                    Value blockAmax, Value sEnc, Value sDec,
                                    Value amax);
  /// The fixed tree sum of 16 row errors of a 16x16 tile.
  Value treeSum16(ArrayRef<Value> rowErrors);

  //===--------------------------------------------------------------------===//
  // SPEC.md section 8: stochastic rounding
  //===--------------------------------------------------------------------===//

  /// Philox4x32-10 of `key` and `counter` (i32 values).
  std::array<Value, 4> philox(std::array<Value, 2> key,
                              std::array<Value, 4> counter);
  /// The 16 random bytes (i32, 0..255) of block `blockIndex` (i64) of
  /// output `stream` with `seed`.
  SmallVector<Value, kBlock> randomBytes(uint64_t seed, Value blockIndex,
                                         unsigned stream);
  /// Stochastically rounded E2M1 code of `v` with random byte `r8`.
  Value encodeE2M1Stochastic(Value v, Value r8);
  /// Its magnitude (0..7, exactly: no other bits set).
  Value encodeE2M1StochasticMagnitude(Value v, Value r8);

  //===--------------------------------------------------------------------===//
  // SPEC.md section 9: RHT
  //===--------------------------------------------------------------------===//

  /// The 16-point random Hadamard transform of `x` with sign mask `mask`:
  /// a radix-2 fp32 butterfly (stages 1, 2, 4, 8) on the sign-flipped
  /// values, times 0.25, rounded to bf16.
  SmallVector<Value, kBlock> rht16(ArrayRef<Value> x, unsigned mask);
  /// max |y_j| of y = rht16(x, mask) as an amax folds it (from +0, NaNs
  /// skipped), with one scaling and one bf16 rounding instead of 16: both
  /// are monotone and odd, so they commute with the max of magnitudes.
  Value rht16AbsMax(ArrayRef<Value> x, unsigned mask);

  //===--------------------------------------------------------------------===//
  // SPEC.md section 15: producers fused into a quantize
  //===--------------------------------------------------------------------===//

  /// RN(sqrt(x)), the IEEE square root.
  Value sqrt(Value x);
  /// E(x): e^x by the project's fixed binary32 sequence
  /// (docs/ProducerNumerics.md), within 2 ulp of the true value; +Inf above
  /// the overflow threshold, +0 below the underflow one, NaN for NaN.
  Value exp(Value x);
  /// T(x): tanh(x) by the project's fixed binary32 sequence, within 2 ulp;
  /// odd (T(-x) = -T(x), T(-0) = -0), +-1 for large |x|, NaN for NaN.
  Value tanh(Value x);
  /// act(g) of SPEC.md section 15: silu(g) = RN(g / RN(1 + E(-g))) or
  /// gelu_tanh(g), before the product with the up half.
  Value gatedActivation(GatedActivation act, Value g);
  /// RN_s(v): `v` rounded to the storage type `s` (bf16, f16 or f32) and
  /// returned as f32; every NaN becomes the canonical quiet NaN 0x7FC00000,
  /// so the stored bytes of a NaN do not depend on the target.
  Value roundToStorage(Value v, Type s);
  /// One step of a 16-block's sum of squares: RN(acc + RN(h * h)).
  Value sumSquaresStep(Value acc, Value h);
  /// The RMSNorm scale of a row of `kF32` (the row length as f32) values
  /// whose sum of squares is `ss`: RN(1 / RN(sqrt(RN(RN(ss / k) + eps)))).
  Value rmsInverse(Value ss, Value kF32, float eps);

  //===--------------------------------------------------------------------===//
  // SPEC.md section 11: dequantization
  //===--------------------------------------------------------------------===//

  /// RN(RN(float(sf) * amax) * RN(1 / (6E))).
  Value dequantScale(Value sfByte, Value amax, unsigned e4m3Max);
  /// RN(e2m1(code) * finalScale); a NaN is the canonical 0x7FC00000.
  Value dequantValue(Value code, Value finalScale);

  //===--------------------------------------------------------------------===//
  // SPEC.md section 12: GEMM epilogue
  //===--------------------------------------------------------------------===//

  /// The per-tensor x per-tensor GEMM scale
  /// RN(RN(amaxA * amaxB) * RN(1 / (36 * E_A * E_B))).
  Value gemmAlpha(Value amaxA, Value amaxB, unsigned e4m3MaxA,
                  unsigned e4m3MaxB);

  //===--------------------------------------------------------------------===//
  // SPEC.md section 10: scale-factor layouts (index arithmetic)
  //===--------------------------------------------------------------------===//

  /// Byte offset of scale (r, c) for a scale matrix with `numCols` unpadded
  /// columns. All operands are `index`.
  Value scaleOffset(ScaleLayout layout, Value r, Value c, Value numCols);

private:
  Value cst(Type type, TypedAttr scalar);
  /// The sign bit of v's E2M1 code (the sign of fminf(v, 6): NaN, which
  /// encodes to +6, gives 0) at bit `bit` of an i32, every other bit 0.
  Value e2m1Sign(Value v, unsigned bit);
  /// The butterfly sums of rht16 (before the scaling and rounding).
  SmallVector<Value, kBlock> hadamardSums16(ArrayRef<Value> x, unsigned mask);

  OpBuilder &b;
  Location loc;
  TargetLeaves *leaves;
};

} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_NUMERICS_NUMERICSBUILDER_H
