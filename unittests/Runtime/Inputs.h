//===- Inputs.h - Random and adversarial test inputs ------------*- C++ -*-===//
//
// The input kinds every byte-equality test draws from (CPU vs reference,
// GPU vs CPU), so both comparisons cover the same corners of SPEC.md.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_UNITTESTS_RUNTIME_INPUTS_H
#define NVFP4_UNITTESTS_RUNTIME_INPUTS_H

#include "../Reference/RHTVectors.h"
#include "nvfp4/Runtime/HostRunner.h"
#include "nvfp4/Support/FloatBits.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace nvfp4 {
namespace testing {

enum class Kind {
  Normal,      // N(0, 1)
  WideRange,   // log-uniform magnitudes over 2^-40 .. 2^40
  Outliers,    // N(0, 1) plus a few columns x 1e4
  Zeros,       // all +0.0 and -0.0
  Subnormals,  // fp32 subnormals and E4M3-subnormal-range values
  Specials,    // NaN, +-Inf, FLT_MAX sprinkled over N(0, 1)
  Underflow,   // tiny blocks next to a huge amax (sf underflows to 0)
  Ties,        // multiples of 0.25 (E2M1 ties after exact scaling)
  Constant,    // one repeated value per row
  Grid,        // exact E2M1 values times powers of two
  Cancellation, // 2^-8 .. 3 * 2^26 of both signs, bf16-exact: RHT sums
                // absorb and cancel, so their order shows in the bytes
};
constexpr Kind kKinds[] = {Kind::Normal,     Kind::WideRange, Kind::Outliers,
                           Kind::Zeros,      Kind::Subnormals, Kind::Specials,
                           Kind::Underflow,  Kind::Ties,      Kind::Constant,
                           Kind::Grid,       Kind::Cancellation};

inline std::vector<float> makeInput(Kind kind, int64_t m, int64_t k,
                             std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> x(m * k);
  const float grid[] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (int64_t i = 0; i < m * k; ++i) {
    float sign = uniform(rng) < 0.5f ? -1.0f : 1.0f;
    switch (kind) {
    case Kind::Normal:
      x[i] = normal(rng);
      break;
    case Kind::WideRange:
      x[i] = sign * std::ldexp(1.0f + uniform(rng), int(uniform(rng) * 80) - 40);
      break;
    case Kind::Outliers:
      x[i] = normal(rng) * ((i % k) % 37 == 5 ? 1e4f : 1.0f);
      break;
    case Kind::Zeros:
      x[i] = sign * 0.0f;
      break;
    case Kind::Subnormals:
      x[i] = uniform(rng) < 0.5f
                 ? sign * std::ldexp(uniform(rng), -130)
                 : sign * std::ldexp(uniform(rng), -int(uniform(rng) * 12));
      break;
    case Kind::Specials: {
      float u = uniform(rng);
      const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                                std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity(),
                                std::numeric_limits<float>::max(),
                                -std::numeric_limits<float>::max()};
      x[i] = u < 0.05f ? specials[int(u * 100) % 5] : normal(rng);
      break;
    }
    case Kind::Underflow:
      x[i] = (i / 16) % 5 == 0 ? sign * 3e4f : sign * 1e-4f * uniform(rng);
      break;
    case Kind::Ties:
      x[i] = sign * 0.25f * float(int(uniform(rng) * 28));
      break;
    case Kind::Constant:
      x[i] = float(i / k % 7) - 3.0f;
      break;
    case Kind::Grid:
      x[i] = sign * std::ldexp(grid[int(uniform(rng) * 8)],
                               int(uniform(rng) * 6) - 3);
      break;
    case Kind::Cancellation: {
      const float mantissas[] = {1, 1.25f, 1.5f, 3};
      const int exponents[] = {-8, -4, 0, 1, 2, 24, 25, 26};
      x[i] = sign * std::ldexp(mantissas[int(uniform(rng) * 4)],
                               exponents[int(uniform(rng) * 8)]);
      break;
    }
    }
  }
  return x;
}

/// A 32 x k input whose columnwise RHT groups are the adversarial groups of
/// RHTVectors.h: rows 0..15 hold group `group` (negated in odd columns),
/// rows 16..31 the same group in reverse order.
inline std::vector<float> rhtAdversarialInput(int group, int64_t k) {
  std::vector<float> x(32 * k);
  for (int64_t r = 0; r < 32; ++r)
    for (int64_t c = 0; c < k; ++c) {
      int i = r < 16 ? int(r) : int(31 - r);
      float v = bitsToFloat(kRHTAdversarialX[16 * group + i]);
      x[r * k + c] = c % 2 ? -v : v;
    }
  return x;
}

/// Recipes with a transform, for rhtAdversarialInput: both directions and
/// columnwise alone, every outer group, SR, another mask and 4over6.
constexpr const char *kRHTRecipes[] = {
    "per_tensor_rht",
    "per_tensor_rht, transform = rht16<0x1234>",
    "per_token, transform = rht16, directions = [rowwise, columnwise]",
    "local_1x64, transform = rht16, directions = [columnwise]",
    "per_tensor_rht, rounding = stochastic<seed = 5>, sf_layout = 128x4",
    "four_over_six, transform = rht16, directions = [rowwise, columnwise]"};

/// Storage bytes of `x` rounded to `type`.
inline std::vector<uint8_t> toStorage(const std::vector<float> &x, ElementType type) {
  std::vector<uint8_t> bytes;
  auto put = [&](const void *p, size_t n) {
    const auto *b = static_cast<const uint8_t *>(p);
    bytes.insert(bytes.end(), b, b + n);
  };
  for (float v : x) {
    if (type == ElementType::F32) {
      put(&v, 4);
    } else {
      uint16_t h = type == ElementType::BF16 ? ::nvfp4::floatToBF16(v)
                                             : ::nvfp4::floatToF16(v);
      put(&h, 2);
    }
  }
  return bytes;
}

} // namespace testing
} // namespace nvfp4

#endif // NVFP4_UNITTESTS_RUNTIME_INPUTS_H
