//===- MatmulExpand.h - nvfp4 GEMMs to scf loops ------------------*- C++
//-*-===//
//
// The GEMM half of nvfp4-expand, kept apart from the quantization patterns.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_LIB_CONVERSION_NVFP4TOLOOPS_MATMULEXPAND_H
#define NVFP4_LIB_CONVERSION_NVFP4TOLOOPS_MATMULEXPAND_H

#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace nvfp4 {
namespace detail {
/// Adds the patterns that expand `nvfp4.matmul` and `nvfp4.grouped_matmul`
/// into decode-on-load FP32 loops (SPEC.md section 12).
void populateMatmulExpandPatterns(RewritePatternSet &patterns);
} // namespace detail
} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_LIB_CONVERSION_NVFP4TOLOOPS_MATMULEXPAND_H
