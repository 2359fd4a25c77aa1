//===- NVFP4Expand.cpp - nvfp4 ops to SPEC.md math over scf loops ---------===//
//
// The CPU schedule: plain loops over the memrefs, with every formula coming
// from the numerics builder. It favours obviously-right structure over
// speed: outer amaxes are computed and stored first, then read back while
// encoding, exactly as SPEC.md describes the two levels.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Conversion/Passes.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Numerics/NumericsBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <functional>

#define DEBUG_TYPE "nvfp4-expand"

namespace mlir {
namespace nvfp4 {
#define GEN_PASS_DEF_NVFP4EXPAND
#include "nvfp4/Conversion/Passes.h.inc"
} // namespace nvfp4
} // namespace mlir

using namespace mlir;
using namespace mlir::nvfp4;

namespace {
/// Loops and memory accesses around the numerics builder. All loop bodies
/// are emitted with the one builder `b`, whose insertion point moves into
/// each body while it is built.
class LoopEmitter {
public:
  LoopEmitter(OpBuilder &b, Location loc) : b(b), loc(loc), num(b, loc) {}

  NumericsBuilder &math() { return num; }

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value addI(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mulI(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value divI(Value x, int64_t d) {
    return arith::DivUIOp::create(b, loc, x, idx(d));
  }
  Value remI(Value x, Value d) { return arith::RemUIOp::create(b, loc, x, d); }
  Value divI(Value x, Value d) { return arith::DivUIOp::create(b, loc, x, d); }
  Value minI(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value ceilDivI(Value x, int64_t d) { return divI(addI(x, idx(d - 1)), d); }
  Value dim(Value memref, unsigned i) {
    return memref::DimOp::create(b, loc, memref, i);
  }

  /// `for iv in [lb, ub)` carrying `init`; `body` returns the next values.
  SmallVector<Value>
  loop(Value lb, Value ub, ValueRange init,
       function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto forOp = scf::ForOp::create(b, loc, lb, ub, idx(1), init);
    OpBuilder::InsertionGuard guard(b);
    Block *block = forOp.getBody();
    if (!block->empty())
      block->getTerminator()->erase();
    b.setInsertionPointToEnd(block);
    SmallVector<Value> next =
        body(forOp.getInductionVar(), forOp.getRegionIterArgs());
    scf::YieldOp::create(b, loc, next);
    return SmallVector<Value>(forOp.getResults());
  }
  void loop(Value lb, Value ub, function_ref<void(Value)> body) {
    loop(lb, ub, {}, [&](Value iv, ValueRange) {
      body(iv);
      return SmallVector<Value>();
    });
  }
  /// Loads an element and widens it exactly to f32.
  Value loadF32(Value memref, ValueRange indices) {
    Value v = memref::LoadOp::create(b, loc, memref, indices);
    if (!v.getType().isF32())
      v = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
    return v;
  }
  void storeF32(Value v, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, loc, v, memref, indices);
  }
  /// Loads an i8 or f8 byte as an i32 in 0..255.
  Value loadByte(Value memref, ValueRange indices) {
    Value v = memref::LoadOp::create(b, loc, memref, indices);
    if (!v.getType().isInteger(8))
      v = arith::BitcastOp::create(b, loc, b.getI8Type(), v);
    return arith::ExtUIOp::create(b, loc, b.getI32Type(), v);
  }
  /// Stores the low 8 bits of an i32 into an i8 or f8 memref.
  void storeByte(Value byte, Value memref, ValueRange indices) {
    Value v = arith::TruncIOp::create(b, loc, b.getI8Type(), byte);
    Type element = cast<MemRefType>(memref.getType()).getElementType();
    if (element != v.getType())
      v = arith::BitcastOp::create(b, loc, element, v);
    memref::StoreOp::create(b, loc, v, memref, indices);
  }
  /// Stores byte `flat` of a row-major 2-D byte buffer.
  void storeFlatByte(Value byte, Value memref, Value flat) {
    Value cols = dim(memref, 1);
    storeByte(byte, memref, {divI(flat, cols), remI(flat, cols)});
  }
  Value loadFlatByte(Value memref, Value flat) {
    Value cols = dim(memref, 1);
    return loadByte(memref, {divI(flat, cols), remI(flat, cols)});
  }
  /// Converts an f32 to the element type of `memref` (RNE) and stores it.
  void storeValue(Value v, Value memref, ValueRange indices) {
    Type element = cast<MemRefType>(memref.getType()).getElementType();
    if (element.isBF16()) {
      // Round on the bit pattern (exact RNE) rather than rely on a host
      // libcall for f32 -> bf16.
      Value bits = num.bitsOf(num.roundToBF16(v));
      Value hi = arith::ShRUIOp::create(b, loc, bits, num.i32(16));
      v = arith::BitcastOp::create(
          b, loc, element, arith::TruncIOp::create(b, loc, b.getI16Type(), hi));
    } else if (!element.isF32()) {
      v = arith::TruncFOp::create(b, loc, element, v);
    }
    memref::StoreOp::create(b, loc, v, memref, indices);
  }

  Value blockAmax(ArrayRef<Value> x) {
    Value acc = num.f32(0.0f);
    for (Value xi : x)
      acc = num.amaxStep(acc, xi);
    return acc;
  }

private:
  OpBuilder &b;
  Location loc;
  NumericsBuilder num;
};

/// One quantized output: the matrix it quantizes (X or, after the
/// transform, X^T), the buffers it writes, and how to read its blocks.
struct Direction {
  Value data, scale, amax;
  Value rows, cols, numBlocks;
  unsigned stream; ///< 0 rowwise, 1 columnwise (SPEC.md section 8)
  /// The 16 f32 values of block `blk` of row `r`.
  std::function<SmallVector<Value, kBlock>(Value r, Value blk)> loadBlock;
};

/// Emits the quantization of one direction.
class DirectionEmitter {
public:
  DirectionEmitter(LoopEmitter &e, RecipeAttr recipe, Direction &d)
      : e(e), m(e.math()), recipe(recipe), d(d) {}

  void emit() {
    if (recipe.getSfLayout() != ScaleLayout::Linear)
      zeroScales();
    emitOuterAmax();
    if (recipe.isBlock2D())
      emitTiles();
    else
      emitBlocks();
  }

private:
  /// Padding bytes of swizzled layouts must read as 0 (SPEC.md section 10).
  void zeroScales() {
    Value zero = m.i32(0);
    e.loop(e.idx(0), e.dim(d.scale, 0), [&](Value r) {
      e.loop(e.idx(0), e.dim(d.scale, 1),
             [&](Value c) { e.storeByte(zero, d.scale, {r, c}); });
    });
  }

  /// Max |x| over blocks [lb, ub) of row `r`, folded into `acc`.
  Value rowAmax(Value r, Value lb, Value ub, Value acc) {
    return e.loop(lb, ub, {acc}, [&](Value blk, ValueRange args) {
      Value a = e.blockAmax(d.loadBlock(r, blk));
      return SmallVector<Value>{m.fmax(args[0], a)};
    })[0];
  }

  void emitOuterAmax() {
    Value zero = m.f32(0.0f);
    switch (recipe.getOuter()) {
    case OuterGroup::Tensor: {
      Value amax = e.loop(e.idx(0), d.rows, {zero},
                          [&](Value r, ValueRange args) {
                            return SmallVector<Value>{
                                rowAmax(r, e.idx(0), d.numBlocks, args[0])};
                          })[0];
      e.storeF32(amax, d.amax, {e.idx(0)});
      return;
    }
    case OuterGroup::Row:
      e.loop(e.idx(0), d.rows, [&](Value r) {
        e.storeF32(rowAmax(r, e.idx(0), d.numBlocks, zero), d.amax, {r});
      });
      return;
    case OuterGroup::Window: {
      // Four 16-blocks per 64-wide window; the last window of a row may
      // hold fewer.
      Value windows = e.ceilDivI(d.numBlocks, 4);
      e.loop(e.idx(0), d.rows, [&](Value r) {
        e.loop(e.idx(0), windows, [&](Value w) {
          Value lb = e.mulI(w, e.idx(4));
          Value ub = e.minI(e.addI(lb, e.idx(4)), d.numBlocks);
          e.storeF32(rowAmax(r, lb, ub, zero), d.amax, {r, w});
        });
      });
      return;
    }
    }
  }

  /// The raw outer amax of block `blk` of row `r`.
  Value outerAmax(Value tensorAmax, Value r, Value blk) {
    switch (recipe.getOuter()) {
    case OuterGroup::Tensor:
      return tensorAmax;
    case OuterGroup::Row:
      return e.loadF32(d.amax, {r});
    case OuterGroup::Window:
      return e.loadF32(d.amax, {r, e.divI(blk, 4)});
    }
    llvm_unreachable("unknown outer group");
  }

  Value tensorAmaxOrNull() {
    if (recipe.getOuter() != OuterGroup::Tensor)
      return {};
    return e.loadF32(d.amax, {e.idx(0)});
  }

  /// Random bytes of block (r, blk) for stochastic rounding, else none.
  SmallVector<Value, kBlock> randomBytesFor(Value r, Value blk) {
    if (!recipe.isStochastic())
      return {};
    OpBuilder &b = m.getBuilder();
    Value linear = e.addI(e.mulI(r, d.numBlocks), blk);
    Value index = arith::IndexCastUIOp::create(b, m.getLoc(),
                                               b.getI64Type(), linear);
    return m.randomBytes(recipe.getSeed(), index, d.stream);
  }

  void storeBlock(Value r, Value blk, Value sf, ArrayRef<Value> bytes) {
    Value offset = m.scaleOffset(recipe.getSfLayout(), r, blk, d.numBlocks);
    e.storeFlatByte(sf, d.scale, offset);
    Value base = e.mulI(blk, e.idx(kBlock / 2));
    for (auto [j, byte] : llvm::enumerate(bytes))
      e.storeByte(byte, d.data, {r, e.addI(base, e.idx(j))});
  }

  /// 1x16 blocks: each block has its own scale.
  void emitBlocks() {
    Value tensorAmax = tensorAmaxOrNull();
    e.loop(e.idx(0), d.rows, [&](Value r) {
      e.loop(e.idx(0), d.numBlocks, [&](Value blk) {
        SmallVector<Value, kBlock> x = d.loadBlock(r, blk);
        Value blockAmax = e.blockAmax(x);
        Value amax = outerAmax(tensorAmax, r, blk);
        Value sEnc = m.outerScaleFor(recipe, amax);
        NumericsBuilder::BlockScale scale;
        if (recipe.isFourOverSix()) {
          auto candidates = m.fourOverSixScales(recipe, blockAmax, sEnc,
                                                m.reciprocal(sEnc));
          scale = pick(m.fourOverSixError(recipe, x, candidates[0], amax),
                       m.fourOverSixError(recipe, x, candidates[1], amax),
                       candidates);
        } else {
          scale = m.blockScaleFor(recipe, blockAmax, sEnc);
        }
        storeBlock(r, blk, scale.sf,
                   m.encodeElements(x, scale.enc, randomBytesFor(r, blk)));
      });
    });
  }

  /// Map-to-4 only when strictly better: ties keep map-to-6.
  NumericsBuilder::BlockScale
  pick(Value err4, Value err6,
       std::array<NumericsBuilder::BlockScale, 2> candidates) {
    Value four = m.cmpF(arith::CmpFPredicate::OLT, err4, err6);
    return {m.select(four, candidates[0].sf, candidates[1].sf),
            m.select(four, candidates[0].enc, candidates[1].enc)};
  }

  /// 16x16 tiles: one scale (and one 4over6 decision) per tile, stored on
  /// each of the tile's rows. A ragged last tile has fewer rows; the rows
  /// it lacks neither raise its amax nor add to its error.
  void emitTiles() {
    Value tensorAmax = tensorAmaxOrNull();
    Value sEnc = m.outerScaleFor(recipe, tensorAmax);
    Value sDec = m.reciprocal(sEnc);
    Value tiles = e.ceilDivI(d.rows, kBlock);
    e.loop(e.idx(0), tiles, [&](Value t) {
      e.loop(e.idx(0), d.numBlocks, [&](Value blk) {
        Value r0 = e.mulI(t, e.idx(kBlock));
        Value rEnd = e.minI(e.addI(r0, e.idx(kBlock)), d.rows);
        Value tileAmax =
            e.loop(r0, rEnd, {m.f32(0.0f)}, [&](Value r, ValueRange args) {
              Value a = e.blockAmax(d.loadBlock(r, blk));
              return SmallVector<Value>{m.fmax(args[0], a)};
            })[0];
        NumericsBuilder::BlockScale scale;
        if (recipe.isFourOverSix()) {
          auto candidates =
              m.fourOverSixScales(recipe, tileAmax, sEnc, sDec);
          // Row errors go through a 16-entry scratch buffer (rows a ragged
          // tile lacks stay 0) so the row body is emitted once, not 16 times.
          OpBuilder &b = m.getBuilder();
          Location loc = m.getLoc();
          auto scratchType = MemRefType::get({2, kBlock}, b.getF32Type());
          Value errors = memref::AllocaOp::create(b, loc, scratchType);
          Value zero = m.f32(0.0f);
          for (int64_t c = 0; c < 2; ++c)
            for (int64_t k = 0; k < kBlock; ++k)
              e.storeF32(zero, errors, {e.idx(c), e.idx(k)});
          e.loop(r0, rEnd, [&](Value r) {
            SmallVector<Value, kBlock> x = d.loadBlock(r, blk);
            Value k = arith::SubIOp::create(b, loc, r, r0);
            for (int64_t c = 0; c < 2; ++c)
              e.storeF32(m.fourOverSixError(recipe, x, candidates[c],
                                            tensorAmax),
                         errors, {e.idx(c), k});
          });
          SmallVector<Value, kBlock> err4, err6;
          for (int64_t k = 0; k < kBlock; ++k) {
            err4.push_back(e.loadF32(errors, {e.idx(0), e.idx(k)}));
            err6.push_back(e.loadF32(errors, {e.idx(1), e.idx(k)}));
          }
          scale = pick(m.treeSum16(err4), m.treeSum16(err6), candidates);
        } else {
          scale = m.blockScaleFor(recipe, tileAmax, sEnc);
        }
        e.loop(r0, rEnd, [&](Value r) {
          SmallVector<Value, kBlock> x = d.loadBlock(r, blk);
          storeBlock(r, blk, scale.sf,
                     m.encodeElements(x, scale.enc, randomBytesFor(r, blk)));
        });
      });
    });
  }

  LoopEmitter &e;
  NumericsBuilder &m;
  RecipeAttr recipe;
  Direction &d;
};

struct ExpandQuantize : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    LoopEmitter e(rewriter, loc);
    NumericsBuilder &m = e.math();
    RecipeAttr recipe = op.getRecipe();
    Value input = op.getInput();
    Value numRows = e.dim(input, 0), numCols = e.dim(input, 1);

    if (op.getData()) {
      Direction row{op.getData(), op.getScale(), op.getAmax(), numRows,
                    numCols, e.divI(numCols, kBlock), /*stream=*/0,
                    [&](Value r, Value blk) {
                      SmallVector<Value, kBlock> x;
                      Value base = e.mulI(blk, e.idx(kBlock));
                      for (unsigned i = 0; i < kBlock; ++i)
                        x.push_back(
                            e.loadF32(input, {r, e.addI(base, e.idx(i))}));
                      return x;
                    }};
      DirectionEmitter(e, recipe, row).emit();
    }
    if (op.getDataT()) {
      // Row r of X^T is column r of X; RHT mixes each group of 16 along M.
      Direction col{op.getDataT(), op.getScaleT(), op.getAmaxT(), numCols,
                    numRows, e.divI(numRows, kBlock), /*stream=*/1,
                    [&](Value r, Value blk) {
                      SmallVector<Value, kBlock> x;
                      Value base = e.mulI(blk, e.idx(kBlock));
                      for (unsigned i = 0; i < kBlock; ++i)
                        x.push_back(
                            e.loadF32(input, {e.addI(base, e.idx(i)), r}));
                      if (recipe.hasRHT())
                        return m.rht16(x, recipe.getRhtMask());
                      return x;
                    }};
      DirectionEmitter(e, recipe, col).emit();
    }
    rewriter.eraseOp(op);
    return success();
  }
};

struct ExpandDequantize : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    LoopEmitter e(rewriter, op.getLoc());
    NumericsBuilder &m = e.math();
    RecipeAttr recipe = op.getRecipe();
    Value out = op.getOutput();
    Value rows = e.dim(out, 0);
    Value numBlocks = e.divI(e.dim(out, 1), kBlock);
    Value tensorAmax;
    if (recipe.getOuter() == OuterGroup::Tensor)
      tensorAmax = e.loadF32(op.getAmax(), {e.idx(0)});
    e.loop(e.idx(0), rows, [&](Value r) {
      e.loop(e.idx(0), numBlocks, [&](Value blk) {
        Value sf = e.loadFlatByte(
            op.getScale(),
            m.scaleOffset(recipe.getSfLayout(), r, blk, numBlocks));
        Value amax = tensorAmax;
        if (recipe.getOuter() == OuterGroup::Row)
          amax = e.loadF32(op.getAmax(), {r});
        else if (recipe.getOuter() == OuterGroup::Window)
          amax = e.loadF32(op.getAmax(), {r, e.divI(blk, 4)});
        // The quotient form encoded against the floored amax.
        if (recipe.getNumerics() == Numerics::Quotient)
          amax = m.fmax(amax, m.f32(1e-12f));
        Value scale = m.dequantScale(sf, amax, recipe.getE4m3Max());
        for (unsigned j = 0; j < kBlock / 2; ++j) {
          Value byte = e.loadByte(
              op.getData(), {r, e.addI(e.mulI(blk, e.idx(kBlock / 2)),
                                       e.idx(j))});
          Value lo = arith::AndIOp::create(rewriter, op.getLoc(), byte,
                                           m.i32(0xF));
          Value hi = arith::ShRUIOp::create(rewriter, op.getLoc(), byte,
                                            m.i32(4));
          Value col = e.addI(e.mulI(blk, e.idx(kBlock)), e.idx(2 * j));
          e.storeValue(m.dequantValue(lo, scale), out, {r, col});
          e.storeValue(m.dequantValue(hi, scale), out,
                       {r, e.addI(col, e.idx(1))});
        }
      });
    });
    rewriter.eraseOp(op);
    return success();
  }
};

struct NVFP4ExpandPass : nvfp4::impl::NVFP4ExpandBase<NVFP4ExpandPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateNVFP4ExpandPatterns(patterns);
    // Each pattern erases its op, so one walk applies everything; no
    // folding is wanted here (the IR is FileChecked stage by stage).
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config)))
      return signalPassFailure();
    WalkResult unsupported = getOperation()->walk([](Operation *op) {
      if (!isa<NVFP4Dialect>(op->getDialect()))
        return WalkResult::advance();
      op->emitOpError("is not supported by the CPU lowering (nvfp4-expand) "
                      "yet");
      return WalkResult::interrupt();
    });
    if (unsupported.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace

void mlir::nvfp4::populateNVFP4ExpandPatterns(RewritePatternSet &patterns) {
  patterns.add<ExpandQuantize, ExpandDequantize>(patterns.getContext());
}
