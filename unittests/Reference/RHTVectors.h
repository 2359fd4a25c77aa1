//===- RHTVectors.h - RHT groups that show the sum order --------*- C++ -*-===//
//
// Five 16-element groups (bf16 values, as binary32 bits) whose transform
// with the sign mask 0xD7E8 differs between an index-order sum from +0 and
// the butterfly of docs/Rationale.md ("RHT summation order"), and the
// butterfly's outputs. They were computed by a separate model of the
// butterfly (numpy binary32, outside the project) and are shared by the
// reference's and the numerics builder's tests, so both are held to the
// same bytes:
//   0  exponent spread and cancellation: terms of 3 * 2^24 (ulp 4) absorb
//      the small ones in one order and not in the other (8 outputs differ);
//   1  all -0.0: the butterfly gives +0.0 except y_14 = -0.0 (an
//      index-order sum from +0 gives +0.0 throughout);
//   2  fp32 subnormals next to 2^-110 (0.25 * y rounds in the subnormal
//      range; 2 outputs differ);
//   3  finite values near the bf16 maximum: one order overflows to -Inf
//      where the other cancels first or meets -Inf + Inf = NaN (14 differ);
//   4  -Inf among finite values: -Inf or NaN depending on the order
//      (12 differ).
// A NaN output is listed as 0x7FC00000 and compared as "is a NaN": its
// payload is the target's (SPEC.md gives NaN none).
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_UNITTESTS_REFERENCE_RHTVECTORS_H
#define NVFP4_UNITTESTS_REFERENCE_RHTVECTORS_H

#include <cstdint>

namespace nvfp4 {
namespace testing {

constexpr int kRHTGroups = 5;
constexpr uint16_t kRHTMask = 0xD7E8;

/// The inputs x, group g at [16g, 16g + 16).
constexpr uint32_t kRHTAdversarialX[kRHTGroups * 16] = {
    0xBBA00000u, 0x41400000u, 0xBBA00000u, 0x3DC00000u,
    0x4C400000u, 0xC0A00000u, 0x40200000u, 0xC0400000u,
    0x3DA00000u, 0xC0800000u, 0x40A00000u, 0x3D800000u,
    0xBE400000u, 0x4C400000u, 0xC0000000u, 0x3DA00000u,
    0x80000000u, 0x80000000u, 0x80000000u, 0x80000000u,
    0x80000000u, 0x80000000u, 0x80000000u, 0x80000000u,
    0x80000000u, 0x80000000u, 0x80000000u, 0x80000000u,
    0x80000000u, 0x80000000u, 0x80000000u, 0x80000000u,
    0x00640000u, 0x00FF0000u, 0x88800000u, 0x88800000u,
    0x01000000u, 0x80050000u, 0x80030000u, 0x04800000u,
    0x00800000u, 0x88800000u, 0x00050000u, 0x08800000u,
    0x84800000u, 0x01000000u, 0x00640000u, 0x01000000u,
    0xFF7F0000u, 0xFEFF0000u, 0xF1800000u, 0x71800000u,
    0xFEFF0000u, 0xF1800000u, 0xFF7F0000u, 0xFF7F0000u,
    0xFF3F0000u, 0xFF3F0000u, 0xFF7F0000u, 0x7F7F0000u,
    0xF1800000u, 0xBF800000u, 0xFEFF0000u, 0xFEFF0000u,
    0xFF800000u, 0x7F7F0000u, 0xBF800000u, 0x7F7F0000u,
    0xFF7F0000u, 0x7F7F0000u, 0xBF800000u, 0xBF800000u,
    0xFF7F0000u, 0xFF7F0000u, 0xFF7F0000u, 0xFF7F0000u,
    0xFF7F0000u, 0x3F800000u, 0xFF7F0000u, 0x7F7F0000u,
};

/// The butterfly's y = bf16(0.25 * H16 S x) of each group.
constexpr uint32_t kRHTAdversarialY[kRHTGroups * 16] = {
    0x4BC00000u, 0xC0C00000u, 0x4BC00000u, 0xC0800000u,
    0xCBC00000u, 0xC0800000u, 0xCBC00000u, 0xC0000000u,
    0x40800000u, 0x4BC00000u, 0x40000000u, 0x4BC00000u,
    0x40000000u, 0xCBC00000u, 0x00000000u, 0xCBC00000u,
    0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
    0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
    0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
    0x00000000u, 0x00000000u, 0x80000000u, 0x00000000u,
    0x08000000u, 0x88800000u, 0x04020000u, 0x08000000u,
    0x08000000u, 0x88800000u, 0x84010000u, 0x08000000u,
    0x88000000u, 0x00520000u, 0x001F0000u, 0x07FF0000u,
    0x87FF0000u, 0x805E0000u, 0x00D00000u, 0x08000000u,
    0x7FC00000u, 0xFE7F0000u, 0x7FC00000u, 0xFE7F0000u,
    0x7FC00000u, 0xF0800000u, 0x7FC00000u, 0xF0800000u,
    0x7FC00000u, 0xFE7F0000u, 0x7FC00000u, 0xFE7F0000u,
    0xFF800000u, 0x70800000u, 0x7FC00000u, 0x70800000u,
    0x7FC00000u, 0x7FC00000u, 0x7FC00000u, 0xFF800000u,
    0x7FC00000u, 0x7FC00000u, 0x7FC00000u, 0x7FC00000u,
    0xFF800000u, 0xFF800000u, 0xFF800000u, 0x7FC00000u,
    0x7FC00000u, 0x7FC00000u, 0x7FC00000u, 0x7FC00000u,
};

} // namespace testing
} // namespace nvfp4

#endif // NVFP4_UNITTESTS_REFERENCE_RHTVECTORS_H
