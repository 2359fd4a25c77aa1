//===- MatmulGPUTest.cpp - NVFP4 GEMMs on the GPU vs float64 ---------------===//
//
// Runs nvfp4.matmul on the GPU for every operand recipe pair and checks it
// against a float64 product of the dequantized operands (SPEC.md section
// 12): relative Frobenius error <= 1e-5 for fp32 output; for bf16 and f16
// output each element within one output ulp of the reference, widened only
// by the fp32 accumulation's own error bound for elements whose sum
// cancels. The grouped form (nvfp4.grouped_matmul, one launch over every
// group) is checked the same way, group by group. Without a CUDA device the
// execution tests are skipped; the compile tests need only ptxas.
//
//===----------------------------------------------------------------------===//

#include "../Runtime/Inputs.h"
#include "../Runtime/SharedRunner.h"
#include "SharedGPURunner.h"
#include "nvfp4/Runtime/Matmul.h"

#include "llvm/ADT/ScopeExit.h"

#include "gtest/gtest.h"

#include <cmath>
#include <tuple>

using namespace mlir::nvfp4;
using namespace ::nvfp4::testing;
using ::nvfp4::CompiledQuantize;
using ::nvfp4::ElementType;
using ::nvfp4::GPURunner;
using ::nvfp4::MatmulOptions;
using ::nvfp4::QuantizedOutput;
using CUdeviceptr = ::nvfp4::CUdeviceptr;

namespace {
struct Pair {
  const char *a, *b;
};
// Per-tensor, per-token, 1x64 and 4over6 (E = 256) operands, mixed too.
const Pair kPairs[] = {
    {"per_tensor", "per_tensor"},   {"per_token", "per_tensor"},
    {"per_token", "per_token"},     {"local_1x64", "local_1x64"},
    {"per_token", "local_1x64"},    {"four_over_six", "four_over_six"},
    {"four_over_six", "per_tensor"}, {"per_token_quotient", "per_tensor"},
};

std::string withLayout(const char *recipe) {
  return std::string(recipe) + ", sf_layout = 128x4";
}

/// `gpu`'s compiled GEMM of `pair` (128x4 scales); a recipe that does not
/// parse is an error too.
llvm::Expected<const CompiledQuantize *>
compilePair(GPURunner &gpu, const Pair &pair,
            const MatmulOptions &options = MatmulOptions()) {
  auto a = ::nvfp4::parseRecipe(gpu.getContext(), withLayout(pair.a));
  if (!a)
    return a.takeError();
  auto b = ::nvfp4::parseRecipe(gpu.getContext(), withLayout(pair.b));
  if (!b)
    return b.takeError();
  return gpu.compileMatmul(*a, *b, options);
}

/// Spacing of the output format at |x| (its ulp), for bf16 (8 significant
/// bits) and f16 (11, subnormal below 2^-14).
double ulp(double x, ElementType out) {
  x = std::fabs(x);
  int exp = x > 0 ? std::ilogb(x) : -1000;
  if (out == ElementType::BF16)
    return std::ldexp(1.0, std::max(exp, -126) - 7);
  return std::ldexp(1.0, std::max(exp, -14) - 10);
}

double outputValue(const std::vector<uint8_t> &d, size_t i, ElementType out) {
  if (out == ElementType::F32) {
    float f;
    std::memcpy(&f, d.data() + 4 * i, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, d.data() + 2 * i, 2);
  return out == ElementType::BF16 ? ::nvfp4::bf16ToFloat(h)
                                  : ::nvfp4::f16ToFloat(h);
}

struct Case {
  int64_t m, n, k;
  bool bias;
  ElementType out;
  Kind kind;
  /// Rows 1.. of A scaled by 1e-5: with a per-tensor A their block scales
  /// are so small that the kernels' decoded elements (e2m1 * sf *
  /// 2^-kGemmDecodeShift) fall on f16's subnormal grid, which the tensor
  /// cores must not flush.
  bool tinyRows = false;
};

/// Compares elements of D with the float64 product of dequantized rows
/// (SPEC.md section 12): fp32 output by the relative Frobenius error over
/// all elements checked (finish()), bf16 and f16 element by element.
class ReferenceCheck {
public:
  ReferenceCheck(ElementType out, int64_t k) : out(out), k(k) {}

  /// Checks D(i, j) = `got` against the dot product of the K values at
  /// `a` and `b` plus `bias`; returns a description of a violation or "".
  std::string element(double got, const float *a, const float *b, double bias,
                      int64_t i, int64_t j) {
    double ref = 0, absSum = 0;
    for (int64_t t = 0; t < k; ++t) {
      double p = double(a[t]) * double(b[t]);
      ref += p;
      absSum += std::fabs(p);
    }
    ref += bias;
    if (std::isnan(got))
      return "NaN at (" + std::to_string(i) + ", " + std::to_string(j) + ")";
    if (out == ElementType::F32) {
      errSq += (got - ref) * (got - ref);
      refSq += ref * ref;
      return "";
    }
    // One output ulp, plus the fp32 accumulation error a sum of K
    // products can carry (statistical bound 4 sqrt(K) u sum|p|).
    double tol = ulp(ref, out) + 4.0 * std::sqrt(double(k)) * 0x1p-24 * absSum;
    // f16 rounds magnitudes from 65520 up to infinity.
    bool overflows = out == ElementType::F16 && std::fabs(ref) + tol >= 65520.0;
    if (overflows && std::isinf(got) && (got > 0) == (ref > 0))
      return "";
    if (std::fabs(got - ref) > tol)
      return "D(" + std::to_string(i) + ", " + std::to_string(j) +
             ") = " + std::to_string(got) + ", reference " +
             std::to_string(ref) + " (tolerance " + std::to_string(tol) + ")";
    return "";
  }

  /// The fp32 verdict over every element checked.
  std::string finish() const {
    if (out == ElementType::F32 && refSq > 0 && std::sqrt(errSq / refSq) > 1e-5)
      return "relative Frobenius error " +
             std::to_string(std::sqrt(errSq / refSq));
    return "";
  }

private:
  ElementType out;
  int64_t k;
  double errSq = 0, refSq = 0;
};

/// Quantizes, multiplies on the GPU and checks one case; returns a
/// description of the first violation, or "". `output`, when given, receives
/// D's bytes; `runner`, when given, replaces the shared GPU runner.
std::string runCase(const Pair &pair, const Case &c, std::mt19937 &rng,
                    std::vector<uint8_t> *output = nullptr,
                    GPURunner *runner = nullptr) {
  ::nvfp4::HostRunner &cpu = sharedRunner();
  GPURunner &gpu = runner ? *runner : sharedGPURunner();
  auto aRecipe = ::nvfp4::parseRecipe(gpu.getContext(), withLayout(pair.a));
  auto bRecipe = ::nvfp4::parseRecipe(gpu.getContext(), withLayout(pair.b));
  auto aCpu = cpu.parseRecipe(withLayout(pair.a));
  auto bCpu = cpu.parseRecipe(withLayout(pair.b));
  if (!aRecipe || !bRecipe || !aCpu || !bCpu)
    return "bad recipe";
  std::vector<float> xa = makeInput(c.kind, c.m, c.k, rng);
  if (c.tinyRows)
    for (size_t i = size_t(c.k); i < xa.size(); ++i)
      xa[i] *= 1e-5f;
  std::vector<float> xb = makeInput(Kind::Normal, c.n, c.k, rng);
  auto quantize = [&](RecipeAttr r, const std::vector<float> &x,
                      int64_t rows) -> llvm::Expected<QuantizedOutput> {
    std::vector<uint8_t> storage = toStorage(x, ElementType::BF16);
    auto q = gpu.quantize(r, ElementType::BF16, storage.data(), rows, c.k);
    if (!q)
      return q.takeError();
    return std::move(*q->rowwise);
  };
  auto qa = quantize(*aRecipe, xa, c.m);
  if (!qa)
    return llvm::toString(qa.takeError());
  auto qb = quantize(*bRecipe, xb, c.n);
  if (!qb)
    return llvm::toString(qb.takeError());

  MatmulOptions options;
  options.out = c.out;
  if (c.bias) {
    std::normal_distribution<float> normal;
    options.bias.emplace(c.n);
    for (float &v : *options.bias)
      v = normal(rng);
  }
  auto d = gpu.matmul(*aRecipe, *qa, *bRecipe, *qb, options);
  if (!d)
    return llvm::toString(d.takeError());
  if (output)
    *output = *d;

  // The float64 reference from the dequantized operands (SPEC.md 11).
  auto da = cpu.dequantize(*aCpu, *qa);
  auto db = cpu.dequantize(*bCpu, *qb);
  if (!da || !db)
    return "dequantize failed";
  // Large cases check a sample of rows: the first and last 16 and 16 more.
  std::vector<int64_t> rows;
  if (c.m * c.n * c.k <= (int64_t(1) << 28)) {
    for (int64_t i = 0; i < c.m; ++i)
      rows.push_back(i);
  } else {
    for (int64_t i = 0; i < 16; ++i)
      rows.push_back(i), rows.push_back(c.m - 1 - i),
          rows.push_back(int64_t(rng() % uint64_t(c.m)));
  }
  ReferenceCheck check(c.out, c.k);
  for (int64_t i : rows)
    for (int64_t j = 0; j < c.n; ++j) {
      double bias = c.bias ? (*options.bias)[j] : 0.0;
      std::string error =
          check.element(outputValue(*d, size_t(i * c.n + j), c.out),
                        da->data() + i * c.k, db->data() + j * c.k, bias, i, j);
      if (!error.empty())
        return error;
    }
  return check.finish();
}

using Shape = std::tuple<int64_t, int64_t, int64_t>;

/// runCase on `runner` for each of `shapes` (M, N, K) with normal inputs,
/// bias on every other shape and the output types bf16, f32, f16 in turn;
/// the first violation, naming the shape, or "".
std::string runShapes(const Pair &pair, llvm::ArrayRef<Shape> shapes,
                      std::mt19937 &rng, GPURunner *runner) {
  const ElementType outs[] = {ElementType::BF16, ElementType::F32,
                              ElementType::F16};
  int index = 0;
  for (auto [m, n, k] : shapes) {
    Case c{m, n, k, index % 2 == 1, outs[index % 3], Kind::Normal};
    ++index;
    std::string error = runCase(pair, c, rng, nullptr, runner);
    if (!error.empty())
      return std::string(pair.a) + " x " + pair.b + " M=" +
             std::to_string(m) + " N=" + std::to_string(n) +
             " K=" + std::to_string(k) + ": " + error;
  }
  return "";
}

class GPUMatmul : public ::testing::TestWithParam<Pair> {};

TEST_P(GPUMatmul, MatchesFloat64Reference) {
  REQUIRE_GPU();
  std::mt19937 rng(7);
  const ElementType outs[] = {ElementType::BF16, ElementType::F16,
                              ElementType::F32};
  int index = 0;
  // M = 13 and 20 reach the small_m16 and small_m32 kernels.
  for (int64_t m : {1, 7, 13, 20, 128, 1000, 4096})
    for (auto [n, k] : {std::pair<int64_t, int64_t>{256, 256},
                        {256, 4096}, {4096, 256}, {4096, 4096}}) {
      Case c{m, n, k, index % 2 == 1, outs[index % 3], Kind::Normal};
      ++index;
      std::string where = std::string(GetParam().a) + " x " + GetParam().b +
                          " M=" + std::to_string(m) + " N=" +
                          std::to_string(n) + " K=" + std::to_string(k);
      ASSERT_EQ(runCase(GetParam(), c, rng), "") << where;
    }
  // Large-M kernels on ragged tiles: M and N past a 128 x 256 tile edge,
  // K from one chunk up to an odd number of chunks (the sm_90a kernel's
  // rings wrap), and a partial last chunk (K = 336: 21 blocks) where 1x64
  // windows do not require whole chunks.
  bool windows = std::string(GetParam().a) == "local_1x64" ||
                 std::string(GetParam().b) == "local_1x64";
  std::vector<std::tuple<int64_t, int64_t, int64_t>> ragged = {
      {300, 300, 320}, {260, 520, 64}, {513, 392, 128}, {384, 264, 448}};
  if (!windows)
    ragged.push_back({300, 300, 336});
  for (auto [m, n, k] : ragged) {
    Case c{m, n, k, index % 2 == 1, outs[index % 3], Kind::Normal};
    ++index;
    ASSERT_EQ(runCase(GetParam(), c, rng), "")
        << GetParam().a << " x " << GetParam().b << " M=" << m
        << " N=" << n << " K=" << k;
  }
  // Direct kernels on ragged tiles: K = 80 ends inside a 64-wide chunk (5
  // blocks), N = 48 inside an N tile, M = 5, 13, 20 inside small_m8/16/32
  // tiles and 33, 200 inside medium_m ones.
  for (int64_t m : {5, 13, 20, 33, 200}) {
    Case c{m, 48, 80, m % 2 == 1, outs[m % 3], Kind::Normal};
    ASSERT_EQ(runCase(GetParam(), c, rng), "")
        << GetParam().a << " x " << GetParam().b << " M=" << m
        << " N=48 K=80";
  }
  // Every output type with and without bias, and adversarial A operands.
  for (ElementType out : outs)
    for (bool bias : {false, true})
      for (Kind kind : {Kind::Normal, Kind::Zeros, Kind::Outliers,
                        Kind::WideRange, Kind::Constant}) {
        Case c{33, 80, 192, bias, out, kind};
        ASSERT_EQ(runCase(GetParam(), c, rng), "")
            << GetParam().a << " x " << GetParam().b << " out " << int(out)
            << " bias " << bias << " kind " << int(kind);
      }
  // Decoded elements on f16's subnormal grid, through a direct kernel and
  // the large-M one.
  for (int64_t m : {13, 300})
    for (ElementType out : {ElementType::BF16, ElementType::F32}) {
      Case c{m, 264, 448, false, out, Kind::Normal, /*tinyRows=*/true};
      ASSERT_EQ(runCase(GetParam(), c, rng), "")
          << GetParam().a << " x " << GetParam().b << " M=" << m
          << " tiny rows, out " << int(out);
    }
}

// Split K over thread-block clusters of every size the kernels take,
// forced (CudaDevice::setGemmClusterSplit): small_m8 (M = 1, 5), small_m16,
// small_m32 and medium_m (M = 200), N inside a tile, and K with a partial
// last chunk whose chunk count no split divides (65 chunks: with S = 8 the
// last ranks get none) or that has fewer chunks than the cluster has CTAs
// (K = 80: 2 chunks). Each split is checked against float64 (SPEC.md
// section 12; splits may differ from each other in the last bits) and is
// deterministic (the same bytes twice); S = 1, a launch without clusters,
// gives the automatic choice's bytes where that choice is 1 (short K).
TEST_P(GPUMatmul, EveryClusterSplit) {
  REQUIRE_GPU();
  std::mt19937 rng(17);
  const ElementType outs[] = {ElementType::BF16, ElementType::F32,
                              ElementType::F16};
  int index = 0;
  for (int64_t m : {1, 5, 16, 32, 200})
    for (auto [n, k] : {std::pair<int64_t, int64_t>{80, 4112}, {48, 80}})
      for (unsigned split : {1u, 2u, 3u, 4u, 8u}) {
        Case c{m, n, k, index % 2 == 0, outs[index % 3], Kind::Normal};
        ++index;
        std::string where = std::string(GetParam().a) + " x " +
                            GetParam().b + " M=" + std::to_string(m) +
                            " N=" + std::to_string(n) + " K=" +
                            std::to_string(k) + " S=" + std::to_string(split);
        ForcedClusterSplit forced(split);
        std::vector<uint8_t> first, second;
        std::mt19937 again = rng;
        ASSERT_EQ(runCase(GetParam(), c, rng, &first), "") << where;
        ASSERT_EQ(runCase(GetParam(), c, again, &second), "") << where;
        EXPECT_EQ(first, second) << where << ": not deterministic";
      }
  // Short K: the automatic choice is 1, and S = 1 runs the same launch.
  for (int64_t m : {1, 16, 200}) {
    Case c{m, 48, 80, true, ElementType::F32, Kind::Normal};
    std::vector<uint8_t> automatic, unsplit;
    std::mt19937 again = rng;
    ASSERT_EQ(runCase(GetParam(), c, rng, &automatic), "") << "M=" << m;
    {
      ForcedClusterSplit forced(1);
      ASSERT_EQ(runCase(GetParam(), c, again, &unsplit), "") << "M=" << m;
    }
    EXPECT_EQ(automatic, unsplit) << GetParam().a << " x " << GetParam().b
                                  << " M=" << m;
  }
}

// sm_90a's warp-specialized large-M kernel (GPURunner::create's
// warpSpecializedGemm), whose decoders are fed by the TMA producer sm_100a's
// kernel shares (GemmPipeline::fillStage): against float64 on tiles ragged
// in M and N (rows past the edge arrive as zeros, B's second scale atom is
// clamped), one chunk of K, an odd number of them (the raw ring of four
// and the decoded ring of three wrap), and more tiles than blocks (the
// persistent loop crosses tiles while the producer runs ahead), and K = 96
// ending inside a chunk (TMA fills the rest of the box with zeros). Window
// operands keep the software pipeline. K must be a multiple of 32 (a row
// of A and B a multiple of 16 bytes, TMA's pitch): K = 336 is an error
// naming the call and the buffer.
TEST_P(GPUMatmul, WarpSpecializedKernel) {
  REQUIRE_GPU();
  static GPURunner *ws =
      leakedRunner(/*warpSpecializedGemm=*/true, /*predecodedGemm=*/false);
  std::mt19937 rng(29);
  ASSERT_EQ(runShapes(GetParam(),
                      {{300, 300, 320},
                       {260, 520, 64},
                       {513, 392, 128},
                       {384, 264, 448},
                       {513, 392, 96},
                       {1000, 4096, 4096},
                       {4096, 2048, 128}},
                      rng, ws),
            "");
  bool windows = std::string(GetParam().a) == "local_1x64" ||
                 std::string(GetParam().b) == "local_1x64";
  if (windows)
    return;
  Case ragged{300, 300, 336, false, ElementType::F32, Kind::Normal};
  EXPECT_NE(runCase(GetParam(), ragged, rng, nullptr, ws)
                .find("row pitch of 168 bytes is not a multiple of 16"),
            std::string::npos);
}

bool isWindowPair(const Pair &p) {
  return std::string(p.a) == "local_1x64" || std::string(p.b) == "local_1x64";
}

// sm_90a's predecoded large-M GEMM (GPURunner::create's predecodedGemm):
// gemm_decode(A) and gemm_decode(B) fill 16-bit workspaces that the
// runtime allocates stream-ordered, then the workspace kernel multiplies
// them. Against float64 (SPEC.md section 12) at M = 300, 1000 and 4096 with
// N = 300 or 4096 and K = 320 or 4096, on tiles ragged in M and N, K
// from one 64-wide chunk up, K ending inside a chunk (K = 336, 96, 80: the
// workspaces' columns past K are zeros), with and without bias, every
// output type, and decoded elements on f16's subnormal grid. M <= 256 still
// runs the direct kernels (M = 200 checks the serving order is kept). 1x64
// window pairs keep the software pipeline: their list has no decode
// kernel, and they still match.
TEST_P(GPUMatmul, PredecodedKernel) {
  REQUIRE_GPU();
  GPURunner &pre = predecodedGPURunner();
  auto compiled = compilePair(pre, GetParam());
  ASSERT_TRUE(bool(compiled)) << llvm::toString(compiled.takeError());
  bool windows = isWindowPair(GetParam());
  if (windows)
    EXPECT_FALSE(anyPredecodedKernel((*compiled)->kernels));
  else
    ASSERT_EQ(predecodedListError((*compiled)->kernels), "");

  std::mt19937 rng(31);
  std::vector<Shape> shapes = {{300, 300, 320}, {513, 392, 128}};
  if (!windows)
    shapes.insert(shapes.end(), {{300, 4096, 4096},
                                 {1000, 300, 4096},
                                 {1000, 4096, 320},
                                 {4096, 4096, 4096},
                                 {4096, 300, 320},
                                 {260, 520, 64},
                                 {384, 264, 448},
                                 {300, 300, 336},
                                 {513, 392, 96},
                                 {257, 301, 80},
                                 {200, 300, 320}});
  ASSERT_EQ(runShapes(GetParam(), shapes, rng, &pre), "");
  if (windows)
    return;
  // Adversarial A operands and tiny rows through the workspaces.
  for (Kind kind : {Kind::Zeros, Kind::Outliers, Kind::WideRange,
                    Kind::Constant}) {
    Case c{300, 264, 448, true, ElementType::F32, kind};
    ASSERT_EQ(runCase(GetParam(), c, rng, nullptr, &pre), "")
        << GetParam().a << " x " << GetParam().b << " kind " << int(kind);
  }
  for (ElementType out : {ElementType::BF16, ElementType::F32}) {
    Case c{300, 264, 448, false, out, Kind::Normal, /*tinyRows=*/true};
    ASSERT_EQ(runCase(GetParam(), c, rng, nullptr, &pre), "")
        << GetParam().a << " x " << GetParam().b << " tiny rows, out "
        << int(out);
  }
}

// The warp-specialized predecoded kernel (GPURunner::create with both
// warpSpecializedGemm and predecodedGemm): the same decode kernels and
// workspaces, the stages filled by a producer warpgroup's thread 0 ahead
// of the two wgmma warpgroups, persistent tiles (M = 4096, N = 2048: 256
// tiles on at most one block per SM, so blocks loop), against float64 on
// ragged tiles, K ending inside a chunk, bias and every output type.
TEST_P(GPUMatmul, PredecodedWarpSpecializedKernel) {
  REQUIRE_GPU();
  GPURunner &ws = predecodedWsGPURunner();
  auto compiled = compilePair(ws, GetParam());
  ASSERT_TRUE(bool(compiled)) << llvm::toString(compiled.takeError());
  if (isWindowPair(GetParam())) {
    EXPECT_FALSE(anyPredecodedKernel((*compiled)->kernels));
    return;
  }
  ASSERT_EQ(predecodedListError((*compiled)->kernels), "");
  EXPECT_TRUE((*compiled)->kernels.back().persistent);
  EXPECT_EQ((*compiled)->kernels.back().threads, 384);
  std::mt19937 rng(41);
  ASSERT_EQ(runShapes(GetParam(),
                      {{300, 300, 320},
                       {513, 392, 96},
                       {257, 301, 80},
                       {1000, 4096, 4096},
                       {4096, 2048, 128}},
                      rng, &ws),
            "");
}

INSTANTIATE_TEST_SUITE_P(Pairs, GPUMatmul, ::testing::ValuesIn(kPairs));

// A predecoded GEMM captured into a CUDA graph (as the device API's GEMMs
// are): the workspaces' stream-ordered allocation and release become graph
// nodes, and each replay computes the eager launch's bytes, which are the
// host-memory matmul's.
TEST(GPUMatmulPredecoded, CapturedInAGraph) {
  REQUIRE_GPU();
  GPURunner &pre = predecodedGPURunner();
  const int64_t m = 513, n = 392, k = 320;
  auto ra = ::nvfp4::parseRecipe(pre.getContext(), withLayout("per_token"));
  auto rb = ::nvfp4::parseRecipe(pre.getContext(), withLayout("per_tensor"));
  ASSERT_TRUE(bool(ra) && bool(rb));
  std::mt19937 rng(37);
  auto quantize = [&](RecipeAttr r, int64_t rows) -> QuantizedOutput {
    std::vector<float> x = makeInput(Kind::Normal, rows, k, rng);
    auto q = pre.quantize(r, ElementType::F32, x.data(), rows, k);
    EXPECT_TRUE(bool(q)) << llvm::toString(q.takeError());
    return q ? std::move(*q->rowwise) : QuantizedOutput();
  };
  QuantizedOutput qa = quantize(*ra, m), qb = quantize(*rb, n);
  ASSERT_EQ(qa.rows, m);
  MatmulOptions options;
  options.out = ElementType::BF16;
  auto host = pre.matmul(*ra, qa, *rb, qb, options);
  ASSERT_TRUE(bool(host)) << llvm::toString(host.takeError());

  auto compiled = pre.compileMatmul(*ra, *rb, options);
  ASSERT_TRUE(bool(compiled)) << llvm::toString(compiled.takeError());
  ASSERT_EQ(predecodedListError((*compiled)->kernels), "");
  auto module = pre.load(**compiled);
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  auto dev = pre.device();
  ASSERT_TRUE(bool(dev));
  ::nvfp4::CudaDevice &cuda = **dev;
  // In operand order: A data, scale, amax, B data, scale, amax, output.
  std::vector<std::pair<const void *, size_t>> inputs = {
      {qa.data.data(), qa.data.size()},
      {qa.scale.data(), qa.scale.size()},
      {qa.amax.data(), qa.amax.size() * 4},
      {qb.data.data(), qb.data.size()},
      {qb.scale.data(), qb.scale.size()},
      {qb.amax.data(), qb.amax.size() * 4}};
  size_t outBytes = size_t(m * n) * 2;
  std::vector<CUdeviceptr> buffers;
  llvm::scope_exit release([&] {
    for (CUdeviceptr p : buffers)
      llvm::consumeError(cuda.free(p));
  });
  for (auto [bytes, size] : inputs) {
    auto p = cuda.alloc(size);
    ASSERT_TRUE(bool(p)) << llvm::toString(p.takeError());
    buffers.push_back(*p);
    ASSERT_FALSE(bool(cuda.copyToDevice(*p, bytes, size)));
  }
  auto out = cuda.alloc(outBytes);
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  buffers.push_back(*out);
  auto stream = cuda.createStream();
  ASSERT_TRUE(bool(stream)) << llvm::toString(stream.takeError());
  llvm::scope_exit destroyStream(
      [&] { llvm::consumeError(cuda.destroyStream(*stream)); });
  auto enqueue = [&] {
    return pre.launchMatmul(**compiled, **module, qa, qb, /*bias=*/false,
                            buffers, *stream);
  };
  auto download = [&] {
    std::vector<uint8_t> bytes(outBytes);
    llvm::Error e = cuda.synchronizeStream(*stream);
    EXPECT_FALSE(bool(e)) << llvm::toString(std::move(e));
    e = cuda.copyToHost(bytes.data(), *out, outBytes);
    EXPECT_FALSE(bool(e)) << llvm::toString(std::move(e));
    return bytes;
  };
  std::vector<uint8_t> zeros(outBytes, 0);
  llvm::Error e = enqueue();
  ASSERT_FALSE(bool(e)) << llvm::toString(std::move(e));
  EXPECT_EQ(download(), *host);

  auto graph = cuda.captureGraph(*stream, enqueue);
  ASSERT_TRUE(bool(graph)) << llvm::toString(graph.takeError());
  for (int replay = 0; replay < 2; ++replay) {
    ASSERT_FALSE(bool(cuda.copyToDevice(*out, zeros.data(), outBytes)));
    ASSERT_FALSE(bool(cuda.launchGraph(*graph, *stream)));
    EXPECT_EQ(download(), *host) << "replay " << replay;
  }
  cuda.destroyGraph(*graph);
}

// Grouped (MoE): each group's rows of A times its own B, with empty groups
// first, in the middle and last, against the CPU grouped GEMM (itself
// checked against float64 in NVFP4RuntimeTests): fp32 outputs agree to a
// relative Frobenius error of 1e-5 per group.
TEST(GPUMatmulGrouped, MatchesCPUWithEmptyGroups) {
  REQUIRE_GPU();
  ::nvfp4::HostRunner &cpu = sharedRunner();
  GPURunner &gpu = sharedGPURunner();
  const std::vector<int64_t> splits = {0, 37, 0, 130, 1, 200, 0};
  const int64_t n = 72, k = 192, groups = int64_t(splits.size());
  int64_t m = 0;
  for (int64_t s : splits)
    m += s;
  std::mt19937 rng(3);
  for (Pair pair : {Pair{"per_tensor", "per_tensor"},
                    Pair{"per_token", "per_tensor"},
                    Pair{"local_1x64", "local_1x64"}}) {
    auto ra = cpu.parseRecipe(withLayout(pair.a));
    auto rb = cpu.parseRecipe(withLayout(pair.b));
    auto ga = ::nvfp4::parseRecipe(gpu.getContext(), withLayout(pair.a));
    auto gb = ::nvfp4::parseRecipe(gpu.getContext(), withLayout(pair.b));
    ASSERT_TRUE(ra && rb && ga && gb);
    std::vector<float> xa = makeInput(Kind::Normal, m, k, rng);
    auto qa = cpu.quantizeGrouped(*ra, ElementType::F32, xa.data(), m, k,
                                  splits);
    ASSERT_TRUE(bool(qa)) << llvm::toString(qa.takeError());
    std::vector<QuantizedOutput> b;
    for (int64_t g = 0; g < groups; ++g) {
      std::vector<float> xb = makeInput(Kind::Normal, n, k, rng);
      auto q = cpu.quantize(*rb, ElementType::F32, xb.data(), n, k);
      ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
      b.push_back(std::move(*q->rowwise));
    }
    MatmulOptions options;
    options.out = ElementType::F32;
    options.bias.emplace(groups * n);
    for (size_t i = 0; i < options.bias->size(); ++i)
      (*options.bias)[i] = float(int(i % 7) - 3);
    auto want = cpu.matmulGrouped(*ra, *qa->rowwise, splits, *rb, b, options);
    ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
    auto got = gpu.matmulGrouped(*ga, *qa->rowwise, splits, *gb, b, options);
    ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
    ASSERT_EQ(got->size(), want->size());
    int64_t row0 = 0;
    for (int64_t g = 0; g < groups; ++g) {
      double err = 0, norm = 0;
      for (int64_t i = row0 * n; i < (row0 + splits[g]) * n; ++i) {
        double x = outputValue(*got, size_t(i), ElementType::F32);
        double y = outputValue(*want, size_t(i), ElementType::F32);
        err += (x - y) * (x - y);
        norm += y * y;
      }
      if (splits[g])
        EXPECT_LE(std::sqrt(err / norm), 1e-5)
            << pair.a << " x " << pair.b << " group " << g;
      row0 += splits[g];
    }
  }
}

// Grouped (MoE) GEMMs in one launch against the float64 reference of
// SPEC.md section 12, per group. The kernel is picked by the total M, so
// each split list reaches one of them: small_m8/16/32, medium_m, large_m.
// Groups are empty (first, in the middle, last), not multiples of 128 (A's
// scale tile restarts per group) nor of the kernel's tile, or span several
// tiles.
struct GroupedCase {
  std::vector<int64_t> splits;
  int64_t n, k;
};

const GroupedCase kGroupedCases[] = {
    {{0, 3, 0, 5}, 72, 192},               // M = 8: small_m8
    {{7, 0, 9}, 48, 80},                   // M = 16: small_m16, K mid-chunk
    {{1, 30, 0}, 136, 256},                // M = 31: small_m32
    {{0, 37, 0, 130, 1, 60, 0}, 200, 192}, // M = 228: medium_m
    {{129, 0, 200, 3, 0, 130}, 264, 320},  // M = 462: large_m
    {{300}, 64, 128},                      // one group: large_m
};

// kPairs, and a per-tensor A (one amax per group) with per-row B.
const Pair kGroupedPairs[] = {
    {"per_tensor", "per_tensor"},    {"per_token", "per_tensor"},
    {"per_tensor", "per_token"},     {"per_token", "per_token"},
    {"local_1x64", "local_1x64"},    {"per_token", "local_1x64"},
    {"four_over_six", "per_tensor"}, {"per_token_quotient", "per_tensor"},
};

/// A grouped GEMM's operands, quantized on the CPU, and each group's
/// dequantized values for the reference.
struct GroupedOperands {
  QuantizedOutput a;                    ///< M rows in groups
  std::vector<QuantizedOutput> b;       ///< one N x K operand per group
  std::vector<std::vector<float>> aHat; ///< group g's rows of A
  std::vector<std::vector<float>> bHat; ///< B[g]
};

/// Quantizes each group's rows of A alone, as nvfp4.grouped_quantize
/// does, and lays them out as one grouped A: data and per-row amaxes
/// concatenated, one per-tensor amax per group, each group's 128x4 scales
/// from a fresh 128-row tile. Quantizing groups alone lets the reference
/// dequantize them with the ungrouped dequantize.
std::string quantizeGroupedOperands(RecipeAttr ra, RecipeAttr rb,
                                    const GroupedCase &c, std::mt19937 &rng,
                                    GroupedOperands &o) {
  ::nvfp4::HostRunner &cpu = sharedRunner();
  int64_t m = 0, groups = int64_t(c.splits.size());
  for (int64_t s : c.splits)
    m += s;
  auto shape = ::nvfp4::matmulOperandShape("A", ra, m, c.k, groups);
  if (!shape)
    return llvm::toString(shape.takeError());
  o.a = std::move(*shape);
  o.a.scale.assign(size_t(o.a.scaleShape[0] * o.a.scaleShape[1]), 0);
  auto quantize =
      [&](RecipeAttr r, int64_t rows,
          std::vector<float> &hat) -> llvm::Expected<QuantizedOutput> {
    std::vector<float> x = makeInput(Kind::Normal, rows, c.k, rng);
    auto q = cpu.quantize(r, ElementType::F32, x.data(), rows, c.k);
    if (!q)
      return q.takeError();
    auto values = cpu.dequantize(r, *q->rowwise);
    if (!values)
      return values.takeError();
    hat = std::move(*values);
    return std::move(*q->rowwise);
  };
  size_t scaleAt = 0;
  for (int64_t g = 0; g < groups; ++g) {
    auto qb = quantize(rb, c.n, o.bHat.emplace_back());
    if (!qb)
      return llvm::toString(qb.takeError());
    o.b.push_back(std::move(*qb));
    std::vector<float> &aHat = o.aHat.emplace_back();
    if (c.splits[g] == 0) {
      // An empty group's per-tensor amax is never read.
      if (ra.getOuter() == OuterGroup::Tensor)
        o.a.amax.push_back(0.0f);
      continue;
    }
    auto qa = quantize(ra, c.splits[g], aHat);
    if (!qa)
      return llvm::toString(qa.takeError());
    llvm::append_range(o.a.data, qa->data);
    std::copy(qa->scale.begin(), qa->scale.end(),
              o.a.scale.begin() + ptrdiff_t(scaleAt));
    scaleAt += qa->scale.size();
    llvm::append_range(o.a.amax, qa->amax);
  }
  return "";
}

/// Multiplies one case on the GPU in one grouped launch and checks every
/// element against the float64 reference; returns the first violation.
std::string runGroupedCase(const Pair &pair, const GroupedCase &c,
                           ElementType out, bool bias, std::mt19937 &rng) {
  ::nvfp4::HostRunner &cpu = sharedRunner();
  GPURunner &gpu = sharedGPURunner();
  auto ra = cpu.parseRecipe(withLayout(pair.a));
  auto rb = cpu.parseRecipe(withLayout(pair.b));
  auto ga = ::nvfp4::parseRecipe(gpu.getContext(), withLayout(pair.a));
  auto gb = ::nvfp4::parseRecipe(gpu.getContext(), withLayout(pair.b));
  if (!ra || !rb || !ga || !gb)
    return "bad recipe";
  GroupedOperands o;
  std::string error = quantizeGroupedOperands(*ra, *rb, c, rng, o);
  if (!error.empty())
    return error;
  int64_t groups = int64_t(c.splits.size());
  MatmulOptions options;
  options.out = out;
  if (bias) {
    std::normal_distribution<float> normal;
    options.bias.emplace(size_t(groups * c.n));
    for (float &v : *options.bias)
      v = normal(rng);
  }
  auto d = gpu.matmulGrouped(*ga, o.a, c.splits, *gb, o.b, options);
  if (!d)
    return llvm::toString(d.takeError());
  ReferenceCheck check(out, c.k);
  int64_t row0 = 0;
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t i = 0; i < c.splits[g]; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double biasJ = bias ? (*options.bias)[size_t(g * c.n + j)] : 0.0;
        error =
            check.element(outputValue(*d, size_t((row0 + i) * c.n + j), out),
                          o.aHat[g].data() + i * c.k,
                          o.bHat[g].data() + j * c.k, biasJ, row0 + i, j);
        if (!error.empty())
          return "group " + std::to_string(g) + ": " + error;
      }
    row0 += c.splits[g];
  }
  return check.finish();
}

class GPUMatmulGroupedPairs : public ::testing::TestWithParam<Pair> {};

TEST_P(GPUMatmulGroupedPairs, MatchesFloat64Reference) {
  REQUIRE_GPU();
  std::mt19937 rng(11);
  const ElementType outs[] = {ElementType::BF16, ElementType::F16,
                              ElementType::F32};
  // Six cases: every output type with and without a bias.
  int index = 0;
  for (const GroupedCase &c : kGroupedCases) {
    ElementType out = outs[index % 3];
    bool bias = index % 2 == 0;
    ++index;
    std::string splits;
    for (int64_t s : c.splits)
      splits += std::to_string(s) + " ";
    ASSERT_EQ(runGroupedCase(GetParam(), c, out, bias, rng), "")
        << GetParam().a << " x " << GetParam().b << " splits " << splits
        << "N=" << c.n << " K=" << c.k << " out " << int(out) << " bias "
        << bias;
  }
}

INSTANTIATE_TEST_SUITE_P(Pairs, GPUMatmulGroupedPairs,
                         ::testing::ValuesIn(kGroupedPairs));

// Compiling needs ptxas but no GPU: this runs in CI.
TEST(GPUCompileMatmul, EveryPairAssemblesForSm90aAndSm100a) {
  for (const char *chip : {"sm_90a", "sm_100a"}) {
    // The in-loop kernels (PredecodedKernelList covers the predecoded list).
    auto runner = GPURunner::create(chip, "/usr/local/cuda",
                                    /*warpSpecializedGemm=*/false,
                                    /*predecodedGemm=*/false);
    ASSERT_TRUE(bool(runner)) << llvm::toString(runner.takeError());
    for (const Pair &p : kPairs) {
      auto a = ::nvfp4::parseRecipe((*runner)->getContext(), withLayout(p.a));
      auto b = ::nvfp4::parseRecipe((*runner)->getContext(), withLayout(p.b));
      ASSERT_TRUE(bool(a) && bool(b));
      MatmulOptions options;
      options.bias.emplace(1);
      options.alpha = 0.5f;
      auto compiled = (*runner)->compileMatmul(*a, *b, options);
      if (!compiled) {
        std::string message = llvm::toString(compiled.takeError());
        if (message.find("ptxas") != std::string::npos &&
            message.find("not found") != std::string::npos)
          GTEST_SKIP() << "no ptxas: " << message;
        FAIL() << chip << " " << p.a << " x " << p.b << ": " << message;
      }
      EXPECT_GT((*compiled)->image.size(), 100u);
      ASSERT_FALSE((*compiled)->kernels.empty());
      // The last kernel serves any M.
      EXPECT_EQ((*compiled)->kernels.back().maxM, 0);
      for (const auto &k : (*compiled)->kernels) {
        EXPECT_EQ(k.work, mlir::nvfp4::KernelWork::Gemm);
        EXPECT_GT(k.threads, 0);
        EXPECT_GT(k.tileM * k.tileN, 0);
        // Only sm_90a's wgmma kernel takes dynamic shared memory: its ring
        // of decoded chunks, beyond the 48 KB a kernel may declare.
        if (llvm::StringRef(k.name).ends_with("large_m_wgmma"))
          EXPECT_GT(k.sharedBytes, 48 * 1024) << k.name;
        else
          EXPECT_EQ(k.sharedBytes, 0) << k.name;
        // The direct kernels (M <= 256) split K over clusters of up to 8
        // CTAs on both chips; the large-M kernels do not.
        EXPECT_EQ(k.clusterSplit, k.maxM != 0 ? 8 : 1) << k.name;
        // The runtime's GEMM modules have a dynamic K, so sm_100a runs the
        // mma.sync kernels and no kernel takes a tensor map (the TMA
        // kernel needs K static; DescribeKernel covers reading its maps).
        EXPECT_TRUE(k.tensorMaps.empty()) << k.name;
        EXPECT_TRUE(k.bulkCopyOperands.empty()) << k.name;
      }
      // The runtime launches every GEMM kernel on a 1-D grid of
      // ceil(M / tileM) * ceil(N / tileN) blocks: no kernel may read a
      // second grid dimension (where it would always see 0).
      auto ptx = (*runner)->compileMatmul(*a, *b, options, "isa");
      ASSERT_TRUE(bool(ptx)) << llvm::toString(ptx.takeError());
      llvm::StringRef text((*ptx)->image.data(), (*ptx)->image.size());
      EXPECT_FALSE(text.contains("%ctaid.y") || text.contains("%ctaid.z"))
          << chip << " " << p.a << " x " << p.b;
    }
  }
}

// With warpSpecializedGemm and without predecodedGemm the runtime's sm_90a
// large-M kernel is the warp-specialized in-loop one, fed by TMA: it takes maps of A's and B's data
// (operands 0 and 3; boxes of a 32-byte chunk of its 128 and 256 tile rows,
// no swizzle) and copies the scale buffers (1 and 4) with cp.async.bulk,
// in 198 KB of dynamic shared memory. Compiled and assembled, no GPU.
TEST(GPUCompileMatmul, WarpSpecializedKernelTakesTensorMaps) {
  auto runner = GPURunner::create("sm_90a", "/usr/local/cuda",
                                  /*warpSpecializedGemm=*/true,
                                  /*predecodedGemm=*/false);
  ASSERT_TRUE(bool(runner)) << llvm::toString(runner.takeError());
  auto a =
      ::nvfp4::parseRecipe((*runner)->getContext(), withLayout("per_token"));
  auto b =
      ::nvfp4::parseRecipe((*runner)->getContext(), withLayout("per_tensor"));
  ASSERT_TRUE(bool(a) && bool(b));
  auto compiled = (*runner)->compileMatmul(*a, *b, MatmulOptions());
  if (!compiled) {
    std::string message = llvm::toString(compiled.takeError());
    if (message.find("ptxas") != std::string::npos &&
        message.find("not found") != std::string::npos)
      GTEST_SKIP() << "no ptxas: " << message;
    FAIL() << message;
  }
  const ::nvfp4::KernelInfo &k = (*compiled)->kernels.back();
  EXPECT_TRUE(llvm::StringRef(k.name).ends_with("large_m_wgmma")) << k.name;
  EXPECT_EQ(k.threads, 384);
  EXPECT_EQ(k.sharedBytes, 202864);
  ASSERT_EQ(k.tensorMaps.size(), 2u);
  EXPECT_EQ(k.tensorMaps[0].operand, 0);
  EXPECT_EQ(k.tensorMaps[0].box[0], 32);
  EXPECT_EQ(k.tensorMaps[0].box[1], 128);
  EXPECT_EQ(k.tensorMaps[1].operand, 3);
  EXPECT_EQ(k.tensorMaps[1].box[1], 256);
  EXPECT_EQ(k.tensorMaps[0].swizzle, 0);
  EXPECT_EQ(k.tensorMaps[1].swizzle, 0);
  EXPECT_EQ(k.bulkCopyOperands, (std::vector<int64_t>{1, 4}));
}

// The predecoded runner's sm_90a GEMMs (ptxas only, no GPU): for every
// operand pair but the 1x64-window ones, the direct kernels, then
// gemm_decode(A), gemm_decode(B) and the workspace kernel serving any M,
// which planGemmLaunch sends M = 4096 to with both decodes; window pairs
// keep the software pipeline.
TEST(GPUCompileMatmul, PredecodedKernelList) {
  GPURunner &pre = predecodedGPURunner();
  std::string missing;
  int plainPairs = 0, missingPairs = 0;
  for (const Pair &p : kPairs) {
    auto compiled = compilePair(pre, p);
    if (!compiled) {
      std::string message = llvm::toString(compiled.takeError());
      if (message.find("ptxas") != std::string::npos &&
          message.find("not found") != std::string::npos)
        GTEST_SKIP() << "no ptxas: " << message;
      FAIL() << p.a << " x " << p.b << ": " << message;
    }
    const auto &kernels = (*compiled)->kernels;
    if (isWindowPair(p)) {
      EXPECT_FALSE(anyPredecodedKernel(kernels)) << p.a << " x " << p.b;
      continue;
    }
    ++plainPairs;
    if (!anyPredecodedKernel(kernels)) {
      ++missingPairs;
      missing += std::string(" ") + p.a + " x " + p.b;
      continue;
    }
    ASSERT_EQ(predecodedListError(kernels), "") << p.a << " x " << p.b;
    auto plan = ::nvfp4::planGemmLaunch(kernels, KernelWork::Gemm, 4096, 4096,
                                        4096);
    ASSERT_TRUE(bool(plan)) << llvm::toString(plan.takeError());
    EXPECT_EQ(plan->gemm, kernels.size() - 1);
    EXPECT_EQ(plan->decodes.size(), 2u);
  }
  // nvfp4-to-gpu's predecoded-gemm emits its kernels for every non-window
  // pair.
  EXPECT_GT(plainPairs, 0);
  EXPECT_EQ(missingPairs, 0) << "no predecoded kernels for" << missing;
}

// The grouped GEMM is one launch of mma.sync kernels on every chip (no
// wgmma ring, no tcgen05): compiled and assembled without a GPU.
TEST(GPUCompileMatmul, GroupedAssemblesForSm90aAndSm100a) {
  for (const char *chip : {"sm_90a", "sm_100a"}) {
    auto runner = GPURunner::create(chip);
    ASSERT_TRUE(bool(runner)) << llvm::toString(runner.takeError());
    for (const Pair &p : kGroupedPairs) {
      auto a = ::nvfp4::parseRecipe((*runner)->getContext(), withLayout(p.a));
      auto b = ::nvfp4::parseRecipe((*runner)->getContext(), withLayout(p.b));
      ASSERT_TRUE(bool(a) && bool(b));
      MatmulOptions options;
      options.bias.emplace(1);
      options.alpha = 0.5f;
      auto compiled = (*runner)->compileMatmulGrouped(*a, *b, options);
      if (!compiled) {
        std::string message = llvm::toString(compiled.takeError());
        if (message.find("ptxas") != std::string::npos &&
            message.find("not found") != std::string::npos)
          GTEST_SKIP() << "no ptxas: " << message;
        FAIL() << chip << " " << p.a << " x " << p.b << ": " << message;
      }
      EXPECT_GT((*compiled)->image.size(), 100u);
      ASSERT_FALSE((*compiled)->kernels.empty());
      EXPECT_EQ((*compiled)->kernels.back().maxM, 0);
      for (const auto &k : (*compiled)->kernels) {
        EXPECT_EQ(k.work, mlir::nvfp4::KernelWork::GroupedGemm) << k.name;
        EXPECT_GT(k.threads, 0);
        EXPECT_GT(k.tileM * k.tileN, 0);
        EXPECT_EQ(k.sharedBytes, 0) << k.name;
        // A grouped kernel's blocks find their tiles in the splits: no
        // cluster split.
        EXPECT_EQ(k.clusterSplit, 1) << k.name;
      }
      // One 1-D grid, as for the plain GEMM.
      auto ptx = (*runner)->compileMatmulGrouped(*a, *b, options, "isa");
      ASSERT_TRUE(bool(ptx)) << llvm::toString(ptx.takeError());
      llvm::StringRef text((*ptx)->image.data(), (*ptx)->image.size());
      EXPECT_FALSE(text.contains("%ctaid.y") || text.contains("%ctaid.z"))
          << chip << " " << p.a << " x " << p.b;
      EXPECT_FALSE(text.contains("wgmma") || text.contains("tcgen05"))
          << chip << " " << p.a << " x " << p.b;
    }
  }
}

// Shape errors come back before anything runs (no GPU needed).
TEST(GPUErrors, MatmulRejectsMismatchedK) {
  GPURunner &gpu = sharedGPURunner();
  auto r = ::nvfp4::parseRecipe(gpu.getContext(), withLayout("per_tensor"));
  ASSERT_TRUE(bool(r));
  auto a = ::nvfp4::allocateOutputs(*r, 4, 64);
  auto b = ::nvfp4::allocateOutputs(*r, 8, 128);
  ASSERT_TRUE(bool(a) && bool(b));
  auto d = gpu.matmul(*r, *a->rowwise, *r, *b->rowwise, MatmulOptions());
  ASSERT_FALSE(bool(d));
  std::string message = llvm::toString(d.takeError());
  EXPECT_NE(message.find("K"), std::string::npos) << message;
}

// Grouped shape errors too: the splits must add up to M.
TEST(GPUErrors, MatmulGroupedRejectsSplitsNotAddingUpToM) {
  GPURunner &gpu = sharedGPURunner();
  auto r = ::nvfp4::parseRecipe(gpu.getContext(), withLayout("per_tensor"));
  ASSERT_TRUE(bool(r));
  auto a = ::nvfp4::allocateOutputs(*r, 5, 64, /*groups=*/2);
  auto b = ::nvfp4::allocateOutputs(*r, 8, 64);
  ASSERT_TRUE(bool(a) && bool(b));
  std::vector<QuantizedOutput> bs = {*b->rowwise, *b->rowwise};
  auto d = gpu.matmulGrouped(*r, *a->rowwise, {2, 2}, *r, bs, MatmulOptions());
  ASSERT_FALSE(bool(d));
  std::string message = llvm::toString(d.takeError());
  EXPECT_NE(message.find("add up to 5"), std::string::npos) << message;
}
} // namespace
