//===- TestVectorsTest.cpp - SPEC.md block vectors through the CPU path ---===//
//
// Block-level test vectors of SPEC.md section 14, run through the whole CPU
// lowering (recipe -> nvfp4-expand -> JIT). "Outer amax elsewhere" puts the
// amax in a second block of the same row, so the tested block sees it.
//
//===----------------------------------------------------------------------===//

#include "SharedRunner.h"
#include "nvfp4/Runtime/HostRunner.h"
#include "nvfp4/Support/FloatBits.h"

#include "gtest/gtest.h"

#include <vector>

using ::nvfp4::ElementType;
using ::nvfp4::HostRunner;
using ::nvfp4::QuantizedOutput;

namespace {
class TestVectors : public ::testing::Test {
protected:

  /// Quantizes one row: `block` followed by a block whose first element is
  /// `amaxElsewhere` (or only `block` when that is 0), rowwise.
  QuantizedOutput row(const char *recipe, std::vector<float> block,
                      float amaxElsewhere = 0.0f) {
    block.resize(16, 0.0f);
    if (amaxElsewhere != 0.0f) {
      block.push_back(amaxElsewhere);
      block.resize(32, 0.0f);
    }
    auto r = runner->parseRecipe(recipe);
    EXPECT_TRUE(bool(r)) << llvm::toString(r.takeError());
    auto q = runner->quantize(*r, ElementType::F32, block.data(), 1,
                              int64_t(block.size()));
    EXPECT_TRUE(bool(q)) << llvm::toString(q.takeError());
    return *q->rowwise;
  }

  static std::vector<uint8_t> firstBlock(const QuantizedOutput &q) {
    return {q.data.begin(), q.data.begin() + 8};
  }

  HostRunner *runner = &::nvfp4::testing::sharedRunner();
};

float hex(uint32_t bits) { return ::nvfp4::bitsToFloat(bits); }

// TV4: one block is the whole tensor, so it maps to 6 and sf = 448.
TEST_F(TestVectors, TV4) {
  auto q = row("per_tensor", {6, -6, 3, -3, 1, 0.5f, 0.25f, 0.75f, 2.5f, 5,
                              1.75f, 1.25f, 4, -0.5f, 0, 1.5f});
  EXPECT_EQ(q.scale[0], 0x7E);
  EXPECT_EQ(firstBlock(q), (std::vector<uint8_t>{0xF7, 0xD5, 0x12, 0x20, 0x64,
                                                 0x24, 0x96, 0x30}));
}

// TV5: outer amax 100 from another block.
TEST_F(TestVectors, TV5) {
  std::vector<float> block;
  for (int i = 1; i <= 16; ++i)
    block.push_back(float(i) / 4);
  auto q = row("per_tensor", block, 100.0f);
  EXPECT_EQ(q.scale[0], 0x59);
  EXPECT_EQ(firstBlock(q), (std::vector<uint8_t>{0x11, 0x32, 0x44, 0x55, 0x65,
                                                 0x66, 0x76, 0x77}));
}

// TV6: the block scale underflows to 0; the reciprocal form then encodes
// with FLT_MAX and non-zero elements saturate (TE's behaviour).
TEST_F(TestVectors, TV6_UnderflowedScale) {
  auto q = row("per_tensor", {1e-3f, -5e-4f}, 1e4f);
  EXPECT_EQ(q.scale[0], 0x00);
  EXPECT_EQ(firstBlock(q),
            (std::vector<uint8_t>{0xF7, 0, 0, 0, 0, 0, 0, 0}));
}

// TV21: stochastic rounding decides exactly. Seed 39 gives element 10 of
// block 0 the random byte 179; with tensor amax 256 (from the second block)
// and block amax 53.75 (sf 0x6C), -1.375 scales to -0.15039062, and
// t = 0.15039062 + 179/512 < 0.5 exactly, so the code is 0x8 (-0), not the
// 0x9 a binary32 add (which rounds t to 0.5) would give.
TEST_F(TestVectors, TV21_StochasticRoundingIsExact) {
  std::vector<float> block(16, 0.0f);
  block[0] = 53.75f;
  block[10] = -1.375f;
  auto q = row("per_tensor, rounding = stochastic<seed = 39>", block, 256.0f);
  EXPECT_EQ(q.scale[0], 0x6C);
  EXPECT_EQ(q.data[5] & 0x0F, 0x8);
}

// TV8: a block scale in the E4M3 subnormal range.
TEST_F(TestVectors, TV8) {
  auto q = row("per_tensor", {hex(0x3C20930F)}, hex(0x41843CDF));
  EXPECT_EQ(q.scale[0], 0x29);
}

// TV9: the two numerics forms differ in the last ulp of enc and flip a tie.
TEST_F(TestVectors, TV9_NumericsForms) {
  std::vector<float> block = {hex(0x3FC7E8F8), hex(0x3E41B7F4)};
  auto rec = row("per_tensor", block, hex(0x4196AB85));
  auto quo = row("per_tensor, numerics = quotient", block, hex(0x4196AB85));
  EXPECT_EQ(rec.scale[0], 0x61);
  EXPECT_EQ(quo.scale[0], 0x61);
  EXPECT_EQ(rec.data[0], 0x17);
  EXPECT_EQ(quo.data[0], 0x27);
}

// TV15a: with E = 256 map-to-4 wins; with E = 448 the errors tie and the
// strict rule keeps map-to-6.
TEST_F(TestVectors, TV15a_FourOverSixTie) {
  std::vector<float> block = {1, 0.75f, 0.5f, 0.25f};
  auto e256 = row("four_over_six", block);
  EXPECT_EQ(e256.scale[0], 0x7C);
  EXPECT_EQ(e256.data[0], 0x56);
  EXPECT_EQ(e256.data[1], 0x24);
  EXPECT_EQ(e256.data[2], 0x00);
  auto e448 = row("four_over_six, e4m3_max = 448", block);
  EXPECT_EQ(e448.scale[0], 0x7E);
  EXPECT_EQ(e448.data[0], 0x67);
  EXPECT_EQ(e448.data[1], 0x35);
}

// TV15c: outer amax 10 elsewhere; the bound changes the scale, not the codes.
TEST_F(TestVectors, TV15c_FourOverSixBound) {
  std::vector<float> block = {0.9f,  -0.7f, 0.55f, 0.3f, 0.1f, -0.05f,
                              0.8f,  0.65f, 0.45f, -0.35f, 0.2f, 0.15f,
                              0,     0.6f,  -0.9f, 0.25f};
  std::vector<uint8_t> data = {0xE7, 0x46, 0x91, 0x67, 0xC5, 0x23, 0x60, 0x3F};
  auto e256 = row("four_over_six", block, 10.0f);
  EXPECT_EQ(e256.scale[0], 0x5C);
  EXPECT_EQ(firstBlock(e256), data);
  auto e448 = row("four_over_six, e4m3_max = 448", block, 10.0f);
  EXPECT_EQ(e448.scale[0], 0x62);
  EXPECT_EQ(firstBlock(e448), data);
}

// TV20: 1x64 windows with the quotient form; a row of 128 has two windows.
TEST_F(TestVectors, TV20_Local1x64) {
  std::vector<float> x(128, 0.0f);
  for (int i = 1; i <= 16; ++i)
    x[i - 1] = float(i) / 4;
  x[16] = 100;
  const float tv4[16] = {6, -6, 3, -3, 1, 0.5f, 0.25f, 0.75f, 2.5f, 5,
                         1.75f, 1.25f, 4, -0.5f, 0, 1.5f};
  std::copy(tv4, tv4 + 16, x.begin() + 64);
  auto r = runner->parseRecipe("local_1x64");
  ASSERT_TRUE(bool(r));
  auto q = runner->quantize(*r, ElementType::F32, x.data(), 1, 128);
  ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
  const QuantizedOutput &o = *q->rowwise;
  EXPECT_EQ(o.amax, (std::vector<float>{100.0f, 6.0f}));
  EXPECT_EQ(o.scale, (std::vector<uint8_t>{0x59, 0x7E, 0, 0, 0x7E, 0, 0, 0}));
  EXPECT_EQ(std::vector<uint8_t>(o.data.begin(), o.data.begin() + 8),
            (std::vector<uint8_t>{0x11, 0x32, 0x44, 0x55, 0x65, 0x66, 0x76,
                                  0x77}));
  EXPECT_EQ(std::vector<uint8_t>(o.data.begin() + 8, o.data.begin() + 16),
            (std::vector<uint8_t>{0x07, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(std::vector<uint8_t>(o.data.begin() + 32, o.data.begin() + 40),
            (std::vector<uint8_t>{0xF7, 0xD5, 0x12, 0x20, 0x64, 0x24, 0x96,
                                  0x30}));
}

// Regression: the 16x16 4over6 scratch buffer is allocated once, not per
// tile: a per-tile stack allocation (1024 x 128 tiles here, 16 MB) overflowed
// the stack.
TEST_F(TestVectors, LargeTiledFourOverSixRuns) {
  auto r = runner->parseRecipe(
      "four_over_six, block = 16x16, directions = [rowwise, columnwise]");
  ASSERT_TRUE(bool(r));
  std::vector<float> x(16384 * 2048);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = float(int(i % 97) - 48) / 8.0f;
  auto q = runner->quantize(*r, ElementType::F32, x.data(), 16384, 2048);
  ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
  EXPECT_EQ(q->rowwise->amax[0], 6.0f);
  EXPECT_EQ(q->columnwise->amax[0], 6.0f);
}

// Errors are values: bad shapes come back as llvm::Error with a message.
TEST_F(TestVectors, ShapeErrorsAreValues) {
  auto r = runner->parseRecipe("per_tensor, directions = [columnwise]");
  ASSERT_TRUE(bool(r));
  std::vector<float> x(17 * 32, 1.0f);
  auto q = runner->quantize(*r, ElementType::F32, x.data(), 17, 32);
  ASSERT_FALSE(bool(q));
  EXPECT_EQ(llvm::toString(q.takeError()),
            "columnwise output requires M to be a multiple of 16, got 17");
  // Dequantizing buffers that do not fit the recipe is an error too.
  auto perToken = runner->parseRecipe("per_token");
  ASSERT_TRUE(bool(perToken));
  QuantizedOutput wrong;
  wrong.rows = 4;
  wrong.cols = 40;
  auto d = runner->dequantize(*perToken, wrong);
  ASSERT_FALSE(bool(d));
  EXPECT_EQ(llvm::toString(d.takeError()),
            "expected quantized dimension to be a multiple of 16, got 40");
  wrong.cols = 32;
  wrong.data.resize(4 * 16);
  wrong.scaleShape = {4, 2};
  wrong.amaxShape = {1}; // per-token needs (4)
  d = runner->dequantize(*perToken, wrong);
  ASSERT_FALSE(bool(d));
  EXPECT_EQ(llvm::toString(d.takeError()),
            "quantized buffers do not match the recipe's shapes for a 4x32 "
            "matrix");
  auto bad = runner->parseRecipe("outer = row, block = 16x16");
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError())
                .find("outer = row is incompatible with block = 16x16"),
            std::string::npos);
}
} // namespace
