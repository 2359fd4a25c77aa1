//===- GemmBench.cpp - NVFP4 GEMM time next to cuBLAS bf16 ----------------===//
//
// `nvfp4-bench --suite=gemm`: for each operand recipe pair and M (N and K
// fixed), the median time of the NVFP4 GEMM, of cublasGemmEx on bf16
// operands and of cublasLtMatmul on E4M3 operands with per-row outer
// scales (per-tensor where the library refuses those; the table says
// which) of the same shape, measured in the same process with CUDA
// events, as TFLOP/s and speedups. Operands are random normal matrices,
// quantized on the GPU for NVFP4 and rounded to E4M3 on the host for FP8.
// A baseline that cannot run prints "n/a" and the reason below the table.
// Rows whose A recipe reads `bf16` are W4A16 (`nvfp4.matmul_w4a16`): the
// bf16 A as given (the cuBLAS baseline's own A) times the NVFP4 B.
//
//===----------------------------------------------------------------------===//

#include "Bench.h"
#include "CuBLAS.h"
#include "CuBLASLt.h"

#include "nvfp4/Runtime/GPURunner.h"
#include "nvfp4/Runtime/Matmul.h"
#include "nvfp4/Support/FloatBits.h"

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
cl::opt<int64_t> gemmNOpt("gemm-n", cl::desc("GEMM N"), cl::init(8192),
                          cl::cat(benchCategory));
cl::opt<int64_t> gemmKOpt("gemm-k", cl::desc("GEMM K"), cl::init(8192),
                          cl::cat(benchCategory));

/// Operand recipe pairs (A, B); B is the weight. An A of kW4A16 is the
/// unquantized bf16 A of a W4A16 GEMM.
constexpr const char *kW4A16 = "bf16";
const std::pair<const char *, const char *> kPairs[] = {
    {"per_tensor", "per_tensor"},
    {"per_token", "per_tensor"},
    {"local_1x64", "local_1x64"},
    {kW4A16, "per_tensor"},
    {kW4A16, "per_token"},
};

/// A device copy of a quantized operand: data, scale, amax.
struct DeviceOperand {
  QuantizedOutput host;
  CUdeviceptr data = 0, scale = 0, amax = 0;
};

Expected<DeviceOperand> makeOperand(GPURunner &runner, CudaDevice &d,
                                    mlir::nvfp4::RecipeAttr recipe,
                                    const std::vector<uint16_t> &values,
                                    int64_t rows, int64_t cols) {
  auto q = runner.quantize(recipe, ElementType::BF16, values.data(), rows, cols);
  if (!q)
    return q.takeError();
  DeviceOperand op;
  op.host = std::move(*q->rowwise);
  for (auto [ptr, bytes, src] :
       {std::make_tuple(&op.data, op.host.data.size(),
                        (const void *)op.host.data.data()),
        std::make_tuple(&op.scale, op.host.scale.size(),
                        (const void *)op.host.scale.data()),
        std::make_tuple(&op.amax, op.host.amax.size() * 4,
                        (const void *)op.host.amax.data())}) {
    auto p = d.alloc(bytes);
    if (!p)
      return p.takeError();
    *ptr = *p;
    if (Error e = d.copyToDevice(*p, src, bytes))
      return std::move(e);
  }
  return op;
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

Error freeOperand(CudaDevice &d, DeviceOperand &op) {
  for (CUdeviceptr p : {op.data, op.scale, op.amax})
    if (Error e = d.free(p))
      return e;
  return Error::success();
}
} // namespace

Error runGemmSuite(GPURunner &runner, CudaDevice &d, unsigned iters) {
  std::vector<int64_t> ms(gemmMOpt.begin(), gemmMOpt.end());
  if (ms.empty())
    ms = {1, 16, 128, 1024, 4096, 8192};
  int64_t n = gemmNOpt, k = gemmKOpt;
  auto blas = CuBLAS::open();
  std::string blasNote;
  if (!blas)
    blasNote = toString(blas.takeError());
  auto lt = CuBLASLt::open();
  // Why FP8 columns read n/a, each reason once, printed after the table.
  std::set<std::string> fp8Notes;
  if (!lt)
    fp8Notes.insert(toString(lt.takeError()));

  outs() << "device: " << d.name() << " (sm_" << d.computeCapability()
         << "), NVFP4 GEMM D = A * B^T (bf16 output, fp32 accumulation) vs "
            "cublasGemmEx bf16 and cublasLtMatmul E4M3 (fp32 accumulation, "
            "bf16 output), N = "
         << n << ", K = " << k << ", median of " << iters << " runs"
         << (blasNote.empty() ? "" : "; cuBLAS unavailable: " + blasNote)
         << "\n\n";
  outs() << "| A recipe | B recipe | M | NVFP4 (us) | NVFP4 TFLOP/s | "
            "cuBLAS bf16 (us) | cuBLAS TFLOP/s | speedup | cuBLASLt FP8 (us) | "
            "FP8 TFLOP/s | FP8 scales | speedup vs FP8 |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|\n";

  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  auto randomBF16 = [&](int64_t count) {
    std::vector<uint16_t> v(count);
    for (uint16_t &x : v)
      x = floatToBF16(normal(rng));
    return v;
  };
  int64_t maxM = *std::max_element(ms.begin(), ms.end());
  std::vector<uint16_t> bValues = randomBF16(n * k);
  std::vector<uint16_t> aValues = randomBF16(maxM * k);

  // The bf16 baseline's operands and output; W4A16 rows read the same A.
  CUdeviceptr aBF16 = 0, bBF16 = 0, dBF16 = 0;
  {
    for (auto [ptr, bytes] : {std::make_pair(&aBF16, maxM * k * 2),
                              std::make_pair(&bBF16, n * k * 2),
                              std::make_pair(&dBF16, maxM * n * 2)}) {
      auto p = d.alloc(bytes);
      if (!p)
        return p.takeError();
      *ptr = *p;
    }
    if (Error e = d.copyToDevice(aBF16, aValues.data(), aValues.size() * 2))
      return e;
    if (Error e = d.copyToDevice(bBF16, bValues.data(), bValues.size() * 2))
      return e;
  }

  // The FP8 baseline's operands (E4M3 data, outer scales of 1), output and
  // workspace (cuBLASLt plans ask for at most 32 MiB).
  CUdeviceptr aFP8 = 0, bFP8 = 0, aScales = 0, bScales = 0, dFP8 = 0,
              workspace = 0;
  if (*lt) {
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
      auto p = d.alloc(bytes);
      if (!p)
        return p.takeError();
      *ptr = *p;
      if (src)
        if (Error e = d.copyToDevice(*p, src, bytes))
          return e;
    }
  }

  for (auto [aText, bText] : kPairs) {
    auto withLayout = [&](const char *text) {
      return parseRecipe(runner.getContext(),
                         std::string(text) + ", sf_layout = 128x4");
    };
    bool w4a16 = StringRef(aText) == kW4A16;
    mlir::nvfp4::RecipeAttr aRecipe;
    if (!w4a16) {
      auto r = withLayout(aText);
      if (!r)
        return r.takeError();
      aRecipe = *r;
    }
    auto bRecipe = withLayout(bText);
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
             << format("%.1f", flops / (*ours * 1e-3) / 1e12) << " | ";
      if (*blas) {
        auto theirs = medianTime(d, iters, [&] {
          return (*blas)->gemmBF16(aBF16, bBF16, dBF16, int(m), int(n), int(k));
        });
        if (!theirs)
          return theirs.takeError();
        outs() << format("%.1f", *theirs * 1e3) << " | "
               << format("%.1f", flops / (*theirs * 1e-3) / 1e12) << " | "
               << format("%.2fx", *theirs / *ours) << " | ";
      } else {
        outs() << "n/a | n/a | n/a | ";
      }
      // The FP8 baseline; any failure of it is a note, not an error.
      std::string fp8Row = "n/a | n/a | n/a | n/a |";
      if (*lt) {
        auto plan = (*lt)->plan(int(m), int(n), int(k), aScales, bScales);
        if (!plan) {
          fp8Notes.insert("M = " + std::to_string(m) + ": " +
                          toString(plan.takeError()));
        } else {
          auto fp8 = medianTime(d, iters, [&] {
            return (*lt)->run(**plan, aFP8, bFP8, dFP8, workspace);
          });
          if (!fp8) {
            fp8Notes.insert("M = " + std::to_string(m) + ": " +
                            toString(fp8.takeError()));
          } else {
            fp8Row.clear();
            raw_string_ostream row(fp8Row);
            row << format("%.1f", *fp8 * 1e3) << " | "
                << format("%.1f", flops / (*fp8 * 1e-3) / 1e12) << " | "
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
  for (CUdeviceptr p : {aBF16, bBF16, dBF16, aFP8, bFP8, aScales, bScales,
                        dFP8, workspace})
    if (p)
      if (Error e = d.free(p))
        return e;
  if (!fp8Notes.empty()) {
    outs() << "\ncuBLASLt FP8 n/a:\n";
    for (const std::string &note : fp8Notes)
      outs() << "- " << note << "\n";
  }
  return Error::success();
}

} // namespace bench
} // namespace nvfp4
