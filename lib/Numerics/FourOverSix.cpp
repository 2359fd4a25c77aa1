//===- FourOverSix.cpp - SPEC.md section 7 as MLIR -----------------------===//
//
// The 4over6 candidate scales and errors of NumericsBuilder (SPEC.md
// section 7), kept apart from the rest of the builder.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Numerics/NumericsBuilder.h"

using namespace mlir;
using namespace mlir::nvfp4;

namespace {
constexpr uint32_t kFltMaxBits = 0x7F7FFFFF;
} // namespace

//===----------------------------------------------------------------------===//
// Section 7: 4over6
//===----------------------------------------------------------------------===//

std::array<NumericsBuilder::BlockScale, 2>
NumericsBuilder::fourOverSixScales(RecipeAttr recipe, Value blockAmax,
                                   Value sEnc, Value sDec) {
  Value fltMax = f32Bits(blockAmax, kFltMaxBits);
  Value cap = f32(blockAmax, 448.0f); // 448 even when E = 256
  // Divide first here, unlike the map6 path (SPEC.md section 7).
  Value base = mul(div(blockAmax, f32(blockAmax, 6.0f)), sEnc);
  Value sf4 = encodeE4M3(fmin(mul(base, f32(base, 1.5f)), cap));
  Value sf6 = encodeE4M3(fmin(base, cap));
  std::array<BlockScale, 2> result;
  for (auto [scale, sf] : llvm::zip(result, std::array{sf4, sf6}))
    scale = {sf, fmin(reciprocal(mul(decodeE4M3(sf), sDec)), fltMax)};
  return result;
}

Value NumericsBuilder::fourOverSixError(RecipeAttr recipe, ArrayRef<Value> x,
                                        BlockScale scale, Value amax) {
  bool mse = recipe.getSelect() == Selection::FourOverSixMSE;
  Value sfValue = decodeE4M3(scale.sf);
  Value sixE = f32(amax, 6.0f * recipe.getE4m3Max());
  Value err = f32(amax, 0.0f);
  for (Value xi : x) {
    Value code = encodeE2M1(mul(xi, scale.enc));
    Value val = div(mul(mul(decodeE2M1(code), sfValue), amax), sixE);
    Value d = sub(val, xi);
    err = add(err, mse ? mul(d, d) : abs(d));
  }
  return err;
}

Value NumericsBuilder::treeSum16(ArrayRef<Value> rowErrors) {
  assert(rowErrors.size() == kBlock && "a tile has 16 rows");
  SmallVector<Value, kBlock> v(rowErrors);
  for (unsigned half = 8; half >= 1; half /= 2)
    for (unsigned k = 0; k < half; ++k)
      v[k] = add(v[k], v[k + half]);
  return v[0];
}
