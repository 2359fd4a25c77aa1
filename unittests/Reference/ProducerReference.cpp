//===- ProducerReference.cpp - Producers of SPEC.md 15, scalar C++ --------===//
//
// Each statement is one binary32 operation with one rounding: the build
// compiles with -ffp-contract=off (and the pragma below for clang), and
// binary32 is evaluated in binary32 (FLT_EVAL_METHOD 0), so nothing is
// fused or widened. Constants are binary32 bit patterns, as
// docs/ProducerNumerics.md lists them.
//
//===----------------------------------------------------------------------===//

#include "ProducerReference.h"

#include <cfloat>
#include <cmath>
#include <vector>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "the reference needs binary32 arithmetic evaluated in binary32"
#endif

namespace nvfp4 {
namespace ref {
namespace {

// E: docs/ProducerNumerics.md, "E".
const uint32_t kExpCoeffs[] = {0x3F000000, 0x3E2AAAAA, 0x3D2AAA43,
                               0x3C08893F, 0x3AB6CA24, 0x394F8171};
// T: docs/ProducerNumerics.md, "T".
const uint32_t kTanhCoeffs[] = {0xBEAAAAAA, 0x3E088863, 0xBD5D04B9, 0x3CB29F12,
                                0xBC0CD911, 0x3B429FC3, 0xBA25E37E};

/// sum c[i] x^i, Horner's rule with a separate product and sum per step.
template <size_t N> float horner(const uint32_t (&c)[N], float x) {
  float p = bitsToFloat(c[N - 1]);
  for (size_t i = N - 1; i-- > 0;) {
    float px = p * x;
    p = px + bitsToFloat(c[i]);
  }
  return p;
}

} // namespace

float expF32(float x) {
  const float hi = bitsToFloat(0x42B17217); // above: e^x overflows
  const float lo = bitsToFloat(0xC2CFF1B4); // below: e^x rounds to +0
  if (std::isnan(x))
    return x;
  if (x > hi)
    return INFINITY;
  if (x < lo)
    return 0.0f;
  // n = round(x * log2(e)), ties to even, with the 1.5 * 2^23 trick.
  const float magic = 12582912.0f;
  float t = x * bitsToFloat(0x3FB8AA3B);
  float k = t + magic;
  float n = k - magic;
  int32_t ni = int32_t(floatToBits(k) - floatToBits(magic));
  // r = x - n ln 2 in two Cody-Waite steps (the first exact).
  float nHi = n * bitsToFloat(0x3F317200);
  float r1 = x - nHi;
  float nLo = n * bitsToFloat(0x35BFBE8E);
  float r = r1 - nLo;
  // e^r = 1 + (r + r^2 q(r)).
  float q = horner(kExpCoeffs, r);
  float r2 = r * r;
  float r2q = r2 * q;
  float s = r2q + r;
  float y = s + 1.0f;
  // y * 2^n1 * 2^n2 with n1 = floor(n / 2), n2 = n - n1: both powers are
  // normal floats, the first product exact.
  int32_t n1 = ni >> 1;
  int32_t n2 = ni - n1;
  float p1 = bitsToFloat(uint32_t(n1 + 127) << 23);
  float p2 = bitsToFloat(uint32_t(n2 + 127) << 23);
  float y1 = y * p1;
  return y1 * p2;
}

float tanhF32(float x) {
  if (std::isnan(x))
    return x;
  // Computed on |x|, then x's sign: odd, and T(-0) = -0.
  float a = std::fabs(x);
  float m;
  if (a < 0.75f) {
    // a + a * (a^2 P(a^2))
    float t = a * a;
    float p = horner(kTanhCoeffs, t);
    float tp = t * p;
    float atp = a * tp;
    m = a + atp;
  } else {
    // 1 - 2 / (E(2a) + 1)
    float a2 = a + a;
    float e = expF32(a2);
    float e1 = e + 1.0f;
    float q = 2.0f / e1;
    m = 1.0f - q;
  }
  return std::copysign(m, x);
}

float silu(float g) {
  float e = expF32(-g);
  float d = 1.0f + e;
  return g / d;
}

float geluTanh(float g) {
  float g2 = g * g;
  float g3 = g2 * g;
  float c = 0.044715f * g3;
  float s = g + c;
  float inner = 0.7978846f * s;
  float t = tanhF32(inner);
  float half = 0.5f * g;
  float onePlus = 1.0f + t;
  return half * onePlus;
}

float roundToStorage(float v, DType s) {
  return std::isnan(v) ? bitsToFloat(0x7FC00000) : roundTo(s, v);
}

float rmsInverse(float ss, float k, float eps) {
  float mean = ss / k;
  float shifted = mean + eps;
  float root = std::sqrt(shifted);
  return 1.0f / root;
}

void rmsNormRow(const float *x, const float *residual, const float *w,
                int64_t k, float eps, DType s, float *y, float *hOut,
                float *invOut) {
  std::vector<float> h(x, x + k);
  if (residual)
    for (int64_t i = 0; i < k; ++i) {
      float sum = x[i] + residual[i];
      h[i] = roundToStorage(sum, s);
    }
  // Per 16-block sums of squares in index order (a short last block sums
  // what it has), then the pairwise tree over the blocks.
  const int64_t blocks = (k + 15) / 16;
  std::vector<float> p(blocks, 0.0f);
  for (int64_t i = 0; i < k; ++i) {
    float sq = h[i] * h[i];
    p[i / 16] = p[i / 16] + sq;
  }
  for (int64_t stride = 1; stride < blocks; stride *= 2)
    for (int64_t b = 0; b + stride < blocks; b += 2 * stride)
      p[b] = p[b] + p[b + stride];
  float inv = rmsInverse(p[0], float(k), eps);
  for (int64_t i = 0; i < k; ++i) {
    float hn = h[i] * inv;
    float hw = hn * w[i];
    y[i] = roundToStorage(hw, s);
  }
  if (hOut)
    std::copy(h.begin(), h.end(), hOut);
  if (invOut)
    *invOut = inv;
}

void gatedActRow(const float *x, int64_t n, Activation act, DType s, float *y) {
  for (int64_t j = 0; j < n; ++j) {
    float g = x[j], u = x[n + j];
    float a = act == Activation::SiLU ? silu(g) : geluTanh(g);
    float au = a * u;
    y[j] = roundToStorage(au, s);
  }
}

} // namespace ref
} // namespace nvfp4
