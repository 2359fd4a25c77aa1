//===- CompileBench.h - Compile-latency suite of nvfp4-bench ----*- C++ -*-===//

#ifndef NVFP4_TOOLS_NVFP4BENCH_COMPILEBENCH_H
#define NVFP4_TOOLS_NVFP4BENCH_COMPILEBENCH_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace nvfp4 {
/// `nvfp4-bench --suite=compile`: JIT latency of quantize kernels for
/// `target` (cold, in-memory hit, disk hit). Needs ptxas, not a GPU.
llvm::Error runCompileSuite(llvm::StringRef target,
                            llvm::ArrayRef<std::string> recipes,
                            unsigned iters);
} // namespace nvfp4

#endif // NVFP4_TOOLS_NVFP4BENCH_COMPILEBENCH_H
