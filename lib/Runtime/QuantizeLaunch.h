//===- QuantizeLaunch.h - Enqueue compiled quantize kernels -----*- C++ -*-===//
//
// The launch of a compiled quantize, amax or dequantize module, shared by
// GPURunner (host memory) and Kernel (device memory): each kernel in
// order, over the grid its `nvfp4.work` kind derives for its output
// (NVFP4KernelInterface.h). The GEMM counterpart is MatmulLaunch.h.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_LIB_RUNTIME_QUANTIZELAUNCH_H
#define NVFP4_LIB_RUNTIME_QUANTIZELAUNCH_H

#include "KernelParams.h"
#include "nvfp4/Runtime/GPURunner.h"

#include <optional>

namespace nvfp4 {
namespace detail {

/// Adds the data, scale and amax memrefs of each direction of `outputs`
/// (the quantize kernels' output operands) from `buffers[next]` on.
inline void addOutputParams(KernelParams &params, const QuantizeResult &outputs,
                            llvm::ArrayRef<CUdeviceptr> buffers,
                            unsigned next) {
  for (const std::optional<QuantizedOutput> *out :
       {&outputs.rowwise, &outputs.columnwise}) {
    if (!*out)
      continue;
    const QuantizedOutput &o = **out;
    params.addMemRef(buffers[next++], {o.rows, o.cols / 2});
    params.addMemRef(buffers[next++], o.scaleShape);
    params.addMemRef(buffers[next++], o.amaxShape);
  }
}

/// Launches the kernels of `compiled` in order on `args` (and `stream`),
/// each over the grid of its work kind for the output of its direction in
/// `outputs` (a dequantize kernel's is the matrix it reads); `groups` is
/// set for a grouped launch. A kernel whose direction `outputs` lacks, or
/// whose grid a launch cannot hold, is an error. Does not synchronize.
llvm::Error enqueueQuantizeKernels(CudaDevice &dev, CudaDevice::Module &module,
                                   const CompiledQuantize &compiled,
                                   const QuantizeResult &outputs,
                                   llvm::ArrayRef<void *> args,
                                   std::optional<int64_t> groups = std::nullopt,
                                   void *stream = nullptr);

/// Launches the kernels of a producer compilation (the producer `spec`
/// alone when `outputs` is null, else fused into the quantization into
/// `outputs`) over a rows x cols input on `buffers` in operand order
/// (producerOperands, then the quantize outputs). The producer's own
/// kernels (a thread block per row) are sized by the rows of its result,
/// also for a recipe without a rowwise output. Does not synchronize.
llvm::Error enqueueProducerKernels(CudaDevice &dev, CudaDevice::Module &module,
                                   const CompiledQuantize &compiled,
                                   const ProducerSpec &spec, int64_t rows,
                                   int64_t cols, const QuantizeResult *outputs,
                                   llvm::ArrayRef<CUdeviceptr> buffers,
                                   void *stream = nullptr);

} // namespace detail
} // namespace nvfp4

#endif // NVFP4_LIB_RUNTIME_QUANTIZELAUNCH_H
