//===- Pipelines.h - nvfp4 lowering pipelines --------------------*- C++ -*-===//
//
// The one place pass lists are built. nvfp4-opt, the tools and the runtime
// all call these builders; nothing else assembles a lowering pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_PIPELINES_PIPELINES_H
#define NVFP4_PIPELINES_PIPELINES_H

namespace mlir {
class OpPassManager;

namespace nvfp4 {

/// nvfp4 ops on memrefs -> LLVM dialect for the host: `nvfp4-expand`, then
/// the upstream scf/arith/memref/func lowerings. Functions carrying
/// `llvm.emit_c_interface` get `_mlir_ciface_` wrappers for the
/// ExecutionEngine.
void buildCPUPipeline(OpPassManager &pm);

/// Registers `nvfp4-to-cpu` with the pass registry.
void registerPipelines();

} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_PIPELINES_PIPELINES_H
