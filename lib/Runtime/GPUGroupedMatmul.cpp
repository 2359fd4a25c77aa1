//===- GPUGroupedMatmul.cpp - Grouped (MoE) NVFP4 GEMMs on the GPU --------===//
//
// `nvfp4.grouped_matmul` through nvfp4-to-ptx: one kernel launch over every
// group, the splits read on the device (MatmulGrouped.cpp in the lowering),
// so the splits may stay in device memory and a CUDA graph may capture the
// launch. The host-memory convenience copies everything to the device and
// makes that one launch.
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
GPURunner::compileMatmulGrouped(RecipeAttr aRecipe, RecipeAttr bRecipe,
                                const MatmulOptions &options,
                                StringRef format) {
  bool bias = options.bias.has_value();
  std::string key;
  llvm::raw_string_ostream os(key);
  os << "grouped_matmul " << aRecipe << " " << bRecipe << " "
     << int(options.out) << " " << bias << " "
     << llvm::format("%a", double(options.alpha));
  return compileCached(key, format, [&] {
    auto [aRank, bRank] = matmulAmaxRanks(aRecipe, bRecipe, /*grouped=*/true);
    return buildMatmulModule(getContext(), aRecipe, bRecipe, options.out, bias,
                             /*grouped=*/true, aRank, bRank, options.alpha);
  });
}

llvm::Error
GPURunner::launchMatmulGrouped(const CompiledQuantize &compiled,
                               CudaDevice::Module &module, RecipeAttr aRecipe,
                               RecipeAttr bRecipe, int64_t m, int64_t groups,
                               int64_t n, int64_t k, bool bias,
                               ArrayRef<CUdeviceptr> buffers, void *stream) {
  size_t want = bias ? 9 : 8;
  if (buffers.size() != want)
    return makeError("expected " + Twine(want) + " grouped GEMM buffers, got " +
                     Twine(buffers.size()));
  if (groups < 1)
    return makeError("expected at least one group, got " + Twine(groups));
  auto dev = device();
  if (!dev)
    return dev.takeError();
  return detail::enqueueMatmulGrouped(**dev, compiled, module, aRecipe, bRecipe,
                                      m, groups, n, k, bias, buffers, stream);
}

namespace {
/// Device copies of host buffers, freed with the object: a minimal twin of
/// GPUMatmul.cpp's DeviceBuffers, which is local to that file (to be folded
/// into one shared helper).
class DeviceCopies {
public:
  explicit DeviceCopies(CudaDevice &d) : d(d) {}
  ~DeviceCopies() {
    for (CUdeviceptr p : ptrs)
      llvm::consumeError(d.free(p));
  }
  /// A device buffer of `bytes` bytes holding a copy of `host` (left
  /// uninitialised when null).
  llvm::Error add(const void *host, size_t bytes) {
    // Zero-size buffers still get a pointer.
    auto ptr = d.alloc(std::max<size_t>(bytes, 1));
    if (!ptr)
      return ptr.takeError();
    ptrs.push_back(*ptr);
    if (host && bytes)
      return d.copyToDevice(*ptr, host, bytes);
    return llvm::Error::success();
  }
  ArrayRef<CUdeviceptr> pointers() const { return ptrs; }

private:
  CudaDevice &d;
  SmallVector<CUdeviceptr, 9> ptrs;
};
} // namespace

llvm::Expected<std::vector<uint8_t>>
GPURunner::matmulGrouped(RecipeAttr aRecipe, const QuantizedOutput &a,
                         ArrayRef<int64_t> splits, RecipeAttr bRecipe,
                         ArrayRef<QuantizedOutput> b,
                         const MatmulOptions &options) {
  if (splits.empty())
    return makeError("expected at least one group");
  if (llvm::Error e =
          checkMatmulOperands(aRecipe, a, bRecipe, b, options, splits))
    return std::move(e);
  auto compiled = compileMatmulGrouped(aRecipe, bRecipe, options);
  if (!compiled)
    return compiled.takeError();
  auto dev = device();
  if (!dev)
    return dev.takeError();
  CudaDevice &d = **dev;
  auto module = load(**compiled);
  if (!module)
    return module.takeError();

  // The kernel reads B as one G x N x K/2 tensor (and so on): stack the
  // groups' operands.
  std::vector<uint8_t> bData, bScale;
  std::vector<float> bAmax;
  for (const QuantizedOutput &bg : b) {
    llvm::append_range(bData, bg.data);
    llvm::append_range(bScale, bg.scale);
    llvm::append_range(bAmax, bg.amax);
  }
  int64_t m = a.rows, n = b.front().rows;
  std::vector<uint8_t> out(size_t(m * n) * elementSize(options.out));
  // In operand order: splits, A, B, [bias], output.
  DeviceCopies buffers(d);
  std::pair<const void *, size_t> copies[] = {
      {splits.data(), splits.size() * sizeof(int64_t)},
      {a.data.data(), a.data.size()},
      {a.scale.data(), a.scale.size()},
      {a.amax.data(), a.amax.size() * sizeof(float)},
      {bData.data(), bData.size()},
      {bScale.data(), bScale.size()},
      {bAmax.data(), bAmax.size() * sizeof(float)}};
  for (auto [host, bytes] : copies)
    if (llvm::Error e = buffers.add(host, bytes))
      return std::move(e);
  if (options.bias)
    if (llvm::Error e = buffers.add(options.bias->data(),
                                    options.bias->size() * sizeof(float)))
      return std::move(e);
  if (llvm::Error e = buffers.add(nullptr, out.size()))
    return std::move(e);

  if (llvm::Error e = launchMatmulGrouped(
          **compiled, **module, aRecipe, bRecipe, m, int64_t(splits.size()), n,
          a.cols, options.bias.has_value(), buffers.pointers(),
          /*stream=*/nullptr))
    return std::move(e);
  if (llvm::Error e = d.synchronize())
    return std::move(e);
  if (llvm::Error e =
          d.copyToHost(out.data(), buffers.pointers().back(), out.size()))
    return std::move(e);
  return out;
}

} // namespace nvfp4
