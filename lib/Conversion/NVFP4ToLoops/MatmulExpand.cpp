//===- MatmulExpand.cpp - nvfp4 GEMMs to scf loops for the CPU
//-------------===//
//
// The CPU schedule of `nvfp4.matmul`, `nvfp4.matmul_w4a16` and
// `nvfp4.grouped_matmul` (SPEC.md section 12), built around
// dequantize-on-load (a W4A16 A is widened instead of decoded):
//
//   for each panel of kPanel rows of B:
//     decode the panel once into an f32 buffer (e2m1 * E4M3 scale, exact)
//     for each row i of A:
//       decode row i of A into an f32 row buffer (exact)
//       for each row j of the panel:
//         16-lane f32 products and sums over K (per 64-wide window for
//         window operands, promoted with gemmWindowFactor), one ordered
//         lane reduction, the epilogue of gemmEpilogue, the output cast
//
// Decoded operand elements are exact in f32 and so are their products, so
// the only roundings are the FP32 sums (the order is a schedule choice,
// SPEC.md section 12) and the epilogue, which comes from GemmNumerics. The
// outer amaxes never touch the decoded values: they are applied in the
// epilogue (or per window), as a tensor-core kernel applies them.
//
// Vectors (vector<16xf32>, one 16-block) keep the sums parallel without
// reassociating anything LLVM could see: each lane is its own ordered sum.
//
//===----------------------------------------------------------------------===//

#include "MatmulExpand.h"
#include "nvfp4/Conversion/QuantizeEmitter.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Numerics/GemmNumerics.h"
#include "nvfp4/Numerics/NumericsBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#define DEBUG_TYPE "nvfp4-expand"

using namespace mlir;
using namespace mlir::nvfp4;
using namespace mlir::nvfp4::detail;

namespace {
/// Rows of B decoded at a time: 64 rows of K <= 16384 floats stay within a
/// few MiB, and every decoded A row is reused 64 times.
constexpr int64_t kPanel = 64;

/// One NVFP4 operand of a GEMM; for the A of `nvfp4.matmul_w4a16`, `data`
/// is the bf16/f16 matrix and the rest is null (no scale, no amax).
struct Operand {
  Value data, scale, amax;
  RecipeAttr recipe;
};

class MatmulEmitter {
public:
  MatmulEmitter(LoweringBuilder &e, Operand a, Operand b, Value output, Value bias,
                float alpha)
      : e(e), m(e.math()), bld(e.builder()), loc(e.location()), a(a), b(b),
        output(output), bias(bias), alpha(alpha),
        scaleClass(gemmScaleClass(a.recipe, b.recipe)) {}

  /// Allocates the decode buffers and computes the loop-invariant values.
  void prologue() {
    // K counts values: two per byte of NVFP4 data, one per element of a
    // W4A16 A.
    k = a.recipe ? e.mulI(e.dim(a.data, 1), e.idx(2)) : e.dim(a.data, 1);
    numBlocks = e.divI(k, kBlock);
    numWindows = e.ceilDivI(numBlocks, kGemmWindow / kBlock);
    n = e.dim(output, 1);
    c = gemmC(bld, loc, a.recipe, b.recipe);
    Type f32 = bld.getF32Type();
    aRow = memref::AllocOp::create(bld,
                                   MemRefType::get({ShapedType::kDynamic}, f32),
                                   ValueRange{k}, bld.getI64IntegerAttr(64));
    bPanel = memref::AllocOp::create(
        bld, MemRefType::get({kPanel, ShapedType::kDynamic}, f32),
        ValueRange{k}, bld.getI64IntegerAttr(64));
  }
  void epilogueDealloc() {
    memref::DeallocOp::create(bld, aRow);
    memref::DeallocOp::create(bld, bPanel);
  }

  /// Output rows [rowBegin, rowEnd) = rows of A times B (group `group` of
  /// a grouped B when not null); A's scale row of row i is
  /// `aScaleRowBase + i - rowBegin`.
  void emitRows(Value group, Value rowBegin, Value rowEnd,
                Value aScaleRowBase) {
    auto panels = scf::ForOp::create(bld, e.idx(0), n, e.idx(kPanel));
    OpBuilder::InsertionGuard guard(bld);
    bld.setInsertionPointToStart(panels.getBody());
    Value j0 = panels.getInductionVar();
    Value rowsInPanel =
        e.minI(e.idx(kPanel), arith::SubIOp::create(bld, n, j0));
    e.loop(e.idx(0), rowsInPanel, [&](Value jj) {
      Value j = e.addI(j0, jj);
      decodeRow(b, group, j, j, bPanel, {jj});
    });
    e.loop(rowBegin, rowEnd, [&](Value i) {
      Value scaleRow =
          e.addI(aScaleRowBase, arith::SubIOp::create(bld, i, rowBegin));
      if (a.recipe)
        decodeRow(a, Value(), i, scaleRow, aRow, {});
      else
        widenRow(i);
      Value amaxA;
      if (a.recipe && scaleClass != GemmScaleClass::Window)
        amaxA = gemmLoadAmax(bld, loc, a.recipe, a.amax, i, {}, group);
      e.loop(e.idx(0), rowsInPanel, [&](Value jj) {
        Value j = e.addI(j0, jj);
        Value acc = scaleClass == GemmScaleClass::Window
                        ? windowedDot(group, i, j, jj)
                        : dot(jj, e.idx(0), numBlocks);
        Value amaxB;
        if (scaleClass != GemmScaleClass::Window)
          amaxB = gemmLoadAmax(bld, loc, b.recipe, b.amax, j, {}, group);
        Value biasJ;
        if (bias)
          biasJ = group ? e.loadF32(bias, {group, j}) : e.loadF32(bias, {j});
        Value d = gemmEpilogue(bld, loc, a.recipe, b.recipe, acc, amaxA, amaxB,
                               c, alpha, biasJ);
        e.storeValue(d, output, {i, j});
      });
    });
  }

private:
  VectorType vec(unsigned width, Type element) {
    return VectorType::get({int64_t(width)}, element);
  }

  /// Decodes row `row` of `op` (scale row `scaleRow`) into `dst` at
  /// `dstPrefix` + column: one vector of 16 exact f32 values per block.
  void decodeRow(const Operand &op, Value group, Value row, Value scaleRow,
                 Value dst, ValueRange dstPrefix) {
    Type i8 = bld.getI8Type(), i32 = bld.getI32Type();
    e.loop(e.idx(0), numBlocks, [&](Value blk) {
      // One E4M3 decode per block, shared by its 16 elements.
      Value sf =
          gemmLoadScale(bld, loc, op.scale, scaleRow, blk, numBlocks, group);
      SmallVector<Value, 3> at;
      if (group && cast<MemRefType>(op.data.getType()).getRank() == 3)
        at.push_back(group);
      at.append({row, e.mulI(blk, e.idx(kBlock / 2))});
      Value bytes =
          vector::LoadOp::create(bld, vec(kBlock / 2, i8), op.data, at);
      Value wide =
          arith::ExtUIOp::create(bld, vec(kBlock / 2, i32), bytes);
      // Byte j holds element 2j in its low nibble, 2j+1 in its high one
      // (SPEC.md section 1); interleave them back into element order.
      Value lo = arith::AndIOp::create(bld, wide, m.i32(wide, 0xF));
      Value hi = arith::ShRUIOp::create(bld, wide, m.i32(wide, 4));
      SmallVector<int64_t, kBlock> mask;
      for (int64_t t = 0; t < int64_t(kBlock / 2); ++t)
        mask.append({t, t + int64_t(kBlock / 2)});
      Value codes = vector::ShuffleOp::create(bld, lo, hi, mask);
      Value values = gemmDecode(bld, loc, codes, sf);
      SmallVector<Value, 3> dstAt(dstPrefix);
      dstAt.push_back(e.mulI(blk, e.idx(kBlock)));
      vector::StoreOp::create(bld, values, dst, dstAt);
    });
  }

  /// W4A16: row `row` of the bf16/f16 A widened into the A row buffer,
  /// exactly (f32 holds every bf16 and f16 value, NaN, Inf and -0 too).
  void widenRow(Value row) {
    Type element = cast<MemRefType>(a.data.getType()).getElementType();
    e.loop(e.idx(0), numBlocks, [&](Value blk) {
      Value col = e.mulI(blk, e.idx(kBlock));
      Value values = vector::LoadOp::create(bld, vec(kBlock, element), a.data,
                                            ValueRange{row, col});
      Value wide =
          arith::ExtFOp::create(bld, vec(kBlock, bld.getF32Type()), values);
      vector::StoreOp::create(bld, wide, aRow, col);
    });
  }

  /// The FP32 dot product of the decoded A row and panel row `jj` over
  /// blocks [blkBegin, blkEnd): 16 lane sums, then their ordered sum.
  Value dot(Value jj, Value blkBegin, Value blkEnd) {
    Type f32 = bld.getF32Type();
    Value zero = arith::ConstantOp::create(
        bld,
        DenseElementsAttr::get(vec(kBlock, f32), bld.getF32FloatAttr(0.0f)));
    Value lanes =
        e.loop(blkBegin, blkEnd, {zero}, [&](Value blk, ValueRange args) {
          Value col = e.mulI(blk, e.idx(kBlock));
          Value va =
              vector::LoadOp::create(bld, vec(kBlock, f32), aRow, col);
          Value vb = vector::LoadOp::create(bld, vec(kBlock, f32), bPanel,
                                            ValueRange{jj, col});
          return SmallVector<Value>{m.add(args[0], m.mul(va, vb))};
        })[0];
    return vector::ReductionOp::create(bld, vector::CombiningKind::ADD,
                                       lanes);
  }

  /// Window operands: every 64-wide K window is summed on its own and
  /// promoted with its factor before it joins the FP32 accumulator.
  Value windowedDot(Value group, Value i, Value j, Value jj) {
    const int64_t blocksPerWindow = kGemmWindow / kBlock;
    return e.loop(
        e.idx(0), numWindows, {m.f32(0.0f)}, [&](Value w, ValueRange args) {
          Value begin = e.mulI(w, e.idx(blocksPerWindow));
          // The last window of a row is shorter when K % 64 != 0.
          Value end = e.minI(e.addI(begin, e.idx(blocksPerWindow)), numBlocks);
          Value partial = dot(jj, begin, end);
          Value amaxA;
          if (a.recipe)
            amaxA = gemmLoadAmax(bld, loc, a.recipe, a.amax, i, w, group);
          Value amaxB = gemmLoadAmax(bld, loc, b.recipe, b.amax, j, w, group);
          Value factor = gemmWindowFactor(bld, loc, amaxA, amaxB, c);
          return SmallVector<Value>{m.add(args[0], m.mul(factor, partial))};
        })[0];
  }

  LoweringBuilder &e;
  NumericsBuilder &m;
  ImplicitLocOpBuilder &bld;
  /// For the GemmNumerics functions, which take an OpBuilder and a Location.
  Location loc;
  Operand a, b;
  Value output, bias;
  float alpha;
  GemmScaleClass scaleClass;
  Value k, numBlocks, numWindows, n, c, aRow, bPanel;
};

/// Replaces the ungrouped GEMM `op` (A given as `a`) by the schedule's
/// loops over all of its rows.
template <typename OpTy>
LogicalResult expandWhole(OpTy op, Operand a, PatternRewriter &rewriter) {
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  LoweringBuilder e(b);
  MatmulEmitter mm(
      e, a, {op.getBData(), op.getBScale(), op.getBAmax(), op.getBRecipe()},
      op.getOutput(), op.getBias(), op.getAlpha().convertToFloat());
  mm.prologue();
  mm.emitRows(/*group=*/{}, e.idx(0), e.dim(op.getOutput(), 0), e.idx(0));
  mm.epilogueDealloc();
  rewriter.eraseOp(op);
  return success();
}

struct ExpandMatmul : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    return expandWhole(
        op, {op.getAData(), op.getAScale(), op.getAAmax(), op.getARecipe()},
        rewriter);
  }
};

/// W4A16: the same schedule with A's rows widened instead of decoded and
/// A's outer scale absent from the epilogue (GemmNumerics.h).
struct ExpandMatmulW4A16 : OpRewritePattern<MatmulW4A16Op> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulW4A16Op op,
                                PatternRewriter &rewriter) const override {
    return expandWhole(op, {op.getA(), Value(), Value(), RecipeAttr()},
                       rewriter);
  }
};

struct ExpandGroupedMatmul : OpRewritePattern<GroupedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedMatmulOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    LoweringBuilder e(b);
    MatmulEmitter mm(
        e, {op.getAData(), op.getAScale(), op.getAAmax(), op.getARecipe()},
        {op.getBData(), op.getBScale(), op.getBAmax(), op.getBRecipe()},
        op.getOutput(), op.getBias(), op.getAlpha().convertToFloat());
    mm.prologue();
    Value m = e.dim(op.getOutput(), 0);
    // Groups run in order over consecutive rows of A; A's swizzled scales
    // restart on a fresh 128-row tile per group (nvfp4.grouped_quantize).
    // A split running past M is clamped so nothing is accessed out of
    // bounds; the runtime rejects such splits before running.
    e.loop(e.idx(0), e.dim(op.getSplits(), 0), {e.idx(0), e.idx(0)},
           [&](Value g, ValueRange args) {
             Value rowOffset = args[0], scaleRow = args[1];
             Value split = arith::IndexCastOp::create(
                 b, b.getIndexType(),
                 memref::LoadOp::create(b, op.getSplits(), g));
             Value rows =
                 e.minI(split, arith::SubIOp::create(b, m,
                                                     e.minI(rowOffset, m)));
             Value rowEnd = e.addI(rowOffset, rows);
             // An empty group has no output rows: skip decoding its B.
             Value nonEmpty = arith::CmpIOp::create(
                 b, arith::CmpIPredicate::ne, rows, e.idx(0));
             auto ifOp = scf::IfOp::create(b, nonEmpty,
                                           /*withElseRegion=*/false);
             {
               OpBuilder::InsertionGuard guard(b);
               b.setInsertionPointToStart(ifOp.thenBlock());
               mm.emitRows(g, rowOffset, rowEnd, scaleRow);
             }
             Value padded = e.mulI(e.ceilDivI(rows, 128), e.idx(128));
             return SmallVector<Value>{rowEnd, e.addI(scaleRow, padded)};
           });
    mm.epilogueDealloc();
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

void mlir::nvfp4::detail::populateMatmulExpandPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ExpandMatmul, ExpandMatmulW4A16, ExpandGroupedMatmul>(
      patterns.getContext());
}
