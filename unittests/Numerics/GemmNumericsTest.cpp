//===- GemmNumericsTest.cpp - SPEC.md section 12 through the builder ------===//
//
// Each GEMM numerics function is JIT-compiled on its own and compared bit
// for bit with the same formula written in C++ (one rounding per
// statement, so nothing is contracted).
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Numerics/GemmNumerics.h"
#include "nvfp4/Numerics/NumericsBuilder.h"
#include "JitFunction.h"
#include "NVFP4Reference.h"
#include "nvfp4/InitAll.h"
#include "nvfp4/Pipelines/Pipelines.h"
#include "nvfp4/Support/FloatBits.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/TargetSelect.h"
#include "gtest/gtest.h"

#include <cmath>
#include <functional>
#include <random>

using namespace mlir;
using namespace mlir::nvfp4;
namespace ref = ::nvfp4::ref;
using ::nvfp4::bitsToFloat;
using ::nvfp4::floatBits;

namespace {
using Kernel = ::nvfp4::testing::JitFunction;

class GemmNumericsTest : public ::nvfp4::testing::JitTest {
protected:
  Type f32() { return Float32Type::get(&ctx); }
  Type i32() { return IntegerType::get(&ctx, 32); }
};

float mulRN(float x, float y) {
  volatile float r = x * y; // one rounding, never fused
  return r;
}

// c = RN(1/(36*E_A*E_B)): TV16's 0x34149B93 for 448 x 448; 4over6 operands
// use their own bound.
TEST_F(GemmNumericsTest, C) {
  auto cOf = [&](StringRef a, StringRef b) {
    RecipeAttr ra = recipe(a), rb = recipe(b);
    Kernel k(ctx, {}, {f32()}, [&](OpBuilder &bld, Location loc, auto) {
      return SmallVector<Value>{gemmC(bld, loc, ra, rb)};
    });
    float out = 0;
    k.call({&out});
    return out;
  };
  EXPECT_EQ(floatBits(cOf("per_tensor", "per_token")), 0x34149B93u);
  EXPECT_EQ(cOf("four_over_six", "four_over_six"),
            1.0f / (36.0f * 256.0f * 256.0f));
  EXPECT_EQ(cOf("four_over_six", "per_tensor"),
            1.0f / (36.0f * 256.0f * 448.0f));
}

// TV16 through the epilogue: both per-tensor, acc = 1 gives alpha itself.
TEST_F(GemmNumericsTest, TV16_TensorEpilogue) {
  RecipeAttr pt = recipe("per_tensor");
  Kernel k(ctx, {f32(), f32(), f32()}, {f32()},
           [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
             Value c = gemmC(b, loc, pt, pt);
             return SmallVector<Value>{
                 gemmEpilogue(b, loc, pt, pt, a[0], a[1], a[2], c, 1.0f, {})};
           });
  float acc = 1.0f, amaxA = bitsToFloat(0x41D01363),
        amaxB = bitsToFloat(0x41BC13CA), out = 0;
  k.call({&acc, &amaxA, &amaxB, &out});
  EXPECT_EQ(floatBits(out), 0x38B17ADCu);
  acc = 1234.5f;
  k.call({&acc, &amaxA, &amaxB, &out});
  EXPECT_EQ(out, mulRN(bitsToFloat(0x38B17ADC), 1234.5f));
}

// Per-row (and mixed) operands: amaxA first, then amaxB, then c; alpha and
// bias follow in that order.
TEST_F(GemmNumericsTest, RowEpilogueAlphaBias) {
  for (auto [a, b] : {std::pair{"per_token", "per_token"},
                      std::pair{"per_tensor", "per_token"},
                      std::pair{"per_token", "four_over_six"}}) {
    RecipeAttr ra = recipe(a), rb = recipe(b);
    Kernel k(ctx, {f32(), f32(), f32(), f32()}, {f32()},
             [&](OpBuilder &bld, Location loc, ArrayRef<Value> v) {
               Value c = gemmC(bld, loc, ra, rb);
               return SmallVector<Value>{gemmEpilogue(
                   bld, loc, ra, rb, v[0], v[1], v[2], c, 0.3f, v[3])};
             });
    const float c =
        1.0f / (36.0f * float(ra.getE4m3Max()) * float(rb.getE4m3Max()));
    const float cases[][4] = {{17.25f, 3.7f, 11.1f, 0.5f},
                              {-1e6f, 1e-3f, 7e4f, -2.0f},
                              {0.0f, 5.0f, 6.0f, 0.0f},
                              {3.0e30f, 3.0e30f, 3.0e30f, 1.0f}};
    for (const auto &x : cases) {
      float acc = x[0], amaxA = x[1], amaxB = x[2], bias = x[3], out = 0;
      k.call({&acc, &amaxA, &amaxB, &bias, &out});
      float want = mulRN(c, mulRN(amaxB, mulRN(amaxA, acc)));
      want = mulRN(0.3f, want);
      volatile float sum = want + bias;
      EXPECT_EQ(floatBits(out), floatBits(sum)) << a << " x " << b;
    }
  }
}

// Window operands: the accumulator arrives promoted, so only alpha and bias
// apply; the window factor is RN(RN(amaxA*amaxB)*c).
TEST_F(GemmNumericsTest, WindowFactorAndEpilogue) {
  RecipeAttr w = recipe("local_1x64"), pt = recipe("per_tensor");
  Kernel factor(ctx, {f32(), f32(), f32()}, {f32()},
                [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
                  return SmallVector<Value>{
                      gemmWindowFactor(b, loc, a[0], a[1], a[2])};
                });
  float amaxA = 3.7f, amaxB = 123.4f, c = bitsToFloat(0x34149B93), out = 0;
  factor.call({&amaxA, &amaxB, &c, &out});
  EXPECT_EQ(out, mulRN(mulRN(amaxA, amaxB), c));

  for (RecipeAttr other : {w, pt}) {
    Kernel epi(ctx, {f32()}, {f32()},
               [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
                 Value cc = gemmC(b, loc, w, other);
                 return SmallVector<Value>{gemmEpilogue(b, loc, w, other, a[0],
                                                        {}, {}, cc, 1.0f, {})};
               });
    float acc = 0.123f;
    epi.call({&acc, &out});
    EXPECT_EQ(out, acc);
  }
  EXPECT_EQ(gemmScaleClass(w, pt), GemmScaleClass::Window);
  EXPECT_EQ(gemmScaleClass(pt, recipe("per_token")), GemmScaleClass::Row);
  EXPECT_EQ(gemmScaleClass(pt, pt), GemmScaleClass::Tensor);
}

// Decoding is exact for every nibble and every non-NaN scale byte, for i8
// nibbles (high bits ignored) and vectors.
TEST_F(GemmNumericsTest, DecodeExhaustive) {
  Type i8 = IntegerType::get(&ctx, 8);
  Kernel k(ctx, {i8, f32()}, {f32()},
           [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
             return SmallVector<Value>{gemmDecode(b, loc, a[0], a[1])};
           });
  for (int sf = 0; sf < 256; ++sf) {
    float scale = ref::fromE4M3(uint8_t(sf));
    if (std::isnan(scale))
      continue;
    for (int nibble = 0; nibble < 16; ++nibble) {
      // The high nibble of the byte must not matter.
      int8_t byte = int8_t(nibble | 0xA0);
      float out = -1;
      k.call({&byte, &scale, &out});
      double want = double(ref::fromE2M1(uint8_t(nibble))) * double(scale);
      EXPECT_EQ(double(out), want) << nibble << " " << sf;
      EXPECT_EQ(std::signbit(out), std::signbit(want)) << nibble << " " << sf;
      // Exact in bf16 as well (SPEC.md section 12 exactness note).
      EXPECT_EQ(::nvfp4::bf16ToFloat(::nvfp4::floatToBF16(out)), out);
    }
  }
}

// The GPU kernels' fast decode (bit placement + one f16 product with the
// block's decode multiplier) gives e2m1 * sf * 2^-kGemmDecodeShift
// exactly, for every byte, every non-negative scale byte and garbage above
// bit 7; the multiplier itself is sf * 2^7 exactly.
TEST_F(GemmNumericsTest, DecodeF16PairExhaustive) {
  Kernel k(ctx, {i32(), f32()}, {f32(), f32()},
           [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
             auto f16x2 = VectorType::get({2}, b.getF16Type());
             Value sf = arith::TruncFOp::create(b, loc, b.getF16Type(), a[1]);
             Value pair = gemmDecodeF16Pair(
                 b, loc, a[0],
                 gemmDecodeScaleF16x2(
                     b, loc, vector::BroadcastOp::create(b, loc, f16x2, sf)));
             Value wide = arith::ExtFOp::create(
                 b, loc, VectorType::get({2}, b.getF32Type()), pair);
             return SmallVector<Value>{
                 vector::ExtractOp::create(b, loc, wide, 0),
                 vector::ExtractOp::create(b, loc, wide, 1)};
           });
  for (int sf = 0; sf < 0x7F; ++sf) {
    float scale = ref::fromE4M3(uint8_t(sf));
    for (int byte = 0; byte < 256; ++byte) {
      int32_t word = byte | 0x5A00 | (sf << 16); // bits above 7 are noise
      struct {
        float lo, hi;
      } out{-1, -1};
      k.call({&word, &scale, &out});
      double lo = std::ldexp(double(ref::fromE2M1(uint8_t(byte & 0xF))) * scale,
                             -int(kGemmDecodeShift));
      double hi = std::ldexp(double(ref::fromE2M1(uint8_t(byte >> 4))) * scale,
                             -int(kGemmDecodeShift));
      ASSERT_EQ(double(out.lo), lo) << byte << " " << sf;
      ASSERT_EQ(double(out.hi), hi) << byte << " " << sf;
      ASSERT_EQ(std::signbit(out.lo), std::signbit(lo)) << byte << " " << sf;
      ASSERT_EQ(std::signbit(out.hi), std::signbit(hi)) << byte << " " << sf;
    }
  }
}

/// Runs a word-decode kernel `k` (word, scale) -> 8 f32 (call i's two
/// halves at 2i, 2i + 1) for every non-negative scale byte on every nibble
/// value in every position (16 words, mixed nibbles too) and 32 random
/// words (`seed`): nibbles i and i + 4 must come out as e2m1 * sf *
/// 2^-kGemmDecodeShift exactly, signs included.
void expectNibbleDecodeExact(Kernel &k, unsigned seed) {
  std::mt19937 rng(seed);
  for (int sf = 0; sf < 0x7F; ++sf) {
    float scale = ref::fromE4M3(uint8_t(sf));
    for (int w = 0; w < 48; ++w) {
      uint32_t word = w < 16 ? 0x11111111u * uint32_t(w) : uint32_t(rng());
      if (w < 16)
        word ^= 0x76543210u * uint32_t(w & 1);
      float out[8];
      k.call({&word, &scale, out});
      for (int i = 0; i < 4; ++i)
        for (int h = 0; h < 2; ++h) {
          uint8_t nibble = uint8_t((word >> (4 * (i + 4 * h))) & 0xF);
          double want = std::ldexp(double(ref::fromE2M1(nibble)) * scale,
                                   -int(kGemmDecodeShift));
          float got = out[2 * i + h];
          ASSERT_EQ(double(got), want) << std::hex << word << " " << i << h;
          ASSERT_EQ(std::signbit(got), std::signbit(want))
              << std::hex << word << " " << i << h;
        }
    }
  }
}

// The word-level decode: call i of a word gives nibbles i and i + 4 times
// the scale and 2^-kGemmDecodeShift, exactly, for every nibble value in
// every position and every non-negative scale byte.
TEST_F(GemmNumericsTest, DecodeF16NibblesExhaustive) {
  Kernel k(ctx, {i32(), f32()}, SmallVector<Type>(8, f32()),
           [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
             auto f16x2 = VectorType::get({2}, b.getF16Type());
             Value sf = gemmDecodeScaleF16x2(
                 b, loc,
                 vector::BroadcastOp::create(
                     b, loc, f16x2,
                     arith::TruncFOp::create(b, loc, b.getF16Type(), a[1])));
             SmallVector<Value> out;
             for (int64_t i = 0; i < 4; ++i) {
               Value wide = arith::ExtFOp::create(
                   b, loc, VectorType::get({2}, b.getF32Type()),
                   gemmDecodeF16Nibbles(b, loc, a[0], i, sf));
               out.push_back(vector::ExtractOp::create(b, loc, wide, 0));
               out.push_back(vector::ExtractOp::create(b, loc, wide, 1));
             }
             return out;
           });
  expectNibbleDecodeExact(k, /*seed=*/3);
}

// The portable E4M3 -> f16x2 splat (the GEMM's scale operand) is exact for
// every byte: both halves equal decodeE4M3 (NaN stays NaN).
TEST_F(GemmNumericsTest, DecodeE4M3ToF16x2Exhaustive) {
  Kernel k(ctx, {i32()}, {f32(), f32()},
           [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
             NumericsBuilder m(b, loc);
             Value wide = arith::ExtFOp::create(
                 b, loc, VectorType::get({2}, b.getF32Type()),
                 m.decodeE4M3ToF16x2(a[0]));
             return SmallVector<Value>{
                 vector::ExtractOp::create(b, loc, wide, 0),
                 vector::ExtractOp::create(b, loc, wide, 1)};
           });
  for (int32_t byte = 0; byte < 256; ++byte) {
    struct {
      float lo, hi;
    } out{-1, -1};
    k.call({&byte, &out});
    float want = ref::fromE4M3(uint8_t(byte));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(out.lo) && std::isnan(out.hi)) << byte;
      continue;
    }
    EXPECT_EQ(floatBits(out.lo), floatBits(want)) << byte;
    EXPECT_EQ(floatBits(out.hi), floatBits(want)) << byte;
  }
}

// Amax reads: per-tensor scalar or per-group, per-row, per-window; the
// quotient form reads the floored amax.
TEST_F(GemmNumericsTest, LoadAmax) {
  Type index = IndexType::get(&ctx);
  auto dyn = [&](unsigned rank) {
    return MemRefType::get(SmallVector<int64_t>(rank, ShapedType::kDynamic),
                           f32());
  };
  std::vector<float> buf = {0.0f, 1e-20f, 2.0f, 3.0f, 4.0f, 5.0f};
  auto run = [&](StringRef text, unsigned rank, int64_t row, int64_t win,
                 int64_t group) {
    RecipeAttr r = recipe(text);
    Kernel k(ctx, {dyn(rank), index, index, index}, {f32()},
             [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
               bool grouped = (r.getOuter() == OuterGroup::Tensor && group) ||
                              (r.getOuter() == OuterGroup::Row && rank == 2) ||
                              rank == 3;
               return SmallVector<Value>{gemmLoadAmax(
                   b, loc, r, a[0], a[1], a[2], grouped ? a[3] : Value())};
             });
    void *ptr = buf.data();
    int64_t offset = 0;
    SmallVector<int64_t, 3> sizes, strides;
    if (rank == 1)
      sizes = {6}, strides = {1};
    else if (rank == 2)
      sizes = {3, 2}, strides = {2, 1};
    else
      sizes = {1, 3, 2}, strides = {6, 2, 1};
    SmallVector<void *> args{&ptr, &ptr, &offset};
    for (int64_t &s : sizes)
      args.push_back(&s);
    for (int64_t &s : strides)
      args.push_back(&s);
    float out = -1;
    args.append({&row, &win, &group, &out});
    k.call(args);
    return out;
  };
  EXPECT_EQ(run("per_tensor", 1, 4, 0, 0), 0.0f);
  EXPECT_EQ(run("per_tensor", 1, 4, 0, 3), 3.0f);
  EXPECT_EQ(run("per_token", 1, 4, 0, 0), 4.0f);
  EXPECT_EQ(run("per_token", 2, 1, 0, 2), 5.0f); // (G, N): [2, 1]
  EXPECT_EQ(run("per_token_quotient", 1, 1, 0, 0), 1e-12f);
  EXPECT_EQ(run("per_token_quotient", 1, 0, 0, 0), 1e-12f);
  EXPECT_EQ(run("local_1x64", 2, 1, 1, 0), 3.0f);
  EXPECT_EQ(run("local_1x64", 3, 2, 0, 0), 4.0f);
}
// Scale reads follow the 128x4 layout (TV11 offsets for C = 8) inside a
// 2-D buffer or one group of a 3-D one, and decode the E4M3 byte.
TEST_F(GemmNumericsTest, LoadScaleTV11) {
  Type index = IndexType::get(&ctx);
  Type f8 = Float8E4M3FNType::get(&ctx);
  // Bytes 0..125 are distinct finite E4M3 values.
  std::vector<uint8_t> buf(2 * 256 * 8);
  for (size_t i = 0; i < buf.size(); ++i)
    buf[i] = uint8_t(i % 126);
  const std::array<int64_t, 3> cases[] = {
      {1, 0, 16},  {31, 0, 496},  {32, 0, 4},     {96, 0, 12},
      {0, 4, 512}, {127, 3, 511}, {128, 0, 1024}, {130, 5, 1569}};
  for (unsigned rank : {2u, 3u}) {
    auto type =
        MemRefType::get(SmallVector<int64_t>(rank, ShapedType::kDynamic), f8);
    Kernel k(ctx, {type, index, index, index, index}, {f32()},
             [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
               return SmallVector<Value>{gemmLoadScale(
                   b, loc, a[0], a[1], a[2], a[3], rank == 3 ? a[4] : Value())};
             });
    for (auto [r, c, offset] : cases) {
      void *ptr = buf.data();
      int64_t zero = 0, g = 1, numBlocks = 8;
      SmallVector<int64_t, 3> sizes{256, 8}, strides{8, 1};
      if (rank == 3)
        sizes = {2, 256, 8}, strides = {2048, 8, 1};
      SmallVector<void *> args{&ptr, &ptr, &zero};
      for (int64_t &v : sizes)
        args.push_back(&v);
      for (int64_t &v : strides)
        args.push_back(&v);
      float out = -1;
      args.append({&r, &c, &numBlocks, &g, &out});
      k.call(args);
      int64_t flat = (rank == 3 ? 2048 : 0) + offset;
      EXPECT_EQ(out, ref::fromE4M3(buf[flat]))
          << rank << ": " << r << ", " << c;
    }
  }
}
} // namespace

// W4A16: A is unscaled, so c = RN(1/(6*E_B)) (B's dequantization constant,
// 0x39C30C31 for 448) and the epilogue leaves A's factor out: tensor
// RN(RN(amaxB*c)*acc), row RN(c*RN(amaxB*acc)), window RN(amaxB*c).
TEST_F(GemmNumericsTest, W4A16Epilogue) {
  RecipeAttr pt = recipe("per_tensor"), tok = recipe("per_token"),
             fos = recipe("four_over_six"), win = recipe("local_1x64");
  EXPECT_EQ(gemmScaleClass({}, pt), GemmScaleClass::Tensor);
  EXPECT_EQ(gemmScaleClass({}, tok), GemmScaleClass::Row);
  EXPECT_EQ(gemmScaleClass({}, win), GemmScaleClass::Window);
  for (RecipeAttr rb : {pt, tok, fos}) {
    Kernel k(ctx, {f32(), f32(), f32()}, {f32(), f32()},
             [&](OpBuilder &bld, Location loc, ArrayRef<Value> v) {
               Value c = gemmC(bld, loc, {}, rb);
               return SmallVector<Value>{
                   c, gemmEpilogue(bld, loc, {}, rb, v[0], {}, v[1], c, 0.3f,
                                   v[2])};
             });
    const float c = 1.0f / (6.0f * float(rb.getE4m3Max()));
    const float cases[][3] = {{17.25f, 11.1f, 0.5f},
                              {-1e6f, 7e4f, -2.0f},
                              {0.0f, 6.0f, 0.0f},
                              {3.0e35f, 3.0e30f, 1.0f}};
    for (const auto &x : cases) {
      float acc = x[0], amaxB = x[1], bias = x[2];
      struct {
        float c, d;
      } out{0, 0};
      k.call({&acc, &amaxB, &bias, &out});
      EXPECT_EQ(out.c, c);
      float want = rb.getOuter() == OuterGroup::Tensor
                       ? mulRN(mulRN(amaxB, c), acc)
                       : mulRN(c, mulRN(amaxB, acc));
      volatile float sum = mulRN(0.3f, want) + bias;
      EXPECT_EQ(floatBits(out.d), floatBits(sum));
    }
  }
  float c448 = 0;
  Kernel k448(ctx, {}, {f32()}, [&](OpBuilder &bld, Location loc, auto) {
    return SmallVector<Value>{gemmC(bld, loc, {}, pt)};
  });
  k448.call({&c448});
  EXPECT_EQ(floatBits(c448), 0x39C30C31u);
  Kernel factor(ctx, {f32(), f32()}, {f32()},
                [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
                  return SmallVector<Value>{
                      gemmWindowFactor(b, loc, {}, a[0], a[1])};
                });
  float amaxB = 123.4f, out = 0;
  factor.call({&amaxB, &c448, &out});
  EXPECT_EQ(out, mulRN(amaxB, c448));
}

// The bf16 word-level decode (W4A16 with a bf16 A): exact for every nibble
// value in every position and every non-negative scale byte, signs
// included (-0 stays -0), like the f16 form (times 2^-kGemmDecodeShift).
TEST_F(GemmNumericsTest, DecodeBF16NibblesExhaustive) {
  Kernel k(ctx, {i32(), f32()}, SmallVector<Type>(8, f32()),
           [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
             Value sf = gemmDecodeScaleBF16x2(b, loc, a[1]);
             SmallVector<Value> out;
             for (int64_t i = 0; i < 4; ++i) {
               Value wide = arith::ExtFOp::create(
                   b, loc, VectorType::get({2}, b.getF32Type()),
                   gemmDecodeBF16Nibbles(b, loc, a[0], i, sf));
               out.push_back(vector::ExtractOp::create(b, loc, wide, 0));
               out.push_back(vector::ExtractOp::create(b, loc, wide, 1));
             }
             return out;
           });
  expectNibbleDecodeExact(k, /*seed=*/5);
}

// gemmRestoreDecoded takes the decode shift back from sums of products of
// one or two decoded operands, exactly: from the smallest product of two
// decoded elements (2^-34) to large sums, signs and zeros included, and
// leaves a sum of undecoded operands alone.
TEST_F(GemmNumericsTest, RestoreDecodedExact) {
  Kernel k(ctx, {f32()}, {f32(), f32(), f32()},
           [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
             return SmallVector<Value>{gemmRestoreDecoded(b, loc, a[0], 0),
                                       gemmRestoreDecoded(b, loc, a[0], 1),
                                       gemmRestoreDecoded(b, loc, a[0], 2)};
           });
  const int shift = int(kGemmDecodeShift);
  for (float acc : {0x1p-34f, -0x1p-34f, 0.0f, -0.0f, 45.0f * 0x1p-34f,
                    1.0f, -3.75f, 0x1.fffffep+100f, 12345.678f}) {
    float out[3] = {-1, -1, -1};
    k.call({&acc, out});
    EXPECT_EQ(floatBits(out[0]), floatBits(acc)) << acc;
    EXPECT_EQ(floatBits(out[1]), floatBits(std::ldexp(acc, shift))) << acc;
    EXPECT_EQ(floatBits(out[2]), floatBits(std::ldexp(acc, 2 * shift)))
        << acc;
  }
}
