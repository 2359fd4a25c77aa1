//===- DeviceSupport.h - Shared pieces of the device API tests --*- C++ -*-===//

#ifndef NVFP4_UNITTESTS_API_DEVICESUPPORT_H
#define NVFP4_UNITTESTS_API_DEVICESUPPORT_H

#include "nvfp4/Runtime/Api.h"

#include "gtest/gtest.h"

#include <random>
#include <string>
#include <vector>

namespace nvfp4 {
namespace testing {

inline std::string errorOf(llvm::Error e) {
  return llvm::toString(std::move(e));
}

/// The shared device, or null (why in `why`) when there is none.
inline std::shared_ptr<Device> deviceOrNull(std::string &why) {
  auto dev = Device::shared();
  if (!dev) {
    why = errorOf(dev.takeError());
    return nullptr;
  }
  if (auto target = (*dev)->target(); !target) {
    why = errorOf(target.takeError());
    return nullptr;
  }
  return *dev;
}

/// A rows x cols matrix of normal values with standard deviation `sigma`.
inline std::vector<float> randomMatrix(int64_t rows, int64_t cols,
                                       unsigned seed, float sigma = 3.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> x(rows * cols);
  for (float &v : x)
    v = normal(rng);
  return x;
}

} // namespace testing
} // namespace nvfp4

/// Declares `dev`, the shared device with an nvfp4 target, or skips the
/// test saying why there is none.
#define REQUIRE_DEVICE(dev)                                                    \
  std::string dev##Why;                                                        \
  std::shared_ptr<::nvfp4::Device> dev =                                       \
      ::nvfp4::testing::deviceOrNull(dev##Why);                                \
  if (!dev)                                                                    \
    GTEST_SKIP() << "no CUDA device with an nvfp4 target: " << dev##Why;

#endif // NVFP4_UNITTESTS_API_DEVICESUPPORT_H
