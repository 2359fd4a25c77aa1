//===- MatmulToGPU.h - nvfp4.matmul to GPU kernels --------------*- C++ -*-===//
//
// Part of nvfp4-to-gpu: the GEMM kernels, kept apart from the quantization
// kernels because they share only the numerics builder.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_CONVERSION_NVFP4TOGPU_MATMULTOGPU_H
#define NVFP4_CONVERSION_NVFP4TOGPU_MATMULTOGPU_H

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Numerics/NumericsBuilder.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir {
namespace nvfp4 {
namespace detail {

/// Adds the kernels of `op` to `module` (named after `prefix`) and inserts
/// their launches before `op`, which the caller erases. Kernels carry
/// `nvfp4.work = "gemm"`, `nvfp4.gemm_tile = [tileM, tileN]` (a 1-D grid
/// of ceil(M / tileM) * ceil(N / tileN) blocks) and `nvfp4.gemm_max_m` (the kernel
/// serves M <= max_m; 0: any M; the first match in launch order wins).
LogicalResult buildMatmulKernels(MatmulOp op, gpu::GPUModuleOp module,
                                 StringRef prefix, TargetLeaves &leaves);

} // namespace detail
} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_CONVERSION_NVFP4TOGPU_MATMULTOGPU_H
