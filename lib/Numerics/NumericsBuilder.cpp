//===- NumericsBuilder.cpp - SPEC.md math as MLIR -------------------------===//
//
// Each function cites the SPEC.md section it implements. Conversions are
// integer sequences on the binary32 bit pattern rather than float tricks or
// library calls, so they are exact on every target and need no libm.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Numerics/NumericsBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <cstring>

using namespace mlir;
using namespace mlir::nvfp4;

TargetLeaves::~TargetLeaves() = default;

namespace {
constexpr uint32_t kFltMaxBits = 0x7F7FFFFF;
/// RN(1/6) (SPEC.md notation).
constexpr uint32_t kRcp6Bits = 0x3E2AAAAB;
constexpr uint32_t kAbsMask = 0x7FFFFFFF;

Type withElement(Type like, Type element) {
  if (auto vec = dyn_cast<VectorType>(like))
    return vec.clone(element);
  return element;
}
} // namespace

//===----------------------------------------------------------------------===//
// Constants and arithmetic
//===----------------------------------------------------------------------===//

Value NumericsBuilder::cst(Type type, TypedAttr scalar) {
  if (auto vec = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(b, loc, vec,
                                     DenseElementsAttr::get(vec, scalar));
  return arith::ConstantOp::create(b, loc, scalar);
}

Value NumericsBuilder::f32(Value like, float v) {
  return cst(withElement(like.getType(), b.getF32Type()), b.getF32FloatAttr(v));
}

Value NumericsBuilder::f32Bits(Value like, uint32_t bits) {
  float v;
  static_assert(sizeof(v) == sizeof(bits));
  std::memcpy(&v, &bits, sizeof(v));
  return f32(like, v);
}

Value NumericsBuilder::i32(Value like, int32_t v) {
  return cst(withElement(like.getType(), b.getI32Type()),
             b.getI32IntegerAttr(v));
}

Value NumericsBuilder::f32(float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

Value NumericsBuilder::i32(int32_t v) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
}

Value NumericsBuilder::add(Value x, Value y) {
  return arith::AddFOp::create(b, loc, x, y);
}
Value NumericsBuilder::sub(Value x, Value y) {
  return arith::SubFOp::create(b, loc, x, y);
}
Value NumericsBuilder::mul(Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}
Value NumericsBuilder::div(Value x, Value y) {
  return arith::DivFOp::create(b, loc, x, y);
}
Value NumericsBuilder::fma(Value x, Value y, Value z) {
  // llvm.intr.fma is fused on every target (an FMA instruction, or the
  // exact libm fmaf); math.fma would become a libdevice call on NVVM.
  return LLVM::FMAOp::create(b, loc, x, y, z);
}
Value NumericsBuilder::fmin(Value x, Value y) {
  return arith::MinNumFOp::create(b, loc, x, y);
}
Value NumericsBuilder::fmax(Value x, Value y) {
  return arith::MaxNumFOp::create(b, loc, x, y);
}
Value NumericsBuilder::abs(Value x) {
  // Clearing the sign bit is exact for every input, NaN included.
  return fromBits(arith::AndIOp::create(b, loc, bitsOf(x),
                                        i32(x, int32_t(kAbsMask))));
}
Value NumericsBuilder::select(Value cond, Value x, Value y) {
  return arith::SelectOp::create(b, loc, cond, x, y);
}
Value NumericsBuilder::cmpF(arith::CmpFPredicate pred, Value x, Value y) {
  return arith::CmpFOp::create(b, loc, pred, x, y);
}
Value NumericsBuilder::cmpI(arith::CmpIPredicate pred, Value x, Value y) {
  return arith::CmpIOp::create(b, loc, pred, x, y);
}
Value NumericsBuilder::bitsOf(Value f) {
  return arith::BitcastOp::create(
      b, loc, withElement(f.getType(), b.getI32Type()), f);
}
Value NumericsBuilder::fromBits(Value i) {
  return arith::BitcastOp::create(
      b, loc, withElement(i.getType(), b.getF32Type()), i);
}

//===----------------------------------------------------------------------===//
// Section 2: conversions
//===----------------------------------------------------------------------===//

Value NumericsBuilder::encodeE2M1(Value v) {
  Value code = arith::AndIOp::create(b, loc, encodeE2M1Magnitude(v),
                                     i32(v, 0x7));
  // The sign bit is copied, so -0.0 and tiny negatives give 0x8.
  return arith::OrIOp::create(b, loc, code, e2m1Sign(v, 3));
}

Value NumericsBuilder::encodeE2M1Magnitude(Value v) {
  // fminf saturates (Inf and everything above 6 -> 6) and maps NaN to 6,
  // whose code 7 is what NaN encodes to. The abs folds into the min on
  // GPUs (FMNMX |x|).
  Value c = fmin(abs(v), f32(v, 6.0f));
  // The E2M1 values of each binade are the multiples of one step: 0.5 in
  // [0, 2), 1 in [2, 4), 2 in [4, 6]. With P = 2^E the power of two of
  // c's binade (at least 1.0), the binade [2^22 P, 2^23 P) has that step
  // as its ulp. The FMA adds c to B = P * (2^23 - 127) (exact: 24
  // significant bits), which lies in that binade with mantissa field
  // k = 2^23 - 254 (even), and B + c < 2^23 P: the one RN addition rounds
  // c to a multiple n of the step, ties to even n, and bits(t) =
  // bits(P) + (22 << 23) + k + n. The code is n plus twice the binade
  // index E, since each binade above [1, 2) starts two codes further on
  // and an even n gives an even code (ties to even); 2E = (bits(P) >> 22)
  // - 254, so bits(t) + (bits(P) >> 22) = bits(P) + (23 << 23) + code:
  // the code in the low 23 bits, a multiple of 2^23 above them, from one
  // shift-and-add (the callers mask or shift the multiple away).
  Value e = arith::AndIOp::create(b, loc, bitsOf(fmax(c, f32(v, 1.0f))),
                                  i32(v, 0x7F800000));
  Value t = bitsOf(fma(fromBits(e), f32(v, 0x1p23f - 127.0f), c));
  return arith::AddIOp::create(
      b, loc, t, arith::ShRUIOp::create(b, loc, e, i32(v, 22)));
}

Value NumericsBuilder::e2m1SignWord(ArrayRef<Value> v) {
  assert(v.size() == 8 && "a word holds eight codes");
  if (leaves)
    if (Value leaf = leaves->e2m1SignWord(b, loc, v))
      return leaf;
  Value word;
  for (auto [n, vn] : llvm::enumerate(v)) {
    Value sign = e2m1Sign(vn, 4 * unsigned(n) + 3);
    word = word ? arith::OrIOp::create(b, loc, word, sign) : sign;
  }
  return word;
}

Value NumericsBuilder::e2m1Sign(Value v, unsigned bit) {
  // fminf(v, 6) keeps v's sign and turns NaN into +6.
  return arith::AndIOp::create(
      b, loc,
      arith::ShRUIOp::create(b, loc, bitsOf(fmin(v, f32(v, 6.0f))),
                             i32(v, int32_t(31 - bit))),
      i32(v, int32_t(1u << bit)));
}

Value NumericsBuilder::decodeE2M1(Value code) {
  using P = arith::CmpIPredicate;
  Type f32Type = withElement(code.getType(), b.getF32Type());
  Value mag = arith::AndIOp::create(b, loc, code, i32(code, 7));
  // Codes 0..3 are 0, 0.5, 1, 1.5 (c/2); 4, 5 are 2, 3 (c-2); 6, 7 are 4, 6
  // ((c-4)*2). Each is exact in f32.
  Value low = mul(arith::SIToFPOp::create(b, loc, f32Type, mag),
                  f32(code, 0.5f));
  Value mid = arith::SIToFPOp::create(
      b, loc, f32Type, arith::SubIOp::create(b, loc, mag, i32(code, 2)));
  Value high = arith::SIToFPOp::create(
      b, loc, f32Type,
      arith::ShLIOp::create(b, loc,
                            arith::SubIOp::create(b, loc, mag, i32(code, 4)),
                            i32(code, 1)));
  Value value =
      select(cmpI(P::ult, mag, i32(code, 4)), low,
             select(cmpI(P::ult, mag, i32(code, 6)), mid, high));
  Value negative = cmpI(P::ne, arith::AndIOp::create(b, loc, code, i32(code, 8)),
                        i32(code, 0));
  return select(negative, arith::NegFOp::create(b, loc, value), value);
}

Value NumericsBuilder::encodeE4M3(Value v) {
  if (leaves)
    if (Value leaf = leaves->encodeE4M3(b, loc, v))
      return leaf;
  Value bits = bitsOf(v);
  Value absBits = arith::AndIOp::create(b, loc, bits, i32(v, int32_t(kAbsMask)));
  Value a = fromBits(absBits);
  // Normal E4M3 (|v| >= 2^-6): round the binary32 mantissa to 3 bits, ties
  // to even, on the bit pattern; rebias the exponent from 127 to 7. Finite
  // overflow and +Inf land above 0x7E and saturate below.
  Value lsb = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, absBits, i32(v, 20)), i32(v, 1));
  Value rounded = arith::AddIOp::create(
      b, loc, absBits,
      arith::AddIOp::create(b, loc, i32(v, 0x7FFFF), lsb));
  Value normal = arith::SubIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, rounded, i32(v, 20)),
      i32(v, (127 - 7) << 3));
  // Subnormal E4M3 (|v| < 2^-6): the code is |v| / 2^-9 rounded to an
  // integer, ties to even. Adding and subtracting 2^23 rounds an f32 below
  // 2^22 to an integer with the current (nearest-even) rounding; the
  // scaling by 2^9 is exact.
  Value scaled = mul(a, f32(v, 512.0f));
  Value magic = f32(v, 8388608.0f);
  Value integral = sub(add(scaled, magic), magic);
  Value subnormal = arith::FPToSIOp::create(
      b, loc, withElement(v.getType(), b.getI32Type()), integral);
  Value isSub = cmpF(arith::CmpFPredicate::OLT, a, f32(v, 0x1p-6f));
  Value code = select(isSub, subnormal, normal);
  code = arith::MinSIOp::create(b, loc, code, i32(v, 0x7E));
  Value sign = arith::ShLIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, bits, i32(v, 31)), i32(v, 7));
  code = arith::OrIOp::create(b, loc, code, sign);
  Value isNaN = cmpF(arith::CmpFPredicate::UNO, v, v);
  return select(isNaN, i32(v, 0x7F), code);
}

Value NumericsBuilder::decodeE4M3(Value byte) {
  using P = arith::CmpIPredicate;
  Type f32Type = withElement(byte.getType(), b.getF32Type());
  Value c = arith::AndIOp::create(b, loc, byte, i32(byte, 0x7F));
  Value e = arith::ShRUIOp::create(b, loc, c, i32(byte, 3));
  Value m = arith::AndIOp::create(b, loc, c, i32(byte, 7));
  // Normal: rebias the exponent from 7 to 127 and widen the mantissa.
  Value normal = fromBits(arith::OrIOp::create(
      b, loc,
      arith::ShLIOp::create(b, loc,
                            arith::AddIOp::create(b, loc, e, i32(byte, 120)),
                            i32(byte, 23)),
      arith::ShLIOp::create(b, loc, m, i32(byte, 20))));
  Value subnormal = mul(arith::SIToFPOp::create(b, loc, f32Type, m),
                        f32(byte, 0x1p-9f));
  Value value = select(cmpI(P::eq, e, i32(byte, 0)), subnormal, normal);
  value = select(cmpI(P::eq, c, i32(byte, 0x7F)),
                 f32Bits(byte, 0x7FC00000), value);
  Value negative = cmpI(
      P::ne, arith::AndIOp::create(b, loc, byte, i32(byte, 0x80)), i32(byte, 0));
  return select(negative, arith::NegFOp::create(b, loc, value), value);
}

Value NumericsBuilder::decodeScaleE4M3(Value sf) {
  // The leaf's NaN (for 0x7F) is not decodeE4M3's 0x7FC00000 (see the
  // declaration for why that is invisible).
  if (leaves)
    if (Value pair = leaves->decodeE4M3ToF16x2(b, loc, sf)) {
      Value half = vector::ExtractOp::create(b, loc, pair, int64_t(0));
      return arith::ExtFOp::create(b, loc, b.getF32Type(), half);
    }
  return decodeE4M3(sf);
}

Value NumericsBuilder::decodeE4M3ToF16x2(Value byte) {
  if (leaves)
    if (Value leaf = leaves->decodeE4M3ToF16x2(b, loc, byte))
      return leaf;
  // E4M3 values (2^-9 .. 448, and NaN) are exact in f16.
  Value half = arith::TruncFOp::create(b, loc, b.getF16Type(), decodeE4M3(byte));
  return vector::BroadcastOp::create(
      b, loc, VectorType::get({2}, b.getF16Type()), half);
}

Value NumericsBuilder::packNibbles(Value lo, Value hi) {
  return arith::OrIOp::create(
      b, loc, arith::AndIOp::create(b, loc, lo, i32(lo, 0xF)),
      arith::ShLIOp::create(b, loc,
                            arith::AndIOp::create(b, loc, hi, i32(hi, 0xF)),
                            i32(hi, 4)));
}

Value NumericsBuilder::packE2M1Pair(Value even, Value odd) {
  if (leaves)
    if (Value leaf = leaves->packE2M1Pair(b, loc, even, odd))
      return leaf;
  return packNibbles(encodeE2M1(even), encodeE2M1(odd));
}

Value NumericsBuilder::roundToBF16(Value v) {
  if (leaves)
    if (Value leaf = leaves->roundToBF16(b, loc, v))
      return leaf;
  // Round the binary32 pattern to its top 16 bits, ties to even. Inf stays
  // Inf and the largest finite values round to Inf, as RNE requires; NaN is
  // passed through (quieting is irrelevant: NaN encodes to 0x7).
  Value bits = bitsOf(v);
  Value lsb = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, bits, i32(v, 16)), i32(v, 1));
  Value rounded = arith::AddIOp::create(
      b, loc, bits, arith::AddIOp::create(b, loc, i32(v, 0x7FFF), lsb));
  Value truncated = fromBits(arith::AndIOp::create(
      b, loc, rounded, i32(v, int32_t(0xFFFF0000u))));
  return select(cmpF(arith::CmpFPredicate::UNO, v, v), v, truncated);
}

//===----------------------------------------------------------------------===//
// Sections 3 and 4: scales
//===----------------------------------------------------------------------===//

Value NumericsBuilder::amaxStep(Value acc, Value x) {
  return fmax(acc, abs(x));
}

Value NumericsBuilder::outerEncodeScale(Value amax, unsigned e4m3Max) {
  return outerEncodeScaleOver(amax, 6.0f * e4m3Max);
}

Value NumericsBuilder::outerEncodeScaleOver(Value amax, float numerator) {
  Value s = fmin(div(f32(amax, numerator), amax),
                 f32Bits(amax, kFltMaxBits));
  Value zero = f32(amax, 0.0f);
  Value degenerate =
      arith::OrIOp::create(b, loc, cmpF(arith::CmpFPredicate::OEQ, amax, zero),
                           cmpF(arith::CmpFPredicate::OEQ, s, zero));
  return select(degenerate, f32(amax, 1.0f), s);
}

Value NumericsBuilder::reciprocal(Value x) { return div(f32(x, 1.0f), x); }

NumericsBuilder::BlockScale
NumericsBuilder::blockScaleReciprocal(Value blockAmax, Value sEnc,
                                      Value sDec) {
  Value fltMax = f32Bits(blockAmax, kFltMaxBits);
  Value k = mul(sEnc, f32Bits(sEnc, kRcp6Bits));
  Value sf = encodeE4M3(fmin(mul(blockAmax, k), fltMax));
  // sf == 0 gives RN(1 / 0) = +Inf, clamped to FLT_MAX: the underflow
  // corner of SPEC.md section 4 falls out of the formula.
  Value enc = fmin(reciprocal(mul(decodeScaleE4M3(sf), sDec)), fltMax);
  return {sf, enc};
}

NumericsBuilder::BlockScale
NumericsBuilder::blockScaleQuotient(Value blockAmax, Value sEncFloored) {
  Value sf = encodeE4M3(
      mul(blockAmax, mul(sEncFloored, f32Bits(sEncFloored, kRcp6Bits))));
  Value sfValue = decodeScaleE4M3(sf);
  Value zero = f32(blockAmax, 0.0f);
  Value enc = select(cmpF(arith::CmpFPredicate::OEQ, sfValue, zero), zero,
                     div(sEncFloored, sfValue));
  return {sf, enc};
}

Value NumericsBuilder::outerScaleFor(RecipeAttr recipe, Value amax) {
  // A given encode scale replaces S_enc itself, in both numerics forms
  // (SPEC.md section 3).
  if (recipe.hasGivenEncodeScale())
    return amax;
  if (recipe.getNumerics() == Numerics::Quotient)
    amax = fmax(amax, f32(amax, 1e-12f));
  if (recipe.hasGlobalScale()) {
    // FlashInfer's global scale on top of the amax: the numerator is
    // G = RN(1 / global_scale_inv) instead of 6E (one IEEE division here).
    uint32_t bits = recipe.getGlobalScaleInvBits();
    float inv;
    std::memcpy(&inv, &bits, sizeof(inv));
    return outerEncodeScaleOver(amax, 1.0f / inv);
  }
  return outerEncodeScale(amax, recipe.getE4m3Max());
}

NumericsBuilder::BlockScale
NumericsBuilder::blockScaleFor(RecipeAttr recipe, Value blockAmax,
                               Value sEnc) {
  if (recipe.getNumerics() == Numerics::Quotient)
    return blockScaleQuotient(blockAmax, sEnc);
  return blockScaleReciprocal(blockAmax, sEnc, reciprocal(sEnc));
}

SmallVector<Value, 8> NumericsBuilder::bytesOfWords(ArrayRef<Value> words) {
  assert(words.size() == 2 && "a block's codes fill two words");
  SmallVector<Value, 8> bytes;
  if (isa<VectorType>(words[0].getType())) {
    for (unsigned j = 0; j < kBlock / 2; ++j)
      bytes.push_back(arith::AndIOp::create(
          b, loc,
          arith::ShRUIOp::create(b, loc, words[j / 4],
                                 i32(words[0], 8 * (j % 4))),
          i32(words[0], 0xFF)));
    return bytes;
  }
  Value packed = vector::BitCastOp::create(
      b, loc, VectorType::get({kBlock / 2}, b.getI8Type()),
      vector::FromElementsOp::create(
          b, loc, VectorType::get({2}, b.getI32Type()), words));
  for (unsigned j = 0; j < kBlock / 2; ++j)
    bytes.push_back(arith::ExtUIOp::create(
        b, loc, b.getI32Type(),
        vector::ExtractOp::create(b, loc, packed, int64_t(j))));
  return bytes;
}

SmallVector<Value, 8> NumericsBuilder::encodeElements(ArrayRef<Value> x,
                                                      Value enc,
                                                      ArrayRef<Value> r8) {
  SmallVector<Value, kBlock> scaled;
  for (Value xi : x)
    scaled.push_back(mul(xi, enc));
  assert(x.size() == kBlock && "a block has 16 elements");
  if (r8.empty() && leaves && leaves->hasE2M1PairLeaf() &&
      !isa<VectorType>(x[0].getType())) {
    SmallVector<Value, 8> bytes;
    for (unsigned j = 0; j + 1 < scaled.size(); j += 2)
      bytes.push_back(packE2M1Pair(scaled[j], scaled[j + 1]));
    return bytes;
  }
  // Two words of eight codes: the magnitudes' nibbles, then the signs of
  // eight codes at once (e2m1SignWord: one bf16x2 min per two values on
  // GPUs instead of a min, a shift and a mask per value). A round-to-
  // nearest magnitude has a multiple of 2^23 above its code: the first
  // three codes are summed in place and their sum cut to 12 bits (one
  // mask for three, merged with the signs' OR); shifted by 12 or more
  // bits, the other codes' multiples leave the word, so they are added in
  // place unmasked (one shift-and-add each). Stochastic magnitudes are
  // exact (0..7) and need no mask. The codes' nibbles never carry into
  // each other or into the sign bits.
  auto magnitude = [&](unsigned i) {
    return r8.empty() ? encodeE2M1Magnitude(scaled[i])
                      : encodeE2M1StochasticMagnitude(scaled[i], r8[i]);
  };
  std::array<Value, 2> words;
  for (unsigned w = 0; w < 2; ++w) {
    ArrayRef<Value> eight = ArrayRef<Value>(scaled).slice(8 * w, 8);
    auto placed = [&](unsigned n) {
      return arith::ShLIOp::create(b, loc, magnitude(8 * w + n),
                                   i32(eight[n], 4 * int32_t(n)));
    };
    Value low = magnitude(8 * w);
    for (unsigned n = 1; n < 3; ++n)
      low = arith::AddIOp::create(b, loc, low, placed(n));
    if (r8.empty())
      low = arith::AndIOp::create(b, loc, low, i32(low, 0xFFF));
    Value word = arith::OrIOp::create(b, loc, low, e2m1SignWord(eight));
    for (unsigned n = 3; n < 8; ++n)
      word = arith::AddIOp::create(b, loc, word, placed(n));
    words[w] = word;
  }
  return bytesOfWords(words);
}

//===----------------------------------------------------------------------===//
// Section 8: stochastic rounding
//===----------------------------------------------------------------------===//

std::array<Value, 4> NumericsBuilder::philox(std::array<Value, 2> key,
                                             std::array<Value, 4> ctr) {
  Value m0 = i32(ctr[0], int32_t(0xD2511F53u));
  Value m1 = i32(ctr[0], int32_t(0xCD9E8D57u));
  Value w0 = i32(ctr[0], int32_t(0x9E3779B9u));
  Value w1 = i32(ctr[0], int32_t(0xBB67AE85u));
  for (unsigned round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] = arith::AddIOp::create(b, loc, key[0], w0);
      key[1] = arith::AddIOp::create(b, loc, key[1], w1);
    }
    auto p0 = arith::MulUIExtendedOp::create(b, loc, m0, ctr[0]);
    auto p1 = arith::MulUIExtendedOp::create(b, loc, m1, ctr[2]);
    auto xor3 = [&](Value a, Value c, Value d) {
      return arith::XOrIOp::create(b, loc,
                                   arith::XOrIOp::create(b, loc, a, c), d);
    };
    ctr = {xor3(p1.getHigh(), ctr[1], key[0]), p1.getLow(),
           xor3(p0.getHigh(), ctr[3], key[1]), p0.getLow()};
  }
  return ctr;
}

SmallVector<Value, kBlock>
NumericsBuilder::randomBytes(uint64_t seed, Value blockIndex,
                             unsigned stream) {
  Type i32Type = b.getI32Type();
  Value lo = arith::TruncIOp::create(b, loc, i32Type, blockIndex);
  Value hi = arith::TruncIOp::create(
      b, loc, i32Type,
      arith::ShRUIOp::create(
          b, loc, blockIndex,
          arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(32))));
  std::array<Value, 4> words =
      philox({i32(int32_t(uint32_t(seed))), i32(int32_t(uint32_t(seed >> 32)))},
             {lo, hi, i32(int32_t(stream)), i32(0)});
  SmallVector<Value, kBlock> bytes;
  for (unsigned i = 0; i < kBlock; ++i)
    bytes.push_back(arith::AndIOp::create(
        b, loc,
        arith::ShRUIOp::create(b, loc, words[i / 4], i32(int32_t(8 * (i % 4)))),
        i32(0xFF)));
  return bytes;
}

Value NumericsBuilder::encodeE2M1Stochastic(Value v, Value r8) {
  return arith::OrIOp::create(b, loc, encodeE2M1StochasticMagnitude(v, r8),
                              e2m1Sign(v, 3));
}

Value NumericsBuilder::encodeE2M1StochasticMagnitude(Value v, Value r8) {
  // SPEC.md section 8 rounds a = |v| up from the grid point lo below it to
  // the next one, g = lo + step, iff t = a + r8 * u >= g with u = step/256
  // and t exact. A binary32 add would round t (it can land on g from just
  // below it), so the decision is taken on integers: r8 is an integer, so
  // t >= g iff floor((a - lo) / u) + r8 >= 256. Below 8, u is a power of
  // two (2^-9 below 2, 2^-8 in [2, 4), 2^-7 in [4, 8)) and lo a multiple of
  // 256u, so P = floor(a / u) holds both parts: P mod 256 is that floor and
  // P / 256 is lo / step, which is lo's code below 2 and two less per
  // binade above [1, 2). The code is (P + r8) / 256 + 2 * binades.
  // fminf maps Inf, NaN and everything from 6 on to 6, where P / 256 + 4 is
  // already the top code 7 and r8 cannot carry it further.
  Type i32Type = withElement(v.getType(), b.getI32Type());
  Value a = fmin(abs(v), f32(v, 6.0f));
  // max(exponent, 127): the binade, [1, 2) standing for everything below.
  Value e = arith::MaxSIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, bitsOf(a), i32(v, 23)),
      i32(v, 127));
  // a / u = a * 2^(136 - e): scaling by a power of two is exact (subnormals
  // included), the product is below 2^12, and truncation is the floor.
  Value invU = fromBits(arith::ShLIOp::create(
      b, loc, arith::SubIOp::create(b, loc, i32(v, 263), e), i32(v, 23)));
  Value p = arith::FPToSIOp::create(b, loc, i32Type, mul(a, invU));
  // Two codes per binade above [1, 2), added as multiples of 256 so that
  // one shift ends the sum: 512 * (e - 127).
  Value binades = arith::AddIOp::create(
      b, loc, arith::ShLIOp::create(b, loc, e, i32(v, 9)), i32(v, -127 * 512));
  return arith::ShRUIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, arith::AddIOp::create(b, loc, p, r8),
                            binades),
      i32(v, 8));
}

//===----------------------------------------------------------------------===//
// Section 9: RHT
//===----------------------------------------------------------------------===//

SmallVector<Value, kBlock> NumericsBuilder::hadamardSums16(ArrayRef<Value> x,
                                                           unsigned mask) {
  assert(x.size() == kBlock && "RHT works on groups of 16");
  // The fast Walsh-Hadamard transform of t_i = s_i * x_i (docs/Rationale.md,
  // "RHT summation order"): stages h = 1, 2, 4, 8 replace each pair (i,
  // i + h) with i & h == 0 by (t_i + t_{i+h}, t_i - t_{i+h}), leaving
  // sum_i (-1)^popc(i & j) t_i in position j. 64 additions instead of 256;
  // the rounding differs from an index-order sum, so every path computes
  // this order. The sign flips are exact and no +0 seeds the sums, so a
  // zero result keeps the sign IEEE addition gives it.
  SmallVector<Value, kBlock> t;
  for (unsigned i = 0; i < kBlock; ++i)
    t.push_back(((mask >> i) & 1) ? arith::NegFOp::create(b, loc, x[i])
                                  : x[i]);
  for (unsigned h = 1; h < kBlock; h *= 2)
    for (unsigned i = 0; i < kBlock; ++i)
      if ((i & h) == 0) {
        Value sum = add(t[i], t[i + h]);
        t[i + h] = sub(t[i], t[i + h]);
        t[i] = sum;
      }
  return t;
}

SmallVector<Value, kBlock> NumericsBuilder::rht16(ArrayRef<Value> x,
                                                  unsigned mask) {
  SmallVector<Value, kBlock> y;
  for (Value v : hadamardSums16(x, mask))
    y.push_back(roundToBF16(mul(v, f32(v, 0.25f))));
  return y;
}

Value NumericsBuilder::rht16AbsMax(ArrayRef<Value> x, unsigned mask) {
  // |bf16(0.25 * t)| = bf16(0.25 * |t|), and both roundings are monotone,
  // so max_j |y_j| = bf16(0.25 * max_j |t_j|). A NaN t_j makes y_j NaN,
  // which the fold skips in both forms; with no other value both give +0.
  Value acc = f32(x[0], 0.0f);
  for (Value t : hadamardSums16(x, mask))
    acc = amaxStep(acc, t);
  return roundToBF16(mul(acc, f32(acc, 0.25f)));
}

//===----------------------------------------------------------------------===//
// Section 11: dequantization
//===----------------------------------------------------------------------===//

Value NumericsBuilder::dequantScale(Value sfByte, Value amax,
                                    unsigned e4m3Max) {
  float inv6E = 1.0f / (6.0f * float(e4m3Max));
  return mul(mul(decodeE4M3(sfByte), amax), f32(amax, inv6E));
}

Value NumericsBuilder::dequantValue(Value code, Value finalScale) {
  Value v = mul(decodeE2M1(code), finalScale);
  // A NaN (0 * Inf when the outer amax is infinite) has no payload in
  // SPEC.md; targets differ (x86 makes 0xFFC00000, NVIDIA 0x7FFFFFFF), so
  // every path writes the canonical quiet NaN and the bytes agree.
  return select(cmpF(arith::CmpFPredicate::UNO, v, v), f32Bits(v, 0x7FC00000),
                v);
}

//===----------------------------------------------------------------------===//
// Section 12: GEMM epilogue
//===----------------------------------------------------------------------===//

Value NumericsBuilder::gemmAlpha(Value amaxA, Value amaxB, unsigned e4m3MaxA,
                                 unsigned e4m3MaxB) {
  // 36 * E_A * E_B is exact in binary32 (at most 7225344 < 2^24); its
  // reciprocal is rounded once, at compile time.
  float c = 1.0f / (36.0f * float(e4m3MaxA) * float(e4m3MaxB));
  return mul(mul(amaxA, amaxB), f32(amaxA, c));
}

//===----------------------------------------------------------------------===//
// Section 10: layouts
//===----------------------------------------------------------------------===//

Value NumericsBuilder::scaleOffset(ScaleLayout layout, Value r, Value c,
                                   Value numCols) {
  auto idx = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  auto mulI = [&](Value x, Value y) {
    return arith::MulIOp::create(b, loc, x, y).getResult();
  };
  auto addI = [&](Value x, Value y) {
    return arith::AddIOp::create(b, loc, x, y).getResult();
  };
  auto divI = [&](Value x, int64_t d) {
    return arith::DivUIOp::create(b, loc, x, idx(d)).getResult();
  };
  auto remI = [&](Value x, int64_t d) {
    return arith::RemUIOp::create(b, loc, x, idx(d)).getResult();
  };
  switch (layout) {
  case ScaleLayout::Linear:
    return addI(mulI(r, numCols), c);
  case ScaleLayout::Swizzle128x4: {
    Value cp = mulI(divI(addI(numCols, idx(3)), 4), idx(4));
    Value off = mulI(divI(r, 128), mulI(idx(128), cp));
    off = addI(off, mulI(divI(c, 4), idx(512)));
    off = addI(off, mulI(remI(r, 32), idx(16)));
    off = addI(off, mulI(divI(remI(r, 128), 32), idx(4)));
    return addI(off, remI(c, 4));
  }
  case ScaleLayout::Swizzle8x4: {
    Value cp = mulI(divI(addI(numCols, idx(3)), 4), idx(4));
    Value off = mulI(divI(r, 8), mulI(divI(cp, 4), idx(32)));
    off = addI(off, mulI(divI(c, 4), idx(32)));
    off = addI(off, mulI(remI(r, 8), idx(4)));
    return addI(off, remI(c, 4));
  }
  }
  llvm_unreachable("unknown scale layout");
}
