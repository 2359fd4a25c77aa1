//===- DeviceTest.cpp - Device, streams and the device API ----------------===//
//
// DeviceLoadErrors run everywhere (no driver is an error value); APIDevice*
// cases need a CUDA device and skip without one.
//
//===----------------------------------------------------------------------===//

#include "DeviceSupport.h"

#include "gtest/gtest.h"

#include <cstring>
#include <random>

using namespace nvfp4;
using nvfp4::testing::DeviceCopies;
using nvfp4::testing::errorOf;
using nvfp4::testing::randomMatrix;

namespace {

TEST(DeviceLoadErrors, NoDriverIsAnError) {
  auto dev = Device::open(0, "libnvfp4-no-such-driver.so.1");
  ASSERT_FALSE(bool(dev));
  std::string message = errorOf(dev.takeError());
  EXPECT_EQ(message.rfind("cannot load the CUDA driver "
                          "(libnvfp4-no-such-driver.so.1): ",
                          0),
            0u)
      << message;
  // Loading is remembered per library, with the same answer.
  auto again = Device::open(0, "libnvfp4-no-such-driver.so.1");
  ASSERT_FALSE(bool(again));
  EXPECT_EQ(errorOf(again.takeError()), message);
}

TEST(DeviceLoadErrors, DriverWithoutTheEntryPointsIsAnError) {
  // A real library that is not the CUDA driver.
  auto dev = Device::open(0, "libm.so.6");
  ASSERT_FALSE(bool(dev));
  EXPECT_EQ(errorOf(dev.takeError()), "the CUDA driver lacks cuInit");
}

class APIDeviceQuantize : public ::testing::TestWithParam<const char *> {};

TEST_P(APIDeviceQuantize, SameBytesAsTheHost) {
  REQUIRE_DEVICE(dev);
  const char *recipe = GetParam();
  // The split form: nvfp4.amax into the amax buffers, then a quantize that
  // reads them (amax = given); else the one-shot quantize. Both give the
  // host's one-shot bytes.
  std::string computed = recipe;
  bool split = computed.find(", amax = given") != std::string::npos;
  if (split)
    computed.resize(computed.find(", amax = given"));
  int64_t rows = 64, cols = 256;
  std::vector<float> x = randomMatrix(rows, cols, 3);
  auto want =
      nvfp4::quantize(computed, ElementType::F32, x.data(), rows, cols);
  ASSERT_TRUE(bool(want)) << errorOf(want.takeError());

  auto shapes = quantizeShapes(recipe, rows, cols);
  ASSERT_TRUE(bool(shapes));
  auto input = dev->allocate(x.size() * 4);
  ASSERT_TRUE(bool(input)) << errorOf(input.takeError());
  ASSERT_FALSE(bool(input->copyFromHost(x.data(), x.size() * 4)));
  DeviceCopies copies{dev, {}};
  DeviceOutputs outputs = copies.outputsFor(*shapes);
  std::vector<DeviceBuffer> &buffers = copies.buffers;
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream)) << errorOf(stream.takeError());
  if (split) {
    ASSERT_FALSE(bool(nvfp4::amax(
        *stream, computed, ElementType::F32, input->ptr(), rows, cols,
        outputs.rowwise ? outputs.rowwise->amax : 0,
        outputs.columnwise ? outputs.columnwise->amax : 0)));
  }
  ASSERT_FALSE(bool(nvfp4::quantize(*stream, recipe, ElementType::F32,
                                    input->ptr(), rows, cols, outputs)));
  ASSERT_FALSE(bool(stream->synchronize()));
  size_t next = 0;
  for (const std::optional<QuantizedOutput> *w :
       {&want->rowwise, &want->columnwise}) {
    if (!*w)
      continue;
    std::vector<uint8_t> data((*w)->data.size()), scale((*w)->scale.size());
    std::vector<float> amax((*w)->amax.size());
    ASSERT_FALSE(bool(buffers[next++].copyToHost(data.data(), data.size())));
    ASSERT_FALSE(bool(buffers[next++].copyToHost(scale.data(), scale.size())));
    ASSERT_FALSE(
        bool(buffers[next++].copyToHost(amax.data(), amax.size() * 4)));
    EXPECT_EQ(data, (*w)->data);
    EXPECT_EQ(scale, (*w)->scale);
    EXPECT_EQ(amax, (*w)->amax);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, APIDeviceQuantize,
    ::testing::Values("per_tensor", "per_token", "local_1x64",
                      "per_token, directions = [rowwise, columnwise], "
                      "sf_layout = 128x4",
                      // nvfp4::amax, then a quantize reading its amaxes.
                      "per_tensor, amax = given",
                      "per_tensor_rht, sf_layout = 128x4, amax = given",
                      "local_1x64, amax = given"));

TEST(APIDeviceCalls, ErrorsAreValues) {
  REQUIRE_DEVICE(dev);
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream));
  auto buffer = dev->allocate(1024);
  ASSERT_TRUE(bool(buffer));
  // Bad shape.
  DeviceOutputs outputs;
  outputs.rowwise = DeviceQuantized{buffer->ptr(), buffer->ptr(), buffer->ptr()};
  llvm::Error e = nvfp4::quantize(*stream, "per_tensor", ElementType::F32,
                                  buffer->ptr(), 4, 100, outputs);
  ASSERT_TRUE(bool(e));
  EXPECT_EQ(errorOf(std::move(e)),
            "expected quantized dimension K to be a multiple of 16, got 100");
  // Missing output.
  e = nvfp4::quantize(*stream, "per_tensor", ElementType::F32, buffer->ptr(),
                      4, 32, DeviceOutputs());
  ASSERT_TRUE(bool(e));
  EXPECT_EQ(errorOf(std::move(e)), "the recipe produces a rowwise output but "
                                   "none was given");
  // Misaligned input.
  e = nvfp4::quantize(*stream, "per_tensor", ElementType::F32,
                      buffer->ptr() + 4, 4, 32, outputs);
  ASSERT_TRUE(bool(e));
  EXPECT_NE(errorOf(std::move(e)).find("is not aligned to 16 elements (64 bytes)"),
            std::string::npos);
  // Out-of-range copy.
  std::vector<char> host(2048);
  e = buffer->copyFromHost(host.data(), host.size());
  ASSERT_TRUE(bool(e));
  consumeError(std::move(e));
  // Absurd allocation names the driver call and its error.
  auto huge = dev->allocate(size_t(1) << 60);
  ASSERT_FALSE(bool(huge));
  EXPECT_NE(errorOf(huge.takeError()).find("cuMemAlloc_v2 failed: CUDA_ERROR_"),
            std::string::npos);
  // So does an absurd stream-ordered one (the GEMM workspaces'); a small
  // one comes back and is freed on the same stream.
  auto hugeAsync = dev->cuda().allocAsync(size_t(1) << 60, stream->handle());
  ASSERT_FALSE(bool(hugeAsync));
  EXPECT_NE(errorOf(hugeAsync.takeError())
                .find("cuMemAllocFromPoolAsync failed: CUDA_ERROR_"),
            std::string::npos);
  auto small = dev->cuda().allocAsync(4096, stream->handle());
  ASSERT_TRUE(bool(small)) << errorOf(small.takeError());
  e = dev->cuda().freeAsync(*small, stream->handle());
  EXPECT_FALSE(bool(e)) << errorOf(std::move(e));
  e = dev->cuda().synchronizeStream(stream->handle());
  EXPECT_FALSE(bool(e)) << errorOf(std::move(e));
}

TEST(APIDeviceDequantize, MatchesTheHost) {
  REQUIRE_DEVICE(dev);
  int64_t rows = 32, cols = 64;
  std::vector<float> x = randomMatrix(rows, cols, 5);
  auto q = nvfp4::quantize("per_tensor", ElementType::F32, x.data(), rows, cols);
  ASSERT_TRUE(bool(q));
  auto want = nvfp4::dequantize("per_tensor", *q->rowwise);
  ASSERT_TRUE(bool(want));
  const QuantizedOutput &o = *q->rowwise;
  auto data = dev->allocate(o.data.size());
  auto scale = dev->allocate(o.scale.size());
  auto amax = dev->allocate(o.amax.size() * 4);
  auto out = dev->allocate(rows * cols * 4);
  ASSERT_TRUE(data && scale && amax && out);
  ASSERT_FALSE(bool(data->copyFromHost(o.data.data(), o.data.size())));
  ASSERT_FALSE(bool(scale->copyFromHost(o.scale.data(), o.scale.size())));
  ASSERT_FALSE(bool(amax->copyFromHost(o.amax.data(), o.amax.size() * 4)));
  Stream stream = dev->wrapStream(nullptr);
  llvm::Error e = nvfp4::dequantize(
      stream, "per_tensor", DeviceQuantized{data->ptr(), scale->ptr(), amax->ptr()},
      rows, cols, out->ptr());
  ASSERT_FALSE(bool(e)) << errorOf(std::move(e));
  ASSERT_FALSE(bool(stream.synchronize()));
  std::vector<float> got(rows * cols);
  ASSERT_FALSE(bool(out->copyToHost(got.data(), got.size() * 4)));
  EXPECT_EQ(0, std::memcmp(got.data(), want->data(), got.size() * 4));
}

} // namespace
