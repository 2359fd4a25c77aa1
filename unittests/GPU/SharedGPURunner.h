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

namespace nvfp4 {
namespace testing {

inline GPURunner &sharedGPURunner() {
  static GPURunner *runner = [] {
    auto r = GPURunner::create("sm_90a");
    if (!r) {
      llvm::errs() << llvm::toString(r.takeError()) << "\n";
      std::abort();
    }
    return std::move(*r).release();
  }();
  return *runner;
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
