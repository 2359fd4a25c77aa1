//===- ShapesTest.cpp - Buffer shape and layout addressing tests ----------===//
//
// Scale-factor addressing is checked against SPEC.md's TV11 offsets: a wrong
// swizzle is silent until a GEMM reads garbage scales.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"

#include "gtest/gtest.h"

#include <set>

using namespace mlir::nvfp4;

namespace {
TEST(ShapesTest, TV11Swizzle128x4Offsets) {
  const int64_t c = 8;
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle128x4, 1, 0, c), 16);
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle128x4, 31, 0, c), 496);
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle128x4, 32, 0, c), 4);
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle128x4, 96, 0, c), 12);
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle128x4, 0, 4, c), 512);
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle128x4, 127, 3, c), 511);
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle128x4, 128, 0, c), 1024);
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle128x4, 130, 5, c), 1569);
}

TEST(ShapesTest, TV11Swizzle8x4Offsets) {
  const int64_t c = 8;
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle8x4, 1, 0, c), 4);
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle8x4, 7, 3, c), 31);
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle8x4, 0, 4, c), 32);
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle8x4, 8, 0, c), 64);
  EXPECT_EQ(scaleOffset(ScaleLayout::Swizzle8x4, 9, 5, c), 101);
}

/// Every layout must be a bijection from the padded scale matrix onto its
/// buffer, or two blocks would share a byte.
TEST(ShapesTest, LayoutsAreBijectionsOntoThePaddedBuffer) {
  for (ScaleLayout layout : {ScaleLayout::Linear, ScaleLayout::Swizzle128x4,
                             ScaleLayout::Swizzle8x4}) {
    for (int64_t rows : {1, 17, 130}) {
      for (int64_t cols : {16, 48, 160}) {
        auto shape = scaleShape(layout, rows, cols);
        std::set<int64_t> seen;
        for (int64_t r = 0; r < shape[0]; ++r)
          for (int64_t c = 0; c < shape[1]; ++c) {
            int64_t off = scaleOffset(layout, r, c, cols / 16);
            EXPECT_GE(off, 0);
            EXPECT_LT(off, shape[0] * shape[1]);
            seen.insert(off);
          }
        EXPECT_EQ(int64_t(seen.size()), shape[0] * shape[1]);
      }
    }
  }
}

TEST(ShapesTest, DynamicDimensionsPropagate) {
  auto s = scaleShape(ScaleLayout::Swizzle128x4, kDynamic, 4096);
  EXPECT_TRUE(isDynamic(s[0]));
  EXPECT_EQ(s[1], 256);
  EXPECT_EQ(dataShape(7, 64)[1], 32);
}
} // namespace
