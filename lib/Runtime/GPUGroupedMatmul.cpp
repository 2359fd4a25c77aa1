//===- GPUGroupedMatmul.cpp - Grouped (MoE) NVFP4 GEMMs on the GPU --------===//
//
// `nvfp4.grouped_matmul` through nvfp4-to-ptx: one kernel launch over every
// group, the splits read on the device (MatmulGrouped.cpp in the lowering),
// so the splits may stay in device memory and a CUDA graph may capture the
// launch. The host-memory convenience copies everything to the device and
// makes that one launch.
//
//===----------------------------------------------------------------------===//

#include "DeviceCopies.h"
#include "Errors.h"
#include "MatmulLaunch.h"
#include "nvfp4/Runtime/GPURunner.h"
#include "nvfp4/Runtime/Matmul.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::nvfp4;

namespace nvfp4 {
using detail::DeviceCopies;
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
  auto stage = [&](DeviceCopies &buffers) {
    buffers.add(splits.data(), nullptr, splits.size() * sizeof(int64_t));
    buffers.addOperand(a);
    buffers.add(bData.data(), nullptr, bData.size());
    buffers.add(bScale.data(), nullptr, bScale.size());
    buffers.add(bAmax.data(), nullptr, bAmax.size() * sizeof(float));
    buffers.addGemmResult(options.bias, out);
  };
  auto run = [&](const CompiledQuantize &compiled, CudaDevice::Module &module,
                 ArrayRef<CUdeviceptr> pointers) {
    return launchMatmulGrouped(compiled, module, aRecipe, bRecipe, m,
                               int64_t(splits.size()), n, a.cols,
                               options.bias.has_value(), pointers,
                               /*stream=*/nullptr);
  };
  if (llvm::Error e = detail::runStaged(
          *this, compileMatmulGrouped(aRecipe, bRecipe, options), stage, run))
    return std::move(e);
  return out;
}

} // namespace nvfp4
