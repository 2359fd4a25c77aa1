//===- Errors.h - Runtime error values ---------------------------*- C++ -*-===//
//
// Every runtime failure is an llvm::Error carrying one line of text that
// names the problem; this is the one way the runtime makes them, and the
// one way it turns MLIR diagnostics into that line.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_LIB_RUNTIME_ERRORS_H
#define NVFP4_LIB_RUNTIME_ERRORS_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

namespace nvfp4 {
namespace detail {
inline llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Collects the error diagnostics of `ctx` into one line ("; "-separated)
/// while in scope: what a failed parse or pass pipeline reports.
struct DiagnosticCollector {
  explicit DiagnosticCollector(mlir::MLIRContext &ctx)
      : handler(&ctx, [this](mlir::Diagnostic &d) {
          if (d.getSeverity() == mlir::DiagnosticSeverity::Error) {
            if (!message.empty())
              message += "; ";
            message += d.str();
          }
          return mlir::success();
        }) {}
  std::string message;
  mlir::ScopedDiagnosticHandler handler;
};
} // namespace detail
} // namespace nvfp4

#endif // NVFP4_LIB_RUNTIME_ERRORS_H
