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
#include <string>
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

//===----------------------------------------------------------------------===//
// Producers (SPEC.md section 15)
//===----------------------------------------------------------------------===//

/// The producer ops: `nvfp4.rms_norm` and `nvfp4.gated_act`, alone or fused
/// into the quantize of their result.
enum class ProducerKind { RMSNorm, GatedAct };

/// Everything about a producer that changes its kernels (and so is part of
/// every cache key); matrix sizes are not.
struct ProducerSpec {
  ProducerKind kind = ProducerKind::RMSNorm;
  /// RMSNorm: eps (finite and > 0) and whether a residual is added (and
  /// overwritten with h).
  float eps = 0.0f;
  bool residual = false;
  /// Gated activation: the activation of the gate half.
  mlir::nvfp4::GatedActivation act = mlir::nvfp4::GatedActivation::SiLU;
  /// Fused form: whether the producer's result y is written too (the
  /// producer alone always writes it).
  bool y = false;

  bool isRMSNorm() const { return kind == ProducerKind::RMSNorm; }
  /// Columns of the producer's result for an input of `cols` columns (a
  /// gated activation halves them).
  int64_t resultCols(int64_t cols) const {
    return isRMSNorm() ? cols : cols / 2;
  }
  /// The text of the spec in cache keys, e.g. `rms_norm eps 0x358637bd
  /// residual 1 y 0` (eps by its bits) or `gated_act silu y 1`.
  std::string key() const;
};

/// One value operand of a producer op before its quantize outputs.
struct ProducerOperand {
  enum Role { Input, Weight, Residual, Rstd, Y } role;
  /// rows x cols (input, residual), cols (weight), rows (rstd), rows x
  /// result cols (y).
  llvm::SmallVector<int64_t, 2> shape;
  /// rstd is f32; every other operand has the storage type.
  bool isF32() const { return role == Rstd; }
};

/// The producer operands of the op for `spec` (`fused`: the
/// `*_quantize` form) over a rows x cols input, in the op's operand order
/// (the ODS `arguments` order, optional operands absent when not given):
///   rms_norm:           input, weight, [residual], y, rstd
///   rms_norm_quantize:  input, weight, [residual], rstd, [y]
///   gated_act:          input, y
///   gated_act_quantize: input, [y]
/// A fused op's quantize outputs (data, scale, amax per direction) follow.
/// Kernel modules, host calls, device staging and launches all follow it.
llvm::SmallVector<ProducerOperand, 5>
producerOperands(const ProducerSpec &spec, bool fused, int64_t rows,
                 int64_t cols);

/// Checks a producer's arguments before anything runs: a non-empty input
/// within the buffer bound, eps finite and > 0 (RMSNorm), an even number
/// of columns (a gated activation's gate and up halves) and, with
/// `gpuRowBound`, RMSNorm rows of at most kMaxRMSNormCols values (the GPU
/// kernels' bound). Errors name the constraint.
llvm::Error checkProducer(const ProducerSpec &spec, int64_t rows, int64_t cols,
                          bool gpuRowBound);

/// What a producer writes besides a quantization, in host memory.
struct ProducerResult {
  /// rows x result cols values of the storage type; empty when a fused
  /// call did not ask for y.
  std::vector<uint8_t> y;
  /// RMSNorm: 1/rms of each row (SPEC.md's `inv`); empty otherwise.
  std::vector<float> rstd;
  /// RMSNorm with a residual: h = RN_s(x + r), the new residual (rows x
  /// cols values of the storage type); empty otherwise. The caller's
  /// residual buffer is never modified.
  std::vector<uint8_t> residual;
};

/// A fused producer and quantize: the quantization of the producer's
/// result (the bytes `quantize` gives for y) and the producer's outputs.
struct ProducerQuantizeResult {
  QuantizeResult quantized;
  ProducerResult producer;
};

/// One producer call on host memory, checked (Runner's producer entry
/// points build it): what a runner's runProducer receives.
struct ProducerCall {
  ProducerSpec spec;
  ElementType type = ElementType::F32;
  const void *x = nullptr, *weight = nullptr, *residual = nullptr;
  int64_t rows = 0, cols = 0; ///< of the input
  /// The recipe of a fused call (null: the producer alone).
  mlir::nvfp4::RecipeAttr recipe;

  bool fused() const { return bool(recipe); }
  /// A host buffer of one producer operand: `in` is read by the kernels,
  /// `out` receives what they write (both set for the residual, which is
  /// read and overwritten).
  struct Buffer {
    const void *in;
    void *out;
    size_t bytes;
    llvm::SmallVector<int64_t, 2> shape;
  };
  /// The producer outputs of this call, allocated (the residual holds a
  /// copy of the caller's, which the kernels overwrite with h), and the
  /// buffers of every producer operand over `x`, `weight` and `result` in
  /// producerOperands order.
  llvm::SmallVector<Buffer, 5> allocate(ProducerResult &result) const;
};

/// `func.func @kernel` holding one producer op (`recipe` null:
/// `nvfp4.rms_norm` or `nvfp4.gated_act`; else the `*_quantize` form with
/// `recipe`) over dynamically shaped memrefs in the op's operand order
/// (producerOperands, then data, scale and amax per direction;
/// `amaxRanks` has one entry per direction present). Every runner
/// compiles this module.
mlir::OwningOpRef<mlir::ModuleOp>
buildProducerModule(mlir::MLIRContext &context, const ProducerSpec &spec,
                    ElementType type, mlir::nvfp4::RecipeAttr recipe,
                    llvm::ArrayRef<unsigned> amaxRanks);

/// The amax ranks of each direction `outputs` has, in order.
llvm::SmallVector<unsigned, 2> amaxRanksOf(const QuantizeResult &outputs);

/// The GPU targets a runtime compiles for: the arch-specific targets of
/// the chips it can launch on (compute capability 9.0 and the Blackwell
/// families). nvfp4-to-ptx accepts more chips (Chips.h); a runtime sticks
/// to these, which name the devices it maps to them.
llvm::ArrayRef<llvm::StringRef> gpuTargets();

/// The GPU target of a device of compute capability `cc` (90 for 9.0):
/// `sm_<cc>a` when it is one of gpuTargets(), else an error naming
/// `device` and the supported targets.
llvm::Expected<std::string> gpuTargetFor(int cc, llvm::StringRef device);

/// Checks that `target` is "cpu" or one of gpuTargets(); `alsoAuto` admits
/// "auto" too. The error lists what is expected.
llvm::Error checkTarget(llvm::StringRef target, bool alsoAuto);

/// Quantizes, dequantizes and multiplies matrices in host memory on one
/// target. Thread-safe. Every implementation takes the same arguments,
/// applies the same checks (errors name the violated constraint) and
/// returns the same bytes for the same inputs; recipes must come from the
/// runner's own context (parseRecipe).
class Runner {
public:
  /// The runner of `target`: "cpu" (HostRunner), one of gpuTargets()
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

  /// RMSNorm fused into the quantize of its result
  /// (`nvfp4.rms_norm_quantize`, SPEC.md section 15): the rows x cols
  /// matrix at `x` (elements of `type`), `weight` (cols values of `type`)
  /// and, unless null, `residual` (rows x cols, added first; the new
  /// residual comes back in the result, the caller's buffer is not
  /// modified). The quantization equals `quantize` of the producer's y
  /// byte for byte; y itself is returned when `wantY`. Errors (eps, shapes,
  /// the recipe's multiples of 16 on the normalized matrix, given amaxes)
  /// come back before anything runs.
  llvm::Expected<ProducerQuantizeResult>
  rmsNormQuantize(mlir::nvfp4::RecipeAttr recipe, ElementType type,
                  const void *x, const void *weight, const void *residual,
                  float eps, int64_t rows, int64_t cols, bool wantY,
                  const GivenAmax &given = {});

  /// A gated activation fused into the quantize of its result
  /// (`nvfp4.gated_act_quantize`): `x` is rows x cols with cols = 2N (gate
  /// then up halves); the rows x N result is quantized (and returned when
  /// `wantY`).
  llvm::Expected<ProducerQuantizeResult>
  gatedActQuantize(mlir::nvfp4::RecipeAttr recipe, ElementType type,
                   mlir::nvfp4::GatedActivation act, const void *x,
                   int64_t rows, int64_t cols, bool wantY,
                   const GivenAmax &given = {});

  /// `nvfp4.rms_norm` alone: y, rstd and (with a residual) the new
  /// residual. Any number of columns.
  llvm::Expected<ProducerResult> rmsNorm(ElementType type, const void *x,
                                         const void *weight,
                                         const void *residual, float eps,
                                         int64_t rows, int64_t cols);

  /// `nvfp4.gated_act` alone: y (rows x cols/2).
  llvm::Expected<ProducerResult> gatedAct(ElementType type,
                                          mlir::nvfp4::GatedActivation act,
                                          const void *x, int64_t rows,
                                          int64_t cols);

protected:
  /// Runs a checked producer call: the producer alone (`outputs` null), or
  /// fused into the quantization into `outputs` (allocateOutputs on the
  /// producer's result, given amaxes applied).
  virtual llvm::Expected<ProducerResult>
  runProducer(const ProducerCall &call, QuantizeResult *outputs) = 0;

private:
  llvm::Expected<ProducerQuantizeResult>
  producerQuantize(const ProducerCall &call, const GivenAmax &given);
  llvm::Expected<ProducerResult> producerAlone(const ProducerCall &call);
};

} // namespace nvfp4

#endif // NVFP4_RUNTIME_RUNNER_H
