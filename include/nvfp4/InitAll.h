//===- InitAll.h - Register everything nvfp4 tools use ----------*- C++ -*-===//
//
// One place that registers the nvfp4 dialect, the upstream dialects and
// passes our pipelines use, the NVVM target interface and the LLVM IR
// translations. Without the last two, `gpu-module-to-binary` fails at run
// time rather than at link time, so every tool and the runtime call these.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_INITALL_H
#define NVFP4_INITALL_H

namespace mlir {
class DialectRegistry;
class MLIRContext;

namespace nvfp4 {

/// Adds the nvfp4 dialect and every upstream dialect our lowerings produce.
void registerAllDialects(DialectRegistry &registry);

/// Adds the external models our pipelines need: ConvertToLLVM interfaces,
/// the NVVM target attribute interface and the LLVM IR translations.
void registerAllExtensions(DialectRegistry &registry);

/// Registers the nvfp4 passes and pipelines and the upstream passes they
/// use, so `nvfp4-opt` can run each stage on its own.
void registerAllPasses();

/// Convenience for tools and the runtime: a context with all of the above
/// dialects and extensions loaded.
void loadAllDialects(MLIRContext &context);

} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_INITALL_H
