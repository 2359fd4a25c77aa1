//===- QuantizeEmitter.h - Quantization loop nests --------------*- C++ -*-===//
//
// The structure of a quantization, shared by every schedule: which rows and
// blocks exist, where outer amaxes, scales and data go, and in what order
// the numerics builder is called. A `RowSchedule` decides how rows are
// distributed: a loop on the CPU (nvfp4-expand), one GPU thread each in a
// kernel (nvfp4-to-gpu). The math is never written here; it all comes from
// NumericsBuilder.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_CONVERSION_QUANTIZEEMITTER_H
#define NVFP4_CONVERSION_QUANTIZEEMITTER_H

#include "nvfp4/Conversion/LoweringBuilder.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"

#include <array>
#include <functional>
#include <memory>

namespace mlir {
namespace nvfp4 {

/// How the work of a direction is distributed. The CPU runs it in loops; a
/// GPU kernel maps it onto threads (NVFP4ToGPU.cpp).
class RowSchedule {
public:
  virtual ~RowSchedule();
  /// Emits `body(i)` for every i in [lb, ub).
  virtual void forEach(LoweringBuilder &e, Value lb, Value ub,
                       function_ref<void(Value)> body) = 0;
  /// Emits `body(i, j)` for every (i, j) in [iLb, iUb) x [0, nj), in any
  /// order. `jFastest` says which index walks memory contiguously, so a
  /// parallel schedule can give it to neighbouring threads.
  virtual void forEach2D(LoweringBuilder &e, Value iLb, Value iUb, Value nj,
                         bool jFastest,
                         function_ref<void(Value, Value)> body) = 0;
  /// For every row r in [lb, ub): the max of `value(r, j)` over j in
  /// [0, nj), passed to `commit(r, max)` (once per row).
  virtual void reduceMaxPerRow(LoweringBuilder &e, Value lb, Value ub,
                               Value nj,
                               function_ref<Value(Value, Value)> value,
                               function_ref<void(Value, Value)> commit) = 0;
  /// True when bodies run concurrently (GPU threads): a reduction across
  /// rows then goes through an atomic instead of a loop-carried value.
  virtual bool isParallel() const = 0;
};

/// The CPU schedule: loops.
class SerialSchedule : public RowSchedule {
public:
  void forEach(LoweringBuilder &e, Value lb, Value ub,
               function_ref<void(Value)> body) override;
  void forEach2D(LoweringBuilder &e, Value iLb, Value iUb, Value nj, bool,
                 function_ref<void(Value, Value)> body) override;
  void reduceMaxPerRow(LoweringBuilder &e, Value lb, Value ub, Value nj,
                       function_ref<Value(Value, Value)> value,
                       function_ref<void(Value, Value)> commit) override;
  bool isParallel() const override { return false; }
};

/// One quantized output (or one group of it): the rows it quantizes, the
/// buffers it writes, and how to read its blocks and its outer amaxes.
struct Direction {
  Value data, scale;
  /// Rows [rowBegin, rowEnd) of the quantized matrix (X, or X^T after the
  /// transform), each with `numBlocks` 16-blocks.
  Value rowBegin, rowEnd, numBlocks;
  /// Column of block 0 in the output's block grid, and the grid's width: a
  /// group of a grouped columnwise output is a column range of its output.
  Value blockBase, totalBlocks;
  /// Row of the scale buffer where a swizzled layout restarts (grouped).
  Value scaleRowBase;
  unsigned stream; ///< 0 rowwise, 1 columnwise (SPEC.md section 8)
  /// Whether a row's blocks are contiguous in the input (rowwise); for the
  /// columnwise output neighbouring rows are (columns of X).
  bool rowContiguous;
  /// The 16 f32 values of local block `blk` of row `r`.
  std::function<SmallVector<Value, kBlock>(Value r, Value blk)> loadBlock;
  /// The outer amax of row `r`, window `w` (unused for other groups).
  std::function<Value(Value r, Value w)> loadAmax;
  std::function<void(Value v, Value r, Value w)> storeAmax;
  /// `amax = fmaxf(amax, v)` atomically (parallel schedules).
  std::function<void(Value v, Value r, Value w)> atomicMaxAmax;
  /// The amax of local block `blk` of row `r` where it is cheaper than
  /// folding loadBlock's values (the RHT: one rounding instead of 16);
  /// empty otherwise.
  std::function<Value(Value r, Value blk)> loadBlockAmax;
};

/// Emits the quantization of one direction.
class DirectionEmitter {
public:
  DirectionEmitter(LoweringBuilder &e, RecipeAttr recipe, Direction &d,
                   RowSchedule &schedule)
      : e(e), m(e.math()), recipe(recipe), d(d), schedule(schedule) {}

  /// The whole direction: outer amaxes (unless given: then the blocks read
  /// the amax buffer as it is), then the blocks.
  void emit() {
    if (!recipe.hasGivenOuterScale())
      emitOuterAmax();
    emitEncode();
  }

  /// Windows per row (outer = window<64>).
  Value windowCount() { return e.ceilDivI(d.numBlocks, 4); }

  /// Resets the amaxes a parallel schedule reduces into with atomics: the
  /// per-tensor one, or every row's (columnwise per-row).
  void emitAmaxInit();

  /// Computes and stores the outer amaxes.
  void emitOuterAmax();

  /// Encodes every block, reading the stored outer amaxes.
  void emitEncode() {
    if (recipe.isBlock2D())
      emitTiles();
    else
      emitBlocks();
  }

  /// Padding bytes of swizzled layouts must read as 0 (SPEC.md section 10).
  static void zeroScales(LoweringBuilder &e, Value scale,
                         RowSchedule &schedule);

  /// Stores block `blk` of row `r`: its scale byte `sf` (in the recipe's
  /// layout) and its 8 data bytes (each an i32 holding two E2M1 codes).
  void storeBlock(Value r, Value blk, Value sf, ArrayRef<Value> bytes);

  /// Encodes 1x16 block `blk` of row `r` against its outer amax (the
  /// hoisted `tensorAmax` for per-tensor recipes, else d.loadAmax).
  void encodeBlock(Value tensorAmax, Value r, Value blk) {
    EncodedBlock v = encodeBlockValues(tensorAmax, r, blk);
    storeBlock(r, blk, v.sf, v.bytes);
  }

  /// A block's scale byte and data bytes (storeBlock's operands).
  struct EncodedBlock {
    Value sf;
    SmallVector<Value, kBlock / 2> bytes;
  };

  /// encodeBlock without the stores, for schedules that store elsewhere
  /// first.
  EncodedBlock encodeBlockValues(Value tensorAmax, Value r, Value blk);

private:
  /// The amax of block `blk` of row `r` (Direction::loadBlockAmax, or the
  /// fold of loadBlock's values).
  Value blockAmaxAt(Value r, Value blk);
  /// Max |x| over blocks [lb, ub) of row `r`, folded into `acc`.
  Value rowAmax(Value r, Value lb, Value ub, Value acc);
  /// The raw outer amax of block `blk` of row `r`; `tensorAmax` is the
  /// hoisted per-tensor value.
  Value outerAmax(Value tensorAmax, Value r, Value blk);
  Value tensorAmaxOrNull();
  /// Random bytes of block (r, blk) for stochastic rounding, else none. The
  /// counter is the block's index in its whole output (SPEC.md section 8).
  SmallVector<Value, kBlock> randomBytesFor(Value r, Value blk);
  /// 1x16 blocks: each block has its own scale.
  void emitBlocks();
  /// Map-to-4 only when strictly better: ties keep map-to-6 (SPEC.md
  /// section 7, on fourOverSixErrors' sums).
  NumericsBuilder::BlockScale
  pick(Value err4, Value err6,
       std::array<NumericsBuilder::BlockScale, 2> candidates);
  /// 16x16 tiles: one scale (and one 4over6 decision) per tile, stored on
  /// each of the tile's rows.
  void emitTiles();

  LoweringBuilder &e;
  NumericsBuilder &m;
  RecipeAttr recipe;
  Direction &d;
  RowSchedule &schedule;
};

/// Where the values a quantization reads come from: the input matrix, or a
/// producer computing them from its own operands (SPEC.md section 15; each
/// value rounded to the storage type, so a fused quantize reads what the
/// unfused one would read back from memory). Every schedule reads X
/// through a source; `cols` is X's width (for a gated activation, half the
/// input's).
class ValueSource {
public:
  virtual ~ValueSource();
  /// X's dimensions (index values).
  virtual Value rows(LoweringBuilder &e) = 0;
  virtual Value cols(LoweringBuilder &e) = 0;
  /// The storage type of X's values (bf16, f16 or f32).
  virtual Type storageType() = 0;
  /// X[r, c] as f32.
  virtual Value load(LoweringBuilder &e, Value r, Value c) = 0;
  /// X[r, c .. c+15] as f32, `c` a multiple of 16 in a row of a multiple of
  /// 16 values (so vector loads are aligned to e.blockAlignment).
  virtual SmallVector<Value, kBlock> loadRow16(LoweringBuilder &e, Value r,
                                               Value c) = 0;
  /// The same 16 values as one vector of the storage type (a tile staged
  /// in shared memory in X's type). Exact: every value is a storage value.
  virtual Value loadRow16Storage(LoweringBuilder &e, Value r, Value c);
};

/// The input matrix as the source: the values as stored.
class MatrixSource : public ValueSource {
public:
  explicit MatrixSource(Value input) : input(input) {}
  Value rows(LoweringBuilder &e) override { return e.dim(input, 0); }
  Value cols(LoweringBuilder &e) override { return e.dim(input, 1); }
  Type storageType() override {
    return cast<MemRefType>(input.getType()).getElementType();
  }
  Value load(LoweringBuilder &e, Value r, Value c) override {
    return e.loadF32(input, {r, c});
  }
  SmallVector<Value, kBlock> loadRow16(LoweringBuilder &e, Value r,
                                       Value c) override;
  Value loadRow16Storage(LoweringBuilder &e, Value r, Value c) override;

private:
  Value input;
};

/// Builds the Directions of (grouped) quantize ops. `rowOffset` and
/// `groupRows` select the rows of X a group covers (all of X when not
/// grouped); `group` indexes per-group amaxes (null when not grouped).
class QuantizeLowering {
public:
  /// X read from `source`, which must outlive the Directions built.
  QuantizeLowering(LoweringBuilder &e, RecipeAttr recipe, ValueSource &source)
      : e(e), m(e.math()), recipe(recipe), source(source),
        numRows(source.rows(e)), numCols(source.cols(e)) {}
  /// X is the matrix `input`.
  QuantizeLowering(LoweringBuilder &e, RecipeAttr recipe, Value input)
      : owned(std::make_unique<MatrixSource>(input)), e(e), m(e.math()),
        recipe(recipe), source(*owned), numRows(source.rows(e)),
        numCols(source.cols(e)) {}

  /// Rows [rowOffset, rowOffset + groupRows) of X quantized along K.
  Direction rowwise(Value data, Value scale, Value amax, Value rowOffset,
                    Value groupRows, Value group, Value scaleRowBase);

  /// X^T restricted to X's rows [colOffset, colOffset + groupCols),
  /// quantized along them (a column range of the whole X^T output).
  Direction columnwise(Value data, Value scale, Value amax, Value colOffset,
                       Value groupCols, Value group);

  Value rows() { return numRows; }
  Value cols() { return numCols; }

private:
  /// Per-tensor amaxes live at [group] (or [0]); per-row ones at [r], or at
  /// [group, r] for a grouped columnwise output; windows at [r, w].
  void bindAmax(Direction &d, Value amax, Value group, bool perGroupRows);

  /// The source of the `Value input` form (declared first: `source` may
  /// refer to it).
  std::unique_ptr<ValueSource> owned;
  LoweringBuilder &e;
  NumericsBuilder &m;
  RecipeAttr recipe;
  ValueSource &source;
  Value numRows, numCols;
};

/// Dequantizes block `blk` of row `r` of `out` (SPEC.md section 11) from
/// `data`, `scale` (in the recipe's layout, `numBlocks` scales per row)
/// and `amax`; `tensorAmax` is the hoisted per-tensor amax (null for other
/// outer groups). The same steps as nvfp4-expand's dequantize loop body,
/// for schedules that map blocks onto threads.
void emitDequantizeBlock(LoweringBuilder &e, RecipeAttr recipe, Value data,
                         Value scale, Value amax, Value out, Value r,
                         Value blk, Value numBlocks, Value tensorAmax);

} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_CONVERSION_QUANTIZEEMITTER_H
