//===- nvfp4-bench.cpp - Kernel speed on the GPU, compile latency ---------===//
//
// --suite=quantize (default): for each recipe and shape (decode-time shapes
// with --m=1,16), then for 64 ragged MoE groups (GroupedQuantizeBench.cpp),
// the median time of the recipe's kernels over many runs (CUDA events), the
// effective bandwidth (input read once + outputs written once) and its ratio
// to a device-to-device copy measured in the same process. --suite=gemm: the
// NVFP4 GEMM, dense and grouped (MoE), next to cuBLAS (GemmBench.cpp).
// --suite=producers: RMSNorm and gated activations fused into a quantize
// against the unfused pair (ProducerBench.cpp). --suite=calls: the host
// cost of a call through the runtime API next to its kernel time, and
// decode-time shapes with programmatic dependent launch off and on
// (CallBench.cpp). --suite=compile: JIT latency (CompileBench.cpp). Each
// prints Markdown tables.
//
//===----------------------------------------------------------------------===//

#include "Bench.h"
#include "CompileBench.h"

#include "nvfp4/Runtime/Compiler.h"
#include "nvfp4/Runtime/GPURunner.h"
#include "nvfp4/Support/FloatBits.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <random>

using namespace llvm;

llvm::cl::OptionCategory nvfp4::bench::benchCategory("nvfp4-bench options");

namespace {
cl::opt<std::string> targetOpt("target", cl::desc("GPU architecture"),
                               cl::init("sm_90a"),
                               cl::cat(nvfp4::bench::benchCategory));
cl::list<std::string>
    recipesOpt("recipe",
               cl::desc("recipe to measure (repeatable; default: the seeds)"),
               cl::cat(nvfp4::bench::benchCategory));
cl::list<int64_t> mOpt("m", cl::desc("rows (repeatable)"), cl::CommaSeparated,
                       cl::cat(nvfp4::bench::benchCategory));
cl::list<int64_t> kOpt("k", cl::desc("columns (repeatable)"),
                       cl::CommaSeparated,
                       cl::cat(nvfp4::bench::benchCategory));
cl::opt<int64_t> moeGroupsOpt(
    "moe-groups",
    cl::desc("groups of the quantize suite's grouped (MoE) table (0: none)"),
    cl::init(64), cl::cat(nvfp4::bench::benchCategory));
cl::opt<int64_t> moeKOpt("moe-k",
                         cl::desc("columns of the grouped (MoE) table"),
                         cl::init(7168), cl::cat(nvfp4::bench::benchCategory));
cl::opt<unsigned> itersOpt("iters", cl::desc("timed runs per case"),
                           cl::init(30), cl::cat(nvfp4::bench::benchCategory));
cl::opt<unsigned> callsOpt("calls",
                           cl::desc("back-to-back calls per case (calls)"),
                           cl::init(1000),
                           cl::cat(nvfp4::bench::benchCategory));
cl::opt<std::string>
    suiteOpt("suite",
             cl::desc("what to measure: quantize (kernel bandwidth, needs a "
                      "GPU), gemm (GEMM next to cuBLAS, needs a GPU), calls "
                      "(host cost per API call, needs a GPU), producers (RMSNorm "
                      "and gated activations fused into a quantize, needs a "
                      "GPU) or compile (JIT latency, needs only ptxas)"),
             cl::init("quantize"), cl::cat(nvfp4::bench::benchCategory));

const char *kDefaultRecipes[] = {
    "per_tensor",
    "per_token",
    "local_1x64",
    "per_tensor_2d",
    "four_over_six",
    "per_tensor, rounding = stochastic<seed = 1>",
    "per_tensor_rht",
    "per_token, directions = [rowwise, columnwise], sf_layout = 128x4",
    "local_1x64, directions = [rowwise, columnwise]",
    // One read of X: the amax comes in (delayed, calibrated or all-reduced
    // elsewhere); the bench passes the tensor's max |x| for every group.
    "per_tensor, amax = given",
    "per_token, directions = [rowwise, columnwise], sf_layout = 128x4, amax = given",
};

Error fail(const Twine &m) {
  return createStringError(inconvertibleErrorCode(), m);
}

float median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Error run() {
  // A bad suite is reported before anything needs a GPU.
  if (suiteOpt != "quantize" && suiteOpt != "gemm" && suiteOpt != "calls" &&
      suiteOpt != "producers")
    return fail("unknown --suite '" + suiteOpt +
                "' (quantize, gemm, calls, producers, compile)");
  if (itersOpt < 1)
    return fail("expected --iters to be at least 1, got 0");
  if (moeGroupsOpt < 0)
    return fail("expected --moe-groups to be at least 0, got " +
                std::to_string(moeGroupsOpt));
  if (moeKOpt < 16 || moeKOpt % 16 != 0)
    return fail("expected --moe-k to be a positive multiple of 16, got " +
                std::to_string(moeKOpt));
  if (suiteOpt == "gemm")
    if (Error e = nvfp4::bench::checkGemmOptions())
      return e;
  if (suiteOpt == "calls")
    return nvfp4::bench::runCallSuite(callsOpt);
  if (suiteOpt == "producers")
    return nvfp4::bench::runProducerSuite(itersOpt);
  auto runner = nvfp4::GPURunner::create(
      targetOpt, nvfp4::CompilerOptions().toolkit,
      suiteOpt == "gemm" && nvfp4::bench::gemmWarpSpecialized());
  if (!runner)
    return runner.takeError();
  auto dev = (*runner)->device();
  if (!dev)
    return dev.takeError();
  nvfp4::CudaDevice &d = **dev;
  if (suiteOpt == "gemm")
    return nvfp4::bench::runGemmSuite(**runner, d, itersOpt);
  std::vector<int64_t> ms(mOpt.begin(), mOpt.end()),
      ks(kOpt.begin(), kOpt.end());
  if (ms.empty())
    ms = {1024, 8192, 32768};
  if (ks.empty())
    ks = {4096, 8192};
  std::vector<std::string> recipes(recipesOpt.begin(), recipesOpt.end());
  if (recipes.empty())
    recipes.assign(std::begin(kDefaultRecipes), std::end(kDefaultRecipes));

  outs() << "device: " << d.name() << " (sm_" << d.computeCapability()
         << "), kernels for " << targetOpt << ", bf16 input, median of "
         << itersOpt << " runs\n\n";
  outs() << "| recipe | M | K | time (us) | effective GB/s | copy GB/s | "
            "ratio |\n|---|---|---|---|---|---|---|\n";
  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  for (int64_t m : ms)
    for (int64_t k : ks) {
      size_t inBytes = size_t(m * k) * 2;
      std::vector<uint16_t> host(m * k);
      for (uint16_t &h : host)
        h = nvfp4::floatToBF16(normal(rng));
      auto input = d.alloc(inBytes);
      if (!input)
        return input.takeError();
      auto copy = d.alloc(inBytes);
      if (!copy)
        return copy.takeError();
      if (Error e = d.copyToDevice(*input, host.data(), inBytes))
        return e;
      std::vector<float> copyTimes;
      for (unsigned i = 0; i < itersOpt + 3; ++i) {
        auto t = d.time(
            [&] { return d.copyDeviceToDevice(*copy, *input, inBytes); });
        if (!t)
          return t.takeError();
        if (i >= 3)
          copyTimes.push_back(*t);
      }
      double copyGBs = 2.0 * inBytes / (median(copyTimes) * 1e-3) / 1e9;
      // The given amax of every outer group: the tensor's max |x| (no value
      // saturates; a group's own amax would only change which codes come out).
      float tensorAmax = 0.0f;
      for (uint16_t h : host)
        tensorAmax = std::max(tensorAmax, std::fabs(nvfp4::bf16ToFloat(h)));
      for (const std::string &text : recipes) {
        auto recipe = nvfp4::parseRecipe((*runner)->getContext(), text);
        if (!recipe)
          return recipe.takeError();
        // A columnwise output needs whole 16-row blocks of X: decode-time
        // shapes (M = 1) have none, which the table says instead of
        // failing the run.
        if (recipe->getColumnwise() && m % 16 != 0) {
          outs() << "| `" << text << "` | " << m << " | " << k
                 << " | - | - | - | columnwise needs M % 16 == 0 |\n";
          continue;
        }
        auto outputs = nvfp4::allocateOutputs(*recipe, m, k);
        if (!outputs)
          return outputs.takeError();
        auto compiled =
            (*runner)->compile(*recipe, nvfp4::ElementType::BF16, "bin");
        if (!compiled)
          return compiled.takeError();
        auto module = d.loadModule((*compiled)->image);
        if (!module)
          return module.takeError();
        std::vector<nvfp4::CUdeviceptr> buffers{*input};
        size_t outBytes = 0;
        for (auto *o : {&outputs->rowwise, &outputs->columnwise}) {
          if (!*o)
            continue;
          for (size_t bytes : {(*o)->data.size(), (*o)->scale.size(),
                               (*o)->amax.size() * 4}) {
            auto ptr = d.alloc(bytes);
            if (!ptr)
              return ptr.takeError();
            buffers.push_back(*ptr);
            outBytes += bytes;
          }
          // A given amax is read, not written: fill it, and count its bytes
          // as read rather than written (the same number).
          if (recipe->hasGivenOuterScale()) {
            std::vector<float> given((*o)->amax.size(), tensorAmax);
            if (Error e = d.copyToDevice(buffers.back(), given.data(),
                                         given.size() * 4))
              return e;
          }
        }
        std::vector<float> times;
        for (unsigned i = 0; i < itersOpt + 3; ++i) {
          auto t = d.time([&] {
            return (*runner)->launch(**compiled, **module, m, k, *outputs,
                                     buffers);
          });
          if (!t)
            return t.takeError();
          if (i >= 3)
            times.push_back(*t);
        }
        float ms_ = median(times);
        double gbs = double(inBytes + outBytes) / (ms_ * 1e-3) / 1e9;
        outs() << "| `" << text << "` | " << m << " | " << k << " | "
               << format("%.1f", ms_ * 1e3) << " | " << format("%.0f", gbs)
               << " | " << format("%.0f", copyGBs) << " | "
               << format("%.1f%%", 100.0 * gbs / copyGBs) << " |\n";
        for (size_t i = 1; i < buffers.size(); ++i)
          if (Error e = d.free(buffers[i]))
            return e;
      }
      if (Error e = d.free(*input))
        return e;
      if (Error e = d.free(*copy))
        return e;
    }
  if (moeGroupsOpt > 0) {
    // The grouped table measures the recipes that find their own amaxes.
    std::vector<std::string> grouped;
    for (const std::string &text : recipes) {
      auto recipe = nvfp4::parseRecipe((*runner)->getContext(), text);
      if (!recipe)
        return recipe.takeError();
      if (!recipe->hasGivenOuterScale())
        grouped.push_back(text);
    }
    return nvfp4::bench::runGroupedQuantizeTable(**runner, d, grouped,
                                                  moeGroupsOpt, moeKOpt,
                                                  itersOpt);
  }
  return Error::success();
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // The tool's own flags only, not LLVM's internal ones.
  cl::HideUnrelatedOptions(nvfp4::bench::benchCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "nvfp4-bench: NVFP4 quantization bandwidth and GEMM speed\n");
  if (suiteOpt == "compile") {
    std::vector<std::string> recipes(recipesOpt.begin(), recipesOpt.end());
    if (recipes.empty())
      recipes.assign(std::begin(kDefaultRecipes), std::end(kDefaultRecipes));
    if (Error e = nvfp4::runCompileSuite(targetOpt, recipes, itersOpt)) {
      errs() << "nvfp4-bench: error: " << toString(std::move(e)) << "\n";
      return 1;
    }
    return 0;
  }
  if (Error e = run()) {
    errs() << "nvfp4-bench: error: " << toString(std::move(e)) << "\n";
    return 1;
  }
  return 0;
}
