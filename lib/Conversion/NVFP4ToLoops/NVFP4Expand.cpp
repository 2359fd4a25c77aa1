//===- NVFP4Expand.cpp - nvfp4 ops to SPEC.md math over scf loops ---------===//
//
// The CPU schedule: plain loops over the memrefs, with every formula coming
// from the numerics builder. It favours obviously-right structure over
// speed: outer amaxes are computed and stored first, then read back while
// encoding, exactly as SPEC.md describes the two levels.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Conversion/Passes.h"
#include "nvfp4/Conversion/ProducerEmitter.h"
#include "nvfp4/Conversion/QuantizeEmitter.h"
#include "MatmulExpand.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Dialect.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Numerics/NumericsBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "mlir/Transforms/DialectConversion.h"
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

using namespace mlir::nvfp4::detail;

namespace {
/// The outputs of a quantization of X (read through `q`) with `recipe`:
/// each direction given, in order, its swizzle padding zeroed first.
void expandDirections(LoweringBuilder &e, RecipeAttr recipe,
                      QuantizeLowering &q, Value data, Value scale,
                      Value amax, Value dataT, Value scaleT, Value amaxT) {
  SerialSchedule serial;
  bool swizzled = recipe.getSfLayout() != ScaleLayout::Linear;
  if (data) {
    if (swizzled)
      DirectionEmitter::zeroScales(e, scale, serial);
    Direction d = q.rowwise(data, scale, amax, e.idx(0), q.rows(),
                            /*group=*/{}, e.idx(0));
    DirectionEmitter(e, recipe, d, serial).emit();
  }
  if (dataT) {
    if (swizzled)
      DirectionEmitter::zeroScales(e, scaleT, serial);
    Direction d = q.columnwise(dataT, scaleT, amaxT, e.idx(0), q.rows(),
                               /*group=*/{});
    DirectionEmitter(e, recipe, d, serial).emit();
  }
}

struct ExpandQuantize : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    LoweringBuilder e(b);
    QuantizeLowering q(e, op.getRecipe(), op.getInput());
    expandDirections(e, op.getRecipe(), q, op.getData(), op.getScale(),
                     op.getAmax(), op.getDataT(), op.getScaleT(),
                     op.getAmaxT());
    rewriter.eraseOp(op);
    return success();
  }
};

/// The RMSNorm of `op` (rms_norm or rms_norm_quantize) as a source whose
/// scales are read back from `rstd`, after they are computed and stored
/// there.
template <typename OpTy>
RMSNormSource expandRMSInverse(LoweringBuilder &e, OpTy op) {
  Value rstd = op.getRstd();
  RMSNormSource source(op.getInput(), op.getWeight(), op.getResidual(),
                       [rstd](LoweringBuilder &e, Value r) {
                         return e.loadF32(rstd, {r});
                       });
  emitRMSInverseLoops(e, source, op.getEps().convertToFloat(), rstd);
  return source;
}

struct ExpandRMSNorm : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RMSNormOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    LoweringBuilder e(b);
    SerialSchedule serial;
    RMSNormSource source = expandRMSInverse(e, op);
    emitProducerOutputs(e, source, op.getOutput(), &source, serial);
    rewriter.eraseOp(op);
    return success();
  }
};

struct ExpandGatedAct : OpRewritePattern<GatedActOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GatedActOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    LoweringBuilder e(b);
    SerialSchedule serial;
    GatedActSource source(op.getAct(), op.getInput());
    emitProducerOutputs(e, source, op.getOutput(), /*rms=*/nullptr, serial);
    rewriter.eraseOp(op);
    return success();
  }
};

/// The fused forms: the quantization reads X through the producer, then
/// the producer's own outputs are written (the residual last, as every
/// earlier read of the op needs its old value).
struct ExpandRMSNormQuantize : OpRewritePattern<RMSNormQuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RMSNormQuantizeOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    LoweringBuilder e(b);
    SerialSchedule serial;
    RMSNormSource source = expandRMSInverse(e, op);
    QuantizeLowering q(e, op.getRecipe(), source);
    expandDirections(e, op.getRecipe(), q, op.getData(), op.getScale(),
                     op.getAmax(), op.getDataT(), op.getScaleT(),
                     op.getAmaxT());
    emitProducerOutputs(e, source, op.getY(), &source, serial);
    rewriter.eraseOp(op);
    return success();
  }
};

struct ExpandGatedActQuantize : OpRewritePattern<GatedActQuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GatedActQuantizeOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    LoweringBuilder e(b);
    SerialSchedule serial;
    GatedActSource source(op.getAct(), op.getInput());
    QuantizeLowering q(e, op.getRecipe(), source);
    expandDirections(e, op.getRecipe(), q, op.getData(), op.getScale(),
                     op.getAmax(), op.getDataT(), op.getScaleT(),
                     op.getAmaxT());
    emitProducerOutputs(e, source, op.getY(), /*rms=*/nullptr, serial);
    rewriter.eraseOp(op);
    return success();
  }
};

/// The outer amaxes alone: the first stage of a quantize, for each
/// direction the recipe has.
struct ExpandAmax : OpRewritePattern<AmaxOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AmaxOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    LoweringBuilder e(b);
    SerialSchedule serial;
    RecipeAttr recipe = op.getRecipe();
    QuantizeLowering q(e, recipe, op.getInput());
    if (op.getAmax()) {
      Direction d = q.rowwise(/*data=*/{}, /*scale=*/{}, op.getAmax(),
                              e.idx(0), q.rows(), /*group=*/{}, e.idx(0));
      DirectionEmitter(e, recipe, d, serial).emitOuterAmax();
    }
    if (op.getAmaxT()) {
      Direction d = q.columnwise(/*data=*/{}, /*scale=*/{}, op.getAmaxT(),
                                 e.idx(0), q.rows(), /*group=*/{});
      DirectionEmitter(e, recipe, d, serial).emitOuterAmax();
    }
    rewriter.eraseOp(op);
    return success();
  }
};

struct ExpandGroupedQuantize : OpRewritePattern<GroupedQuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedQuantizeOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    LoweringBuilder e(b);
    SerialSchedule serial;
    RecipeAttr recipe = op.getRecipe();
    QuantizeLowering q(e, recipe, op.getInput());
    if (op.getData() && recipe.getSfLayout() != ScaleLayout::Linear)
      DirectionEmitter::zeroScales(e, op.getScale(), serial);
    int64_t tile = scaleTile(recipe.getSfLayout()).first;
    Value groups = e.dim(op.getSplits(), 0);
    // Groups run in order; each starts where the previous one ended, and
    // (swizzled) on a fresh scale row tile. A split running past M is
    // clamped here; the runtime rejects such splits before launching.
    e.loop(e.idx(0), groups, {e.idx(0), e.idx(0)},
           [&](Value g, ValueRange args) {
             Value rowOffset = args[0], scaleRow = args[1];
             Value split = arith::IndexCastOp::create(
                 b, b.getIndexType(),
                 memref::LoadOp::create(b, op.getSplits(), g));
             Value rows = e.minI(split, arith::SubIOp::create(
                                            b, q.rows(),
                                            e.minI(rowOffset, q.rows())));
             if (op.getData()) {
               Direction d = q.rowwise(op.getData(), op.getScale(),
                                       op.getAmax(), rowOffset, rows, g,
                                       scaleRow);
               DirectionEmitter(e, recipe, d, serial).emit();
             }
             if (op.getDataT()) {
               Direction d = q.columnwise(op.getDataT(), op.getScaleT(),
                                          op.getAmaxT(), rowOffset, rows, g);
               DirectionEmitter(e, recipe, d, serial).emit();
             }
             Value padded = e.mulI(e.ceilDivI(rows, tile), e.idx(tile));
             return SmallVector<Value>{e.addI(rowOffset, rows),
                                       e.addI(scaleRow, padded)};
           });
    rewriter.eraseOp(op);
    return success();
  }
};

struct ExpandDequantize : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    LoweringBuilder e(b);
    RecipeAttr recipe = op.getRecipe();
    Value out = op.getOutput();
    Value rows = e.dim(out, 0);
    Value numBlocks = e.divI(e.dim(out, 1), kBlock);
    Value tensorAmax;
    if (recipe.getOuter() == OuterGroup::Tensor)
      tensorAmax = e.loadF32(op.getAmax(), {e.idx(0)});
    // The per-block steps are the GPU kernel's (QuantizeEmitter.h).
    e.loop(e.idx(0), rows, [&](Value r) {
      e.loop(e.idx(0), numBlocks, [&](Value blk) {
        emitDequantizeBlock(e, recipe, op.getData(), op.getScale(),
                            op.getAmax(), out, r, blk, numBlocks, tensorAmax);
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
    // Every nvfp4 op must be expanded: one without a pattern (or whose
    // pattern fails) is an error, not IR passed on to the LLVM lowering.
    // Everything else is legal as it is. Each pattern builds its loops
    // and erases its op in one step, so nothing is rolled back; no folding
    // is wanted (the IR is FileChecked stage by stage).
    ConversionTarget target(getContext());
    target.addIllegalDialect<NVFP4Dialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    ConversionConfig config;
    config.allowPatternRollback = false;
    config.foldingMode = DialectConversionFoldingMode::Never;
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns), config)))
      return signalPassFailure();
    // Constants to the top of their region, deduplicated, and unused ops
    // dropped, as the stage's FileCheck tests read the IR (no folding).
    GreedyRewriteConfig cleanup;
    cleanup.enableFolding(false);
    (void)applyPatternsGreedily(getOperation(), FrozenRewritePatternSet(),
                                cleanup);
  }
};
} // namespace

void mlir::nvfp4::populateNVFP4ExpandPatterns(RewritePatternSet &patterns) {
  patterns.add<ExpandQuantize, ExpandAmax, ExpandGroupedQuantize,
               ExpandDequantize, ExpandRMSNorm, ExpandGatedAct,
               ExpandRMSNormQuantize, ExpandGatedActQuantize>(
      patterns.getContext());
  detail::populateMatmulExpandPatterns(patterns);
}
