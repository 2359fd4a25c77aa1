//===- TempDir.h - A scratch directory per test -----------------*- C++ -*-===//

#ifndef NVFP4_UNITTESTS_API_TEMPDIR_H
#define NVFP4_UNITTESTS_API_TEMPDIR_H

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"

#include "gtest/gtest.h"

#include <string>

namespace nvfp4 {
namespace testing {

/// A fresh directory, removed with its contents at the end of the test.
class TempDir {
public:
  TempDir() {
    llvm::SmallString<128> p;
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("nvfp4-api-test", p));
    path = std::string(p);
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string path;
};

} // namespace testing
} // namespace nvfp4

#endif // NVFP4_UNITTESTS_API_TEMPDIR_H
