//===- ProgrammaticDependentLaunch.cpp - griddepcontrol in every kernel ---===//
//
// nvfp4-programmatic-dependent-launch (Passes.td): the wait and the trigger
// of programmatic dependent launch at the start of every kernel, and the
// `nvfp4.pdl` mark a runtime reads before launching a kernel that way.
//
// Why at the start rather than at each kernel's first global load: the
// invariant a launch sequence relies on is "no kernel touches memory or
// completes before its predecessor has completed", and the first op with
// memory effects in the entry block is the one point that dominates every
// access and every exit, whatever the kernel's emitter built. What runs
// before it (ids and index arithmetic) is what a later wait would have
// overlapped anyway; the large win, the next kernel's launch latency, comes
// from the trigger.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Conversion/Passes.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace nvfp4 {
#define GEN_PASS_DEF_NVFP4PROGRAMMATICDEPENDENTLAUNCH
#include "nvfp4/Conversion/Passes.h.inc"
} // namespace nvfp4
} // namespace mlir

#define DEBUG_TYPE "nvfp4-programmatic-dependent-launch"

using namespace mlir;
using namespace mlir::nvfp4;

namespace {
/// The first op of `block` that may touch memory (its regions included),
/// else its terminator: the wait placed before it precedes every memory
/// access and every exit of the kernel.
Operation *firstMemoryAccessOrExit(Block &block) {
  for (Operation &op : block.without_terminator())
    if (!isMemoryEffectFree(&op))
      return &op;
  return block.getTerminator();
}

struct NVFP4ProgrammaticDependentLaunchPass
    : nvfp4::impl::NVFP4ProgrammaticDependentLaunchBase<
          NVFP4ProgrammaticDependentLaunchPass> {
  void runOnOperation() override {
    gpu::GPUFuncOp func = getOperation();
    if (!func.isKernel() || func->hasAttr(kernel_attr::kPdl) ||
        func.getBody().empty())
      return;
    OpBuilder b(firstMemoryAccessOrExit(func.getBody().front()));
    Location loc = func.getLoc();
    NVVM::GriddepcontrolOp::create(b, loc, NVVM::GridDepActionKind::wait);
    NVVM::GriddepcontrolOp::create(b, loc,
                                   NVVM::GridDepActionKind::launch_dependents);
    func->setAttr(kernel_attr::kPdl, b.getUnitAttr());
  }
};
} // namespace
