//===- Pipelines.cpp - nvfp4 lowering pipelines ---------------------------===//

#include "nvfp4/Pipelines/Pipelines.h"
#include "nvfp4/Conversion/Chips.h"
#include "nvfp4/Conversion/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void nvfp4::buildCPUPipeline(OpPassManager &pm) {
  // Producers fuse into the quantize they feed on every target alike.
  pm.addPass(createNVFP4FuseProducers());
  pm.addPass(createNVFP4Expand());
  // Loop-invariant scale math (per-tensor S_enc, layout strides) is hoisted
  // by canonicalization + CSE before the loops are flattened.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  pm.addPass(createSCFToControlFlowPass());
  // The GEMM loops sum in vector<16xf32> lanes (MatmulExpand.cpp).
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createNVFP4VerifyLLVM());
}

void nvfp4::buildGPUKernelStage(OpPassManager &pm,
                                const GPUPipelineOptions &options) {
  NVFP4ToGPUOptions toGPU;
  toGPU.chip = options.chip;
  toGPU.warpSpecializedGemm = options.warpSpecializedGemm;
  toGPU.predecodedGemm = options.predecodedGemm;
  pm.addPass(createNVFP4FuseProducers());
  pm.addPass(createNVFP4ToGPU(toGPU));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Last, so the wait precedes whatever memory access the cleanups left
  // first; the kernels' `nvfp4.pdl` marks are what the runtime reads after
  // this stage. An unknown chip is refused by nvfp4-to-gpu.
  std::optional<ChipInfo> chip = lookupChip(options.chip);
  if (options.pdl && chip && chip->gridDependencyControl)
    pm.nest<gpu::GPUModuleOp>().nest<gpu::GPUFuncOp>().addPass(
        createNVFP4ProgrammaticDependentLaunch());
}

void nvfp4::buildGPUTargetStage(OpPassManager &pm,
                                const GPUPipelineOptions &options) {
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  // PTX 8.8 (CUDA 12.9+): the default (6.0) cannot express sm_90a/sm_100a;
  // the chips PTX 8.8 does not name yet (sm_110*) get the version that
  // does. An unknown chip is refused by nvfp4-to-gpu before this runs.
  std::optional<ChipInfo> chip = lookupChip(options.chip);
  target.features =
      "+ptx" + std::to_string(std::max(88u, chip ? chip->ptx : 0u));
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createSCFToControlFlowPass());
  // TMA tensor maps are by-value grid-constant parameters, which
  // convert-gpu-to-nvvm cannot express on a gpu.func: their lowered
  // positions are recorded before it and the attributes set after it.
  kernels.nest<gpu::GPUFuncOp>().addPass(createNVFP4TensorMapParams());
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  kernels.nest<LLVM::LLVMFuncOp>().addPass(createNVFP4GridConstantParams());
  // NVVM ops without an LLVM intrinsic (wgmma.mma_async, ...) become
  // inline PTX.
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void nvfp4::buildGPUPipeline(OpPassManager &pm,
                             const GPUPipelineOptions &options) {
  buildGPUKernelStage(pm, options);
  buildGPUTargetStage(pm, options);
}

void nvfp4::registerPipelines() {
  PassPipelineRegistration<>(
      "nvfp4-to-cpu",
      "Lower nvfp4 ops to LLVM dialect host code (SPEC.md math in loops)",
      [](OpPassManager &pm) { buildCPUPipeline(pm); });
  PassPipelineRegistration<GPUPipelineOptions>(
      "nvfp4-to-ptx",
      "Lower nvfp4 ops to GPU kernels serialized for an NVIDIA target",
      [](OpPassManager &pm, const GPUPipelineOptions &options) {
        buildGPUPipeline(pm, options);
      });
}
