//===- FourOverSixTest.cpp - 4over6 sequences against SPEC.md -------------===//
//
// The 4over6 error sums (lib/Numerics/FourOverSix.cpp) replace SPEC.md
// section 7's literal operations with cheaper exact ones. These tests JIT
// the builder's functions and compare them with the literal formulas
// evaluated on the host: the division by 6E on a sweep of bit patterns
// (the full 2^32 sweep is docs/Rationale.md's, "4over6 errors"), and whole
// blocks on adversarial data and outer amaxes (negative, zero, subnormal,
// huge, infinite and NaN given amaxes included).
//
//===----------------------------------------------------------------------===//

#include "JitFunction.h"
#include "NVFP4Reference.h"
#include "nvfp4/Numerics/NumericsBuilder.h"
#include "nvfp4/Support/FloatBits.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace mlir;
using namespace mlir::nvfp4;
namespace ref = ::nvfp4::ref;
using ::nvfp4::bitsToFloat;
using ::nvfp4::floatBits;

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

using FourOverSixTest = ::nvfp4::testing::JitTest;

// One binary32 operation per statement: nothing here may be contracted.
float mulRN(float a, float b) { return a * b; }
float divRN(float a, float b) { return a / b; }
float subRN(float a, float b) { return a - b; }
float addRN(float a, float b) { return a + b; }
float fminC(float a, float b) {
  return std::isnan(a) ? b : std::isnan(b) ? a : a < b ? a : b;
}

// RN(y / 6E) against the IEEE division on a sweep of every 4093rd bit
// pattern (both signs, zeros, subnormals, the subnormal quotients whose
// exact value is half-way between two subnormals, where Markstein's plain
// correction step fails, normal and huge y), plus those ties by name.
TEST_F(FourOverSixTest, DivBySixEIsTheDivision) {
  for (unsigned e : {256u, 448u}) {
    ::nvfp4::testing::JitFunction f(
        ctx, {Float32Type::get(&ctx)}, {Float32Type::get(&ctx)},
        [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
          NumericsBuilder nb(b, loc);
          return SmallVector<Value>{nb.divBySixE(a[0], e)};
        });
    float sixE = 6.0f * float(e);
    auto check = [&](uint32_t bits) {
      float y = bitsToFloat(bits), got = 0;
      f.call({&y, &got});
      float want = divRN(y, sixE);
      if (std::isinf(y))
        return std::isnan(got); // Inf - Inf in the remainder
      if (y == 0.0f)
        return floatBits(got) == 0u; // -0 gives +0
      return floatBits(got) == floatBits(want);
    };
    // First ties of the plain correction step (y / 6E half-way between
    // subnormals; there it rounds to the lower one).
    for (uint32_t bits : {0x00000900u, 0x00001500u, 0x04800001u, 0x04fffff9u,
                          0x00000fc0u, 0x0380001fu, 0x03ffffffu})
      EXPECT_TRUE(check(bits)) << std::hex << bits << " E " << std::dec << e;
    uint64_t bad = 0;
    for (uint64_t i = 0; i < (1ull << 32); i += 4093)
      bad += !check(uint32_t(i));
    EXPECT_EQ(bad, 0u) << "E " << e;
  }
}

// The candidates' scale bytes and multipliers (RN(a_B / 6) without a
// division) against the literal formulas, for every 65521st non-negative
// block amax pattern and +Inf, under outer scales of both signs and
// extreme sizes.
TEST_F(FourOverSixTest, CandidateScalesMatchTheFormulas) {
  Type f32 = Float32Type::get(&ctx), i32 = IntegerType::get(&ctx, 32);
  RecipeAttr r = recipe("four_over_six");
  ::nvfp4::testing::JitFunction f(
      ctx, {f32, f32}, {i32, f32, i32, f32},
      [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
        NumericsBuilder nb(b, loc);
        auto c = nb.fourOverSixScales(r, a[0], a[1], nb.reciprocal(a[1]));
        return SmallVector<Value>{c[0].sf, c[0].enc, c[1].sf, c[1].enc};
      });
  std::vector<float> amaxes = {kInf}; // an amax is never NaN
  for (uint32_t bits = 0; bits < 0x7F800000u; bits += 65521)
    amaxes.push_back(bitsToFloat(bits));
  for (float sEnc : {1.0f, 3.5f, -2.0f, 1e30f, 1e-30f, -kInf,
                     std::numeric_limits<float>::max()})
    for (float aB : amaxes) {
      struct {
        int32_t sf4;
        float enc4;
        int32_t sf6;
        float enc6;
      } got;
      f.call({&aB, &sEnc, &got});
      float sDec = divRN(1.0f, sEnc);
      float base = mulRN(divRN(aB, 6.0f), sEnc);
      uint8_t sf4 = ref::toE4M3(fminC(mulRN(base, 1.5f), 448.0f));
      uint8_t sf6 = ref::toE4M3(fminC(base, 448.0f));
      auto enc = [&](uint8_t sf) {
        return fminC(divRN(1.0f, mulRN(ref::fromE4M3(sf), sDec)),
                     std::numeric_limits<float>::max());
      };
      std::string where =
          "a_B " + std::to_string(aB) + " S " + std::to_string(sEnc);
      ASSERT_EQ(got.sf4, sf4) << where;
      ASSERT_EQ(got.sf6, sf6) << where;
      ASSERT_EQ(floatBits(got.enc4), floatBits(enc(sf4))) << where;
      ASSERT_EQ(floatBits(got.enc6), floatBits(enc(sf6))) << where;
    }
}

/// SPEC.md section 7 for one 1x16 block, literally (reciprocal form).
struct SpecBlock {
  uint8_t sf;
  uint8_t bytes[8];
};
SpecBlock specBlock(const float *x, float sEnc, float amax, unsigned e,
                    bool mse) {
  float aB = 0.0f;
  for (int i = 0; i < 16; ++i)
    aB = std::fmax(aB, std::fabs(x[i]));
  float sDec = divRN(1.0f, sEnc);
  float base = mulRN(divRN(aB, 6.0f), sEnc);
  uint8_t sf[2] = {ref::toE4M3(fminC(mulRN(base, 1.5f), 448.0f)),
                   ref::toE4M3(fminC(base, 448.0f))};
  float inv[2], err[2];
  for (int c = 0; c < 2; ++c) {
    float t = mulRN(ref::fromE4M3(sf[c]), sDec);
    inv[c] = fminC(divRN(1.0f, t), std::numeric_limits<float>::max());
    err[c] = 0.0f;
    for (int i = 0; i < 16; ++i) {
      uint8_t code = ref::toE2M1(mulRN(x[i], inv[c]));
      float p = mulRN(ref::fromE2M1(code), ref::fromE4M3(sf[c]));
      float val = divRN(mulRN(p, amax), float(6 * e));
      float d = subRN(val, x[i]);
      err[c] = addRN(err[c], mse ? mulRN(d, d) : std::fabs(d));
    }
  }
  int k = err[0] < err[1] ? 0 : 1;
  SpecBlock out;
  out.sf = sf[k];
  for (int j = 0; j < 8; ++j)
    out.bytes[j] = uint8_t(ref::toE2M1(mulRN(x[2 * j], inv[k])) |
                           ref::toE2M1(mulRN(x[2 * j + 1], inv[k])) << 4);
  return out;
}

// Whole blocks through fourOverSixBlock (the sign and overflow handling,
// the kept codes, the comparison) against the literal formulas, for both
// metrics and bounds, on data from subnormal to near FLT_MAX with ties,
// zeros, infinities and NaN, and outer amaxes that are the data's or
// given: smaller, negative, zero, subnormal, huge, infinite or NaN.
TEST_F(FourOverSixTest, BlocksMatchTheFormulas) {
  for (const char *text :
       {"four_over_six", "four_over_six_mse", "four_over_six, e4m3_max = 448",
        "four_over_six_mse, e4m3_max = 448"}) {
    RecipeAttr r = recipe(text);
    Type f32 = Float32Type::get(&ctx), i32 = IntegerType::get(&ctx, 32);
    SmallVector<Type> args(19, f32), results(9, i32);
    ::nvfp4::testing::JitFunction f(
        ctx, args, results, [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
          NumericsBuilder nb(b, loc);
          ArrayRef<Value> x = a.take_front(16);
          auto block = nb.fourOverSixBlock(r, x, a[16], a[17],
                                           nb.reciprocal(a[17]), a[18]);
          SmallVector<Value> out = {block.scale.sf};
          out.append(block.bytes.begin(), block.bytes.end());
          return out;
        });
    std::mt19937 rng(4242);
    std::normal_distribution<float> normal;
    std::uniform_int_distribution<int> pick(0, 31);
    const float scales[] = {1.0f,   1e-3f, 1e-30f, 1e-38f,
                            1e-42f, 1e20f, 1e36f,  3e38f};
    int blocks = 0, fours = 0;
    for (int trial = 0; trial < 4000; ++trial) {
      float x[16];
      float scale = scales[trial % 8];
      for (float &v : x) {
        v = normal(rng) * scale;
        switch (pick(rng)) {
        case 0:
          v = 0.0f;
          break;
        case 1:
          v = -0.0f;
          break;
        case 2:
          v = scale * 0.25f * float(pick(rng) - 16);
          break; // ties
        case 3:
          if (trial % 5 == 0)
            v = kInf;
          break;
        case 4:
          if (trial % 7 == 0)
            v = -kNaN;
          break;
        default:
          break;
        }
      }
      float data = 0.0f;
      for (float v : x)
        data = std::fmax(data, std::fabs(v));
      // The group amax is the block's, a larger group's, or given.
      const float amaxes[] = {data,
                              mulRN(data, 3.0f),
                              mulRN(data, 37.0f),
                              mulRN(data, 0.5f),
                              -data,
                              0.0f,
                              -0.0f,
                              0x1p-140f,
                              -0x1p-130f,
                              0x1p-110f,
                              1e-38f,
                              std::numeric_limits<float>::max(),
                              kInf,
                              -kInf,
                              kNaN,
                              -1e-37f};
      for (float amax : amaxes) {
        unsigned e = r.getE4m3Max();
        float sEnc = ref::outerScale(amax, e);
        SpecBlock want = specBlock(x, sEnc, amax, e,
                                   r.getSelect() == Selection::FourOverSixMSE);
        int32_t got[9];
        SmallVector<void *> ptrs;
        for (float &v : x)
          ptrs.push_back(&v);
        float aB = 0.0f;
        for (float v : x)
          aB = std::fmax(aB, std::fabs(v));
        ptrs.append({&aB, &sEnc, &amax, got});
        f.call(ptrs);
        std::string where = std::string(text) + " trial " +
                            std::to_string(trial) + " amax " +
                            std::to_string(amax);
        ASSERT_EQ(got[0], want.sf) << where;
        for (int j = 0; j < 8; ++j)
          ASSERT_EQ(got[1 + j], want.bytes[j]) << where << " byte " << j;
        ++blocks;
        fours +=
            want.sf != ref::toE4M3(fminC(mulRN(divRN(aB, 6.0f), sEnc), 448.0f));
      }
    }
    EXPECT_GT(fours, blocks / 200) << "too few map-to-4 choices in " << text;
  }
}
} // namespace
