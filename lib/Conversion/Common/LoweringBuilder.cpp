//===- LoweringBuilder.cpp - IR builder of the nvfp4 lowerings ------------===//

#include "nvfp4/Conversion/LoweringBuilder.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::nvfp4;

SmallVector<Value> LoweringBuilder::loop(
    Value lb, Value ub, ValueRange init,
    function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  auto forOp = scf::ForOp::create(b, lb, ub, idx(1), init);
  OpBuilder::InsertionGuard guard(b);
  Block *block = forOp.getBody();
  // A loop without iter_args comes with its (empty) yield; the body goes
  // before it. Ops are only ever added, never erased behind the builder's
  // listener (a conversion driver tracks every op it is told of).
  if (!block->empty()) {
    b.setInsertionPoint(block->getTerminator());
    SmallVector<Value> next =
        body(forOp.getInductionVar(), forOp.getRegionIterArgs());
    assert(next.empty() && "a loop without iter_args yields nothing");
    (void)next;
    return {};
  }
  b.setInsertionPointToEnd(block);
  SmallVector<Value> next =
      body(forOp.getInductionVar(), forOp.getRegionIterArgs());
  scf::YieldOp::create(b, next);
  return SmallVector<Value>(forOp.getResults());
}

void LoweringBuilder::loop(Value lb, Value ub, function_ref<void(Value)> body) {
  loop(lb, ub, {}, [&](Value iv, ValueRange) {
    body(iv);
    return SmallVector<Value>();
  });
}

Value LoweringBuilder::loadF32(Value memref, ValueRange indices) {
  Value v = memref::LoadOp::create(b, memref, indices);
  if (!v.getType().isF32())
    v = arith::ExtFOp::create(b, b.getF32Type(), v);
  return v;
}

SmallVector<Value, kBlock>
LoweringBuilder::loadVectorF32(Value memref, ValueRange indices,
                               unsigned alignment) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  auto type = VectorType::get({int64_t(kBlock)}, element);
  Value v = vector::LoadOp::create(
      b, type, memref, indices,
      /*nontemporal=*/false,
      llvm::MaybeAlign(alignment ? alignment : blockAlignment));
  if (!element.isF32())
    v = arith::ExtFOp::create(
        b, VectorType::get({int64_t(kBlock)}, b.getF32Type()), v);
  SmallVector<Value, kBlock> x;
  for (int64_t i = 0; i < int64_t(kBlock); ++i)
    x.push_back(vector::ExtractOp::create(b, v, i));
  return x;
}

Value LoweringBuilder::loadByte(Value memref, ValueRange indices) {
  Value v = memref::LoadOp::create(b, memref, indices);
  if (!v.getType().isInteger(8))
    v = arith::BitcastOp::create(b, b.getI8Type(), v);
  return arith::ExtUIOp::create(b, b.getI32Type(), v);
}

void LoweringBuilder::storeByte(Value byte, Value memref, ValueRange indices) {
  Value v = arith::TruncIOp::create(b, b.getI8Type(), byte);
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  if (element != v.getType())
    v = arith::BitcastOp::create(b, element, v);
  memref::StoreOp::create(b, v, memref, indices);
}

void LoweringBuilder::storeBytesVector(ArrayRef<Value> bytes, Value memref,
                                       ValueRange indices) {
  SmallVector<Value> narrow;
  for (Value v : bytes)
    narrow.push_back(arith::TruncIOp::create(b, b.getI8Type(), v));
  auto type = VectorType::get({int64_t(bytes.size())}, b.getI8Type());
  Value vec = vector::FromElementsOp::create(b, type, narrow);
  vector::StoreOp::create(b, vec, memref, indices,
                          /*nontemporal=*/false,
                          llvm::MaybeAlign(bytes.size()));
}

Value LoweringBuilder::flatView(Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  Value size = mulI(dim(memref, 0), dim(memref, 1));
  return memref::ReinterpretCastOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, type.getElementType()),
      memref, /*offset=*/OpFoldResult(b.getIndexAttr(0)),
      /*sizes=*/ArrayRef<OpFoldResult>{size},
      /*strides=*/ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
}

Value LoweringBuilder::toElement(Value v, Type element) {
  if (element.isF32())
    return v;
  Value bits;
  int64_t canonicalNaN;
  if (element.isBF16()) {
    // Round on the bit pattern (exact RNE) rather than rely on a host
    // libcall for f32 -> bf16.
    Value hi = arith::ShRUIOp::create(b, num.bitsOf(num.roundToBF16(v)),
                                      num.i32(16));
    bits = arith::TruncIOp::create(b, b.getI16Type(), hi);
    canonicalNaN = 0x7FC0;
  } else {
    bits = arith::BitcastOp::create(b, b.getI16Type(),
                                    arith::TruncFOp::create(b, element, v));
    canonicalNaN = 0x7E00;
  }
  // One NaN pattern on every target: conversions differ in the NaN they
  // produce (the CPU keeps payload bits, cvt.rn.f16.f32 gives 0x7FFF).
  bits = arith::SelectOp::create(
      b, num.cmpF(arith::CmpFPredicate::UNO, v, v),
      arith::ConstantIntOp::create(b, b.getI16Type(), canonicalNaN), bits);
  return arith::BitcastOp::create(b, element, bits);
}

void LoweringBuilder::storeValue(Value v, Value memref, ValueRange indices) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  memref::StoreOp::create(b, toElement(v, element), memref, indices);
}

void LoweringBuilder::storeValues(ArrayRef<Value> values, Value memref,
                                  ValueRange indices) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  SmallVector<Value> narrow;
  for (Value v : values)
    narrow.push_back(toElement(v, element));
  auto type = VectorType::get({int64_t(values.size())}, element);
  vector::StoreOp::create(b, vector::FromElementsOp::create(b, type, narrow),
                          memref, indices, /*nontemporal=*/false,
                          llvm::MaybeAlign(blockAlignment));
}

Value LoweringBuilder::blockAmax(ArrayRef<Value> x) {
  Value acc = num.f32(0.0f);
  for (Value xi : x)
    acc = num.amaxStep(acc, xi);
  return acc;
}
