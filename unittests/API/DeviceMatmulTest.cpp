//===- DeviceMatmulTest.cpp - Device GEMMs, grouped forms, CUDA graphs ----===//
//
// The device entry points of the model step: nvfp4::matmul and
// nvfp4::groupedMatmul on device memory and a stream, groupedQuantize with
// splits in device memory, and all of them captured into a CUDA graph with
// cuStreamBeginCapture (global mode: any allocation, copy or
// synchronization inside the capture fails it) and replayed on changed
// inputs. Results are compared byte for byte with the host-memory
// conveniences, which run the same kernels. Every case needs a CUDA device
// and skips without one.
//
//===----------------------------------------------------------------------===//

#include "DeviceSupport.h"

#include "nvfp4/Support/FloatBits.h"

#include "llvm/ADT/StringExtras.h"

#include "gtest/gtest.h"

#include <cstring>
#include <random>

using namespace nvfp4;
using nvfp4::testing::DeviceCopies;
using nvfp4::testing::download;
using nvfp4::testing::errorOf;
using nvfp4::testing::randomMatrix;

namespace {

/// The host quantization of `x`, and its bytes.
QuantizedOutput hostQuantize(const char *recipe, const std::vector<float> &x,
                             int64_t rows, int64_t cols) {
  auto q = nvfp4::quantize(recipe, ElementType::F32, x.data(), rows, cols);
  EXPECT_TRUE(bool(q)) << errorOf(q.takeError());
  return q ? *q->rowwise : QuantizedOutput();
}

struct Pair {
  const char *a, *b;
};

class APIDeviceMatmul
    : public ::testing::TestWithParam<std::tuple<Pair, int64_t, ElementType>> {
};

TEST_P(APIDeviceMatmul, SameBytesAsTheHostConvenience) {
  REQUIRE_DEVICE(dev);
  auto [pair, m, out] = GetParam();
  int64_t n = 192, k = 320;
  std::vector<float> x = randomMatrix(m, k, 1, 2.0f),
                     w = randomMatrix(n, k, 2, 2.0f);
  std::vector<float> bias = randomMatrix(1, n, 3, 2.0f);
  QuantizedOutput a = hostQuantize(pair.a, x, m, k);
  QuantizedOutput b = hostQuantize(pair.b, w, n, k);
  MatmulOptions host;
  host.alpha = 0.75f;
  host.bias = bias;
  host.out = out;
  auto target = dev->target();
  ASSERT_TRUE(bool(target));
  auto want = nvfp4::matmul(pair.a, a, pair.b, b, host, *target);
  ASSERT_TRUE(bool(want)) << errorOf(want.takeError());

  DeviceCopies d{dev, {}};
  DeviceMatmulOptions options;
  options.alpha = host.alpha;
  options.bias = d.add(bias.data(), bias.size() * 4);
  options.out = out;
  CUdeviceptr output = d.add(nullptr, want->size());
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream));
  llvm::Error e = nvfp4::matmul(*stream, pair.a, d.add(a), m, pair.b, d.add(b),
                                n, k, options, output);
  ASSERT_FALSE(bool(e)) << errorOf(std::move(e));
  ASSERT_FALSE(bool(stream->synchronize()));
  EXPECT_EQ(download(output, want->size()), *want);
}

INSTANTIATE_TEST_SUITE_P(
    Pairs, APIDeviceMatmul,
    ::testing::Combine(
        ::testing::Values(Pair{"per_token, sf_layout = 128x4",
                               "per_tensor_2d, sf_layout = 128x4"},
                          Pair{"per_tensor, sf_layout = 128x4",
                               "per_tensor, sf_layout = 128x4"},
                          Pair{"local_1x64, sf_layout = 128x4",
                               "per_token, sf_layout = 128x4"}),
        // Direct kernels (M <= 256) and the large-M kernel.
        ::testing::Values(int64_t(1), int64_t(13), int64_t(300)),
        ::testing::Values(ElementType::BF16, ElementType::F32)));

/// A grouped quantization on the device with splits in device memory, and
/// the grouped GEMM of its result with stacked B operands.
TEST(APIDeviceGroupedMatmul, SameBytesAsTheHostConvenience) {
  REQUIRE_DEVICE(dev);
  const char *aRecipe = "per_token, sf_layout = 128x4";
  const char *bRecipe = "per_tensor_2d, sf_layout = 128x4";
  std::vector<int64_t> splits{5, 0, 130, 1, 0};
  int64_t groups = int64_t(splits.size()), m = 136, n = 96, k = 192;
  std::vector<float> x = randomMatrix(m, k, 4, 2.0f),
                     w = randomMatrix(groups * n, k, 5, 2.0f);
  std::vector<float> bias = randomMatrix(groups, n, 6, 2.0f);

  // The reference: host quantizations and the host-memory grouped GEMM.
  auto compiler = Compiler::shared("cpu");
  ASSERT_TRUE(bool(compiler));
  HostRunner &host = *(*compiler)->hostRunner();
  auto ra = host.parseRecipe(aRecipe), rb = host.parseRecipe(bRecipe);
  ASSERT_TRUE(ra && rb);
  auto qa = host.quantizeGrouped(*ra, ElementType::F32, x.data(), m, k, splits);
  ASSERT_TRUE(bool(qa)) << errorOf(qa.takeError());
  std::vector<QuantizedOutput> qb;
  for (int64_t g = 0; g < groups; ++g) {
    auto q = host.quantize(*rb, ElementType::F32, w.data() + g * n * k, n, k);
    ASSERT_TRUE(bool(q)) << errorOf(q.takeError());
    qb.push_back(*q->rowwise);
  }
  MatmulOptions hostOptions;
  hostOptions.bias = bias;
  auto target = dev->target();
  ASSERT_TRUE(bool(target));
  auto gpu = Compiler::shared(*target);
  ASSERT_TRUE(bool(gpu));
  GPURunner &runner = *(*gpu)->gpuRunner();
  auto gra = (*gpu)->parseRecipe(aRecipe);
  auto grb = (*gpu)->parseRecipe(bRecipe);
  ASSERT_TRUE(gra && grb);
  auto want =
      runner.matmulGrouped(*gra, *qa->rowwise, splits, *grb, qb, hostOptions);
  ASSERT_TRUE(bool(want)) << errorOf(want.takeError());

  // On the device: A and the stacked B quantized there, splits never read
  // by the host.
  DeviceCopies d{dev, {}};
  CUdeviceptr xDev = d.add(x.data(), x.size() * 4);
  CUdeviceptr wDev = d.add(w.data(), w.size() * 4);
  CUdeviceptr splitsDev = d.add(splits.data(), splits.size() * 8);
  std::vector<int64_t> bSplits(groups, n);
  CUdeviceptr bSplitsDev = d.add(bSplits.data(), bSplits.size() * 8);
  auto aShapes = describeOutputs(*ra, m, k, groups);
  auto bShapes = describeOutputs(*rb, groups * n, k, groups);
  ASSERT_TRUE(aShapes && bShapes);
  DeviceOutputs aDev = d.outputsFor(*aShapes), bDev = d.outputsFor(*bShapes);
  DeviceMatmulOptions options;
  options.bias = d.add(bias.data(), bias.size() * 4);
  CUdeviceptr output = d.add(nullptr, want->size());
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream));
  llvm::Error e = groupedQuantize(*stream, aRecipe, ElementType::F32, xDev, m,
                                  k, splitsDev, groups, aDev);
  ASSERT_FALSE(bool(e)) << errorOf(std::move(e));
  e = groupedQuantize(*stream, bRecipe, ElementType::F32, wDev, groups * n, k,
                      bSplitsDev, groups, bDev);
  ASSERT_FALSE(bool(e)) << errorOf(std::move(e));
  e = groupedMatmul(*stream, aRecipe, *aDev.rowwise, m, splitsDev, groups,
                    bRecipe, *bDev.rowwise, n, k, options, output);
  ASSERT_FALSE(bool(e)) << errorOf(std::move(e));
  ASSERT_FALSE(bool(stream->synchronize()));
  // A's device quantization is the host's, byte for byte.
  EXPECT_EQ(download(aDev.rowwise->data, qa->rowwise->data.size()),
            qa->rowwise->data);
  EXPECT_EQ(download(output, want->size()), *want);
}

/// quantize, grouped quantize, matmul, grouped matmul and dequantize
/// captured once into a graph; replays on new inputs (copied in place)
/// give the bytes eager calls give.
TEST(APIDeviceGraph, CapturedStepReplaysOnNewInputs) {
  REQUIRE_DEVICE(dev);
  const char *aRecipe = "per_token, sf_layout = 128x4";
  const char *bRecipe = "per_tensor_2d, sf_layout = 128x4";
  int64_t m = 16, n = 128, k = 256, groups = 2;
  std::vector<int64_t> splits{9, 7};
  std::vector<float> w = randomMatrix(groups * n, k, 7, 2.0f);
  auto aShapes = quantizeShapes(aRecipe, m, k);
  auto bShapes = quantizeShapes(bRecipe, n, k);
  ASSERT_TRUE(aShapes && bShapes);

  DeviceCopies d{dev, {}};
  CUdeviceptr xDev = d.add(nullptr, size_t(m * k) * 4);
  CUdeviceptr wDev = d.add(w.data(), w.size() * 4);
  CUdeviceptr splitsDev = d.add(splits.data(), splits.size() * 8);
  std::vector<int64_t> bSplits(groups, n);
  CUdeviceptr bSplitsDev = d.add(bSplits.data(), bSplits.size() * 8);
  auto compiler = Compiler::shared("cpu");
  ASSERT_TRUE(bool(compiler));
  auto ra = (*compiler)->parseRecipe(aRecipe);
  auto rb = (*compiler)->parseRecipe(bRecipe);
  ASSERT_TRUE(ra && rb);
  auto gaShapes = describeOutputs(*ra, m, k, groups);
  auto gbShapes = describeOutputs(*rb, groups * n, k, groups);
  ASSERT_TRUE(gaShapes && gbShapes);
  DeviceOutputs a = d.outputsFor(*aShapes), b = d.outputsFor(*bShapes);
  DeviceOutputs ga = d.outputsFor(*gaShapes), gb = d.outputsFor(*gbShapes);
  size_t outBytes = size_t(m * n) * 2;
  CUdeviceptr out = d.add(nullptr, outBytes);
  CUdeviceptr groupedOut = d.add(nullptr, outBytes);
  CUdeviceptr dequant = d.add(nullptr, size_t(m * k) * 4);
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream));

  auto step = [&]() -> llvm::Error {
    if (llvm::Error e =
            nvfp4::quantize(*stream, aRecipe, ElementType::F32, xDev, m, k, a))
      return e;
    if (llvm::Error e =
            nvfp4::quantize(*stream, bRecipe, ElementType::F32, wDev, n, k, b))
      return e;
    if (llvm::Error e = nvfp4::matmul(*stream, aRecipe, *a.rowwise, m, bRecipe,
                                      *b.rowwise, n, k, {}, out))
      return e;
    if (llvm::Error e = groupedQuantize(*stream, aRecipe, ElementType::F32,
                                        xDev, m, k, splitsDev, groups, ga))
      return e;
    if (llvm::Error e =
            groupedQuantize(*stream, bRecipe, ElementType::F32, wDev,
                            groups * n, k, bSplitsDev, groups, gb))
      return e;
    if (llvm::Error e =
            groupedMatmul(*stream, aRecipe, *ga.rowwise, m, splitsDev, groups,
                          bRecipe, *gb.rowwise, n, k, {}, groupedOut))
      return e;
    return nvfp4::dequantize(*stream, aRecipe, *a.rowwise, m, k, dequant);
  };
  auto results = [&] {
    EXPECT_FALSE(bool(stream->synchronize()));
    return std::make_tuple(download(out, outBytes),
                           download(groupedOut, outBytes),
                           download(dequant, size_t(m * k) * 4));
  };

  // Eager first: compiles and loads every kernel, which a capture must
  // not do.
  std::vector<float> x1 = randomMatrix(m, k, 8, 2.0f),
                     x2 = randomMatrix(m, k, 9, 2.0f);
  ASSERT_FALSE(bool(dev->cuda().copyToDevice(xDev, x1.data(), x1.size() * 4)));
  llvm::Error e = step();
  ASSERT_FALSE(bool(e)) << errorOf(std::move(e));
  auto eager1 = results();
  ASSERT_FALSE(bool(dev->cuda().copyToDevice(xDev, x2.data(), x2.size() * 4)));
  e = step();
  ASSERT_FALSE(bool(e)) << errorOf(std::move(e));
  auto eager2 = results();
  ASSERT_NE(std::get<0>(eager1), std::get<0>(eager2));

  auto graph = dev->cuda().captureGraph(stream->handle(), step);
  ASSERT_TRUE(bool(graph)) << errorOf(graph.takeError());
  for (auto [x, eager] :
       {std::make_pair(&x1, &eager1), std::make_pair(&x2, &eager2)}) {
    ASSERT_FALSE(
        bool(dev->cuda().copyToDevice(xDev, x->data(), x->size() * 4)));
    ASSERT_FALSE(bool(dev->cuda().launchGraph(*graph, stream->handle())));
    EXPECT_EQ(results(), *eager);
  }
  dev->cuda().destroyGraph(*graph);
}

TEST(APIDeviceMatmulErrors, CheckedBeforeLaunch) {
  REQUIRE_DEVICE(dev);
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream));
  auto buffer = dev->allocate(1 << 16);
  ASSERT_TRUE(bool(buffer));
  CUdeviceptr p = buffer->ptr();
  DeviceQuantized q{p, p, p};
  const char *r = "per_tensor, sf_layout = 128x4";
  auto error = [&](const char *a, DeviceQuantized qa, int64_t m, int64_t k,
                   DeviceMatmulOptions options, CUdeviceptr out) {
    return errorOf(nvfp4::matmul(*stream, a, qa, m, r, q, 32, k, options, out));
  };
  EXPECT_EQ(error("per_tensor", q, 4, 64, {}, p),
            "matmul operands must use sf_layout = 128x4 scales (the "
            "block-scaled MMA layout); A uses linear");
  EXPECT_EQ(error(r, q, 4, 40, {}, p),
            "expected K to be a multiple of 16, got 40");
  EXPECT_EQ(error(r, q, 0, 64, {}, p),
            "expected A to be a non-empty matrix of at most 2^60 elements, "
            "got 0 x 64");
  EXPECT_EQ(error(r, DeviceQuantized{p, 0, p}, 4, 64, {}, p),
            "null device buffer for A scale");
  EXPECT_EQ(error(r, DeviceQuantized{p + 4, p, p}, 4, 64, {}, p),
            "the device A data at 0x" +
                llvm::utohexstr(p + 4, /*LowerCase=*/true) +
                " is not aligned to 8 bytes");
  DeviceMatmulOptions f32;
  f32.out = ElementType::F32;
  EXPECT_EQ(error(r, q, 4, 64, f32, p + 2),
            "the device output at 0x" +
                llvm::utohexstr(p + 2, /*LowerCase=*/true) +
                " is not aligned to 4 bytes");
  DeviceMatmulOptions bad;
  bad.out = ElementType(7);
  EXPECT_EQ(error(r, q, 4, 64, bad, p),
            "unknown GEMM output type 7 (expected f32, f16 or bf16)");
  EXPECT_EQ(errorOf(groupedMatmul(*stream, r, q, 4, p, 0, r, q, 32, 64, {}, p)),
            "expected at least one group, got 0");
  EXPECT_EQ(errorOf(groupedMatmul(*stream, r, q, 4, 0, 2, r, q, 32, 64, {}, p)),
            "null device buffer for splits");
  ASSERT_FALSE(bool(stream->synchronize()));
}

/// W4A16 on device memory gives the bytes of the host-memory convenience
/// (the same kernels): every direct configuration and the large-M one, bf16
/// and f16 A, tensor, row and window B.
class APIDeviceMatmulW4A16
    : public ::testing::TestWithParam<
          std::tuple<const char *, int64_t, ElementType>> {};

TEST_P(APIDeviceMatmulW4A16, SameBytesAsTheHostConvenience) {
  REQUIRE_DEVICE(dev);
  auto [bRecipe, m, aType] = GetParam();
  int64_t n = 192, k = 320;
  std::vector<float> x = randomMatrix(m, k, 1, 2.0f),
                     w = randomMatrix(n, k, 2, 2.0f);
  std::vector<uint16_t> a(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    a[i] = aType == ElementType::BF16 ? floatToBF16(x[i]) : floatToF16(x[i]);
  std::vector<float> bias = randomMatrix(1, n, 3, 2.0f);
  QuantizedOutput b = hostQuantize(bRecipe, w, n, k);
  MatmulOptions host;
  host.alpha = 0.5f;
  host.bias = bias;
  auto target = dev->target();
  ASSERT_TRUE(bool(target));
  auto want = nvfp4::matmulW4A16(aType, a.data(), m, k, bRecipe, b, host,
                                 *target);
  ASSERT_TRUE(bool(want)) << errorOf(want.takeError());

  DeviceCopies d{dev, {}};
  DeviceMatmulOptions options;
  options.alpha = host.alpha;
  options.bias = d.add(bias.data(), bias.size() * 4);
  CUdeviceptr output = d.add(nullptr, want->size());
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream));
  llvm::Error e =
      nvfp4::matmul(*stream, aType, d.add(a.data(), a.size() * 2), m, bRecipe,
                    d.add(b), n, k, options, output);
  ASSERT_FALSE(bool(e)) << errorOf(std::move(e));
  ASSERT_FALSE(bool(stream->synchronize()));
  EXPECT_EQ(download(output, want->size()), *want);
}

INSTANTIATE_TEST_SUITE_P(
    W4A16, APIDeviceMatmulW4A16,
    ::testing::Combine(::testing::Values("per_tensor, sf_layout = 128x4",
                                         "per_token, sf_layout = 128x4",
                                         "local_1x64, sf_layout = 128x4"),
                       ::testing::Values(int64_t(1), int64_t(13), int64_t(300)),
                       ::testing::Values(ElementType::BF16, ElementType::F16)));

TEST(APIDeviceMatmulErrors, W4A16CheckedBeforeLaunch) {
  REQUIRE_DEVICE(dev);
  auto stream = dev->createStream();
  ASSERT_TRUE(bool(stream));
  auto buffer = dev->allocate(1 << 16);
  ASSERT_TRUE(bool(buffer));
  CUdeviceptr p = buffer->ptr();
  DeviceQuantized q{p, p, p};
  const char *r = "per_tensor, sf_layout = 128x4";
  auto error = [&](ElementType t, CUdeviceptr a, int64_t m, int64_t k,
                   const char *b) {
    return errorOf(nvfp4::matmul(*stream, t, a, m, b, q, 32, k, {}, p));
  };
  EXPECT_EQ(error(ElementType::F32, p, 4, 64, r),
            "expected a W4A16 A of bf16 or f16, got f32 (quantize it for "
            "nvfp4.matmul, or cast it)");
  EXPECT_EQ(error(ElementType::BF16, p, 4, 40, r),
            "expected K to be a multiple of 16, got 40");
  EXPECT_EQ(error(ElementType::BF16, p, 0, 64, r),
            "expected A to be a non-empty matrix of at most 2^60 elements, "
            "got 0 x 64");
  EXPECT_EQ(error(ElementType::F16, p, 4, 64, "per_tensor"),
            "matmul operands must use sf_layout = 128x4 scales (the "
            "block-scaled MMA layout); B uses linear");
  EXPECT_EQ(error(ElementType::F16, 0, 4, 64, r), "null device buffer for A");
  EXPECT_EQ(error(ElementType::F16, p + 8, 4, 64, r),
            "the device A at 0x" + llvm::utohexstr(p + 8, /*LowerCase=*/true) +
                " is not aligned to 16 bytes");
  ASSERT_FALSE(bool(stream->synchronize()));
}

} // namespace
