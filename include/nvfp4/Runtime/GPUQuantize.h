//===- GPUQuantize.h - Compile recipes to cubins and run them ----*- C++ -*-===//
//
// Compiles a recipe through `nvfp4-to-ptx` (in process; ptxas through
// gpu-module-to-binary) and runs its kernels through the CUDA driver API.
// Compilation needs no GPU; running needs one and reports its absence as
// an error.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_RUNTIME_GPUQUANTIZE_H
#define NVFP4_RUNTIME_GPUQUANTIZE_H

#include "nvfp4/Runtime/CudaDriver.h"
#include "nvfp4/Runtime/HostQuantize.h"

#include <string>
#include <vector>

namespace nvfp4 {

/// One kernel of a compiled quantization, in launch order.
struct KernelInfo {
  std::string name;
  std::string work; ///< nvfp4.work: one, rows, row_ctas, windows, ...
  bool columnwise = false;
};

/// A recipe compiled for one GPU target.
struct CompiledQuantize {
  std::vector<char> image; ///< cubin (format bin) or PTX (isa)
  std::vector<KernelInfo> kernels;
};

/// The number of threads kernel `k` runs for the direction described by
/// `o` (its nvfp4.work kind); an unknown kind is an error. Every launcher
/// sizes its grid with this.
llvm::Expected<int64_t> kernelWorkItems(const KernelInfo &k,
                                        const QuantizedOutput &o);

/// Threads per block; nvfp4-to-gpu marks every kernel with this size.
constexpr int64_t kKernelBlockThreads = 256;

class GPURunner {
public:
  /// A runner for `chip` (sm_90a, sm_100a, ...); `toolkit` holds ptxas.
  static llvm::Expected<std::unique_ptr<GPURunner>>
  create(llvm::StringRef chip, llvm::StringRef toolkit = "/usr/local/cuda");
  ~GPURunner();

  mlir::MLIRContext &getContext();

  /// Compiles `recipe` for the runner's chip (`format`: bin or isa).
  /// Cached per (recipe, type, format). Needs no GPU.
  llvm::Expected<const CompiledQuantize *>
  compile(mlir::nvfp4::RecipeAttr recipe, ElementType type,
          llvm::StringRef format = "bin");

  /// Quantizes host data on the GPU (copies in, launches, copies out). The
  /// device is opened on first use; no driver or device is an error.
  llvm::Expected<QuantizeResult> quantize(mlir::nvfp4::RecipeAttr recipe,
                                          ElementType type, const void *input,
                                          int64_t rows, int64_t cols);

  /// Enqueues the kernels of `compiled` on device buffers given in operand
  /// order (input, then data, scale and amax per direction) whose shapes
  /// are `outputs`' (from allocateOutputs). Does not synchronize.
  llvm::Error launch(const CompiledQuantize &compiled, CudaDevice::Module &module,
                     int64_t rows, int64_t cols, const QuantizeResult &outputs,
                     llvm::ArrayRef<CUdeviceptr> buffers);

  /// The device, opening it if needed.
  llvm::Expected<CudaDevice *> device();

private:
  GPURunner();
  struct Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace nvfp4

#endif // NVFP4_RUNTIME_GPUQUANTIZE_H
