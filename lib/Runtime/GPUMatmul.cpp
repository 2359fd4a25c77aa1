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

llvm::Error GPURunner::launchMatmul(const CompiledQuantize &compiled,
                                    CudaDevice::Module &module,
                                    const QuantizedOutput &a,
                                    const QuantizedOutput &b, bool bias,
                                    ArrayRef<CUdeviceptr> buffers) {
  auto dev = device();
  if (!dev)
    return dev.takeError();
  int64_t m = a.rows, n = b.rows;
  KernelParams params;
  unsigned next = 0;
  for (const QuantizedOutput *q : {&a, &b}) {
    params.addMemRef(buffers[next++], {q->rows, q->cols / 2});
    params.addMemRef(buffers[next++], q->scaleShape);
    params.addMemRef(buffers[next++], q->amaxShape);
  }
  if (bias)
    params.addMemRef(buffers[next++], {n});
  params.addMemRef(buffers[next++], {m, n});
  SmallVector<void *> args = params.pointers();
  for (const KernelInfo &k : compiled.kernels) {
    if (k.work != "gemm")
      return makeError("unexpected kernel work kind '" + k.work + "' in " +
                       k.name);
    if (k.maxM != 0 && m > k.maxM)
      continue;
    int64_t blocks = ((m + k.tileM - 1) / k.tileM) * ((n + k.tileN - 1) / k.tileN);
    if (blocks > int64_t(UINT32_MAX >> 1))
      return makeError("GEMM of " + std::to_string(m) + " x " +
                       std::to_string(n) + " needs more thread blocks than "
                       "a 1-D grid holds");
    return (*dev)->launch(module, k.name, unsigned(blocks), unsigned(k.threads),
                          args);
  }
  return makeError("internal error: no GEMM kernel serves M = " +
                   std::to_string(m));
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
  auto module = loadedModule(**compiled);
  if (!module)
    return module.takeError();

  int64_t m = a.rows, n = b.rows;
  std::vector<uint8_t> out(size_t(m * n) * elementSize(options.out));
  struct Buffer {
    const void *host;
    size_t bytes;
    CUdeviceptr ptr = 0;
  };
  SmallVector<Buffer> buffers;
  for (const QuantizedOutput *q : {&a, &b}) {
    buffers.push_back({q->data.data(), q->data.size()});
    buffers.push_back({q->scale.data(), q->scale.size()});
    buffers.push_back({q->amax.data(), q->amax.size() * 4});
  }
  if (options.bias)
    buffers.push_back({options.bias->data(), options.bias->size() * 4});
  buffers.push_back({nullptr, out.size()});
  auto release = [&] {
    for (Buffer &buf : buffers)
      if (buf.ptr)
        llvm::consumeError(d.free(buf.ptr));
  };
  auto fail = [&](llvm::Error e) -> llvm::Expected<std::vector<uint8_t>> {
    release();
    return std::move(e);
  };
  SmallVector<CUdeviceptr> ptrs;
  for (Buffer &buf : buffers) {
    auto ptr = d.alloc(std::max<size_t>(buf.bytes, 1));
    if (!ptr)
      return fail(ptr.takeError());
    buf.ptr = *ptr;
    ptrs.push_back(buf.ptr);
    if (buf.host && buf.bytes)
      if (llvm::Error e = d.copyToDevice(buf.ptr, buf.host, buf.bytes))
        return fail(std::move(e));
  }
  if (llvm::Error e = launchMatmul(**compiled, **module, a, b,
                                   options.bias.has_value(), ptrs))
    return fail(std::move(e));
  if (llvm::Error e = d.synchronize())
    return fail(std::move(e));
  if (llvm::Error e = d.copyToHost(out.data(), ptrs.back(), out.size()))
    return fail(std::move(e));
  release();
  return out;
}

} // namespace nvfp4
