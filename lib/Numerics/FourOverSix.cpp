//===- FourOverSix.cpp - SPEC.md section 7 as MLIR -----------------------===//
//
// The 4over6 candidate scales and errors of NumericsBuilder (SPEC.md
// section 7), kept apart from the rest of the builder.
//
// Each element is encoded under both candidates and dequantized to measure
// the error, so this is the costliest recipe per element. The sequences
// below compute SPEC.md's values with fewer operations than the formulas'
// literal form, each shown exact (docs/Rationale.md, "4over6 errors"):
//  * the E2M1 magnitude RN(|x| * inv) rounded to the code grid is formed
//    as a float directly (no code, no decode), and its code only where the
//    codes are kept;
//  * RN(y / 6E) is a multiply and three correction steps instead of an
//    IEEE division;
//  * the per-element terms that do not depend on the candidate (|x|) are
//    shared, and the chosen candidate's codes are not encoded a third time.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Numerics/NumericsBuilder.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::nvfp4;

namespace {
constexpr uint32_t kFltMaxBits = 0x7F7FFFFF;
constexpr uint32_t kSignBit = 0x80000000;
constexpr uint32_t kExponentMask = 0x7F800000;
/// The fixed-point scale of the remainder in exactQuotient (the checked
/// one; for 6E any power of two from 2^12 to 2^24 gives the same results).
constexpr int kRemainderShift = 16;

/// Per-block constants of one candidate's error sum.
struct CandidateTerms {
  Value invAbs;     ///< |inv_c|
  Value sfValue;    ///< float(sf_c)
  Value amaxSigned; ///< |amax| with the sign that makes every value's sign
                    ///< agree with its element's (see fourOverSixErrors)
};

/// RN(y / d) for d = m * 2^k with m odd (6, 1536 or 2688), without an IEEE
/// division. q is within one ulp of y / d and rem = y - q * d is exact (one
/// FMA), so y / d = q + rem / d exactly. Markstein's last step, RN(q + rem
/// * RN(1 / d)), is correctly rounded wherever the quotient is normal, but
/// in the subnormal range y / d can be exactly half-way between two
/// subnormals and rem * RN(1 / d) misses the half by its rounding error
/// (2.8 and 0.4 million such y for 1536 and 2688). Dividing rem by m first,
/// in fixed point (rem * 2^16 is far from both ends of the range): at those
/// ties rem / m is a power of two and RN(rem * RN(2^16 / m)) rounds to it
/// exactly, and elsewhere its error is too small to cross a rounding
/// boundary; the last step then scales by 2^-(k + 16) inside the FMA.
/// Checked against the IEEE division for all 2^32 binary32 y and the three
/// divisors: equal except y = -0 (+0 here) and y = +-Inf, which give NaN
/// (Inf - Inf in rem) unless `keepInfinities` clamps the scaled remainder
/// to FLT_MAX (one more operation; never reached by a finite y).
Value exactQuotient(NumericsBuilder &nb, Value y, float d,
                    bool keepInfinities) {
  int k = 0;
  float m = d;
  while (std::fmod(m, 2.0f) == 0.0f) {
    m /= 2.0f;
    ++k;
  }
  assert((m == 3.0f || m == 21.0f) && "checked for 6, 1536 and 2688 only");
  Value q = nb.mul(y, nb.f32(y, 1.0f / d));
  Value rem = nb.fma(q, nb.f32(y, -d), y);
  Value remOverM =
      nb.mul(rem, nb.f32(y, std::ldexp(1.0f / m, kRemainderShift)));
  if (keepInfinities)
    remOverM = nb.fmin(remOverM, nb.f32Bits(y, kFltMaxBits));
  return nb.fma(remOverM, nb.f32(y, std::ldexp(1.0f, -k - kRemainderShift)), q);
}
} // namespace

//===----------------------------------------------------------------------===//
// Section 7: 4over6
//===----------------------------------------------------------------------===//

std::array<NumericsBuilder::BlockScale, 2>
NumericsBuilder::fourOverSixScales(RecipeAttr recipe, Value blockAmax,
                                   Value sEnc, Value sDec) {
  Value fltMax = f32Bits(blockAmax, kFltMaxBits);
  Value cap = f32(blockAmax, 448.0f); // 448 even when E = 256
  // Divide first here, unlike the map6 path (SPEC.md section 7); RN(a / 6)
  // for every amax a >= +0, +Inf included.
  Value base = mul(exactQuotient(*this, blockAmax, 6.0f,
                                 /*keepInfinities=*/true),
                   sEnc);
  Value sf4 = encodeE4M3(fmin(mul(base, f32(base, 1.5f)), cap));
  Value sf6 = encodeE4M3(fmin(base, cap));
  std::array<BlockScale, 2> result;
  for (auto [scale, sf] : llvm::zip(result, std::array{sf4, sf6}))
    scale = {sf, fmin(reciprocal(mul(decodeScaleE4M3(sf), sDec)), fltMax)};
  return result;
}

Value NumericsBuilder::divBySixE(Value y, unsigned e4m3Max) {
  assert((e4m3Max == 448 || e4m3Max == 256) && "6E is 2688 or 1536");
  return exactQuotient(*this, y, 6.0f * float(e4m3Max),
                       /*keepInfinities=*/false);
}

namespace {
/// The E2M1 grid value of c = fminf(s, 6) for s >= 0 or NaN (what
/// encodeE2M1 rounds |s| to), with the two terms its code is read from.
struct GridValue {
  Value value; ///< c rounded to the E2M1 grid, as f32
  Value sum;   ///< RN(c + P * 2^22)
  Value p;     ///< P = 2^E of c's E2M1 binade: 1, 2 or 4
};

/// RN(c + P * 2^22) rounds c to a multiple of P / 2 (the step of its
/// binade), ties to even, in one FMA; subtracting P * 2^22 again is exact.
/// This is encodeE2M1's rounding (which adds c to another multiple of the
/// step in the same binade, whose bits carry the code) kept in float;
/// checked equal to decodeE2M1(encodeE2M1(s)) for all 2^32 binary32
/// s >= 0 and NaN.
GridValue roundToE2M1Grid(NumericsBuilder &m, Value s) {
  Value c = m.fmin(s, m.f32(s, 6.0f));
  Value p = m.fromBits(arith::AndIOp::create(
      m.getBuilder(), m.getLoc(), m.bitsOf(m.fmax(c, m.f32(s, 1.0f))),
      m.i32(s, int32_t(kExponentMask))));
  Value sum = m.fma(p, m.f32(s, 0x1p22f), c);
  return {m.fma(p, m.f32(s, -0x1p22f), sum), sum, p};
}
} // namespace

std::array<Value, 2> NumericsBuilder::fourOverSixErrors(
    RecipeAttr recipe, ArrayRef<Value> x, std::array<BlockScale, 2> candidates,
    Value amax, std::array<Value, 4> *magnitudes) {
  bool mse = recipe.getSelect() == Selection::FourOverSixMSE;
  unsigned e4m3Max = recipe.getE4m3Max();
  // SPEC.md: val = RN(RN(RN(e2m1(code) * sf) * amax) / 6E), d = RN(val - x)
  // with code = E2M1(RN(x * inv)). RN is symmetric, so |val| is the same
  // chain on magnitudes, and val's sign is sign(x) ^ sign(inv) ^ sign(sf)
  // ^ sign(amax) (the code carries sign(x) ^ sign(inv)). Giving the
  // dequantized magnitude the sign sign(inv) ^ sign(sf) ^ sign(amax) and
  // subtracting |x| therefore yields +-d: |d| and d * d are unchanged.
  // (Where RN(x * inv) is NaN, x is NaN, so d is, or x is +-0, where
  // |d| = |val| whatever the signs.) Usually all of these are positive.
  std::array<CandidateTerms, 2> terms;
  for (auto [t, c] : llvm::zip(terms, candidates)) {
    t.invAbs = abs(c.enc);
    t.sfValue = decodeScaleE4M3(c.sf);
    t.amaxSigned = fromBits(arith::XOrIOp::create(
        b, loc, bitsOf(amax),
        arith::AndIOp::create(b, loc, bitsOf(c.enc),
                              i32(amax, int32_t(kSignBit)))));
  }
  Value zero = f32(amax, 0.0f);
  std::array<Value, 2> err = {zero, zero};
  for (auto [i, xi] : llvm::enumerate(x)) {
    Value ax = abs(xi);
    for (unsigned c = 0; c < 2; ++c) {
      const CandidateTerms &t = terms[c];
      GridValue g = roundToE2M1Grid(*this, mul(ax, t.invAbs));
      Value y = mul(mul(g.value, t.sfValue), t.amaxSigned);
      Value d = sub(divBySixE(y, e4m3Max), ax);
      err[c] = add(err[c], mse ? mul(d, d) : abs(d));
      if (!magnitudes)
        continue;
      // The code magnitude is the number of steps of P / 2 above P * 2^22
      // plus 2E (encodeE2M1): bits(sum) - bits(P * 2^22) + (bits(P) >> 22)
      // - 254. The constant is summed into the word's initial value (an
      // integer sum mod 2^32; the codes' nibbles never carry).
      Value pBits = bitsOf(g.p);
      Value code = arith::AddIOp::create(
          b, loc, arith::SubIOp::create(b, loc, bitsOf(g.sum), pBits),
          arith::ShRUIOp::create(b, loc, pBits, i32(xi, 22)));
      Value &word = (*magnitudes)[2 * c + i / 8];
      if (!word) {
        uint32_t init = 0;
        for (unsigned n = 0; n < 8; ++n)
          init += uint32_t(-(22 << 23) - 254) << (4 * n);
        word = i32(xi, int32_t(init));
      }
      word = arith::AddIOp::create(
          b, loc, word,
          arith::ShLIOp::create(b, loc, code, i32(xi, 4 * (i % 8))));
    }
  }
  return err;
}

Value NumericsBuilder::fourOverSixPicksFour(Value err4, Value err6) {
  // SPEC.md: map-to-4 iff err_4 < err_6 (strict; ties and NaN keep
  // map-to-6). fourOverSixErrors' sums differ from SPEC.md's only where a
  // dequantized value overflows: NaN there instead of Inf. That makes a
  // sum NaN where SPEC.md's is non-finite, so "err_4 is finite" is the
  // same on both. When it is, amax and the block's x are finite, so
  // SPEC.md's err_6 is never NaN, and a NaN err_6 here stands for its
  // +Inf: map-to-4 wins. When err_4 is not finite, map-to-4 never wins.
  using P = arith::CmpFPredicate;
  Value finite4 =
      cmpF(P::OLT, err4, f32(err4, std::numeric_limits<float>::infinity()));
  return arith::AndIOp::create(b, loc, finite4, cmpF(P::ULT, err4, err6));
}

NumericsBuilder::FourOverSixBlock
NumericsBuilder::fourOverSixBlock(RecipeAttr recipe, ArrayRef<Value> x,
                                  Value blockAmax, Value sEnc, Value sDec,
                                  Value amax) {
  assert(x.size() == kBlock && "a block has 16 elements");
  std::array<BlockScale, 2> candidates =
      fourOverSixScales(recipe, blockAmax, sEnc, sDec);
  // With a target instruction for the E2M1 pair, encoding the chosen
  // candidate again is cheaper than keeping both candidates' codes.
  bool keepCodes = !(leaves && leaves->hasE2M1PairLeaf());
  std::array<Value, 4> magnitudes;
  std::array<Value, 2> err = fourOverSixErrors(
      recipe, x, candidates, amax, keepCodes ? &magnitudes : nullptr);
  Value four = fourOverSixPicksFour(err[0], err[1]);
  BlockScale chosen = {select(four, candidates[0].sf, candidates[1].sf),
                       select(four, candidates[0].enc, candidates[1].enc)};
  if (!keepCodes)
    return {chosen, encodeElements(x, chosen.enc)};
  // The codes' signs, as encodeE2M1 gives them: the sign of
  // fminf(RN(x * inv), 6) (NaN -> +6), in bit 3 of each nibble.
  std::array<Value, 2> words;
  for (unsigned w = 0; w < 2; ++w) {
    SmallVector<Value, 8> scaled;
    for (unsigned n = 0; n < 8; ++n)
      scaled.push_back(mul(x[8 * w + n], chosen.enc));
    words[w] = arith::OrIOp::create(
        b, loc, select(four, magnitudes[w], magnitudes[2 + w]),
        e2m1SignWord(scaled));
  }
  return {chosen, bytesOfWords(words)};
}

Value NumericsBuilder::treeSum16(ArrayRef<Value> rowErrors) {
  assert(rowErrors.size() == kBlock && "a tile has 16 rows");
  SmallVector<Value, kBlock> v(rowErrors);
  for (unsigned half = 8; half >= 1; half /= 2)
    for (unsigned k = 0; k < half; ++k)
      v[k] = add(v[k], v[k + half]);
  return v[0];
}
