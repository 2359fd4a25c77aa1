//===- Bench.h - Shared pieces of the nvfp4-bench suites ---------*- C++ -*-===//

#ifndef NVFP4_TOOLS_NVFP4_BENCH_BENCH_H
#define NVFP4_TOOLS_NVFP4_BENCH_BENCH_H

#include "nvfp4/Runtime/Api.h"
#include "nvfp4/Runtime/CudaDriver.h"
#include "nvfp4/Support/FloatBits.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

namespace nvfp4 {
class GPURunner;
namespace bench {
/// The flags of nvfp4-bench (every other option is hidden from --help).
extern llvm::cl::OptionCategory benchCategory;

/// The median device time (ms, CUDA events) of `work` over `iters` runs,
/// after three warm-up runs.
inline llvm::Expected<float>
medianTime(CudaDevice &d, unsigned iters,
           llvm::function_ref<llvm::Error()> work) {
  std::vector<float> times;
  for (unsigned i = 0; i < iters + 3; ++i) {
    auto t = d.time(work);
    if (!t)
      return t.takeError();
    if (i >= 3)
      times.push_back(*t);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// Device buffers for the cases, freed with the object.
struct Buffers {
  std::shared_ptr<Device> dev;
  std::vector<DeviceBuffer> owned;
  llvm::Expected<CUdeviceptr> add(size_t bytes) {
    auto b = dev->allocate(bytes);
    if (!b)
      return b.takeError();
    owned.push_back(std::move(*b));
    return owned.back().ptr();
  }
  /// Buffers for the rowwise output of `recipe` on a rows x cols input.
  llvm::Expected<DeviceOutputs> outputs(llvm::StringRef recipe, int64_t rows,
                                  int64_t cols) {
    auto shapes = quantizeShapes(recipe, rows, cols);
    if (!shapes)
      return shapes.takeError();
    const QuantizedOutput &o = *shapes->rowwise;
    int64_t amax = 1;
    for (int64_t d : o.amaxShape)
      amax *= d;
    DeviceQuantized q;
    for (auto [slot, bytes] :
         {std::make_pair(&q.data, o.rows * (o.cols / 2)),
          std::make_pair(&q.scale, o.scaleShape[0] * o.scaleShape[1]),
          std::make_pair(&q.amax, amax * 4)}) {
      auto p = add(size_t(bytes));
      if (!p)
        return p.takeError();
      *slot = *p;
    }
    DeviceOutputs out;
    out.rowwise = q;
    return out;
  }
  /// A rows x cols bf16 matrix of normal values.
  llvm::Expected<CUdeviceptr> input(int64_t rows, int64_t cols) {
    std::mt19937 rng(unsigned(rows * 31 + cols));
    std::normal_distribution<float> normal;
    std::vector<uint16_t> host(rows * cols);
    for (uint16_t &h : host)
      h = floatToBF16(normal(rng));
    auto p = add(host.size() * 2);
    if (!p)
      return p.takeError();
    if (llvm::Error e = owned.back().copyFromHost(host.data(), host.size() * 2))
      return std::move(e);
    return *p;
  }
};

/// `--gemm-warp-specialized`: the GEMM suite's runner builds sm_90a's
/// warp-specialized large-M kernel (GPURunner::create).
bool gemmWarpSpecialized();

/// Checks the options of `--suite=gemm` (shapes, the MoE table), so that a
/// bad one is reported before anything needs a GPU.
llvm::Error checkGemmOptions();

/// `--suite=gemm` (GemmBench.cpp).
llvm::Error runGemmSuite(GPURunner &runner, CudaDevice &d, unsigned iters);

/// `--suite=calls` (CallBench.cpp): `calls` back-to-back calls per case.
llvm::Error runCallSuite(unsigned calls);

/// The grouped (MoE) table of `--suite=quantize` (GroupedQuantizeBench.cpp):
/// `groups` ragged groups of K = `k` columns for each rowwise recipe.
llvm::Error runGroupedQuantizeTable(GPURunner &runner, CudaDevice &d,
                                    llvm::ArrayRef<std::string> recipes,
                                    int64_t groups, int64_t k, unsigned iters);

/// `--suite=producers` (ProducerBench.cpp): producers fused into a
/// quantize against the pair run unfused and a device copy.
llvm::Error runProducerSuite(unsigned iters);

} // namespace bench
} // namespace nvfp4

#endif // NVFP4_TOOLS_NVFP4_BENCH_BENCH_H
