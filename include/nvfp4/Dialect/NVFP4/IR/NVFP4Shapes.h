//===- NVFP4Shapes.h - Buffer shapes implied by a recipe --------*- C++ -*-===//
//
// The shapes of the data, scale and amax buffers a recipe produces for a
// given matrix (SPEC.md sections 1, 6 and 10). The verifiers, the lowerings,
// the runtime and the tools all size buffers with these functions, so a
// buffer the verifier accepted is the buffer a kernel writes.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_DIALECT_NVFP4_IR_NVFP4SHAPES_H
#define NVFP4_DIALECT_NVFP4_IR_NVFP4SHAPES_H

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.h"
#include "mlir/IR/BuiltinTypeInterfaces.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/MathExtras.h"

#include <cstdint>
#include <limits>

namespace mlir {
namespace nvfp4 {

/// Dimensions that are not known statically propagate as `kDynamic`.
constexpr int64_t kDynamic = ShapedType::kDynamic;

/// Elements per scale block along the quantized dimension.
constexpr int64_t kBlockSize = 16;

inline bool isDynamic(int64_t d) { return ShapedType::isDynamic(d); }

/// The largest buffer any op may name, in bytes. Every static shape the
/// verifiers accept, given or derived (padded scale matrices, grouped scale
/// rows), stays within it, so element and byte counts of verified IR never
/// overflow int64 in the lowerings or the runtime (docs/NVFP4Dialect.md).
constexpr int64_t kMaxBufferBytes = int64_t(1) << 62;

/// What the helpers below return when a size does not fit in int64: they
/// saturate rather than wrap, so a message never prints a negative size and
/// the byte bound rejects the shape. Distinct from `kDynamic` (INT64_MIN).
constexpr int64_t kOverflow = std::numeric_limits<int64_t>::max();

/// `a * b` for non-negative sizes, saturating at `kOverflow`; dynamic if
/// either side is.
inline int64_t mulSize(int64_t a, int64_t b) {
  if (isDynamic(a) || isDynamic(b))
    return kDynamic;
  int64_t r;
  return llvm::MulOverflow(a, b, r) ? kOverflow : r;
}
/// `a + b` for non-negative sizes, saturating at `kOverflow`.
inline int64_t addSize(int64_t a, int64_t b) {
  if (isDynamic(a) || isDynamic(b))
    return kDynamic;
  int64_t r;
  return llvm::AddOverflow(a, b, r) ? kOverflow : r;
}

inline int64_t ceilDiv(int64_t a, int64_t b) {
  if (isDynamic(a))
    return kDynamic;
  if (a == kOverflow)
    return kOverflow;
  // Not (a + b - 1) / b: that wraps for sizes near INT64_MAX.
  return a / b + (a % b != 0);
}
inline int64_t roundUp(int64_t a, int64_t b) {
  return mulSize(ceilDiv(a, b), b);
}

/// Bytes of a buffer of `shape` with `elementBytes`-byte elements, counting
/// static dimensions only (a lower bound when some are dynamic); saturates
/// at `kOverflow`.
inline int64_t staticBytes(ArrayRef<int64_t> shape, int64_t elementBytes) {
  int64_t bytes = elementBytes;
  for (int64_t d : shape)
    if (!isDynamic(d))
      bytes = mulSize(bytes, d);
  return bytes;
}

/// Row and column tile of a swizzled scale layout ({1, 1} for linear).
inline std::pair<int64_t, int64_t> scaleTile(ScaleLayout layout) {
  switch (layout) {
  case ScaleLayout::Linear:
    return {1, 1};
  case ScaleLayout::Swizzle128x4:
    return {128, 4};
  case ScaleLayout::Swizzle8x4:
    return {8, 4};
  }
  return {1, 1};
}

/// Shape of the packed E2M1 data of a `rows x cols` matrix quantized along
/// `cols`.
inline SmallVector<int64_t, 2> dataShape(int64_t rows, int64_t cols) {
  return {rows, isDynamic(cols) || cols == kOverflow ? cols : cols / 2};
}

/// Shape of the scale buffer of a `rows x cols` matrix quantized along
/// `cols`: `rows x cols/16` for the linear layout, the padded `Rp x Cp` byte
/// matrix for the swizzled ones.
inline SmallVector<int64_t, 2> scaleShape(ScaleLayout layout, int64_t rows,
                                          int64_t cols) {
  auto [rt, ct] = scaleTile(layout);
  int64_t c = isDynamic(cols) || cols == kOverflow ? cols : cols / kBlockSize;
  return {roundUp(rows, rt), roundUp(c, ct)};
}

/// Shape of the raw outer amaxes of a `rows x cols` matrix quantized along
/// `cols`.
inline SmallVector<int64_t, 2> amaxShape(RecipeAttr recipe, int64_t rows,
                                         int64_t cols) {
  switch (recipe.getOuter()) {
  case OuterGroup::Tensor:
    return {1};
  case OuterGroup::Row:
    return {rows};
  case OuterGroup::Window:
    return {rows, ceilDiv(cols, recipe.getWindow())};
  }
  return {1};
}

/// Rows a grouped (MoE) swizzled scale buffer needs: each group starts on a
/// fresh row tile, so at most `tile - 1` padding rows per group. With the
/// group count dynamic this is the least any split can need (`rows`, rounded
/// up to the tile), which a buffer must hold whatever the splits are.
inline int64_t groupedScaleRows(ScaleLayout layout, int64_t rows,
                                int64_t groups) {
  int64_t tile = scaleTile(layout).first;
  if (tile == 1 || isDynamic(rows))
    return rows;
  if (isDynamic(groups))
    return roundUp(rows, tile);
  return roundUp(addSize(rows, mulSize(groups, tile - 1)), tile);
}

/// Byte offset of scale (r, c) in a layout whose unpadded scale matrix has
/// `numCols` columns (SPEC.md section 10).
inline int64_t scaleOffset(ScaleLayout layout, int64_t r, int64_t c,
                           int64_t numCols) {
  switch (layout) {
  case ScaleLayout::Linear:
    return r * numCols + c;
  case ScaleLayout::Swizzle128x4: {
    int64_t cp = roundUp(numCols, 4);
    return (r / 128) * (128 * cp) + (c / 4) * 512 + (r % 32) * 16 +
           ((r % 128) / 32) * 4 + (c % 4);
  }
  case ScaleLayout::Swizzle8x4: {
    int64_t cp = roundUp(numCols, 4);
    return (r / 8) * (cp / 4 * 32) + (c / 4) * 32 + (r % 8) * 4 + (c % 4);
  }
  }
  return 0;
}


} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_DIALECT_NVFP4_IR_NVFP4SHAPES_H
