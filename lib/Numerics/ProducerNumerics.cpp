//===- ProducerNumerics.cpp - SPEC.md section 15 as MLIR ------------------===//
//
// The arithmetic of the producers fused into a quantize (RMSNorm and the
// gated activations). The square root, E (e^x) and T (tanh) are fixed
// sequences of single-rounding binary32 operations and integer operations on
// bit patterns, written out in docs/ProducerNumerics.md: the CPU and every
// GPU target run the same operations and give the same bytes, with no libm,
// no `math` dialect approximation and no approximate hardware instruction.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Numerics/NumericsBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::nvfp4;

namespace {
using FP = arith::CmpFPredicate;
using IP = arith::CmpIPredicate;

constexpr uint32_t kSignBit = 0x80000000;
constexpr uint32_t kCanonicalNaN = 0x7FC00000;

/// E's range: above kExpHi, RN(e^x) overflows (e^x >= FLT_MAX + ulp/2);
/// below kExpLo, e^x < 2^-150 rounds to +0.
constexpr uint32_t kExpHi = 0x42B17217; // 88.72283172607422
constexpr uint32_t kExpLo = 0xC2CFF1B4; // -103.97207641601562
/// RN(log2(e)).
constexpr uint32_t kLog2E = 0x3FB8AA3B;
/// Cody-Waite split of ln 2: kLn2Hi has 15 significant bits, so n * kLn2Hi
/// is exact for |n| < 2^9; kLn2Lo = RN(ln 2 - kLn2Hi).
constexpr uint32_t kLn2Hi = 0x3F317200; // 0.693145751953125
constexpr uint32_t kLn2Lo = 0x35BFBE8E; // 1.4286068e-06
/// 1.5 * 2^23: RN(t + M) - M is t rounded to an integer (ties to even) for
/// |t| < 2^22, and the low bits of RN(t + M) hold that integer.
constexpr float kRoundMagic = 12582912.0f;

/// e^r = 1 + r + r^2 * q(r) on |r| <= ln(2)/2, q(r) = sum c_i r^i: the
/// fit of scripts/producer-polynomials.py (Lawson's reweighted least
/// squares towards the minimax relative error of e^r on 4000 Chebyshev
/// nodes in [-0.35, 0.35], in long double), rounded to binary32; relative
/// error 5.6e-11 before that rounding.
constexpr uint32_t kExpPoly[] = {
    0x3F000000, // 0.5
    0x3E2AAAAA, // 0.16666666
    0x3D2AAA43, // 0.041666280
    0x3C08893F, // 0.0083335033
    0x3AB6CA24, // 0.0013945741
    0x394F8171, // 0.00019789279
};

/// Below kTanhSwitch, tanh(x) = x + x^3 * P(x^2), P(t) = sum c_i t^i: the
/// same script's fit of (tanh(x) - x) / x^3 for x in [0, 0.75] (relative
/// error of tanh 8.3e-11 before rounding to binary32). At and above the
/// switch, T = 1 - 2 / (E(2|x|) + 1). Measured on every binary32 in each
/// range: that formula's cancellation costs up to 2 ulp below 0.55 (5 below
/// 0.3) and the polynomial leaves 1 ulp from 0.8 on, so the switch at 0.75
/// keeps both within 1 ulp (docs/ProducerNumerics.md).
constexpr float kTanhSwitch = 0.75f;
constexpr uint32_t kTanhPoly[] = {
    0xBEAAAAAA, // -0.33333331
    0x3E088863, // 0.13333277
    0xBD5D04B9, // -0.053959582
    0x3CB29F12, // 0.021804366
    0xBC0CD911, // -0.0085966745
    0x3B429FC3, // 0.0029697276
    0xBA25E37E, // -0.00063281495
};

/// `element` in the shape of `like` (scalar or vector).
Type shapedLike(Value like, Type element) {
  if (auto vec = dyn_cast<VectorType>(like.getType()))
    return vec.clone(element);
  return element;
}

/// sum coeffs[i] * x^i by Horner's rule, a separate multiply and add per
/// step (never an FMA).
Value horner(NumericsBuilder &m, Value x, ArrayRef<uint32_t> coeffs) {
  Value p = m.f32Bits(x, coeffs.back());
  for (uint32_t c : llvm::reverse(coeffs.drop_back()))
    p = m.add(m.mul(p, x), m.f32Bits(x, c));
  return p;
}

/// Integer arithmetic on i32 or i64 values (scalars or vectors), with
/// constants shaped like the operand.
struct IntOps {
  OpBuilder &b;
  Location loc;
  Type type;

  Value c(int64_t v) {
    auto element = cast<IntegerType>(getElementTypeOrSelf(type));
    auto attr = IntegerAttr::get(element, v);
    if (auto vec = dyn_cast<VectorType>(type))
      return arith::ConstantOp::create(b, loc, vec,
                                       DenseElementsAttr::get(vec, attr));
    return arith::ConstantOp::create(b, loc, attr);
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value shl(Value x, Value y) { return arith::ShLIOp::create(b, loc, x, y); }
  Value shrU(Value x, Value y) { return arith::ShRUIOp::create(b, loc, x, y); }
  Value shrS(Value x, Value y) { return arith::ShRSIOp::create(b, loc, x, y); }
};
} // namespace

//===----------------------------------------------------------------------===//
// Square root
//===----------------------------------------------------------------------===//

Value NumericsBuilder::sqrt(Value x) {
  // The IEEE square root from integer operations. math.sqrt is no portable
  // choice: on NVPTX, convert-gpu-to-nvvm turns it into libdevice's
  // __nv_sqrtf, which is sqrt.approx.f32 unless __CUDA_PREC_SQRT is
  // reflected on. Tiny and subnormal x are scaled by 2^64 into the normal
  // range (exact) and the result's exponent is lowered by 32.
  IntOps w{b, loc, bitsOf(x).getType()};
  IntOps d{b, loc, shapedLike(x, b.getI64Type())};
  Value tiny = cmpF(FP::OLT, x, f32Bits(x, 0x1F800000)); // 2^-64
  Value xs = select(tiny, mul(x, f32Bits(x, 0x5F800000)), x);
  Value bits = bitsOf(xs);
  // xs = mant * 2^(e - 23) with a 24-bit integer mant. n = mant << (25 +
  // (e & 1)) lies in [2^48, 2^50), and its exponent e - 48 - (e & 1) is
  // even, so sqrt(xs) = sqrt(n) * 2^((e - 48 - (e & 1)) / 2).
  Value e = w.sub(w.shrU(bits, w.c(23)), w.c(127));
  Value odd = w.andI(e, w.c(1));
  Value mant = w.orI(w.andI(bits, w.c(0x7FFFFF)), w.c(0x800000));
  Value n = d.shl(arith::ExtUIOp::create(b, loc, d.type, mant),
                  arith::ExtUIOp::create(b, loc, d.type, w.add(odd, w.c(25))));
  // Digit by digit: after 25 steps res = floor(sqrt(n)), a 25-bit integer,
  // and rem = n - res^2.
  Value rem = n, res = d.c(0);
  for (int i = 0; i < 25; ++i) {
    Value bit = d.c(int64_t(1) << (48 - 2 * i));
    Value trial = d.add(res, bit);
    Value ge = cmpI(IP::uge, rem, trial);
    rem = select(ge, d.sub(rem, trial), rem);
    Value half = d.shrU(res, d.c(1));
    res = select(ge, d.add(half, bit), half);
  }
  // The 24-bit significand q = res >> 1, rounded to nearest even on the
  // dropped bit (res & 1) and the sticky remainder. q + 1 stays below 2^24
  // since n < 2^50 - 2^26.
  Value q = d.shrU(res, d.c(1));
  Value inexact =
      arith::ExtUIOp::create(b, loc, d.type, cmpI(IP::ne, rem, d.c(0)));
  Value up = d.andI(d.andI(res, d.c(1)), d.orI(inexact, d.andI(q, d.c(1))));
  Value sig = arith::TruncIOp::create(b, loc, w.type, d.add(q, up));
  // The result is sig * 2^(half exponent + 1 - 23): its biased exponent
  // field is 24 + (e - 48 - odd) / 2 + 127, less 32 for a scaled tiny x.
  Value halfExp = w.shrS(w.sub(w.sub(e, w.c(48)), odd), w.c(1));
  Value biased =
      w.sub(w.add(halfExp, w.c(24 + 127)), select(tiny, w.c(32), w.c(0)));
  Value root =
      fromBits(w.add(w.shl(biased, w.c(23)), w.sub(sig, w.c(0x800000))));
  // +-0, +Inf and NaN are their own roots; other negatives give NaN.
  Value self = arith::OrIOp::create(
      b, loc,
      arith::OrIOp::create(b, loc, cmpF(FP::OEQ, x, f32(x, 0.0f)),
                           cmpF(FP::UNO, x, x)),
      cmpF(FP::OEQ, x, f32Bits(x, 0x7F800000)));
  Value negative = cmpF(FP::OLT, x, f32(x, 0.0f));
  return select(self, x, select(negative, f32Bits(x, kCanonicalNaN), root));
}

//===----------------------------------------------------------------------===//
// E and T
//===----------------------------------------------------------------------===//

Value NumericsBuilder::exp(Value x) {
  IntOps w{b, loc, bitsOf(x).getType()};
  Value hi = f32Bits(x, kExpHi), lo = f32Bits(x, kExpLo);
  // Clamped, n stays in [-150, 128]; outside the range the result is
  // selected below.
  Value xc = fmin(fmax(x, lo), hi);
  Value magic = f32(x, kRoundMagic);
  Value k = add(mul(xc, f32Bits(x, kLog2E)), magic);
  Value n = sub(k, magic);
  Value ni = w.sub(bitsOf(k), bitsOf(magic));
  // r = x - n ln 2: n * kLn2Hi is exact, and so is its difference with x
  // (checked for every x in [lo, hi]).
  Value r =
      sub(sub(xc, mul(n, f32Bits(x, kLn2Hi))), mul(n, f32Bits(x, kLn2Lo)));
  Value y =
      add(add(mul(mul(r, r), horner(*this, r, kExpPoly)), r), f32(x, 1.0f));
  // y * 2^n in two exact-exponent steps, 2^(n >> 1) then 2^(n - (n >> 1)):
  // both factors are normal for every n in range, the first product is
  // exact (y is near 1), so the result is rounded once, also where it is
  // subnormal or overflows.
  Value n1 = w.shrS(ni, w.c(1));
  Value n2 = w.sub(ni, n1);
  auto pow2 = [&](Value e) {
    return fromBits(w.shl(w.add(e, w.c(127)), w.c(23)));
  };
  Value scaled = mul(mul(y, pow2(n1)), pow2(n2));
  Value result = select(cmpF(FP::OGT, x, hi), f32Bits(x, 0x7F800000),
                        select(cmpF(FP::OLT, x, lo), f32(x, 0.0f), scaled));
  return select(cmpF(FP::UNO, x, x), x, result);
}

Value NumericsBuilder::tanh(Value x) {
  // T is computed on |x| and takes x's sign bit, so it is odd and
  // T(-0) = -0.
  IntOps w{b, loc, bitsOf(x).getType()};
  Value a = abs(x);
  // Small |x|: a + a * (a^2 * P(a^2)). For |x| below 2^-12 the correction
  // is under half an ulp (and 0 for subnormals, whose square underflows),
  // so T(x) = x there.
  Value t = mul(a, a);
  Value small = add(a, mul(a, mul(t, horner(*this, t, kTanhPoly))));
  // Large |x|: 1 - 2 / (E(2|x|) + 1); E overflows to +Inf from |x| = 44.4
  // on, and 1 - 0 = 1 (already the result from 9.01 on).
  Value large =
      sub(f32(x, 1.0f), div(f32(x, 2.0f), add(exp(add(a, a)), f32(x, 1.0f))));
  Value magnitude = select(cmpF(FP::OLT, a, f32(x, kTanhSwitch)), small, large);
  Value result = fromBits(
      w.orI(bitsOf(magnitude), w.andI(bitsOf(x), w.c(int32_t(kSignBit)))));
  return select(cmpF(FP::UNO, x, x), x, result);
}

//===----------------------------------------------------------------------===//
// Section 15: producers
//===----------------------------------------------------------------------===//

Value NumericsBuilder::gatedActivation(GatedActivation act, Value g) {
  Value one = f32(g, 1.0f);
  switch (act) {
  case GatedActivation::SiLU:
    return div(g, add(one, exp(arith::NegFOp::create(b, loc, g))));
  case GatedActivation::GeluTanh: {
    // The constants are the binary32 values nearest to the decimals SPEC.md
    // writes.
    Value cube = mul(mul(g, g), g);
    Value inner = mul(f32(g, 0.7978846f), add(g, mul(f32(g, 0.044715f), cube)));
    return mul(mul(f32(g, 0.5f), g), add(one, tanh(inner)));
  }
  }
  llvm_unreachable("unknown gated activation");
}

Value NumericsBuilder::roundToStorage(Value v, Type s) {
  Value rounded = v;
  if (s.isBF16()) {
    rounded = roundToBF16(v);
  } else if (s.isF16()) {
    // truncf rounds to nearest even, subnormals included (cvt.rn.f16.f32
    // on NVPTX); the widening is exact.
    Value narrow = arith::TruncFOp::create(b, loc, shapedLike(v, s), v);
    rounded = arith::ExtFOp::create(b, loc, v.getType(), narrow);
  } else {
    assert(s.isF32() && "storage type must be bf16, f16 or f32");
  }
  return select(cmpF(FP::UNO, v, v), f32Bits(v, kCanonicalNaN), rounded);
}

Value NumericsBuilder::sumSquaresStep(Value acc, Value h) {
  return add(acc, mul(h, h));
}

Value NumericsBuilder::rmsInverse(Value ss, Value kF32, float eps) {
  return div(f32(ss, 1.0f), sqrt(add(div(ss, kF32), f32(ss, eps))));
}
