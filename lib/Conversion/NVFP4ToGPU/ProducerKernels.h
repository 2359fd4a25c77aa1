//===- ProducerKernels.h - RMSNorm scales in a thread block -----*- C++ -*-===//
//
// Part of nvfp4-to-gpu: the RMSNorm scale of one row computed by the 256
// threads of a thread block, in the order SPEC.md section 15 fixes (block
// partial sums, then the pairwise tree over blocks), so it equals the CPU
// loops' value bit for bit.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_CONVERSION_NVFP4TOGPU_PRODUCERKERNELS_H
#define NVFP4_CONVERSION_NVFP4TOGPU_PRODUCERKERNELS_H

#include "nvfp4/Conversion/ProducerEmitter.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir {
namespace nvfp4 {
namespace detail {

/// Most 16-blocks per row the in-block tree handles (a row of at most
/// kMaxRMSNormCols values); the runtime rejects longer rows before a
/// launch, and a kernel given one computes nothing past the bound.
constexpr int64_t kRMSNormChunks = 1024;
constexpr int64_t kMaxRMSNormCols = kRMSNormChunks * 256 * 16;

/// The RMSNorm scale of row `r` in every thread of the block (all threads
/// must call it: it has barriers). Adds its shared buffers to `kernel`.
Value emitRowInverseInBlock(LoweringBuilder &e, gpu::GPUFuncOp kernel,
                            RMSNormSource &source, float eps, Value r);

} // namespace detail
} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_CONVERSION_NVFP4TOGPU_PRODUCERKERNELS_H
