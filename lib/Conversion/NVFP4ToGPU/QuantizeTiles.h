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

#include "../Common/QuantizeEmitter.h"

namespace mlir {
namespace nvfp4 {
namespace detail {

/// Rows and columns of X per thread block: a 1x64 window in each direction,
/// and with 256 threads one rowwise and one columnwise 16-block per thread.
constexpr int64_t kTileRows = 64;
constexpr int64_t kTileCols = 64;

/// Emits the body of a tile kernel for tile `tile` of the rows
/// [rowOffset, rowOffset + rows) of X (one group of a grouped op, or all of
/// X). Tiles are numbered row-major over ceil(rows / 64) x ceil(K / 64).
/// `row` and `col` are the group's two directions; `smem` is a
/// kTileRows x kTileCols workgroup buffer of X's element type and
/// `exchange` a 4 x kTileCols f32 workgroup buffer.
class TileEmitter {
public:
  TileEmitter(LoopEmitter &e, RecipeAttr recipe, Value input, Value smem,
              Value exchange, Direction &row, Direction &col,
              RowSchedule &schedule, Value rowOffset, Value rows, Value tile);

  /// Folds the tile into the outer amaxes (per-tensor: one atomic per
  /// thread block and direction; per-row: one per row or column and
  /// tile). The amaxes must have been zeroed; windows need no pass.
  void emitAmax();

  /// Encodes the tile in both directions against the outer amaxes (1x64
  /// windows: computed and stored here, since a window lies in one tile).
  void emitEncode();

  /// The workgroup buffers the body needs.
  static MemRefType tileType(MemRefType input);
  static MemRefType exchangeType(MLIRContext *ctx);

private:
  /// Copies the tile (its in-bounds part) to `smem`, then a barrier.
  void stage();
  /// The thread's rowwise block amax (0 when the block is outside X).
  Value rowBlockAmax();
  /// The thread's columnwise block amax (0 when outside), after the
  /// transform when the recipe has one.
  Value colBlockAmax();
  /// Max of `v` over the four threads holding the blocks of one row of
  /// the tile (neighbouring lanes), in every one of them.
  Value rowWindowMax(Value v);
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

  LoopEmitter &e;
  NumericsBuilder &m;
  RecipeAttr recipe;
  Value input, smem, exchange;
  Direction &row, &col;
  RowSchedule &schedule;
  /// The tile: rows [row0, rowEnd) of X, its tile indices, the thread.
  Value row0, rowEnd, col0, tileM, tileK, tid;
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
