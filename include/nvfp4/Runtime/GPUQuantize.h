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

#include "llvm/ADT/STLFunctionalExtras.h"

#include <string>
#include <vector>

namespace nvfp4 {

struct MatmulOptions;

/// One kernel of a compiled quantization, in launch order.
struct KernelInfo {
  std::string name;
  std::string work; ///< nvfp4.work: one, rows, row_ctas, windows, gemm, ...
  bool columnwise = false;
  int64_t threads = 0;          ///< threads per block (known block size)
  int64_t tileM = 0, tileN = 0; ///< gemm: the block's tile of D
  int64_t maxM = 0;             ///< gemm: serves M <= maxM (0: any M)
};

/// A recipe compiled for one GPU target.
struct CompiledQuantize {
  std::vector<char> image; ///< cubin (format bin) or PTX (isa)
  std::vector<KernelInfo> kernels;
};

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

  /// Lowers the module `build` returns through nvfp4-to-ptx once per
  /// (`key`, `format`) and returns the image and its kernels in launch
  /// order. For every kind of kernel module (quantize, matmul, ...).
  llvm::Expected<const CompiledQuantize *>
  compileCached(llvm::StringRef key, llvm::StringRef format,
                llvm::function_ref<mlir::OwningOpRef<mlir::ModuleOp>()> build);

  /// `compiled` loaded on the device (once per runner).
  llvm::Expected<CudaDevice::Module *>
  loadedModule(const CompiledQuantize &compiled);

  /// D = A * B^T on the GPU (`nvfp4.matmul`): the GPU twin of
  /// HostRunner::matmul, same arguments and checks (GPUMatmul.cpp).
  llvm::Expected<std::vector<uint8_t>>
  matmul(mlir::nvfp4::RecipeAttr aRecipe, const QuantizedOutput &a,
         mlir::nvfp4::RecipeAttr bRecipe, const QuantizedOutput &b,
         const MatmulOptions &options);

  /// The grouped (MoE) GEMM on the GPU: the twin of
  /// HostRunner::matmulGrouped (same arguments and checks). Each non-empty
  /// group is one launch of the plain GEMM kernel on views of its rows;
  /// empty groups launch nothing.
  llvm::Expected<std::vector<uint8_t>>
  matmulGrouped(mlir::nvfp4::RecipeAttr aRecipe, const QuantizedOutput &a,
                llvm::ArrayRef<int64_t> splits,
                mlir::nvfp4::RecipeAttr bRecipe,
                llvm::ArrayRef<QuantizedOutput> b,
                const MatmulOptions &options);

  /// Compiles the GEMM of these recipes (cubin). Needs no GPU.
  llvm::Expected<const CompiledQuantize *>
  compileMatmul(mlir::nvfp4::RecipeAttr aRecipe,
                mlir::nvfp4::RecipeAttr bRecipe, const MatmulOptions &options,
                llvm::StringRef format = "bin");

  /// Enqueues a compiled GEMM on device buffers in operand order (a data,
  /// scale, amax, b data, scale, amax, [bias], output); the shapes are
  /// those of `a` and `b` (`N` rows of B). Does not synchronize.
  llvm::Error launchMatmul(const CompiledQuantize &compiled,
                           CudaDevice::Module &module,
                           const QuantizedOutput &a, const QuantizedOutput &b,
                           bool bias, llvm::ArrayRef<CUdeviceptr> buffers);

private:
  GPURunner();
  struct Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace nvfp4

#endif // NVFP4_RUNTIME_GPUQUANTIZE_H
