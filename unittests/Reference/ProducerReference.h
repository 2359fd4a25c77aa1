//===- ProducerReference.h - SPEC.md 15 producers, scalar C++ ---*- C++ -*-===//
//
// The producers fused into a quantize (RMSNorm, SiLU and GELU-tanh gated
// activations) written from SPEC.md section 15 and docs/ProducerNumerics.md
// as plain binary32 C++, one rounding per statement (the build passes
// -ffp-contract=off). Shares no code with the compiler: the tests compare
// the numerics builder's sequences with these bit for bit, and these with
// float64.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_UNITTESTS_REFERENCE_PRODUCERREFERENCE_H
#define NVFP4_UNITTESTS_REFERENCE_PRODUCERREFERENCE_H

#include "NVFP4Reference.h"

#include <cstdint>

namespace nvfp4 {
namespace ref {

/// The activation of a gated producer.
enum class Activation { SiLU, GeluTanh };

/// E(x): e^x by the project's binary32 sequence (docs/ProducerNumerics.md).
float expF32(float x);
/// T(x): tanh(x) by the project's binary32 sequence.
float tanhF32(float x);
/// silu(g) = RN(g / RN(1 + E(-g))).
float silu(float g);
/// gelu_tanh(g) of SPEC.md section 15.
float geluTanh(float g);
/// RN_s(v): `v` rounded to the nearest value of `s` (ties to even), as
/// binary32; every NaN becomes the canonical quiet NaN 0x7FC00000.
float roundToStorage(float v, DType s);
/// RN(1 / RN(sqrt(RN(RN(ss / k) + eps)))) with the IEEE square root.
float rmsInverse(float ss, float k, float eps);

/// RMSNorm of one row of `k` values of storage type `s` (SPEC.md section
/// 15): `x`, `w` and `residual` (null for none) hold values of `s` widened
/// to binary32. Writes the k outputs `y` (values of `s`), the k values of h
/// to `hOut` unless it is null (the new residual where there is one) and
/// the row's inverse RMS to `invOut` unless it is null.
void rmsNormRow(const float *x, const float *residual, const float *w,
                int64_t k, float eps, DType s, float *y, float *hOut,
                float *invOut);

/// One row of a gated activation: `x` holds 2n values of storage type `s`,
/// the gate g = x[0, n) then the up half u = x[n, 2n); writes the n values
/// y_j = RN_s(RN(act(g_j) * u_j)).
void gatedActRow(const float *x, int64_t n, Activation act, DType s, float *y);

} // namespace ref
} // namespace nvfp4

#endif // NVFP4_UNITTESTS_REFERENCE_PRODUCERREFERENCE_H
