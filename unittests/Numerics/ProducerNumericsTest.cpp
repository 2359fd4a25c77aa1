//===- ProducerNumericsTest.cpp - SPEC.md section 15 through the builder --===//
//
// The producers' numerics (square root, E, T, the gated activations, RN_s,
// the RMSNorm steps) JIT-compiled through the CPU pipeline and compared bit
// for bit with the scalar reference (ProducerReference.h), on every 97th
// binary32 pattern (44 million values; the same sequences were swept over
// all 2^32 patterns once, docs/ProducerNumerics.md) plus the values each
// decision hinges on. The reference itself is checked against float64.
//
//===----------------------------------------------------------------------===//

#include "JitFunction.h"
#include "ProducerReference.h"
#include "nvfp4/InitAll.h"
#include "nvfp4/Numerics/NumericsBuilder.h"
#include "nvfp4/Pipelines/Pipelines.h"
#include "nvfp4/Support/FloatBits.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "gtest/gtest.h"

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <vector>

using namespace mlir;
using namespace mlir::nvfp4;
namespace ref = ::nvfp4::ref;
using ::nvfp4::bitsToFloat;
using ::nvfp4::floatBits;

namespace {
using Kernel = ::nvfp4::testing::JitFunction;
using UnaryBody = std::function<Value(NumericsBuilder &, Value)>;
using Elementwise =
    std::function<std::vector<float>(const std::vector<float> &)>;

/// Every `stride`-th binary32 pattern.
constexpr uint32_t kStride = 97;

/// Patterns every sweep adds: signed zeros, subnormals, the normal range's
/// ends, infinities and NaNs with payloads of both signs.
std::vector<float> specialValues() {
  std::vector<float> v;
  for (uint32_t bits :
       {0x00000000u, 0x00000001u, 0x00000002u, 0x007FFFFFu, 0x00800000u,
        0x00800001u, 0x1F800000u, 0x1F7FFFFFu, 0x33800000u, 0x39800000u,
        0x3F800000u, 0x3F7FFFFFu, 0x3F800001u, 0x40000000u, 0x7F7FFFFFu,
        0x7F800000u, 0x7F800001u, 0x7FC00000u, 0x7FC00001u, 0x7FFFFFFFu,
        0x7FA12345u})
    for (uint32_t sign : {0u, 0x80000000u})
      v.push_back(bitsToFloat(bits | sign));
  return v;
}

/// `count` patterns on each side of `bits` and of its negation.
void addNeighbours(std::vector<float> &v, uint32_t bits, int count = 4) {
  for (uint32_t sign : {0u, 0x80000000u})
    for (int d = -count; d <= count; ++d)
      v.push_back(bitsToFloat((bits + uint32_t(d)) | sign));
}

/// Distance in representable binary32 values between two finite floats.
int64_t ulpDistance(float a, float b) {
  auto order = [](float f) {
    int64_t i = int32_t(floatBits(f));
    return i < 0 ? -(i & 0x7FFFFFFF) : i;
  };
  return std::llabs(order(a) - order(b));
}

/// The binary32 ulp at `v`'s magnitude (the subnormal spacing below 2^-126).
double ulpAt(double v) {
  double a = std::fabs(v);
  if (a < 0x1p-126)
    return 0x1p-149;
  int e;
  std::frexp(a, &e);
  return std::ldexp(1.0, e - 24);
}

/// The spacing of storage type `s`'s values at `v`'s magnitude, subnormal
/// spacing included.
double storageUlpAt(double v, ref::DType s) {
  int e;
  std::frexp(std::fabs(v), &e); // |v| in [2^(e-1), 2^e)
  switch (s) {
  case ref::DType::F32:
    return std::ldexp(1.0, std::max(e - 24, -149));
  case ref::DType::F16:
    return std::ldexp(1.0, std::max(e - 11, -24));
  case ref::DType::BF16:
    return std::ldexp(1.0, std::max(e - 8, -133));
  }
  return 0;
}

class ProducerNumericsTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  }
  ProducerNumericsTest() { loadAllDialects(ctx); }

  Type f32() { return Float32Type::get(&ctx); }

  /// `body` applied by a JIT-compiled loop to each element of a buffer.
  Elementwise elementwise(const UnaryBody &body) {
    auto buffer = MemRefType::get({ShapedType::kDynamic}, f32());
    auto kernel = std::make_shared<Kernel>(
        ctx, ArrayRef<Type>{buffer, buffer}, ArrayRef<Type>{},
        [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
          Value zero = arith::ConstantIndexOp::create(b, loc, 0);
          Value one = arith::ConstantIndexOp::create(b, loc, 1);
          Value n = memref::DimOp::create(b, loc, a[0], 0);
          scf::ForOp::create(
              b, loc, zero, n, one, ValueRange{},
              [&](OpBuilder &b, Location loc, Value i, ValueRange) {
                NumericsBuilder nb(b, loc);
                Value x = memref::LoadOp::create(b, loc, a[0], i);
                memref::StoreOp::create(b, loc, body(nb, x), a[1], i);
                scf::YieldOp::create(b, loc);
              });
          return SmallVector<Value>{};
        });
    return [kernel](const std::vector<float> &in) {
      std::vector<float> out(in.size());
      void *inPtr = const_cast<float *>(in.data()), *outPtr = out.data();
      int64_t offset = 0, size = int64_t(in.size()), stride = 1;
      kernel->call({&inPtr, &inPtr, &offset, &size, &stride, &outPtr, &outPtr,
                    &offset, &size, &stride});
      return out;
    };
  }

  /// Runs `f` on every kStride-th pattern and on `extra`, in chunks, and
  /// calls `check(x, f(x))` for each.
  static void sweep(const Elementwise &f, const std::vector<float> &extra,
                    const std::function<void(float, float)> &check) {
    std::vector<float> in = extra;
    for (uint64_t u = 0; u <= 0xFFFFFFFFull; u += kStride) {
      in.push_back(bitsToFloat(uint32_t(u)));
      if (in.size() == (1 << 20) || u + kStride > 0xFFFFFFFFull) {
        std::vector<float> out = f(in);
        for (size_t i = 0; i < in.size(); ++i)
          check(in[i], out[i]);
        in.clear();
      }
    }
  }

  /// `f` equals `want` bit for bit on the sweep and `extra`. A NaN result
  /// need only be a NaN: LLVM (like the GPU) does not promise which NaN
  /// arithmetic returns, and only RN_s fixes the stored NaN (`exactNaN`).
  static void expectSameBits(const Elementwise &f,
                             const std::function<float(float)> &want,
                             std::vector<float> extra, bool exactNaN = false) {
    auto specials = specialValues();
    extra.insert(extra.end(), specials.begin(), specials.end());
    int64_t failures = 0;
    sweep(f, extra, [&](float x, float got) {
      float w = want(x);
      if (!exactNaN && std::isnan(w) && std::isnan(got))
        return;
      if (floatBits(got) != floatBits(w) && ++failures <= 10)
        ADD_FAILURE() << std::hexfloat << "x = " << x << " (0x" << std::hex
                      << floatBits(x) << "): got 0x" << floatBits(got)
                      << ", want 0x" << floatBits(w);
    });
    EXPECT_EQ(failures, 0);
  }

  MLIRContext ctx;
};

/// The inputs E's decisions hinge on: its overflow and underflow
/// thresholds, the clamp, the subnormal results, the round-to-integer
/// boundaries n + 1/2 of x * log2(e) near 0 and at the range's ends.
std::vector<float> expCases() {
  std::vector<float> v;
  for (uint32_t bits : {0x42B17217u, 0xC2CFF1B4u, 0x42B17218u, 0xC2CFF1B5u,
                        0xC2AEAC50u /* -87.3: 2^-126 */})
    addNeighbours(v, bits & 0x7FFFFFFF, 6);
  for (float x : {88.0f, 89.0f, 100.0f, 1e30f, -88.0f, -100.0f, -103.0f,
                  -104.0f, -1e30f, 0.5f, 1.0f, 0x1p-24f, 0x1p-25f})
    addNeighbours(v, floatBits(std::fabs(x)), 2);
  for (int n = -151; n <= 129; ++n)
    addNeighbours(v, floatBits(float((n + 0.5) * M_LN2)) & 0x7FFFFFFF, 2);
  return v;
}

/// The inputs T's decisions hinge on: the switch at 0.75, the end of
/// T(x) = x, the first x with T(x) = 1, E's overflow at 2|x| = 88.72.
std::vector<float> tanhCases() {
  std::vector<float> v;
  for (float x :
       {0.75f, 0x1p-12f, 0x1p-13f, 9.01f, 44.36142f, 0.5f, 1.0f, 0x1p-126f})
    addNeighbours(v, floatBits(x), 8);
  return v;
}

//===----------------------------------------------------------------------===//
// Builder == reference
//===----------------------------------------------------------------------===//

TEST_F(ProducerNumericsTest, ExpMatchesReference) {
  expectSameBits(
      elementwise([](NumericsBuilder &nb, Value x) { return nb.exp(x); }),
      ref::expF32, expCases());
}

TEST_F(ProducerNumericsTest, TanhMatchesReference) {
  expectSameBits(
      elementwise([](NumericsBuilder &nb, Value x) { return nb.tanh(x); }),
      ref::tanhF32, tanhCases());
}

// g = -x reaches E's thresholds; large |g| overflows E (silu(g) = -0 below
// g = -88.72) and saturates T (gelu_tanh(g) = -0 and g).
TEST_F(ProducerNumericsTest, SiluMatchesReference) {
  expectSameBits(elementwise([](NumericsBuilder &nb, Value g) {
                   return nb.gatedActivation(GatedActivation::SiLU, g);
                 }),
                 ref::silu, expCases());
}

TEST_F(ProducerNumericsTest, GeluTanhMatchesReference) {
  std::vector<float> cases = tanhCases();
  for (float g : {1.0f, 3.0f, 5.0f, 7.0f, 10.0f, 1e19f, 3e12f, 1e13f})
    addNeighbours(cases, floatBits(g), 2);
  expectSameBits(elementwise([](NumericsBuilder &nb, Value g) {
                   return nb.gatedActivation(GatedActivation::GeluTanh, g);
                 }),
                 ref::geluTanh, cases);
}

// RN_s for each storage type: ties to even around every binade of the
// sweep, f16's overflow to Inf at 65520 and its subnormals, and every NaN
// to 0x7FC00000.
TEST_F(ProducerNumericsTest, RoundToStorageMatchesReference) {
  const std::pair<ref::DType, Type> types[] = {
      {ref::DType::F32, f32()},
      {ref::DType::F16, Float16Type::get(&ctx)},
      {ref::DType::BF16, BFloat16Type::get(&ctx)}};
  std::vector<float> cases;
  for (float x : {65504.0f, 65520.0f, 0x1p-14f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f,
                  0x1p-126f, 3.4e38f})
    addNeighbours(cases, floatBits(x), 3);
  // Exactly halfway between two bf16 / f16 values, odd and even.
  for (uint32_t bits : {0x3F808000u, 0x3F818000u, 0x3F801000u, 0x3F803000u})
    cases.push_back(bitsToFloat(bits));
  for (auto [dtype, type] : types) {
    SCOPED_TRACE(int(dtype));
    expectSameBits(
        elementwise([&, type = type](NumericsBuilder &nb, Value v) {
          return nb.roundToStorage(v, type);
        }),
        [dtype = dtype](float v) { return ref::roundToStorage(v, dtype); },
        cases, /*exactNaN=*/true);
  }
}

// The builder's square root is an integer sequence; it must be the IEEE
// one: every 97th pattern, the neighbours of the exponent parity changes and
// of exact squares, the scaled range below 2^-64. A negative operand gives
// the canonical NaN, a NaN operand itself.
TEST_F(ProducerNumericsTest, SqrtIsIEEE) {
  std::vector<float> cases;
  for (float x : {1.0f, 2.0f, 4.0f, 0x1p-64f, 0x1p-63f, 9.0f, 0x1p-126f,
                  0x1p-149f, 3.4e38f, 16777215.0f * 16777215.0f})
    addNeighbours(cases, floatBits(x), 8);
  auto canonicalSqrt = [](float x) {
    if (std::isnan(x))
      return x;
    return x < 0.0f ? bitsToFloat(0x7FC00000) : std::sqrt(x);
  };
  expectSameBits(
      elementwise([](NumericsBuilder &nb, Value x) { return nb.sqrt(x); }),
      canonicalSqrt, cases);
}

// rmsInverse for sums of squares from 0 to +Inf (inv = 0), row lengths
// with and without exact division, and two epsilons.
TEST_F(ProducerNumericsTest, RmsInverseMatchesReference) {
  std::vector<float> sums = {
      0.0f, 0x1p-149f, 1e-30f,  1.0f,
      3.0f, 1e30f,     3.4e38f, std::numeric_limits<float>::infinity()};
  for (uint32_t u = 0; u < 0x7F800000u; u += 1000003)
    sums.push_back(bitsToFloat(u));
  for (float k : {1.0f, 7.0f, 16.0f, 100.0f, 4096.0f, 5120.0f, 7168.0f})
    for (float eps : {1e-6f, 1e-5f}) {
      auto f = elementwise([&](NumericsBuilder &nb, Value ss) {
        return nb.rmsInverse(ss, nb.f32(ss, k), eps);
      });
      std::vector<float> got = f(sums);
      for (size_t i = 0; i < sums.size(); ++i)
        EXPECT_EQ(floatBits(got[i]),
                  floatBits(ref::rmsInverse(sums[i], k, eps)))
            << std::hexfloat << sums[i] << " k " << k << " eps " << eps;
    }
}

TEST_F(ProducerNumericsTest, SumSquaresStep) {
  Kernel k(ctx, {f32(), f32()}, {f32()},
           [](OpBuilder &b, Location loc, ArrayRef<Value> a) {
             NumericsBuilder nb(b, loc);
             return SmallVector<Value>{nb.sumSquaresStep(a[0], a[1])};
           });
  std::mt19937 rng(15);
  std::uniform_real_distribution<float> dist(-100.0f, 100.0f);
  for (int i = 0; i < 1000; ++i) {
    float acc = std::fabs(dist(rng)) * 100.0f, h = dist(rng), out = -1;
    k.call({&acc, &h, &out});
    float sq = h * h;
    float want = acc + sq;
    EXPECT_EQ(floatBits(out), floatBits(want)) << acc << " " << h;
  }
}

// Each function emitted on vector<4xf32> operands gives the bits of the
// scalar reference in every lane (RN_s's canonical NaN included; other
// NaNs need only be NaNs).
TEST_F(ProducerNumericsTest, VectorOperandsMatchScalar) {
  auto vec4 = VectorType::get({4}, f32());
  Type bf16 = BFloat16Type::get(&ctx), f16 = Float16Type::get(&ctx);
  const std::pair<UnaryBody, std::function<float(float)>> functions[] = {
      {[](NumericsBuilder &nb, Value x) { return nb.exp(x); }, ref::expF32},
      {[](NumericsBuilder &nb, Value x) { return nb.tanh(x); }, ref::tanhF32},
      {[](NumericsBuilder &nb, Value x) { return nb.sqrt(x); },
       [](float x) {
         return std::isnan(x) || x >= 0.0f ? std::sqrt(x)
                                           : bitsToFloat(0x7FC00000);
       }},
      {[](NumericsBuilder &nb, Value x) {
         return nb.gatedActivation(GatedActivation::SiLU, x);
       },
       ref::silu},
      {[](NumericsBuilder &nb, Value x) {
         return nb.gatedActivation(GatedActivation::GeluTanh, x);
       },
       ref::geluTanh},
      {[bf16](NumericsBuilder &nb, Value x) {
         return nb.roundToStorage(x, bf16);
       },
       [](float x) { return ref::roundToStorage(x, ref::DType::BF16); }},
      {[f16](NumericsBuilder &nb, Value x) {
         return nb.roundToStorage(x, f16);
       },
       [](float x) { return ref::roundToStorage(x, ref::DType::F16); }},
      {[](NumericsBuilder &nb, Value x) {
         return nb.sumSquaresStep(nb.f32(x, 3.0f), x);
       },
       [](float x) {
         float sq = x * x;
         return 3.0f + sq;
       }},
      {[](NumericsBuilder &nb, Value x) {
         return nb.rmsInverse(nb.abs(x), nb.f32(x, 100.0f), 1e-6f);
       },
       [](float x) { return ref::rmsInverse(std::fabs(x), 100.0f, 1e-6f); }}};
  std::vector<float> inputs = specialValues();
  for (float x : {0.3f, -0.7f, 0.75f, -0.75f, 2.0f, -5.5f, 40.0f, -95.0f, 88.8f,
                  1e-20f, 65520.0f, 1.00390625f})
    inputs.push_back(x);
  while (inputs.size() % 4)
    inputs.push_back(1.0f);
  for (const auto &function : functions) {
    const std::function<float(float)> &want = function.second;
    Kernel k(ctx, {vec4}, {vec4},
             [&](OpBuilder &b, Location loc, ArrayRef<Value> a) {
               NumericsBuilder nb(b, loc);
               return SmallVector<Value>{function.first(nb, a[0])};
             });
    for (size_t i = 0; i < inputs.size(); i += 4) {
      alignas(16) float in[4], out[4];
      std::copy(inputs.begin() + i, inputs.begin() + i + 4, in);
      k.call({in, out});
      for (int lane = 0; lane < 4; ++lane) {
        float w = want(in[lane]);
        if (std::isnan(w))
          EXPECT_TRUE(std::isnan(out[lane])) << std::hexfloat << in[lane];
        else
          EXPECT_EQ(floatBits(out[lane]), floatBits(w))
              << std::hexfloat << in[lane];
      }
    }
  }
}

// On NVPTX the sequences stay what they are on the CPU: each multiply and
// add a separate `.rn` instruction (ptxas does not fuse those), IEEE
// division, no approximate instruction and no libdevice call (math.sqrt
// would become __nv_sqrtf, sqrt.approx.f32).
TEST_F(ProducerNumericsTest, PTXHasNoFMAOrApproximation) {
  std::string error;
  llvm::InitializeAllTargetInfos();
  if (!llvm::TargetRegistry::lookupTarget(llvm::Triple("nvptx64-nvidia-cuda"),
                                          error))
    GTEST_SKIP() << "LLVM has no NVPTX target: " << error;
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  (*module)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                     b.getUnitAttr());
  b.setInsertionPointToEnd(module->getBody());
  auto gpuModule = gpu::GPUModuleOp::create(b, loc, "producers");
  b.setInsertionPointToStart(gpuModule.getBody());
  auto buffer = MemRefType::get({ShapedType::kDynamic}, f32());
  auto func = gpu::GPUFuncOp::create(b, loc, "producers",
                                     b.getFunctionType({buffer, buffer}, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  b.setInsertionPointToStart(&func.getBody().front());
  Value in = func.getArgument(0), out = func.getArgument(1);
  Value i = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  NumericsBuilder nb(b, loc);
  Value x = memref::LoadOp::create(b, loc, in, i);
  Value results[] = {
      nb.exp(x),
      nb.tanh(x),
      nb.gatedActivation(GatedActivation::SiLU, x),
      nb.gatedActivation(GatedActivation::GeluTanh, x),
      nb.rmsInverse(nb.sumSquaresStep(x, x), nb.f32(x, 100.0f), 1e-6f),
      nb.roundToStorage(x, Float16Type::get(&ctx)),
      nb.roundToStorage(x, BFloat16Type::get(&ctx))};
  Value sum = results[0];
  for (Value r : ArrayRef<Value>(results).drop_front())
    sum = nb.add(sum, r);
  memref::StoreOp::create(b, loc, sum, out, i);
  gpu::ReturnOp::create(b, loc);

  PassManager pm(&ctx);
  GPUPipelineOptions options;
  buildGPUTargetStage(pm, options);
  ASSERT_TRUE(succeeded(pm.run(*module)));
  std::string ptx;
  module->walk([&](gpu::BinaryOp binary) {
    ptx = cast<gpu::ObjectAttr>(binary.getObjects()[0])
              .getObject()
              .getValue()
              .str();
  });
  ASSERT_FALSE(ptx.empty());
  for (const char *present :
       {"mul.rn.f32", "add.rn.f32", "div.rn.f32", "cvt.rn.f16.f32"})
    EXPECT_NE(ptx.find(present), std::string::npos) << present;
  for (const char *absent :
       {"fma.", "mad.", ".approx", ".ftz", "call", "sqrt.", "ex2.", "tanh."})
    EXPECT_EQ(ptx.find(absent), std::string::npos) << absent << "\n" << ptx;
}

//===----------------------------------------------------------------------===//
// The reference against float64
//===----------------------------------------------------------------------===//

// E and T are within 2 ulp of the correctly rounded e^x and tanh(x) (the
// exhaustive sweep over all 2^32 patterns found at most 1, also here), with
// exactly the thresholds' +Inf, +0 and +-1.
TEST_F(ProducerNumericsTest, ExpAndTanhWithin2Ulp) {
  for (bool isExp : {true, false}) {
    int64_t worst = 0;
    for (uint64_t u = 0; u <= 0xFFFFFFFFull; u += kStride) {
      float x = bitsToFloat(uint32_t(u));
      float got = isExp ? ref::expF32(x) : ref::tanhF32(x);
      float want = float(isExp ? std::exp(double(x)) : std::tanh(double(x)));
      if (std::isnan(x)) {
        ASSERT_TRUE(std::isnan(got));
        continue;
      }
      if (std::isinf(want) || std::isinf(got)) {
        ASSERT_EQ(got, want) << std::hexfloat << x;
        continue;
      }
      worst = std::max(worst, ulpDistance(got, want));
      ASSERT_LE(ulpDistance(got, want), 2) << std::hexfloat << x;
    }
    EXPECT_LE(worst, 1) << (isExp ? "exp" : "tanh");
  }
  EXPECT_EQ(ref::expF32(bitsToFloat(0x42B17217)), std::exp(88.72283172607422f));
  EXPECT_EQ(ref::expF32(bitsToFloat(0x42B17218)),
            std::numeric_limits<float>::infinity());
  EXPECT_EQ(ref::expF32(bitsToFloat(0xC2CFF1B4)), 0x1p-149f);
  EXPECT_EQ(floatBits(ref::expF32(bitsToFloat(0xC2CFF1B5))), 0u);
  EXPECT_EQ(floatBits(ref::expF32(-std::numeric_limits<float>::infinity())),
            0u);
  EXPECT_EQ(floatBits(ref::tanhF32(-0.0f)), 0x80000000u);
  EXPECT_EQ(ref::tanhF32(9.1f), 1.0f);
  EXPECT_EQ(ref::tanhF32(-std::numeric_limits<float>::infinity()), -1.0f);
}

// silu is within 2.5 ulp of its float64 value down to g = -88.72, where
// E(-g) overflows: below, the formula gives -0 for values of magnitude
// below 2.7e-37. gelu_tanh loses relative accuracy where 1 + T cancels
// (g < -2): its error is bounded by 2 ulp of y plus 2 ulp of g / 2. Both
// float64 evaluations use the binary32 constants.
TEST_F(ProducerNumericsTest, ActivationsNearFloat64) {
  for (uint64_t u = 0; u <= 0xFFFFFFFFull; u += kStride) {
    float g = bitsToFloat(uint32_t(u));
    if (!std::isfinite(g))
      continue;
    double gd = g;
    double silu64 = gd / (1.0 + std::exp(-gd));
    float silu = ref::silu(g);
    if (g < bitsToFloat(0xC2B17217)) {
      ASSERT_EQ(silu, 0.0f) << std::hexfloat << g;
      ASSERT_LT(std::fabs(silu64), 2.7e-37) << std::hexfloat << g;
    } else if (std::isfinite(silu64)) {
      ASSERT_LE(std::fabs(silu - silu64), 2.5 * ulpAt(silu64))
          << std::hexfloat << g;
    } else {
      ASSERT_EQ(double(silu), silu64) << std::hexfloat << g;
    }
    double inner = double(0.7978846f) * (gd + double(0.044715f) * gd * gd * gd);
    double gelu64 = 0.5 * gd * (1.0 + std::tanh(inner));
    float gelu = ref::geluTanh(g);
    if (std::isfinite(gelu64))
      ASSERT_LE(std::fabs(gelu - gelu64),
                2.0 * (ulpAt(gelu64) + ulpAt(0.5 * gd)))
          << std::hexfloat << g;
    else
      ASSERT_EQ(double(gelu), gelu64) << std::hexfloat << g;
  }
}

//===----------------------------------------------------------------------===//
// Whole rows
//===----------------------------------------------------------------------===//

/// The sum of squares of SPEC.md section 15 written as a recursion: the
/// blocks padded to a power of two, each half summed alone, then the two
/// halves added; a half with no block adds nothing.
float treeOfBlocks(const std::vector<float> &p, size_t lo, size_t size) {
  if (size == 1)
    return p[lo];
  size_t half = size / 2;
  float left = treeOfBlocks(p, lo, half);
  if (lo + half >= p.size())
    return left;
  float right = treeOfBlocks(p, lo + half, half);
  return left + right;
}

// The reference's RMSNorm against the recursion above and float64: h
// (with a residual, RN_s(x + r)), the inverse RMS from the tree sum, and y
// within 1 ulp of the storage type of its float64 value.
TEST_F(ProducerNumericsTest, RmsNormRow) {
  std::mt19937 rng(7);
  std::lognormal_distribution<float> magnitude(0.0f, 1.0f);
  // f32 storage: the fp32 sum of squares of the row is not exact (its error
  // grows with the number of blocks); bf16 and f16 round that away.
  const std::pair<ref::DType, double> types[] = {
      {ref::DType::F32, 64}, {ref::DType::F16, 1}, {ref::DType::BF16, 1}};
  for (auto [type, ulps] : types)
    for (int64_t k : {16, 100, 4096, 5120, 7168})
      for (bool residual : {false, true}) {
        ref::DType dtype = type;
        auto draw = [&] {
          std::vector<float> v(k);
          for (float &e : v)
            e = ref::roundToStorage(magnitude(rng) * (rng() % 2 ? 1.0f : -1.0f),
                                    dtype);
          return v;
        };
        std::vector<float> x = draw(), r = draw(), w = draw();
        std::vector<float> y(k), h(k);
        float inv = 0, eps = 1e-6f;
        ref::rmsNormRow(x.data(), residual ? r.data() : nullptr, w.data(), k,
                        eps, dtype, y.data(), h.data(), &inv);
        std::vector<float> p((k + 15) / 16, 0.0f);
        for (int64_t i = 0; i < k; ++i) {
          float sum = x[i] + r[i];
          float want = residual ? ref::roundToStorage(sum, dtype) : x[i];
          ASSERT_EQ(floatBits(h[i]), floatBits(want)) << i;
          float sq = h[i] * h[i];
          p[i / 16] = p[i / 16] + sq;
        }
        size_t padded = 1;
        while (padded < p.size())
          padded *= 2;
        float ss = treeOfBlocks(p, 0, padded);
        ASSERT_EQ(floatBits(inv),
                  floatBits(ref::rmsInverse(ss, float(k), eps)));
        double ss64 = 0;
        for (float v : h)
          ss64 += double(v) * v;
        double inv64 = 1.0 / std::sqrt(ss64 / double(k) + double(eps));
        for (int64_t i = 0; i < k; ++i) {
          double y64 = double(h[i]) * inv64 * double(w[i]);
          ASSERT_LE(std::fabs(y[i] - y64), ulps * storageUlpAt(y64, dtype))
              << "k " << k << " i " << i << " dtype " << int(dtype);
        }
      }
}

// Gated rows: y_j = RN_s(RN(act(g_j) * u_j)) from the halves of x, and for
// bf16 and f16 storage within 1 ulp of s of the float64 value for g in
// [-3, 8]. Below, 1 + T(inner) in gelu_tanh cancels: from g = -4 on its
// relative error exceeds f16's half ulp (ActivationsNearFloat64 bounds it).
TEST_F(ProducerNumericsTest, GatedActRow) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> gate(-3.0f, 8.0f), up(-4.0f, 4.0f);
  const int64_t n = 4096;
  for (ref::DType dtype : {ref::DType::F16, ref::DType::BF16})
    for (ref::Activation act :
         {ref::Activation::SiLU, ref::Activation::GeluTanh}) {
      std::vector<float> x(2 * n), y(n);
      for (int64_t j = 0; j < n; ++j) {
        x[j] = ref::roundToStorage(gate(rng), dtype);
        x[n + j] = ref::roundToStorage(up(rng), dtype);
      }
      ref::gatedActRow(x.data(), n, act, dtype, y.data());
      for (int64_t j = 0; j < n; ++j) {
        float g = x[j], u = x[n + j];
        float a =
            act == ref::Activation::SiLU ? ref::silu(g) : ref::geluTanh(g);
        float au = a * u;
        ASSERT_EQ(floatBits(y[j]), floatBits(ref::roundToStorage(au, dtype)));
        double gd = g;
        double a64 =
            act == ref::Activation::SiLU
                ? gd / (1.0 + std::exp(-gd))
                : 0.5 * gd *
                      (1.0 +
                       std::tanh(double(0.7978846f) *
                                 (gd + double(0.044715f) * gd * gd * gd)));
        double y64 = a64 * double(u);
        ASSERT_LE(std::fabs(y[j] - y64), storageUlpAt(y64, dtype))
            << std::hexfloat << g << " * " << u << " dtype " << int(dtype);
      }
    }
}

} // namespace
