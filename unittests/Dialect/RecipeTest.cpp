//===- RecipeTest.cpp - #nvfp4.recipe C++ API tests -----------------------===//
//
// The recipe must be impossible to build invalid from C++ as well as from
// text: these tests go through getChecked, the presets and the parser.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Dialect.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::nvfp4;

namespace {
class RecipeTest : public ::testing::Test {
protected:
  RecipeTest() { ctx.loadDialect<NVFP4Dialect>(); }

  /// Parses `text`, returning the recipe and collecting diagnostics.
  RecipeAttr parse(StringRef text) {
    ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
      diagnostics.push_back(d.str());
      return success();
    });
    return dyn_cast_or_null<RecipeAttr>(parseAttribute(text, &ctx));
  }

  MLIRContext ctx;
  std::vector<std::string> diagnostics;
};

TEST_F(RecipeTest, EveryPresetRoundTripsByName) {
  for (StringRef name : RecipeAttr::getPresetNames()) {
    RecipeAttr preset = RecipeAttr::getPreset(&ctx, name);
    ASSERT_TRUE(preset) << name.str();
    EXPECT_EQ(preset.getPresetName(), name);
    std::string text;
    llvm::raw_string_ostream os(text);
    Attribute(preset).print(os);
    EXPECT_EQ(text, "#nvfp4.recipe<" + name.str() + ">");
    EXPECT_EQ(parse(text), preset);
  }
}

TEST_F(RecipeTest, PresetsEncodeTheSeedRecipes) {
  RecipeAttr token = RecipeAttr::getPreset(&ctx, "per_token");
  EXPECT_EQ(token.getOuter(), OuterGroup::Row);
  EXPECT_EQ(token.getNumerics(), Numerics::Reciprocal);
  RecipeAttr local = RecipeAttr::getPreset(&ctx, "local_1x64");
  EXPECT_EQ(local.getOuter(), OuterGroup::Window);
  EXPECT_EQ(local.getWindow(), 64u);
  EXPECT_EQ(local.getNumerics(), Numerics::Quotient);
  RecipeAttr fos = RecipeAttr::getPreset(&ctx, "four_over_six");
  EXPECT_EQ(fos.getSelect(), Selection::FourOverSixMAE);
  EXPECT_EQ(fos.getE4m3Max(), 256u);
  RecipeAttr rht = RecipeAttr::getPreset(&ctx, "per_tensor_rht");
  EXPECT_TRUE(rht.hasRHT());
  EXPECT_EQ(rht.getRhtMask(), 0xD7E8u);
  EXPECT_TRUE(rht.getRowwise());
  EXPECT_TRUE(rht.getColumnwise());
  EXPECT_FALSE(RecipeAttr::getPreset(&ctx, "no_such_preset"));
}

TEST_F(RecipeTest, OverridesApplyOnTopOfAPreset) {
  RecipeAttr r = parse("#nvfp4.recipe<per_token, sf_layout = 128x4>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.getOuter(), OuterGroup::Row);
  EXPECT_EQ(r.getSfLayout(), ScaleLayout::Swizzle128x4);
  EXPECT_FALSE(r.getPresetName());
  EXPECT_EQ(r, RecipeAttr::getPreset(&ctx, "per_token")
                   .withScaleLayout(ScaleLayout::Swizzle128x4));
}

TEST_F(RecipeTest, GetCheckedRejectsMeaninglessCombinations) {
  auto emit = [&] { return emitError(UnknownLoc::get(&ctx)); };
  std::string message;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    message = d.str();
    return success();
  });
  RecipeAttr bad = RecipeAttr::getChecked(
      emit, &ctx, OuterGroup::Row, 64u, BlockShape::B16x16,
      Numerics::Reciprocal, Selection::Map6, 448u, Rounding::Nearest,
      uint64_t(0), Transform::None, 0xD7E8u, true, false, ScaleLayout::Linear,
      AmaxSource::Computed, 0u);
  EXPECT_FALSE(bad);
  EXPECT_NE(message.find("outer = row is incompatible with block = 16x16"),
            std::string::npos)
      << message;
}

TEST_F(RecipeTest, NonDefaultFieldsPrintCanonically) {
  RecipeAttr r = parse("#nvfp4.recipe<rounding = stochastic<seed = 7>, "
                       "outer = window<64>, e4m3_max = 256>");
  ASSERT_TRUE(r);
  std::string text;
  llvm::raw_string_ostream os(text);
  Attribute(r).print(os);
  // Ties between equally close presets go to the first one listed.
  EXPECT_EQ(text, "#nvfp4.recipe<per_tensor, outer = window<64>, "
                  "e4m3_max = 256, rounding = stochastic<seed = 7>>");
}
} // namespace
