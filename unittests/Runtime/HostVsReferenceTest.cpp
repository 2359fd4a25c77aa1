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
#include "SharedRunner.h"
#include "nvfp4/Runtime/HostQuantize.h"
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
/// The reference's recipe for a dialect recipe (field by field).
ref::Recipe toReference(RecipeAttr r) {
  ref::Recipe out;
  out.outer = r.getOuter() == OuterGroup::Tensor ? ref::Outer::Tensor
              : r.getOuter() == OuterGroup::Row  ? ref::Outer::Row
                                                 : ref::Outer::Window;
  out.window = r.getWindow();
  out.block = r.isBlock2D() ? ref::Block::B16x16 : ref::Block::B1x16;
  out.numerics = r.getNumerics() == Numerics::Quotient
                     ? ref::Numerics::Quotient
                     : ref::Numerics::Reciprocal;
  out.select = r.getSelect() == Selection::Map6 ? ref::Select::Map6
               : r.getSelect() == Selection::FourOverSixMAE
                   ? ref::Select::FourOverSixMAE
                   : ref::Select::FourOverSixMSE;
  out.e4m3Max = r.getE4m3Max();
  out.rounding = r.isStochastic() ? ref::Rounding::Stochastic
                                  : ref::Rounding::Nearest;
  out.seed = r.getSeed();
  out.rht = r.hasRHT();
  out.rhtMask = uint16_t(r.getRhtMask());
  out.rowwise = r.getRowwise();
  out.columnwise = r.getColumnwise();
  out.layout = r.getSfLayout() == ScaleLayout::Linear ? ref::SfLayout::Linear
               : r.getSfLayout() == ScaleLayout::Swizzle128x4
                   ? ref::SfLayout::Swizzle128x4
                   : ref::SfLayout::Swizzle8x4;
  return out;
}

ref::DType toRefType(ElementType t) {
  return t == ElementType::F32   ? ref::DType::F32
         : t == ElementType::F16 ? ref::DType::F16
                                 : ref::DType::BF16;
}

std::vector<uint32_t> bitsOf(const std::vector<float> &v) {
  std::vector<uint32_t> bits(v.size());
  std::memcpy(bits.data(), v.data(), v.size() * 4);
  return bits;
}

/// Compares one direction; returns a description of the first mismatch.
std::string compare(const QuantizedOutput &got, const ref::Quantized &want) {
  if (got.data != want.data) {
    for (size_t i = 0; i < got.data.size(); ++i)
      if (got.data[i] != want.data[i])
        return "data byte " + std::to_string(i) + ": got " +
               std::to_string(got.data[i]) + ", want " +
               std::to_string(want.data[i]);
    return "data size";
  }
  if (got.scale != want.scale) {
    for (size_t i = 0; i < std::min(got.scale.size(), want.scale.size()); ++i)
      if (got.scale[i] != want.scale[i])
        return "scale byte " + std::to_string(i) + ": got " +
               std::to_string(got.scale[i]) + ", want " +
               std::to_string(want.scale[i]);
    return "scale size " + std::to_string(got.scale.size()) + " vs " +
           std::to_string(want.scale.size());
  }
  if (bitsOf(got.amax) != bitsOf(want.amax))
    return "amax";
  return "";
}

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
} // namespace
