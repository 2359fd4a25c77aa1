//===- CAPIProducerTest.cpp - The producers through the C ABI -------------===//
//
// The host producer entry points of nvfp4-c/NVFP4.h, through the shared
// library the Python package loads: a fused call gives the bytes of the
// producer alone followed by nvfp4_quantize_sized, the residual is updated
// in place, and every buffer size is checked (and nothing written) before
// anything is read. The bytes themselves are checked against the reference
// in NVFP4RuntimeTests (ProducerTest.cpp).
//
//===----------------------------------------------------------------------===//

#include "nvfp4-c/NVFP4.h"

#include "gtest/gtest.h"

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

struct RunnerDeleter {
  void operator()(nvfp4_runner *r) const { nvfp4_runner_destroy(r); }
};
struct ResultDeleter {
  void operator()(nvfp4_result *r) const { nvfp4_result_destroy(r); }
};
using Result = std::unique_ptr<nvfp4_result, ResultDeleter>;

/// Every buffer of every direction of `r`, as bytes.
std::vector<std::vector<uint8_t>> bytesOf(const nvfp4_result *r) {
  std::vector<std::vector<uint8_t>> out;
  for (int d : {NVFP4_ROWWISE, NVFP4_COLUMNWISE}) {
    if (!nvfp4_result_has(r, d))
      continue;
    for (int kind : {NVFP4_DATA, NVFP4_SCALE, NVFP4_AMAX}) {
      int64_t shape[2] = {1, 1};
      int ndim = 0;
      auto *p = static_cast<const uint8_t *>(
          nvfp4_result_buffer(r, d, kind, shape, &ndim));
      size_t n = ndim == 2 ? size_t(shape[0] * shape[1]) : size_t(shape[0]);
      out.emplace_back(p, p + n * (kind == NVFP4_AMAX ? 4 : 1));
    }
  }
  return out;
}

class CAPIProducer : public ::testing::Test {
protected:
  void SetUp() override {
    char error[256] = "";
    runner.reset(nvfp4_host_runner_create(error, sizeof(error)));
    ASSERT_TRUE(runner) << error;
    std::mt19937 rng(4);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float &v : x)
      v = normal(rng);
    for (float &v : r)
      v = normal(rng);
    for (float &v : w)
      v = 1.0f + 0.25f * normal(rng);
  }
  static constexpr int64_t m = 16, k = 64;
  std::unique_ptr<nvfp4_runner, RunnerDeleter> runner;
  std::vector<float> x = std::vector<float>(m * k), r = x,
                     w = std::vector<float>(k);
  char error[512] = "";
};

// RMSNorm with a residual: fused == alone then quantize; the residual is
// overwritten in place with h by both; y and rstd agree.
TEST_F(CAPIProducer, RMSNormFusedEqualsAloneThenQuantize) {
  std::vector<float> r1 = r, r2 = r, y1(m * k), y2(m * k), rstd1(m), rstd2(m);
  Result fused(nvfp4_rms_norm_quantize_host_sized(
      runner.get(), "per_token", NVFP4_F32, x.data(), x.size() * 4, w.data(),
      w.size() * 4, r1.data(), r1.size() * 4, 1e-6f, m, k, rstd1.data(), m,
      y1.data(), y1.size() * 4, nullptr, 0, nullptr, 0, error, sizeof(error)));
  ASSERT_TRUE(fused) << error;
  ASSERT_EQ(nvfp4_rms_norm_host_sized(
                runner.get(), NVFP4_F32, x.data(), x.size() * 4, w.data(),
                w.size() * 4, r2.data(), r2.size() * 4, 1e-6f, m, k, y2.data(),
                y2.size() * 4, rstd2.data(), m, error, sizeof(error)),
            0)
      << error;
  EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * 4), 0);
  EXPECT_EQ(std::memcmp(rstd1.data(), rstd2.data(), m * 4), 0);
  EXPECT_EQ(std::memcmp(r1.data(), r2.data(), r1.size() * 4), 0);
  // h = x + r, as stored (f32: one rounding).
  EXPECT_EQ(r1[5], x[5] + r[5]);
  Result unfused(nvfp4_quantize_sized(runner.get(), "per_token", NVFP4_F32,
                                      y2.data(), y2.size() * 4, m, k, error,
                                      sizeof(error)));
  ASSERT_TRUE(unfused) << error;
  EXPECT_EQ(bytesOf(fused.get()), bytesOf(unfused.get()));
}

// A gated activation of 2 x 32 columns in bf16: fused == alone then
// quantize, with y not wanted by the fused call.
TEST_F(CAPIProducer, GatedActFusedEqualsAloneThenQuantize) {
  std::vector<uint16_t> xb(m * k);
  for (size_t i = 0; i < xb.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], 4);
    xb[i] = uint16_t(bits >> 16); // truncation: any bf16 values will do
  }
  for (int act : {NVFP4_SILU, NVFP4_GELU_TANH}) {
    Result fused(nvfp4_gated_act_quantize_host_sized(
        runner.get(), "per_tensor, directions = [rowwise, columnwise]",
        NVFP4_BF16, act, xb.data(), xb.size() * 2, m, k, nullptr, 0, nullptr, 0,
        nullptr, 0, error, sizeof(error)));
    ASSERT_TRUE(fused) << error;
    std::vector<uint16_t> y(m * k / 2);
    ASSERT_EQ(nvfp4_gated_act_host_sized(
                  runner.get(), NVFP4_BF16, act, xb.data(), xb.size() * 2, m, k,
                  y.data(), y.size() * 2, error, sizeof(error)),
              0)
        << error;
    Result unfused(nvfp4_quantize_sized(
        runner.get(), "per_tensor, directions = [rowwise, columnwise]",
        NVFP4_BF16, y.data(), y.size() * 2, m, k / 2, error, sizeof(error)));
    ASSERT_TRUE(unfused) << error;
    EXPECT_EQ(bytesOf(fused.get()), bytesOf(unfused.get())) << "act " << act;
  }
}

// Each buffer's size is checked before anything is read or written: the
// message names the buffer and the residual is left as it was.
TEST_F(CAPIProducer, SizesAreCheckedFirst) {
  std::vector<float> res = r, y(m * k), rstd(m);
  auto fused = [&](size_t inputSize, size_t weightSize, size_t residualSize,
                   size_t rstdCount, size_t ySize) {
    Result out(nvfp4_rms_norm_quantize_host_sized(
        runner.get(), "per_token", NVFP4_F32, x.data(), inputSize, w.data(),
        weightSize, res.data(), residualSize, 1e-6f, m, k, rstd.data(),
        rstdCount, y.data(), ySize, nullptr, 0, nullptr, 0, error,
        sizeof(error)));
    EXPECT_FALSE(out);
    return std::string(error);
  };
  size_t xs = x.size() * 4, ws = w.size() * 4;
  EXPECT_EQ(fused(xs - 4, ws, xs, m, xs),
            "input: expected the input buffer to hold 4096 bytes (16x64 "
            "values of 4 bytes), got 4092");
  EXPECT_EQ(fused(xs, ws + 4, xs, m, xs),
            "weight: expected the weight buffer to hold 256 bytes (1x64 "
            "values of 4 bytes), got 260");
  EXPECT_EQ(fused(xs, ws, xs, m - 1, xs),
            "rstd: expected the rstd buffer to hold 64 bytes (16x1 values of "
            "4 bytes), got 60");
  EXPECT_EQ(fused(xs, ws, xs / 2, m, xs),
            "residual: expected the residual buffer to hold 4096 bytes (16x64 "
            "values of 4 bytes), got 2048");
  EXPECT_EQ(fused(xs, ws, xs, m, 0),
            "y: expected the y buffer to hold 4096 bytes (16x64 values of 4 "
            "bytes), got 0");
  EXPECT_EQ(res, r) << "a failed call wrote the residual";

  // Errors of the producer itself come back the same way, with nothing
  // written.
  Result badEps(nvfp4_rms_norm_quantize_host_sized(
      runner.get(), "per_token", NVFP4_F32, x.data(), xs, w.data(), ws,
      res.data(), xs, -1.0f, m, k, rstd.data(), m, nullptr, 0, nullptr, 0,
      nullptr, 0, error, sizeof(error)));
  EXPECT_FALSE(badEps);
  EXPECT_STREQ(error, "expected eps to be finite and positive, got -1");
  EXPECT_EQ(res, r);
  std::vector<float> half(m * k / 2);
  EXPECT_NE(nvfp4_gated_act_host_sized(runner.get(), NVFP4_F32, 7, x.data(), xs,
                                       m, k, half.data(), half.size() * 4,
                                       error, sizeof(error)),
            0);
  EXPECT_STREQ(error,
               "unknown activation 7 (expected NVFP4_SILU or NVFP4_GELU_TANH)");
  EXPECT_NE(nvfp4_gated_act_host_sized(runner.get(), NVFP4_F32, NVFP4_SILU,
                                       x.data(), xs, m, k, half.data(),
                                       half.size() * 2, error, sizeof(error)),
            0);
  EXPECT_STREQ(error, "y: expected the y buffer to hold 2048 bytes (16x32 "
                      "values of 4 bytes), got 1024");
  EXPECT_NE(nvfp4_gated_act_host_sized(runner.get(), NVFP4_F32, NVFP4_SILU,
                                       x.data(), xs, m, k, nullptr, 0, error,
                                       sizeof(error)),
            0);
  EXPECT_STREQ(error, "null runner, input or y");
}

} // namespace
