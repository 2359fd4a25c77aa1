//===- GroupedTest.cpp - grouped quantize == per-group quantize -----------===//
//
// A grouped (MoE) quantization is defined as quantizing each group as its
// own tensor and placing the results in the group's rows (rowwise) or
// columns (columnwise) of the whole output; swizzled rowwise scales restart
// on a fresh row tile per group. These tests check exactly that against
// the ungrouped path, with empty and ragged groups.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "SharedRunner.h"
#include "nvfp4/Runtime/HostRunner.h"

#include "gtest/gtest.h"

#include <random>

using namespace mlir::nvfp4;
using ::nvfp4::ElementType;
using ::nvfp4::HostRunner;
using ::nvfp4::QuantizedOutput;

namespace {
class Grouped : public ::testing::TestWithParam<const char *> {
protected:
  HostRunner *runner = &::nvfp4::testing::sharedRunner();
};

TEST_P(Grouped, EqualsPerGroupQuantization) {
  auto recipe = runner->parseRecipe(GetParam());
  ASSERT_TRUE(bool(recipe)) << llvm::toString(recipe.takeError());
  bool columnwise = recipe->getColumnwise();
  const int64_t k = 96;
  // Empty groups first, in the middle and last; ragged sizes rowwise.
  std::vector<int64_t> splits =
      columnwise ? std::vector<int64_t>{0, 32, 0, 16, 80, 0}
                 : std::vector<int64_t>{0, 5, 17, 0, 106, 0};
  int64_t m = 0;
  for (int64_t s : splits)
    m += s;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> x(m * k);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = normal(rng) * (i % 13 == 0 ? 100.0f : 1.0f);

  auto grouped = runner->quantizeGrouped(*recipe, ElementType::F32, x.data(),
                                         m, k, splits);
  ASSERT_TRUE(bool(grouped)) << llvm::toString(grouped.takeError());
  int64_t tile = scaleTile(recipe->getSfLayout()).first;
  int64_t row0 = 0, scaleRow0 = 0;
  for (auto [g, mg] : llvm::enumerate(splits)) {
    if (mg == 0)
      continue;
    auto one = runner->quantize(*recipe, ElementType::F32,
                                x.data() + row0 * k, mg, k);
    ASSERT_TRUE(bool(one)) << llvm::toString(one.takeError());
    if (recipe->getRowwise()) {
      const QuantizedOutput &all = *grouped->rowwise, &part = *one->rowwise;
      for (int64_t r = 0; r < mg; ++r)
        for (int64_t c = 0; c < k / 2; ++c)
          ASSERT_EQ(all.data[(row0 + r) * (k / 2) + c], part.data[r * (k / 2) + c])
              << "group " << g << " row " << r;
      // The group's scale rows, relocated to its first scale row.
      int64_t cp = all.scaleShape[1];
      for (int64_t i = 0; i < int64_t(part.scale.size()); ++i) {
        int64_t scaleRow = recipe->getSfLayout() == ScaleLayout::Linear
                               ? row0 * cp
                               : scaleRow0 * cp;
        ASSERT_EQ(all.scale[scaleRow + i], part.scale[i])
            << "group " << g << " scale byte " << i;
      }
      if (recipe->getOuter() == OuterGroup::Tensor)
        EXPECT_EQ(all.amax[g], part.amax[0]) << "group " << g;
      else
        for (size_t i = 0; i < part.amax.size(); ++i)
          EXPECT_EQ(all.amax[row0 * (part.amax.size() / mg) + i], part.amax[i]);
    }
    if (columnwise) {
      const QuantizedOutput &all = *grouped->columnwise,
                            &part = *one->columnwise;
      for (int64_t r = 0; r < k; ++r) {
        for (int64_t c = 0; c < mg / 2; ++c)
          ASSERT_EQ(all.data[r * (m / 2) + row0 / 2 + c],
                    part.data[r * (mg / 2) + c])
              << "group " << g << " row " << r;
        for (int64_t c = 0; c < mg / 16; ++c)
          ASSERT_EQ(all.scale[r * (m / 16) + row0 / 16 + c],
                    part.scale[r * (mg / 16) + c]);
      }
      if (recipe->getOuter() == OuterGroup::Tensor)
        EXPECT_EQ(all.amax[g], part.amax[0]);
      else
        for (int64_t r = 0; r < k; ++r)
          EXPECT_EQ(all.amax[g * k + r], part.amax[r]);
    }
    row0 += mg;
    scaleRow0 += roundUp(mg, tile);
  }
  // Padding rows of a swizzled buffer, after the last group, stay 0.
  if (recipe->getRowwise() && tile > 1) {
    const QuantizedOutput &all = *grouped->rowwise;
    for (int64_t i = scaleRow0 * all.scaleShape[1];
         i < int64_t(all.scale.size()); ++i)
      ASSERT_EQ(all.scale[i], 0) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, Grouped,
    ::testing::Values("per_tensor", "per_tensor, sf_layout = 128x4",
                      "per_token, sf_layout = 8x4", "local_1x64",
                      "four_over_six, sf_layout = 128x4", "per_tensor_2d",
                      "per_tensor, directions = [rowwise, columnwise]",
                      "per_token, directions = [rowwise, columnwise]",
                      "per_tensor_rht"));

TEST_F(Grouped, BadSplitsAreErrors) {
  auto recipe = runner->parseRecipe("per_tensor, directions = [columnwise]");
  ASSERT_TRUE(bool(recipe));
  std::vector<float> x(32 * 16, 1.0f);
  auto check = [&](std::vector<int64_t> splits, const char *message) {
    auto q = runner->quantizeGrouped(*recipe, ElementType::F32, x.data(), 32,
                                     16, splits);
    ASSERT_FALSE(bool(q));
    EXPECT_EQ(llvm::toString(q.takeError()), message);
  };
  check({16, 8, 8}, "columnwise output requires every group size to be a "
                    "multiple of 16, got 8 for group 1");
  check({16, 32}, "expected group sizes to add up to 32 rows, got 48");
  check({48, -16}, "expected non-negative group sizes, got -16 for group 1");
}
} // namespace
