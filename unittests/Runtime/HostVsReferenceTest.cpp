//===- HostVsReferenceTest.cpp - CPU lowering == scalar reference ---------===//
//
// The CPU lowering (numerics builder -> nvfp4-expand -> JIT) must produce
// exactly the bytes of the independent scalar reference written from
// SPEC.md, on random and adversarial inputs, for every recipe shape the
// dialect accepts. Each recipe runs over more than 200 inputs: 10 input
// kinds x 3 storage dtypes x 9 ragged shapes = 270.
//
//===----------------------------------------------------------------------===//

#include "NVFP4Reference.h"
#include "Inputs.h"
#include "ReferenceRecipe.h"
#include "SharedRunner.h"
#include "nvfp4/Runtime/HostRunner.h"
#include "nvfp4/Support/FloatBits.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace mlir::nvfp4;
namespace ref = nvfp4::ref;
using ::nvfp4::ElementType;
using ::nvfp4::HostRunner;
using ::nvfp4::QuantizedOutput;
using namespace ::nvfp4::testing;

namespace {
class HostVsReference : public ::testing::TestWithParam<const char *> {
protected:
  HostRunner *runner = &::nvfp4::testing::sharedRunner();
};

TEST_P(HostVsReference, BytesMatchOnRandomAndAdversarialInputs) {
  auto recipe = runner->parseRecipe(GetParam());
  ASSERT_TRUE(bool(recipe)) << llvm::toString(recipe.takeError());
  ref::Recipe refRecipe = toReference(*recipe);
  bool columnwise = recipe->getColumnwise();
  // Columnwise blocks run along M, so M must be a multiple of 16 there.
  std::vector<int64_t> ms = columnwise ? std::vector<int64_t>{16, 48, 144}
                                       : std::vector<int64_t>{1, 17, 130};
  std::vector<int64_t> ks = {16, 80, 160};
  std::mt19937 rng(1234);
  int cases = 0;
  for (Kind kind : kKinds)
    for (ElementType type :
         {ElementType::F32, ElementType::BF16, ElementType::F16})
      for (size_t s = 0; s < ms.size() * ks.size(); ++s) {
        int64_t m = ms[s % ms.size()], k = ks[s / ms.size()];
        std::vector<float> x = makeInput(kind, m, k, rng);
        std::vector<uint8_t> storage = toStorage(x, type);
        auto got = runner->quantize(*recipe, type, storage.data(), m, k);
        ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
        ref::Result want =
            ref::quantize(refRecipe, x.data(), m, k, toRefType(type));
        std::string where = std::string(GetParam()) + " kind " +
                            std::to_string(int(kind)) + " type " +
                            std::to_string(int(type)) + " shape " +
                            std::to_string(m) + "x" + std::to_string(k);
        ASSERT_EQ(bool(got->rowwise), bool(want.rowwise)) << where;
        ASSERT_EQ(bool(got->columnwise), bool(want.columnwise)) << where;
        if (want.rowwise)
          ASSERT_EQ(compare(*got->rowwise, *want.rowwise), "")
              << "rowwise " << where;
        if (want.columnwise)
          ASSERT_EQ(compare(*got->columnwise, *want.columnwise), "")
              << "columnwise " << where;
        // Dequantization of each direction matches too.
        for (auto [g, w] : {std::pair{&got->rowwise, &want.rowwise},
                            std::pair{&got->columnwise, &want.columnwise}}) {
          if (!*w)
            continue;
          auto deq = runner->dequantize(*recipe, **g);
          ASSERT_TRUE(bool(deq)) << llvm::toString(deq.takeError());
          ASSERT_EQ(bitsOf(*deq), bitsOf(ref::dequantize(refRecipe, **w)))
              << "dequantize " << where;
        }
        ++cases;
      }
  EXPECT_GE(cases, 200) << "too few inputs compared";
}

// Every preset, every layout, and the combinations TransformerEngine
// refuses that SPEC.md defines.
INSTANTIATE_TEST_SUITE_P(
    Recipes, HostVsReference,
    ::testing::Values(
        "per_tensor", "per_tensor_2d", "per_tensor_rht", "per_token",
        "per_token_quotient", "local_1x64", "four_over_six",
        "four_over_six_mse",
        "four_over_six_mse, e4m3_max = 448",
        "per_tensor, sf_layout = 128x4", "per_token, sf_layout = 8x4",
        "local_1x64, sf_layout = 128x4",
        "per_tensor, directions = [rowwise, columnwise], sf_layout = 128x4",
        "per_token, directions = [rowwise, columnwise]",
        "local_1x64, directions = [rowwise, columnwise], sf_layout = 8x4",
        "per_tensor_2d, directions = [rowwise, columnwise]",
        "local_1x64, numerics = reciprocal",
        "per_tensor, numerics = quotient",
        "per_tensor, e4m3_max = 256",
        "four_over_six, outer = row",
        "four_over_six, outer = window<64>",
        "four_over_six, block = 16x16, directions = [rowwise, columnwise]",
        "four_over_six_mse, block = 16x16",
        "four_over_six, transform = rht16, directions = [rowwise, columnwise]",
        "per_tensor, rounding = stochastic<seed = 7>",
        "per_token, rounding = stochastic<seed = 12345678901>",
        "local_1x64, rounding = stochastic<seed = 3>",
        "per_tensor_2d, rounding = stochastic<seed = 9>, directions = [rowwise, columnwise]",
        "per_tensor_rht, rounding = stochastic<seed = 5>, sf_layout = 128x4",
        "per_tensor_rht, transform = rht16<0x1234>"));

// The RHT's butterfly order through the whole CPU lowering: the columnwise
// groups of RHTVectors.h (exponent spread, cancellation, -0.0, subnormals,
// overflow, -Inf), where an index-order sum would give other bytes, in
// every recipe with a transform, for each input dtype.
TEST(HostVsReferenceRHT, AdversarialGroupsMatchReference) {
  HostRunner &runner = ::nvfp4::testing::sharedRunner();
  const int64_t m = 32, k = 48;
  for (const char *text : kRHTRecipes) {
    auto recipe = runner.parseRecipe(text);
    ASSERT_TRUE(bool(recipe)) << llvm::toString(recipe.takeError());
    ref::Recipe refRecipe = toReference(*recipe);
    for (int g = 0; g < kRHTGroups; ++g)
      for (ElementType type :
           {ElementType::F32, ElementType::BF16, ElementType::F16}) {
        std::vector<float> x = rhtAdversarialInput(g, k);
        std::vector<uint8_t> storage = toStorage(x, type);
        auto got = runner.quantize(*recipe, type, storage.data(), m, k);
        ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
        ref::Result want =
            ref::quantize(refRecipe, x.data(), m, k, toRefType(type));
        std::string where = std::string(text) + " group " +
                            std::to_string(g) + " type " +
                            std::to_string(int(type));
        ASSERT_TRUE(got->columnwise && want.columnwise) << where;
        EXPECT_EQ(compare(*got->columnwise, *want.columnwise), "") << where;
        if (want.rowwise)
          EXPECT_EQ(compare(*got->rowwise, *want.rowwise), "") << where;
      }
  }
}

/// Outer values given to a recipe: `f` of each computed amax.
std::vector<float> mapped(const std::vector<float> &amax,
                          float (*f)(float, unsigned), unsigned e4m3Max) {
  std::vector<float> out;
  for (float a : amax)
    out.push_back(f(a, e4m3Max));
  return out;
}

float same(float a, unsigned) { return a; }
/// A stale amax: half the data's (exact), so values saturate.
float halved(float a, unsigned) { return a * 0.5f; }
/// S_enc of the amax (SPEC.md section 3), as vLLM/FlashInfer pass it.
float encodeScale(float a, unsigned e4m3Max) {
  return ref::outerScale(a, e4m3Max);
}

class GivenAmax : public HostVsReference {};

// A given amax equal to the computed one gives the computed recipe's bytes;
// a stale (halved) one gives the reference's saturated bytes; a given
// encode scale S_enc(amax) gives the computed bytes again (reciprocal
// form). The amax outputs hold the given values.
TEST_P(GivenAmax, BytesMatchReference) {
  auto recipe = runner->parseRecipe(GetParam());
  ASSERT_TRUE(bool(recipe)) << llvm::toString(recipe.takeError());
  bool columnwise = recipe->getColumnwise();
  std::vector<int64_t> ms = columnwise ? std::vector<int64_t>{16, 48}
                                       : std::vector<int64_t>{1, 17, 130};
  std::mt19937 rng(77);
  int cases = 0;
  for (Kind kind : kKinds)
    for (ElementType type : {ElementType::F32, ElementType::BF16})
      for (int64_t m : ms) {
        int64_t k = 160;
        std::vector<float> x = makeInput(kind, m, k, rng);
        std::vector<uint8_t> storage = toStorage(x, type);
        auto computed = runner->quantize(*recipe, type, storage.data(), m, k);
        ASSERT_TRUE(bool(computed)) << llvm::toString(computed.takeError());
        std::string where = std::string(GetParam()) + " kind " +
                            std::to_string(int(kind)) + " shape " +
                            std::to_string(m) + "x" + std::to_string(k);
        for (auto [source, f] :
             {std::pair{AmaxSource::Given, &same},
              std::pair{AmaxSource::Given, &halved},
              std::pair{AmaxSource::GivenEncodeScale, &encodeScale}}) {
          if (source == AmaxSource::GivenEncodeScale &&
              (recipe->isFourOverSix() || recipe->hasGlobalScale() ||
               recipe->getNumerics() == Numerics::Quotient))
            continue; // no amax in 4over6 errors; quotient floors first
          RecipeAttr given = recipe->withAmaxSource(source);
          unsigned e = recipe->getE4m3Max();
          std::vector<float> row, col;
          if (computed->rowwise)
            row = mapped(computed->rowwise->amax, f, e);
          if (computed->columnwise)
            col = mapped(computed->columnwise->amax, f, e);
          auto got = runner->quantize(given, type, storage.data(), m, k,
                                      {row, col});
          ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
          ref::Recipe refRecipe = toReference(given);
          refRecipe.given = row;
          refRecipe.givenT = col;
          ref::Result want =
              ref::quantize(refRecipe, x.data(), m, k, toRefType(type));
          std::string at = where + " source " + std::to_string(int(source)) +
                           (f == &halved ? " stale" : "");
          if (want.rowwise)
            ASSERT_EQ(compare(*got->rowwise, *want.rowwise), "")
                << "rowwise " << at;
          if (want.columnwise)
            ASSERT_EQ(compare(*got->columnwise, *want.columnwise), "")
                << "columnwise " << at;
          if (f == &halved)
            continue;
          // Equal to the computed recipe's bytes.
          for (auto [g, c] :
               {std::pair{&got->rowwise, &computed->rowwise},
                std::pair{&got->columnwise, &computed->columnwise}}) {
            if (!*c)
              continue;
            EXPECT_EQ((*g)->data, (*c)->data) << at;
            EXPECT_EQ((*g)->scale, (*c)->scale) << at;
          }
        }
        ++cases;
      }
  EXPECT_GE(cases, 20);
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, GivenAmax,
    ::testing::Values(
        "per_tensor", "per_token", "local_1x64", "per_token_quotient",
        "per_tensor_2d", "per_tensor, sf_layout = 128x4",
        "per_tensor_rht", "per_token, directions = [rowwise, columnwise]",
        "local_1x64, directions = [rowwise, columnwise], sf_layout = 8x4",
        "four_over_six", "per_tensor, rounding = stochastic<seed = 7>",
        // FlashInfer's per-token quantization with a global scale on top.
        "per_token, global_scale_inv = 0x3A000000",
        "per_token, directions = [rowwise, columnwise], sf_layout = 128x4, "
        "global_scale_inv = 1.5e-3",
        "per_token_quotient, global_scale_inv = 0x39C30C31"));

// The runtime checks given values against the recipe before running.
TEST(GivenAmaxErrors, CountsAndRecipeAreChecked) {
  HostRunner &runner = ::nvfp4::testing::sharedRunner();
  std::vector<float> x(4 * 32, 1.0f);
  auto perToken = runner.parseRecipe("per_token, amax = given");
  ASSERT_TRUE(bool(perToken));
  std::vector<float> three = {1, 2, 3};
  auto bad = runner.quantize(*perToken, ElementType::F32, x.data(), 4, 32,
                             {three, {}});
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "expected 4 given rowwise amax values (amax shape 4), got 3");
  auto computed = runner.parseRecipe("per_token");
  ASSERT_TRUE(bool(computed));
  std::vector<float> four = {1, 2, 3, 4};
  auto extra = runner.quantize(*computed, ElementType::F32, x.data(), 4, 32,
                               {four, {}});
  ASSERT_FALSE(bool(extra));
  EXPECT_EQ(llvm::toString(extra.takeError()),
            "amax values were given, but the recipe computes its amax (given "
            "ones need amax = given or given_encode_scale)");
  auto noColumnwise = runner.quantize(*perToken, ElementType::F32, x.data(),
                                      4, 32, {four, four});
  ASSERT_FALSE(bool(noColumnwise));
  EXPECT_EQ(llvm::toString(noColumnwise.takeError()),
            "columnwise amax values were given, but the recipe has no "
            "columnwise output");
}

// nvfp4.amax (K1) writes exactly the amaxes the quantize computes, and a
// quantize with amax = given (K2) of those gives the one-shot bytes: the
// split a framework uses to reduce the amax in between.
TEST(AmaxOp, SplitQuantizationGivesOneShotBytes) {
  HostRunner &runner = ::nvfp4::testing::sharedRunner();
  std::mt19937 rng(21);
  for (const char *text :
       {"per_tensor", "per_token", "local_1x64", "per_tensor_2d",
        "per_tensor_rht", "per_token, directions = [rowwise, columnwise]",
        "local_1x64, directions = [columnwise]", "four_over_six"}) {
    auto recipe = runner.parseRecipe(text);
    ASSERT_TRUE(bool(recipe)) << llvm::toString(recipe.takeError());
    for (Kind kind : {Kind::Normal, Kind::Specials, Kind::Outliers}) {
      int64_t m = 48, k = 160;
      std::vector<float> x = makeInput(kind, m, k, rng);
      std::vector<uint8_t> storage = toStorage(x, ElementType::BF16);
      auto oneShot =
          runner.quantize(*recipe, ElementType::BF16, storage.data(), m, k);
      ASSERT_TRUE(bool(oneShot)) << llvm::toString(oneShot.takeError());
      auto amax = runner.amax(*recipe, ElementType::BF16, storage.data(), m, k);
      ASSERT_TRUE(bool(amax)) << llvm::toString(amax.takeError());
      std::vector<float> row, col;
      if (oneShot->rowwise) {
        EXPECT_TRUE(amax->rowwise->data.empty());
        EXPECT_EQ(bitsOf(amax->rowwise->amax), bitsOf(oneShot->rowwise->amax))
            << text;
        row = amax->rowwise->amax;
      }
      if (oneShot->columnwise) {
        EXPECT_EQ(bitsOf(amax->columnwise->amax),
                  bitsOf(oneShot->columnwise->amax))
            << text;
        col = amax->columnwise->amax;
      }
      auto split = runner.quantize(recipe->withAmaxSource(AmaxSource::Given),
                                   ElementType::BF16, storage.data(), m, k,
                                   {row, col});
      ASSERT_TRUE(bool(split)) << llvm::toString(split.takeError());
      for (auto [a, b] : {std::pair{&split->rowwise, &oneShot->rowwise},
                          std::pair{&split->columnwise, &oneShot->columnwise}}) {
        if (!*b)
          continue;
        EXPECT_EQ((*a)->data, (*b)->data) << text;
        EXPECT_EQ((*a)->scale, (*b)->scale) << text;
      }
    }
  }
  auto scaled = runner.parseRecipe("per_tensor, amax = given_encode_scale");
  ASSERT_TRUE(bool(scaled));
  std::vector<float> x(32, 1.0f);
  auto bad = runner.amax(*scaled, ElementType::F32, x.data(), 2, 16);
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "expected a recipe whose outer scale comes from an amax, got "
            "amax = given_encode_scale");
}
} // namespace
