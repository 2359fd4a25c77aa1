//===- MatmulLaunch.h - Enqueue compiled GEMM kernels ------------*- C++
//-*-===//
//
// The one place that turns a GEMM's operand shapes and device addresses into
// a kernel launch: which compiled kernel serves M (`nvfp4.gemm_max_m`), its
// grid (`nvfp4.gemm_tile`, 1-D as the lowering decodes it), the cluster it
// splits K over (`nvfp4.gemm_cluster_split`, pickGemmClusterSplit) and its
// memref parameters; for a kernel that reads decoded operands
// (`nvfp4.gemm_workspace`), the gemm_decode kernels before it and the two
// workspaces, allocated and freed stream-ordered around the launches
// (planGemmLaunch). GPURunner (host-memory conveniences) and Kernel (device
// memory, a caller's stream) both launch through it.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_LIB_RUNTIME_MATMULLAUNCH_H
#define NVFP4_LIB_RUNTIME_MATMULLAUNCH_H

#include "nvfp4/Runtime/GPURunner.h"

namespace nvfp4 {
namespace detail {

/// Enqueues the kernel of the GEMM `compiled` that serves A's M on
/// `stream`. `a` and `b` give the operand shapes (their byte vectors are not
/// read); `buffers` are device addresses in operand order: a data, scale,
/// amax, b data, scale, amax, [bias when `bias`], output.
llvm::Error enqueueMatmul(CudaDevice &device, const CompiledQuantize &compiled,
                          CudaDevice::Module &module, const QuantizedOutput &a,
                          const QuantizedOutput &b, bool bias,
                          llvm::ArrayRef<CUdeviceptr> buffers, void *stream);

/// Enqueues the W4A16 GEMM `compiled` (`nvfp4.matmul_w4a16`) of an M x K
/// bf16/f16 A and B (shapes of `b`; bytes not read) on `stream`. `buffers`
/// in operand order: a, b data, scale, amax, [bias when `bias`], output.
llvm::Error enqueueMatmulW4A16(CudaDevice &device,
                               const CompiledQuantize &compiled,
                               CudaDevice::Module &module, int64_t m,
                               int64_t k, const QuantizedOutput &b, bool bias,
                               llvm::ArrayRef<CUdeviceptr> buffers,
                               void *stream);

/// Enqueues the grouped GEMM `compiled` (`nvfp4.work = "grouped_gemm"`)
/// for M rows of A in `groups` groups times G stacked N x K operands B, on
/// `stream`. `buffers` in operand order: splits, a data, scale, amax, b
/// data, scale, amax, [bias], output.
llvm::Error enqueueMatmulGrouped(
    CudaDevice &device, const CompiledQuantize &compiled,
    CudaDevice::Module &module, mlir::nvfp4::RecipeAttr aRecipe,
    mlir::nvfp4::RecipeAttr bRecipe, int64_t m, int64_t groups, int64_t n,
    int64_t k, bool bias, llvm::ArrayRef<CUdeviceptr> buffers, void *stream);

} // namespace detail
} // namespace nvfp4

#endif // NVFP4_LIB_RUNTIME_MATMULLAUNCH_H
