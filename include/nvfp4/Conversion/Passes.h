//===- Passes.h - nvfp4 conversion passes -----------------------*- C++ -*-===//

#ifndef NVFP4_CONVERSION_PASSES_H
#define NVFP4_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace NVVM {
class NVVMDialect;
} // namespace NVVM
namespace nvfp4 {

#define GEN_PASS_DECL
#include "nvfp4/Conversion/Passes.h.inc"

/// Adds the patterns that expand the nvfp4 ops (quantize, dequantize, matmul)
/// into SPEC.md math over scf loops (what `nvfp4-expand` applies).
void populateNVFP4ExpandPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "nvfp4/Conversion/Passes.h.inc"

} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_CONVERSION_PASSES_H
