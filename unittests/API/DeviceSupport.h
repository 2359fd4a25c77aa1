//===- DeviceSupport.h - Shared pieces of the device API tests --*- C++ -*-===//

#ifndef NVFP4_UNITTESTS_API_DEVICESUPPORT_H
#define NVFP4_UNITTESTS_API_DEVICESUPPORT_H

#include "nvfp4/Runtime/Api.h"

#include "gtest/gtest.h"

#include <algorithm>
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

/// Device copies of host data, owned.
struct DeviceCopies {
  std::shared_ptr<Device> dev;
  std::vector<DeviceBuffer> buffers;

  CUdeviceptr add(const void *host, size_t bytes) {
    auto b = dev->allocate(std::max<size_t>(bytes, 1));
    EXPECT_TRUE(bool(b)) << errorOf(b.takeError());
    if (!b)
      return 0;
    if (host)
      EXPECT_FALSE(bool(b->copyFromHost(host, bytes)));
    buffers.push_back(std::move(*b));
    return buffers.back().ptr();
  }
  DeviceQuantized add(const QuantizedOutput &q) {
    return {add(q.data.data(), q.data.size()),
            add(q.scale.data(), q.scale.size()),
            add(q.amax.data(), q.amax.size() * 4)};
  }
  /// Uninitialized buffers for a quantization's outputs.
  DeviceOutputs outputsFor(const QuantizeResult &shapes) {
    DeviceOutputs out;
    for (auto [shape, slot] :
         {std::make_pair(&shapes.rowwise, &out.rowwise),
          std::make_pair(&shapes.columnwise, &out.columnwise)}) {
      if (!*shape)
        continue;
      const QuantizedOutput &o = **shape;
      size_t amax = 1;
      for (int64_t d : o.amaxShape)
        amax *= d;
      *slot = DeviceQuantized{
          add(nullptr, size_t(o.rows * (o.cols / 2))),
          add(nullptr, size_t(o.scaleShape[0] * o.scaleShape[1])),
          add(nullptr, amax * 4)};
    }
    return out;
  }
};

/// `bytes` bytes at device address `p` of the shared device, on the host.
inline std::vector<uint8_t> download(CUdeviceptr p, size_t bytes) {
  std::vector<uint8_t> host(bytes);
  auto dev = Device::shared();
  EXPECT_TRUE(bool(dev));
  EXPECT_FALSE(bool((*dev)->cuda().copyToHost(host.data(), p, bytes)));
  return host;
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
