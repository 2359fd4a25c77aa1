//===- QuantizeEmitter.cpp - Quantization loop nests ----------------------===//

#include "nvfp4/Conversion/QuantizeEmitter.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::nvfp4;

RowSchedule::~RowSchedule() = default;

//===----------------------------------------------------------------------===//
// SerialSchedule
//===----------------------------------------------------------------------===//

void SerialSchedule::forEach(LoweringBuilder &e, Value lb, Value ub,
                             function_ref<void(Value)> body) {
  e.loop(lb, ub, body);
}

void SerialSchedule::forEach2D(LoweringBuilder &e, Value iLb, Value iUb,
                               Value nj, bool,
                               function_ref<void(Value, Value)> body) {
  e.loop(iLb, iUb, [&](Value i) {
    e.loop(e.idx(0), nj, [&](Value j) { body(i, j); });
  });
}

void SerialSchedule::reduceMaxPerRow(
    LoweringBuilder &e, Value lb, Value ub, Value nj,
    function_ref<Value(Value, Value)> value,
    function_ref<void(Value, Value)> commit) {
  e.loop(lb, ub, [&](Value r) {
    Value acc = e.loop(e.idx(0), nj, {e.math().f32(0.0f)},
                       [&](Value j, ValueRange args) {
                         return SmallVector<Value>{
                             e.math().fmax(args[0], value(r, j))};
                       })[0];
    commit(r, acc);
  });
}

//===----------------------------------------------------------------------===//
// DirectionEmitter
//===----------------------------------------------------------------------===//

void DirectionEmitter::emitAmaxInit() {
  if (recipe.getOuter() == OuterGroup::Row) {
    schedule.forEach(e, d.rowBegin, d.rowEnd,
                     [&](Value r) { d.storeAmax(m.f32(0.0f), r, {}); });
    return;
  }
  schedule.forEach(e, e.idx(0), e.idx(1),
                   [&](Value) { d.storeAmax(m.f32(0.0f), {}, {}); });
}

void DirectionEmitter::zeroScales(LoweringBuilder &e, Value scale,
                                  RowSchedule &schedule) {
  Value zero = e.math().i32(0);
  Value bytes = e.mulI(e.dim(scale, 0), e.dim(scale, 1));
  schedule.forEach(e, e.idx(0), bytes,
                   [&](Value i) { e.storeFlatByte(zero, scale, i); });
}

Value DirectionEmitter::blockAmaxAt(Value r, Value blk) {
  if (d.loadBlockAmax)
    return d.loadBlockAmax(r, blk);
  return e.blockAmax(d.loadBlock(r, blk));
}

Value DirectionEmitter::rowAmax(Value r, Value lb, Value ub, Value acc) {
  return e.loop(lb, ub, {acc}, [&](Value blk, ValueRange args) {
    return SmallVector<Value>{m.fmax(args[0], blockAmaxAt(r, blk))};
  })[0];
}

Value DirectionEmitter::outerAmax(Value tensorAmax, Value r, Value blk) {
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

Value DirectionEmitter::tensorAmaxOrNull() {
  if (recipe.getOuter() != OuterGroup::Tensor)
    return {};
  return d.loadAmax({}, {});
}

SmallVector<Value, kBlock> DirectionEmitter::randomBytesFor(Value r,
                                                            Value blk) {
  if (!recipe.isStochastic())
    return {};
  ImplicitLocOpBuilder &b = e.builder();
  Value linear = e.addI(e.mulI(r, d.totalBlocks), e.addI(d.blockBase, blk));
  Value index = arith::IndexCastUIOp::create(b, b.getI64Type(), linear);
  return m.randomBytes(recipe.getSeed(), index, d.stream);
}

void DirectionEmitter::storeBlock(Value r, Value blk, Value sf,
                                  ArrayRef<Value> bytes) {
  Value offset;
  if (recipe.getSfLayout() == ScaleLayout::Linear) {
    offset = e.addI(e.mulI(r, d.totalBlocks), e.addI(d.blockBase, blk));
  } else {
    // Swizzled tiles restart at each group's first row.
    Value local = arith::SubIOp::create(e.builder(), r, d.rowBegin);
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

void DirectionEmitter::emitBlocks() {
  Value tensorAmax = tensorAmaxOrNull();
  schedule.forEach2D(e, d.rowBegin, d.rowEnd, d.numBlocks, d.rowContiguous,
                     [&](Value r, Value blk) {
                       encodeBlock(tensorAmax, r, blk);
                     });
}

DirectionEmitter::EncodedBlock
DirectionEmitter::encodeBlockValues(Value tensorAmax, Value r, Value blk) {
  SmallVector<Value, kBlock> x = d.loadBlock(r, blk);
  Value blockAmax = e.blockAmax(x);
  Value amax = outerAmax(tensorAmax, r, blk);
  Value sEnc = m.outerScaleFor(recipe, amax);
  if (recipe.isFourOverSix()) {
    // The error sums leave the chosen candidate's codes behind.
    auto block = m.fourOverSixBlock(recipe, x, blockAmax, sEnc,
                                    m.reciprocal(sEnc), amax);
    return {block.scale.sf, block.bytes};
  }
  NumericsBuilder::BlockScale scale = m.blockScaleFor(recipe, blockAmax, sEnc);
  return {scale.sf, m.encodeElements(x, scale.enc, randomBytesFor(r, blk))};
}

NumericsBuilder::BlockScale
DirectionEmitter::pick(Value err4, Value err6,
                       std::array<NumericsBuilder::BlockScale, 2> candidates) {
  Value four = m.fourOverSixPicksFour(err4, err6);
  return {m.select(four, candidates[0].sf, candidates[1].sf),
          m.select(four, candidates[0].enc, candidates[1].enc)};
}

// A ragged last tile has fewer rows; the rows it lacks neither raise its
// amax nor add to its error.
void DirectionEmitter::emitTiles() {
  Value tensorAmax = tensorAmaxOrNull();
  Value sEnc = m.outerScaleFor(recipe, tensorAmax);
  Value sDec = m.reciprocal(sEnc);
  ImplicitLocOpBuilder &b = e.builder();
  Value numRows = arith::SubIOp::create(b, d.rowEnd, d.rowBegin);
  Value tiles = e.ceilDivI(numRows, kBlock);
  // 4over6 row errors go through a 16-entry scratch buffer (rows a ragged
  // tile lacks stay 0) so the row body is emitted once, not 16 times. It
  // is allocated once, outside the loops: a stack allocation per tile
  // would grow the stack with every iteration.
  Value errors;
  if (recipe.isFourOverSix())
    errors = memref::AllocaOp::create(
        b, MemRefType::get({2, kBlock}, b.getF32Type()));
  schedule.forEach2D(
      e, e.idx(0), tiles, d.numBlocks, d.rowContiguous,
      [&](Value t, Value blk) {
        Value r0 = e.addI(d.rowBegin, e.mulI(t, e.idx(kBlock)));
        Value rEnd = e.minI(e.addI(r0, e.idx(kBlock)), d.rowEnd);
        Value tileAmax =
            e.loop(r0, rEnd, {m.f32(0.0f)}, [&](Value r, ValueRange args) {
              return SmallVector<Value>{m.fmax(args[0], blockAmaxAt(r, blk))};
            })[0];
        NumericsBuilder::BlockScale scale;
        if (recipe.isFourOverSix()) {
          auto candidates = m.fourOverSixScales(recipe, tileAmax, sEnc, sDec);
          Value zero = m.f32(0.0f);
          for (int64_t c = 0; c < 2; ++c)
            for (int64_t k = 0; k < kBlock; ++k)
              e.storeF32(zero, errors, {e.idx(c), e.idx(k)});
          e.loop(r0, rEnd, [&](Value r) {
            SmallVector<Value, kBlock> x = d.loadBlock(r, blk);
            Value k = arith::SubIOp::create(b, r, r0);
            std::array<Value, 2> err =
                m.fourOverSixErrors(recipe, x, candidates, tensorAmax);
            for (int64_t c = 0; c < 2; ++c)
              e.storeF32(err[c], errors, {e.idx(c), k});
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

void DirectionEmitter::emitOuterAmax() {
  auto blockAmaxAt = [&](Value r, Value blk) {
    return this->blockAmaxAt(r, blk);
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

//===----------------------------------------------------------------------===//
// QuantizeLowering
//===----------------------------------------------------------------------===//

ValueSource::~ValueSource() = default;

Value ValueSource::loadRow16Storage(LoweringBuilder &e, Value r, Value c) {
  ImplicitLocOpBuilder &b = e.builder();
  Type storage = storageType();
  SmallVector<Value, kBlock> x = loadRow16(e, r, c);
  Value v = arith::ConstantOp::create(
      b, b.getZeroAttr(VectorType::get({int64_t(kBlock)}, storage)));
  for (auto [i, xi] : llvm::enumerate(x)) {
    // Exact: xi is already a value of the storage type.
    Value narrow = storage.isF32() ? xi : arith::TruncFOp::create(b, storage, xi);
    v = vector::InsertOp::create(b, narrow, v, int64_t(i));
  }
  return v;
}

SmallVector<Value, kBlock> MatrixSource::loadRow16(LoweringBuilder &e,
                                                   Value r, Value c) {
  if (e.blockAlignment)
    return e.loadVectorF32(input, {r, c});
  SmallVector<Value, kBlock> x;
  for (unsigned i = 0; i < kBlock; ++i)
    x.push_back(e.loadF32(input, {r, e.addI(c, e.idx(i))}));
  return x;
}

Value MatrixSource::loadRow16Storage(LoweringBuilder &e, Value r, Value c) {
  auto type = VectorType::get({int64_t(kBlock)}, storageType());
  return vector::LoadOp::create(e.builder(), type, input, ValueRange{r, c},
                                /*nontemporal=*/false,
                                llvm::MaybeAlign(e.blockAlignment));
}

Direction QuantizeLowering::rowwise(Value data, Value scale, Value amax,
                                    Value rowOffset, Value groupRows,
                                    Value group, Value scaleRowBase) {
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
                return source.loadRow16(e, r, e.mulI(blk, e.idx(kBlock)));
              },
              {},
              {},
              {},
              {}};
  bindAmax(d, amax, group, /*perGroupRows=*/false);
  return d;
}

Direction QuantizeLowering::columnwise(Value data, Value scale, Value amax,
                                       Value colOffset, Value groupCols,
                                       Value group) {
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
              {},
              {},
              {},
              {},
              {}};
  // Row r of X^T is column r of X; RHT mixes each group of 16 along M.
  auto raw = [this, colOffset](Value r, Value blk) {
    SmallVector<Value, kBlock> x;
    Value base = e.addI(colOffset, e.mulI(blk, e.idx(kBlock)));
    for (unsigned i = 0; i < kBlock; ++i)
      x.push_back(source.load(e, e.addI(base, e.idx(i)), r));
    return x;
  };
  d.loadBlock = raw;
  if (recipe.hasRHT()) {
    unsigned mask = recipe.getRhtMask();
    d.loadBlock = [this, raw, mask](Value r, Value blk) {
      return m.rht16(raw(r, blk), mask);
    };
    d.loadBlockAmax = [this, raw, mask](Value r, Value blk) {
      return m.rht16AbsMax(raw(r, blk), mask);
    };
  }
  bindAmax(d, amax, group, /*perGroupRows=*/true);
  return d;
}

void QuantizeLowering::bindAmax(Direction &d, Value amax, Value group,
                                bool perGroupRows) {
  Value g = group ? group : e.idx(0);
  RecipeAttr recipe = this->recipe;
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
  LoweringBuilder &e = this->e;
  d.loadAmax = [=, &e](Value r, Value w) {
    return e.loadF32(amax, indices(r, w));
  };
  d.storeAmax = [=, &e](Value v, Value r, Value w) {
    e.storeF32(v, amax, indices(r, w));
  };
  d.atomicMaxAmax = [=, &e](Value v, Value r, Value w) {
    if (e.atomicMaxAmax)
      return e.atomicMaxAmax(v, amax, indices(r, w));
    memref::AtomicRMWOp::create(e.builder(), arith::AtomicRMWKind::maxnumf, v,
                                amax, indices(r, w));
  };
}

//===----------------------------------------------------------------------===//
// Dequantization
//===----------------------------------------------------------------------===//

void mlir::nvfp4::emitDequantizeBlock(LoweringBuilder &e, RecipeAttr recipe,
                                      Value data, Value scale, Value amax,
                                      Value out, Value r, Value blk,
                                      Value numBlocks, Value tensorAmax) {
  NumericsBuilder &m = e.math();
  ImplicitLocOpBuilder &b = e.builder();
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
    Value lo = arith::AndIOp::create(b, byte, m.i32(0xF));
    Value hi = arith::ShRUIOp::create(b, byte, m.i32(4));
    Value col = e.addI(e.mulI(blk, e.idx(kBlock)), e.idx(2 * j));
    e.storeValue(m.dequantValue(lo, finalScale), out, {r, col});
    e.storeValue(m.dequantValue(hi, finalScale), out,
                 {r, e.addI(col, e.idx(1))});
  }
}
