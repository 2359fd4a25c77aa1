//===- QuantizeTiles.cpp - Both directions from one shared tile -----------===//
//
// Thread t of the 256 in a block holds rowwise block t % 4 of tile row
// t / 4 and columnwise block t / 64 of tile column t % 64. It loads its
// rowwise block from X (one aligned vector load; neighbouring lanes read
// neighbouring 32 bytes, so a warp reads 8 rows x 128 contiguous bytes)
// and stores it to the tile; after a barrier each direction reads its
// blocks from the tile: rows as vectors, columns as 16 scalars whose lanes
// touch consecutive addresses (no bank conflicts). The math per block is
// DirectionEmitter::encodeBlock, as on every other path.
//
//===----------------------------------------------------------------------===//

#include "QuantizeTiles.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

using namespace mlir;
using namespace mlir::nvfp4;
using namespace mlir::nvfp4::detail;

namespace {
/// Threads per block of the tile kernels (nvfp4-to-gpu's block size).
constexpr int64_t kTileThreads = 256;
/// 16-blocks per tile row (rowwise) and per tile column (columnwise); also
/// the blocks of one 1x64 window.
constexpr int64_t kBlocksPerTileSide = kTileCols / kBlock;
static_assert(kTileRows == kTileCols && kTileRows == 4 * kBlock &&
                  kTileRows * kBlocksPerTileSide == kTileThreads,
              "one rowwise and one columnwise block per thread");
} // namespace

MemRefType TileEmitter::tileType(MemRefType input) {
  return MemRefType::get(
      {kTileRows, kTileCols}, input.getElementType(), MemRefLayoutAttrInterface{},
      gpu::AddressSpaceAttr::get(input.getContext(),
                                 gpu::AddressSpace::Workgroup));
}

MemRefType TileEmitter::exchangeType(MLIRContext *ctx) {
  return MemRefType::get(
      {kBlocksPerTileSide, kTileCols}, Float32Type::get(ctx),
      MemRefLayoutAttrInterface{},
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
}

TileEmitter::TileEmitter(LoopEmitter &e, RecipeAttr recipe, Value input,
                         Value smem, Value exchange, Direction &row,
                         Direction &col, RowSchedule &schedule,
                         Value rowOffset, Value rows, Value tile)
    : e(e), m(e.math()), recipe(recipe), input(input), smem(smem),
      exchange(exchange), row(row), col(col), schedule(schedule) {
  OpBuilder &b = e.builder();
  Location loc = e.location();
  Value k = e.dim(input, 1);
  Value tilesK = e.ceilDivI(k, kTileCols);
  tileM = e.divI(tile, tilesK);
  tileK = e.remI(tile, tilesK);
  row0 = e.addI(rowOffset, e.mulI(tileM, e.idx(kTileRows)));
  rowEnd = e.addI(rowOffset, rows);
  col0 = e.mulI(tileK, e.idx(kTileCols));
  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);

  Value side = e.idx(kBlocksPerTileSide);
  rowLane = e.remI(tid, side);
  rowR = e.addI(row0, e.divI(tid, kBlocksPerTileSide));
  rowBlk = e.addI(e.mulI(tileK, side), rowLane);
  rowValid = both(lt(rowR, rowEnd), lt(rowBlk, row.numBlocks));
  // Columnwise blocks count from the group's first row (Direction's
  // convention for grouped outputs).
  colLane = e.divI(tid, kTileCols);
  colR = e.addI(col0, e.remI(tid, e.idx(kTileCols)));
  colBlk = e.addI(e.mulI(tileM, side), colLane);
  colValid = both(lt(colR, k), lt(colBlk, col.numBlocks));

  // Both directions read their blocks from the tile.
  Value r0 = row0, c0 = col0;
  row.loadBlock = [&e, r0, c0, smem](Value r, Value blk) {
    OpBuilder &b = e.builder();
    Location loc = e.location();
    Type element = cast<MemRefType>(smem.getType()).getElementType();
    Value v = vector::LoadOp::create(
        b, loc, VectorType::get({int64_t(kBlock)}, element), smem,
        ValueRange{arith::SubIOp::create(b, loc, r, r0),
                   arith::SubIOp::create(b, loc,
                                         e.mulI(blk, e.idx(kBlock)), c0)},
        /*nontemporal=*/false, llvm::MaybeAlign(16));
    if (!element.isF32())
      v = arith::ExtFOp::create(
          b, loc, VectorType::get({int64_t(kBlock)}, b.getF32Type()), v);
    SmallVector<Value, kBlock> x;
    for (int64_t i = 0; i < int64_t(kBlock); ++i)
      x.push_back(vector::ExtractOp::create(b, loc, v, i));
    return x;
  };
  bool rht = recipe.hasRHT();
  unsigned mask = rht ? recipe.getRhtMask() : 0;
  col.loadBlock = [&e, r0, c0, smem, rowOffset, rht,
                   mask](Value r, Value blk) {
    OpBuilder &b = e.builder();
    Location loc = e.location();
    // Row of the tile where block `blk` of the group starts.
    Value first = arith::SubIOp::create(
        b, loc, e.addI(rowOffset, e.mulI(blk, e.idx(kBlock))), r0);
    Value c = arith::SubIOp::create(b, loc, r, c0);
    SmallVector<Value, kBlock> x;
    for (int64_t i = 0; i < int64_t(kBlock); ++i)
      x.push_back(e.loadF32(smem, {e.addI(first, e.idx(i)), c}));
    // The transform runs here once per 16-element column block.
    if (rht)
      return e.math().rht16(x, mask);
    return x;
  };
}

Value TileEmitter::lt(Value a, Value b) {
  return arith::CmpIOp::create(e.builder(), e.location(),
                               arith::CmpIPredicate::ult, a, b);
}

Value TileEmitter::eq(Value a, int64_t b) {
  return arith::CmpIOp::create(e.builder(), e.location(),
                               arith::CmpIPredicate::eq, a, e.idx(b));
}

Value TileEmitter::both(Value a, Value b) {
  return arith::AndIOp::create(e.builder(), e.location(), a, b);
}

void TileEmitter::guarded(Value cond, function_ref<void()> body) {
  OpBuilder &b = e.builder();
  auto ifOp = scf::IfOp::create(b, e.location(), cond, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  body();
}

Value TileEmitter::ifElseZero(Value cond, function_ref<Value()> value) {
  OpBuilder &b = e.builder();
  Location loc = e.location();
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{b.getF32Type()}, cond,
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(b, loc, value());
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, loc, m.f32(0.0f));
  return ifOp.getResult(0);
}

void TileEmitter::stage() {
  OpBuilder &b = e.builder();
  Location loc = e.location();
  auto inputType = cast<MemRefType>(input.getType());
  auto type =
      VectorType::get({int64_t(kBlock)}, inputType.getElementType());
  guarded(rowValid, [&] {
    // Rows of K % 16 == 0 elements in a 256-byte aligned buffer: each
    // 16-block is aligned to its size (e.blockAlignment).
    Value v = vector::LoadOp::create(
        b, loc, type, input, ValueRange{rowR, e.mulI(rowBlk, e.idx(kBlock))},
        /*nontemporal=*/false, llvm::MaybeAlign(e.blockAlignment));
    vector::StoreOp::create(
        b, loc, v, smem,
        ValueRange{arith::SubIOp::create(b, loc, rowR, row0),
                   e.mulI(rowLane, e.idx(kBlock))},
        /*nontemporal=*/false, llvm::MaybeAlign(16));
  });
  gpu::BarrierOp::create(b, loc);
}

Value TileEmitter::rowBlockAmax() {
  return ifElseZero(rowValid,
                    [&] { return e.blockAmax(row.loadBlock(rowR, rowBlk)); });
}

Value TileEmitter::colBlockAmax() {
  return ifElseZero(colValid,
                    [&] { return e.blockAmax(col.loadBlock(colR, colBlk)); });
}

Value TileEmitter::rowWindowMax(Value v) {
  // The four blocks of a tile row are lanes 4i .. 4i + 3 of one warp. The
  // max of non-negative, never-NaN block amaxes does not depend on the
  // order, so the butterfly gives the serial loop's value.
  OpBuilder &b = e.builder();
  Location loc = e.location();
  Value width = arith::ConstantIntOp::create(b, loc, 32, 32);
  for (int32_t offset : {1, 2}) {
    Value other =
        gpu::ShuffleOp::create(b, loc, v,
                               arith::ConstantIntOp::create(b, loc, offset, 32),
                               width, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    v = m.fmax(v, other);
  }
  return v;
}

Value TileEmitter::colWindowMax(Value v) {
  // The four blocks of a tile column belong to four warps: exchange them
  // through shared memory. Each kernel calls this once, so `exchange` is
  // never rewritten while another thread may still read it.
  OpBuilder &b = e.builder();
  Location loc = e.location();
  Value c = e.remI(tid, e.idx(kTileCols));
  e.storeF32(v, exchange, {colLane, c});
  gpu::BarrierOp::create(b, loc);
  Value acc = m.f32(0.0f);
  for (int64_t i = 0; i < kBlocksPerTileSide; ++i)
    acc = m.fmax(acc, e.loadF32(exchange, {e.idx(i), c}));
  return acc;
}

void TileEmitter::emitAmax() {
  OpBuilder &b = e.builder();
  Location loc = e.location();
  stage();
  auto blockMax = [&](Value v) {
    return gpu::AllReduceOp::create(
               b, loc, v,
               gpu::AllReduceOperationAttr::get(
                   b.getContext(), gpu::AllReduceOperation::MAXNUMF),
               /*uniform=*/true)
        .getResult();
  };
  switch (recipe.getOuter()) {
  case OuterGroup::Tensor: {
    Value a = blockMax(rowBlockAmax());
    // Without a transform both directions hold the same |x|.
    Value aT = recipe.hasRHT() ? blockMax(colBlockAmax()) : a;
    guarded(eq(tid, 0), [&] {
      row.atomicMaxAmax(a, {}, {});
      col.atomicMaxAmax(aT, {}, {});
    });
    return;
  }
  case OuterGroup::Row: {
    Value a = rowWindowMax(rowBlockAmax());
    guarded(both(eq(rowLane, 0), lt(rowR, rowEnd)),
            [&] { row.atomicMaxAmax(a, rowR, {}); });
    Value aT = colWindowMax(colBlockAmax());
    guarded(both(eq(colLane, 0), lt(colR, e.dim(input, 1))),
            [&] { col.atomicMaxAmax(aT, colR, {}); });
    return;
  }
  case OuterGroup::Window:
    // Windows lie inside one tile: the encode kernel computes them.
    return;
  }
  llvm_unreachable("unknown outer group");
}

void TileEmitter::emitEncode() {
  stage();
  bool window = recipe.getOuter() == OuterGroup::Window;
  for (bool columnwise : {false, true}) {
    Direction &d = columnwise ? col : row;
    Value r = columnwise ? colR : rowR, blk = columnwise ? colBlk : rowBlk;
    Value valid = columnwise ? colValid : rowValid;
    Value tensorAmax;
    if (recipe.getOuter() == OuterGroup::Tensor)
      tensorAmax = d.loadAmax({}, {});
    if (window) {
      // The 1x64 window of this block is the four blocks of its tile row
      // (column); its index is the tile's index along K (M).
      Value amax = columnwise ? colWindowMax(colBlockAmax())
                              : rowWindowMax(rowBlockAmax());
      Value lane = columnwise ? colLane : rowLane;
      Value inside = columnwise ? lt(colR, e.dim(input, 1)) : lt(rowR, rowEnd);
      Value w = columnwise ? tileM : tileK;
      guarded(both(eq(lane, 0), inside),
              [&] { d.storeAmax(amax, r, w); });
      d.loadAmax = [amax](Value, Value) { return amax; };
    }
    guarded(valid, [&] {
      DirectionEmitter(e, recipe, d, schedule).encodeBlock(tensorAmax, r, blk);
    });
  }
}
