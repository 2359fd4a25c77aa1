//===- Runner.h - The host-memory runner interface --------------*- C++ -*-===//
//
// What every runner of matrices in host memory offers -- quantize, amax,
// dequantize and the three GEMMs -- and the values they exchange. Two
// implementations: HostRunner (JIT-compiled for the host CPU, the
// reference) and GPURunner (compiled to a cubin, inputs copied to the GPU
// and results back). A caller that takes a target name creates its runner
// with Runner::create and does not branch on the target again. Work on
// device pointers goes through Compiler, Device and Api.h instead.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_RUNTIME_RUNNER_H
#define NVFP4_RUNTIME_RUNNER_H

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace nvfp4 {

struct MatmulOptions;

/// Storage dtype of the values handed to a kernel.
enum class ElementType { F32, F16, BF16 };

/// The MLIR type of `t`'s elements (f32, f16, bf16).
mlir::Type elementTypeOf(mlir::MLIRContext *ctx, ElementType t);

/// One direction's quantized output, in host memory.
struct QuantizedOutput {
  int64_t rows = 0, cols = 0;               ///< of the quantized matrix
  std::vector<uint8_t> data;                ///< rows x cols/2
  llvm::SmallVector<int64_t, 2> scaleShape; ///< linear or padded Rp x Cp
  std::vector<uint8_t> scale;
  llvm::SmallVector<int64_t, 2> amaxShape; ///< (1), (rows) or (rows, W)
  std::vector<float> amax;
};

struct QuantizeResult {
  std::optional<QuantizedOutput> rowwise, columnwise;
};

/// The outer amaxes (or, with `amax = given_encode_scale`, encode scales)
/// given to a recipe whose outer scale is given: one value per outer group
/// of each direction the recipe produces, in the order and number of that
/// direction's amax output.
struct GivenAmax {
  llvm::ArrayRef<float> rowwise, columnwise;
  bool empty() const { return rowwise.empty() && columnwise.empty(); }
};

/// Checks `given` against `recipe` and the amax shapes of `outputs` and
/// copies it into their amax buffers, which the kernels then read: a recipe
/// with a given outer scale needs exactly one value per outer group of each
/// direction; a recipe that computes its amax takes none.
llvm::Error applyGivenAmax(mlir::nvfp4::RecipeAttr recipe,
                           QuantizeResult &outputs, const GivenAmax &given);

/// Checks a quantization's shapes (SPEC.md section 13) and allocates its
/// zeroed outputs: every runner's outputs have these shapes. `groups` is set
/// for the grouped form.
llvm::Expected<QuantizeResult>
allocateOutputs(mlir::nvfp4::RecipeAttr recipe, int64_t rows, int64_t cols,
                std::optional<int64_t> groups = std::nullopt);

/// The same checks and shapes as allocateOutputs with every buffer left
/// empty: for callers that bring their own (device) memory.
llvm::Expected<QuantizeResult>
describeOutputs(mlir::nvfp4::RecipeAttr recipe, int64_t rows, int64_t cols,
                std::optional<int64_t> groups = std::nullopt);

/// Checks the group sizes of a grouped quantization of `rows` rows: at
/// least one group, none negative, multiples of 16 for a columnwise output,
/// adding up to `rows`. Every runner applies it.
llvm::Error checkGroupSplits(mlir::nvfp4::RecipeAttr recipe, int64_t rows,
                             llvm::ArrayRef<int64_t> splits);

/// Checks that `q` is a quantized matrix of `recipe`'s shapes (quantized
/// dimension a multiple of 16, buffers of the implied sizes) before a
/// runner dequantizes it.
llvm::Error checkDequantizeInput(mlir::nvfp4::RecipeAttr recipe,
                                 const QuantizedOutput &q);

/// Parses `text` as a recipe: a preset name, the inside of
/// `#nvfp4.recipe<...>`, or the full attribute. Verifier messages come back
/// as the error.
llvm::Expected<mlir::nvfp4::RecipeAttr> parseRecipe(mlir::MLIRContext &context,
                                                    llvm::StringRef text);

/// `func.func @kernel` holding one `nvfp4.quantize` (or grouped) op over
/// dynamically shaped memrefs in operand order: input, [splits], then data,
/// scale and amax per direction; `amaxRanks` has one entry per direction
/// present. Every runner compiles this module.
mlir::OwningOpRef<mlir::ModuleOp>
buildQuantizeModule(mlir::MLIRContext &context, mlir::nvfp4::RecipeAttr recipe,
                    ElementType type, bool grouped,
                    llvm::ArrayRef<unsigned> amaxRanks);

/// `func.func @kernel` holding one `nvfp4.amax` op: input, then the amax of
/// each direction present (`amaxRanks`, one entry per direction).
mlir::OwningOpRef<mlir::ModuleOp>
buildAmaxModule(mlir::MLIRContext &context, mlir::nvfp4::RecipeAttr recipe,
                ElementType type, llvm::ArrayRef<unsigned> amaxRanks);

/// `func.func @kernel` holding one `nvfp4.dequantize` op: data, scale, amax
/// (of rank `amaxRank`), then the `output` matrix.
mlir::OwningOpRef<mlir::ModuleOp>
buildDequantizeModule(mlir::MLIRContext &context,
                      mlir::nvfp4::RecipeAttr recipe, ElementType output,
                      unsigned amaxRank);

/// The outputs of `nvfp4.amax` for a rows x cols input: those of
/// describeOutputs with the amax buffers allocated (zeroed) and data and
/// scale left empty.
llvm::Expected<QuantizeResult>
allocateAmaxOutputs(mlir::nvfp4::RecipeAttr recipe, int64_t rows, int64_t cols);

/// Quantizes, dequantizes and multiplies matrices in host memory on one
/// target. Thread-safe. Every implementation takes the same arguments,
/// applies the same checks (errors name the violated constraint) and
/// returns the same bytes for the same inputs; recipes must come from the
/// runner's own context (parseRecipe).
class Runner {
public:
  /// The runner of `target`: "cpu" (HostRunner), "sm_90a" or "sm_100a"
  /// (GPURunner, ptxas from `toolkit`), or "auto": the GPU target of
  /// device 0 when there is one the compiler supports, else "cpu". An
  /// unknown target is an error. Creating a GPU runner needs no GPU.
  static llvm::Expected<std::unique_ptr<Runner>>
  create(llvm::StringRef target, llvm::StringRef toolkit = "/usr/local/cuda");
  virtual ~Runner();

  /// "cpu" or the GPU architecture the runner compiles for.
  virtual llvm::StringRef target() const = 0;

  virtual mlir::MLIRContext &getContext() = 0;

  /// Parses `text` as a recipe in getContext(): a preset name, the inside
  /// of `#nvfp4.recipe<...>`, or the full attribute. Verifier messages come
  /// back as the error.
  virtual llvm::Expected<mlir::nvfp4::RecipeAttr>
  parseRecipe(llvm::StringRef text) = 0;

  /// Quantizes the row-major `rows x cols` matrix at `input` (elements of
  /// `type`) with `recipe`. Shape errors (SPEC.md section 13) are returned.
  /// A recipe with a given outer scale reads `given` (applyGivenAmax).
  virtual llvm::Expected<QuantizeResult>
  quantize(mlir::nvfp4::RecipeAttr recipe, ElementType type, const void *input,
           int64_t rows, int64_t cols, const GivenAmax &given = {}) = 0;

  /// The grouped (MoE) form: `splits[g]` consecutive rows form group g,
  /// each quantized as its own tensor (`nvfp4.grouped_quantize`). The splits
  /// must be non-negative and add up to `rows` (and be multiples of 16 for
  /// a columnwise output); violations come back as errors.
  virtual llvm::Expected<QuantizeResult>
  quantizeGrouped(mlir::nvfp4::RecipeAttr recipe, ElementType type,
                  const void *input, int64_t rows, int64_t cols,
                  llvm::ArrayRef<int64_t> splits,
                  const GivenAmax &given = {}) = 0;

  /// The outer amaxes `quantize` would compute (`nvfp4.amax`), and nothing
  /// else: each direction's `amax` is set, its data and scale are empty. A
  /// framework reduces them and passes them to a recipe with
  /// `amax = given`.
  virtual llvm::Expected<QuantizeResult> amax(mlir::nvfp4::RecipeAttr recipe,
                                              ElementType type,
                                              const void *input, int64_t rows,
                                              int64_t cols) = 0;

  /// Dequantizes one direction's output to f32 (SPEC.md section 11).
  virtual llvm::Expected<std::vector<float>>
  dequantize(mlir::nvfp4::RecipeAttr recipe, const QuantizedOutput &q) = 0;

  /// D = A * B^T (`nvfp4.matmul`, SPEC.md section 12) of two rowwise
  /// outputs quantized along K with `128x4` scales: A is M x K, B is N x K.
  /// Returns the row-major M x N output as bytes of `options.out`. Shape,
  /// layout and bias errors come back as errors naming the constraint.
  virtual llvm::Expected<std::vector<uint8_t>>
  matmul(mlir::nvfp4::RecipeAttr aRecipe, const QuantizedOutput &a,
         mlir::nvfp4::RecipeAttr bRecipe, const QuantizedOutput &b,
         const MatmulOptions &options) = 0;

  /// The grouped (MoE) form (`nvfp4.grouped_matmul`): `splits[g]`
  /// consecutive rows of A (from quantizeGrouped) times `b[g]` (N x K each,
  /// all quantized with `bRecipe`); zero-size groups are legal. A bias is
  /// G x N, row-major.
  virtual llvm::Expected<std::vector<uint8_t>>
  matmulGrouped(mlir::nvfp4::RecipeAttr aRecipe, const QuantizedOutput &a,
                llvm::ArrayRef<int64_t> splits, mlir::nvfp4::RecipeAttr bRecipe,
                llvm::ArrayRef<QuantizedOutput> b,
                const MatmulOptions &options) = 0;

  /// W4A16 (`nvfp4.matmul_w4a16`): the row-major M x K matrix at `a`
  /// (bf16 or f16, used as given) times B, an N x K rowwise quantization
  /// with `bRecipe` (128x4 scales, any outer group). Returns the M x N
  /// output as bytes of `options.out`; errors name the constraint.
  virtual llvm::Expected<std::vector<uint8_t>>
  matmulW4A16(ElementType aType, const void *a, int64_t m, int64_t k,
              mlir::nvfp4::RecipeAttr bRecipe, const QuantizedOutput &b,
              const MatmulOptions &options) = 0;
};

} // namespace nvfp4

#endif // NVFP4_RUNTIME_RUNNER_H
