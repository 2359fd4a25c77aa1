//===- ProducerTest.cpp - Producers fused into a quantize, on the CPU -----===//
//
// SPEC.md section 15: a producer fused into a quantize gives the bytes of
// the producer alone followed by `quantize` of its result, and both equal
// the independent reference (ProducerReference.h for y, rstd and h, the
// scalar quantizer for the rest), for every recipe preset and storage
// dtype, on random and adversarial rows. Shapes are small: each distinct
// producer, recipe and dtype is a JIT compilation.
//
//===----------------------------------------------------------------------===//

#include "CompareResults.h"
#include "Inputs.h"
#include "ProducerReference.h"
#include "ReferenceRecipe.h"
#include "SharedRunner.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
#include "nvfp4/Runtime/Api.h"
#include "nvfp4/Runtime/Compiler.h"
#include "nvfp4/Runtime/HostRunner.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace ::nvfp4::testing;
using mlir::nvfp4::GatedActivation;
using ::nvfp4::ElementType;
using ::nvfp4::GivenAmax;
using ::nvfp4::HostRunner;
using ::nvfp4::ProducerQuantizeResult;
using ::nvfp4::ProducerResult;
using ::nvfp4::QuantizeResult;
namespace ref = ::nvfp4::ref;

namespace {

constexpr ElementType kTypes[] = {ElementType::F32, ElementType::BF16,
                                  ElementType::F16};

/// Inputs whose squares overflow binary32 (ss = +Inf, so y = +-0), or
/// that hold exactly the values RMSNorm must get right: -0.0 and whole
/// zero rows. Appended to the kinds of Inputs.h.
enum class Extra { Huge, ZeroRows };

std::vector<float> makeRows(int kind, int64_t m, int64_t k, std::mt19937 &rng) {
  constexpr int kKindCount = int(std::size(kKinds));
  if (kind < kKindCount)
    return makeInput(kKinds[kind], m, k, rng);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(m * k);
  for (int64_t i = 0; i < m * k; ++i) {
    if (Extra(kind - kKindCount) == Extra::Huge)
      // Squares of 1e20 overflow binary32; fp16 stores them as Inf.
      x[i] = normal(rng) * ((i / k) % 2 == 0 ? 1e20f : 1.0f);
    else
      x[i] = (i / k) % 3 == 0 ? ((i % 2) ? -0.0f : 0.0f) : normal(rng);
  }
  return x;
}
constexpr int kAllKinds = int(std::size(kKinds)) + 2;

/// Values of `type`: `x` rounded to it, widened back (what the reference
/// reads).
std::vector<float> rounded(const std::vector<float> &x, ElementType type) {
  std::vector<uint8_t> bytes = toStorage(x, type);
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    if (type == ElementType::F32) {
      std::memcpy(&out[i], &bytes[4 * i], 4);
      continue;
    }
    uint16_t h;
    std::memcpy(&h, &bytes[2 * i], 2);
    out[i] = type == ElementType::BF16 ? ::nvfp4::bf16ToFloat(h)
                                       : ::nvfp4::f16ToFloat(h);
  }
  return out;
}

/// The weights: N(1, 0.5) with a few zeros, -0.0 and a large value.
std::vector<float> makeWeight(int64_t k, std::mt19937 &rng) {
  std::normal_distribution<float> normal(1.0f, 0.5f);
  std::vector<float> w(k);
  for (int64_t i = 0; i < k; ++i)
    w[i] = i % 11 == 3   ? 0.0f
           : i % 13 == 5 ? -0.0f
           : i % 17 == 7 ? 300.0f
                         : normal(rng);
  return w;
}

/// The reference RMSNorm of every row: y, h and inv.
struct RefRMSNorm {
  std::vector<float> y, h, inv;
};
RefRMSNorm refRMSNorm(const std::vector<float> &x, const std::vector<float> *r,
                      const std::vector<float> &w, int64_t m, int64_t k,
                      float eps, ElementType type) {
  RefRMSNorm out{std::vector<float>(m * k), std::vector<float>(m * k),
                 std::vector<float>(m)};
  for (int64_t i = 0; i < m; ++i)
    ref::rmsNormRow(x.data() + i * k, r ? r->data() + i * k : nullptr, w.data(),
                    k, eps, toRefType(type), out.y.data() + i * k,
                    out.h.data() + i * k, &out.inv[i]);
  return out;
}

std::vector<float> refGatedAct(const std::vector<float> &x, int64_t m,
                               int64_t n, GatedActivation act,
                               ElementType type) {
  std::vector<float> y(m * n);
  for (int64_t i = 0; i < m; ++i)
    ref::gatedActRow(x.data() + i * 2 * n, n,
                     act == GatedActivation::SiLU ? ref::Activation::SiLU
                                                  : ref::Activation::GeluTanh,
                     toRefType(type), y.data() + i * n);
  return y;
}

std::string compareReference(const QuantizeResult &got,
                             const ref::Result &want) {
  for (auto [g, w] : {std::pair{&got.rowwise, &want.rowwise},
                      std::pair{&got.columnwise, &want.columnwise}}) {
    if (bool(*g) != bool(*w))
      return "directions differ";
    if (*g)
      if (std::string d = compare(**g, **w); !d.empty())
        return d;
  }
  return "";
}

class ProducerVsReference : public ::testing::TestWithParam<const char *> {
protected:
  HostRunner &runner = sharedRunner();
};

// For each dtype: the fused RMSNorm (residual and y toggled across dtypes)
// and gated activation (silu / gelu_tanh) equal the producer alone
// followed by quantize, and the reference, on every input kind.
TEST_P(ProducerVsReference, FusedEqualsUnfusedEqualsReference) {
  auto recipe = runner.parseRecipe(GetParam());
  ASSERT_TRUE(bool(recipe)) << llvm::toString(recipe.takeError());
  ref::Recipe refRecipe = toReference(*recipe);
  const int64_t m = 32, k = 64, n = 48;
  const float eps = 1e-6f;
  std::mt19937 rng(99);
  int cases = 0;
  for (auto [t, type] : llvm::enumerate(kTypes)) {
    bool withResidual = t != 2, wantY = t != 1;
    GatedActivation act =
        t == 1 ? GatedActivation::GeluTanh : GatedActivation::SiLU;
    std::vector<float> w = rounded(makeWeight(k, rng), type);
    std::vector<uint8_t> wBytes = toStorage(w, type);
    // Four input kinds per dtype, all kinds over the three dtypes.
    for (int kind = int(t); kind < kAllKinds; kind += 3) {
      std::string where = std::string(GetParam()) + " dtype " +
                          std::to_string(t) + " kind " + std::to_string(kind);
      // RMSNorm.
      std::vector<float> x = rounded(makeRows(kind, m, k, rng), type);
      std::vector<float> r =
          rounded(makeRows((kind + 5) % kAllKinds, m, k, rng), type);
      std::vector<uint8_t> xBytes = toStorage(x, type);
      std::vector<uint8_t> rBytes = toStorage(r, type);
      const void *residual = withResidual ? rBytes.data() : nullptr;
      auto fused =
          runner.rmsNormQuantize(*recipe, type, xBytes.data(), wBytes.data(),
                                 residual, eps, m, k, wantY);
      ASSERT_TRUE(bool(fused))
          << where << ": " << llvm::toString(fused.takeError());
      auto alone = runner.rmsNorm(type, xBytes.data(), wBytes.data(), residual,
                                  eps, m, k);
      ASSERT_TRUE(bool(alone)) << llvm::toString(alone.takeError());
      RefRMSNorm want =
          refRMSNorm(x, withResidual ? &r : nullptr, w, m, k, eps, type);
      std::vector<uint8_t> yBytes = toStorage(want.y, type);
      ASSERT_EQ(alone->y, yBytes) << "rms_norm y " << where;
      ASSERT_EQ(bitsOf(alone->rstd), bitsOf(want.inv)) << "rstd " << where;
      ASSERT_EQ(bitsOf(fused->producer.rstd), bitsOf(want.inv))
          << "fused rstd " << where;
      if (withResidual) {
        std::vector<uint8_t> wantH = toStorage(want.h, type);
        ASSERT_EQ(alone->residual, wantH) << "residual " << where;
        ASSERT_EQ(fused->producer.residual, wantH)
            << "fused residual " << where;
        ASSERT_EQ(rBytes, toStorage(r, type)) << "caller's residual changed";
      } else {
        ASSERT_TRUE(fused->producer.residual.empty());
      }
      if (wantY)
        ASSERT_EQ(fused->producer.y, yBytes) << "fused y " << where;
      else
        ASSERT_TRUE(fused->producer.y.empty());
      auto unfused = runner.quantize(*recipe, type, alone->y.data(), m, k);
      ASSERT_TRUE(bool(unfused)) << llvm::toString(unfused.takeError());
      ASSERT_EQ(compareResults(fused->quantized, *unfused), "")
          << "rms_norm_quantize vs quantize " << where;
      ASSERT_EQ(compareReference(fused->quantized,
                                 ref::quantize(refRecipe, want.y.data(), m, k,
                                               toRefType(type))),
                "")
          << "rms_norm_quantize vs reference " << where;

      // Gated activation.
      std::vector<float> g = rounded(makeRows(kind, m, 2 * n, rng), type);
      std::vector<uint8_t> gBytes = toStorage(g, type);
      auto gatedFused = runner.gatedActQuantize(*recipe, type, act,
                                                gBytes.data(), m, 2 * n, wantY);
      ASSERT_TRUE(bool(gatedFused))
          << where << ": " << llvm::toString(gatedFused.takeError());
      auto gatedAlone = runner.gatedAct(type, act, gBytes.data(), m, 2 * n);
      ASSERT_TRUE(bool(gatedAlone)) << llvm::toString(gatedAlone.takeError());
      std::vector<float> gy = refGatedAct(g, m, n, act, type);
      ASSERT_EQ(gatedAlone->y, toStorage(gy, type)) << "gated y " << where;
      ASSERT_TRUE(gatedAlone->rstd.empty() && gatedAlone->residual.empty());
      if (wantY)
        ASSERT_EQ(gatedFused->producer.y, gatedAlone->y)
            << "fused gated y " << where;
      auto gatedUnfused =
          runner.quantize(*recipe, type, gatedAlone->y.data(), m, n);
      ASSERT_TRUE(bool(gatedUnfused))
          << llvm::toString(gatedUnfused.takeError());
      ASSERT_EQ(compareResults(gatedFused->quantized, *gatedUnfused), "")
          << "gated_act_quantize vs quantize " << where;
      ASSERT_EQ(compareReference(
                    gatedFused->quantized,
                    ref::quantize(refRecipe, gy.data(), m, n, toRefType(type))),
                "")
          << "gated_act_quantize vs reference " << where;
      ++cases;
    }
  }
  EXPECT_GE(cases, kAllKinds);
}

// Every preset (NVFP4Recipe.cpp's table), the columnwise and both-direction
// forms (rstd and output kernels beside columnwise ones on the GPU), a
// swizzled layout and stochastic rounding.
const char *const kRecipes[] = {
    "per_tensor",
    "per_tensor_2d",
    "per_tensor_rht",
    "per_token",
    "per_token_quotient",
    "local_1x64",
    "four_over_six",
    "four_over_six_mse",
    "per_tensor, directions = [columnwise]",
    "per_token, directions = [rowwise, columnwise], sf_layout = 128x4",
    "per_tensor, rounding = stochastic<seed = 7>"};

INSTANTIATE_TEST_SUITE_P(Recipes, ProducerVsReference,
                         ::testing::ValuesIn(kRecipes));

// The list above names every preset of the recipe table.
TEST(ProducerVsReferenceRecipes, EveryPresetIsListed) {
  for (llvm::StringRef preset : mlir::nvfp4::RecipeAttr::getPresetNames())
    EXPECT_TRUE(llvm::is_contained(kRecipes, preset)) << preset.str();
}

// The producers alone take any number of columns: RMSNorm rows of 37
// values (a short last block) and a gated activation of odd width, with
// and without a residual, on every input kind.
TEST(ProducerAlone, AnyWidthMatchesReference) {
  HostRunner &runner = sharedRunner();
  std::mt19937 rng(5);
  const int64_t m = 9, k = 37, n = 19;
  for (ElementType type : kTypes) {
    for (int kind = 0; kind < kAllKinds; ++kind) {
      std::string where = "dtype " + std::to_string(int(type)) + " kind " +
                          std::to_string(kind);
      // With the special inputs the weights hold NaN and +-Inf too.
      std::vector<float> w = makeWeight(k, rng);
      if (kind < int(std::size(kKinds)) && kKinds[kind] == Kind::Specials) {
        w[1] = std::numeric_limits<float>::quiet_NaN();
        w[2] = std::numeric_limits<float>::infinity();
        w[20] = -std::numeric_limits<float>::infinity();
      }
      w = rounded(w, type);
      std::vector<uint8_t> wBytes = toStorage(w, type);
      std::vector<float> x = rounded(makeRows(kind, m, k, rng), type);
      std::vector<float> r = rounded(makeRows(kind, m, k, rng), type);
      std::vector<uint8_t> xBytes = toStorage(x, type),
                           rBytes = toStorage(r, type);
      for (bool withResidual : {false, true}) {
        float eps = withResidual ? 1e-5f : 1e-30f;
        auto got =
            runner.rmsNorm(type, xBytes.data(), wBytes.data(),
                           withResidual ? rBytes.data() : nullptr, eps, m, k);
        ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
        RefRMSNorm want =
            refRMSNorm(x, withResidual ? &r : nullptr, w, m, k, eps, type);
        EXPECT_EQ(got->y, toStorage(want.y, type)) << where;
        EXPECT_EQ(bitsOf(got->rstd), bitsOf(want.inv)) << where;
        if (withResidual)
          EXPECT_EQ(got->residual, toStorage(want.h, type)) << where;
        else
          EXPECT_TRUE(got->residual.empty()) << where;
      }
      std::vector<float> g = rounded(makeRows(kind, m, 2 * n, rng), type);
      std::vector<uint8_t> gBytes = toStorage(g, type);
      for (GatedActivation act :
           {GatedActivation::SiLU, GatedActivation::GeluTanh}) {
        auto got = runner.gatedAct(type, act, gBytes.data(), m, 2 * n);
        ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
        EXPECT_EQ(got->y, toStorage(refGatedAct(g, m, n, act, type), type))
            << where << " act " << int(act);
      }
    }
  }
}

// A columnwise-only recipe quantizes along M, so K need not be a multiple
// of 16: RMSNorm over 40 columns, a gated activation of width 24.
TEST(ProducerFused, ColumnwiseOnlyTakesAnyK) {
  HostRunner &runner = sharedRunner();
  auto recipe = runner.parseRecipe("per_token, directions = [columnwise]");
  ASSERT_TRUE(bool(recipe));
  ref::Recipe refRecipe = toReference(*recipe);
  std::mt19937 rng(8);
  const int64_t m = 48, k = 40, n = 24;
  ElementType type = ElementType::BF16;
  std::vector<float> w = rounded(makeWeight(k, rng), type);
  std::vector<float> x = rounded(makeRows(0, m, k, rng), type);
  std::vector<uint8_t> wBytes = toStorage(w, type), xBytes = toStorage(x, type);
  auto fused = runner.rmsNormQuantize(*recipe, type, xBytes.data(),
                                      wBytes.data(), nullptr, 1e-6f, m, k,
                                      /*wantY=*/false);
  ASSERT_TRUE(bool(fused)) << llvm::toString(fused.takeError());
  RefRMSNorm want = refRMSNorm(x, nullptr, w, m, k, 1e-6f, type);
  EXPECT_EQ(
      compareReference(fused->quantized, ref::quantize(refRecipe, want.y.data(),
                                                       m, k, toRefType(type))),
      "");
  EXPECT_EQ(bitsOf(fused->producer.rstd), bitsOf(want.inv));
  std::vector<float> g = rounded(makeRows(2, m, 2 * n, rng), type);
  std::vector<uint8_t> gBytes = toStorage(g, type);
  auto gated = runner.gatedActQuantize(*recipe, type, GatedActivation::SiLU,
                                       gBytes.data(), m, 2 * n, true);
  ASSERT_TRUE(bool(gated)) << llvm::toString(gated.takeError());
  std::vector<float> gy = refGatedAct(g, m, n, GatedActivation::SiLU, type);
  EXPECT_EQ(gated->producer.y, toStorage(gy, type));
  EXPECT_EQ(
      compareReference(gated->quantized, ref::quantize(refRecipe, gy.data(), m,
                                                       n, toRefType(type))),
      "");
}

// A recipe with a given amax reads it in the fused form too: the amaxes
// the computed recipe found give its bytes again.
TEST(ProducerFused, GivenAmaxGivesComputedBytes) {
  HostRunner &runner = sharedRunner();
  std::mt19937 rng(3);
  const int64_t m = 32, k = 64;
  ElementType type = ElementType::F16;
  std::vector<uint8_t> w = toStorage(makeWeight(k, rng), type);
  std::vector<uint8_t> x = toStorage(makeRows(0, m, k, rng), type);
  for (const char *text :
       {"per_tensor", "per_token, directions = [rowwise, columnwise]"}) {
    auto computed = runner.parseRecipe(text);
    ASSERT_TRUE(bool(computed));
    auto given = computed->withAmaxSource(AmaxSource::Given);
    auto first = runner.rmsNormQuantize(*computed, type, x.data(), w.data(),
                                        nullptr, 1e-6f, m, k, false);
    ASSERT_TRUE(bool(first)) << llvm::toString(first.takeError());
    const QuantizeResult &q = first->quantized;
    std::vector<float> row = q.rowwise ? q.rowwise->amax : std::vector<float>();
    std::vector<float> col =
        q.columnwise ? q.columnwise->amax : std::vector<float>();
    auto second =
        runner.rmsNormQuantize(given, type, x.data(), w.data(), nullptr, 1e-6f,
                               m, k, false, GivenAmax{row, col});
    ASSERT_TRUE(bool(second)) << llvm::toString(second.takeError());
    EXPECT_EQ(compareResults(second->quantized, q), "") << text;
  }
}

template <typename T> std::string errorOf(llvm::Expected<T> v) {
  if (v)
    return "(no error)";
  return llvm::toString(v.takeError());
}

// Each violated constraint is one error naming it, before anything runs.
TEST(ProducerErrors, EachConstraintIsNamed) {
  HostRunner &runner = sharedRunner();
  auto perToken = runner.parseRecipe("per_token");
  auto columnwise = runner.parseRecipe("per_tensor, directions = [columnwise]");
  ASSERT_TRUE(bool(perToken) && bool(columnwise));
  std::vector<float> x(64 * 64, 1.0f), w(64, 1.0f);
  auto F32 = ElementType::F32;
  for (float eps : {0.0f, -1.0f, std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
    std::string message =
        errorOf(runner.rmsNorm(F32, x.data(), w.data(), nullptr, eps, 4, 16));
    EXPECT_EQ(message.rfind("expected eps to be finite and positive, got ", 0),
              0u)
        << message;
    EXPECT_EQ(errorOf(runner.rmsNormQuantize(*perToken, F32, x.data(), w.data(),
                                             nullptr, eps, 4, 16, false)),
              message);
  }
  EXPECT_EQ(
      errorOf(runner.gatedAct(F32, GatedActivation::SiLU, x.data(), 4, 33)),
      "expected an even number of columns (gate and up halves of a "
      "gated activation), got 33");
  EXPECT_EQ(
      errorOf(runner.gatedActQuantize(*perToken, F32, GatedActivation::GeluTanh,
                                      x.data(), 4, 35, false)),
      "expected an even number of columns (gate and up halves of a "
      "gated activation), got 35");
  // The recipe's constraints apply to the quantized (produced) matrix: a
  // gated activation of 2 x 24 columns quantizes 24.
  EXPECT_EQ(errorOf(runner.rmsNormQuantize(*perToken, F32, x.data(), w.data(),
                                           nullptr, 1e-6f, 4, 40, false)),
            "expected quantized dimension K to be a multiple of 16, got 40");
  EXPECT_EQ(errorOf(runner.gatedActQuantize(
                *perToken, F32, GatedActivation::SiLU, x.data(), 4, 48, true)),
            "expected quantized dimension K to be a multiple of 16, got 24");
  EXPECT_EQ(errorOf(runner.rmsNormQuantize(*columnwise, F32, x.data(), w.data(),
                                           nullptr, 1e-6f, 20, 32, false)),
            "columnwise output requires M to be a multiple of 16, got 20");
  EXPECT_EQ(
      errorOf(runner.rmsNorm(F32, x.data(), w.data(), nullptr, 1e-6f, 0, 16)),
      "expected a non-empty matrix, got 0x16");
  EXPECT_EQ(errorOf(runner.gatedAct(F32, GatedActivation::SiLU, x.data(), 2,
                                    int64_t(1) << 60)),
            "expected a matrix of at most 2^60 elements, got 2x" +
                std::to_string(int64_t(1) << 60));
  EXPECT_EQ(
      errorOf(runner.rmsNorm(F32, x.data(), nullptr, nullptr, 1e-6f, 4, 16)),
      "null input or weight");
  std::vector<float> amax(4, 1.0f);
  EXPECT_EQ(errorOf(runner.rmsNormQuantize(*perToken, F32, x.data(), w.data(),
                                           nullptr, 1e-6f, 4, 16, false,
                                           GivenAmax{amax, {}})),
            "amax values were given, but the recipe computes its amax (given "
            "ones need amax = given or given_encode_scale)");
}

// The GPU runner rejects RMSNorm rows its kernels cannot hold before it
// compiles or touches memory (no GPU needed); the cpu runner has no bound.
TEST(ProducerErrors, GPURowBound) {
  auto gpu = ::nvfp4::Runner::create("sm_90a");
  ASSERT_TRUE(bool(gpu)) << llvm::toString(gpu.takeError());
  int64_t k = mlir::nvfp4::kMaxRMSNormCols + 16;
  std::string bound = "expected RMSNorm rows of at most 4194304 values on the "
                      "GPU (one thread block per row), got " +
                      std::to_string(k);
  const float dummy = 0.0f; // never read: the check comes first
  EXPECT_EQ(errorOf((*gpu)->rmsNorm(ElementType::BF16, &dummy, &dummy, nullptr,
                                    1e-6f, 1, k)),
            bound);
  auto recipe = (*gpu)->parseRecipe("per_token");
  ASSERT_TRUE(bool(recipe));
  EXPECT_EQ(errorOf((*gpu)->rmsNormQuantize(*recipe, ElementType::BF16, &dummy,
                                            &dummy, &dummy, 1e-6f, 1, k, true)),
            bound);
}

// Every field of a producer that changes its kernels is in the cache key,
// so neither cache serves one producer's kernels for another.
TEST(ProducerCompile, CacheKeysSeparateProducers) {
  auto compiler = ::nvfp4::Compiler::create("sm_90a");
  ASSERT_TRUE(bool(compiler)) << llvm::toString(compiler.takeError());
  auto perToken = (*compiler)->parseRecipe("per_token");
  auto perTensor = (*compiler)->parseRecipe("per_tensor");
  ASSERT_TRUE(bool(perToken) && bool(perTensor));
  ::nvfp4::ProducerSpec rms;
  rms.eps = 1e-6f;
  std::vector<std::string> keys;
  auto add = [&](const ::nvfp4::ProducerSpec &spec,
                 mlir::nvfp4::RecipeAttr recipe, ElementType type) {
    keys.push_back((*compiler)->producerCacheKey(spec, recipe, type));
  };
  add(rms, *perToken, ElementType::BF16);
  add(rms, *perTensor, ElementType::BF16);
  add(rms, *perToken, ElementType::F16);
  add(rms, {}, ElementType::BF16);
  ::nvfp4::ProducerSpec other = rms;
  other.eps = 1e-5f;
  add(other, *perToken, ElementType::BF16);
  other = rms;
  other.residual = true;
  add(other, *perToken, ElementType::BF16);
  other = rms;
  other.y = true;
  add(other, *perToken, ElementType::BF16);
  ::nvfp4::ProducerSpec gated;
  gated.kind = ::nvfp4::ProducerKind::GatedAct;
  add(gated, *perToken, ElementType::BF16);
  gated.act = GatedActivation::GeluTanh;
  add(gated, *perToken, ElementType::BF16);
  gated.y = true;
  add(gated, *perToken, ElementType::BF16);
  add(gated, {}, ElementType::BF16);
  for (size_t i = 0; i < keys.size(); ++i)
    for (size_t j = i + 1; j < keys.size(); ++j)
      EXPECT_NE(keys[i], keys[j]) << i << " and " << j;
  // Equal specs give equal keys.
  EXPECT_EQ((*compiler)->producerCacheKey(rms, *perToken, ElementType::BF16),
            keys[0]);

  // The memory cache of the cpu compiler keys the same way.
  auto cpu = ::nvfp4::Compiler::create("cpu");
  ASSERT_TRUE(bool(cpu));
  auto recipe = (*cpu)->parseRecipe("per_token");
  ASSERT_TRUE(bool(recipe));
  auto first = (*cpu)->compileProducer(rms, *recipe, ElementType::BF16);
  ASSERT_TRUE(bool(first)) << llvm::toString(first.takeError());
  EXPECT_EQ(first->op, ::nvfp4::Operation::RMSNormQuantize);
  EXPECT_EQ(first->source, ::nvfp4::CacheSource::Compiled);
  auto again = (*cpu)->compileProducer(rms, *recipe, ElementType::BF16);
  ASSERT_TRUE(bool(again));
  EXPECT_EQ(again->source, ::nvfp4::CacheSource::Memory);
  other = rms;
  other.eps = 2e-6f;
  auto differs = (*cpu)->compileProducer(other, *recipe, ElementType::BF16);
  ASSERT_TRUE(bool(differs));
  EXPECT_EQ(differs->source, ::nvfp4::CacheSource::Compiled);
  EXPECT_EQ(errorOf((*cpu)->compile(*recipe, ElementType::BF16,
                                    ::nvfp4::Operation::RMSNormQuantize)),
            "producers are compiled by compileProducer");
  other.eps = 0.0f;
  EXPECT_EQ(errorOf((*cpu)->compileProducer(other, *recipe, ElementType::BF16)),
            "expected eps to be finite and positive, got 0");
}

// The one-call host forms of Api.h run the cpu runner's producers.
TEST(ProducerApi, HostFormsMatchRunner) {
  std::mt19937 rng(12);
  const int64_t m = 16, k = 32;
  ElementType type = ElementType::BF16;
  std::vector<uint8_t> x = toStorage(makeRows(0, m, k, rng), type);
  std::vector<uint8_t> w = toStorage(makeWeight(k, rng), type);
  auto viaApi = ::nvfp4::rmsNormQuantize("per_token", type, x.data(), w.data(),
                                         x.data(), 1e-6f, m, k, true);
  ASSERT_TRUE(bool(viaApi)) << llvm::toString(viaApi.takeError());
  auto alone =
      ::nvfp4::rmsNorm(type, x.data(), w.data(), x.data(), 1e-6f, m, k);
  ASSERT_TRUE(bool(alone)) << llvm::toString(alone.takeError());
  EXPECT_EQ(viaApi->producer.y, alone->y);
  EXPECT_EQ(viaApi->producer.residual, alone->residual);
  auto gated = ::nvfp4::gatedActQuantize(
      "per_tensor", type, GatedActivation::SiLU, x.data(), m, k, false);
  ASSERT_TRUE(bool(gated)) << llvm::toString(gated.takeError());
  auto gatedAlone =
      ::nvfp4::gatedAct(type, GatedActivation::SiLU, x.data(), m, k);
  ASSERT_TRUE(bool(gatedAlone));
  auto unfused =
      ::nvfp4::quantize("per_tensor", type, gatedAlone->y.data(), m, k / 2);
  ASSERT_TRUE(bool(unfused));
  EXPECT_EQ(compareResults(gated->quantized, *unfused), "");
  EXPECT_EQ(
      errorOf(::nvfp4::rmsNormQuantize("no_such_recipe", type, x.data(),
                                       w.data(), nullptr, 1e-6f, m, k, false))
              .find("no_such_recipe") != std::string::npos,
      true);
}

} // namespace
