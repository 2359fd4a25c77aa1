//===- FloatBits.h - Exact host conversions to 16-bit floats -----*- C++ -*-===//
//
// Round-to-nearest-even conversions between binary32 and bf16/fp16 bit
// patterns, done on the bits so they are exact, fast and independent of
// the host compiler's 16-bit float support. Used to round inputs to their
// storage dtype (SPEC.md section 3) before they reach a kernel.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_SUPPORT_FLOATBITS_H
#define NVFP4_SUPPORT_FLOATBITS_H

#include <cstdint>
#include <cstring>

namespace nvfp4 {

inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}
inline float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

/// f32 -> bf16 bits, RNE; NaN stays a (quiet) NaN.
inline uint16_t floatToBF16(float f) {
  uint32_t u = floatBits(f);
  if ((u & 0x7FFFFFFF) > 0x7F800000)
    return uint16_t((u >> 16) | 0x40);
  u += 0x7FFF + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}
inline float bf16ToFloat(uint16_t h) { return bitsToFloat(uint32_t(h) << 16); }

/// f32 -> fp16 bits, RNE; overflow -> Inf; NaN stays a (quiet) NaN.
inline uint16_t floatToF16(float f) {
  uint32_t u = floatBits(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  uint32_t a = u & 0x7FFFFFFF;
  if (a > 0x7F800000)
    return sign | 0x7E00;
  if (a < 0x38800000) {
    // Below 2^-14: an fp16 subnormal, a multiple of 2^-24. Scaling by 2^24
    // is exact; adding and removing 2^23 rounds to an integer, ties even.
    volatile float scaled = bitsToFloat(a) * 16777216.0f;
    volatile float rounded = (scaled + 8388608.0f) - 8388608.0f;
    return sign | uint16_t(rounded);
  }
  // Rebias the exponent from 127 to 15 and round 23 mantissa bits to 10.
  uint32_t r = a - ((127 - 15) << 23);
  r += 0xFFF + ((r >> 13) & 1);
  uint32_t h = r >> 13;
  return sign | uint16_t(h >= 0x7C00 ? 0x7C00 : h);
}

/// fp16 bits -> f32, exact.
inline float f16ToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t e = (h >> 10) & 0x1F, m = h & 0x3FF;
  if (e == 0) {
    float v = float(m) * 5.9604644775390625e-8f; // m * 2^-24, exact
    return (sign ? -v : v);
  }
  if (e == 0x1F)
    return bitsToFloat(sign | 0x7F800000 | (m << 13));
  return bitsToFloat(sign | ((e + 112) << 23) | (m << 13));
}

} // namespace nvfp4

#endif // NVFP4_SUPPORT_FLOATBITS_H
