//===- ReferenceRecipe.h - Runtime values as the reference sees them -*- C++
//-*-===//
//
// The scalar reference (unittests/Reference) shares no code with the
// compiler; these translate a dialect recipe and the runtime's outputs into
// its terms, for every test that compares the two byte for byte.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_UNITTESTS_RUNTIME_REFERENCERECIPE_H
#define NVFP4_UNITTESTS_RUNTIME_REFERENCERECIPE_H

#include "NVFP4Reference.h"
#include "nvfp4/Runtime/Runner.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace nvfp4 {
namespace testing {

using mlir::nvfp4::AmaxSource;
using mlir::nvfp4::Numerics;
using mlir::nvfp4::OuterGroup;
using mlir::nvfp4::RecipeAttr;
using mlir::nvfp4::ScaleLayout;
using mlir::nvfp4::Selection;

/// The reference's recipe for a dialect recipe (field by field).
inline ref::Recipe toReference(RecipeAttr r) {
  ref::Recipe out;
  out.outer = r.getOuter() == OuterGroup::Tensor ? ref::Outer::Tensor
              : r.getOuter() == OuterGroup::Row  ? ref::Outer::Row
                                                 : ref::Outer::Window;
  out.window = r.getWindow();
  out.block = r.isBlock2D() ? ref::Block::B16x16 : ref::Block::B1x16;
  out.numerics = r.getNumerics() == Numerics::Quotient
                     ? ref::Numerics::Quotient
                     : ref::Numerics::Reciprocal;
  out.select = r.getSelect() == Selection::Map6 ? ref::Select::Map6
               : r.getSelect() == Selection::FourOverSixMAE
                   ? ref::Select::FourOverSixMAE
                   : ref::Select::FourOverSixMSE;
  out.e4m3Max = r.getE4m3Max();
  out.rounding =
      r.isStochastic() ? ref::Rounding::Stochastic : ref::Rounding::Nearest;
  out.seed = r.getSeed();
  out.rht = r.hasRHT();
  out.rhtMask = uint16_t(r.getRhtMask());
  out.rowwise = r.getRowwise();
  out.columnwise = r.getColumnwise();
  out.layout = r.getSfLayout() == ScaleLayout::Linear ? ref::SfLayout::Linear
               : r.getSfLayout() == ScaleLayout::Swizzle128x4
                   ? ref::SfLayout::Swizzle128x4
                   : ref::SfLayout::Swizzle8x4;
  out.amaxSource = r.getAmaxSource() == AmaxSource::Computed
                       ? ref::AmaxSource::Computed
                   : r.getAmaxSource() == AmaxSource::Given
                       ? ref::AmaxSource::Given
                       : ref::AmaxSource::GivenEncodeScale;
  uint32_t bits = r.getGlobalScaleInvBits();
  std::memcpy(&out.globalScaleInv, &bits, sizeof(bits));
  return out;
}

inline ref::DType toRefType(ElementType t) {
  return t == ElementType::F32   ? ref::DType::F32
         : t == ElementType::F16 ? ref::DType::F16
                                 : ref::DType::BF16;
}

inline std::vector<uint32_t> bitsOf(const std::vector<float> &v) {
  std::vector<uint32_t> bits(v.size());
  std::memcpy(bits.data(), v.data(), v.size() * 4);
  return bits;
}

/// Compares one direction; returns a description of the first mismatch.
inline std::string compare(const QuantizedOutput &got,
                           const ref::Quantized &want) {
  if (got.data != want.data) {
    for (size_t i = 0; i < got.data.size(); ++i)
      if (got.data[i] != want.data[i])
        return "data byte " + std::to_string(i) + ": got " +
               std::to_string(got.data[i]) + ", want " +
               std::to_string(want.data[i]);
    return "data size";
  }
  if (got.scale != want.scale) {
    for (size_t i = 0; i < std::min(got.scale.size(), want.scale.size()); ++i)
      if (got.scale[i] != want.scale[i])
        return "scale byte " + std::to_string(i) + ": got " +
               std::to_string(got.scale[i]) + ", want " +
               std::to_string(want.scale[i]);
    return "scale size " + std::to_string(got.scale.size()) + " vs " +
           std::to_string(want.scale.size());
  }
  if (bitsOf(got.amax) != bitsOf(want.amax))
    return "amax";
  return "";
}

} // namespace testing
} // namespace nvfp4

#endif // NVFP4_UNITTESTS_RUNTIME_REFERENCERECIPE_H
