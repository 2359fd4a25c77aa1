//===- NVFP4Recipe.cpp - #nvfp4.recipe parsing, printing, checks ----------===//
//
// The recipe has a hand-written syntax because its keys are optional, may
// follow a preset name in any order, and take values (`1x16`, `window<64>`,
// `stochastic<seed = 7>`) that a declarative struct format cannot express.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <cstring>
#include <type_traits>

using namespace mlir;
using namespace mlir::nvfp4;

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Enums.cpp.inc"

namespace {
/// Every parameter of a recipe, as plain values, so that presets can be
/// written as data and overridden key by key while parsing.
struct Fields {
  OuterGroup outer = OuterGroup::Tensor;
  unsigned window = 64;
  BlockShape block = BlockShape::B1x16;
  Numerics numerics = Numerics::Reciprocal;
  Selection select = Selection::Map6;
  unsigned e4m3Max = 448;
  Rounding rounding = Rounding::Nearest;
  uint64_t seed = 0;
  Transform transform = Transform::None;
  unsigned rhtMask = kDefaultRHTMask;
  bool rowwise = true;
  bool columnwise = false;
  ScaleLayout sfLayout = ScaleLayout::Linear;
  AmaxSource amaxSource = AmaxSource::Computed;
  /// binary32 bits of `global_scale_inv`; 0 for none.
  uint32_t globalScaleInvBits = 0;

  /// TransformerEngine's RHT sign vector (SPEC.md section 9).
  static constexpr unsigned kDefaultRHTMask = 0xD7E8;

  static Fields from(RecipeAttr r) {
    return {r.getOuter(),    r.getWindow(),   r.getBlock(),
            r.getNumerics(), r.getSelect(),   r.getE4m3Max(),
            r.getRounding(), r.getSeed(),     r.getTransform(),
            r.getRhtMask(),  r.getRowwise(),  r.getColumnwise(),
            r.getSfLayout(), r.getAmaxSource(), r.getGlobalScaleInvBits()};
  }
  auto tie() const {
    return std::tie(outer, window, block, numerics, select, e4m3Max, rounding,
                    seed, transform, rhtMask, rowwise, columnwise, sfLayout,
                    amaxSource, globalScaleInvBits);
  }
  bool operator==(const Fields &o) const { return tie() == o.tie(); }
};

struct Preset {
  StringRef name;
  Fields (*make)();
};

Fields perTensor() { return {}; }
Fields perTensor2D() {
  Fields f;
  f.block = BlockShape::B16x16;
  return f;
}
Fields perTensorRHT() {
  // TE's default for activations and gradients: RHT on the columnwise
  // (wgrad) operand only.
  Fields f;
  f.transform = Transform::RHT16;
  f.columnwise = true;
  return f;
}
Fields perToken() {
  Fields f;
  f.outer = OuterGroup::Row;
  return f;
}
Fields perTokenQuotient() {
  Fields f = perToken();
  f.numerics = Numerics::Quotient;
  return f;
}
Fields local1x64() {
  // The published 1x64 local-encode reference uses the quotient form.
  Fields f;
  f.outer = OuterGroup::Window;
  f.numerics = Numerics::Quotient;
  return f;
}
Fields fourOverSix() {
  // 256 is the 4over6 default: with 448 the candidates coincide for blocks
  // that hold the outer amax (SPEC.md section 7).
  Fields f;
  f.select = Selection::FourOverSixMAE;
  f.e4m3Max = 256;
  return f;
}
Fields fourOverSixMSE() {
  Fields f = fourOverSix();
  f.select = Selection::FourOverSixMSE;
  return f;
}

const Preset kPresets[] = {
    {"per_tensor", perTensor},
    {"per_tensor_2d", perTensor2D},
    {"per_tensor_rht", perTensorRHT},
    {"per_token", perToken},
    {"per_token_quotient", perTokenQuotient},
    {"local_1x64", local1x64},
    {"four_over_six", fourOverSix},
    {"four_over_six_mse", fourOverSixMSE},
};

RecipeAttr build(function_ref<InFlightDiagnostic()> emitError,
                 MLIRContext *ctx, const Fields &f) {
  auto make = [&](auto &&get) {
    return get(f.outer, f.window, f.block, f.numerics, f.select, f.e4m3Max,
               f.rounding, f.seed, f.transform, f.rhtMask, f.rowwise,
               f.columnwise, f.sfLayout, f.amaxSource, f.globalScaleInvBits);
  };
  if (emitError)
    return make([&](auto... args) {
      return RecipeAttr::getChecked(emitError, ctx, args...);
    });
  return make([&](auto... args) { return RecipeAttr::get(ctx, args...); });
}
} // namespace

//===----------------------------------------------------------------------===//
// Presets and helpers
//===----------------------------------------------------------------------===//

RecipeAttr RecipeAttr::getPreset(MLIRContext *context, StringRef name) {
  for (const Preset &p : kPresets)
    if (p.name == name)
      return build(nullptr, context, p.make());
  return {};
}

ArrayRef<StringRef> RecipeAttr::getPresetNames() {
  static const SmallVector<StringRef> names = llvm::to_vector(
      llvm::map_range(kPresets, [](const Preset &p) { return p.name; }));
  return names;
}

std::optional<StringRef> RecipeAttr::getPresetName() const {
  Fields mine = Fields::from(*this);
  for (const Preset &p : kPresets)
    if (p.make() == mine)
      return p.name;
  return std::nullopt;
}

RecipeAttr RecipeAttr::withScaleLayout(ScaleLayout layout) const {
  Fields f = Fields::from(*this);
  f.sfLayout = layout;
  return build(nullptr, getContext(), f);
}

RecipeAttr RecipeAttr::withAmaxSource(AmaxSource source) const {
  Fields f = Fields::from(*this);
  f.amaxSource = source;
  return build(nullptr, getContext(), f);
}

//===----------------------------------------------------------------------===//
// Verification (SPEC.md section 6)
//===----------------------------------------------------------------------===//

LogicalResult
RecipeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                   OuterGroup outer, unsigned window, BlockShape block,
                   Numerics numerics, Selection select, unsigned e4m3Max,
                   Rounding rounding, uint64_t seed, Transform transform,
                   unsigned rhtMask, bool rowwise, bool columnwise,
                   ScaleLayout sfLayout, AmaxSource amaxSource,
                   uint32_t globalScaleInvBits) {
  if (outer == OuterGroup::Window && window != 64)
    return emitError() << "expected window size 64, got " << window;
  if (e4m3Max != 448 && e4m3Max != 256)
    return emitError() << "expected e4m3_max to be 448 or 256, got "
                       << e4m3Max;
  if (rhtMask > 0xFFFF)
    return emitError() << "expected rht16 sign mask to fit in 16 bits, got "
                       << rhtMask;
  if (!rowwise && !columnwise)
    return emitError()
           << "expected at least one direction (rowwise or columnwise)";
  bool tile = block == BlockShape::B16x16;
  if (tile && outer == OuterGroup::Row)
    return emitError() << "outer = row is incompatible with block = 16x16: "
                          "the 16 rows of a tile would need 16 different "
                          "outer scales";
  if (tile && outer == OuterGroup::Window)
    return emitError() << "outer = window<64> is incompatible with block = "
                          "16x16: a tile would span 16 windows of different "
                          "outer scales";
  bool fourOverSix = select != Selection::Map6;
  if (fourOverSix && numerics == Numerics::Quotient)
    return emitError() << "select = four_over_six is incompatible with "
                          "numerics = quotient: 4over6 is defined on the "
                          "reciprocal form";
  if (fourOverSix && rounding == Rounding::Stochastic)
    return emitError() << "select = four_over_six is incompatible with "
                          "rounding = stochastic: the candidate error is "
                          "defined for round-to-nearest codes";
  if (fourOverSix && amaxSource == AmaxSource::GivenEncodeScale)
    return emitError() << "select = four_over_six is incompatible with "
                          "amax = given_encode_scale: the candidate error "
                          "dequantizes with the outer amax";
  if (globalScaleInvBits != 0) {
    float g;
    std::memcpy(&g, &globalScaleInvBits, sizeof(g));
    if (!(g > 0.0f) || std::isinf(g))
      return emitError() << "expected global_scale_inv to be a finite "
                            "positive float, got "
                         << g;
    if (fourOverSix)
      return emitError() << "select = four_over_six is incompatible with "
                            "global_scale_inv: the candidate error decodes "
                            "with the amax alone";
    if (amaxSource == AmaxSource::GivenEncodeScale)
      return emitError() << "amax = given_encode_scale is incompatible with "
                            "global_scale_inv: the given scale replaces the "
                            "encode scale the global scale would set";
  }
  if (transform == Transform::RHT16 && !columnwise)
    return emitError() << "transform = rht16 requires a columnwise output: "
                          "the transform applies to the columnwise direction "
                          "only";
  return success();
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {
/// Parses `AxB` (the lexer splits `1x16` into an integer and `x16`).
ParseResult parseShape(AsmParser &p, SmallVectorImpl<int64_t> &dims) {
  return p.parseDimensionList(dims, /*allowDynamic=*/false,
                              /*withTrailingX=*/false);
}

/// Parses a non-negative integer that fits in `out`. The generic
/// `parseInteger` wraps `-1` to the type's maximum, so range errors are
/// reported here, with the value as written: `expected <expected>, got -1`.
template <typename IntT>
ParseResult parseUnsigned(AsmParser &p, IntT &out, const Twine &expected) {
  static_assert(std::is_unsigned_v<IntT>);
  SMLoc loc = p.getCurrentLocation();
  APInt value;
  OptionalParseResult parsed = p.parseOptionalInteger(value);
  if (!parsed.has_value())
    return p.emitError(loc) << "expected " << expected;
  if (failed(*parsed))
    return failure();
  // The parser's APInt is signed with a leading zero bit for non-negative
  // values, so the active bits of a non-negative value are its unsigned
  // width.
  if (value.isNegative() || value.getActiveBits() > sizeof(IntT) * 8)
    return p.emitError(loc) << "expected " << expected << ", got "
                            << llvm::toString(value, 10, /*Signed=*/true);
  out = static_cast<IntT>(value.getZExtValue());
  return success();
}

ParseResult parseValue(AsmParser &p, StringRef key, Fields &f) {
  SMLoc loc = p.getCurrentLocation();
  auto bad = [&](StringRef expected) {
    return p.emitError(loc) << "expected " << expected << " for '" << key
                            << "'";
  };
  StringRef kw;
  if (key == "outer") {
    if (p.parseOptionalKeyword(&kw))
      return bad("tensor, row or window<64>");
    std::optional<OuterGroup> v = symbolizeOuterGroup(kw);
    if (!v)
      return bad("tensor, row or window<64>");
    f.outer = *v;
    if (f.outer == OuterGroup::Window && succeeded(p.parseOptionalLess())) {
      if (parseUnsigned(p, f.window, "window size 64") || p.parseGreater())
        return failure();
    }
    return success();
  }
  if (key == "block" || key == "sf_layout") {
    if (key == "sf_layout" && succeeded(p.parseOptionalKeyword("linear"))) {
      f.sfLayout = ScaleLayout::Linear;
      return success();
    }
    SmallVector<int64_t> dims;
    if (parseShape(p, dims) || dims.size() != 2)
      return bad(key == "block" ? "1x16 or 16x16" : "linear, 128x4 or 8x4");
    std::string text = std::to_string(dims[0]) + "x" + std::to_string(dims[1]);
    if (key == "block") {
      std::optional<BlockShape> v = symbolizeBlockShape(text);
      if (!v)
        return bad("1x16 or 16x16");
      f.block = *v;
    } else {
      std::optional<ScaleLayout> v = symbolizeScaleLayout(text);
      if (!v || *v == ScaleLayout::Linear)
        return bad("linear, 128x4 or 8x4");
      f.sfLayout = *v;
    }
    return success();
  }
  if (key == "numerics") {
    std::optional<Numerics> v;
    if (succeeded(p.parseOptionalKeyword(&kw)))
      v = symbolizeNumerics(kw);
    if (!v)
      return bad("reciprocal or quotient");
    f.numerics = *v;
    return success();
  }
  if (key == "select") {
    if (succeeded(p.parseOptionalKeyword("map6"))) {
      f.select = Selection::Map6;
      return success();
    }
    if (failed(p.parseOptionalKeyword("four_over_six")))
      return bad("map6 or four_over_six<mae|mse>");
    f.select = Selection::FourOverSixMAE;
    if (succeeded(p.parseOptionalLess())) {
      SMLoc metricLoc = p.getCurrentLocation();
      if (p.parseKeyword(&kw))
        return failure();
      if (kw == "mse")
        f.select = Selection::FourOverSixMSE;
      else if (kw != "mae")
        return p.emitError(metricLoc) << "expected mae or mse, got '" << kw
                                      << "'";
      if (p.parseGreater())
        return failure();
    }
    return success();
  }
  if (key == "e4m3_max") {
    if (parseUnsigned(p, f.e4m3Max, "e4m3_max to be 448 or 256"))
      return failure();
    return success();
  }
  if (key == "rounding") {
    if (succeeded(p.parseOptionalKeyword("nearest"))) {
      f.rounding = Rounding::Nearest;
      return success();
    }
    if (failed(p.parseOptionalKeyword("stochastic")))
      return bad("nearest or stochastic<seed = N>");
    f.rounding = Rounding::Stochastic;
    if (succeeded(p.parseOptionalLess())) {
      if (p.parseKeyword("seed") || p.parseEqual() ||
          parseUnsigned(p, f.seed, "seed to be an integer in [0, 2^64)") ||
          p.parseGreater())
        return failure();
    }
    return success();
  }
  if (key == "transform") {
    if (succeeded(p.parseOptionalKeyword("none"))) {
      f.transform = Transform::None;
      return success();
    }
    if (failed(p.parseOptionalKeyword("rht16")))
      return bad("none or rht16<MASK>");
    f.transform = Transform::RHT16;
    if (succeeded(p.parseOptionalLess())) {
      if (parseUnsigned(p, f.rhtMask, "rht16 sign mask to fit in 16 bits") ||
          p.parseGreater())
        return failure();
    }
    return success();
  }
  if (key == "amax") {
    std::optional<AmaxSource> v;
    if (succeeded(p.parseOptionalKeyword(&kw)))
      v = symbolizeAmaxSource(kw);
    if (!v)
      return bad("computed, given or given_encode_scale");
    f.amaxSource = *v;
    return success();
  }
  if (key == "global_scale_inv") {
    APFloat value(0.0f);
    if (p.parseFloat(llvm::APFloat::IEEEsingle(), value))
      return failure();
    f.globalScaleInvBits =
        uint32_t(value.bitcastToAPInt().getZExtValue());
    if (f.globalScaleInvBits == 0)
      return p.emitError(loc)
             << "expected global_scale_inv to be a finite positive float, "
                "got 0";
    return success();
  }
  if (key == "directions") {
    f.rowwise = f.columnwise = false;
    return p.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&]() -> ParseResult {
      SMLoc dirLoc = p.getCurrentLocation();
      if (p.parseKeyword(&kw))
        return failure();
      if (kw == "rowwise")
        f.rowwise = true;
      else if (kw == "columnwise")
        f.columnwise = true;
      else
        return ParseResult(p.emitError(dirLoc)
                           << "expected rowwise or columnwise, got '" << kw
                           << "'");
      return success();
    });
  }
  return p.emitError(loc) << "unknown recipe key '" << key << "'";
}
} // namespace

Attribute RecipeAttr::parse(AsmParser &p, Type) {
  MLIRContext *ctx = p.getContext();
  Fields f;
  if (p.parseLess())
    return {};
  bool first = true;
  // A key given twice would leave the first value's hidden fields behind
  // (`outer = window<32>, outer = tensor` keeps window 32), so the printed
  // recipe would not read back as the same attribute.
  llvm::StringSet<> seen;
  if (failed(p.parseOptionalGreater())) {
    do {
      SMLoc loc = p.getCurrentLocation();
      StringRef key;
      if (p.parseKeyword(&key))
        return {};
      if (failed(p.parseOptionalEqual())) {
        // A bare keyword names a preset, and only in the first position so
        // that overrides always apply on top of it.
        auto it = llvm::find_if(kPresets,
                                [&](const Preset &pr) { return pr.name == key; });
        if (it == std::end(kPresets)) {
          p.emitError(loc) << "unknown recipe preset '" << key
                           << "' (expected one of "
                           << llvm::join(getPresetNames(), ", ") << ")";
          return {};
        }
        if (!first) {
          p.emitError(loc) << "recipe preset '" << key
                           << "' must come before the keys that override it";
          return {};
        }
        f = it->make();
      } else if (!seen.insert(key).second) {
        p.emitError(loc) << "recipe key '" << key << "' given twice";
        return {};
      } else if (failed(parseValue(p, key, f))) {
        return {};
      }
      first = false;
    } while (succeeded(p.parseOptionalComma()));
    if (p.parseGreater())
      return {};
  }
  return build([&] { return p.emitError(p.getNameLoc()); }, ctx, f);
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

namespace {
/// The `key = value` entries that turn `base` into `f`, in a fixed order.
SmallVector<std::string> diffKeys(const Fields &base, const Fields &f) {
  SmallVector<std::string> parts;
  auto add = [&](StringRef key, const Twine &value) {
    parts.push_back((key + " = " + value).str());
  };
  if (f.outer != base.outer || f.window != base.window)
    add("outer", f.outer == OuterGroup::Window
                     ? "window<" + Twine(f.window) + ">"
                     : Twine(stringifyOuterGroup(f.outer)));
  if (f.block != base.block)
    add("block", stringifyBlockShape(f.block));
  if (f.numerics != base.numerics)
    add("numerics", stringifyNumerics(f.numerics));
  if (f.select != base.select)
    add("select", stringifySelection(f.select));
  if (f.e4m3Max != base.e4m3Max)
    add("e4m3_max", Twine(f.e4m3Max));
  if (f.rounding != base.rounding || f.seed != base.seed)
    add("rounding", f.rounding == Rounding::Stochastic
                        ? "stochastic<seed = " + Twine(f.seed) + ">"
                        : Twine("nearest"));
  if (f.transform != base.transform || f.rhtMask != base.rhtMask) {
    std::string mask;
    llvm::raw_string_ostream os(mask);
    os << "rht16<0x";
    os.write_hex(f.rhtMask);
    os << ">";
    add("transform", f.transform == Transform::RHT16 ? Twine(mask)
                                                     : Twine("none"));
  }
  if (f.rowwise != base.rowwise || f.columnwise != base.columnwise)
    add("directions", f.rowwise && f.columnwise ? "[rowwise, columnwise]"
                      : f.rowwise               ? "[rowwise]"
                                                : "[columnwise]");
  if (f.sfLayout != base.sfLayout)
    add("sf_layout", stringifyScaleLayout(f.sfLayout));
  if (f.amaxSource != base.amaxSource)
    add("amax", stringifyAmaxSource(f.amaxSource));
  if (f.globalScaleInvBits != base.globalScaleInvBits)
    add("global_scale_inv",
        "0x" + llvm::utohexstr(f.globalScaleInvBits, /*LowerCase=*/false));
  return parts;
}
} // namespace

/// Prints the preset that needs the fewest overrides, then the overrides:
/// `<per_token, sf_layout = 128x4>` reads better than the full key list.
void RecipeAttr::print(AsmPrinter &p) const {
  Fields f = Fields::from(*this);
  const Preset *best = nullptr;
  SmallVector<std::string> bestParts;
  for (const Preset &preset : kPresets) {
    SmallVector<std::string> parts = diffKeys(preset.make(), f);
    if (!best || parts.size() < bestParts.size()) {
      best = &preset;
      bestParts = std::move(parts);
    }
  }
  p << "<" << best->name;
  for (const std::string &part : bestParts)
    p << ", " << part;
  p << ">";
}
