//===- Matmul.h - NVFP4 GEMMs through the runtime -----------------*- C++
//-*-===//
//
// The kernel module every runner compiles for `nvfp4.matmul` and
// `nvfp4.grouped_matmul`, the options of a GEMM, and the host checks that
// turn a bad shape into an error before any kernel runs. The host runner's
// entry points (HostRunner::matmul, HostRunner::matmulGrouped) are declared
// with the runner in HostRunner.h.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_RUNTIME_MATMUL_H
#define NVFP4_RUNTIME_MATMUL_H

#include "nvfp4/Runtime/HostRunner.h"

#include <optional>
#include <utility>
#include <vector>

namespace nvfp4 {

/// What a GEMM computes beyond A * B^T (SPEC.md section 12).
struct MatmulOptions {
  /// Multiplies the scaled product: RN(alpha * x), skipped when 1.
  float alpha = 1.0f;
  /// Added in FP32 after scaling, before the output cast: N values, or
  /// G x N (row-major) for the grouped form.
  std::optional<std::vector<float>> bias;
  /// Output dtype (RN cast).
  ElementType out = ElementType::BF16;
};

/// Ranks of the A and B amax buffers of a GEMM with these recipes: 1 for
/// per-tensor and per-row, 2 for windows; grouped B adds the group
/// dimension except for per-tensor B, which is always `(G)`.
std::pair<unsigned, unsigned> matmulAmaxRanks(mlir::nvfp4::RecipeAttr a,
                                              mlir::nvfp4::RecipeAttr b,
                                              bool grouped);

/// `func.func @kernel` holding one `nvfp4.matmul` (or `grouped_matmul`)
/// over dynamically shaped memrefs. Arguments, in op operand order:
///
///   [splits   memref<?xi64>]                       grouped only
///   a_data    memref<?x?xi8>                       M x K/2
///   a_scale   memref<?x?xf8E4M3FN>                 128x4: Rp x Cp
///   a_amax    memref<?xf32> | memref<?x?xf32>      rank aAmaxRank
///   b_data    memref<?x?xi8>        | <?x?x?xi8>   N x K/2 | G x N x K/2
///   b_scale   memref<?x?xf8E4M3FN>  | <?x?x?x..>   Np x Cp | G x Np x Cp
///   b_amax    memref of rank bAmaxRank
///   [bias     memref<?xf32> | memref<?x?xf32>]     N | G x N, with `bias`
///   output    memref<?x?xbf16|f16|f32>             M x N
///
/// `alpha` is a compile-time attribute; every runner compiles this module.
mlir::OwningOpRef<mlir::ModuleOp>
buildMatmulModule(mlir::MLIRContext &context, mlir::nvfp4::RecipeAttr a,
                  mlir::nvfp4::RecipeAttr b, ElementType out, bool bias,
                  bool grouped, unsigned aAmaxRank, unsigned bAmaxRank,
                  float alpha = 1.0f);

/// `func.func @kernel` holding one `nvfp4.matmul_w4a16` (W4A16: A in bf16
/// or f16 as given, B in NVFP4) over dynamically shaped memrefs, in op
/// operand order:
///
///   a         memref<?x?xbf16|f16>                 M x K
///   b_data    memref<?x?xi8>                       N x K/2
///   b_scale   memref<?x?xf8E4M3FN>                 128x4: Np x Cp
///   b_amax    memref of rank bAmaxRank             (1), (N) or (N, W)
///   [bias     memref<?xf32>]                       N, with `bias`
///   output    memref<?x?xbf16|f16|f32>             M x N
mlir::OwningOpRef<mlir::ModuleOp>
buildMatmulW4A16Module(mlir::MLIRContext &context, ElementType aType,
                       mlir::nvfp4::RecipeAttr b, ElementType out, bool bias,
                       unsigned bAmaxRank, float alpha = 1.0f);

/// Checks a W4A16 GEMM of an M x K matrix A of `aType` (bf16 or f16) and an
/// N x K rowwise quantization `b` with `bRecipe` (128x4 scales): A's type,
/// its shape (non-empty, K a multiple of 16 and B's K, within the buffer
/// bound), B's buffers and the bias. Returns an error naming the violated
/// constraint.
llvm::Error checkMatmulW4A16Operands(ElementType aType, int64_t m, int64_t k,
                                     mlir::nvfp4::RecipeAttr bRecipe,
                                     const QuantizedOutput &b,
                                     const MatmulOptions &options);

/// Checks A of a W4A16 GEMM: bf16 or f16, a non-empty M x K matrix within
/// the buffer bound, K a multiple of 16. The device entry points use it
/// with matmulOperandShape for B.
llvm::Error checkMatmulW4A16A(ElementType aType, int64_t m, int64_t k);

/// Checks that A (M x K) and B (N x K) can be multiplied: both rowwise
/// outputs with `128x4` scales, the same K (a multiple of 16), buffers of
/// the shapes their recipes imply, and a bias of N values. `groupedB` is
/// the number of B groups (A then comes from a grouped quantization with
/// `splits`). Returns an error naming the violated constraint.
llvm::Error checkMatmulOperands(mlir::nvfp4::RecipeAttr aRecipe,
                                const QuantizedOutput &a,
                                mlir::nvfp4::RecipeAttr bRecipe,
                                llvm::ArrayRef<QuantizedOutput> b,
                                const MatmulOptions &options,
                                std::optional<llvm::ArrayRef<int64_t>> splits);

/// The shapes (buffers left empty) of a GEMM operand: a rows x k rowwise
/// quantization with `recipe`, whose scales must use the 128x4 layout;
/// `groups` is set for the A of a grouped GEMM (a grouped quantization).
/// Errors name the operand (`name`) and the constraint. Every runner and
/// the device entry points size and check operands with it.
llvm::Expected<QuantizedOutput>
matmulOperandShape(llvm::StringRef name, mlir::nvfp4::RecipeAttr recipe,
                   int64_t rows, int64_t k,
                   std::optional<int64_t> groups = std::nullopt);

/// Bytes per element of an output type.
size_t elementSize(ElementType type);

} // namespace nvfp4

#endif // NVFP4_RUNTIME_MATMUL_H
