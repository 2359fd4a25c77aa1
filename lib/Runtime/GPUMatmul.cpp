//===- GPUMatmul.cpp - NVFP4 GEMMs on the GPU -----------------------------===//
//
// Compiles the module of buildMatmulModule through nvfp4-to-ptx and runs
// it: the host picks the kernel configuration by M (`nvfp4.gemm_max_m`),
// as the lowered host code would.
//
//===----------------------------------------------------------------------===//

#include "Errors.h"
#include "MatmulLaunch.h"
#include "nvfp4/Runtime/GPUQuantize.h"
#include "nvfp4/Runtime/Matmul.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::nvfp4;

namespace nvfp4 {
using detail::makeError;

llvm::Expected<const CompiledQuantize *>
GPURunner::compileMatmul(RecipeAttr aRecipe, RecipeAttr bRecipe,
                         const MatmulOptions &options, StringRef format) {
  bool bias = options.bias.has_value();
  std::string key;
  llvm::raw_string_ostream os(key);
  os << "matmul " << aRecipe << " " << bRecipe << " " << int(options.out)
     << " " << bias << " " << llvm::format("%a", double(options.alpha));
  return compileCached(key, format, [&] {
    auto [aRank, bRank] = matmulAmaxRanks(aRecipe, bRecipe, false);
    return buildMatmulModule(getContext(), aRecipe, bRecipe, options.out, bias,
                             /*grouped=*/false, aRank, bRank, options.alpha);
  });
}

namespace {
/// One operand as the kernel sees it: device pointers and shapes.
struct OperandView {
  CUdeviceptr data, scale, amax;
  int64_t rows, cols;
  SmallVector<int64_t, 2> scaleShape, amaxShape;
};

OperandView viewOf(const QuantizedOutput &q, CUdeviceptr data,
                   CUdeviceptr scale, CUdeviceptr amax) {
  return {data,   scale,        amax,          q.rows,
          q.cols, q.scaleShape, q.amaxShape};
}

/// Launches the kernel of `compiled` that serves M on the views.
llvm::Error launchViews(CudaDevice &d, const CompiledQuantize &compiled,
                        CudaDevice::Module &module, const OperandView &a,
                        const OperandView &b, CUdeviceptr bias,
                        CUdeviceptr out, void *stream = nullptr) {
  auto shape = [](const OperandView &v) {
    QuantizedOutput q;
    q.rows = v.rows;
    q.cols = v.cols;
    q.scaleShape = v.scaleShape;
    q.amaxShape = v.amaxShape;
    return q;
  };
  SmallVector<CUdeviceptr, 8> buffers{a.data, a.scale, a.amax,
                                      b.data, b.scale, b.amax};
  if (bias)
    buffers.push_back(bias);
  buffers.push_back(out);
  return detail::enqueueMatmul(d, compiled, module, shape(a), shape(b),
                               bias != 0, buffers, stream);
}

/// Host buffers copied to fresh device buffers, freed with the object.
class DeviceBuffers {
public:
  explicit DeviceBuffers(CudaDevice &d) : d(d) {}
  ~DeviceBuffers() {
    for (CUdeviceptr p : ptrs)
      llvm::consumeError(d.free(p));
  }
  /// A device copy of `bytes` bytes at `host` (uninitialised when null).
  llvm::Expected<CUdeviceptr> add(const void *host, size_t bytes) {
    auto ptr = d.alloc(std::max<size_t>(bytes, 1));
    if (!ptr)
      return ptr.takeError();
    ptrs.push_back(*ptr);
    if (host && bytes)
      if (llvm::Error e = d.copyToDevice(*ptr, host, bytes))
        return std::move(e);
    return *ptr;
  }
  llvm::Expected<OperandView> add(const QuantizedOutput &q) {
    auto data = add(q.data.data(), q.data.size());
    if (!data)
      return data.takeError();
    auto scale = add(q.scale.data(), q.scale.size());
    if (!scale)
      return scale.takeError();
    auto amax = add(q.amax.data(), q.amax.size() * 4);
    if (!amax)
      return amax.takeError();
    return viewOf(q, *data, *scale, *amax);
  }

private:
  CudaDevice &d;
  SmallVector<CUdeviceptr> ptrs;
};

/// Puts A, the bias and an M x N output in device memory, runs `launch`
/// (which enqueues kernels on A's view, the bias and the output, adding
/// buffers of its own), waits and returns the output.
llvm::Expected<std::vector<uint8_t>> runOnDevice(
    CudaDevice &d, const QuantizedOutput &a, int64_t n,
    const MatmulOptions &options,
    llvm::function_ref<llvm::Error(DeviceBuffers &, const OperandView &,
                                   CUdeviceptr, CUdeviceptr)>
        launch) {
  std::vector<uint8_t> out(size_t(a.rows * n) * elementSize(options.out));
  DeviceBuffers buffers(d);
  auto aView = buffers.add(a);
  if (!aView)
    return aView.takeError();
  CUdeviceptr bias = 0;
  if (options.bias) {
    auto ptr = buffers.add(options.bias->data(), options.bias->size() * 4);
    if (!ptr)
      return ptr.takeError();
    bias = *ptr;
  }
  auto outPtr = buffers.add(nullptr, out.size());
  if (!outPtr)
    return outPtr.takeError();
  if (llvm::Error e = launch(buffers, *aView, bias, *outPtr))
    return std::move(e);
  if (llvm::Error e = d.synchronize())
    return std::move(e);
  if (llvm::Error e = d.copyToHost(out.data(), *outPtr, out.size()))
    return std::move(e);
  return out;
}
} // namespace

llvm::Error GPURunner::launchMatmul(const CompiledQuantize &compiled,
                                    CudaDevice::Module &module,
                                    const QuantizedOutput &a,
                                    const QuantizedOutput &b, bool bias,
                                    ArrayRef<CUdeviceptr> buffers,
                                    void *stream) {
  auto dev = device();
  if (!dev)
    return dev.takeError();
  return detail::enqueueMatmul(**dev, compiled, module, a, b, bias, buffers,
                               stream);
}

llvm::Expected<std::vector<uint8_t>>
GPURunner::matmul(RecipeAttr aRecipe, const QuantizedOutput &a,
                  RecipeAttr bRecipe, const QuantizedOutput &b,
                  const MatmulOptions &options) {
  if (llvm::Error e = checkMatmulOperands(aRecipe, a, bRecipe, b, options,
                                          std::nullopt))
    return std::move(e);
  auto compiled = compileMatmul(aRecipe, bRecipe, options);
  if (!compiled)
    return compiled.takeError();
  auto dev = device();
  if (!dev)
    return dev.takeError();
  CudaDevice &d = **dev;
  auto module = load(**compiled);
  if (!module)
    return module.takeError();

  return runOnDevice(
      d, a, b.rows, options,
      [&](DeviceBuffers &buffers, const OperandView &aView, CUdeviceptr bias,
          CUdeviceptr out) -> llvm::Error {
        auto bView = buffers.add(b);
        if (!bView)
          return bView.takeError();
        return launchViews(d, **compiled, **module, aView, *bView, bias, out);
      });
}

} // namespace nvfp4
