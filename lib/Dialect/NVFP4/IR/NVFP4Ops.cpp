//===- NVFP4Ops.cpp - NVFP4 op verifiers ----------------------------------===//
//
// Shape rules follow SPEC.md sections 1, 6, 10 and 13. Dimensions that are
// dynamic are not checked here; the runtime checks them against the same
// functions (NVFP4Shapes.h) before a kernel runs.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"

#include <type_traits>

using namespace mlir;
using namespace mlir::nvfp4;

#define GET_OP_CLASSES
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.cpp.inc"

namespace {
std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (isDynamic(d))
          os << "?";
        else if (d == kOverflow)
          os << "<overflow>";
        else
          os << d;
      },
      "x");
  return s;
}

int64_t elementBytes(MemRefType type) {
  return type.getElementTypeBitWidth() / 8;
}

/// Whether `type` is laid out as the lowerings index it: contiguous and
/// row-major, with no offset. A `strided` layout is accepted only when it
/// spells out exactly those (static) strides.
bool isContiguousRowMajor(MemRefType type) {
  if (type.getLayout().isIdentity())
    return true;
  if (!isa<StridedLayoutAttr>(type.getLayout()))
    return false;
  SmallVector<int64_t> strides, canonicalStrides;
  int64_t offset, canonicalOffset;
  auto canonical = MemRefType::get(type.getShape(), type.getElementType());
  if (failed(type.getStridesAndOffset(strides, offset)) ||
      failed(canonical.getStridesAndOffset(canonicalStrides, canonicalOffset)))
    return false;
  return offset == 0 && strides == canonicalStrides &&
         llvm::none_of(strides, isDynamic);
}

/// Checks what every buffer operand must satisfy for the lowerings to take
/// it, whatever the op: a contiguous row-major layout, the default memory
/// space (the CPU lowering indexes host pointers, the GPU one passes them to
/// kernels), and at most `kMaxBufferBytes` bytes in its static dimensions.
LogicalResult checkBuffers(Operation *op,
                           ArrayRef<std::pair<StringRef, Value>> namedBuffers) {
  for (auto [what, value] : namedBuffers) {
    if (!value)
      continue;
    auto type = cast<MemRefType>(value.getType());
    if (!isContiguousRowMajor(type))
      return op->emitOpError()
             << "expected " << what
             << " to have a contiguous row-major layout, got " << type;
    if (type.getMemorySpace())
      return op->emitOpError() << "expected " << what
                               << " in the default memory space, got " << type;
    if (staticBytes(type.getShape(), elementBytes(type)) > kMaxBufferBytes)
      return op->emitOpError() << "expected " << what
                               << " to hold at most 2^62 bytes, got " << type;
  }
  return success();
}

/// Checks `value`'s memref shape against `expected`, skipping dimensions
/// that are dynamic on either side. With `atLeast`, a static dimension may
/// exceed the expected size (buffers sized by an upper bound). The expected
/// shape itself must fit the byte bound, even where `value` is dynamic: the
/// lowerings size and index the buffer by it.
LogicalResult checkShape(Operation *op, StringRef what, Value value,
                         ArrayRef<int64_t> expected, bool atLeast = false) {
  auto type = cast<MemRefType>(value.getType());
  if (staticBytes(expected, elementBytes(type)) > kMaxBufferBytes)
    return op->emitOpError() << "expected " << what
                             << " to hold at most 2^62 bytes, got required "
                             << "shape " << shapeStr(expected);
  ArrayRef<int64_t> actual = type.getShape();
  if (actual.size() != expected.size())
    return op->emitOpError() << "expected " << what << " to have rank "
                             << expected.size() << ", got " << actual.size();
  for (auto [a, e] : llvm::zip(actual, expected)) {
    if (isDynamic(a) || isDynamic(e))
      continue;
    if (atLeast ? a < e : a != e)
      return op->emitOpError()
             << "expected " << what << " of shape "
             << (atLeast ? "at least " : "") << shapeStr(expected) << ", got "
             << shapeStr(actual);
  }
  return success();
}

LogicalResult checkMultipleOf16(Operation *op, StringRef what, int64_t dim) {
  if (isDynamic(dim) || dim % kBlockSize == 0)
    return success();
  return op->emitOpError() << "expected " << what
                           << " to be a multiple of 16, got " << dim;
}

/// Checks that a quantization made with `recipe` stored outer amaxes, which
/// dequantization and GEMM epilogues scale by.
LogicalResult checkStoresAmax(Operation *op, StringRef name,
                              RecipeAttr recipe) {
  if (recipe.hasGivenEncodeScale())
    return op->emitOpError()
           << "expected " << name << " to store outer amaxes, got amax = "
           << "given_encode_scale (the operand holds encode scales)";
  if (recipe.hasGlobalScale())
    return op->emitOpError()
           << "expected " << name << " without global_scale_inv (its "
           << "amaxes do not give the decode scale alone)";
  return success();
}

int64_t dim(Value v, unsigned i) {
  return cast<MemRefType>(v.getType()).getDimSize(i);
}

/// The optional output triple of one direction.
struct Outputs {
  Value data, scale, amax;
  bool present() const { return data || scale || amax; }
  bool complete() const { return data && scale && amax; }
};

/// Checks that the outputs given match the recipe's directions.
LogicalResult checkDirections(Operation *op, RecipeAttr recipe, Outputs row,
                              Outputs col) {
  for (auto [name, wanted, out] :
       {std::tuple{"rowwise", recipe.getRowwise(), row},
        std::tuple{"columnwise", recipe.getColumnwise(), col}}) {
    if (out.present() && !out.complete())
      return op->emitOpError() << "expected " << name
                               << " data, scale and amax together";
    if (wanted && !out.present())
      return op->emitOpError() << "recipe requests a " << name
                               << " output but no " << name
                               << " buffers were given";
    if (!wanted && out.present())
      return op->emitOpError() << name << " buffers were given but the "
                               << "recipe does not request a " << name
                               << " output";
  }
  return success();
}

/// Checks one direction's data and scale buffers for a `rows x cols` matrix
/// quantized along `cols`.
LogicalResult checkDataAndScale(Operation *op, StringRef prefix,
                                RecipeAttr recipe, Outputs out, int64_t rows,
                                int64_t cols) {
  if (failed(checkShape(op, (prefix + "data").str(), out.data,
                        dataShape(rows, cols))))
    return failure();
  return checkShape(op, (prefix + "scale").str(), out.scale,
                    scaleShape(recipe.getSfLayout(), rows, cols));
}

/// What every quantizing op checks of its outputs for the `m x k` matrix it
/// quantizes (`kWhat` names k in messages), before the shapes: buffers,
/// directions, and the quantized dimensions.
LogicalResult checkQuantizeOutputs(Operation *op, RecipeAttr recipe,
                                   Outputs row, Outputs col, int64_t m,
                                   int64_t k, StringRef kWhat) {
  if (failed(checkBuffers(op, {{"data", row.data},
                               {"scale", row.scale},
                               {"amax", row.amax},
                               {"data_t", col.data},
                               {"scale_t", col.scale},
                               {"amax_t", col.amax}})))
    return failure();
  if (failed(checkDirections(op, recipe, row, col)))
    return failure();
  // Each direction constrains only the dimension it quantizes (SPEC.md
  // section 13): a columnwise-only output allows any K.
  if (row.present() &&
      failed(checkMultipleOf16(op, ("quantized dimension " + kWhat).str(), k)))
    return failure();
  if (col.present() &&
      failed(checkMultipleOf16(
          op, "M (input dim 0) for a columnwise output", m)))
    return failure();
  return success();
}

/// The output shapes of `nvfp4.quantize` of an `m x k` matrix.
LogicalResult checkQuantizeShapes(Operation *op, RecipeAttr recipe,
                                  Outputs row, Outputs col, int64_t m,
                                  int64_t k) {
  if (row.present() &&
      (failed(checkDataAndScale(op, "", recipe, row, m, k)) ||
       failed(checkShape(op, "amax", row.amax, amaxShape(recipe, m, k)))))
    return failure();
  if (col.present() &&
      (failed(checkDataAndScale(op, "columnwise ", recipe, col, k, m)) ||
       failed(checkShape(op, "columnwise amax", col.amax,
                         amaxShape(recipe, k, m)))))
    return failure();
  return success();
}

/// Shared by quantize and grouped_quantize: everything but the shapes that
/// depend on groups.
template <typename OpTy>
LogicalResult verifyQuantizeCommon(OpTy op, Outputs &row, Outputs &col,
                                   int64_t &m, int64_t &k) {
  row = {op.getData(), op.getScale(), op.getAmax()};
  col = {op.getDataT(), op.getScaleT(), op.getAmaxT()};
  if (failed(checkBuffers(op, {{"input", op.getInput()}})))
    return failure();
  if constexpr (std::is_same_v<OpTy, GroupedQuantizeOp>) {
    if (failed(checkBuffers(op, {{"splits", op.getSplits()}})))
      return failure();
  }
  m = dim(op.getInput(), 0);
  k = dim(op.getInput(), 1);
  return checkQuantizeOutputs(op, op.getRecipe(), row, col, m, k,
                              "K (input dim 1)");
}

/// The element type every value operand of a producer shares (SPEC.md
/// section 15: `s`, the type `y` is rounded to).
LogicalResult
checkSameStorage(Operation *op,
                 ArrayRef<std::pair<StringRef, Value>> namedValues) {
  Type storage;
  StringRef first;
  for (auto [what, value] : namedValues) {
    if (!value)
      continue;
    Type t = cast<MemRefType>(value.getType()).getElementType();
    if (!storage) {
      storage = t;
      first = what;
      continue;
    }
    if (t != storage)
      return op->emitOpError()
             << "expected " << what << " to have the element type of "
             << first << " (" << storage << "), got " << t;
  }
  return success();
}

/// Checks an RMSNorm's operands (shared by rms_norm and rms_norm_quantize);
/// `output` may be null (the fused op without `y`). Sets the `m x k` shape.
LogicalResult verifyRMSNormOperands(Operation *op, Value input, Value weight,
                                    Value residual, FloatAttr eps,
                                    Value output, Value rstd, int64_t &m,
                                    int64_t &k) {
  if (failed(checkBuffers(op, {{"input", input},
                               {"weight", weight},
                               {"residual", residual},
                               {"output", output},
                               {"rstd", rstd}})) ||
      failed(checkSameStorage(op, {{"input", input},
                                   {"weight", weight},
                                   {"residual", residual},
                                   {"output", output}})))
    return failure();
  const APFloat &e = eps.getValue();
  if (!e.isFinite() || e.isNegative() || e.isZero()) {
    SmallString<16> text;
    e.toString(text);
    return op->emitOpError() << "expected eps to be finite and > 0, got "
                             << text;
  }
  m = dim(input, 0);
  k = dim(input, 1);
  if (failed(checkShape(op, "weight", weight, {k})) ||
      (residual && failed(checkShape(op, "residual", residual, {m, k}))) ||
      (output && failed(checkShape(op, "output", output, {m, k}))) ||
      failed(checkShape(op, "rstd", rstd, {m})))
    return failure();
  return success();
}

/// Checks a gated activation's operands (shared by gated_act and
/// gated_act_quantize); `output` may be null. Sets the `m x n` shape of the
/// result.
LogicalResult verifyGatedActOperands(Operation *op, Value input,
                                     Value output, int64_t &m, int64_t &n) {
  if (failed(checkBuffers(op, {{"input", input}, {"output", output}})) ||
      failed(checkSameStorage(op, {{"input", input}, {"output", output}})))
    return failure();
  m = dim(input, 0);
  int64_t cols = dim(input, 1);
  if (!isDynamic(cols) && cols % 2 != 0)
    return op->emitOpError()
           << "expected an even number of input columns (gate and up "
           << "halves), got " << cols;
  n = isDynamic(cols) ? cols : cols / 2;
  if (output && failed(checkShape(op, "output", output, {m, n})))
    return failure();
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// QuantizeOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  Outputs row, col;
  int64_t m, k;
  if (failed(verifyQuantizeCommon(*this, row, col, m, k)))
    return failure();
  return checkQuantizeShapes(*this, getRecipe(), row, col, m, k);
}

//===----------------------------------------------------------------------===//
// Producers and their fused forms (SPEC.md section 15)
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  int64_t m, k;
  return verifyRMSNormOperands(*this, getInput(), getWeight(), getResidual(),
                               getEpsAttr(), getOutput(), getRstd(), m, k);
}

LogicalResult GatedActOp::verify() {
  int64_t m, n;
  return verifyGatedActOperands(*this, getInput(), getOutput(), m, n);
}

LogicalResult RMSNormQuantizeOp::verify() {
  int64_t m, k;
  if (failed(verifyRMSNormOperands(*this, getInput(), getWeight(),
                                   getResidual(), getEpsAttr(), getY(),
                                   getRstd(), m, k)))
    return failure();
  Outputs row{getData(), getScale(), getAmax()};
  Outputs col{getDataT(), getScaleT(), getAmaxT()};
  if (failed(checkQuantizeOutputs(*this, getRecipe(), row, col, m, k,
                                  "K (input dim 1)")))
    return failure();
  return checkQuantizeShapes(*this, getRecipe(), row, col, m, k);
}

LogicalResult GatedActQuantizeOp::verify() {
  int64_t m, n;
  if (failed(verifyGatedActOperands(*this, getInput(), getY(), m, n)))
    return failure();
  Outputs row{getData(), getScale(), getAmax()};
  Outputs col{getDataT(), getScaleT(), getAmaxT()};
  if (failed(checkQuantizeOutputs(*this, getRecipe(), row, col, m, n,
                                  "N (half of input dim 1)")))
    return failure();
  return checkQuantizeShapes(*this, getRecipe(), row, col, m, n);
}

//===----------------------------------------------------------------------===//
// AmaxOp
//===----------------------------------------------------------------------===//

LogicalResult AmaxOp::verify() {
  RecipeAttr recipe = getRecipe();
  if (failed(checkBuffers(*this, {{"input", getInput()},
                                  {"amax", getAmax()},
                                  {"amax_t", getAmaxT()}})))
    return failure();
  if (recipe.hasGivenEncodeScale())
    return emitOpError("expected a recipe whose outer scale comes from an "
                       "amax, got amax = given_encode_scale");
  for (auto [name, wanted, amax] :
       {std::tuple{"rowwise", recipe.getRowwise(), getAmax()},
        std::tuple{"columnwise", recipe.getColumnwise(), getAmaxT()}}) {
    if (wanted && !amax)
      return emitOpError() << "recipe requests a " << name
                           << " output but no " << name << " amax was given";
    if (!wanted && amax)
      return emitOpError() << name << " amax was given but the recipe does "
                           << "not request a " << name << " output";
  }
  int64_t m = dim(getInput(), 0), k = dim(getInput(), 1);
  if (getAmax() &&
      (failed(checkMultipleOf16(*this, "quantized dimension K (input dim 1)",
                                k)) ||
       failed(checkShape(*this, "amax", getAmax(), amaxShape(recipe, m, k)))))
    return failure();
  if (getAmaxT() &&
      (failed(checkMultipleOf16(*this, "M (input dim 0) for a columnwise "
                                       "output",
                                m)) ||
       failed(checkShape(*this, "columnwise amax", getAmaxT(),
                         amaxShape(recipe, k, m)))))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// GroupedQuantizeOp
//===----------------------------------------------------------------------===//

LogicalResult GroupedQuantizeOp::verify() {
  Outputs row, col;
  int64_t m, k;
  if (failed(verifyQuantizeCommon(*this, row, col, m, k)))
    return failure();
  RecipeAttr recipe = getRecipe();
  int64_t groups = dim(getSplits(), 0);
  bool perTensor = recipe.getOuter() == OuterGroup::Tensor;
  if (row.present()) {
    ScaleLayout layout = recipe.getSfLayout();
    SmallVector<int64_t, 2> scale = scaleShape(layout, m, k);
    scale[0] = groupedScaleRows(layout, m, groups);
    SmallVector<int64_t, 2> amax =
        perTensor ? SmallVector<int64_t, 2>{groups} : amaxShape(recipe, m, k);
    if (failed(checkShape(*this, "data", row.data, dataShape(m, k))) ||
        failed(checkShape(*this, "scale", row.scale, scale,
                          /*atLeast=*/layout != ScaleLayout::Linear)) ||
        failed(checkShape(*this, "amax", row.amax, amax)))
      return failure();
  }
  if (col.present()) {
    if (recipe.getOuter() == OuterGroup::Window)
      return emitOpError("grouped columnwise output does not support "
                         "outer = window<64>");
    if (recipe.getSfLayout() != ScaleLayout::Linear)
      return emitOpError("grouped columnwise output requires "
                         "sf_layout = linear");
    SmallVector<int64_t, 2> amax = perTensor
                                       ? SmallVector<int64_t, 2>{groups}
                                       : SmallVector<int64_t, 2>{groups, k};
    if (failed(checkDataAndScale(*this, "columnwise ", recipe, col, k, m)) ||
        failed(checkShape(*this, "columnwise amax", col.amax, amax)))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  RecipeAttr recipe = getRecipe();
  if (failed(checkStoresAmax(*this, "recipe", recipe)))
    return failure();
  if (failed(checkBuffers(*this, {{"data", getData()},
                                  {"scale", getScale()},
                                  {"amax", getAmax()},
                                  {"output", getOutput()}})))
    return failure();
  int64_t rows = dim(getOutput(), 0), cols = dim(getOutput(), 1);
  if (failed(checkMultipleOf16(*this, "quantized dimension (output dim 1)",
                               cols)))
    return failure();
  Outputs in{getData(), getScale(), getAmax()};
  if (failed(checkDataAndScale(*this, "", recipe, in, rows, cols)) ||
      failed(checkShape(*this, "amax", getAmax(),
                        amaxShape(recipe, rows, cols))))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// MatmulOp / GroupedMatmulOp
//===----------------------------------------------------------------------===//

namespace {
/// Checks that an operand recipe uses the layout the GEMM kernels read.
LogicalResult checkMatmulLayout(Operation *op, StringRef name,
                                RecipeAttr recipe) {
  if (failed(checkStoresAmax(op, name, recipe)))
    return failure();
  if (recipe.getSfLayout() == ScaleLayout::Swizzle128x4)
    return success();
  return op->emitOpError() << "expected " << name
                           << " to use sf_layout = 128x4 (the block-scaled "
                           << "MMA layout), got "
                           << stringifyScaleLayout(recipe.getSfLayout());
}

/// Checks what both NVFP4 x NVFP4 matmul forms share: the operand recipes
/// and K.
template <typename OpTy>
LogicalResult verifyMatmulCommon(OpTy op, int64_t &k) {
  SmallVector<std::pair<StringRef, Value>> buffers{
      {"a_data", op.getAData()},   {"a_scale", op.getAScale()},
      {"a_amax", op.getAAmax()},   {"b_data", op.getBData()},
      {"b_scale", op.getBScale()}, {"b_amax", op.getBAmax()},
      {"bias", op.getBias()},      {"output", op.getOutput()}};
  if constexpr (std::is_same_v<OpTy, GroupedMatmulOp>)
    buffers.push_back({"splits", op.getSplits()});
  if (failed(checkBuffers(op, buffers)) ||
      failed(checkMatmulLayout(op, "a_recipe", op.getARecipe())) ||
      failed(checkMatmulLayout(op, "b_recipe", op.getBRecipe())))
    return failure();
  int64_t kHalf = dim(op.getAData(), 1);
  // K counts E2M1 values, two per byte: bound it like a size so that
  // `2 * kHalf` and the shapes derived from K stay in int64.
  k = mulSize(kHalf, 2);
  if (!isDynamic(k) && k > kMaxBufferBytes)
    return op.emitOpError() << "expected K (2 x a_data dim 1) to be at most "
                            << "2^62, got 2 x " << kHalf;
  return checkMultipleOf16(op, "K (2 x a_data dim 1)", k);
}

/// Checks B's data, scale and amax for an `n x k` NVFP4 operand.
LogicalResult checkMatmulB(Operation *op, RecipeAttr b, Value data,
                           Value scale, Value amax, int64_t n, int64_t k) {
  if (failed(checkShape(op, "b_data", data, dataShape(n, k))) ||
      failed(checkShape(op, "b_scale", scale,
                        scaleShape(b.getSfLayout(), n, k))) ||
      failed(checkShape(op, "b_amax", amax, amaxShape(b, n, k))))
    return failure();
  return success();
}
} // namespace

LogicalResult MatmulOp::verify() {
  int64_t k;
  if (failed(verifyMatmulCommon(*this, k)))
    return failure();
  int64_t m = dim(getOutput(), 0), n = dim(getOutput(), 1);
  RecipeAttr a = getARecipe(), b = getBRecipe();
  if (failed(checkShape(*this, "a_data", getAData(), dataShape(m, k))) ||
      failed(checkShape(*this, "a_scale", getAScale(),
                        scaleShape(a.getSfLayout(), m, k))) ||
      failed(checkShape(*this, "a_amax", getAAmax(), amaxShape(a, m, k))) ||
      failed(checkMatmulB(*this, b, getBData(), getBScale(), getBAmax(), n,
                          k)))
    return failure();
  if (getBias() && failed(checkShape(*this, "bias", getBias(), {n})))
    return failure();
  return success();
}

LogicalResult MatmulW4A16Op::verify() {
  if (failed(checkBuffers(*this, {{"a", getA()},
                                  {"b_data", getBData()},
                                  {"b_scale", getBScale()},
                                  {"b_amax", getBAmax()},
                                  {"bias", getBias()},
                                  {"output", getOutput()}})) ||
      failed(checkMatmulLayout(*this, "b_recipe", getBRecipe())))
    return failure();
  // K counts A's elements here; checkBuffers bounded A's static size, so K
  // needs no bound of its own.
  int64_t m = dim(getOutput(), 0), n = dim(getOutput(), 1);
  int64_t k = dim(getA(), 1);
  if (failed(checkMultipleOf16(*this, "K (a dim 1)", k)) ||
      failed(checkShape(*this, "a", getA(), {m, k})) ||
      failed(checkMatmulB(*this, getBRecipe(), getBData(), getBScale(),
                          getBAmax(), n, k)))
    return failure();
  if (getBias() && failed(checkShape(*this, "bias", getBias(), {n})))
    return failure();
  return success();
}

LogicalResult GroupedMatmulOp::verify() {
  int64_t k;
  if (failed(verifyMatmulCommon(*this, k)))
    return failure();
  int64_t m = dim(getOutput(), 0), n = dim(getOutput(), 1);
  int64_t groups = dim(getSplits(), 0);
  RecipeAttr a = getARecipe(), b = getBRecipe();
  SmallVector<int64_t, 2> aScale = scaleShape(a.getSfLayout(), m, k);
  aScale[0] = groupedScaleRows(a.getSfLayout(), m, groups);
  SmallVector<int64_t, 2> aAmax = a.getOuter() == OuterGroup::Tensor
                                      ? SmallVector<int64_t, 2>{groups}
                                      : amaxShape(a, m, k);
  SmallVector<int64_t, 3> bData{groups}, bScale{groups}, bAmax{groups};
  llvm::append_range(bData, dataShape(n, k));
  llvm::append_range(bScale, scaleShape(b.getSfLayout(), n, k));
  if (b.getOuter() != OuterGroup::Tensor)
    llvm::append_range(bAmax, amaxShape(b, n, k));
  if (failed(checkShape(*this, "a_data", getAData(), dataShape(m, k))) ||
      failed(checkShape(*this, "a_scale", getAScale(), aScale,
                        /*atLeast=*/true)) ||
      failed(checkShape(*this, "a_amax", getAAmax(), aAmax)) ||
      failed(checkShape(*this, "b_data", getBData(), bData)) ||
      failed(checkShape(*this, "b_scale", getBScale(), bScale)) ||
      failed(checkShape(*this, "b_amax", getBAmax(), bAmax)))
    return failure();
  if (getBias() && failed(checkShape(*this, "bias", getBias(), {groups, n})))
    return failure();
  return success();
}
