//===- FuseProducers.cpp - Producers into the quantize of their result ----===//
//
// nvfp4-fuse-producers (Passes.td): a pattern per producer, matching from
// the quantize backwards to the op that writes its input.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Conversion/Passes.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace nvfp4 {
#define GEN_PASS_DEF_NVFP4FUSEPRODUCERS
#include "nvfp4/Conversion/Passes.h.inc"
} // namespace nvfp4
} // namespace mlir

using namespace mlir;
using namespace mlir::nvfp4;

namespace {
/// The producer of type `OpTy` whose output `q` quantizes, when nothing
/// between them touches memory (so the producer's reads and writes can
/// move to `q`'s place).
template <typename OpTy>
OpTy producerOf(QuantizeOp q) {
  Value x = q.getInput();
  for (Operation *op = q->getPrevNode(); op; op = op->getPrevNode()) {
    auto producer = dyn_cast<OpTy>(op);
    if (producer && producer.getOutput() == x)
      return producer;
    if (!isMemoryEffectFree(op))
      return {};
  }
  return {};
}

/// Whether `y` is a temporary no one else sees: a local allocation whose
/// only users are the producer, the quantize and deallocations.
bool isPrivateTemporary(Value y, Operation *producer, QuantizeOp q) {
  Operation *def = y.getDefiningOp();
  if (!isa_and_nonnull<memref::AllocOp, memref::AllocaOp>(def))
    return false;
  return llvm::all_of(y.getUsers(), [&](Operation *user) {
    return user == producer || user == q.getOperation() ||
           isa<memref::DeallocOp>(user);
  });
}

/// Replaces `q` by the fused op `build(yOrNull)` and erases the producer
/// and, when `y` is no longer written, its allocation.
template <typename Build>
LogicalResult fuse(QuantizeOp q, Operation *producer, Value y,
                   PatternRewriter &rewriter, Build build) {
  bool keepY = !isPrivateTemporary(y, producer, q);
  rewriter.setInsertionPoint(q);
  build(keepY ? y : Value());
  rewriter.eraseOp(q);
  rewriter.eraseOp(producer);
  if (!keepY) {
    for (Operation *user : llvm::make_early_inc_range(y.getUsers()))
      rewriter.eraseOp(user);
    rewriter.eraseOp(y.getDefiningOp());
  }
  return success();
}

struct FuseRMSNorm : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp q,
                                PatternRewriter &rewriter) const override {
    auto p = producerOf<RMSNormOp>(q);
    if (!p)
      return failure();
    return fuse(q, p, p.getOutput(), rewriter, [&](Value y) {
      RMSNormQuantizeOp::create(
          rewriter, q.getLoc(), p.getInput(), p.getWeight(), p.getResidual(),
          p.getEpsAttr(), p.getRstd(), y, q.getRecipe(), q.getData(),
          q.getScale(), q.getAmax(), q.getDataT(), q.getScaleT(),
          q.getAmaxT());
    });
  }
};

struct FuseGatedAct : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp q,
                                PatternRewriter &rewriter) const override {
    auto p = producerOf<GatedActOp>(q);
    if (!p)
      return failure();
    return fuse(q, p, p.getOutput(), rewriter, [&](Value y) {
      GatedActQuantizeOp::create(rewriter, q.getLoc(), p.getActAttr(),
                                 p.getInput(), y, q.getRecipe(), q.getData(),
                                 q.getScale(), q.getAmax(), q.getDataT(),
                                 q.getScaleT(), q.getAmaxT());
    });
  }
};

struct NVFP4FuseProducersPass
    : nvfp4::impl::NVFP4FuseProducersBase<NVFP4FuseProducersPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseRMSNorm, FuseGatedAct>(&getContext());
    // Only these rewrites: no folding of the surrounding IR.
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config)))
      return signalPassFailure();
  }
};
} // namespace
