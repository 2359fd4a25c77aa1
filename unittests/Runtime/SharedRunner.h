//===- SharedRunner.h - One host runner for all runtime tests ---*- C++ -*-===//
//
// Compiled kernels are cached per runner; sharing one across the test
// suites of this binary compiles each recipe once.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_UNITTESTS_RUNTIME_SHAREDRUNNER_H
#define NVFP4_UNITTESTS_RUNTIME_SHAREDRUNNER_H

#include "nvfp4/Runtime/HostRunner.h"

#include "gtest/gtest.h"

namespace nvfp4 {
namespace testing {

/// The process-wide runner; aborts the test binary if the host JIT cannot
/// be set up (nothing in this binary can run then).
inline HostRunner &sharedRunner() {
  static HostRunner *runner = [] {
    auto r = HostRunner::create();
    if (!r) {
      llvm::errs() << "cannot create the host runner: "
                   << llvm::toString(r.takeError()) << "\n";
      std::abort();
    }
    return std::move(*r).release();
  }();
  return *runner;
}

} // namespace testing
} // namespace nvfp4

#endif // NVFP4_UNITTESTS_RUNTIME_SHAREDRUNNER_H
