//===- GemmNumerics.cpp - SPEC.md section 12 as MLIR ----------------------===//
//
// Thin compositions of NumericsBuilder operations, so the GEMM epilogue uses
// the same single-rounding arithmetic as the quantizer.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Numerics/GemmNumerics.h"
#include "nvfp4/Numerics/NumericsBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nvfp4;

GemmScaleClass mlir::nvfp4::gemmScaleClass(RecipeAttr aRecipe,
                                           RecipeAttr bRecipe) {
  // An unscaled A (W4A16) groups like a per-tensor operand: no factor of
  // its own anywhere.
  OuterGroup a = aRecipe ? aRecipe.getOuter() : OuterGroup::Tensor;
  OuterGroup b = bRecipe.getOuter();
  if (a == OuterGroup::Window || b == OuterGroup::Window)
    return GemmScaleClass::Window;
  if (a == OuterGroup::Row || b == OuterGroup::Row)
    return GemmScaleClass::Row;
  return GemmScaleClass::Tensor;
}

Value mlir::nvfp4::gemmC(OpBuilder &b, Location loc, RecipeAttr aRecipe,
                         RecipeAttr bRecipe) {
  // 36 * E_A * E_B (and 6 * E_B) is exact in binary32; the division is
  // rounded once here.
  float c = aRecipe ? 1.0f / (36.0f * float(aRecipe.getE4m3Max()) *
                              float(bRecipe.getE4m3Max()))
                    : 1.0f / (6.0f * float(bRecipe.getE4m3Max()));
  return NumericsBuilder(b, loc).f32(c);
}

Value mlir::nvfp4::gemmWindowFactor(OpBuilder &b, Location loc, Value amaxA,
                                    Value amaxB, Value c) {
  NumericsBuilder m(b, loc);
  return m.mul(amaxA ? m.mul(amaxA, amaxB) : amaxB, c);
}

Value mlir::nvfp4::gemmEpilogue(OpBuilder &b, Location loc, RecipeAttr aRecipe,
                                RecipeAttr bRecipe, Value acc, Value amaxA,
                                Value amaxB, Value c, float alpha, Value bias) {
  NumericsBuilder m(b, loc);
  Value x = acc;
  switch (gemmScaleClass(aRecipe, bRecipe)) {
  case GemmScaleClass::Tensor:
    // One scalar for the whole GEMM (what a kernel passes as its alpha).
    x = m.mul(m.mul(aRecipe ? m.mul(amaxA, amaxB) : amaxB, c), acc);
    break;
  case GemmScaleClass::Row:
    // Applied one amax at a time: RN(amaxA*amaxB) could overflow or lose
    // range for per-row amaxes far apart, and this is the order of the
    // per-token references (SPEC.md section 12).
    x = m.mul(c, m.mul(amaxB, aRecipe ? m.mul(amaxA, acc) : acc));
    break;
  case GemmScaleClass::Window:
    // Every K window was promoted before it reached the accumulator.
    break;
  }
  if (alpha != 1.0f)
    x = m.mul(m.f32(x, alpha), x);
  if (bias)
    x = m.add(x, bias);
  return x;
}

Value mlir::nvfp4::gemmDecode(OpBuilder &b, Location loc, Value nibble,
                              Value scaleF32) {
  NumericsBuilder m(b, loc);
  Type type = nibble.getType();
  auto vec = dyn_cast<VectorType>(type);
  Type element = vec ? vec.getElementType() : type;
  if (!element.isInteger(32)) {
    Type i32 = b.getI32Type();
    nibble = arith::ExtUIOp::create(b, loc, vec ? Type(vec.clone(i32)) : i32,
                                    nibble);
  }
  if (vec && !isa<VectorType>(scaleF32.getType()))
    scaleF32 = vector::BroadcastOp::create(b, loc, vec.clone(b.getF32Type()),
                                           scaleF32);
  // decodeE2M1 reads the low 4 bits only (magnitude & 7, sign & 8).
  return m.mul(m.decodeE2M1(nibble), scaleF32);
}

Value mlir::nvfp4::gemmDecodeScaleF16x2(OpBuilder &b, Location loc,
                                        Value scaleF16x2) {
  auto type = cast<VectorType>(scaleF16x2.getType());
  Value shift = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(
          type, b.getF16FloatAttr(float(1 << (14 - kGemmDecodeShift)))));
  return arith::MulFOp::create(b, loc, scaleF16x2, shift);
}

Value mlir::nvfp4::gemmDecodeScaleBF16x2(OpBuilder &b, Location loc,
                                         Value scaleF32) {
  NumericsBuilder m(b, loc);
  // Exact in f32 (a power of two, at most 448 * 2^119) and in bf16 (4
  // significant bits).
  Value multiplier =
      m.mul(scaleF32, m.f32(std::ldexp(1.0f, 126 - int(kGemmDecodeShift))));
  return vector::BroadcastOp::create(
      b, loc, VectorType::get({2}, b.getBF16Type()),
      arith::TruncFOp::create(b, loc, b.getBF16Type(), multiplier));
}

Value mlir::nvfp4::gemmRestoreDecoded(OpBuilder &b, Location loc, Value acc,
                                      int64_t decodedOperands) {
  if (decodedOperands == 0)
    return acc;
  NumericsBuilder m(b, loc);
  return m.mul(acc, m.f32(std::ldexp(1.0f, int(kGemmDecodeShift *
                                               decodedOperands))));
}

Value mlir::nvfp4::gemmDecodeF16Pair(OpBuilder &b, Location loc, Value byte,
                                     Value multiplierF16x2) {
  NumericsBuilder m(b, loc);
  auto shl = [&](Value x, int32_t n) {
    return arith::ShLIOp::create(b, loc, x, m.i32(n));
  };
  auto mask = [&](Value x, uint32_t bits) {
    return arith::AndIOp::create(b, loc, x, m.i32(int32_t(bits)));
  };
  // Nibble s|m2 m1 m0 -> f16 bits s at 15, m2..m0 at 11..9: the exponent
  // field holds E2M1's exponent and the mantissa's top bit its mantissa,
  // which reads as e2m1 * 2^-14 (normal and subnormal alike). With a copy
  // of the byte 12 bits up, the high nibble sits 16 bits above the low one,
  // so one shift and mask place both halves.
  Value x = mask(byte, 0xFF);
  x = arith::OrIOp::create(b, loc, x, shl(x, 12));
  Value word = arith::OrIOp::create(b, loc, mask(shl(x, 9), 0x0E000E00u),
                                    mask(shl(x, 12), 0x80008000u));
  auto f16x2 = VectorType::get({2}, b.getF16Type());
  Value h = vector::BitCastOp::create(
      b, loc, f16x2,
      vector::BroadcastOp::create(b, loc, VectorType::get({1}, b.getI32Type()),
                                  word));
  return arith::MulFOp::create(b, loc, h, multiplierF16x2);
}

namespace {
/// Nibbles `i` and `i + 4` of `word` as a 2-vector of the 16-bit float type
/// of `multiplierX2`, times it. A nibble s|e1 e0 m goes to bit 15 (sign)
/// and to the bits just below the exponent field's low two bits and the top
/// mantissa bit (`fieldShift` up from bit 0): the half then reads
/// e2m1 * 2^-bias, bias = (the type's exponent bias) - 1, which the
/// multiplier (sf * 2^(bias - kGemmDecodeShift)) turns into the decoded
/// element. The high half gets nibble i + 4, which sits 16 bits above
/// nibble i, with the same shifts.
Value decodeNibblesX2(OpBuilder &b, Location loc, Value word, int64_t i,
                      Value multiplierX2, int32_t fieldShift,
                      uint32_t fieldMask) {
  NumericsBuilder m(b, loc);
  auto shift = [&](int32_t n) -> Value {
    if (n == 0)
      return word;
    if (n > 0)
      return arith::ShLIOp::create(b, loc, word, m.i32(n));
    return arith::ShRUIOp::create(b, loc, word, m.i32(-n));
  };
  auto mask = [&](Value x, uint32_t bits) {
    return arith::AndIOp::create(b, loc, x, m.i32(int32_t(bits)));
  };
  int32_t at = int32_t(4 * i);
  Value bits =
      arith::OrIOp::create(b, loc, mask(shift(fieldShift - at), fieldMask),
                           mask(shift(12 - at), 0x80008000u));
  auto type = cast<VectorType>(multiplierX2.getType());
  Value h = vector::BitCastOp::create(
      b, loc, type,
      vector::BroadcastOp::create(b, loc, VectorType::get({1}, b.getI32Type()),
                                  bits));
  return arith::MulFOp::create(b, loc, h, multiplierX2);
}
} // namespace

Value mlir::nvfp4::gemmDecodeF16Nibbles(OpBuilder &b, Location loc,
                                        Value word, int64_t i,
                                        Value multiplierF16x2) {
  // e1 e0 m at bits 11..9 (exponent bits 11..10, mantissa bit 9): the half
  // reads e2m1 * 2^-14.
  return decodeNibblesX2(b, loc, word, i, multiplierF16x2, 9, 0x0E000E00u);
}

Value mlir::nvfp4::gemmDecodeBF16Nibbles(OpBuilder &b, Location loc,
                                         Value word, int64_t i,
                                         Value multiplierBF16x2) {
  // e1 e0 m at bits 8..6 (exponent bits 8..7, mantissa bit 6): the half
  // reads e2m1 * 2^-126.
  return decodeNibblesX2(b, loc, word, i, multiplierBF16x2, 6, 0x01C001C0u);
}

Value mlir::nvfp4::gemmLoadScaleByte(OpBuilder &b, Location loc, Value scale,
                                     Value row, Value block, Value numBlocks,
                                     Value group) {
  NumericsBuilder m(b, loc);
  Value flat = m.scaleOffset(ScaleLayout::Swizzle128x4, row, block, numBlocks);
  auto type = cast<MemRefType>(scale.getType());
  unsigned rank = type.getRank();
  SmallVector<Value, 3> indices;
  if (rank == 1) {
    // A flat view: the offset is the index.
    indices.push_back(flat);
  } else {
    Value cols = memref::DimOp::create(b, loc, scale, rank - 1);
    if (rank == 3)
      indices.push_back(group);
    indices.push_back(arith::DivUIOp::create(b, loc, flat, cols));
    indices.push_back(arith::RemUIOp::create(b, loc, flat, cols));
  }
  Value v = memref::LoadOp::create(b, loc, scale, indices);
  Value byte = arith::ExtUIOp::create(
      b, loc, b.getI32Type(),
      arith::BitcastOp::create(b, loc, b.getI8Type(), v));
  return byte;
}

Value mlir::nvfp4::gemmLoadScale(OpBuilder &b, Location loc, Value scale,
                                 Value row, Value block, Value numBlocks,
                                 Value group) {
  return NumericsBuilder(b, loc).decodeE4M3(
      gemmLoadScaleByte(b, loc, scale, row, block, numBlocks, group));
}

Value mlir::nvfp4::gemmLoadAmax(OpBuilder &b, Location loc, RecipeAttr recipe,
                                Value amax, Value row, Value window,
                                Value group) {
  NumericsBuilder m(b, loc);
  unsigned rank = cast<MemRefType>(amax.getType()).getRank();
  SmallVector<Value, 3> indices;
  switch (recipe.getOuter()) {
  case OuterGroup::Tensor:
    indices.push_back(group ? group
                            : arith::ConstantIndexOp::create(b, loc, 0));
    break;
  case OuterGroup::Row:
    if (rank == 2)
      indices.push_back(group);
    indices.push_back(row);
    break;
  case OuterGroup::Window:
    if (rank == 3)
      indices.push_back(group);
    indices.append({row, window});
    break;
  }
  Value v = memref::LoadOp::create(b, loc, amax, indices);
  if (recipe.getNumerics() == Numerics::Quotient)
    v = m.fmax(v, m.f32(1e-12f));
  return v;
}
