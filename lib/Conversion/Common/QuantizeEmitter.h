//===- QuantizeEmitter.h - Quantization loop nests over the builder -*- C++ -*-===//
//
// The structure of a quantization, shared by every schedule: which rows and
// blocks exist, where outer amaxes, scales and data go, and in what order
// the numerics builder is called. A `RowSchedule` decides how rows are
// distributed: a loop on the CPU (nvfp4-expand), one GPU thread each in a
// kernel (nvfp4-to-gpu). The math is never written here; it all comes from
// NumericsBuilder.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_LIB_CONVERSION_COMMON_QUANTIZEEMITTER_H
#define NVFP4_LIB_CONVERSION_COMMON_QUANTIZEEMITTER_H

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Numerics/NumericsBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>

namespace mlir {
namespace nvfp4 {
namespace detail {

/// Loops and memory accesses around the numerics builder. All loop bodies
/// are emitted with the one builder `b`, whose insertion point moves into
/// each body while it is built.
class LoopEmitter {
public:
  LoopEmitter(OpBuilder &b, Location loc, TargetLeaves *leaves = nullptr)
      : b(b), loc(loc), num(b, loc, leaves) {}

  NumericsBuilder &math() { return num; }
  OpBuilder &builder() { return b; }

  /// Byte alignment the caller guarantees for each 16-element block of a
  /// row (0: none). With it, a rowwise block is read with one vector load
  /// instead of 16 scalar ones and each block's 8 data bytes are written
  /// with one store (the GPU schedule: device buffers are 256-byte aligned
  /// and rows of K % 16 == 0 elements keep blocks aligned).
  unsigned blockAlignment = 0;
  /// How a parallel schedule folds an outer amax into `memref[indices]`
  /// atomically; unset: `memref.atomic_rmw maxnumf`. Amaxes are +0 or more
  /// and never NaN (NaN elements are ignored and every reduction starts
  /// from 0), which lets a schedule use an integer max on the bits.
  std::function<void(Value v, Value memref, ValueRange indices)> atomicMaxAmax;
  Location location() { return loc; }

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
  /// Loads the 16 elements at `indices` (contiguous in the last dimension)
  /// with one vector load aligned to `alignment` bytes (default: the
  /// blockAlignment of rowwise blocks) and widens them to f32.
  SmallVector<Value, kBlock> loadVectorF32(Value memref, ValueRange indices,
                                           unsigned alignment = 0) {
    Type element = cast<MemRefType>(memref.getType()).getElementType();
    auto type = VectorType::get({int64_t(kBlock)}, element);
    Value v = vector::LoadOp::create(
        b, loc, type, memref, indices,
        /*nontemporal=*/false,
        llvm::MaybeAlign(alignment ? alignment : blockAlignment));
    if (!element.isF32())
      v = arith::ExtFOp::create(
          b, loc, VectorType::get({int64_t(kBlock)}, b.getF32Type()), v);
    SmallVector<Value, kBlock> x;
    for (int64_t i = 0; i < int64_t(kBlock); ++i)
      x.push_back(vector::ExtractOp::create(b, loc, v, i));
    return x;
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
  /// Stores the low bytes of `bytes` (i32 each) contiguously at `indices`
  /// with one vector store aligned to its size.
  void storeBytesVector(ArrayRef<Value> bytes, Value memref,
                        ValueRange indices) {
    SmallVector<Value> narrow;
    for (Value v : bytes)
      narrow.push_back(arith::TruncIOp::create(b, loc, b.getI8Type(), v));
    auto type = VectorType::get({int64_t(bytes.size())}, b.getI8Type());
    Value vec = vector::FromElementsOp::create(b, loc, type, narrow);
    vector::StoreOp::create(b, loc, vec, memref, indices,
                            /*nontemporal=*/false,
                            llvm::MaybeAlign(bytes.size()));
  }

  /// The row-major 2-D buffer `memref` (identity layout, so offset 0) as
  /// one dimension: byte offsets then need no division into (row, column).
  Value flatView(Value memref) {
    auto type = cast<MemRefType>(memref.getType());
    Value size = mulI(dim(memref, 0), dim(memref, 1));
    return memref::ReinterpretCastOp::create(
        b, loc, MemRefType::get({ShapedType::kDynamic}, type.getElementType()),
        memref, /*offset=*/OpFoldResult(b.getIndexAttr(0)),
        /*sizes=*/ArrayRef<OpFoldResult>{size},
        /*strides=*/ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  }
  /// Stores byte `flat` of a row-major 2-D byte buffer.
  void storeFlatByte(Value byte, Value memref, Value flat) {
    storeByte(byte, flatView(memref), {flat});
  }
  Value loadFlatByte(Value memref, Value flat) {
    return loadByte(flatView(memref), {flat});
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

/// How the work of a direction is distributed. The CPU runs it in loops; a
/// GPU kernel maps it onto threads (NVFP4ToGPU.cpp).
class RowSchedule {
public:
  virtual ~RowSchedule() = default;
  /// Emits `body(i)` for every i in [lb, ub).
  virtual void forEach(LoopEmitter &e, Value lb, Value ub,
                       function_ref<void(Value)> body) = 0;
  /// Emits `body(i, j)` for every (i, j) in [iLb, iUb) x [0, nj), in any
  /// order. `jFastest` says which index walks memory contiguously, so a
  /// parallel schedule can give it to neighbouring threads.
  virtual void forEach2D(LoopEmitter &e, Value iLb, Value iUb, Value nj,
                         bool jFastest,
                         function_ref<void(Value, Value)> body) = 0;
  /// For every row r in [lb, ub): the max of `value(r, j)` over j in
  /// [0, nj), passed to `commit(r, max)` (once per row).
  virtual void reduceMaxPerRow(LoopEmitter &e, Value lb, Value ub, Value nj,
                               function_ref<Value(Value, Value)> value,
                               function_ref<void(Value, Value)> commit) = 0;
  /// True when bodies run concurrently (GPU threads): a reduction across
  /// rows then goes through an atomic instead of a loop-carried value.
  virtual bool isParallel() const = 0;
};

/// The CPU schedule: loops.
class SerialSchedule : public RowSchedule {
public:
  void forEach(LoopEmitter &e, Value lb, Value ub,
               function_ref<void(Value)> body) override {
    e.loop(lb, ub, body);
  }
  void forEach2D(LoopEmitter &e, Value iLb, Value iUb, Value nj, bool,
                 function_ref<void(Value, Value)> body) override {
    e.loop(iLb, iUb, [&](Value i) {
      e.loop(e.idx(0), nj, [&](Value j) { body(i, j); });
    });
  }
  void reduceMaxPerRow(LoopEmitter &e, Value lb, Value ub, Value nj,
                       function_ref<Value(Value, Value)> value,
                       function_ref<void(Value, Value)> commit) override {
    e.loop(lb, ub, [&](Value r) {
      Value acc = e.loop(e.idx(0), nj, {e.math().f32(0.0f)},
                         [&](Value j, ValueRange args) {
                           return SmallVector<Value>{
                               e.math().fmax(args[0], value(r, j))};
                         })[0];
      commit(r, acc);
    });
  }
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
};

/// Emits the quantization of one direction.
class DirectionEmitter {
public:
  DirectionEmitter(LoopEmitter &e, RecipeAttr recipe, Direction &d,
                   RowSchedule &schedule)
      : e(e), m(e.math()), recipe(recipe), d(d), schedule(schedule) {}

  /// The whole direction: outer amaxes, then the blocks.
  void emit() {
    emitOuterAmax();
    emitEncode();
  }

  /// Windows per row (outer = window<64>).
  Value windowCount() { return e.ceilDivI(d.numBlocks, 4); }

  /// Resets the amaxes a parallel schedule reduces into with atomics: the
  /// per-tensor one, or every row's (columnwise per-row).
  void emitAmaxInit() {
    if (recipe.getOuter() == OuterGroup::Row) {
      schedule.forEach(e, d.rowBegin, d.rowEnd,
                       [&](Value r) { d.storeAmax(m.f32(0.0f), r, {}); });
      return;
    }
    schedule.forEach(e, e.idx(0), e.idx(1),
                     [&](Value) { d.storeAmax(m.f32(0.0f), {}, {}); });
  }

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
  static void zeroScales(LoopEmitter &e, Value scale, RowSchedule &schedule) {
    Value zero = e.math().i32(0);
    Value bytes = e.mulI(e.dim(scale, 0), e.dim(scale, 1));
    schedule.forEach(e, e.idx(0), bytes,
                     [&](Value i) { e.storeFlatByte(zero, scale, i); });
  }

private:
  /// Max |x| over blocks [lb, ub) of row `r`, folded into `acc`.
  Value rowAmax(Value r, Value lb, Value ub, Value acc) {
    return e.loop(lb, ub, {acc}, [&](Value blk, ValueRange args) {
      Value a = e.blockAmax(d.loadBlock(r, blk));
      return SmallVector<Value>{m.fmax(args[0], a)};
    })[0];
  }

  /// The raw outer amax of block `blk` of row `r`; `tensorAmax` is the
  /// hoisted per-tensor value.
  Value outerAmax(Value tensorAmax, Value r, Value blk) {
    switch (recipe.getOuter()) {
    case OuterGroup::Tensor:
      return tensorAmax;
    case OuterGroup::Row:
      return d.loadAmax(r, {});
    case OuterGroup::Window:
      return d.loadAmax(r, e.divI(blk, 4));
    }
    llvm_unreachable("unknown outer group");
  }

  Value tensorAmaxOrNull() {
    if (recipe.getOuter() != OuterGroup::Tensor)
      return {};
    return d.loadAmax({}, {});
  }

  /// Random bytes of block (r, blk) for stochastic rounding, else none. The
  /// counter is the block's index in its whole output (SPEC.md section 8).
  SmallVector<Value, kBlock> randomBytesFor(Value r, Value blk) {
    if (!recipe.isStochastic())
      return {};
    OpBuilder &b = m.getBuilder();
    Value linear =
        e.addI(e.mulI(r, d.totalBlocks), e.addI(d.blockBase, blk));
    Value index = arith::IndexCastUIOp::create(b, m.getLoc(),
                                               b.getI64Type(), linear);
    return m.randomBytes(recipe.getSeed(), index, d.stream);
  }

public:
  /// Stores block `blk` of row `r`: its scale byte `sf` (in the recipe's
  /// layout) and its 8 data bytes (each an i32 holding two E2M1 codes).
  void storeBlock(Value r, Value blk, Value sf, ArrayRef<Value> bytes) {
    Value offset;
    if (recipe.getSfLayout() == ScaleLayout::Linear) {
      offset = e.addI(e.mulI(r, d.totalBlocks), e.addI(d.blockBase, blk));
    } else {
      // Swizzled tiles restart at each group's first row.
      Value local = arith::SubIOp::create(m.getBuilder(), m.getLoc(), r,
                                          d.rowBegin);
      offset = e.addI(
          e.mulI(d.scaleRowBase, e.dim(d.scale, 1)),
          m.scaleOffset(recipe.getSfLayout(), local, blk, d.numBlocks));
    }
    e.storeFlatByte(sf, d.scale, offset);
    Value base = e.mulI(e.addI(d.blockBase, blk), e.idx(kBlock / 2));
    if (e.blockAlignment) {
      // One 8-byte store: the block's data starts at a multiple of 8 bytes
      // of a row of K/2 bytes (K % 16 == 0) in an aligned buffer.
      e.storeBytesVector(bytes, d.data, {r, base});
      return;
    }
    for (auto [j, byte] : llvm::enumerate(bytes))
      e.storeByte(byte, d.data, {r, e.addI(base, e.idx(j))});
  }

private:
  /// 1x16 blocks: each block has its own scale.
  void emitBlocks() {
    Value tensorAmax = tensorAmaxOrNull();
    schedule.forEach2D(e, d.rowBegin, d.rowEnd, d.numBlocks, d.rowContiguous,
                       [&](Value r, Value blk) {
                         encodeBlock(tensorAmax, r, blk);
                       });
  }

public:
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
  EncodedBlock encodeBlockValues(Value tensorAmax, Value r, Value blk) {
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
    return {scale.sf, m.encodeElements(x, scale.enc, randomBytesFor(r, blk))};
  }

private:
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
    OpBuilder &b = m.getBuilder();
    Location loc = m.getLoc();
    Value numRows = arith::SubIOp::create(b, loc, d.rowEnd, d.rowBegin);
    Value tiles = e.ceilDivI(numRows, kBlock);
    // 4over6 row errors go through a 16-entry scratch buffer (rows a ragged
    // tile lacks stay 0) so the row body is emitted once, not 16 times. It
    // is allocated once, outside the loops: a stack allocation per tile
    // would grow the stack with every iteration.
    Value errors;
    if (recipe.isFourOverSix())
      errors = memref::AllocaOp::create(
          b, loc, MemRefType::get({2, kBlock}, b.getF32Type()));
    schedule.forEach2D(
        e, e.idx(0), tiles, d.numBlocks, d.rowContiguous,
        [&](Value t, Value blk) {
        Value r0 = e.addI(d.rowBegin, e.mulI(t, e.idx(kBlock)));
        Value rEnd = e.minI(e.addI(r0, e.idx(kBlock)), d.rowEnd);
        Value tileAmax =
            e.loop(r0, rEnd, {m.f32(0.0f)}, [&](Value r, ValueRange args) {
              Value a = e.blockAmax(d.loadBlock(r, blk));
              return SmallVector<Value>{m.fmax(args[0], a)};
            })[0];
        NumericsBuilder::BlockScale scale;
        if (recipe.isFourOverSix()) {
          auto candidates =
              m.fourOverSixScales(recipe, tileAmax, sEnc, sDec);
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
  }

  LoopEmitter &e;
  NumericsBuilder &m;
  RecipeAttr recipe;
  Direction &d;
  RowSchedule &schedule;
};

inline void DirectionEmitter::emitOuterAmax() {
  auto blockAmaxAt = [&](Value r, Value blk) {
    return e.blockAmax(d.loadBlock(r, blk));
  };
  switch (recipe.getOuter()) {
  case OuterGroup::Tensor: {
    if (schedule.isParallel()) {
      // Per-row maxima, combined across rows by an atomic fmaxf.
      schedule.reduceMaxPerRow(
          e, d.rowBegin, d.rowEnd, d.numBlocks, blockAmaxAt,
          [&](Value, Value v) { d.atomicMaxAmax(v, {}, {}); });
      return;
    }
    Value zero = m.f32(0.0f);
    Value amax = e.loop(d.rowBegin, d.rowEnd, {zero},
                        [&](Value r, ValueRange args) {
                          return SmallVector<Value>{
                              rowAmax(r, e.idx(0), d.numBlocks, args[0])};
                        })[0];
    d.storeAmax(amax, {}, {});
    return;
  }
  case OuterGroup::Row:
    if (schedule.isParallel() && !d.rowContiguous) {
      // A columnwise row is a column of X: one thread per block, each
      // folding its block into the row's amax (reset by emitAmaxInit),
      // so neighbouring threads read neighbouring columns.
      schedule.forEach2D(e, d.rowBegin, d.rowEnd, d.numBlocks,
                         /*jFastest=*/false, [&](Value r, Value blk) {
                           d.atomicMaxAmax(blockAmaxAt(r, blk), r, {});
                         });
      return;
    }
    schedule.reduceMaxPerRow(
        e, d.rowBegin, d.rowEnd, d.numBlocks, blockAmaxAt,
        [&](Value r, Value v) { d.storeAmax(v, r, {}); });
    return;
  case OuterGroup::Window: {
    // Four 16-blocks per 64-wide window; the last window of a row may
    // hold fewer.
    schedule.forEach2D(
        e, d.rowBegin, d.rowEnd, windowCount(), d.rowContiguous,
        [&](Value r, Value w) {
          Value lb = e.mulI(w, e.idx(4));
          Value ub = e.minI(e.addI(lb, e.idx(4)), d.numBlocks);
          d.storeAmax(rowAmax(r, lb, ub, m.f32(0.0f)), r, w);
        });
    return;
  }
  }
}

/// Builds the Directions of (grouped) quantize ops. `rowOffset` and
/// `groupRows` select the rows of X a group covers (all of X when not
/// grouped); `group` indexes per-group amaxes (null when not grouped).
class QuantizeLowering {
public:
  QuantizeLowering(LoopEmitter &e, RecipeAttr recipe, Value input)
      : e(e), m(e.math()), recipe(recipe), input(input) {
    numRows = e.dim(input, 0);
    numCols = e.dim(input, 1);
  }

  /// Rows [rowOffset, rowOffset + groupRows) of X quantized along K.
  Direction rowwise(Value data, Value scale, Value amax, Value rowOffset,
               Value groupRows, Value group, Value scaleRowBase) {
    Value blocks = e.divI(numCols, kBlock);
    Direction d{data,
                scale,
                rowOffset,
                e.addI(rowOffset, groupRows),
                blocks,
                e.idx(0),
                blocks,
                scaleRowBase,
                /*stream=*/0,
                /*rowContiguous=*/true,
                [this](Value r, Value blk) {
                  SmallVector<Value, kBlock> x;
                  Value base = e.mulI(blk, e.idx(kBlock));
                  if (e.blockAlignment)
                    return e.loadVectorF32(input, {r, base});
                  for (unsigned i = 0; i < kBlock; ++i)
                    x.push_back(
                        e.loadF32(input, {r, e.addI(base, e.idx(i))}));
                  return x;
                },
                {},
                {},
                {}};
    bindAmax(d, amax, group, /*perGroupRows=*/false);
    return d;
  }

  /// X^T restricted to X's rows [colOffset, colOffset + groupCols),
  /// quantized along them (a column range of the whole X^T output).
  Direction columnwise(Value data, Value scale, Value amax, Value colOffset,
                  Value groupCols, Value group) {
    Direction d{data,
                scale,
                e.idx(0),
                numCols,
                e.divI(groupCols, kBlock),
                e.divI(colOffset, kBlock),
                e.divI(numRows, kBlock),
                e.idx(0),
                /*stream=*/1,
                /*rowContiguous=*/false,
                [this, colOffset](Value r, Value blk) {
                  // Row r of X^T is column r of X; RHT mixes each group of
                  // 16 along M.
                  SmallVector<Value, kBlock> x;
                  Value base = e.addI(colOffset, e.mulI(blk, e.idx(kBlock)));
                  for (unsigned i = 0; i < kBlock; ++i)
                    x.push_back(
                        e.loadF32(input, {e.addI(base, e.idx(i)), r}));
                  if (recipe.hasRHT())
                    return m.rht16(x, recipe.getRhtMask());
                  return x;
                },
                {},
                {},
                {}};
    bindAmax(d, amax, group, /*perGroupRows=*/true);
    return d;
  }

  Value rows() { return numRows; }
  Value cols() { return numCols; }

private:
  /// Per-tensor amaxes live at [group] (or [0]); per-row ones at [r], or at
  /// [group, r] for a grouped columnwise output; windows at [r, w].
  void bindAmax(Direction &d, Value amax, Value group, bool perGroupRows) {
    Value g = group ? group : e.idx(0);
    auto indices = [=](Value r, Value w) -> SmallVector<Value, 2> {
      switch (recipe.getOuter()) {
      case OuterGroup::Tensor:
        return {g};
      case OuterGroup::Row:
        if (perGroupRows && group)
          return {g, r};
        return {r};
      case OuterGroup::Window:
        return {r, w};
      }
      llvm_unreachable("unknown outer group");
    };
    d.loadAmax = [=](Value r, Value w) {
      return e.loadF32(amax, indices(r, w));
    };
    d.storeAmax = [=](Value v, Value r, Value w) {
      e.storeF32(v, amax, indices(r, w));
    };
    d.atomicMaxAmax = [=](Value v, Value r, Value w) {
      if (e.atomicMaxAmax)
        return e.atomicMaxAmax(v, amax, indices(r, w));
      memref::AtomicRMWOp::create(e.builder(), e.location(),
                                  arith::AtomicRMWKind::maxnumf, v, amax,
                                  indices(r, w));
    };
  }

  LoopEmitter &e;
  NumericsBuilder &m;
  RecipeAttr recipe;
  Value input, numRows, numCols;
};

/// Dequantizes block `blk` of row `r` of `out` (SPEC.md section 11) from
/// `data`, `scale` (in the recipe's layout, `numBlocks` scales per row)
/// and `amax`; `tensorAmax` is the hoisted per-tensor amax (null for other
/// outer groups). The same steps as nvfp4-expand's dequantize loop body,
/// for schedules that map blocks onto threads.
inline void emitDequantizeBlock(LoopEmitter &e, RecipeAttr recipe, Value data,
                                Value scale, Value amax, Value out, Value r,
                                Value blk, Value numBlocks, Value tensorAmax) {
  NumericsBuilder &m = e.math();
  OpBuilder &b = e.builder();
  Location loc = e.location();
  Value sf = e.loadFlatByte(
      scale, m.scaleOffset(recipe.getSfLayout(), r, blk, numBlocks));
  Value a = tensorAmax;
  if (recipe.getOuter() == OuterGroup::Row)
    a = e.loadF32(amax, {r});
  else if (recipe.getOuter() == OuterGroup::Window)
    a = e.loadF32(amax, {r, e.divI(blk, 4)});
  // The quotient form encoded against the floored amax.
  if (recipe.getNumerics() == Numerics::Quotient)
    a = m.fmax(a, m.f32(1e-12f));
  Value finalScale = m.dequantScale(sf, a, recipe.getE4m3Max());
  for (unsigned j = 0; j < kBlock / 2; ++j) {
    Value byte =
        e.loadByte(data, {r, e.addI(e.mulI(blk, e.idx(kBlock / 2)), e.idx(j))});
    Value lo = arith::AndIOp::create(b, loc, byte, m.i32(0xF));
    Value hi = arith::ShRUIOp::create(b, loc, byte, m.i32(4));
    Value col = e.addI(e.mulI(blk, e.idx(kBlock)), e.idx(2 * j));
    e.storeValue(m.dequantValue(lo, finalScale), out, {r, col});
    e.storeValue(m.dequantValue(hi, finalScale), out,
                 {r, e.addI(col, e.idx(1))});
  }
}

} // namespace detail
} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_LIB_CONVERSION_COMMON_QUANTIZEEMITTER_H
