//===- Errors.h - Runtime error values ---------------------------*- C++ -*-===//
//
// Every runtime failure is an llvm::Error carrying one line of text that
// names the problem; this is the one way the runtime makes them.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_LIB_RUNTIME_ERRORS_H
#define NVFP4_LIB_RUNTIME_ERRORS_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

namespace nvfp4 {
namespace detail {
inline llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}
} // namespace detail
} // namespace nvfp4

#endif // NVFP4_LIB_RUNTIME_ERRORS_H
