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
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir {
namespace nvfp4 {
namespace detail {

/// Chunks of 256 16-blocks the in-block tree holds: rows of
/// kMaxRMSNormCols values (NVFP4KernelInterface.h, which runtimes check
/// before a launch); a kernel given a longer row computes nothing past it.
constexpr int64_t kRMSNormChunks = 1024;
static_assert(kRMSNormChunks * 256 * 16 == kMaxRMSNormCols,
              "the tree holds exactly the rows the interface admits");

/// The RMSNorm scale of row `r` in every thread of the block (all threads
/// must call it: it has barriers), stored once to `rstd[r]`. Adds its
/// shared buffers to `kernel`.
Value emitRowInverseInBlock(LoweringBuilder &e, gpu::GPUFuncOp kernel,
                            RMSNormSource &source, float eps, Value r,
                            Value rstd);

} // namespace detail
} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_CONVERSION_NVFP4TOGPU_PRODUCERKERNELS_H
