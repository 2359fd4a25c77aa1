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
/// compiled for the stream's device on first use.
llvm::Error quantize(Stream &stream, llvm::StringRef recipe, ElementType type,
                     CUdeviceptr input, int64_t rows, int64_t cols,
                     const DeviceOutputs &outputs);

/// Dequantizes the quantized rows x cols matrix (`input`'s buffers) into
/// the f32 row-major `output`, enqueued on `stream`.
llvm::Error dequantize(Stream &stream, llvm::StringRef recipe,
                       const DeviceQuantized &input, int64_t rows,
                       int64_t cols, CUdeviceptr output);

/// The same on host memory with the cpu target.
llvm::Expected<QuantizeResult> quantize(llvm::StringRef recipe,
                                        ElementType type, const void *input,
                                        int64_t rows, int64_t cols);
llvm::Expected<std::vector<float>> dequantize(llvm::StringRef recipe,
                                              const QuantizedOutput &input);

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

} // namespace nvfp4

#endif // NVFP4_RUNTIME_API_H
