//===- GemmPipeline.cpp - Warp-specialized GEMM pipeline ------------------===//
//
// See GemmPipeline.h.
//
//===----------------------------------------------------------------------===//

#include "GemmPipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::nvfp4::detail;

GemmPipeline::GemmPipeline(ImplicitLocOpBuilder &b, Value barriers,
                           int64_t stages, int64_t producerArrivals,
                           int64_t consumerArrivals)
    : b(b), barriers(barriers), numStages(stages),
      producerArrivals(producerArrivals), consumerArrivals(consumerArrivals) {}

Value GemmPipeline::idx(int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

/// Barrier `index` of the 2 * S words: full[s] is s, empty[s] is S + s.
Value GemmPipeline::barrier(Value index) {
  Value offset = arith::IndexCastUIOp::create(b, b.getI64Type(), index);
  return LLVM::GEPOp::create(b, barriers.getType(), b.getI64Type(), barriers,
                             ValueRange{offset});
}

void GemmPipeline::ifThenElse(Value cond, function_ref<void()> then,
                              function_ref<void()> otherwise) {
  auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/bool(otherwise));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  then();
  if (otherwise) {
    b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    otherwise();
  }
}

void GemmPipeline::initialize(Value tid, ArrayRef<GemmPipeline *> others) {
  Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, idx(0));
  ifThenElse(first, [&] {
    initBarriers();
    for (GemmPipeline *other : others)
      other->initBarriers();
    // The initialisation must be visible before any thread's arrive/wait.
    NVVM::FenceMbarrierInitOp::create(b);
  });
  gpu::BarrierOp::create(b);
}

void GemmPipeline::initBarriers() {
  auto i32 = [&](int64_t v) {
    return arith::ConstantOp::create(b, b.getI32IntegerAttr(int32_t(v)));
  };
  for (int64_t s = 0; s < numStages; ++s) {
    NVVM::MBarrierInitOp::create(b, barrier(idx(s)), i32(producerArrivals),
                                 Value());
    NVVM::MBarrierInitOp::create(b, barrier(idx(numStages + s)),
                                 i32(consumerArrivals), Value());
  }
}

GemmPipeline::Slot GemmPipeline::firstSlot() {
  return {idx(0), arith::ConstantOp::create(b, b.getI32IntegerAttr(0))};
}

Value GemmPipeline::tiles(Value numTiles) {
  Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value grid = gpu::GridDimOp::create(b, gpu::Dimension::x);
  // ceil((numTiles - block) / grid) tiles, none when block >= numTiles.
  Value remaining = arith::SubIOp::create(b, numTiles, block);
  Value mine = arith::DivUIOp::create(
      b,
      arith::SubIOp::create(b, arith::AddIOp::create(b, remaining, grid),
                            idx(1)),
      grid);
  Value any = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, block,
                                    numTiles);
  return arith::SelectOp::create(b, any, mine, idx(0));
}

Value GemmPipeline::tileOf(Value local) {
  Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value grid = gpu::GridDimOp::create(b, gpu::Dimension::x);
  return arith::AddIOp::create(b, block, arith::MulIOp::create(b, local, grid));
}

Value GemmPipeline::iterations(Value numTiles, Value numChunks) {
  return arith::MulIOp::create(b, tiles(numTiles), numChunks);
}

std::pair<Value, Value> GemmPipeline::tileAndChunk(Value i, Value numChunks) {
  return {tileOf(arith::DivUIOp::create(b, i, numChunks)),
          arith::RemUIOp::create(b, i, numChunks)};
}

std::pair<GemmPipeline::Slot, SmallVector<Value>> GemmPipeline::loop(
    Value count, Slot slot, ValueRange init,
    function_ref<SmallVector<Value>(Value, Slot, ValueRange)> body) {
  SmallVector<Value> iter{slot.stage, slot.phase};
  llvm::append_range(iter, init);
  auto forOp = scf::ForOp::create(b, idx(0), count, idx(1), iter);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    auto args = forOp.getRegionIterArgs();
    Slot at{args[0], args[1]};
    SmallVector<Value> next =
        body(forOp.getInductionVar(), at, args.drop_front(2));
    // Advance: stage + 1, wrapping to 0 with the phase flipped.
    Value stage = arith::AddIOp::create(b, at.stage, idx(1));
    Value wrap = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, stage,
                                       idx(numStages));
    Value flipped = arith::XOrIOp::create(
        b, at.phase, arith::ConstantOp::create(b, b.getI32IntegerAttr(1)));
    SmallVector<Value> yield{arith::SelectOp::create(b, wrap, idx(0), stage),
                             arith::SelectOp::create(b, wrap, flipped,
                                                     at.phase)};
    llvm::append_range(yield, next);
    scf::YieldOp::create(b, yield);
  }
  auto results = forOp.getResults();
  return {Slot{results[0], results[1]},
          SmallVector<Value>(results.drop_front(2))};
}

Value GemmPipeline::previousStage(Value stage) {
  Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, stage,
                                      idx(0));
  return arith::SelectOp::create(b, first, idx(numStages - 1),
                                 arith::SubIOp::create(b, stage, idx(1)));
}

/// Spins on `mbarrier.try_wait.parity` (which may return false on a
/// system time limit) until the phase of `parity` has completed.
void GemmPipeline::waitParity(Value bar, Value parity) {
  auto loop = scf::WhileOp::create(b, TypeRange{}, ValueRange{});
  OpBuilder::InsertionGuard guard(b);
  b.createBlock(&loop.getBefore());
  Value done =
      NVVM::MBarrierTryWaitOp::create(b, b.getI1Type(), bar, parity, Value());
  Value notDone = arith::XOrIOp::create(
      b, done, arith::ConstantIntOp::create(b, b.getI1Type(), 1));
  scf::ConditionOp::create(b, notDone, ValueRange{});
  b.createBlock(&loop.getAfter());
  scf::YieldOp::create(b);
}

void GemmPipeline::waitEmpty(Slot slot) {
  Value previous = arith::XOrIOp::create(
      b, slot.phase, arith::ConstantOp::create(b, b.getI32IntegerAttr(1)));
  waitParity(barrier(arith::AddIOp::create(b, slot.stage, idx(numStages))),
             previous);
}

void GemmPipeline::arriveFull(Slot slot) {
  NVVM::MBarrierArriveOp::create(b, Type(), barrier(slot.stage), Value());
}

void GemmPipeline::waitFull(Slot slot) {
  waitParity(barrier(slot.stage), slot.phase);
}

void GemmPipeline::arriveEmpty(Value stage) {
  NVVM::MBarrierArriveOp::create(
      b, Type(), barrier(arith::AddIOp::create(b, stage, idx(numStages))),
      Value());
}

void GemmPipeline::splitRoles(Value tid, int64_t producerGroups,
                              int64_t producerRegs, int64_t consumerRegs,
                              function_ref<void()> produce,
                              function_ref<void()> consume) {
  auto i32 = [&](int64_t v) {
    return arith::ConstantOp::create(b, b.getI32IntegerAttr(int32_t(v)));
  };
  Value group = arith::IndexCastUIOp::create(
      b, b.getI32Type(), arith::DivUIOp::create(b, tid, idx(128)));
  group = NVVM::ShflOp::create(b, b.getI32Type(), i32(-1), group, i32(0),
                               i32(0x1f), NVVM::ShflKind::idx, UnitAttr());
  Value isProducer = arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                           group, i32(producerGroups));
  auto budget = [&](int64_t regs, NVVM::SetMaxRegisterAction action) {
    if (regs)
      NVVM::SetMaxRegisterOp::create(b, uint32_t(regs), action);
  };
  ifThenElse(
      isProducer,
      [&] {
        budget(producerRegs, NVVM::SetMaxRegisterAction::decrease);
        produce();
      },
      [&] {
        budget(consumerRegs, NVVM::SetMaxRegisterAction::increase);
        consume();
      });
}

Value GemmPipeline::fullBarrier(Value stage) { return barrier(stage); }

Value GemmPipeline::emptyBarrier(Value stage) {
  return barrier(arith::AddIOp::create(b, stage, idx(numStages)));
}

GemmPipeline::Slot GemmPipeline::advance(Slot slot, Value count) {
  Value total = arith::AddIOp::create(b, slot.stage, count);
  Value wraps = arith::IndexCastUIOp::create(
      b, b.getI32Type(), arith::DivUIOp::create(b, total, idx(numStages)));
  Value flip = arith::AndIOp::create(
      b, wraps, arith::ConstantOp::create(b, b.getI32IntegerAttr(1)));
  return {arith::RemUIOp::create(b, total, idx(numStages)),
          arith::XOrIOp::create(b, slot.phase, flip)};
}

void GemmPipeline::fillStage(Slot slot, ArrayRef<TensorTile> tiles,
                             ArrayRef<ByteRange> ranges) {
  int64_t bytes = 0;
  for (const TensorTile &t : tiles)
    bytes += t.bytes;
  for (const ByteRange &r : ranges)
    bytes += r.bytes;
  Value full = barrier(slot.stage);
  // Arm first: the copies may complete before this thread would otherwise
  // reach the arrival, and the phase must not complete on the arrival
  // alone before the byte count is known.
  NVVM::MBarrierArriveExpectTxOp::create(
      b, Type(), full,
      arith::ConstantOp::create(b, b.getI32IntegerAttr(int32_t(bytes))),
      NVVM::MemScopeKind::CTA, /*relaxed=*/false, /*predicate=*/Value());
  // The copies name their destination in the cluster's shared window; a
  // CTA's own shared addresses are valid there.
  auto cluster = LLVM::LLVMPointerType::get(b.getContext(), 7);
  auto i32 = [&](Value v) {
    return v.getType().isIndex()
               ? Value(arith::IndexCastUIOp::create(b, b.getI32Type(), v))
               : v;
  };
  for (const TensorTile &t : tiles) {
    Value dst = LLVM::AddrSpaceCastOp::create(b, cluster, t.dst);
    NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
        b, dst, t.map, ValueRange{i32(t.x), i32(t.y)}, full,
        /*im2colOffsets=*/ValueRange{}, /*multicastMask=*/Value(),
        /*l2CacheHint=*/Value(), NVVM::TMALoadMode::TILE,
        /*isCTAOnly=*/false, /*group=*/NVVM::CTAGroupKindAttr(),
        /*predicate=*/Value());
  }
  for (const ByteRange &r : ranges) {
    Value dst = LLVM::AddrSpaceCastOp::create(b, cluster, r.dst);
    NVVM::CpAsyncBulkGlobalToSharedClusterOp::create(
        b, dst, r.src, full,
        arith::ConstantOp::create(b, b.getI32IntegerAttr(int32_t(r.bytes))),
        /*multicastMask=*/Value(), /*l2CacheHint=*/Value());
  }
}

void GemmPipeline::prefetchTensorMap(Value map) {
  NVVM::PrefetchOp::create(b, /*cacheLevel=*/nullptr, /*evictPriority=*/nullptr,
                           map, /*predicate=*/Value(), /*tensormap=*/true,
                           /*uniform=*/false, /*in_param_space=*/true);
}
