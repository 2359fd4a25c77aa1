//===- GemmBench.cpp - NVFP4 GEMM time next to cuBLAS bf16 ----------------===//
//
// `nvfp4-bench --suite=gemm`: one table per (N, K) shape (by default
// N = K = 8192 and N = K = 4096) and one for a mixture-of-experts shape.
//
// Dense tables: for each operand recipe pair and M, the median time of the
// NVFP4 GEMM, of cublasGemmEx on bf16 operands and of cublasLtMatmul on
// E4M3 operands with per-row outer scales (per-tensor where the library
// refuses those; the table says which) of the same shape, measured in the
// same process with CUDA events, as TFLOP/s and speedups. Operands are
// random normal matrices, quantized on the GPU for NVFP4 and rounded to
// E4M3 on the host for FP8. A baseline that cannot run prints "n/a" and the
// reason below the tables. Rows whose A recipe reads `bf16` are W4A16
// (`nvfp4.matmul_w4a16`): the bf16 A as given (the cuBLAS baseline's own A)
// times the NVFP4 B.
//
// MoE table: the grouped GEMM (`nvfp4.grouped_matmul`, one launch) of M
// rows routed to G experts in ragged groups (deterministic pseudo-random
// sizes, some groups empty) against cuBLAS bf16 doing the same work as one
// cublasGemmEx per non-empty group, and against one M x N x K cublasGemmEx
// (a lower bound: one weight matrix). Every expert's weights hold the same
// random matrix, each in memory of its own, so no expert's weights are
// read from another's cache lines.
//
//===----------------------------------------------------------------------===//

#include "Bench.h"
#include "CuBLAS.h"
#include "CuBLASLt.h"

#include "nvfp4/Runtime/GPURunner.h"
#include "nvfp4/Runtime/Matmul.h"
#include "nvfp4/Support/FloatBits.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <random>
#include <set>

using namespace llvm;

namespace nvfp4 {
namespace bench {
namespace {
cl::list<int64_t> gemmMOpt("gemm-m", cl::desc("GEMM rows of A (repeatable)"),
                           cl::CommaSeparated, cl::cat(benchCategory));
cl::list<int64_t>
    gemmNOpt("gemm-n",
             cl::desc("GEMM N, paired with --gemm-k value by value "
                      "(repeatable; a single value pairs with every K; "
                      "default: N = K = 8192 and 4096)"),
             cl::CommaSeparated, cl::cat(benchCategory));
cl::list<int64_t>
    gemmKOpt("gemm-k",
             cl::desc("GEMM K, a multiple of 16, paired with --gemm-n value "
                      "by value (repeatable; a single value pairs with every "
                      "N; default 8192 where only --gemm-n is given)"),
             cl::CommaSeparated, cl::cat(benchCategory));
cl::opt<bool> moeOpt("gemm-moe",
                     cl::desc("measure the grouped (MoE) GEMM table too "
                              "(default: unless --gemm-n or --gemm-k picks "
                              "the dense shapes)"),
                     cl::init(true), cl::cat(benchCategory));
cl::opt<bool> warpSpecializedOpt(
    "gemm-warp-specialized",
    cl::desc("run sm_90a's large-M GEMMs on the warp-specialized kernel "
             "(a decoding warpgroup fed by TMA; K a multiple of 32) instead "
             "of the software-pipelined default"),
    cl::init(false), cl::cat(benchCategory));
cl::opt<int64_t> moeGroupsOpt("gemm-moe-groups",
                              cl::desc("MoE experts (groups)"), cl::init(64),
                              cl::cat(benchCategory));
cl::opt<int64_t> moeMOpt("gemm-moe-m",
                         cl::desc("MoE rows of A in all groups together"),
                         cl::init(8192), cl::cat(benchCategory));
cl::opt<int64_t> moeNOpt("gemm-moe-n", cl::desc("MoE N of every expert"),
                         cl::init(2048), cl::cat(benchCategory));
cl::opt<int64_t> moeKOpt("gemm-moe-k", cl::desc("MoE K, a multiple of 16"),
                         cl::init(7168), cl::cat(benchCategory));

Error fail(const Twine &m) {
  return createStringError(inconvertibleErrorCode(), m);
}

/// The dense (N, K) shapes of the run, in table order.
std::vector<std::pair<int64_t, int64_t>> denseShapes() {
  std::vector<int64_t> ns(gemmNOpt.begin(), gemmNOpt.end()),
      ks(gemmKOpt.begin(), gemmKOpt.end());
  if (ns.empty() && ks.empty())
    ns = ks = {8192, 4096};
  if (ns.empty())
    ns = {8192};
  if (ks.empty())
    ks = {8192};
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (size_t i = 0, e = std::max(ns.size(), ks.size()); i < e; ++i)
    shapes.emplace_back(ns[ns.size() == 1 ? 0 : i], ks[ks.size() == 1 ? 0 : i]);
  return shapes;
}

/// Whether the MoE table runs: --gemm-moe, on by default unless a dense
/// shape was picked with --gemm-n or --gemm-k.
bool moeEnabled() {
  if (moeOpt.getNumOccurrences())
    return moeOpt;
  return !gemmNOpt.getNumOccurrences() && !gemmKOpt.getNumOccurrences();
}

/// Operand recipe pairs (A, B); B is the weight. An A of kW4A16 is the
/// unquantized bf16 A of a W4A16 GEMM.
constexpr const char *kW4A16 = "bf16";
const std::pair<const char *, const char *> kPairs[] = {
    {"per_tensor", "per_tensor"},
    {"per_token", "per_tensor"},
    {"local_1x64", "local_1x64"},
    {kW4A16, "per_tensor"},
    {kW4A16, "per_token"},
    {kW4A16, "local_1x64"},
};

/// The operand recipe pairs of the grouped GEMM kernels.
const std::pair<const char *, const char *> kGroupedPairs[] = {
    {"per_tensor", "per_tensor"},    {"per_token", "per_tensor"},
    {"per_tensor", "per_token"},     {"per_token", "per_token"},
    {"local_1x64", "local_1x64"},    {"per_token", "local_1x64"},
    {"four_over_six", "per_tensor"}, {"per_token_quotient", "per_tensor"},
};

/// The baselines, opened once per run; a missing library leaves its
/// pointer null and says why.
struct Baselines {
  std::unique_ptr<CuBLAS> blas;
  std::string blasNote;
  std::unique_ptr<CuBLASLt> lt;
  /// Why FP8 columns read n/a, each reason once, printed after the tables.
  std::set<std::string> fp8Notes;
};

/// A device copy of a quantized operand: data, scale, amax.
struct DeviceOperand {
  QuantizedOutput host;
  CUdeviceptr data = 0, scale = 0, amax = 0;
};

/// A device buffer of `bytes`, holding `src` when it is set.
Expected<CUdeviceptr> upload(CudaDevice &d, const void *src, size_t bytes) {
  auto p = d.alloc(bytes);
  if (!p)
    return p.takeError();
  if (src)
    if (Error e = d.copyToDevice(*p, src, bytes))
      return std::move(e);
  return *p;
}

/// `copies` consecutive device copies of `bytes` from `src`.
Expected<CUdeviceptr> uploadCopies(CudaDevice &d, const void *src, size_t bytes,
                                   int64_t copies) {
  auto p = upload(d, nullptr, bytes * copies);
  if (!p)
    return p.takeError();
  for (int64_t i = 0; i < copies; ++i)
    if (Error e = d.copyToDevice(*p + i * bytes, src, bytes))
      return std::move(e);
  return *p;
}

/// `host` on the device; with `copies` > 1, that many copies stacked per
/// buffer (the G stacked B operands of a grouped GEMM).
Expected<DeviceOperand> uploadOperand(CudaDevice &d, QuantizedOutput host,
                                      int64_t copies = 1) {
  DeviceOperand op;
  op.host = std::move(host);
  for (auto [ptr, bytes, src] :
       {std::make_tuple(&op.data, op.host.data.size(),
                        (const void *)op.host.data.data()),
        std::make_tuple(&op.scale, op.host.scale.size(),
                        (const void *)op.host.scale.data()),
        std::make_tuple(&op.amax, op.host.amax.size() * 4,
                        (const void *)op.host.amax.data())}) {
    auto p = uploadCopies(d, src, bytes, copies);
    if (!p)
      return p.takeError();
    *ptr = *p;
  }
  return op;
}

Expected<DeviceOperand> makeOperand(GPURunner &runner, CudaDevice &d,
                                    mlir::nvfp4::RecipeAttr recipe,
                                    const std::vector<uint16_t> &values,
                                    int64_t rows, int64_t cols) {
  auto q =
      runner.quantize(recipe, ElementType::BF16, values.data(), rows, cols);
  if (!q)
    return q.takeError();
  return uploadOperand(d, std::move(*q->rowwise));
}

Error freeOperand(CudaDevice &d, DeviceOperand &op) {
  for (CUdeviceptr p : {op.data, op.scale, op.amax})
    if (Error e = d.free(p))
      return e;
  return Error::success();
}

Error freeAll(CudaDevice &d, ArrayRef<CUdeviceptr> buffers) {
  for (CUdeviceptr p : buffers)
    if (p)
      if (Error e = d.free(p))
        return e;
  return Error::success();
}

/// `text` with the 128x4 scale layout every GEMM operand uses.
Expected<mlir::nvfp4::RecipeAttr> gemmRecipe(GPURunner &runner,
                                             const char *text) {
  return parseRecipe(runner.getContext(),
                     std::string(text) + ", sf_layout = 128x4");
}

/// `count` random normal values as bf16.
std::vector<uint16_t> randomBF16(std::mt19937 &rng, int64_t count) {
  std::normal_distribution<float> normal;
  std::vector<uint16_t> v(count);
  for (uint16_t &x : v)
    x = floatToBF16(normal(rng));
  return v;
}

/// `x` as an E4M3 byte (round to nearest, saturating at 448), for the FP8
/// baseline's operands.
uint8_t toE4M3(float x) {
  uint8_t sign = std::signbit(x) ? 0x80 : 0;
  float a = std::fmin(std::fabs(x), 448.0f);
  if (!(a >= 0x1p-10f))
    return sign;
  int e;
  std::frexp(a, &e); // a = f * 2^e, f in [0.5, 1)
  int exp = std::max(e - 1, -6);
  int mant = int(std::nearbyint(std::ldexp(a, 3 - exp)));
  if (mant >= 16)
    mant >>= 1, ++exp;
  if (mant < 8) // subnormal: exponent field 0
    return uint8_t(sign | mant);
  return uint8_t(sign | std::min(((exp + 7) << 3) | (mant - 8), 0x7E));
}

/// TFLOP/s of `flops` done in `ms` milliseconds.
double tflops(double flops, float ms) { return flops / (ms * 1e-3) / 1e12; }

/// The dense table of one (N, K) shape.
Error runDenseTable(GPURunner &runner, CudaDevice &d, unsigned iters,
                    Baselines &base, int64_t n, int64_t k) {
  std::vector<int64_t> ms(gemmMOpt.begin(), gemmMOpt.end());
  if (ms.empty())
    ms = {1, 16, 128, 1024, 4096, 8192};
  CuBLAS *blas = base.blas.get();
  CuBLASLt *lt = base.lt.get();
  outs() << "NVFP4 GEMM D = A * B^T (bf16 output, fp32 accumulation) vs "
            "cublasGemmEx bf16 and cublasLtMatmul E4M3 (fp32 accumulation, "
            "bf16 output), N = "
         << n << ", K = " << k << ", median of " << iters << " runs\n\n";
  outs() << "| A recipe | B recipe | M | NVFP4 (us) | NVFP4 TFLOP/s | "
            "cuBLAS bf16 (us) | cuBLAS TFLOP/s | speedup | cuBLASLt FP8 (us) | "
            "FP8 TFLOP/s | FP8 scales | speedup vs FP8 |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|\n";

  std::mt19937 rng(0);
  int64_t maxM = *std::max_element(ms.begin(), ms.end());
  std::vector<uint16_t> bValues = randomBF16(rng, n * k);
  std::vector<uint16_t> aValues = randomBF16(rng, maxM * k);

  // The bf16 baseline's operands and output; W4A16 rows read the same A.
  CUdeviceptr aBF16 = 0, bBF16 = 0, dBF16 = 0;
  for (auto [ptr, bytes, src] :
       {std::make_tuple(&aBF16, size_t(maxM * k) * 2,
                        (const void *)aValues.data()),
        std::make_tuple(&bBF16, size_t(n * k) * 2,
                        (const void *)bValues.data()),
        std::make_tuple(&dBF16, size_t(maxM * n) * 2, (const void *)nullptr)}) {
    auto p = upload(d, src, bytes);
    if (!p)
      return p.takeError();
    *ptr = *p;
  }

  // The FP8 baseline's operands (E4M3 data, outer scales of 1), output and
  // workspace (cuBLASLt plans ask for at most 32 MiB).
  CUdeviceptr aFP8 = 0, bFP8 = 0, aScales = 0, bScales = 0, dFP8 = 0,
              workspace = 0;
  if (lt) {
    auto toFP8 = [](const std::vector<uint16_t> &v) {
      std::vector<uint8_t> out(v.size());
      for (size_t i = 0; i < v.size(); ++i)
        out[i] = toE4M3(bf16ToFloat(v[i]));
      return out;
    };
    std::vector<uint8_t> aBytes = toFP8(aValues), bBytes = toFP8(bValues);
    std::vector<float> aOnes(maxM, 1.0f), bOnes(n, 1.0f);
    for (auto [ptr, bytes, src] :
         {std::make_tuple(&aFP8, size_t(maxM * k), (const void *)aBytes.data()),
          std::make_tuple(&bFP8, size_t(n * k), (const void *)bBytes.data()),
          std::make_tuple(&aScales, size_t(maxM) * 4,
                          (const void *)aOnes.data()),
          std::make_tuple(&bScales, size_t(n) * 4, (const void *)bOnes.data()),
          std::make_tuple(&dFP8, size_t(maxM * n) * 2, (const void *)nullptr),
          std::make_tuple(&workspace, size_t(32) << 20,
                          (const void *)nullptr)}) {
      auto p = upload(d, src, bytes);
      if (!p)
        return p.takeError();
      *ptr = *p;
    }
  }

  for (auto [aText, bText] : kPairs) {
    bool w4a16 = StringRef(aText) == kW4A16;
    mlir::nvfp4::RecipeAttr aRecipe;
    if (!w4a16) {
      auto r = gemmRecipe(runner, aText);
      if (!r)
        return r.takeError();
      aRecipe = *r;
    }
    auto bRecipe = gemmRecipe(runner, bText);
    if (!bRecipe)
      return bRecipe.takeError();
    auto b = makeOperand(runner, d, *bRecipe, bValues, n, k);
    if (!b)
      return b.takeError();
    MatmulOptions options;
    auto compiled =
        w4a16 ? runner.compileMatmulW4A16(ElementType::BF16, *bRecipe, options)
              : runner.compileMatmul(aRecipe, *bRecipe, options);
    if (!compiled)
      return compiled.takeError();
    auto module = runner.load(**compiled);
    if (!module)
      return module.takeError();
    for (int64_t m : ms) {
      DeviceOperand a;
      if (!w4a16) {
        std::vector<uint16_t> aRows(aValues.begin(), aValues.begin() + m * k);
        auto q = makeOperand(runner, d, aRecipe, aRows, m, k);
        if (!q)
          return q.takeError();
        a = std::move(*q);
      }
      auto out = d.alloc(size_t(m * n) * 2);
      if (!out)
        return out.takeError();
      SmallVector<CUdeviceptr> buffers{a.data, a.scale, a.amax,
                                       b->data, b->scale, b->amax, *out};
      if (w4a16)
        buffers = {aBF16, b->data, b->scale, b->amax, *out};
      auto ours = medianTime(d, iters, [&] {
        if (w4a16)
          return runner.launchMatmulW4A16(**compiled, **module, m, k, b->host,
                                          /*bias=*/false, buffers);
        return runner.launchMatmul(**compiled, **module, a.host, b->host,
                                   /*bias=*/false, buffers);
      });
      if (!ours)
        return ours.takeError();
      double flops = 2.0 * double(m) * double(n) * double(k);
      outs() << "| `" << aText << "` | `" << bText << "` | " << m << " | "
             << format("%.1f", *ours * 1e3) << " | "
             << format("%.1f", tflops(flops, *ours)) << " | ";
      if (blas) {
        auto theirs = medianTime(d, iters, [&] {
          return blas->gemmBF16(aBF16, bBF16, dBF16, int(m), int(n), int(k));
        });
        if (!theirs)
          return theirs.takeError();
        outs() << format("%.1f", *theirs * 1e3) << " | "
               << format("%.1f", tflops(flops, *theirs)) << " | "
               << format("%.2fx", *theirs / *ours) << " | ";
      } else {
        outs() << "n/a | n/a | n/a | ";
      }
      // The FP8 baseline; any failure of it is a note, not an error.
      std::string fp8Row = "n/a | n/a | n/a | n/a |";
      std::string where = "M = " + std::to_string(m) + ", N = " +
                          std::to_string(n) + ", K = " + std::to_string(k) +
                          ": ";
      if (lt) {
        auto plan = lt->plan(int(m), int(n), int(k), aScales, bScales);
        if (!plan) {
          base.fp8Notes.insert(where + toString(plan.takeError()));
        } else {
          auto fp8 = medianTime(d, iters, [&] {
            return lt->run(**plan, aFP8, bFP8, dFP8, workspace);
          });
          if (!fp8) {
            base.fp8Notes.insert(where + toString(fp8.takeError()));
          } else {
            fp8Row.clear();
            raw_string_ostream row(fp8Row);
            row << format("%.1f", *fp8 * 1e3) << " | "
                << format("%.1f", tflops(flops, *fp8)) << " | "
                << ((*plan)->outerVectors() ? "per row" : "per tensor")
                << " | " << format("%.2fx", *fp8 / *ours) << " |";
          }
        }
      }
      outs() << fp8Row << "\n";
      if (Error e = d.free(*out))
        return e;
      if (!w4a16)
        if (Error e = freeOperand(d, a))
          return e;
    }
    if (Error e = freeOperand(d, *b))
      return e;
  }
  outs() << "\n";
  return freeAll(d, {aBF16, bBF16, dBF16, aFP8, bFP8, aScales, bScales, dFP8,
                     workspace});
}

/// `total` rows routed to `groups` experts: deterministic pseudo-random
/// sizes (exponentially distributed shares, about one group in eight
/// empty) that add up to `total`. Drawn from the raw mt19937 stream, which
/// the C++ standard fixes, so every platform gets the same sizes.
std::vector<int64_t> moeSplits(int64_t total, int64_t groups) {
  std::mt19937 rng(1);
  auto unit = [&] { return (double(rng()) + 0.5) / 4294967296.0; };
  std::vector<double> share(groups);
  for (double &s : share)
    s = rng() % 8 == 0 ? 0.0 : -std::log(unit());
  if (llvm::all_of(share, [](double s) { return s == 0.0; }))
    share[0] = 1.0;
  double sum = 0;
  for (double s : share)
    sum += s;
  // Largest remainders: floor of each exact share, the rows left over to
  // the groups that lost the most to the floor.
  std::vector<int64_t> splits(groups);
  std::vector<std::pair<double, int64_t>> lost;
  int64_t given = 0;
  for (int64_t g = 0; g < groups; ++g) {
    double exact = share[g] / sum * double(total);
    splits[g] = int64_t(std::floor(exact));
    given += splits[g];
    if (share[g] > 0)
      lost.emplace_back(exact - double(splits[g]), g);
  }
  llvm::sort(lost, [](auto &x, auto &y) {
    return x.first > y.first || (x.first == y.first && x.second < y.second);
  });
  for (int64_t i = 0; given < total; ++i, ++given)
    ++splits[lost[i % lost.size()].second];
  return splits;
}

/// The MoE table: the grouped GEMM of every grouped recipe pair.
Error runGroupedTable(GPURunner &runner, CudaDevice &d, unsigned iters,
                      Baselines &base) {
  int64_t groups = moeGroupsOpt, m = moeMOpt, n = moeNOpt, k = moeKOpt;
  std::vector<int64_t> splits = moeSplits(m, groups);
  int64_t empty = llvm::count(splits, 0);
  outs() << "MoE: grouped GEMM (`nvfp4.grouped_matmul`, one launch over "
            "every group; bf16 output, fp32 accumulation) of M = "
         << m << " rows routed to " << groups << " experts (" << empty
         << " of them empty), N = " << n << ", K = " << k
         << " per expert, vs cuBLAS bf16 doing the same work as one "
            "cublasGemmEx per non-empty group, looped on one stream "
            "(`loop`), and vs one M x N x K cublasGemmEx with a single "
            "weight matrix (`one GEMM`, a lower bound), median of "
         << iters << " runs\n\ngroup sizes:";
  for (int64_t s : splits)
    outs() << " " << s;
  outs() << "\n\n| A recipe | B recipe | NVFP4 (us) | NVFP4 TFLOP/s | "
            "cuBLAS bf16 loop (us) | loop TFLOP/s | speedup vs loop | "
            "cuBLAS bf16 one GEMM (us) | one GEMM TFLOP/s | speedup vs one "
            "GEMM |\n|---|---|---|---|---|---|---|---|---|---|\n";
  double flops = 2.0 * double(m) * double(n) * double(k);

  std::mt19937 rng(0);
  std::vector<uint16_t> bValues = randomBF16(rng, n * k);
  std::vector<uint16_t> aValues = randomBF16(rng, m * k);
  auto splitsDev = upload(d, splits.data(), splits.size() * sizeof(int64_t));
  if (!splitsDev)
    return splitsDev.takeError();
  auto out = upload(d, nullptr, size_t(m * n) * 2);
  if (!out)
    return out.takeError();

  // The cuBLAS columns, the same for every row: measured once.
  float blasLoop = 0, blasOne = 0;
  if (base.blas) {
    auto aBF16 = upload(d, aValues.data(), aValues.size() * 2);
    if (!aBF16)
      return aBF16.takeError();
    auto bBF16 = uploadCopies(d, bValues.data(), bValues.size() * 2, groups);
    if (!bBF16)
      return bBF16.takeError();
    auto loop = medianTime(d, iters, [&]() -> Error {
      int64_t row0 = 0;
      for (int64_t g = 0; g < groups; row0 += splits[g], ++g)
        if (splits[g])
          if (Error e = base.blas->gemmBF16(
                  *aBF16 + row0 * k * 2, *bBF16 + g * n * k * 2,
                  *out + row0 * n * 2, int(splits[g]), int(n), int(k)))
            return e;
      return Error::success();
    });
    if (!loop)
      return loop.takeError();
    auto one = medianTime(d, iters, [&] {
      return base.blas->gemmBF16(*aBF16, *bBF16, *out, int(m), int(n), int(k));
    });
    if (!one)
      return one.takeError();
    blasLoop = *loop, blasOne = *one;
    if (Error e = freeAll(d, {*aBF16, *bBF16}))
      return e;
  }

  for (auto [aText, bText] : kGroupedPairs) {
    auto aRecipe = gemmRecipe(runner, aText);
    if (!aRecipe)
      return aRecipe.takeError();
    auto bRecipe = gemmRecipe(runner, bText);
    if (!bRecipe)
      return bRecipe.takeError();
    auto qa = runner.quantizeGrouped(*aRecipe, ElementType::BF16,
                                     aValues.data(), m, k, splits);
    if (!qa)
      return qa.takeError();
    auto a = uploadOperand(d, std::move(*qa->rowwise));
    if (!a)
      return a.takeError();
    auto qb =
        runner.quantize(*bRecipe, ElementType::BF16, bValues.data(), n, k);
    if (!qb)
      return qb.takeError();
    auto b = uploadOperand(d, std::move(*qb->rowwise), groups);
    if (!b)
      return b.takeError();
    auto compiled =
        runner.compileMatmulGrouped(*aRecipe, *bRecipe, MatmulOptions());
    if (!compiled)
      return compiled.takeError();
    auto module = runner.load(**compiled);
    if (!module)
      return module.takeError();
    CUdeviceptr buffers[] = {*splitsDev, a->data, a->scale, a->amax,
                             b->data,    b->scale, b->amax, *out};
    auto ours = medianTime(d, iters, [&] {
      return runner.launchMatmulGrouped(**compiled, **module, *aRecipe,
                                        *bRecipe, m, groups, n, k,
                                        /*bias=*/false, buffers,
                                        /*stream=*/nullptr);
    });
    if (!ours)
      return ours.takeError();
    outs() << "| `" << aText << "` | `" << bText << "` | "
           << format("%.1f", *ours * 1e3) << " | "
           << format("%.1f", tflops(flops, *ours)) << " | ";
    if (base.blas)
      outs() << format("%.1f", blasLoop * 1e3) << " | "
             << format("%.1f", tflops(flops, blasLoop)) << " | "
             << format("%.2fx", blasLoop / *ours) << " | "
             << format("%.1f", blasOne * 1e3) << " | "
             << format("%.1f", tflops(flops, blasOne)) << " | "
             << format("%.2fx", blasOne / *ours) << " |\n";
    else
      outs() << "n/a | n/a | n/a | n/a | n/a | n/a |\n";
    if (Error e = freeOperand(d, *a))
      return e;
    if (Error e = freeOperand(d, *b))
      return e;
  }
  outs() << "\n";
  return freeAll(d, {*splitsDev, *out});
}
} // namespace

bool gemmWarpSpecialized() { return warpSpecializedOpt; }

Error checkGemmOptions() {
  for (int64_t m : gemmMOpt)
    if (m < 1)
      return fail("expected --gemm-m values to be positive, got " + Twine(m));
  for (int64_t n : gemmNOpt)
    if (n < 1)
      return fail("expected --gemm-n values to be positive, got " + Twine(n));
  for (int64_t k : gemmKOpt)
    if (k < 16 || k % 16)
      return fail("expected --gemm-k values to be positive multiples of 16, "
                  "got " +
                  Twine(k));
  if (gemmNOpt.size() > 1 && gemmKOpt.size() > 1 &&
      gemmNOpt.size() != gemmKOpt.size())
    return fail("expected as many --gemm-n values as --gemm-k values (or one "
                "of either), got " +
                Twine(gemmNOpt.size()) + " and " + Twine(gemmKOpt.size()));
  for (auto [name, value] : {std::make_pair("--gemm-moe-groups", &moeGroupsOpt),
                             std::make_pair("--gemm-moe-m", &moeMOpt),
                             std::make_pair("--gemm-moe-n", &moeNOpt)})
    if (*value < 1)
      return fail("expected " + Twine(name) + " to be positive, got " +
                  Twine(int64_t(*value)));
  if (moeKOpt < 16 || moeKOpt % 16)
    return fail("expected --gemm-moe-k to be a positive multiple of 16, got " +
                Twine(int64_t(moeKOpt)));
  return Error::success();
}

Error runGemmSuite(GPURunner &runner, CudaDevice &d, unsigned iters) {
  Baselines base;
  if (auto blas = CuBLAS::open())
    base.blas = std::move(*blas);
  else
    base.blasNote = toString(blas.takeError());
  if (auto lt = CuBLASLt::open())
    base.lt = std::move(*lt);
  else
    base.fp8Notes.insert(toString(lt.takeError()));

  // Which sm_90a large-M kernel the runner builds (GPURunner::create,
  // --gemm-warp-specialized, NVFP4_GEMM_PREDECODE=1).
  const char *largeM = runner.predecodedGemm()        ? "predecoded"
                       : runner.warpSpecializedGemm() ? "warp-specialized"
                                                      : "software pipeline";
  outs() << "device: " << d.name() << " (sm_" << d.computeCapability() << ")"
         << (base.blasNote.empty() ? ""
                                   : "; cuBLAS unavailable: " + base.blasNote)
         << "; large-M GEMM: " << largeM << "\n\n";
  for (auto [n, k] : denseShapes())
    if (Error e = runDenseTable(runner, d, iters, base, n, k))
      return e;
  if (moeEnabled())
    if (Error e = runGroupedTable(runner, d, iters, base))
      return e;
  if (!base.fp8Notes.empty()) {
    outs() << "cuBLASLt FP8 n/a:\n";
    for (const std::string &note : base.fp8Notes)
      outs() << "- " << note << "\n";
  }
  return Error::success();
}

} // namespace bench
} // namespace nvfp4
