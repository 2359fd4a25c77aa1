//===- Pipelines.h - nvfp4 lowering pipelines --------------------*- C++ -*-===//
//
// The one place pass lists are built. nvfp4-opt, the tools and the runtime
// all call these builders; nothing else assembles a lowering pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_PIPELINES_PIPELINES_H
#define NVFP4_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir {
class OpPassManager;

namespace nvfp4 {

/// Options of `nvfp4-to-ptx`.
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc(
                         "Target architecture (sm_90a, sm_100a, sm_120a, ...: "
                         "nvfp4/Conversion/Chips.h)"),
      llvm::cl::init("sm_90a")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Serialization: isa (PTX text), bin (cubin), fatbin"),
      llvm::cl::init("isa")};
  PassOptions::Option<unsigned> optLevel{
      *this, "opt-level", llvm::cl::desc("LLVM optimization level for NVPTX"),
      llvm::cl::init(3)};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit path (ptxas) for bin and fatbin"),
      llvm::cl::init("/usr/local/cuda")};
  PassOptions::Option<bool> warpSpecializedGemm{
      *this, "warp-specialized-gemm",
      llvm::cl::desc("sm_90a large-M GEMM: the warp-specialized GemmPipeline "
                     "kernel (nvfp4-to-gpu's option of the same name)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> predecodedGemm{
      *this, "predecoded-gemm",
      llvm::cl::desc("sm_90a large-M GEMM: operands decoded once into a "
                     "16-bit workspace, then a 16-bit wgmma GEMM "
                     "(nvfp4-to-gpu's option of the same name)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> pdl{
      *this, "pdl",
      llvm::cl::desc("Programmatic dependent launch: griddepcontrol wait and "
                     "trigger in every kernel, on chips that have them (sm_90 "
                     "on; nvfp4-programmatic-dependent-launch)"),
      llvm::cl::init(true)};
};

/// nvfp4 ops on memrefs -> LLVM dialect for the host: `nvfp4-expand`, then
/// the upstream scf/arith/memref/func lowerings. Functions carrying
/// `llvm.emit_c_interface` get `_mlir_ciface_` wrappers for the
/// ExecutionEngine.
void buildCPUPipeline(OpPassManager &pm);

/// Stage 1 of `nvfp4-to-ptx`: nvfp4 ops -> GPU kernels (gpu.module with
/// `nvfp4.work`-annotated gpu.funcs, marked `nvfp4.pdl` where they wait on
/// their predecessor) and the host launches.
void buildGPUKernelStage(OpPassManager &pm, const GPUPipelineOptions &options);

/// Stage 2 of `nvfp4-to-ptx`: attach the NVVM target, lower the kernels to
/// NVVM/LLVM and serialize them (`gpu.binary`). The host code is left as is:
/// the runtime launches kernels through the driver API.
void buildGPUTargetStage(OpPassManager &pm, const GPUPipelineOptions &options);

/// Both stages.
void buildGPUPipeline(OpPassManager &pm, const GPUPipelineOptions &options);

/// Registers `nvfp4-to-cpu` and `nvfp4-to-ptx` with the pass registry.
void registerPipelines();

} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_PIPELINES_PIPELINES_H
