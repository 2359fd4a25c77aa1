//===- GPUMatmul.cpp - NVFP4 GEMMs on the GPU -----------------------------===//
//
// Compiles the module of buildMatmulModule through nvfp4-to-ptx, and the
// host-memory GEMM: operands copied to the device, one launch through
// MatmulLaunch.cpp (which picks the kernel configuration by M,
// `nvfp4.gemm_max_m`, as the lowered host code would), the result copied
// back.
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

llvm::Expected<const CompiledQuantize *>
GPURunner::compileMatmul(RecipeAttr aRecipe, RecipeAttr bRecipe,
                         const MatmulOptions &options, StringRef format) {
  bool bias = options.bias.has_value();
  std::string key;
  llvm::raw_string_ostream os(key);
  os << "matmul " << aRecipe << " " << bRecipe << " " << int(options.out) << " "
     << bias << " " << llvm::format("%a", double(options.alpha));
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
  if (llvm::Error e =
          checkMatmulOperands(aRecipe, a, bRecipe, b, options, std::nullopt))
    return std::move(e);
  // In operand order: A, B, [bias], output.
  std::vector<uint8_t> out(size_t(a.rows * b.rows) * elementSize(options.out));
  auto stage = [&](DeviceCopies &buffers) {
    buffers.addOperand(a);
    buffers.addOperand(b);
    buffers.addGemmResult(options.bias, out);
  };
  auto run = [&](const CompiledQuantize &compiled, CudaDevice::Module &module,
                 ArrayRef<CUdeviceptr> pointers) {
    return launchMatmul(compiled, module, a, b, options.bias.has_value(),
                        pointers);
  };
  if (llvm::Error e = detail::runStaged(
          *this, compileMatmul(aRecipe, bRecipe, options), stage, run))
    return std::move(e);
  return out;
}

llvm::Expected<const CompiledQuantize *>
GPURunner::compileMatmulW4A16(ElementType aType, RecipeAttr bRecipe,
                              const MatmulOptions &options, StringRef format) {
  bool bias = options.bias.has_value();
  std::string key;
  llvm::raw_string_ostream os(key);
  os << "matmul_w4a16 " << int(aType) << " " << bRecipe << " "
     << int(options.out) << " " << bias << " "
     << llvm::format("%a", double(options.alpha));
  return compileCached(key, format, [&] {
    unsigned bRank = matmulAmaxRanks(bRecipe, bRecipe, false).second;
    return buildMatmulW4A16Module(getContext(), aType, bRecipe, options.out,
                                  bias, bRank, options.alpha);
  });
}

llvm::Error GPURunner::launchMatmulW4A16(const CompiledQuantize &compiled,
                                         CudaDevice::Module &module, int64_t m,
                                         int64_t k, const QuantizedOutput &b,
                                         bool bias,
                                         ArrayRef<CUdeviceptr> buffers,
                                         void *stream) {
  auto dev = device();
  if (!dev)
    return dev.takeError();
  return detail::enqueueMatmulW4A16(**dev, compiled, module, m, k, b, bias,
                                    buffers, stream);
}

llvm::Expected<std::vector<uint8_t>>
GPURunner::matmulW4A16(ElementType aType, const void *a, int64_t m, int64_t k,
                       RecipeAttr bRecipe, const QuantizedOutput &b,
                       const MatmulOptions &options) {
  if (llvm::Error e =
          checkMatmulW4A16Operands(aType, m, k, bRecipe, b, options))
    return std::move(e);
  std::vector<uint8_t> out(size_t(m * b.rows) * elementSize(options.out));
  auto stage = [&](DeviceCopies &buffers) {
    buffers.add(a, nullptr, size_t(m * k) * elementSize(aType));
    buffers.addOperand(b);
    buffers.addGemmResult(options.bias, out);
  };
  auto run = [&](const CompiledQuantize &compiled, CudaDevice::Module &module,
                 ArrayRef<CUdeviceptr> pointers) {
    return launchMatmulW4A16(compiled, module, m, k, b,
                             options.bias.has_value(), pointers);
  };
  if (llvm::Error e = detail::runStaged(
          *this, compileMatmulW4A16(aType, bRecipe, options), stage, run))
    return std::move(e);
  return out;
}

} // namespace nvfp4
