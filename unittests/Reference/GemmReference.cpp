//===- GemmReference.cpp - Float64 GEMM reference (SPEC.md 12) ------------===//

#include "GemmReference.h"

#include <algorithm>
#include <cmath>

namespace nvfp4 {
namespace ref {

std::vector<double> widen16(const uint16_t *bits, int64_t count, bool bf16) {
  std::vector<double> out(count);
  for (int64_t i = 0; i < count; ++i) {
    uint16_t h = bits[i];
    int sign = h >> 15;
    double v;
    if (bf16) {
      int e = (h >> 7) & 0xFF, f = h & 0x7F;
      v = e == 0xFF ? (f ? NAN : INFINITY)
          : e == 0  ? std::ldexp(double(f), -133)
                    : std::ldexp(double(128 + f), e - 134);
    } else {
      int e = (h >> 10) & 0x1F, f = h & 0x3FF;
      v = e == 0x1F ? (f ? NAN : INFINITY)
          : e == 0  ? std::ldexp(double(f), -24)
                    : std::ldexp(double(1024 + f), e - 25);
    }
    out[i] = sign ? -v : v;
  }
  return out;
}

std::vector<double>
dequantizeExact(const Recipe &recipe, int64_t rows, int64_t cols,
                const uint8_t *data, const uint8_t *scale,
                const std::function<int64_t(int64_t)> &scaleRow,
                const std::function<float(int64_t, int64_t)> &amaxOf) {
  std::vector<double> out(rows * cols);
  const int64_t blocks = cols / 16;
  const double sixE = 6.0 * recipe.e4m3Max;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      uint8_t byte = data[r * (cols / 2) + c / 2];
      uint8_t code = (c % 2 == 0) ? (byte & 0xF) : (byte >> 4);
      uint8_t sf =
          scale[scaleOffset(recipe.layout, scaleRow(r), c / 16, blocks)];
      double amax = amaxOf(r, c);
      if (recipe.numerics == Numerics::Quotient)
        amax = std::fmax(amax, double(1e-12f));
      out[r * cols + c] =
          double(fromE2M1(code)) * double(fromE4M3(sf)) * amax / sixE;
    }
  }
  return out;
}

std::vector<double> dequantizeExact(const Recipe &recipe, const Quantized &q) {
  return dequantizeExact(
      recipe, q.rows, q.cols, q.data.data(), q.scale.data(),
      [](int64_t r) { return r; },
      [&](int64_t r, int64_t c) {
        switch (recipe.outer) {
        case Outer::Tensor:
          return q.amax[0];
        case Outer::Row:
          return q.amax[r];
        case Outer::Window: {
          int64_t windows = (q.cols + recipe.window - 1) / recipe.window;
          return q.amax[r * windows + c / recipe.window];
        }
        }
        return 0.0f;
      });
}

std::vector<double> gemm(const std::vector<double> &a,
                         const std::vector<double> &b, int64_t m, int64_t n,
                         int64_t k, double alpha, const float *bias) {
  std::vector<double> d(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t t = 0; t < k; ++t)
        sum += a[i * k + t] * b[j * k + t];
      d[i * n + j] = alpha * sum + (bias ? double(bias[j]) : 0.0);
    }
  return d;
}

std::vector<double> gemmAbs(const std::vector<double> &a,
                            const std::vector<double> &b, int64_t m, int64_t n,
                            int64_t k, double alpha) {
  std::vector<double> d(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t t = 0; t < k; ++t)
        sum += std::fabs(a[i * k + t] * b[j * k + t]);
      d[i * n + j] = std::fabs(alpha) * sum;
    }
  return d;
}

} // namespace ref
} // namespace nvfp4
