//===- Api.h - quantize / dequantize in one call ----------------*- C++ -*-===//
//
// The convenience layer: recipes given as text, compiled on first use by the
// process-wide Compiler of the target (Compiler::shared) and cached there,
// on disk too for GPU targets.
//
// Thread safety: all functions may be called concurrently. Compilation is
// serialized per target by the Compiler's mutex; device launches by the
// Device's mutex; host runs by the HostRunner's mutex. Work on different
// streams is ordered only by those streams.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_RUNTIME_API_H
#define NVFP4_RUNTIME_API_H

#include "nvfp4/Runtime/Device.h"
#include "nvfp4/Runtime/Matmul.h"

namespace nvfp4 {

/// One direction's buffers in device memory.
struct DeviceQuantized {
  CUdeviceptr data = 0;  ///< rows x cols/2 bytes
  CUdeviceptr scale = 0; ///< scaleShape bytes
  CUdeviceptr amax = 0;  ///< amaxShape floats
};

/// Device outputs of a quantization: one entry per direction the recipe
/// produces.
struct DeviceOutputs {
  std::optional<DeviceQuantized> rowwise, columnwise;
};

/// The shapes of `recipe`'s outputs for a rows x cols input (buffers
/// empty), or the shape error: what to allocate before quantize().
llvm::Expected<QuantizeResult> quantizeShapes(llvm::StringRef recipe,
                                              int64_t rows, int64_t cols);

/// Quantizes the row-major rows x cols matrix at device address `input`
/// into `outputs`, enqueued on `stream` (not synchronized). The kernel is
/// compiled for the stream's device on first use. With `amax = given` (or
/// `given_encode_scale`) in the recipe the `amax` buffers are inputs: they
/// hold the amaxes (encode scales) when the kernels run, which read them
/// and leave them unchanged, and the input is read once.
llvm::Error quantize(Stream &stream, llvm::StringRef recipe, ElementType type,
                     CUdeviceptr input, int64_t rows, int64_t cols,
                     const DeviceOutputs &outputs);

/// The outer amaxes of quantizing the rows x cols matrix at `input` with
/// `recipe` (`nvfp4.amax`), and nothing else, into `amax` (rowwise) and
/// `amaxT` (columnwise; 0 for a direction the recipe lacks), shaped as
/// describeOutputs says, enqueued on `stream`. A framework reduces them
/// (across ranks, over steps) and quantizes with `amax = given`.
llvm::Error amax(Stream &stream, llvm::StringRef recipe, ElementType type,
                 CUdeviceptr input, int64_t rows, int64_t cols,
                 CUdeviceptr amax, CUdeviceptr amaxT);

/// Dequantizes the quantized rows x cols matrix (`input`'s buffers) into
/// the f32 row-major `output`, enqueued on `stream`.
llvm::Error dequantize(Stream &stream, llvm::StringRef recipe,
                       const DeviceQuantized &input, int64_t rows,
                       int64_t cols, CUdeviceptr output);

/// The grouped (MoE) form (`nvfp4.grouped_quantize`): `splits` holds
/// `groups` int64 row counts in device memory (read by the kernels, never
/// by the host: non-negative, adding up to `rows`, multiples of 16 for a
/// columnwise output); each group is quantized as its own tensor. Outputs
/// are shaped as describeOutputs with `groups` says.
llvm::Error groupedQuantize(Stream &stream, llvm::StringRef recipe,
                            ElementType type, CUdeviceptr input, int64_t rows,
                            int64_t cols, CUdeviceptr splits, int64_t groups,
                            const DeviceOutputs &outputs);

/// RMSNorm fused into the quantize of its result
/// (`nvfp4.rms_norm_quantize`, SPEC.md section 15) on device memory,
/// enqueued on `stream` like quantize(): `x` is rows x cols values of
/// `type`, `weight` cols values; `residual` (0: none) is rows x cols, added
/// to x first and overwritten in place with h; `rstd` receives rows f32
/// values (1/rms); `y` (0: not wanted) the rows x cols normalized matrix.
/// `outputs` are shaped as describeOutputs says for a rows x cols matrix
/// (quantizeShapes). Value buffers must be aligned to 16 elements, rstd to
/// 4 bytes. Every check (eps finite and > 0, rows of at most
/// kMaxRMSNormCols values, the recipe's shapes, buffers) comes before
/// anything is enqueued.
llvm::Error rmsNormQuantize(Stream &stream, llvm::StringRef recipe,
                            ElementType type, CUdeviceptr x,
                            CUdeviceptr weight, CUdeviceptr residual,
                            float eps, int64_t rows, int64_t cols,
                            CUdeviceptr rstd, CUdeviceptr y,
                            const DeviceOutputs &outputs);

/// A gated activation fused into the quantize of its result
/// (`nvfp4.gated_act_quantize`): `x` is rows x cols with cols = 2N (gate
/// then up halves); the rows x N result is quantized into `outputs`
/// (shaped for a rows x N matrix) and written to `y` unless it is 0.
llvm::Error gatedActQuantize(Stream &stream, llvm::StringRef recipe,
                             ElementType type,
                             mlir::nvfp4::GatedActivation act, CUdeviceptr x,
                             int64_t rows, int64_t cols, CUdeviceptr y,
                             const DeviceOutputs &outputs);

/// `nvfp4.rms_norm` alone on device memory: y (rows x cols) and rstd,
/// with the residual (0: none) overwritten with h. Any number of columns.
llvm::Error rmsNorm(Stream &stream, ElementType type, CUdeviceptr x,
                    CUdeviceptr weight, CUdeviceptr residual, float eps,
                    int64_t rows, int64_t cols, CUdeviceptr y,
                    CUdeviceptr rstd);

/// `nvfp4.gated_act` alone on device memory: y is rows x cols/2.
llvm::Error gatedAct(Stream &stream, ElementType type,
                     mlir::nvfp4::GatedActivation act, CUdeviceptr x,
                     int64_t rows, int64_t cols, CUdeviceptr y);

/// What a device GEMM computes beyond A * B^T (SPEC.md section 12).
struct DeviceMatmulOptions {
  /// Multiplies the scaled product: RN(alpha * x), skipped when 1.
  float alpha = 1.0f;
  /// N f32 values in device memory (G x N for the grouped form) added after
  /// scaling; 0 for none.
  CUdeviceptr bias = 0;
  /// Output dtype (RN cast).
  ElementType out = ElementType::BF16;
};

/// D = A * B^T (`nvfp4.matmul`) on device memory, enqueued on `stream`:
/// no allocation, no copy, no synchronization, so it may be captured in a
/// CUDA graph. `a` holds the buffers of an M x K rowwise quantization with
/// `aRecipe`, `b` of an N x K one with `bRecipe` (both `sf_layout =
/// 128x4`); `output` receives the row-major M x N result of
/// `options.out`. Recipe, shape and alignment errors name the constraint
/// and are returned before anything is enqueued.
llvm::Error matmul(Stream &stream, llvm::StringRef aRecipe,
                   const DeviceQuantized &a, int64_t m,
                   llvm::StringRef bRecipe, const DeviceQuantized &b,
                   int64_t n, int64_t k, const DeviceMatmulOptions &options,
                   CUdeviceptr output);

/// W4A16 (`nvfp4.matmul_w4a16`) on device memory, enqueued on `stream`
/// like the NVFP4 x NVFP4 form: `a` is the row-major M x K matrix of
/// `aType` (bf16 or f16, used as given, 16-byte aligned), `b` the buffers
/// of an N x K rowwise quantization with `bRecipe` (128x4 scales, any
/// outer group). Errors name the constraint and come before anything is
/// enqueued.
llvm::Error matmul(Stream &stream, ElementType aType, CUdeviceptr a,
                   int64_t m, llvm::StringRef bRecipe,
                   const DeviceQuantized &b, int64_t n, int64_t k,
                   const DeviceMatmulOptions &options, CUdeviceptr output);

/// The grouped (MoE) GEMM (`nvfp4.grouped_matmul`) on device memory: the
/// M rows of `a` (a groupedQuantize output) fall into `groups` groups whose
/// int64 sizes `splits` holds in device memory (read by the kernel only;
/// empty groups are legal); group g multiplies its rows by B[g]. `b` holds
/// G stacked N x K quantizations with `bRecipe`: data G x N x K/2, scales
/// G x Np x Cp, amaxes (G) per tensor, G x N per row, G x N x K/64 per
/// window (a groupedQuantize of the G*N x K matrix with splits of N each
/// writes exactly this). The bias, if any, is G x N.
llvm::Error groupedMatmul(Stream &stream, llvm::StringRef aRecipe,
                          const DeviceQuantized &a, int64_t m,
                          CUdeviceptr splits, int64_t groups,
                          llvm::StringRef bRecipe, const DeviceQuantized &b,
                          int64_t n, int64_t k,
                          const DeviceMatmulOptions &options,
                          CUdeviceptr output);

/// The same on host memory with the cpu target; a recipe with a given
/// outer scale reads `given` (applyGivenAmax).
llvm::Expected<QuantizeResult> quantize(llvm::StringRef recipe,
                                        ElementType type, const void *input,
                                        int64_t rows, int64_t cols,
                                        const GivenAmax &given = {});
llvm::Expected<std::vector<float>> dequantize(llvm::StringRef recipe,
                                              const QuantizedOutput &input);
/// amax() on host memory with the cpu target: each direction's `amax` set,
/// data and scale empty.
llvm::Expected<QuantizeResult> amax(llvm::StringRef recipe, ElementType type,
                                    const void *input, int64_t rows,
                                    int64_t cols);

/// The producers on host memory with the cpu target (Runner's forms: the
/// caller's residual is not modified, the new one comes back in the
/// result).
llvm::Expected<ProducerQuantizeResult>
rmsNormQuantize(llvm::StringRef recipe, ElementType type, const void *x,
                const void *weight, const void *residual, float eps,
                int64_t rows, int64_t cols, bool wantY,
                const GivenAmax &given = {});
llvm::Expected<ProducerQuantizeResult>
gatedActQuantize(llvm::StringRef recipe, ElementType type,
                 mlir::nvfp4::GatedActivation act, const void *x,
                 int64_t rows, int64_t cols, bool wantY,
                 const GivenAmax &given = {});
llvm::Expected<ProducerResult> rmsNorm(ElementType type, const void *x,
                                       const void *weight,
                                       const void *residual, float eps,
                                       int64_t rows, int64_t cols);
llvm::Expected<ProducerResult> gatedAct(ElementType type,
                                        mlir::nvfp4::GatedActivation act,
                                        const void *x, int64_t rows,
                                        int64_t cols);

/// D = A * B^T (`nvfp4.matmul`, SPEC.md section 12) of two rowwise outputs
/// on host memory: A (M x K) quantized with `aRecipe`, B (N x K) with
/// `bRecipe`, both with 128x4 scales. Runs on `target` ("cpu", or a GPU
/// architecture such as "sm_90a": operands are copied to the device and
/// the result back). Returns the row-major M x N output as bytes of
/// `options.out`; shape and recipe errors name the constraint.
llvm::Expected<std::vector<uint8_t>>
matmul(llvm::StringRef aRecipe, const QuantizedOutput &a,
       llvm::StringRef bRecipe, const QuantizedOutput &b,
       const MatmulOptions &options, llvm::StringRef target = "cpu");

/// W4A16 on host memory: the row-major M x K matrix at `a` (bf16 or f16,
/// used as given) times B, an N x K rowwise quantization with `bRecipe`.
/// Runs on `target` like matmul(); returns the M x N output as bytes of
/// `options.out`.
llvm::Expected<std::vector<uint8_t>>
matmulW4A16(ElementType aType, const void *a, int64_t m, int64_t k,
            llvm::StringRef bRecipe, const QuantizedOutput &b,
            const MatmulOptions &options, llvm::StringRef target = "cpu");

} // namespace nvfp4

#endif // NVFP4_RUNTIME_API_H
