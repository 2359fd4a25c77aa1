//===- QuantizeTiles.h - Both directions from one shared tile ---*- C++ -*-===//
//
// Part of nvfp4-to-gpu: the kernels of recipes that quantize X both rowwise
// and columnwise (1x16 blocks). A thread block copies a 64 x 64 tile of X
// into shared memory once, with coalesced 16-byte loads, and quantizes it in
// both directions from there: its rows along K (rowwise) and its columns
// along M (columnwise, the rows of X^T, with the random Hadamard transform
// applied once per 16-element column block). DRAM sees X once per kernel
// instead of once per direction, and the columnwise direction no longer
// reads X with a stride of a row per element.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_CONVERSION_NVFP4TOGPU_QUANTIZETILES_H
#define NVFP4_CONVERSION_NVFP4TOGPU_QUANTIZETILES_H

#include "nvfp4/Conversion/QuantizeEmitter.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"

namespace mlir {
namespace nvfp4 {
namespace detail {

// Rows and columns of X per tile (kTileRows x kTileCols,
// NVFP4KernelInterface.h): a 1x64 window in each direction, and with 256
// threads one rowwise and one columnwise 16-block per thread. A strip holds
// kTileStripTiles tiles along K: the next tile's loads are in flight while
// the current one is quantized.

/// Emits the body of a tile kernel for strip `strip` of the rows
/// [rowOffset, rowOffset + rows) of X (one group of a grouped op, or all of
/// X). Strips are numbered row-major over ceil(rows / 64) x
/// ceil(ceil(K / 64) / kTileStripTiles); the last strip of a row may hold fewer
/// tiles.
/// `row` and `col` are the group's two directions. The workgroup buffers
/// (types below): `smem`, the tile in X's element type; `exchange`, block
/// amaxes crossing warps (not needed for per-tensor amaxes); `outData` and
/// `outScale`, the encode kernel's columnwise results on their way to
/// coalesced stores (encode only).
class TileEmitter {
public:
  TileEmitter(LoweringBuilder &e, RecipeAttr recipe, ValueSource &source,
              Value smem,
              Value exchange, Value outData, Value outScale, Direction &row,
              Direction &col,
              RowSchedule &schedule, Value rowOffset, Value rows,
              Value strip);

  /// Folds the strip into the outer amaxes (per-tensor: one atomic per
  /// thread block and direction; per-row: one per row and strip, one per
  /// column and tile). The amaxes must have been zeroed; windows need no
  /// pass.
  void emitAmax();

  /// Encodes the strip in both directions against the outer amaxes (1x64
  /// windows: computed and stored here, since a window lies in one tile).
  void emitEncode();

  /// The workgroup buffers the body needs.
  static MemRefType tileType(Type storage);
  static MemRefType exchangeType(MLIRContext *ctx);
  static MemRefType outDataType(MLIRContext *ctx);
  static MemRefType outScaleType(MLIRContext *ctx);

private:
  /// Makes tile `tk` of the strip's tile row the current one.
  void setTile(Value tk);
  /// The thread's rowwise block of the current tile as stored in X (zeros
  /// when outside X).
  Value loadRowBlockRaw();
  /// For each tile of the strip: stage it in `smem` (the block loaded one
  /// tile ahead), start loading the next one, and run `body` with the
  /// current tile set; `body` maps the carried values `acc` (from `init`)
  /// to their next values. Returns the final ones.
  SmallVector<Value>
  forEachTile(ValueRange init,
              function_ref<SmallVector<Value>(ValueRange acc)> body);
  /// The 16 elements of columnwise block `blk` of row `r` of X^T (column
  /// r of X) from the current tile, untransformed.
  SmallVector<Value, kBlock> loadColBlockRaw(Value r, Value blk);
  /// The thread's rowwise block amax (0 when the block is outside X).
  Value rowBlockAmax();
  /// The thread's columnwise block amax (0 when outside), after the
  /// transform when the recipe has one.
  Value colBlockAmax();
  /// Max of `v` over the four threads holding the blocks of one row of
  /// the tile (neighbouring lanes), in every one of them.
  Value rowWindowMax(Value v);
  /// Encodes the thread's columnwise block into `outData`/`outScale`, then
  /// stores the tile's columnwise results with four neighbouring lanes per
  /// row of X^T (32 contiguous data bytes) instead of one lane per row.
  void encodeColumns(Value tensorAmax);
  /// Max of `v` over the four threads holding the blocks of one column of
  /// the tile (in four warps, through `exchange`), in every one of them.
  Value colWindowMax(Value v);
  /// Emits `body` when `cond` holds.
  void guarded(Value cond, function_ref<void()> body);
  /// `cond ? value() : 0`.
  Value ifElseZero(Value cond, function_ref<Value()> value);
  Value lt(Value a, Value b);
  Value eq(Value a, int64_t b);
  Value both(Value a, Value b);

  LoweringBuilder &e;
  NumericsBuilder &m;
  RecipeAttr recipe;
  ValueSource &source;
  Value smem, exchange, outData, outScale;
  Direction &row, &col;
  RowSchedule &schedule;
  /// The group's first row of X (columnwise blocks count from it).
  Value groupRow0;
  /// The strip: rows [row0, rowEnd) of X, its tile row, first tile along
  /// K and the tiles along K of X; the thread; the current tile's index
  /// along K and first column.
  Value row0, rowEnd, tileM, firstTileK, tilesK, tid;
  Value tileK, col0;
  /// The thread's rowwise block (rowR, rowBlk) and columnwise block (colR,
  /// colBlk), in their directions' coordinates, and whether they exist.
  Value rowR, rowBlk, rowValid, colR, colBlk, colValid;
  /// Position of the thread's block among the four of its row (window).
  Value rowLane, colLane;
};

} // namespace detail
} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_CONVERSION_NVFP4TOGPU_QUANTIZETILES_H
