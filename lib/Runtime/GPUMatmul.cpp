//===- GPUMatmul.cpp - NVFP4 GEMMs on the GPU -----------------------------===//
//
// Compiles the module of buildMatmulModule through nvfp4-to-ptx and runs
// it: the host picks the kernel configuration by M (`nvfp4.gemm_max_m`),
// as the lowered host code would.
//
//===----------------------------------------------------------------------===//

#include "Errors.h"
#include "KernelParams.h"
#include "nvfp4/Runtime/GPUQuantize.h"
#include "nvfp4/Runtime/Matmul.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::nvfp4;

namespace nvfp4 {
using detail::KernelParams;
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

/// Launches the kernel of `compiled` that serves M (the first whose
/// `nvfp4.gemm_max_m` admits it, as the lowered host code picks).
llvm::Error launchViews(CudaDevice &d, const CompiledQuantize &compiled,
                        CudaDevice::Module &module, const OperandView &a,
                        const OperandView &b, CUdeviceptr bias,
                        CUdeviceptr out) {
  int64_t m = a.rows, n = b.rows;
  KernelParams params;
  for (const OperandView *q : {&a, &b}) {
    params.addMemRef(q->data, {q->rows, q->cols / 2});
    params.addMemRef(q->scale, q->scaleShape);
    params.addMemRef(q->amax, q->amaxShape);
  }
  if (bias)
    params.addMemRef(bias, {n});
  params.addMemRef(out, {m, n});
  SmallVector<void *> args = params.pointers();
  for (const KernelInfo &k : compiled.kernels) {
    if (k.work != "gemm")
      return makeError("unexpected kernel work kind '" + k.work + "' in " +
                       k.name);
    if (k.maxM != 0 && m > k.maxM)
      continue;
    int64_t blocks =
        ((m + k.tileM - 1) / k.tileM) * ((n + k.tileN - 1) / k.tileN);
    if (blocks > int64_t(UINT32_MAX >> 1))
      return makeError("GEMM of " + std::to_string(m) + " x " +
                       std::to_string(n) + " needs more thread blocks than "
                       "a 1-D grid holds");
    return d.launch(module, k.name, unsigned(blocks), unsigned(k.threads),
                    args, /*stream=*/nullptr, unsigned(k.sharedBytes));
  }
  return makeError("internal error: no GEMM kernel serves M = " +
                   std::to_string(m));
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
                                    ArrayRef<CUdeviceptr> buffers) {
  auto dev = device();
  if (!dev)
    return dev.takeError();
  return launchViews(**dev, compiled, module,
                     viewOf(a, buffers[0], buffers[1], buffers[2]),
                     viewOf(b, buffers[3], buffers[4], buffers[5]),
                     bias ? buffers[6] : 0, buffers.back());
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

llvm::Expected<std::vector<uint8_t>> GPURunner::matmulGrouped(
    RecipeAttr aRecipe, const QuantizedOutput &a, ArrayRef<int64_t> splits,
    RecipeAttr bRecipe, ArrayRef<QuantizedOutput> b,
    const MatmulOptions &options) {
  if (llvm::Error e =
          checkMatmulOperands(aRecipe, a, bRecipe, b, options, splits))
    return std::move(e);
  // Each non-empty group runs the plain GEMM kernel on views of its rows of
  // A, its B, its bias row and its rows of D: the group structure lives in
  // host-known offsets, so no kernel needs the splits.
  MatmulOptions groupOptions = options;
  if (options.bias)
    groupOptions.bias.emplace(1); // compile with a bias operand
  auto compiled = compileMatmul(aRecipe, bRecipe, groupOptions);
  if (!compiled)
    return compiled.takeError();
  auto dev = device();
  if (!dev)
    return dev.takeError();
  CudaDevice &d = **dev;
  auto module = load(**compiled);
  if (!module)
    return module.takeError();

  int64_t n = b.empty() ? 0 : b.front().rows;
  size_t outElement = elementSize(options.out);
  int64_t scaleCols = a.scaleShape.back();
  int64_t amaxWidth = a.amaxShape.size() == 2 ? a.amaxShape[1] : 1;
  bool perTensorA = aRecipe.getOuter() == OuterGroup::Tensor;
  return runOnDevice(
      d, a, n, options,
      [&](DeviceBuffers &buffers, const OperandView &aView, CUdeviceptr bias,
          CUdeviceptr out) -> llvm::Error {
        int64_t row = 0, scaleRow = 0;
        for (auto [g, split] : llvm::enumerate(splits)) {
          if (split == 0)
            continue;
          auto bView = buffers.add(b[g]);
          if (!bView)
            return bView.takeError();
          OperandView view = aView;
          view.rows = split;
          view.data += CUdeviceptr(row * (a.cols / 2));
          // Each group's swizzled scales start on a fresh 128-row tile.
          int64_t scaleRows = (split + 127) / 128 * 128;
          view.scale += CUdeviceptr(scaleRow * scaleCols);
          view.scaleShape = {scaleRows, scaleCols};
          if (perTensorA) {
            view.amax += CUdeviceptr(4 * g);
            view.amaxShape = {1};
          } else {
            view.amax += CUdeviceptr(4 * row * amaxWidth);
            view.amaxShape[0] = split;
          }
          CUdeviceptr groupBias = bias ? bias + CUdeviceptr(4 * g * n) : 0;
          CUdeviceptr groupOut = out + CUdeviceptr(row * n * outElement);
          if (llvm::Error e = launchViews(d, **compiled, **module, view,
                                          *bView, groupBias, groupOut))
            return e;
          row += split;
          scaleRow += scaleRows;
        }
        return llvm::Error::success();
      });
}

} // namespace nvfp4
