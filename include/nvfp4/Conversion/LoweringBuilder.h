//===- LoweringBuilder.h - IR builder of the nvfp4 lowerings ----*- C++ -*-===//
//
// The one builder every nvfp4 lowering emits through: on the CPU
// (nvfp4-expand), in GPU kernels and in the host code that launches them
// (nvfp4-to-gpu). It wraps an ImplicitLocOpBuilder (ops take the builder's
// location) with index arithmetic, scf loops, typed loads and stores, and
// the NumericsBuilder that writes the SPEC.md math.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_CONVERSION_LOWERINGBUILDER_H
#define NVFP4_CONVERSION_LOWERINGBUILDER_H

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Numerics/NumericsBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <functional>

namespace mlir {
namespace nvfp4 {

/// Index arithmetic, loops and memory accesses around the numerics builder.
/// All loop bodies are emitted with the one builder `b`, whose insertion
/// point moves into each body while it is built; callers may emit through
/// the same builder between calls.
class LoweringBuilder {
public:
  LoweringBuilder(ImplicitLocOpBuilder &b, TargetLeaves *leaves = nullptr)
      : b(b), num(b, b.getLoc(), leaves) {}

  NumericsBuilder &math() { return num; }
  ImplicitLocOpBuilder &builder() { return b; }
  Location location() { return b.getLoc(); }

  /// Byte alignment the caller guarantees for each 16-element block of a
  /// row (0: none). With it, a rowwise block is read with one vector load
  /// instead of 16 scalar ones and each block's 8 data bytes are written
  /// with one store (the GPU schedule: device buffers are 256-byte aligned
  /// and rows of K % 16 == 0 elements keep blocks aligned).
  unsigned blockAlignment = 0;
  /// How a parallel schedule folds an outer amax into `memref[indices]`
  /// atomically; unset: `memref.atomic_rmw maxnumf`. Amaxes are +0 or more
  /// and never NaN (NaN elements are ignored and every reduction starts
  /// from 0), which lets a schedule use an integer max on the bits.
  std::function<void(Value v, Value memref, ValueRange indices)> atomicMaxAmax;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value addI(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value mulI(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value subI(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value divI(Value x, int64_t d) { return arith::DivUIOp::create(b, x, idx(d)); }
  Value remI(Value x, Value d) { return arith::RemUIOp::create(b, x, d); }
  Value divI(Value x, Value d) { return arith::DivUIOp::create(b, x, d); }
  Value minI(Value x, Value y) { return arith::MinUIOp::create(b, x, y); }
  Value ceilDivI(Value x, int64_t d) { return divI(addI(x, idx(d - 1)), d); }
  Value dim(Value memref, unsigned i) {
    return memref::DimOp::create(b, memref, i);
  }

  /// `for iv in [lb, ub)` carrying `init`; `body` returns the next values.
  SmallVector<Value>
  loop(Value lb, Value ub, ValueRange init,
       function_ref<SmallVector<Value>(Value, ValueRange)> body);
  void loop(Value lb, Value ub, function_ref<void(Value)> body);

  /// Loads an element and widens it exactly to f32.
  Value loadF32(Value memref, ValueRange indices);
  /// Loads the 16 elements at `indices` (contiguous in the last dimension)
  /// with one vector load aligned to `alignment` bytes (default: the
  /// blockAlignment of rowwise blocks) and widens them to f32.
  SmallVector<Value, kBlock> loadVectorF32(Value memref, ValueRange indices,
                                           unsigned alignment = 0);
  void storeF32(Value v, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, v, memref, indices);
  }
  /// Loads an i8 or f8 byte as an i32 in 0..255.
  Value loadByte(Value memref, ValueRange indices);
  /// Stores the low 8 bits of an i32 into an i8 or f8 memref.
  void storeByte(Value byte, Value memref, ValueRange indices);
  /// Stores the low bytes of `bytes` (i32 each) contiguously at `indices`
  /// with one vector store aligned to its size.
  void storeBytesVector(ArrayRef<Value> bytes, Value memref,
                        ValueRange indices);

  /// The row-major 2-D buffer `memref` (identity layout, so offset 0) as
  /// one dimension: byte offsets then need no division into (row, column).
  Value flatView(Value memref);
  /// Stores byte `flat` of a row-major 2-D byte buffer.
  void storeFlatByte(Value byte, Value memref, Value flat) {
    storeByte(byte, flatView(memref), {flat});
  }
  Value loadFlatByte(Value memref, Value flat) {
    return loadByte(flatView(memref), {flat});
  }
  /// `v` (f32) converted to `element` (RNE), a NaN as storeValue says.
  Value toElement(Value v, Type element);
  /// storeValue of the contiguous values at `indices`, as one vector store
  /// aligned to blockAlignment.
  void storeValues(ArrayRef<Value> values, Value memref, ValueRange indices);
  /// Converts an f32 to the element type of `memref` (RNE) and stores it;
  /// in bf16 and f16 every NaN is stored as the type's canonical quiet NaN
  /// (0x7FC0, 0x7E00); f32 values are stored as they are.
  void storeValue(Value v, Value memref, ValueRange indices);

  /// Max |x| over the values of one block.
  Value blockAmax(ArrayRef<Value> x);

private:
  ImplicitLocOpBuilder &b;
  NumericsBuilder num;
};

} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_CONVERSION_LOWERINGBUILDER_H
