//===- DeviceDependentLaunchTest.cpp - Programmatic dependent launch ------===//
//
// With programmatic dependent launch (CudaDevice::dependentLaunch) a kernel
// may start before the kernel before it on the stream has finished; every
// kernel waits for its predecessor (griddepcontrol.wait) before it touches
// memory. These cases run chains of dependent kernels back to back without
// synchronizing -- a per-tensor quantize (amax init, amax, encode), a
// swizzled quantize into buffers the next step overwrites while a GEMM
// reads them -- with it on and off, eagerly and replayed from a captured
// CUDA graph, and require the same bytes every way; the decode-shape GEMMs
// split K over thread-block clusters (the automatic choice, then clusters
// of 3 forced), whose launches carry the cluster attribute beside PDL's.
// Every case needs a CUDA device and skips without one (or below compute
// capability 9.0).
//
//===----------------------------------------------------------------------===//

#include "DeviceSupport.h"

#include "gtest/gtest.h"

using namespace nvfp4;
using nvfp4::testing::DeviceCopies;
using nvfp4::testing::download;
using nvfp4::testing::errorOf;
using nvfp4::testing::randomMatrix;

namespace {

/// A GEMM operand recipe (128x4 scales: a zero kernel, amax init, amax and
/// encode) and a linear per-tensor recipe (amax init, amax, encode).
const char *const kGemmRecipe = "per_tensor, sf_layout = 128x4";
const char *const kQuantizeRecipe = "per_tensor";

/// Restores the device's launch mode when a case ends: the device is shared
/// by every case of the binary.
class LaunchModeGuard {
public:
  explicit LaunchModeGuard(CudaDevice &cuda)
      : cuda(cuda), saved(cuda.dependentLaunch()) {}
  ~LaunchModeGuard() { cuda.setDependentLaunch(saved); }

private:
  CudaDevice &cuda;
  bool saved;
};

/// Restores the device's GEMM cluster split when a case ends.
class ClusterSplitGuard {
public:
  explicit ClusterSplitGuard(CudaDevice &cuda)
      : cuda(cuda), saved(cuda.gemmClusterSplit()) {}
  ~ClusterSplitGuard() { llvm::cantFail(cuda.setGemmClusterSplit(saved)); }

private:
  CudaDevice &cuda;
  unsigned saved;
};

#define REQUIRE_PDL_DEVICE(dev)                                                \
  REQUIRE_DEVICE(dev);                                                         \
  if (dev->computeCapability() < 90)                                           \
    GTEST_SKIP() << "programmatic dependent launch needs compute capability "  \
                    "9.0 or later, the device has "                            \
                 << dev->computeCapability();

TEST(APIDeviceDependentLaunch, DeviceKernelsAllowIt) {
  REQUIRE_PDL_DEVICE(dev);
  LaunchModeGuard guard(dev->cuda());
  auto target = dev->target();
  ASSERT_TRUE(bool(target)) << errorOf(target.takeError());
  auto compiler = Compiler::shared(*target);
  ASSERT_TRUE(bool(compiler)) << errorOf(compiler.takeError());
  // Every kernel the device runs is built to wait on its predecessor, so
  // none is launched early without that wait.
  auto quantize = (*compiler)->compile(kQuantizeRecipe, ElementType::F32);
  ASSERT_TRUE(bool(quantize)) << errorOf(quantize.takeError());
  auto ra = (*compiler)->parseRecipe(kGemmRecipe);
  ASSERT_TRUE(bool(ra)) << errorOf(ra.takeError());
  auto gemm = (*compiler)->compileMatmul(*ra, *ra, MatmulOptions());
  ASSERT_TRUE(bool(gemm)) << errorOf(gemm.takeError());
  for (const CompiledRecipe *c : {&*quantize, &*gemm}) {
    ASSERT_FALSE(c->code->kernels.empty());
    for (const KernelInfo &k : c->code->kernels)
      EXPECT_TRUE(k.pdl) << k.name;
  }
  // The switch holds on a device that has the feature.
  dev->cuda().setDependentLaunch(true);
  EXPECT_TRUE(dev->cuda().dependentLaunch());
  dev->cuda().setDependentLaunch(false);
  EXPECT_FALSE(dev->cuda().dependentLaunch());
}

/// Decode-time shapes (M = 1 and 16) and a prefill-like one.
class APIDeviceDependentLaunchSteps : public ::testing::TestWithParam<int64_t> {
};

/// Runs the steps of one case with GEMM cluster split `split` (0:
/// automatic; at M = 1 and 16 clusters of 4 for this N and K).
void checkSteps(const std::shared_ptr<Device> &dev, int64_t m,
                unsigned split) {
  llvm::Error set = dev->cuda().setGemmClusterSplit(split);
  ASSERT_FALSE(bool(set)) << errorOf(std::move(set));
  const int64_t n = 256, k = 2048;
  constexpr int kSteps = 4;

  auto gemmShapes = quantizeShapes(kGemmRecipe, m, k);
  auto wShapes = quantizeShapes(kGemmRecipe, n, k);
  auto qShapes = quantizeShapes(kQuantizeRecipe, m, k);
  ASSERT_TRUE(gemmShapes && wShapes && qShapes);
  DeviceCopies d{dev, {}};
  std::vector<CUdeviceptr> x(kSteps), out(kSteps);
  std::vector<DeviceOutputs> q(kSteps);
  for (int s = 0; s < kSteps; ++s) {
    std::vector<float> xs = randomMatrix(m, k, 100 + s, 2.0f + s);
    x[s] = d.add(xs.data(), xs.size() * 4);
    out[s] = d.add(nullptr, size_t(m * n) * 2);
    q[s] = d.outputsFor(*qShapes);
  }
  std::vector<float> w = randomMatrix(n, k, 7, 2.0f);
  CUdeviceptr wDev = d.add(w.data(), w.size() * 4);
  // One set of A buffers for every step: step s + 1 quantizes into them
  // while step s's GEMM may still be reading them, unless it waits.
  DeviceOutputs a = d.outputsFor(*gemmShapes), b = d.outputsFor(*wShapes);
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream)) << errorOf(stream.takeError());

  // Every step back to back, no synchronization in between.
  auto steps = [&]() -> llvm::Error {
    if (llvm::Error e = nvfp4::quantize(*stream, kGemmRecipe, ElementType::F32,
                                        wDev, n, k, b))
      return e;
    for (int s = 0; s < kSteps; ++s) {
      if (llvm::Error e = nvfp4::quantize(*stream, kGemmRecipe,
                                          ElementType::F32, x[s], m, k, a))
        return e;
      if (llvm::Error e = nvfp4::matmul(*stream, kGemmRecipe, *a.rowwise, m,
                                        kGemmRecipe, *b.rowwise, n, k, {},
                                        out[s]))
        return e;
      if (llvm::Error e = nvfp4::quantize(*stream, kQuantizeRecipe,
                                          ElementType::F32, x[s], m, k, q[s]))
        return e;
    }
    return llvm::Error::success();
  };
  const QuantizedOutput &qo = *qShapes->rowwise;
  size_t qData = size_t(qo.rows * (qo.cols / 2)),
         qScale = size_t(qo.scaleShape[0] * qo.scaleShape[1]);
  auto results = [&] {
    EXPECT_FALSE(bool(stream->synchronize()));
    std::vector<std::vector<uint8_t>> bytes;
    for (int s = 0; s < kSteps; ++s) {
      bytes.push_back(download(out[s], size_t(m * n) * 2));
      bytes.push_back(download(q[s].rowwise->data, qData));
      bytes.push_back(download(q[s].rowwise->scale, qScale));
      bytes.push_back(download(q[s].rowwise->amax, 4));
    }
    return bytes;
  };
  // Clears every output, so a step that wrote nothing cannot pass.
  auto clear = [&] {
    std::vector<uint8_t> zeros(std::max(size_t(m * n) * 2, qData));
    for (int s = 0; s < kSteps; ++s) {
      ASSERT_FALSE(bool(dev->cuda().copyToDevice(out[s], zeros.data(),
                                                 size_t(m * n) * 2)));
      ASSERT_FALSE(bool(dev->cuda().copyToDevice(q[s].rowwise->data,
                                                 zeros.data(), qData)));
    }
  };

  // Without PDL first: compiles and loads every kernel (which a capture
  // must not do) and gives the reference bytes.
  dev->cuda().setDependentLaunch(false);
  llvm::Error e = steps();
  ASSERT_FALSE(bool(e)) << errorOf(std::move(e));
  auto want = results();
  ASSERT_NE(want[0], want[4]) << "two steps gave the same GEMM output";

  for (bool pdl : {true, false}) {
    SCOPED_TRACE(pdl ? "with PDL" : "without PDL");
    dev->cuda().setDependentLaunch(pdl);
    ASSERT_EQ(dev->cuda().dependentLaunch(), pdl);
    for (int repeat = 0; repeat < 3; ++repeat) {
      clear();
      e = steps();
      ASSERT_FALSE(bool(e)) << errorOf(std::move(e));
      EXPECT_EQ(results(), want) << "eager run " << repeat;
    }
    // Captured in this mode (programmatic edges in the graph with PDL),
    // replayed twice.
    auto graph = dev->cuda().captureGraph(stream->handle(), steps);
    ASSERT_TRUE(bool(graph)) << errorOf(graph.takeError());
    for (int replay = 0; replay < 2; ++replay) {
      clear();
      ASSERT_FALSE(bool(dev->cuda().launchGraph(*graph, stream->handle())));
      EXPECT_EQ(results(), want) << "graph replay " << replay;
    }
    dev->cuda().destroyGraph(*graph);
  }
}

TEST_P(APIDeviceDependentLaunchSteps, SameBytesWithAndWithout) {
  REQUIRE_PDL_DEVICE(dev);
  LaunchModeGuard guard(dev->cuda());
  ClusterSplitGuard splitGuard(dev->cuda());
  for (unsigned split : {0u, 3u}) {
    SCOPED_TRACE("GEMM cluster split " + std::to_string(split));
    checkSteps(dev, GetParam(), split);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, APIDeviceDependentLaunchSteps,
                         ::testing::Values(int64_t(1), int64_t(16),
                                           int64_t(300)),
                         [](const ::testing::TestParamInfo<int64_t> &info) {
                           return "m" + std::to_string(info.param);
                         });

} // namespace
