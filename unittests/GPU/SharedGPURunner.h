//===- SharedGPURunner.h - One sm_90a runner for the GPU tests --*- C++ -*-===//
//
// Kernels and loaded modules are cached per runner; the GPU test suites of
// this binary share one. REQUIRE_GPU() skips (never passes) a test when no
// CUDA driver or device is present, and says why.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_UNITTESTS_GPU_SHAREDGPURUNNER_H
#define NVFP4_UNITTESTS_GPU_SHAREDGPURUNNER_H

#include "nvfp4/Runtime/GPURunner.h"

#include "gtest/gtest.h"

#include <string>
#include <utility>

namespace nvfp4 {
namespace testing {

/// A new sm_90a runner with these GEMM options (GPURunner::create), kept
/// for the life of the process; aborts if it cannot be created.
inline GPURunner *leakedRunner(bool warpSpecializedGemm, bool predecodedGemm) {
  auto r = GPURunner::create("sm_90a", "/usr/local/cuda", warpSpecializedGemm,
                             predecodedGemm);
  if (!r) {
    llvm::errs() << llvm::toString(r.takeError()) << "\n";
    std::abort();
  }
  return std::move(*r).release();
}

inline GPURunner &sharedGPURunner() {
  static GPURunner *runner = leakedRunner(false, false);
  return *runner;
}

/// An sm_90a runner whose large-M GEMMs are predecoded (GPURunner::create's
/// predecodedGemm: gemm_decode kernels fill 16-bit workspaces, then a GEMM
/// kernel reads them), shared by the `*Predecoded*` tests.
inline GPURunner &predecodedGPURunner() {
  static GPURunner *runner =
      leakedRunner(/*warpSpecializedGemm=*/false, /*predecodedGemm=*/true);
  return *runner;
}

/// An sm_90a runner whose large-M W4A4 GEMMs are predecoded and
/// warp-specialized (a TMA producer warpgroup, two wgmma warpgroups,
/// persistent tiles), shared by `PredecodedWarpSpecialized` tests.
inline GPURunner &predecodedWsGPURunner() {
  static GPURunner *runner =
      leakedRunner(/*warpSpecializedGemm=*/true, /*predecodedGemm=*/true);
  return *runner;
}

/// Why `kernels` (a compiled GEMM of predecodedGPURunner()) is not the
/// predecoded form NVFP4KernelInterface.h describes: some GEMM kernels each
/// with its M bound, then gemm_decode(A), gemm_decode(B) and the
/// workspace kernel serving any M; "" when it is.
inline std::string predecodedListError(llvm::ArrayRef<KernelInfo> kernels) {
  using mlir::nvfp4::KernelWork;
  size_t n = kernels.size();
  if (n < 3)
    return "expected at least 3 kernels, got " + std::to_string(n);
  for (size_t i = 0; i + 3 < n; ++i)
    if (kernels[i].work != KernelWork::Gemm || kernels[i].gemmWorkspace ||
        kernels[i].maxM == 0)
      return "kernel " + kernels[i].name +
             " before the decodes is not a GEMM kernel with an M bound";
  const KernelInfo &a = kernels[n - 3], &b = kernels[n - 2],
                   &gemm = kernels[n - 1];
  for (auto [k, operand] : {std::make_pair(&a, 0), std::make_pair(&b, 1)})
    if (k->work != KernelWork::GemmDecode || k->gemmOperand != operand ||
        k->threads != kKernelBlockThreads)
      return k->name + " is not gemm_decode of operand " +
             std::to_string(operand) + " with 256 threads";
  if (gemm.work != KernelWork::Gemm || !gemm.gemmWorkspace || gemm.maxM != 0 ||
      gemm.tileM <= 0 || gemm.tileN <= 0 || gemm.threads <= 0)
    return gemm.name + " is not a workspace GEMM kernel serving any M";
  // TMA fills its stages: a map over each workspace (the two memrefs after
  // the operands), boxes of one 64-wide chunk of 16-bit elements (128
  // bytes) of the tile's rows, 128-byte swizzle.
  const auto &maps = gemm.tensorMaps;
  if (maps.size() != 2 || maps[1].operand != maps[0].operand + 1)
    return gemm.name + " does not take one tensor map per workspace";
  int64_t rows[] = {gemm.tileM, gemm.tileN};
  for (int i = 0; i < 2; ++i)
    if (maps[i].box[0] != 128 || maps[i].box[1] != rows[i] ||
        maps[i].swizzle != 128)
      return gemm.name + "'s tensor map " + std::to_string(i) +
             " does not copy 128-byte swizzled chunks of tile rows";
  return "";
}

/// Whether `kernels` hold a gemm_decode kernel or a workspace kernel.
inline bool anyPredecodedKernel(llvm::ArrayRef<KernelInfo> kernels) {
  for (const KernelInfo &k : kernels)
    if (k.work == mlir::nvfp4::KernelWork::GemmDecode || k.gemmWorkspace)
      return true;
  return false;
}

/// Forces the cluster split of the shared runner's GEMMs
/// (CudaDevice::setGemmClusterSplit) while it lives, then restores the
/// previous setting. Needs the device (REQUIRE_GPU first).
class ForcedClusterSplit {
public:
  explicit ForcedClusterSplit(unsigned split) {
    auto dev = sharedGPURunner().device();
    EXPECT_TRUE(bool(dev)) << llvm::toString(dev.takeError());
    if (!dev)
      return;
    device = *dev;
    previous = device->gemmClusterSplit();
    llvm::Error e = device->setGemmClusterSplit(split);
    EXPECT_FALSE(bool(e)) << llvm::toString(std::move(e));
  }
  ~ForcedClusterSplit() {
    if (device)
      llvm::cantFail(device->setGemmClusterSplit(previous));
  }
  ForcedClusterSplit(const ForcedClusterSplit &) = delete;
  ForcedClusterSplit &operator=(const ForcedClusterSplit &) = delete;

private:
  CudaDevice *device = nullptr;
  unsigned previous = 0;
};

} // namespace testing
} // namespace nvfp4

#define REQUIRE_GPU()                                                          \
  do {                                                                         \
    auto dev = ::nvfp4::testing::sharedGPURunner().device();                   \
    if (!dev)                                                                  \
      GTEST_SKIP() << "no CUDA device: " << llvm::toString(dev.takeError());  \
  } while (0)

#endif // NVFP4_UNITTESTS_GPU_SHAREDGPURUNNER_H
