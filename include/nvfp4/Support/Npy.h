//===- Npy.h - NumPy .npy file reader and writer ----------------*- C++ -*-===//
//
// Part of the NVFP4 quantization compiler.
//
//===----------------------------------------------------------------------===//
//
// Minimal reader/writer for the NumPy .npy format (versions 1.0, 2.0 and
// 3.0), limited to the little-endian, C-ordered dtypes the compiler consumes.
// The reader accepts exactly what NumPy's np.save emits (with any spacing of
// the header dict literal) and rejects everything else with a diagnostic that
// names the file, so bad inputs fail at load time rather than as garbage
// tensors later in the pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_SUPPORT_NPY_H
#define NVFP4_SUPPORT_NPY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace nvfp4 {
namespace npy {

/// Element types supported by the reader and writer. The .npy descr strings
/// are '<f4', '<f2', '|u1', '<i8' and '<f8'. BF16 has no NumPy dtype (ml_dtypes
/// saves it as raw void '<V2'), so it is never produced by the reader and
/// rejected by the writer; it exists so in-memory bf16 data can go through
/// toFloat32().
enum class DType { F32, F16, BF16, U8, I64, F64 };

/// Returns the size in bytes of one element of \p dtype.
size_t elementSize(DType dtype);

/// Returns a human-readable name of \p dtype ("float32", "bfloat16", ...).
llvm::StringRef dtypeName(DType dtype);

/// A dense, C-ordered (row-major), little-endian array loaded from or destined
/// for a .npy file.
struct Array {
  DType dtype = DType::F32;
  /// Dimensions; empty for a 0-d (scalar) array.
  llvm::SmallVector<int64_t, 4> shape;
  /// Raw little-endian element data, numElements() * elementSize(dtype) bytes.
  std::vector<uint8_t> bytes;

  /// Returns the product of the dimensions (1 for a 0-d array).
  int64_t numElements() const;
};

/// The largest header dict the reader accepts (format 2.0 and 3.0 lengths
/// are 32-bit). NumPy's own np.load stops at 10000 bytes; this leaves room
/// for the version 2.0 headers writeNpy emits for very many dimensions.
constexpr size_t kMaxHeaderBytes = size_t(1) << 20;

/// Reads and validates the .npy file at \p path, which must be a regular
/// file (FIFOs, devices and directories are refused before they are opened).
/// Reads are bounded: the header to kMaxHeaderBytes, and the data to exactly
/// the size the header implies, checked against the file size before any
/// data is read.
llvm::Expected<Array> readNpy(llvm::StringRef path);

/// Parses an in-memory .npy image; \p path is used only in diagnostics.
llvm::Expected<Array> parseNpy(llvm::StringRef path,
                               llvm::ArrayRef<uint8_t> buffer);

/// Writes \p data (numElements(shape) elements of \p dtype, C order) to
/// \p path as .npy, byte-identical to what np.save writes: format 1.0, or 2.0
/// when the header does not fit 1.0's 16-bit length. The file is written to a
/// temporary in the same directory and renamed over \p path, so a failure
/// never leaves a partial file behind. \p data may be null when the array is
/// empty.
llvm::Error writeNpy(llvm::StringRef path, DType dtype,
                     llvm::ArrayRef<int64_t> shape, const void *data);

/// Returns the elements of \p array widened or converted to float. F16 and
/// BF16 are converted exactly by bit manipulation (subnormals, infinities,
/// NaN and -0 included); F64, U8 and I64 are rounded to nearest float.
std::vector<float> toFloat32(const Array &array);

/// Converts one IEEE half-precision value, given as its bits, to float.
float halfBitsToFloat(uint16_t bits);

} // namespace npy
} // namespace nvfp4

#endif // NVFP4_SUPPORT_NPY_H
