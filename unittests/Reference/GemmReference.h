//===- GemmReference.h - Float64 GEMM reference (SPEC.md 12) ----*- C++ -*-===//
//
// The reference GEMM outputs are compared with: operands dequantized
// exactly in float64 (e2m1 * E4M3 scale * amax / 6E, no rounding at all),
// then multiplied and summed in float64. Independent of the compiler: it
// reads the stored bytes with the scalar reference's decoders only.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_UNITTESTS_REFERENCE_GEMMREFERENCE_H
#define NVFP4_UNITTESTS_REFERENCE_GEMMREFERENCE_H

#include "NVFP4Reference.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace nvfp4 {
namespace ref {

/// The exact value of every element of a `rows x cols` NVFP4 tensor
/// quantized along `cols`: `data` packs its codes (SPEC.md section 1),
/// `scale` holds its E4M3 bytes in `layout` with `scaleRow(r)` the scale
/// row of data row r (r itself, or a grouped tensor's shifted row), and
/// `amaxOf(r, c)` is the raw outer amax of element (r, c). The quotient
/// form reads fmaxf(amax, 1e-12), as it encoded.
std::vector<double>
dequantizeExact(const Recipe &recipe, int64_t rows, int64_t cols,
                const uint8_t *data, const uint8_t *scale,
                const std::function<int64_t(int64_t)> &scaleRow,
                const std::function<float(int64_t, int64_t)> &amaxOf);

/// The same for an ungrouped rowwise output of quantize().
std::vector<double> dequantizeExact(const Recipe &recipe, const Quantized &q);

/// The exact values of `count` bf16 (`bf16`) or f16 bit patterns: the A
/// of a W4A16 GEMM, used as given (NaN, +-Inf and -0 included).
std::vector<double> widen16(const uint16_t *bits, int64_t count, bool bf16);

/// `D = alpha * A * B^T + bias` in float64 for row-major A (m x k) and B
/// (n x k); `bias` is null or n values.
std::vector<double> gemm(const std::vector<double> &a,
                         const std::vector<double> &b, int64_t m, int64_t n,
                         int64_t k, double alpha, const float *bias);

/// `sum_k |A[i,k] * B[j,k]| * |alpha|`: the scale of the rounding error an
/// FP32 accumulation of element (i, j) may carry.
std::vector<double> gemmAbs(const std::vector<double> &a,
                            const std::vector<double> &b, int64_t m, int64_t n,
                            int64_t k, double alpha);

} // namespace ref
} // namespace nvfp4

#endif // NVFP4_UNITTESTS_REFERENCE_GEMMREFERENCE_H
