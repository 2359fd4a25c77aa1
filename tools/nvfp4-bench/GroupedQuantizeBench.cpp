//===- GroupedQuantizeBench.cpp - MoE quantize bandwidth ------------------===//
//
// The grouped (MoE) table of `nvfp4-bench --suite=quantize`: one
// `nvfp4.grouped_quantize` launch per kernel over `--moe-groups` ragged
// groups (sizes drawn from a fixed seed in [0, 2 * 1024], zero-size groups
// included) of a bf16 matrix with K = `--moe-k` columns, as the rows of an
// MoE layer's experts arrive. Median kernel time and effective bandwidth
// (input read once + outputs written once) as a ratio to a device copy of
// the input measured in the same process.
//
//===----------------------------------------------------------------------===//

#include "Bench.h"
#include "nvfp4/Runtime/GPURunner.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <numeric>

using namespace llvm;

namespace nvfp4 {
namespace bench {

Error runGroupedQuantizeTable(GPURunner &runner, CudaDevice &d,
                              ArrayRef<std::string> recipes, int64_t groups,
                              int64_t k, unsigned iters) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> size(0, 2 * 1024);
  std::vector<int64_t> splits(groups);
  for (int64_t &s : splits)
    s = size(rng);
  int64_t m = std::accumulate(splits.begin(), splits.end(), int64_t(0));
  if (m == 0)
    return Error::success();
  outs() << "\ngrouped (MoE): " << groups << " groups of 0.." << 2 * 1024
         << " rows (seed 7, M = " << m << "), K = " << k << "\n\n"
         << "| recipe | groups | M | K | time (us) | effective GB/s | copy "
            "GB/s | ratio |\n|---|---|---|---|---|---|---|---|\n";
  size_t inBytes = size_t(m * k) * 2;
  std::vector<uint16_t> host(m * k);
  std::normal_distribution<float> normal;
  for (uint16_t &h : host)
    h = floatToBF16(normal(rng));
  std::vector<CUdeviceptr> owned;
  auto alloc = [&](size_t bytes) -> Expected<CUdeviceptr> {
    auto p = d.alloc(bytes);
    if (p)
      owned.push_back(*p);
    return p;
  };
  auto release = [&]() -> Error {
    for (CUdeviceptr p : owned)
      if (Error e = d.free(p))
        return e;
    owned.clear();
    return Error::success();
  };
  auto input = alloc(inBytes);
  auto copy = alloc(inBytes);
  auto deviceSplits = alloc(splits.size() * sizeof(int64_t));
  for (Expected<CUdeviceptr> *p : {&input, &copy, &deviceSplits})
    if (!*p)
      return p->takeError();
  if (Error e = d.copyToDevice(*input, host.data(), inBytes))
    return e;
  if (Error e = d.copyToDevice(*deviceSplits, splits.data(),
                               splits.size() * sizeof(int64_t)))
    return e;
  auto copyMs = medianTime(
      d, iters, [&] { return d.copyDeviceToDevice(*copy, *input, inBytes); });
  if (!copyMs)
    return copyMs.takeError();
  double copyGBs = 2.0 * inBytes / (*copyMs * 1e-3) / 1e9;
  for (const std::string &text : recipes) {
    auto recipe = runner.parseRecipe(text);
    if (!recipe)
      return recipe.takeError();
    if (recipe->getColumnwise())
      continue; // grouped columnwise outputs need 16-row groups
    auto outputs = allocateOutputs(*recipe, m, k, groups);
    if (!outputs)
      return outputs.takeError();
    auto compiled = runner.compileGrouped(*recipe, ElementType::BF16, "bin");
    if (!compiled) {
      // A recipe without a grouped form gets a row saying why, not the end
      // of the run.
      outs() << "| `" << text << "` | " << groups << " | " << m << " | " << k
             << " | - | - | - | " << toString(compiled.takeError()) << " |\n";
      continue;
    }
    auto module = d.loadModule((*compiled)->image);
    if (!module)
      return module.takeError();
    std::vector<CUdeviceptr> buffers{*input, *deviceSplits};
    size_t outBytes = 0;
    const QuantizedOutput &o = *outputs->rowwise;
    for (size_t bytes : {o.data.size(), o.scale.size(), o.amax.size() * 4}) {
      auto ptr = alloc(bytes);
      if (!ptr)
        return ptr.takeError();
      buffers.push_back(*ptr);
      outBytes += bytes;
    }
    auto ms = medianTime(d, iters, [&] {
      return runner.launchGrouped(**compiled, **module, m, k, groups,
                                  *outputs, buffers);
    });
    if (!ms)
      return ms.takeError();
    double gbs = double(inBytes + outBytes) / (*ms * 1e-3) / 1e9;
    outs() << "| `" << text << "` | " << groups << " | " << m << " | " << k
           << " | " << format("%.1f", *ms * 1e3) << " | "
           << format("%.0f", gbs) << " | " << format("%.0f", copyGBs) << " | "
           << format("%.1f%%", 100.0 * gbs / copyGBs) << " |\n";
    // The outputs of this recipe: the last three buffers.
    for (int i = 0; i < 3; ++i) {
      if (Error e = d.free(owned.back()))
        return e;
      owned.pop_back();
    }
  }
  return release();
}

} // namespace bench
} // namespace nvfp4
