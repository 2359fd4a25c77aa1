//===- MatmulGrouped.cpp - One launch over every group of a GEMM ----------===//
//
// `nvfp4.grouped_matmul` on the GPU: one launch of an ordinary GEMM kernel
// over every group, the group sizes read on the device. The splits may be
// computed by an earlier kernel (MoE routing) and never visit the host, so
// a CUDA graph can capture the launch.
//
// As in the grouped quantize kernels (NVFP4ToGPU.cpp), the grid is sized
// for the worst case: group g owns ceil(rows_g / tileM) tile rows (none
// when empty), at most ceil(M / tileM) + G in all, times ceil(N / tileN)
// tile columns (launchGemmKernel). A block decodes its tile as an
// ungrouped kernel does (gemmBlockTile), then walks the splits with a
// running sum, clamped to M like the CPU lowering's (MatmulExpand.cpp), to
// find the group whose tile rows hold its own; blocks no group owns exit.
//
// The block then runs the ungrouped tile body on views of its group, as if
// that group were the whole GEMM: A, A's amaxes and D from the group's
// first row; A's scales from its first scale row (each group's swizzled
// 128x4 scales start on a fresh 128-row tile: the sum of the earlier
// groups' rows rounded up to 128); B, B's scales and amaxes and the bias
// of group g; a per-tensor A's amax at [g]. The views are
// memref.reinterpret_cast of the contiguous kernel arguments, so the tile
// bodies, which address their operands through memrefs (or
// gemmBaseAddress), serve both ops unchanged.
//
//===----------------------------------------------------------------------===//

#include "MatmulToGPU.h"

#include "nvfp4/Conversion/QuantizeEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::nvfp4;
using namespace mlir::nvfp4::detail;

namespace {
/// Rows of the 128x4 scale tile each group starts afresh.
constexpr int64_t kScaleTileRows = 128;

/// `x` as an index value.
Value valueOf(LoweringBuilder &e, OpFoldResult x) {
  if (auto v = dyn_cast<Value>(x))
    return v;
  return e.idx(cast<IntegerAttr>(cast<Attribute>(x)).getInt());
}

/// `x * y`, folded where either is a constant 1 or both are constants.
OpFoldResult mulOf(LoweringBuilder &e, OpFoldResult x, OpFoldResult y) {
  auto constant = [](OpFoldResult v) -> std::optional<int64_t> {
    if (auto a = dyn_cast<Attribute>(v))
      return cast<IntegerAttr>(a).getInt();
    return std::nullopt;
  };
  std::optional<int64_t> cx = constant(x), cy = constant(y);
  if (cx && cy)
    return e.builder().getIndexAttr(*cx * *cy);
  if (cx == 1)
    return y;
  if (cy == 1)
    return x;
  return e.mulI(valueOf(e, x), valueOf(e, y));
}

/// Dimensions 1.. of `memref`, static ones as attributes.
SmallVector<OpFoldResult, 2> innerDims(LoweringBuilder &e, Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  SmallVector<OpFoldResult, 2> dims;
  for (int64_t i = 1; i < type.getRank(); ++i) {
    if (type.isDynamicDim(i))
      dims.push_back(e.dim(memref, unsigned(i)));
    else
      dims.push_back(e.builder().getIndexAttr(type.getDimSize(i)));
  }
  return dims;
}

/// The product of `xs` (1 when empty).
OpFoldResult product(LoweringBuilder &e, ArrayRef<OpFoldResult> xs) {
  OpFoldResult p = e.builder().getIndexAttr(1);
  for (OpFoldResult x : xs)
    p = mulOf(e, p, x);
  return p;
}

/// The row-major view of shape `sizes` of contiguous `src` (a kernel
/// argument, offset 0) from element `offset`.
Value viewAt(LoweringBuilder &e, Value src, Value offset,
             ArrayRef<OpFoldResult> sizes) {
  ImplicitLocOpBuilder &b = e.builder();
  SmallVector<OpFoldResult, 3> strides(sizes.size());
  OpFoldResult stride = b.getIndexAttr(1);
  for (size_t i = sizes.size(); i-- > 0;) {
    strides[i] = stride;
    if (i)
      stride = mulOf(e, stride, sizes[i]);
  }
  auto staticOf = [](OpFoldResult x) {
    auto a = dyn_cast<Attribute>(x);
    return a ? cast<IntegerAttr>(a).getInt() : ShapedType::kDynamic;
  };
  SmallVector<int64_t, 3> shape, staticStrides;
  for (auto [size, stride] : llvm::zip(sizes, strides)) {
    shape.push_back(staticOf(size));
    staticStrides.push_back(staticOf(stride));
  }
  auto srcType = cast<MemRefType>(src.getType());
  auto type =
      MemRefType::get(shape, srcType.getElementType(),
                      StridedLayoutAttr::get(
                          b.getContext(), ShapedType::kDynamic, staticStrides));
  return memref::ReinterpretCastOp::create(b, e.location(), type, src, offset,
                                           sizes, strides);
}

/// Rows [first, first + rows) of `src`.
Value rowsView(LoweringBuilder &e, Value src, Value first, OpFoldResult rows) {
  SmallVector<OpFoldResult, 3> sizes{rows};
  SmallVector<OpFoldResult, 2> inner = innerDims(e, src);
  sizes.append(inner.begin(), inner.end());
  return viewAt(e, src, valueOf(e, mulOf(e, first, product(e, inner))), sizes);
}

/// `src[g]`, one group of a stacked operand.
Value groupView(LoweringBuilder &e, Value src, Value g) {
  SmallVector<OpFoldResult, 2> inner = innerDims(e, src);
  return viewAt(e, src, valueOf(e, mulOf(e, g, product(e, inner))), inner);
}

/// The group a block works on.
struct Group {
  Value index, firstRow, rows, firstScaleRow;
};

/// `v`'s operands as views of `group` alone (see the file header).
GemmOperands groupViews(LoweringBuilder &e, const GemmOperands &v, GemmOp op,
                        const Group &group) {
  OpFoldResult one = e.builder().getIndexAttr(1);
  Value scaleRows =
      e.mulI(e.ceilDivI(group.rows, kScaleTileRows), e.idx(kScaleTileRows));
  auto perTensor = [](RecipeAttr recipe) {
    return recipe.getOuter() == OuterGroup::Tensor;
  };
  GemmOperands w;
  w.aData = rowsView(e, v.aData, group.firstRow, group.rows);
  w.aScale = rowsView(e, v.aScale, group.firstScaleRow, scaleRows);
  w.aAmax = perTensor(op.getARecipe())
                ? rowsView(e, v.aAmax, group.index, one)
                : rowsView(e, v.aAmax, group.firstRow, group.rows);
  w.bData = groupView(e, v.bData, group.index);
  w.bScale = groupView(e, v.bScale, group.index);
  // Per-tensor B amaxes are (G), not (G, 1).
  w.bAmax = perTensor(op.getBRecipe()) ? rowsView(e, v.bAmax, group.index, one)
                                       : groupView(e, v.bAmax, group.index);
  if (v.bias)
    w.bias = groupView(e, v.bias, group.index);
  w.out = rowsView(e, v.out, group.firstRow, group.rows);
  return w;
}
} // namespace

void mlir::nvfp4::detail::emitGroupedGemmBody(
    LoweringBuilder &e, const GemmOperands &v, GemmOp op, int64_t tileM,
    int64_t tileN, function_ref<void(const GemmOperands &)> tileBody) {
  ImplicitLocOpBuilder &b = e.builder();
  Value m = e.dim(v.aData, 0), n = e.dim(v.bData, 1);
  // `row` counts the tile rows of every group before the block's, each
  // group's rows rounded up to a multiple of tileM.
  Value row, col;
  std::tie(row, col) = gemmBlockTile(e, n, tileM, tileN);
  Value zero = e.idx(0);
  Value no = arith::ConstantIntOp::create(b, 0, 1);
  auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) -> Value {
    return arith::CmpIOp::create(b, p, x, y);
  };
  // Carried: group g's first row, first scale row and first padded row;
  // then whether the block's group was found, and its index, first row,
  // rows, first scale row and first padded row.
  SmallVector<Value> found = e.loop(
      zero, e.dim(v.splits, 0),
      {zero, zero, zero, no, zero, zero, zero, zero, zero},
      [&](Value g, ValueRange a) {
        Value split = arith::IndexCastOp::create(
            b, b.getIndexType(),
            memref::LoadOp::create(b, v.splits, g));
        // Clamped to the rows left (unsigned: a negative split takes them
        // all), as the CPU lowering clamps: no view leaves its buffer.
        Value rows =
            e.minI(split, arith::SubIOp::create(b, m, e.minI(a[0], m)));
        Value padEnd =
            e.addI(a[2], e.mulI(e.ceilDivI(rows, tileM), e.idx(tileM)));
        Value inside = arith::AndIOp::create(
            b, cmp(arith::CmpIPredicate::uge, row, a[2]),
            cmp(arith::CmpIPredicate::ult, row, padEnd));
        auto pick = [&](Value now, Value before) -> Value {
          return arith::SelectOp::create(b, inside, now, before);
        };
        Value scaleRows =
            e.mulI(e.ceilDivI(rows, kScaleTileRows), e.idx(kScaleTileRows));
        return SmallVector<Value>{e.addI(a[0], rows),
                                  e.addI(a[1], scaleRows),
                                  padEnd,
                                  arith::OrIOp::create(b, a[3], inside),
                                  pick(g, a[4]),
                                  pick(a[0], a[5]),
                                  pick(rows, a[6]),
                                  pick(a[1], a[7]),
                                  pick(a[2], a[8])};
      });
  // Uniform over the block: the tile bodies' barriers stay paired.
  auto ifOp = scf::IfOp::create(b, found[3], /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  GemmOperands w =
      groupViews(e, v, op, Group{found[4], found[5], found[6], found[7]});
  w.tileRow = arith::SubIOp::create(b, row, found[8]);
  w.tileCol = col;
  tileBody(w);
}
