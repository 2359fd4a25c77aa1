//===- NVFP4VerifyLLVM.cpp - The CPU pipeline's output contract -----------===//
//
// `nvfp4-verify-llvm`: fails unless every op under the module is an LLVM
// dialect op, so a conversion that reported an error but left its op in
// place cannot end in a half-lowered module and a successful exit.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Conversion/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir {
namespace nvfp4 {
#define GEN_PASS_DEF_NVFP4VERIFYLLVM
#include "nvfp4/Conversion/Passes.h.inc"
} // namespace nvfp4
} // namespace mlir

using namespace mlir;

namespace {
struct NVFP4VerifyLLVM : nvfp4::impl::NVFP4VerifyLLVMBase<NVFP4VerifyLLVM> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool lowered = true;
    module.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (op == module.getOperation() ||
          isa<LLVM::LLVMDialect>(op->getDialect()))
        return WalkResult::advance();
      op->emitOpError() << "was not lowered to the LLVM dialect";
      lowered = false;
      // Its body is not lowered either; one error per unlowered region.
      return WalkResult::skip();
    });
    if (!lowered)
      signalPassFailure();
  }
};
} // namespace
