//===- Bench.h - Shared pieces of the nvfp4-bench suites ---------*- C++ -*-===//

#ifndef NVFP4_TOOLS_NVFP4_BENCH_BENCH_H
#define NVFP4_TOOLS_NVFP4_BENCH_BENCH_H

#include "nvfp4/Runtime/CudaDriver.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <algorithm>
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

/// Checks the options of `--suite=gemm` (shapes, the MoE table), so that a
/// bad one is reported before anything needs a GPU.
llvm::Error checkGemmOptions();

/// `--suite=gemm` (GemmBench.cpp).
llvm::Error runGemmSuite(GPURunner &runner, CudaDevice &d, unsigned iters);

/// `--suite=calls` (CallBench.cpp): `calls` back-to-back calls per case.
llvm::Error runCallSuite(unsigned calls);

} // namespace bench
} // namespace nvfp4

#endif // NVFP4_TOOLS_NVFP4_BENCH_BENCH_H
