//===- MatmulW4A16GPUTest.cpp - W4A16 GEMMs on the GPU --------------------===//
//
// nvfp4.matmul_w4a16 on the GPU (sm_90a kernels: mma.sync up to M = 256,
// the wgmma pipeline beyond): every kernel configuration (M from 1 to past
// 256, where the large-M kernel takes over),
// bf16 and f16 A, every B recipe class, every output type, bias, ragged N
// and K (K % 64 != 0: a partial last chunk), compared with a float64
// product of A's exact values and B dequantized on the host (SPEC.md
// section 12: f32 output within a relative Frobenius error of 1e-5, bf16
// and f16 within one output ulp plus the fp32 accumulation bound). NaN and
// Inf in A must land where the CPU lowering puts them. Compilation runs
// everywhere (ptxas only); execution skips without a CUDA device.
//
//===----------------------------------------------------------------------===//

#include "../Runtime/Inputs.h"
#include "../Runtime/SharedRunner.h"
#include "SharedGPURunner.h"
#include "nvfp4/Runtime/Matmul.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace mlir::nvfp4;
using namespace ::nvfp4::testing;
using ::nvfp4::ElementType;
using ::nvfp4::MatmulOptions;
using ::nvfp4::QuantizedOutput;

namespace {
const char *const kBRecipes[] = {"per_tensor", "per_token", "local_1x64",
                                 "four_over_six", "per_tensor_2d"};

double value16(const std::vector<uint8_t> &bytes, size_t i, ElementType t) {
  uint16_t h = uint16_t(bytes[2 * i] | (bytes[2 * i + 1] << 8));
  return t == ElementType::BF16 ? ::nvfp4::bf16ToFloat(h)
                                : ::nvfp4::f16ToFloat(h);
}

double outValue(const std::vector<uint8_t> &d, size_t i, ElementType t) {
  if (t == ElementType::F32) {
    float f;
    std::memcpy(&f, d.data() + 4 * i, 4);
    return f;
  }
  return value16(d, i, t);
}

double ulp(double x, ElementType out) {
  x = std::fabs(x);
  int exp = x > 0 ? std::ilogb(x) : -1000;
  if (out == ElementType::BF16)
    return std::ldexp(1.0, std::max(exp, -126) - 7);
  return std::ldexp(1.0, std::max(exp, -14) - 10);
}

class GPUMatmulW4A16 : public ::testing::Test {
protected:
  RecipeAttr recipe(::nvfp4::GPURunner &r, const char *name) {
    auto p = ::nvfp4::parseRecipe(r.getContext(),
                                  std::string(name) + ", sf_layout = 128x4");
    EXPECT_TRUE(bool(p)) << llvm::toString(p.takeError());
    return *p;
  }

  /// NaN, Inf and -0 rows of an M-row A against the CPU lowering.
  void specialValues(int64_t m);

  /// The runner run() multiplies on; null: the shared one.
  ::nvfp4::GPURunner *runner = nullptr;

  /// Runs one W4A16 GEMM on the GPU and checks it; `a` holds `aType`
  /// bytes. Returns the output.
  std::vector<uint8_t> run(ElementType aType, const char *bName, int64_t m,
                           int64_t n, int64_t k, ElementType out, bool bias,
                           const std::vector<uint8_t> &a,
                           const std::vector<float> &xb) {
    auto &gpu = runner ? *runner : sharedGPURunner();
    RecipeAttr rb = recipe(gpu, bName);
    auto qb = gpu.quantize(rb, ElementType::F32, xb.data(), n, k);
    EXPECT_TRUE(bool(qb)) << llvm::toString(qb.takeError());
    const QuantizedOutput &b = *qb->rowwise;
    MatmulOptions options;
    options.out = out;
    if (bias) {
      std::vector<float> v(n);
      for (int64_t j = 0; j < n; ++j)
        v[j] = float(j % 7) * 0.5f - 1.5f;
      options.bias = v;
    }
    auto d = gpu.matmulW4A16(aType, a.data(), m, k, rb, b, options);
    EXPECT_TRUE(bool(d)) << llvm::toString(d.takeError());
    if (!d)
      return {};
    auto deq = gpu.dequantize(rb, b);
    EXPECT_TRUE(bool(deq)) << llvm::toString(deq.takeError());
    if (!deq)
      return {};
    // B dequantized to f32 is within 2^-24 of its exact value: that and
    // the accumulation bound widen the tolerance.
    double errSq = 0, refSq = 0;
    int failures = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double ref = 0, absSum = 0;
        for (int64_t t = 0; t < k; ++t) {
          double p = value16(a, size_t(i * k + t), aType) *
                     double((*deq)[size_t(j * k + t)]);
          ref += p;
          absSum += std::fabs(p);
        }
        if (bias)
          ref += (*options.bias)[j];
        double got = outValue(*d, size_t(i * n + j), out);
        if (std::isnan(ref) || std::isinf(ref)) {
          if (std::isnan(ref) ? !std::isnan(got) : got != ref)
            ++failures;
          continue;
        }
        if (out == ElementType::F32) {
          errSq += (got - ref) * (got - ref);
          refSq += ref * ref;
          continue;
        }
        double tol =
            ulp(ref, out) + (4.0 * std::sqrt(double(k)) + 2) * 0x1p-24 * absSum;
        if (!(std::fabs(got - ref) <= tol) && ++failures <= 5)
          ADD_FAILURE() << bName << " M=" << m << " D(" << i << ", " << j
                        << ") = " << got << ", reference " << ref;
      }
    EXPECT_EQ(failures, 0) << bName << " M=" << m;
    if (out == ElementType::F32 && refSq > 0)
      EXPECT_LE(std::sqrt(errSq / refSq), 1e-5) << bName << " M=" << m;
    return *d;
  }
};

std::vector<float> matrix(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> x(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      x[r * cols + c] = normal(rng) * std::ldexp(1.0f, int(r % 5) - 2) *
                        std::ldexp(1.0f, int((c / 64) % 3) - 1);
  return x;
}

// Every kernel configuration (small_m8/16/32, medium_m, large-M), both
// A types, every B recipe class, bf16 output with bias; N not a multiple of
// any tile, K with a partial last chunk.
TEST_F(GPUMatmulW4A16, EveryConfigurationAndRecipe) {
  REQUIRE_GPU();
  const int64_t n = 200, k = 352;
  for (ElementType aType : {ElementType::BF16, ElementType::F16})
    for (const char *bName : kBRecipes)
      for (int64_t m : {1, 7, 16, 30, 100, 256, 300}) {
        std::vector<uint8_t> a = toStorage(matrix(m, k, unsigned(m)), aType);
        run(aType, bName, m, n, k, ElementType::BF16, /*bias=*/true, a,
            matrix(n, k, 99));
      }
}

// f32 and f16 outputs without bias, K = 16 (one block, a partial chunk).
TEST_F(GPUMatmulW4A16, OutputTypesAndShortK) {
  REQUIRE_GPU();
  for (ElementType aType : {ElementType::BF16, ElementType::F16})
    for (const char *bName : {"per_token", "local_1x64"})
      for (auto [m, k] :
           {std::pair<int64_t, int64_t>{5, 16}, {40, 208}, {513, 64}}) {
        std::vector<uint8_t> a = toStorage(matrix(m, k, 3), aType);
        run(aType, bName, m, 72, k, ElementType::F32, false, a,
            matrix(72, k, 4));
        run(aType, bName, m, 72, k, ElementType::F16, false, a,
            matrix(72, k, 4));
      }
}

// K split over thread-block clusters of every size the direct kernels
// take (forced; small_m8 at M = 1 and 5, small_m16, small_m32, medium_m at
// M = 200), both A types, a plain and a window B, ragged N; K = 4112 has a
// partial 65th chunk that no split divides, K = 80 fewer chunks than most
// clusters have CTAs. Each split is checked against float64 and is
// deterministic.
TEST_F(GPUMatmulW4A16, EveryClusterSplit) {
  REQUIRE_GPU();
  for (ElementType aType : {ElementType::BF16, ElementType::F16})
    for (const char *bName : {"per_token", "local_1x64"})
      for (int64_t m : {1, 5, 16, 32, 200})
        for (int64_t k : {4112, 80}) {
          std::vector<uint8_t> a = toStorage(matrix(m, k, unsigned(m)), aType);
          std::vector<float> b = matrix(72, k, 8);
          for (unsigned split : {1u, 2u, 3u, 4u, 8u}) {
            SCOPED_TRACE(std::string(bName) + " M=" + std::to_string(m) +
                         " K=" + std::to_string(k) +
                         " S=" + std::to_string(split));
            ForcedClusterSplit forced(split);
            ElementType out = split % 2 ? ElementType::BF16 : ElementType::F32;
            std::vector<uint8_t> first =
                run(aType, bName, m, 72, k, out, split != 2, a, b);
            std::vector<uint8_t> second =
                run(aType, bName, m, 72, k, out, split != 2, a, b);
            EXPECT_EQ(first, second) << "not deterministic";
          }
        }
}

// NaN and Inf in A propagate as on the CPU, including in the last block of
// a K whose last chunk is partial (the blocks past K must read as zeros,
// not as a clamped copy of the last block: B's zero there times an Inf
// would be NaN in every column).
TEST_F(GPUMatmulW4A16, SpecialValuesMatchTheCPU) {
  REQUIRE_GPU();
  // M = 9 runs a direct kernel, M = 300 the large-M one.
  for (int64_t m : {9, 300})
    specialValues(m);
}

void GPUMatmulW4A16::specialValues(int64_t m) {
  const int64_t n = 48, k = 80;
  std::vector<float> xa = matrix(m, k, 5);
  xa[1 * k + 3] = NAN;
  xa[2 * k + k - 1] = INFINITY; // the last block
  xa[3 * k + 70] = -INFINITY;
  for (int64_t c = 0; c < k; ++c)
    xa[4 * k + c] = -0.0f;
  std::vector<float> xb = matrix(n, k, 6);
  for (ElementType aType : {ElementType::BF16, ElementType::F16})
    for (const char *bName : {"per_tensor", "per_token", "local_1x64"}) {
      std::vector<uint8_t> a = toStorage(xa, aType);
      std::vector<uint8_t> gpu =
          run(aType, bName, m, n, k, ElementType::F32, true, a, xb);
      auto &host = sharedRunner();
      auto rb = host.parseRecipe(std::string(bName) + ", sf_layout = 128x4");
      ASSERT_TRUE(bool(rb));
      auto qb = host.quantize(*rb, ElementType::F32, xb.data(), n, k);
      ASSERT_TRUE(bool(qb));
      MatmulOptions options;
      options.out = ElementType::F32;
      options.bias = std::vector<float>(n, 0.5f);
      auto cpu =
          host.matmulW4A16(aType, a.data(), m, k, *rb, *qb->rowwise, options);
      ASSERT_TRUE(bool(cpu)) << llvm::toString(cpu.takeError());
      for (int64_t i = 0; i < m * n; ++i) {
        double g = outValue(gpu, size_t(i), ElementType::F32);
        double c = outValue(*cpu, size_t(i), ElementType::F32);
        EXPECT_EQ(std::isnan(g), std::isnan(c))
            << bName << " M=" << m << " element " << i;
        EXPECT_EQ(std::isinf(g), std::isinf(c))
            << bName << " M=" << m << " element " << i;
      }
    }
}

/// Whether the predecoded runner's W4A16 GEMMs of `aType` and `bName`
/// are the predecoded list (1x64-window B: the software pipeline).
void expectPredecodedList(ElementType aType, const char *bName) {
  auto &pre = predecodedGPURunner();
  auto rb = ::nvfp4::parseRecipe(pre.getContext(),
                                 std::string(bName) + ", sf_layout = 128x4");
  ASSERT_TRUE(bool(rb));
  auto compiled = pre.compileMatmulW4A16(aType, *rb, MatmulOptions());
  ASSERT_TRUE(bool(compiled)) << llvm::toString(compiled.takeError());
  if (std::string(bName) == "local_1x64")
    EXPECT_FALSE(anyPredecodedKernel((*compiled)->kernels));
  else
    EXPECT_EQ(predecodedListError((*compiled)->kernels), "") << bName;
}

// The predecoded large-M W4A16 GEMM (GPURunner::create's predecodedGemm):
// gemm_decode(A) converts the bf16 or f16 A into the workspace, gemm_decode
// (B) decodes B, then the workspace kernel multiplies. Both A types, every
// B recipe class (1x64 windows keep the software pipeline), M = 300 and
// 513 past the direct kernels, ragged N, K = 352 ending inside a 64-wide
// chunk, every output type, against float64; M = 256 still runs a direct
// kernel.
TEST_F(GPUMatmulW4A16, PredecodedKernel) {
  REQUIRE_GPU();
  runner = &predecodedGPURunner();
  const int64_t n = 200, k = 352;
  const ElementType outs[] = {ElementType::BF16, ElementType::F32,
                              ElementType::F16};
  int index = 0;
  for (ElementType aType : {ElementType::BF16, ElementType::F16})
    for (const char *bName : kBRecipes) {
      expectPredecodedList(aType, bName);
      for (int64_t m : {256, 300, 513}) {
        SCOPED_TRACE(std::string(bName) + " M=" + std::to_string(m));
        std::vector<uint8_t> a = toStorage(matrix(m, k, unsigned(m)), aType);
        run(aType, bName, m, n, k, outs[index % 3], index % 2 == 0, a,
            matrix(n, k, 99));
        ++index;
      }
    }
  // K = 64 (one chunk) and 4096 (every element is checked: N stays 520).
  for (ElementType aType : {ElementType::BF16, ElementType::F16}) {
    std::vector<uint8_t> a = toStorage(matrix(300, 64, 11), aType);
    run(aType, "per_token", 300, 72, 64, ElementType::F32, false, a,
        matrix(72, 64, 12));
    std::vector<uint8_t> big = toStorage(matrix(513, 4096, 13), aType);
    run(aType, "per_tensor", 513, 520, 4096, ElementType::BF16, true, big,
        matrix(520, 4096, 14));
  }
}

// NaN, Inf and -0 in A through the predecoded kernels land where the CPU
// lowering puts them (the decode must carry them into the workspace, and
// the zeros past K must stay zeros).
TEST_F(GPUMatmulW4A16, PredecodedSpecialValuesMatchTheCPU) {
  REQUIRE_GPU();
  runner = &predecodedGPURunner();
  for (int64_t m : {300, 513})
    specialValues(m);
}

// The kernels compile for sm_90a (ptxas only, no GPU): four direct
// configurations and the software-pipelined wgmma kernel, served by M in
// launch order.
TEST(GPUCompileMatmulW4A16, KernelsAndServingOrder) {
  auto &gpu = sharedGPURunner();
  for (ElementType aType : {ElementType::BF16, ElementType::F16}) {
    auto rb =
        ::nvfp4::parseRecipe(gpu.getContext(), "local_1x64, sf_layout = 128x4");
    ASSERT_TRUE(bool(rb));
    MatmulOptions options;
    auto compiled = gpu.compileMatmulW4A16(aType, *rb, options);
    ASSERT_TRUE(bool(compiled)) << llvm::toString(compiled.takeError());
    const auto &kernels = (*compiled)->kernels;
    ASSERT_EQ(kernels.size(), 5u);
    const int64_t maxM[] = {8, 16, 32, 256, 0};
    for (size_t i = 0; i < kernels.size(); ++i) {
      EXPECT_EQ(kernels[i].work, KernelWork::Gemm) << kernels[i].name;
      EXPECT_EQ(kernels[i].maxM, maxM[i]) << kernels[i].name;
      // The direct kernels split K over clusters; the wgmma kernel does not.
      EXPECT_EQ(kernels[i].clusterSplit, maxM[i] ? 8 : 1) << kernels[i].name;
    }
    EXPECT_NE(kernels.back().name.find("large_m_wgmma"), std::string::npos);
  }
}
} // namespace
