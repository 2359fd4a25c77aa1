//===- Pipelines.cpp - nvfp4 lowering pipelines ---------------------------===//

#include "nvfp4/Pipelines/Pipelines.h"
#include "nvfp4/Conversion/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void nvfp4::buildCPUPipeline(OpPassManager &pm) {
  pm.addPass(createNVFP4Expand());
  // Loop-invariant scale math (per-tensor S_enc, layout strides) is hoisted
  // by canonicalization + CSE before the loops are flattened.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void nvfp4::registerPipelines() {
  PassPipelineRegistration<>(
      "nvfp4-to-cpu",
      "Lower nvfp4 ops to LLVM dialect host code (SPEC.md math in loops)",
      [](OpPassManager &pm) { buildCPUPipeline(pm); });
}
