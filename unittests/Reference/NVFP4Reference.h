//===- NVFP4Reference.h - Scalar reference for SPEC.md numerics -*- C++ -*-===//
//
// Part of the nvfp4-mlir project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// An independent scalar C++17 implementation of the NVFP4 numerics contract
/// (SPEC.md). It is written directly from the spec, shares no code with the
/// compiler and depends on nothing but the standard library, so that tests can
/// cross-check the compiler's lowerings byte for byte against a second,
/// deliberately naive reading of the same text.
///
/// Every binary32 operation the spec writes is performed as one IEEE binary32
/// operation with one rounding: the implementation never contracts into FMA
/// and never widens to double where the spec says fp32.
///
//===----------------------------------------------------------------------===//

#ifndef NVFP4_UNITTESTS_REFERENCE_NVFP4REFERENCE_H
#define NVFP4_UNITTESTS_REFERENCE_NVFP4REFERENCE_H

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace nvfp4 {
namespace ref {

/// The outer (second-level, FP32) scale group of SPEC §3/§6. `Window` groups
/// are `Recipe::window` consecutive elements of one row; the last window of a
/// row may be shorter (SPEC §13).
enum class Outer { Tensor, Row, Window };

/// The E4M3 scale-block shape of SPEC §5.
enum class Block { B1x16, B16x16 };

/// The two block-encode formulas of SPEC §4.
enum class Numerics { Reciprocal, Quotient };

/// Candidate selection of SPEC §7.
enum class Select { Map6, FourOverSixMAE, FourOverSixMSE };

/// E2M1 rounding of SPEC §8.
enum class Rounding { Nearest, Stochastic };

/// Where each outer group's scale comes from (SPEC §3): max |x| over the
/// group, an amax given as an input, or the encode scale S_enc itself.
enum class AmaxSource { Computed, Given, GivenEncodeScale };

/// Scale-factor layouts of SPEC §10.
enum class SfLayout { Linear, Swizzle128x4, Swizzle8x4 };

/// The storage dtype the input is rounded to (RN-even) before anything else;
/// the rounded value is then widened exactly to fp32 (SPEC §3).
enum class DType { F32, F16, BF16 };

/// A complete quantization recipe. Illegal combinations (SPEC §6) make
/// quantize() throw std::invalid_argument naming the conflict.
struct Recipe {
  Outer outer = Outer::Tensor;
  /// Window length for Outer::Window; must be a positive multiple of 16 so
  /// that no scale block straddles two windows.
  unsigned window = 64;
  Block block = Block::B1x16;
  Numerics numerics = Numerics::Reciprocal;
  Select select = Select::Map6;
  /// The E4M3 bound `E` of SPEC §3 (448 or 256).
  unsigned e4m3Max = 448;
  Rounding rounding = Rounding::Nearest;
  /// Philox key for stochastic rounding (SPEC §8).
  uint64_t seed = 0;
  /// Random Hadamard transform on the columnwise direction only (SPEC §9).
  bool rht = false;
  /// Sign mask of the RHT: s_i = -1 where bit i is set.
  uint16_t rhtMask = 0xD7E8;
  bool rowwise = true;
  bool columnwise = false;
  SfLayout layout = SfLayout::Linear;
  /// With Given / GivenEncodeScale, `given` (rowwise) and `givenT`
  /// (columnwise) hold one value per outer group, shaped as the output's
  /// amax; the output's `amax` is then that value as given.
  AmaxSource amaxSource = AmaxSource::Computed;
  std::vector<float> given, givenT;
  /// FlashInfer's global scale on top of the amax (0: none): the encode
  /// scale is fminf(RN(RN(1/g) / amax), FLT_MAX), 1 for amax 0 or a 0.
  float globalScaleInv = 0.0f;
};

/// One direction's output.
struct Quantized {
  /// Shape of the quantized matrix: X for rowwise, X^T for columnwise.
  int64_t rows = 0, cols = 0;
  /// rows * cols/2 bytes; byte j of a row holds element 2j in bits 3:0 and
  /// element 2j+1 in bits 7:4 (SPEC §1).
  std::vector<uint8_t> data;
  /// Linear: rows x cols/16. Swizzled: the padded Rp x Cp of SPEC §10.
  int64_t scaleRows = 0, scaleCols = 0;
  /// E4M3 bytes in the recipe's layout; padding bytes are 0.
  std::vector<uint8_t> scale;
  /// Raw outer amax (never floored): (1,), (rows,), or rows*ceil(cols/window);
  /// the given amaxes (or encode scales) when the recipe's are given.
  std::vector<float> amax;
  /// {1}, {rows} or {rows, ceil(cols/window)}.
  std::vector<int64_t> amaxShape;
};

/// The outputs of quantize(); a direction the recipe does not ask for is
/// empty.
struct Result {
  std::optional<Quantized> rowwise, columnwise;
};

/// Quantizes the row-major M x K float32 matrix \p x according to \p r.
/// Values are first rounded to \p dtype (RN-even) and widened back to fp32.
/// The rowwise output quantizes X along K; the columnwise output quantizes
/// X^T (K x M) along M, after the RHT when `r.rht` is set (SPEC §9).
/// Throws std::invalid_argument for an illegal recipe or when a quantized
/// dimension (K for rowwise, M for columnwise) is not a multiple of 16.
Result quantize(const Recipe &r, const float *x, int64_t M, int64_t K,
                DType dtype);

/// Dequantizes one direction's output back to float (SPEC §11): a rows x cols
/// row-major matrix. For the quotient form the floored outer amax is used.
std::vector<float> dequantize(const Recipe &r, const Quantized &q);

//===----------------------------------------------------------------------===//
// Building blocks, exposed for tests.
//===----------------------------------------------------------------------===//

/// The binary32 value of bit pattern \p bits, and the bit pattern of \p f.
float bitsToFloat(uint32_t bits);
uint32_t floatToBits(float f);

/// fp32 -> 4-bit E2M1 code (SPEC §2): RN-even on codes, saturating, sign
/// copied (including -0.0 -> 0x8), NaN -> 0x7.
uint8_t toE2M1(float v);
/// E2M1 code (low 4 bits) -> its value; code 0x8 is -0.0.
float fromE2M1(uint8_t code);

/// fp32 -> f8E4M3FN byte (SPEC §2): RN-even, finite overflow and +Inf
/// saturate to 0x7E, NaN -> 0x7F.
uint8_t toE4M3(float v);
/// f8E4M3FN byte -> value (0x7F/0xFF are NaN).
float fromE4M3(uint8_t b);

/// Round to the nearest bf16 / fp16 value (ties to even), returned as fp32.
float roundToBF16(float v);
float roundToF16(float v);
/// \p v rounded to \p d as above (F32: \p v itself).
float roundTo(DType d, float v);

/// Byte offset of scale (r, c) in layout \p l (SPEC §10); \p C is the
/// unpadded number of scale columns.
int64_t scaleOffset(SfLayout l, int64_t r, int64_t c, int64_t C);

/// Philox4x32-10 (Random123 / cuRAND): one block of four 32-bit words.
void philox4x32_10(const uint32_t key[2], const uint32_t ctr[4],
                   uint32_t out[4]);

/// The 16-point RHT of SPEC §9: y_j = 0.25 * sum_i s_i x_i (-1)^popc(i&j),
/// summed in fp32 by the radix-2 butterfly of docs/Rationale.md (pairs 1,
/// 2, 4, 8 apart, in that order), then rounded to bf16.
std::array<float, 16> rht16(const std::array<float, 16> &x, uint16_t mask);

/// S_enc(a, E) of SPEC §3.
float outerScale(float amax, unsigned e4m3Max);

/// The SR E2M1 value of SPEC §8 for v = RN(x_i * enc_B) and random byte r8.
float stochasticE2M1Value(float v, uint8_t r8);

/// Dequantization multiplier of SPEC §11:
/// RN(RN(float(sf) * amax) * RN(1 / (6E))).
float finalScale(uint8_t sf, float amax, unsigned e4m3Max);

/// GEMM per-tensor alpha of SPEC §12:
/// RN(RN(amaxA * amaxB) * RN(1 / (36 * eA * eB))).
float gemmAlpha(float amaxA, float amaxB, unsigned eA, unsigned eB);

/// Packs 4-bit codes two per byte (SPEC §1); \p codes has an even length.
std::vector<uint8_t> packCodes(const std::vector<uint8_t> &codes);

/// The 4-bit code of element (r, c) of \p q.
uint8_t codeAt(const Quantized &q, int64_t r, int64_t c);

/// The scale byte of row \p r, scale column \p c of \p q in \p r's layout.
uint8_t scaleAt(const Recipe &rec, const Quantized &q, int64_t r, int64_t c);

} // namespace ref
} // namespace nvfp4

#endif // NVFP4_UNITTESTS_REFERENCE_NVFP4REFERENCE_H
