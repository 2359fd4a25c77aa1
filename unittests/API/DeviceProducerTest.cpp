//===- DeviceProducerTest.cpp - The producers' device forms ---------------===//
//
// The Stream forms of Api.h for RMSNorm and the gated activations (SPEC.md
// section 15) on device memory give the host forms' bytes, overwrite the
// residual in place, and report every argument error before anything is
// enqueued. They need a CUDA device and skip without one.
//
//===----------------------------------------------------------------------===//

#include "DeviceSupport.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"

#include "llvm/ADT/StringExtras.h"
#include "gtest/gtest.h"

#include <cstring>

using namespace nvfp4;
using mlir::nvfp4::GatedActivation;
using nvfp4::testing::DeviceCopies;
using nvfp4::testing::download;
using nvfp4::testing::errorOf;
using nvfp4::testing::randomMatrix;

namespace {

/// The bytes of `v`.
std::vector<uint8_t> bytesOf(const std::vector<float> &v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

/// The device outputs `outputs` equal the host quantization `want`.
void expectOutputs(const DeviceOutputs &outputs, const QuantizeResult &want,
                   const std::string &where) {
  for (auto [got, w] : {std::pair{&outputs.rowwise, &want.rowwise},
                        std::pair{&outputs.columnwise, &want.columnwise}}) {
    ASSERT_EQ(bool(*got), bool(*w)) << where;
    if (!*w)
      continue;
    EXPECT_EQ(download((*got)->data, (*w)->data.size()), (*w)->data) << where;
    EXPECT_EQ(download((*got)->scale, (*w)->scale.size()), (*w)->scale)
        << where;
    EXPECT_EQ(download((*got)->amax, (*w)->amax.size() * 4),
              bytesOf((*w)->amax))
        << where;
  }
}

class APIDeviceProducers : public ::testing::TestWithParam<const char *> {};

TEST_P(APIDeviceProducers, SameBytesAsTheHost) {
  REQUIRE_DEVICE(dev);
  const char *recipe = GetParam();
  const int64_t rows = 64, cols = 256;
  std::vector<float> x = randomMatrix(rows, cols, 7);
  std::vector<float> r = randomMatrix(rows, cols, 8);
  std::vector<float> w = randomMatrix(1, cols, 9, 0.5f);
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream)) << errorOf(stream.takeError());
  DeviceCopies copies{dev, {}};
  CUdeviceptr dx = copies.add(x.data(), x.size() * 4);
  CUdeviceptr dw = copies.add(w.data(), w.size() * 4);

  // RMSNorm fused, with a residual and y.
  auto want = nvfp4::rmsNormQuantize(recipe, ElementType::F32, x.data(),
                                     w.data(), r.data(), 1e-6f, rows, cols,
                                     /*wantY=*/true);
  ASSERT_TRUE(bool(want)) << errorOf(want.takeError());
  auto shapes = quantizeShapes(recipe, rows, cols);
  ASSERT_TRUE(bool(shapes));
  DeviceOutputs outputs = copies.outputsFor(*shapes);
  CUdeviceptr dr = copies.add(r.data(), r.size() * 4);
  CUdeviceptr dy = copies.add(nullptr, x.size() * 4);
  CUdeviceptr drstd = copies.add(nullptr, rows * 4);
  ASSERT_FALSE(
      bool(nvfp4::rmsNormQuantize(*stream, recipe, ElementType::F32, dx, dw, dr,
                                  1e-6f, rows, cols, drstd, dy, outputs)));
  ASSERT_FALSE(bool(stream->synchronize()));
  expectOutputs(outputs, want->quantized, std::string(recipe) + " rms_norm");
  EXPECT_EQ(download(dy, x.size() * 4), want->producer.y);
  EXPECT_EQ(download(drstd, rows * 4), bytesOf(want->producer.rstd));
  EXPECT_EQ(download(dr, r.size() * 4), want->producer.residual);

  // The gated activation fused, without y: the 64 x 128 result quantized.
  auto gatedWant = nvfp4::gatedActQuantize(recipe, ElementType::F32,
                                           GatedActivation::GeluTanh, x.data(),
                                           rows, cols, /*wantY=*/false);
  ASSERT_TRUE(bool(gatedWant)) << errorOf(gatedWant.takeError());
  auto gatedShapes = quantizeShapes(recipe, rows, cols / 2);
  ASSERT_TRUE(bool(gatedShapes));
  DeviceOutputs gatedOutputs = copies.outputsFor(*gatedShapes);
  ASSERT_FALSE(bool(nvfp4::gatedActQuantize(*stream, recipe, ElementType::F32,
                                            GatedActivation::GeluTanh, dx, rows,
                                            cols, /*y=*/0, gatedOutputs)));
  ASSERT_FALSE(bool(stream->synchronize()));
  expectOutputs(gatedOutputs, gatedWant->quantized,
                std::string(recipe) + " gated_act");
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, APIDeviceProducers,
    ::testing::Values("per_tensor", "per_token",
                      "per_tensor, directions = [rowwise, columnwise], "
                      "sf_layout = 128x4",
                      "local_1x64, directions = [columnwise]"));

// The producers alone: y, rstd and the residual as on the host.
TEST(APIDeviceProducersAlone, SameBytesAsTheHost) {
  REQUIRE_DEVICE(dev);
  const int64_t rows = 5, cols = 300;
  std::vector<float> x = randomMatrix(rows, cols, 1);
  std::vector<float> r = randomMatrix(rows, cols, 2);
  std::vector<float> w = randomMatrix(1, cols, 3);
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream));
  auto want = nvfp4::rmsNorm(ElementType::F32, x.data(), w.data(), r.data(),
                             1e-5f, rows, cols);
  ASSERT_TRUE(bool(want)) << errorOf(want.takeError());
  auto gatedWant = nvfp4::gatedAct(ElementType::F32, GatedActivation::SiLU,
                                   x.data(), rows, cols);
  ASSERT_TRUE(bool(gatedWant)) << errorOf(gatedWant.takeError());
  DeviceCopies copies{dev, {}};
  CUdeviceptr dx = copies.add(x.data(), x.size() * 4);
  CUdeviceptr dw = copies.add(w.data(), w.size() * 4);
  CUdeviceptr dr = copies.add(r.data(), r.size() * 4);
  CUdeviceptr dy = copies.add(nullptr, x.size() * 4);
  CUdeviceptr drstd = copies.add(nullptr, rows * 4);
  CUdeviceptr dg = copies.add(nullptr, x.size() * 2);
  ASSERT_FALSE(bool(nvfp4::rmsNorm(*stream, ElementType::F32, dx, dw, dr, 1e-5f,
                                   rows, cols, dy, drstd)));
  ASSERT_FALSE(bool(nvfp4::gatedAct(
      *stream, ElementType::F32, GatedActivation::SiLU, dx, rows, cols, dg)));
  ASSERT_FALSE(bool(stream->synchronize()));
  EXPECT_EQ(download(dy, x.size() * 4), want->y);
  EXPECT_EQ(download(drstd, rows * 4), bytesOf(want->rstd));
  EXPECT_EQ(download(dr, r.size() * 4), want->residual);
  EXPECT_EQ(download(dg, x.size() * 2), gatedWant->y);
}

// Argument errors come back before anything is enqueued, each naming the
// constraint.
TEST(APIDeviceProducerCalls, ErrorsAreValues) {
  REQUIRE_DEVICE(dev);
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream));
  auto buffer = dev->allocate(1 << 16);
  ASSERT_TRUE(bool(buffer));
  CUdeviceptr p = buffer->ptr();
  DeviceOutputs outputs;
  outputs.rowwise = DeviceQuantized{p, p, p};
  auto F32 = ElementType::F32;
  EXPECT_EQ(errorOf(nvfp4::rmsNormQuantize(*stream, "per_token", F32, p, p, 0,
                                           0.0f, 4, 32, p, 0, outputs)),
            "expected eps to be finite and positive, got 0");
  EXPECT_EQ(errorOf(nvfp4::rmsNormQuantize(*stream, "per_token", F32, p, p, 0,
                                           1e-6f, 4, 32, 0, 0, outputs)),
            "null device buffer for rstd");
  EXPECT_EQ(errorOf(nvfp4::rmsNormQuantize(*stream, "per_token", F32, p, p + 4,
                                           0, 1e-6f, 4, 32, p, 0, outputs)),
            "the device weight at 0x" +
                llvm::utohexstr(p + 4, /*LowerCase=*/true) +
                " is not aligned to 64 bytes");
  EXPECT_EQ(errorOf(nvfp4::rmsNormQuantize(*stream, "per_token", F32, p, p, 0,
                                           1e-6f, 4, 40, p, 0, outputs)),
            "expected quantized dimension K to be a multiple of 16, got 40");
  EXPECT_EQ(
      errorOf(nvfp4::rmsNormQuantize(*stream, "per_token", F32, p, p, 0, 1e-6f,
                                     4, 32, p, 0, DeviceOutputs())),
      "the recipe produces a rowwise output but none was given");
  int64_t longRow = mlir::nvfp4::kMaxRMSNormCols + 1;
  EXPECT_EQ(
      errorOf(nvfp4::rmsNorm(*stream, F32, p, p, 0, 1e-6f, 1, longRow, p, p)),
      "expected RMSNorm rows of at most 4194304 values on the GPU (one "
      "thread block per row), got " +
          std::to_string(longRow));
  EXPECT_EQ(errorOf(nvfp4::gatedAct(*stream, F32, GatedActivation::SiLU, p, 4,
                                    33, p)),
            "expected an even number of columns (gate and up halves of a "
            "gated activation), got 33");
  EXPECT_EQ(errorOf(nvfp4::gatedActQuantize(*stream, "per_token", F32,
                                            GatedActivation::SiLU, p, 4, 48, 0,
                                            outputs)),
            "expected quantized dimension K to be a multiple of 16, got 24");
  EXPECT_EQ(errorOf(nvfp4::gatedAct(*stream, F32, GatedActivation::SiLU, p, 4,
                                    32, 0)),
            "null device buffer for y");
}

} // namespace
