//===- MatmulTest.cpp - Host GEMMs vs the float64 reference ---------------===//
//
// Every operand recipe pair, bias on and off, every output type, ragged M,
// N and K (windows shorter than 64 at the end of K), grouped GEMMs with
// empty groups, and adversarial operands, each compared with the float64
// reference of exactly dequantized operands (GemmReference.h).
//
// Tolerance (SPEC.md section 12): f32 output within a relative Frobenius
// error of 1e-5; bf16/f16 output within one output ulp per element. The
// FP32 accumulation order is a kernel choice, so an element whose sum
// cancels may also carry the FP32 accumulation error bound
// (K/16 + 24) * 2^-24 * sum|a*b| (16 lanes, one ordered lane reduction,
// window promotions and the epilogue's roundings).
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Runtime/Matmul.h"
#include "GemmReference.h"
#include "Inputs.h"
#include "SharedRunner.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Support/FloatBits.h"

#include "gtest/gtest.h"

#include <cfloat>
#include <cmath>
#include <random>
#include <string>

using namespace mlir::nvfp4;
namespace ref = ::nvfp4::ref;
using ::nvfp4::ElementType;
using ::nvfp4::HostRunner;
using ::nvfp4::MatmulOptions;
using ::nvfp4::QuantizedOutput;

namespace {
const char *const kRecipes[] = {"per_tensor", "per_token", "local_1x64",
                                "four_over_six"};

/// The fields of a dialect recipe the GEMM reference reads.
ref::Recipe toReference(RecipeAttr r) {
  ref::Recipe out;
  out.outer = r.getOuter() == OuterGroup::Tensor ? ref::Outer::Tensor
              : r.getOuter() == OuterGroup::Row  ? ref::Outer::Row
                                                 : ref::Outer::Window;
  out.window = r.getWindow();
  out.numerics = r.getNumerics() == Numerics::Quotient
                     ? ref::Numerics::Quotient
                     : ref::Numerics::Reciprocal;
  out.e4m3Max = r.getE4m3Max();
  out.layout = ref::SfLayout::Swizzle128x4;
  return out;
}

/// The raw amax of element (r, c) of a (possibly grouped) operand.
float amaxAt(RecipeAttr recipe, const QuantizedOutput &q, int64_t r, int64_t c,
             int64_t group) {
  switch (recipe.getOuter()) {
  case OuterGroup::Tensor:
    return q.amax[group];
  case OuterGroup::Row:
    return q.amax[r];
  case OuterGroup::Window:
    return q.amax[r * q.amaxShape[1] + c / 64];
  }
  return 0;
}

std::vector<double> exact(RecipeAttr recipe, const QuantizedOutput &q) {
  return ref::dequantizeExact(
      toReference(recipe), q.rows, q.cols, q.data.data(), q.scale.data(),
      [](int64_t r) { return r; },
      [&](int64_t r, int64_t c) { return amaxAt(recipe, q, r, c, 0); });
}

/// Rows of different magnitudes (per-token amaxes differ) and 64-column
/// stripes of different magnitudes (window amaxes differ).
std::vector<float> randomMatrix(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> x(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      x[r * cols + c] = normal(rng) * std::ldexp(1.0f, int(r % 5) - 2) *
                        std::ldexp(1.0f, int((c / 64) % 3) - 1);
  return x;
}

double toDouble(const std::vector<uint8_t> &bytes, ElementType t, size_t i) {
  if (t == ElementType::F32) {
    float f;
    std::memcpy(&f, &bytes[4 * i], 4);
    return f;
  }
  uint16_t h = uint16_t(bytes[2 * i] | (bytes[2 * i + 1] << 8));
  return t == ElementType::BF16 ? ::nvfp4::bf16ToFloat(h)
                                : ::nvfp4::f16ToFloat(h);
}

/// One ulp of the output type at the magnitude of `v`.
double ulp(ElementType t, double v) {
  int mantissa = t == ElementType::BF16 ? 7 : 10;
  int minExp = t == ElementType::BF16 ? -126 : -14;
  int e = v == 0 ? minExp
                 : std::max(int(std::floor(std::log2(std::fabs(v)))), minExp);
  return std::ldexp(1.0, e - mantissa);
}

const char *typeName(ElementType t) {
  return t == ElementType::F32 ? "f32" : t == ElementType::F16 ? "f16" : "bf16";
}

/// Compares a GEMM output with the reference under SPEC.md's tolerance.
void expectClose(const std::vector<uint8_t> &out, ElementType t,
                 const std::vector<double> &want,
                 const std::vector<double> &absSum, int64_t k,
                 const std::string &what) {
  ASSERT_EQ(out.size(), want.size() * ::nvfp4::elementSize(t)) << what;
  const double accBound = (double(k) / 16 + 24) * std::ldexp(1.0, -24);
  double errNorm = 0, refNorm = 0;
  int failures = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double got = toDouble(out, t, i), w = want[i];
    // Beyond the output type's range the reference rounds to +-Inf too.
    double maxFinite = t == ElementType::F32    ? double(FLT_MAX)
                       : t == ElementType::BF16 ? 0x1.FEp127
                                                : 65504.0;
    if (std::fabs(w) > maxFinite)
      w = std::copysign(INFINITY, w);
    if (std::isnan(w) || std::isnan(got)) {
      EXPECT_EQ(std::isnan(got), std::isnan(w)) << what << " element " << i;
      continue;
    }
    if (std::isinf(w) || std::isinf(got)) {
      EXPECT_EQ(got, w) << what << " element " << i;
      continue;
    }
    errNorm += (got - w) * (got - w);
    refNorm += w * w;
    if (t == ElementType::F32)
      continue;
    double tol = ulp(t, w) + accBound * absSum[i];
    if (!(std::fabs(got - w) <= tol) && ++failures <= 5)
      ADD_FAILURE() << what << " element " << i << ": got " << got
                    << ", reference " << w << " (" << typeName(t)
                    << " tolerance " << tol << ")";
  }
  if (t == ElementType::F32)
    EXPECT_LE(std::sqrt(errNorm), 1e-5 * std::sqrt(refNorm)) << what;
  EXPECT_EQ(failures, 0) << what;
}

class Matmul : public ::testing::Test {
protected:
  HostRunner *runner = &::nvfp4::testing::sharedRunner();

  RecipeAttr recipe(const std::string &name) {
    auto r = runner->parseRecipe(name + ", sf_layout = 128x4");
    EXPECT_TRUE(bool(r)) << llvm::toString(r.takeError());
    return *r;
  }
  QuantizedOutput quantize(RecipeAttr r, const std::vector<float> &x,
                           int64_t rows, int64_t cols) {
    auto q = runner->quantize(r, ElementType::F32, x.data(), rows, cols);
    EXPECT_TRUE(bool(q)) << llvm::toString(q.takeError());
    return *q->rowwise;
  }

  /// Runs one GEMM and compares it with the reference.
  void check(const std::string &aName, const std::string &bName, int64_t m,
             int64_t n, int64_t k, ElementType out, bool bias, float alpha,
             const std::vector<float> &xa, const std::vector<float> &xb) {
    RecipeAttr ra = recipe(aName), rb = recipe(bName);
    QuantizedOutput a = quantize(ra, xa, m, k), b = quantize(rb, xb, n, k);
    MatmulOptions options;
    options.alpha = alpha;
    options.out = out;
    if (bias) {
      std::vector<float> v(n);
      for (int64_t j = 0; j < n; ++j)
        v[j] = float(j % 9) * 0.25f - 1.0f;
      options.bias = v;
    }
    auto d = runner->matmul(ra, a, rb, b, options);
    ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());
    std::vector<double> ea = exact(ra, a), eb = exact(rb, b);
    std::string what = aName + " x " + bName + " " + std::to_string(m) + "x" +
                       std::to_string(n) + "x" + std::to_string(k) + " " +
                       typeName(out) + (bias ? " bias" : "");
    expectClose(*d, out,
                ref::gemm(ea, eb, m, n, k, alpha,
                          bias ? options.bias->data() : nullptr),
                ref::gemmAbs(ea, eb, m, n, k, alpha), k, what);
  }
  void checkRandom(const std::string &aName, const std::string &bName,
                   int64_t m, int64_t n, int64_t k, ElementType out, bool bias,
                   float alpha) {
    check(aName, bName, m, n, k, out, bias, alpha, randomMatrix(m, k, 1 + m),
          randomMatrix(n, k, 100 + n));
  }
};

class MatmulPairs : public Matmul,
                    public ::testing::WithParamInterface<
                        std::tuple<const char *, const char *>> {};

// Every recipe pair, bf16 output with bias: M from 1 to past one 128-row
// scale tile, N not a multiple of the 64-row panel, K with a short last
// window (240 = 3 full windows + 48) and a single window (64).
TEST_P(MatmulPairs, MatchesFloat64Reference) {
  auto [a, b] = GetParam();
  const std::array<int64_t, 3> shapes[] = {
      {1, 256, 256}, {7, 72, 240}, {128, 256, 64}, {130, 200, 160}};
  for (auto [m, n, k] : shapes)
    checkRandom(a, b, m, n, k, ElementType::BF16, /*bias=*/true, 1.0f);
}

INSTANTIATE_TEST_SUITE_P(AllRecipePairs, MatmulPairs,
                         ::testing::Combine(::testing::ValuesIn(kRecipes),
                                            ::testing::ValuesIn(kRecipes)),
                         [](const auto &info) {
                           return std::string(std::get<0>(info.param)) + "_x_" +
                                  std::get<1>(info.param);
                         });

// f32 and f16 outputs, bias off and on, a user alpha, on every recipe
// paired with itself.
TEST_F(Matmul, OutputTypesAlphaBias) {
  for (const char *r : kRecipes) {
    checkRandom(r, r, 33, 96, 192, ElementType::F32, /*bias=*/false, 0.75f);
    checkRandom(r, r, 33, 96, 208, ElementType::F16, /*bias=*/true, 1.0f);
    checkRandom(r, r, 5, 16, 32, ElementType::BF16, /*bias=*/false, 1.0f);
  }
}

// The other presets as GEMM operands: 16x16-block weights (scales
// replicated over the tile's rows), the quotient form per row (floored
// amax), 4over6 with E = 448 and the MSE metric.
TEST_F(Matmul, MoreRecipes) {
  const std::pair<const char *, const char *> pairs[] = {
      {"per_token", "per_tensor_2d"},
      {"per_token_quotient", "per_tensor"},
      {"four_over_six_mse", "four_over_six, e4m3_max = 448"},
      {"local_1x64", "per_tensor_2d"}};
  for (auto [a, b] : pairs)
    checkRandom(a, b, 19, 48, 176, ElementType::BF16, /*bias=*/true, 1.0f);
}

// Zero operands: every product is 0, so the output is the bias exactly
// (per-tensor amax 0 decodes through S_enc = 1; the quotient form floors).
TEST_F(Matmul, ZeroOperands) {
  for (const char *r : kRecipes) {
    const int64_t m = 9, n = 40, k = 128;
    std::vector<float> zeros(m * k, 0.0f), xb = randomMatrix(n, k, 3);
    check(r, r, m, n, k, ElementType::BF16, /*bias=*/true, 1.0f, zeros, xb);
    check(r, "per_tensor", m, n, k, ElementType::F32, /*bias=*/false, 1.0f,
          zeros, xb);
  }
}

// Every element at its group's maximum: code 6 with scale 448 (or the
// 4over6 map-to-4 candidate) everywhere; the sums are large and exact.
TEST_F(Matmul, AllMaxValues) {
  const int64_t m = 16, n = 32, k = 256;
  std::vector<float> xa(m * k, 1000.0f), xb(n * k, -500.0f);
  for (const char *r : kRecipes)
    check(r, r, m, n, k, ElementType::BF16, /*bias=*/false, 1.0f, xa, xb);
}

// Products beyond the f32 range become +-Inf as the reference's do.
TEST_F(Matmul, OverflowToInfinity) {
  const int64_t m = 2, n = 16, k = 64;
  std::vector<float> xa(m * k, 3e38f), xb(n * k, 3e38f);
  check("per_tensor", "per_tensor", m, n, k, ElementType::F32, false, 1.0f, xa,
        xb);
  check("per_token", "per_token", m, n, k, ElementType::BF16, false, 1.0f, xa,
        xb);
}

// Grouped: each group's rows of A times its own B, with empty groups first,
// in the middle and last; A's scales restart on a fresh 128-row tile per
// group and a per-tensor A has one amax per group.
TEST_F(Matmul, GroupedWithEmptyGroups) {
  const std::pair<const char *, const char *> pairs[] = {
      {"per_tensor", "per_tensor"},
      {"per_token", "local_1x64"},
      {"local_1x64", "per_token"},
      {"four_over_six", "four_over_six"}};
  const std::vector<int64_t> splits = {0, 5, 0, 130, 17, 0};
  const int64_t n = 72, k = 160, groups = int64_t(splits.size());
  int64_t m = 0;
  for (int64_t s : splits)
    m += s;
  for (auto [aName, bName] : pairs) {
    for (bool bias : {false, true}) {
      RecipeAttr ra = recipe(aName), rb = recipe(bName);
      std::vector<float> xa = randomMatrix(m, k, 11);
      auto qa = runner->quantizeGrouped(ra, ElementType::F32, xa.data(), m, k,
                                        splits);
      ASSERT_TRUE(bool(qa)) << llvm::toString(qa.takeError());
      const QuantizedOutput &a = *qa->rowwise;
      std::vector<QuantizedOutput> b;
      for (int64_t g = 0; g < groups; ++g)
        b.push_back(quantize(rb, randomMatrix(n, k, 50 + unsigned(g)), n, k));
      MatmulOptions options;
      options.out = ElementType::BF16;
      if (bias) {
        std::vector<float> v(groups * n);
        for (size_t i = 0; i < v.size(); ++i)
          v[i] = float(i % 7) - 3.0f;
        options.bias = v;
      }
      auto d = runner->matmulGrouped(ra, a, splits, rb, b, options);
      ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());

      // Group g's rows of A, then its reference product.
      std::vector<uint8_t> got = *d;
      int64_t row0 = 0, scaleRow0 = 0;
      for (int64_t g = 0; g < groups; ++g) {
        int64_t mg = splits[g];
        if (mg == 0)
          continue;
        std::vector<double> ea = ref::dequantizeExact(
            toReference(ra), mg, k, a.data.data() + row0 * (k / 2),
            a.scale.data(), [&](int64_t r) { return scaleRow0 + r; },
            [&](int64_t r, int64_t c) {
              return amaxAt(ra, a, row0 + r, c, g);
            });
        std::vector<double> eb = exact(rb, b[g]);
        std::vector<uint8_t> part(got.begin() + row0 * n * 2,
                                  got.begin() + (row0 + mg) * n * 2);
        expectClose(part, ElementType::BF16,
                    ref::gemm(ea, eb, mg, n, k, 1.0,
                              bias ? options.bias->data() + g * n : nullptr),
                    ref::gemmAbs(ea, eb, mg, n, k, 1.0), k,
                    std::string("grouped ") + aName + " x " + bName +
                        " group " + std::to_string(g));
        row0 += mg;
        scaleRow0 += roundUp(mg, 128);
      }
    }
  }
}

// Host checks name the violated constraint before any kernel runs.
TEST_F(Matmul, OperandErrors) {
  RecipeAttr pt = recipe("per_tensor");
  QuantizedOutput a = quantize(pt, randomMatrix(4, 64, 1), 4, 64);
  QuantizedOutput b = quantize(pt, randomMatrix(8, 32, 2), 8, 32);
  auto message = [](llvm::Expected<std::vector<uint8_t>> r) {
    EXPECT_FALSE(bool(r));
    return r ? std::string() : llvm::toString(r.takeError());
  };
  EXPECT_NE(message(runner->matmul(pt, a, pt, b, {})).find("share K"),
            std::string::npos);

  auto linear = runner->parseRecipe("per_tensor");
  ASSERT_TRUE(bool(linear));
  QuantizedOutput al = quantize(*linear, randomMatrix(4, 64, 1), 4, 64);
  EXPECT_NE(message(runner->matmul(*linear, al, pt, a, {}))
                .find("must use sf_layout = 128x4"),
            std::string::npos);

  MatmulOptions badBias;
  badBias.bias = std::vector<float>(3, 0.0f);
  EXPECT_NE(message(runner->matmul(pt, a, pt, a, badBias))
                .find("expected a bias of 4 values, got 3"),
            std::string::npos);

  auto qa = runner->quantizeGrouped(
      pt, ElementType::F32, randomMatrix(4, 64, 1).data(), 4, 64, {1, 3});
  ASSERT_TRUE(bool(qa));
  std::vector<QuantizedOutput> bs = {a, a};
  EXPECT_NE(message(runner->matmulGrouped(pt, *qa->rowwise, {2, 3}, pt, bs, {}))
                .find("add up to 4 rows, got 5"),
            std::string::npos);
  EXPECT_NE(message(runner->matmulGrouped(pt, *qa->rowwise, {1, 3}, pt,
                                          llvm::ArrayRef(bs).take_front(), {}))
                .find("expected one B per group"),
            std::string::npos);
}
//===----------------------------------------------------------------------===//
// W4A16: a bf16/f16 A as given times an NVFP4 B
//===----------------------------------------------------------------------===//

class MatmulW4A16 : public Matmul {
protected:
  /// Runs one W4A16 GEMM of `xa` rounded to `aType` and `xb` quantized with
  /// `bName`, and compares it with the float64 GEMM of A's exact values and
  /// B's exactly dequantized ones.
  void check(ElementType aType, const std::string &bName, int64_t m,
             int64_t n, int64_t k, ElementType out, bool bias, float alpha,
             const std::vector<float> &xa, const std::vector<float> &xb) {
    RecipeAttr rb = recipe(bName);
    QuantizedOutput b = quantize(rb, xb, n, k);
    std::vector<uint8_t> a = ::nvfp4::testing::toStorage(xa, aType);
    MatmulOptions options;
    options.alpha = alpha;
    options.out = out;
    if (bias) {
      std::vector<float> v(n);
      for (int64_t j = 0; j < n; ++j)
        v[j] = float(j % 9) * 0.25f - 1.0f;
      options.bias = v;
    }
    auto d = runner->matmulW4A16(aType, a.data(), m, k, rb, b, options);
    ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());
    std::vector<double> ea =
        ref::widen16(reinterpret_cast<const uint16_t *>(a.data()), m * k,
                     aType == ElementType::BF16);
    std::vector<double> eb = exact(rb, b);
    std::string what = std::string("w4a16 ") + typeName(aType) + " x " +
                       bName + " " + std::to_string(m) + "x" +
                       std::to_string(n) + "x" + std::to_string(k) + " " +
                       typeName(out) + (bias ? " bias" : "");
    expectClose(*d, out,
                ref::gemm(ea, eb, m, n, k, alpha,
                          bias ? options.bias->data() : nullptr),
                ref::gemmAbs(ea, eb, m, n, k, alpha), k, what);
  }
  void checkRandom(ElementType aType, const std::string &bName, int64_t m,
                   int64_t n, int64_t k, ElementType out, bool bias,
                   float alpha) {
    check(aType, bName, m, n, k, out, bias, alpha, randomMatrix(m, k, 1 + m),
          randomMatrix(n, k, 100 + n));
  }
};

// Every B recipe class (tensor, row, window; 4over6, 16x16 blocks, the
// quotient form) with bf16 and f16 A: ragged M (one row, a partial and a
// second 128-row scale tile), N off the 64-row panel, K with a short last
// window and K = 16 (one block, one short window).
TEST_F(MatmulW4A16, EveryBRecipeAndAType) {
  const char *const recipes[] = {"per_tensor", "per_token", "local_1x64",
                                 "four_over_six", "per_tensor_2d",
                                 "per_token_quotient"};
  const std::array<int64_t, 3> shapes[] = {
      {1, 256, 256}, {7, 72, 240}, {130, 200, 160}, {3, 40, 16}};
  for (ElementType aType : {ElementType::BF16, ElementType::F16})
    for (const char *r : recipes)
      for (auto [m, n, k] : shapes)
        checkRandom(aType, r, m, n, k, ElementType::BF16, /*bias=*/true, 1.0f);
}

// Output types, bias off and on, a user alpha.
TEST_F(MatmulW4A16, OutputTypesAlphaBias) {
  for (ElementType aType : {ElementType::BF16, ElementType::F16})
    for (const char *r : kRecipes) {
      checkRandom(aType, r, 33, 96, 192, ElementType::F32, false, 0.75f);
      checkRandom(aType, r, 33, 96, 208, ElementType::F16, true, 1.0f);
      checkRandom(aType, r, 5, 16, 32, ElementType::BF16, false, 1.0f);
      checkRandom(aType, r, 17, 24, 64, ElementType::F32, true, -2.0f);
    }
}

// A is used exactly as given: NaN and +-Inf propagate as IEEE products and
// sums do (Inf times a zero B element is NaN), -0 contributes zeros, bf16
// subnormals and values far outside E2M1's range are not rescaled.
TEST_F(MatmulW4A16, SpecialValuesInA) {
  const int64_t m = 6, n = 48, k = 128;
  std::vector<float> xa = randomMatrix(m, k, 7);
  for (int64_t c = 0; c < k; ++c) {
    xa[0 * k + c] = -0.0f;                                // all -0
    xa[4 * k + c] = std::ldexp(float(c % 7) - 3.0f, -130); // subnormals
    xa[5 * k + c] = std::ldexp(float(c % 5) - 2.0f, 100);  // huge
  }
  xa[1 * k + 5] = NAN;
  xa[2 * k + 77] = INFINITY;
  xa[3 * k + 3] = -INFINITY;
  std::vector<float> xb = randomMatrix(n, k, 8);
  for (int64_t c = 0; c < k; ++c)
    xb[7 * k + c] = 0.0f; // a zero row of B: Inf * 0 = NaN in column 7
  for (ElementType aType : {ElementType::BF16, ElementType::F16})
    for (const char *r : kRecipes)
      for (ElementType out : {ElementType::F32, ElementType::BF16})
        check(aType, r, m, n, k, out, /*bias=*/true, 1.0f, xa, xb);
}

// Host checks name the violated constraint before any kernel runs.
TEST_F(MatmulW4A16, OperandErrors) {
  RecipeAttr pt = recipe("per_tensor");
  QuantizedOutput b = quantize(pt, randomMatrix(8, 32, 2), 8, 32);
  std::vector<uint16_t> a(4 * 64, 0);
  auto message = [](llvm::Expected<std::vector<uint8_t>> r) {
    EXPECT_FALSE(bool(r));
    return r ? std::string() : llvm::toString(r.takeError());
  };
  EXPECT_NE(message(runner->matmulW4A16(ElementType::BF16, a.data(), 4, 64, pt,
                                        b, {}))
                .find("expected A and B to share K, got A 4x64 and B 8x32"),
            std::string::npos);
  EXPECT_NE(message(runner->matmulW4A16(ElementType::F32, a.data(), 4, 32, pt,
                                        b, {}))
                .find("expected a W4A16 A of bf16 or f16, got f32"),
            std::string::npos);
  EXPECT_NE(message(runner->matmulW4A16(ElementType::F16, a.data(), 4, 40, pt,
                                        b, {}))
                .find("expected K to be a multiple of 16, got 40"),
            std::string::npos);
  EXPECT_NE(message(runner->matmulW4A16(ElementType::F16, a.data(), 0, 32, pt,
                                        b, {}))
                .find("expected A to be a non-empty matrix"),
            std::string::npos);
  MatmulOptions badBias;
  badBias.bias = std::vector<float>(3, 0.0f);
  EXPECT_NE(message(runner->matmulW4A16(ElementType::BF16, a.data(), 4, 32, pt,
                                        b, badBias))
                .find("expected a bias of 8 values, got 3"),
            std::string::npos);
  auto linear = runner->parseRecipe("per_tensor");
  ASSERT_TRUE(bool(linear));
  QuantizedOutput bl = quantize(*linear, randomMatrix(8, 32, 2), 8, 32);
  EXPECT_NE(message(runner->matmulW4A16(ElementType::BF16, a.data(), 4, 32,
                                        *linear, bl, {}))
                .find("must use sf_layout = 128x4"),
            std::string::npos);
}
} // namespace
