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
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

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

static MemRefType workgroupType(ArrayRef<int64_t> shape, Type element) {
  return MemRefType::get(shape, element, MemRefLayoutAttrInterface{},
                         gpu::AddressSpaceAttr::get(
                             element.getContext(),
                             gpu::AddressSpace::Workgroup));
}

MemRefType TileEmitter::tileType(Type storage) {
  return workgroupType({kTileRows, kTileCols}, storage);
}

MemRefType TileEmitter::exchangeType(MLIRContext *ctx) {
  return workgroupType({kBlocksPerTileSide, kTileCols}, Float32Type::get(ctx));
}

MemRefType TileEmitter::outDataType(MLIRContext *ctx) {
  // A row per tile column: the data bytes of its four blocks.
  return workgroupType({kTileCols, kBlocksPerTileSide * kBlock / 2},
                       IntegerType::get(ctx, 8));
}

MemRefType TileEmitter::outScaleType(MLIRContext *ctx) {
  return workgroupType({kTileCols, kBlocksPerTileSide},
                       IntegerType::get(ctx, 8));
}

TileEmitter::TileEmitter(LoweringBuilder &e, RecipeAttr recipe,
                         ValueSource &source, Value smem, Value exchange, Value outData,
                         Value outScale, Direction &row, Direction &col,
                         RowSchedule &schedule,
                         Value rowOffset, Value rows, Value strip)
    : e(e), m(e.math()), recipe(recipe), source(source), smem(smem),
      exchange(exchange), outData(outData), outScale(outScale), row(row),
      col(col), schedule(schedule), groupRow0(rowOffset) {
  ImplicitLocOpBuilder &b = e.builder();
  Value k = source.cols(e);
  tilesK = e.ceilDivI(k, kTileCols);
  Value strips = e.ceilDivI(tilesK, kTileStripTiles);
  tileM = e.divI(strip, strips);
  firstTileK = e.mulI(e.remI(strip, strips), e.idx(kTileStripTiles));
  row0 = e.addI(rowOffset, e.mulI(tileM, e.idx(kTileRows)));
  rowEnd = e.addI(rowOffset, rows);
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);

  Value side = e.idx(kBlocksPerTileSide);
  rowLane = e.remI(tid, side);
  rowR = e.addI(row0, e.divI(tid, kBlocksPerTileSide));
  // Columnwise blocks count from the group's first row (Direction's
  // convention for grouped outputs); they are the same in every tile of
  // the strip.
  colLane = e.divI(tid, kTileCols);
  colBlk = e.addI(e.mulI(tileM, side), colLane);

  // Both directions read their blocks from the current tile.
  row.loadBlock = [this](Value r, Value blk) {
    ImplicitLocOpBuilder &b = this->e.builder();
    // The tile buffer is 16-byte aligned, and so is each block's row offset.
    SmallVector<Value, 2> at{
        arith::SubIOp::create(b, r, row0),
        arith::SubIOp::create(b, this->e.mulI(blk, this->e.idx(kBlock)),
                              col0)};
    return this->e.loadVectorF32(this->smem, at, /*alignment=*/16);
  };
  col.loadBlock = [this](Value r, Value blk) {
    SmallVector<Value, kBlock> x = loadColBlockRaw(r, blk);
    // The transform runs here once per 16-element column block.
    if (this->recipe.hasRHT())
      return m.rht16(x, this->recipe.getRhtMask());
    return x;
  };
  // The amax of a transformed block needs no transformed values.
  col.loadBlockAmax = nullptr;
  if (recipe.hasRHT())
    col.loadBlockAmax = [this](Value r, Value blk) {
      return m.rht16AbsMax(loadColBlockRaw(r, blk), this->recipe.getRhtMask());
    };
}

SmallVector<Value, kBlock> TileEmitter::loadColBlockRaw(Value r, Value blk) {
  ImplicitLocOpBuilder &b = e.builder();
  // Row of the tile where block `blk` of the group starts.
  Value first = arith::SubIOp::create(
      b, e.addI(groupRow0, e.mulI(blk, e.idx(kBlock))), row0);
  Value c = arith::SubIOp::create(b, r, col0);
  SmallVector<Value, kBlock> x;
  for (int64_t i = 0; i < int64_t(kBlock); ++i)
    x.push_back(e.loadF32(smem, {e.addI(first, e.idx(i)), c}));
  return x;
}

void TileEmitter::setTile(Value tk) {
  tileK = tk;
  col0 = e.mulI(tk, e.idx(kTileCols));
  rowBlk = e.addI(e.mulI(tk, e.idx(kBlocksPerTileSide)), rowLane);
  rowValid = both(lt(rowR, rowEnd), lt(rowBlk, row.numBlocks));
  colR = e.addI(col0, e.remI(tid, e.idx(kTileCols)));
  colValid = both(lt(colR, source.cols(e)), lt(colBlk, col.numBlocks));
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
  ImplicitLocOpBuilder &b = e.builder();
  auto ifOp = scf::IfOp::create(b, e.location(), cond, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  body();
}

Value TileEmitter::ifElseZero(Value cond, function_ref<Value()> value) {
  ImplicitLocOpBuilder &b = e.builder();
  auto ifOp = scf::IfOp::create(b, TypeRange{b.getF32Type()}, cond,
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(b, value());
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, m.f32(0.0f));
  return ifOp.getResult(0);
}

Value TileEmitter::loadRowBlockRaw() {
  ImplicitLocOpBuilder &b = e.builder();
  auto type = VectorType::get({int64_t(kBlock)}, source.storageType());
  auto ifOp = scf::IfOp::create(b, TypeRange{type}, rowValid,
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  // Rows of K % 16 == 0 elements in a 256-byte aligned buffer: each
  // 16-block is aligned to its size (e.blockAlignment).
  scf::YieldOp::create(
      b, source.loadRow16Storage(e, rowR, e.mulI(rowBlk, e.idx(kBlock))));
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(
      b,
      arith::ConstantOp::create(b, type, b.getZeroAttr(type)).getResult());
  return ifOp.getResult(0);
}

SmallVector<Value>
TileEmitter::forEachTile(ValueRange init,
                         function_ref<SmallVector<Value>(ValueRange)> body) {
  ImplicitLocOpBuilder &b = e.builder();
  setTile(firstTileK);
  SmallVector<Value> carried{loadRowBlockRaw()};
  llvm::append_range(carried, init);
  SmallVector<Value> results = e.loop(
      e.idx(0), e.idx(kTileStripTiles), carried,
      [&](Value s, ValueRange args) -> SmallVector<Value> {
        Value tk = e.addI(firstTileK, s);
        // The strip's last tiles may lie past K: the whole block skips
        // them, so its barriers stay uniform.
        SmallVector<Type> types;
        for (Value v : args)
          types.push_back(v.getType());
        auto ifOp = scf::IfOp::create(b, types, lt(tk, tilesK),
                                      /*withElseRegion=*/true);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifOp.elseBlock());
        scf::YieldOp::create(b, args);
        b.setInsertionPointToStart(ifOp.thenBlock());
        setTile(tk);
        // Every thread is done with the previous tile (and `exchange`).
        gpu::BarrierOp::create(b);
        guarded(rowValid, [&] {
          vector::StoreOp::create(
              b, args[0], smem,
              ValueRange{arith::SubIOp::create(b, rowR, row0),
                         e.mulI(rowLane, e.idx(kBlock))},
              /*nontemporal=*/false, llvm::MaybeAlign(16));
        });
        gpu::BarrierOp::create(b);
        // The next tile's block is loaded while this one is quantized.
        Value nextTk = e.addI(tk, e.idx(1));
        Value hasNext = both(lt(e.addI(s, e.idx(1)), e.idx(kTileStripTiles)),
                             lt(nextTk, tilesK));
        setTile(nextTk);
        Value next = [&] {
          // rowValid of the next tile, and only when it is in the strip.
          rowValid = both(rowValid, hasNext);
          return loadRowBlockRaw();
        }();
        setTile(tk);
        SmallVector<Value> yield{next};
        llvm::append_range(yield, body(args.drop_front()));
        scf::YieldOp::create(b, yield);
        return SmallVector<Value>(ifOp.getResults());
      });
  // The carried block past the strip's end is not needed.
  return SmallVector<Value>(llvm::drop_begin(results));
}

Value TileEmitter::rowBlockAmax() {
  return ifElseZero(rowValid,
                    [&] { return e.blockAmax(row.loadBlock(rowR, rowBlk)); });
}

Value TileEmitter::colBlockAmax() {
  return ifElseZero(colValid, [&] {
    if (col.loadBlockAmax)
      return col.loadBlockAmax(colR, colBlk);
    return e.blockAmax(col.loadBlock(colR, colBlk));
  });
}

Value TileEmitter::rowWindowMax(Value v) {
  // The four blocks of a tile row are lanes 4i .. 4i + 3 of one warp. The
  // max of non-negative, never-NaN block amaxes does not depend on the
  // order, so the butterfly gives the serial loop's value.
  ImplicitLocOpBuilder &b = e.builder();
  Value width = arith::ConstantIntOp::create(b, 32, 32);
  for (int32_t offset : {1, 2}) {
    Value other =
        gpu::ShuffleOp::create(b, v,
                               arith::ConstantIntOp::create(b, offset, 32),
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
  ImplicitLocOpBuilder &b = e.builder();
  Value c = e.remI(tid, e.idx(kTileCols));
  e.storeF32(v, exchange, {colLane, c});
  gpu::BarrierOp::create(b);
  Value acc = m.f32(0.0f);
  for (int64_t i = 0; i < kBlocksPerTileSide; ++i)
    acc = m.fmax(acc, e.loadF32(exchange, {e.idx(i), c}));
  return acc;
}

void TileEmitter::emitAmax() {
  ImplicitLocOpBuilder &b = e.builder();
  auto blockMax = [&](Value v) {
    return gpu::AllReduceOp::create(
               b, v,
               gpu::AllReduceOperationAttr::get(
                   b.getContext(), gpu::AllReduceOperation::MAXNUMF),
               /*uniform=*/true)
        .getResult();
  };
  Value zero = m.f32(0.0f);
  switch (recipe.getOuter()) {
  case OuterGroup::Tensor: {
    // Each thread folds its blocks of every tile; one reduction and one
    // atomic per thread block and direction.
    bool rht = recipe.hasRHT();
    SmallVector<Value> acc =
        forEachTile({zero, zero}, [&](ValueRange a) -> SmallVector<Value> {
          Value rowMax = m.fmax(a[0], rowBlockAmax());
          Value colMax = rht ? m.fmax(a[1], colBlockAmax()) : a[1];
          return {rowMax, colMax};
        });
    Value amax = blockMax(acc[0]);
    // Without a transform both directions hold the same |x|.
    Value amaxT = rht ? blockMax(acc[1]) : amax;
    guarded(eq(tid, 0), [&] {
      row.atomicMaxAmax(amax, {}, {});
      col.atomicMaxAmax(amaxT, {}, {});
    });
    return;
  }
  case OuterGroup::Row: {
    // A thread's rowwise blocks all lie in one row: fold them over the
    // strip, then one atomic per row. Columns change with the tile.
    SmallVector<Value> acc =
        forEachTile({zero}, [&](ValueRange a) -> SmallVector<Value> {
          Value colMax = colWindowMax(colBlockAmax());
          guarded(both(eq(colLane, 0), colValid),
                  [&] { col.atomicMaxAmax(colMax, colR, {}); });
          return {m.fmax(a[0], rowBlockAmax())};
        });
    Value rowMax = rowWindowMax(acc[0]);
    guarded(both(eq(rowLane, 0), lt(rowR, rowEnd)),
            [&] { row.atomicMaxAmax(rowMax, rowR, {}); });
    return;
  }
  case OuterGroup::Window:
    // Windows lie inside one tile: the encode kernel computes them.
    return;
  }
  llvm_unreachable("unknown outer group");
}

void TileEmitter::emitEncode() {
  // Window amaxes are computed here unless given (then read like the
  // others).
  bool window = recipe.getOuter() == OuterGroup::Window &&
                !recipe.hasGivenOuterScale();
  // Per-tensor amaxes are read once per thread.
  Value tensorAmax[2];
  if (recipe.getOuter() == OuterGroup::Tensor)
    for (bool columnwise : {false, true})
      tensorAmax[columnwise] = (columnwise ? col : row).loadAmax({}, {});
  forEachTile({}, [&](ValueRange) -> SmallVector<Value> {
    for (bool columnwise : {false, true}) {
      Direction &d = columnwise ? col : row;
      Value r = columnwise ? colR : rowR, blk = columnwise ? colBlk : rowBlk;
      if (window) {
        // The 1x64 window of this block is the four blocks of its tile row
        // (column); its index is the tile's index along K (M).
        Value amax = columnwise ? colWindowMax(colBlockAmax())
                                : rowWindowMax(rowBlockAmax());
        Value lane = columnwise ? colLane : rowLane;
        Value inside =
            columnwise ? lt(colR, source.cols(e)) : lt(rowR, rowEnd);
        Value w = columnwise ? tileM : tileK;
        guarded(both(eq(lane, 0), inside), [&] { d.storeAmax(amax, r, w); });
        d.loadAmax = [amax](Value, Value) { return amax; };
      }
      if (columnwise)
        encodeColumns(tensorAmax[1]);
      else
        guarded(rowValid, [&] {
          DirectionEmitter(e, recipe, d, schedule)
              .encodeBlock(tensorAmax[0], r, blk);
        });
    }
    return {};
  });
}

void TileEmitter::encodeColumns(Value tensorAmax) {
  ImplicitLocOpBuilder &b = e.builder();
  Value c = e.remI(tid, e.idx(kTileCols));
  guarded(colValid, [&] {
    DirectionEmitter::EncodedBlock v =
        DirectionEmitter(e, recipe, col, schedule)
            .encodeBlockValues(tensorAmax, colR, colBlk);
    e.storeBytesVector(v.bytes, outData,
                       {c, e.mulI(colLane, e.idx(kBlock / 2))});
    e.storeByte(v.sf, outScale, {c, colLane});
  });
  // `outData` is rewritten by the next tile only after its first barrier.
  gpu::BarrierOp::create(b);
  // Lane l of a warp now stores block l % 4 of tile column l / 4 (plus 8
  // per warp): the four blocks of a row of X^T are contiguous in it.
  Value outC = e.divI(tid, kBlocksPerTileSide);
  Value outLane = e.remI(tid, e.idx(kBlocksPerTileSide));
  Value r = e.addI(col0, outC);
  Value blk = e.addI(e.mulI(tileM, e.idx(kBlocksPerTileSide)), outLane);
  guarded(both(lt(r, source.cols(e)), lt(blk, col.numBlocks)), [&] {
    auto type = VectorType::get({int64_t(kBlock / 2)}, b.getI8Type());
    Value bytes = vector::LoadOp::create(
        b, type, outData,
        ValueRange{outC, e.mulI(outLane, e.idx(kBlock / 2))},
        /*nontemporal=*/false, llvm::MaybeAlign(kBlock / 2));
    SmallVector<Value> words;
    for (int64_t j = 0; j < int64_t(kBlock / 2); ++j)
      words.push_back(arith::ExtUIOp::create(
          b, b.getI32Type(), vector::ExtractOp::create(b, bytes, j)));
    DirectionEmitter(e, recipe, col, schedule)
        .storeBlock(r, blk, e.loadByte(outScale, {outC, outLane}), words);
  });
}
