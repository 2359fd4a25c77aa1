//===- ProducerEmitter.cpp - Producers read as a quantization's X ---------===//
//
// Every value goes through NumericsBuilder's section 15 functions: the
// fused kernels, the producer kernels and the CPU loops emit the same
// sequence per element.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Conversion/ProducerEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::nvfp4;

//===----------------------------------------------------------------------===//
// Gated activations
//===----------------------------------------------------------------------===//

Value GatedActSource::combine(LoweringBuilder &e, Value g, Value u) {
  NumericsBuilder &m = e.math();
  return m.roundToStorage(m.mul(m.gatedActivation(act, g), u), storageType());
}

Value GatedActSource::load(LoweringBuilder &e, Value r, Value c) {
  Value g = e.loadF32(input, {r, c});
  Value u = e.loadF32(input, {r, e.addI(c, cols(e))});
  return combine(e, g, u);
}

SmallVector<Value, kBlock> GatedActSource::loadRow16(LoweringBuilder &e,
                                                     Value r, Value c) {
  SmallVector<Value, kBlock> x;
  if (e.blockAlignment) {
    // N % 16 == 0 (the rowwise direction requires it), so the up half's
    // blocks are as aligned as the gate half's.
    SmallVector<Value, kBlock> g = e.loadVectorF32(input, {r, c});
    SmallVector<Value, kBlock> u =
        e.loadVectorF32(input, {r, e.addI(c, cols(e))});
    for (unsigned i = 0; i < kBlock; ++i)
      x.push_back(combine(e, g[i], u[i]));
    return x;
  }
  for (unsigned i = 0; i < kBlock; ++i)
    x.push_back(load(e, r, e.addI(c, e.idx(i))));
  return x;
}

//===----------------------------------------------------------------------===//
// RMSNorm
//===----------------------------------------------------------------------===//

Value RMSNormSource::loadH(LoweringBuilder &e, Value r, Value c) {
  Value x = e.loadF32(input, {r, c});
  if (!residual)
    return x;
  NumericsBuilder &m = e.math();
  return m.roundToStorage(m.add(x, e.loadF32(residual, {r, c})),
                          storageType());
}

Value RMSNormSource::normalize(LoweringBuilder &e, Value h, Value rowInv,
                               Value w) {
  NumericsBuilder &m = e.math();
  return m.roundToStorage(m.mul(m.mul(h, rowInv), w), storageType());
}

Value RMSNormSource::fromH(LoweringBuilder &e, Value r, Value c, Value h) {
  return normalize(e, h, inv(e, r), e.loadF32(weight, {c}));
}

Value RMSNormSource::load(LoweringBuilder &e, Value r, Value c) {
  return fromH(e, r, c, loadH(e, r, c));
}

SmallVector<Value, kBlock> RMSNormSource::loadRow16(LoweringBuilder &e,
                                                    Value r, Value c) {
  SmallVector<Value, kBlock> x;
  Value rowInv = inv(e, r);
  if (e.blockAlignment) {
    SmallVector<Value, kBlock> h = loadH16(e, r, c);
    SmallVector<Value, kBlock> w = e.loadVectorF32(weight, {c});
    for (unsigned i = 0; i < kBlock; ++i)
      x.push_back(normalize(e, h[i], rowInv, w[i]));
    return x;
  }
  for (unsigned i = 0; i < kBlock; ++i) {
    Value ci = e.addI(c, e.idx(i));
    x.push_back(
        normalize(e, loadH(e, r, ci), rowInv, e.loadF32(weight, {ci})));
  }
  return x;
}

SmallVector<Value, kBlock> RMSNormSource::loadH16(LoweringBuilder &e, Value r,
                                                  Value c) {
  if (hBlockHook)
    return hBlockHook(e, r, c, [&] { return loadH16FromMemory(e, r, c); });
  return loadH16FromMemory(e, r, c);
}

SmallVector<Value, kBlock>
RMSNormSource::loadH16FromMemory(LoweringBuilder &e, Value r, Value c) {
  SmallVector<Value, kBlock> h = e.loadVectorF32(input, {r, c});
  if (!residual)
    return h;
  NumericsBuilder &m = e.math();
  SmallVector<Value, kBlock> res = e.loadVectorF32(residual, {r, c});
  for (unsigned i = 0; i < kBlock; ++i)
    h[i] = m.roundToStorage(m.add(h[i], res[i]), storageType());
  return h;
}

Value RMSNormSource::blockSumSquares(LoweringBuilder &e, Value r, Value c,
                                     Value n) {
  ImplicitLocOpBuilder &b = e.builder();
  NumericsBuilder &m = e.math();
  auto serial = [&] {
    return e.loop(c, e.addI(c, n), {m.f32(0.0f)},
                  [&](Value ci, ValueRange acc) {
                    return SmallVector<Value>{
                        m.sumSquaresStep(acc[0], loadH(e, r, ci))};
                  })[0];
  };
  if (!e.blockAlignment)
    return serial();
  // A whole block of a row of K % 16 == 0 values is aligned: one vector
  // load (per operand) instead of 16.
  auto eq = [&](Value a, Value v) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, a, v);
  };
  Value aligned = arith::AndIOp::create(
      b, eq(n, e.idx(kBlock)),
      eq(e.remI(cols(e), e.idx(kBlock)), e.idx(0)));
  auto ifOp = scf::IfOp::create(b, TypeRange{b.getF32Type()}, aligned,
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  Value acc = m.f32(0.0f);
  for (Value h : loadH16(e, r, c))
    acc = m.sumSquaresStep(acc, h);
  scf::YieldOp::create(b, acc);
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, serial());
  b.setInsertionPointAfter(ifOp);
  return ifOp.getResult(0);
}

void mlir::nvfp4::emitPairwiseTree(LoweringBuilder &e, Value buf, Value n,
                                   int64_t levels) {
  ImplicitLocOpBuilder &b = e.builder();
  NumericsBuilder &m = e.math();
  // Strides past n run no pairs.
  e.loop(e.idx(0), e.idx(levels), [&](Value level) {
    Value stride = arith::ShLIOp::create(b, e.idx(1), level);
    Value step = e.mulI(stride, e.idx(2));
    Value pairs = arith::SubIOp::create(b, n, stride);
    auto inner = scf::ForOp::create(b, e.idx(0), pairs, step);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(inner.getBody());
    Value lo = inner.getInductionVar();
    e.storeF32(m.add(e.loadF32(buf, {lo}), e.loadF32(buf, {e.addI(lo, stride)})),
               buf, {lo});
  });
}

void mlir::nvfp4::emitRMSInverseLoops(LoweringBuilder &e,
                                      RMSNormSource &source, float eps,
                                      Value rstd) {
  ImplicitLocOpBuilder &b = e.builder();
  NumericsBuilder &m = e.math();
  Value k = source.cols(e);
  Value blocks = e.ceilDivI(k, kBlock);
  Value kF32 = arith::UIToFPOp::create(
      b, b.getF32Type(), arith::IndexCastUIOp::create(b, b.getI64Type(), k));
  // One scratch row of block partial sums, reused by every row; entry 0
  // is +0 for a row without values (K = 0: ss = +0).
  Value partial = memref::AllocOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getF32Type()),
      ValueRange{e.addI(blocks, e.idx(1))});
  e.loop(e.idx(0), source.rows(e), [&](Value r) {
    e.storeF32(m.f32(0.0f), partial, {e.idx(0)});
    e.loop(e.idx(0), blocks, [&](Value blk) {
      Value c = e.mulI(blk, e.idx(kBlock));
      Value n = e.minI(e.idx(kBlock), arith::SubIOp::create(b, k, c));
      e.storeF32(source.blockSumSquares(e, r, c, n), partial, {blk});
    });
    // 2^60 strides cover any row of a buffer of at most 2^62 bytes.
    emitPairwiseTree(e, partial, blocks, /*levels=*/61);
    Value ss = e.loadF32(partial, {e.idx(0)});
    Value inv = m.rmsInverse(ss, kF32, eps);
    e.storeF32(m.roundToStorage(inv, b.getF32Type()), rstd, {r});
  });
  memref::DeallocOp::create(b, partial);
}

void mlir::nvfp4::emitProducerOutputs(LoweringBuilder &e, ValueSource &source,
                                      Value y, RMSNormSource *rms,
                                      RowSchedule &schedule) {
  Value residual = rms ? rms->getResidual() : Value();
  if (!y && !residual)
    return;
  ImplicitLocOpBuilder &b = e.builder();
  Value cols = source.cols(e);
  Value tail = e.idx(0);
  if (e.blockAlignment) {
    // Rows of K % 16 == 0 values are aligned blocks: vector loads and
    // stores. Other rows go to the loop below whole.
    Value whole = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                        e.remI(cols, e.idx(kBlock)), e.idx(0));
    Value blocks = arith::SelectOp::create(b, whole, e.divI(cols, kBlock),
                                           e.idx(0));
    tail = e.mulI(blocks, e.idx(kBlock));
    schedule.forEach2D(
        e, e.idx(0), source.rows(e), blocks, /*jFastest=*/true,
        [&](Value r, Value blk) {
          emitProducerBlockOutputs(e, source, y, rms, r,
                                   e.mulI(blk, e.idx(kBlock)));
        });
  }
  schedule.forEach2D(
      e, e.idx(0), source.rows(e), arith::SubIOp::create(b, cols, tail),
      /*jFastest=*/true, [&](Value r, Value j) {
        Value c = e.addI(tail, j);
        if (!rms) {
          e.storeValue(source.load(e, r, c), y, {r, c});
          return;
        }
        // y from h before h replaces the residual.
        Value h = rms->loadH(e, r, c);
        if (y)
          e.storeValue(rms->fromH(e, r, c, h), y, {r, c});
        if (residual)
          e.storeValue(h, residual, {r, c});
      });
}

void mlir::nvfp4::emitProducerBlockOutputs(LoweringBuilder &e,
                                           ValueSource &source, Value y,
                                           RMSNormSource *rms, Value r,
                                           Value c) {
  Value residual = rms ? rms->getResidual() : Value();
  // y from h before h replaces the residual.
  SmallVector<Value, kBlock> h;
  if (residual)
    h = rms->loadH16(e, r, c);
  if (y)
    e.storeValues(source.loadRow16(e, r, c), y, {r, c});
  if (residual)
    e.storeValues(h, residual, {r, c});
}
