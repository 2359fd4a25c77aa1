//===- QuantizedFolder.h - Files of an nvfp4-quantize OUTDIR -*- C++ -*-===//
//
// Part of the NVFP4 quantization compiler.
//
//===----------------------------------------------------------------------===//
//
// nvfp4-quantize writes one run's outputs into a folder; nvfp4-matmul (and
// any tool that takes such a folder) reads them back. The names live here so
// the writer and the readers agree.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_SUPPORT_QUANTIZEDFOLDER_H
#define NVFP4_SUPPORT_QUANTIZEDFOLDER_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace nvfp4 {

/// The canonical `#nvfp4.recipe<...>` text of the recipe the folder was
/// quantized with, so readers use the recipe the data was made with.
constexpr llvm::StringLiteral kRecipeFileName("recipe.mlir");

/// The most bytes a recipe file (--recipe=FILE.mlir, recipe.mlir) may hold.
constexpr uint64_t kMaxRecipeFileBytes = 64 * 1024;

/// Every file nvfp4-quantize may write into its OUTDIR. A run removes these
/// names (and no others) before writing, so the folder holds one run.
constexpr llvm::StringLiteral kQuantizeOutputNames[] = {
    "data.npy",    "scale.npy",  "amax.npy",      "dequant.npy",  "data_t.npy",
    "scale_t.npy", "amax_t.npy", "dequant_t.npy", kRecipeFileName};

} // namespace nvfp4

#endif // NVFP4_SUPPORT_QUANTIZEDFOLDER_H
