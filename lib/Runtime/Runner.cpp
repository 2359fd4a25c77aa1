//===- Runner.cpp - The runner of a target; what every runner shares ------===//
//
// Runner::create, and the pieces every runner uses alike: output shapes and
// checks, recipe parsing, and the kernel modules compiled for the host and
// for GPUs.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Runtime/Runner.h"
#include "Errors.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Runtime/Device.h"
#include "nvfp4/Runtime/GPURunner.h"
#include "nvfp4/Runtime/HostRunner.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::nvfp4;

namespace nvfp4 {
namespace {
using detail::DiagnosticCollector;
using detail::makeError;

MemRefType dynamicMemRef(unsigned rank, Type element) {
  return MemRefType::get(SmallVector<int64_t>(rank, ShapedType::kDynamic),
                         element);
}

/// Allocates `o`'s amax values (zero) for its amax shape.
void zeroAmax(QuantizedOutput &o) {
  int64_t n = 1;
  for (int64_t d : o.amaxShape)
    n *= d;
  o.amax.assign(n, 0.0f);
}
} // namespace

Runner::~Runner() = default;

llvm::Expected<std::unique_ptr<Runner>>
Runner::create(llvm::StringRef target, llvm::StringRef toolkit) {
  if (target == "auto") {
    // No driver, no device or a device the compiler has no target for: the
    // host runs the recipe.
    std::string chip = "cpu";
    if (auto device = Device::shared()) {
      if (auto gpuTarget = (*device)->target())
        chip = *gpuTarget;
      else
        llvm::consumeError(gpuTarget.takeError());
    } else {
      llvm::consumeError(device.takeError());
    }
    return create(chip, toolkit);
  }
  if (target == "cpu")
    return HostRunner::create();
  if (target == "sm_90a" || target == "sm_100a")
    return GPURunner::create(target, toolkit);
  return makeError("unknown target '" + target +
                   "' (expected cpu, sm_90a, sm_100a or auto)");
}

llvm::Expected<QuantizeResult> allocateOutputs(RecipeAttr recipe, int64_t rows,
                                               int64_t cols,
                                               std::optional<int64_t> groups) {
  auto result = describeOutputs(recipe, rows, cols, groups);
  if (!result)
    return result.takeError();
  for (std::optional<QuantizedOutput> *out :
       {&result->rowwise, &result->columnwise}) {
    if (!*out)
      continue;
    QuantizedOutput &o = **out;
    o.data.assign(o.rows * (o.cols / 2), 0);
    o.scale.assign(o.scaleShape[0] * o.scaleShape[1], 0);
    zeroAmax(o);
  }
  return result;
}

llvm::Error applyGivenAmax(RecipeAttr recipe, QuantizeResult &outputs,
                           const GivenAmax &given) {
  if (!recipe.hasGivenOuterScale()) {
    if (given.empty())
      return llvm::Error::success();
    return makeError("amax values were given, but the recipe computes its "
                     "amax (given ones need amax = given or "
                     "given_encode_scale)");
  }
  auto directions = {
      std::tuple{"rowwise", &outputs.rowwise, given.rowwise},
      std::tuple{"columnwise", &outputs.columnwise, given.columnwise}};
  for (auto [name, out, values] : directions)
    if (!*out && !values.empty())
      return makeError(Twine(name) +
                       " amax values were given, but the "
                       "recipe has no " +
                       name + " output");
  for (auto [name, out, values] : directions) {
    if (!*out)
      continue;
    QuantizedOutput &o = **out;
    if (values.size() != o.amax.size()) {
      std::string shape;
      for (int64_t d : o.amaxShape)
        shape += (shape.empty() ? "" : "x") + std::to_string(d);
      return makeError("expected " + Twine(o.amax.size()) + " given " + name +
                       " amax values (amax shape " + shape + "), got " +
                       Twine(values.size()));
    }
    llvm::copy(values, o.amax.begin());
  }
  return llvm::Error::success();
}

llvm::Expected<QuantizeResult> describeOutputs(RecipeAttr recipe, int64_t rows,
                                               int64_t cols,
                                               std::optional<int64_t> groups) {
  if (rows < 1 || cols < 1)
    return makeError("expected a non-empty matrix, got " + Twine(rows) + "x" +
                     Twine(cols));
  // The verifier's bound on buffers (kMaxBufferBytes) for shapes only known
  // at run time: the matrix must fit it even as f32, so no element, byte or
  // padded-scale count below overflows int64 and no grid wraps.
  if (mulSize(mulSize(rows, cols), 4) > kMaxBufferBytes)
    return makeError("expected a matrix of at most 2^60 elements, got " +
                     Twine(rows) + "x" + Twine(cols));
  if (recipe.getRowwise() && cols % kBlockSize != 0)
    return makeError("expected quantized dimension K to be a multiple of 16, "
                     "got " +
                     Twine(cols));
  if (recipe.getColumnwise() && rows % kBlockSize != 0)
    return makeError("columnwise output requires M to be a multiple of 16, "
                     "got " +
                     Twine(rows));
  bool grouped = groups.has_value();
  if (grouped && recipe.getColumnwise() &&
      (recipe.getOuter() == OuterGroup::Window ||
       recipe.getSfLayout() != ScaleLayout::Linear))
    return makeError("grouped columnwise output supports only per-tensor and "
                     "per-row recipes in the linear layout");

  QuantizeResult result;
  auto describe = [&](int64_t r, int64_t c, bool columnwise) {
    QuantizedOutput out;
    out.rows = r;
    out.cols = c;
    out.scaleShape = scaleShape(recipe.getSfLayout(), r, c);
    if (grouped && !columnwise)
      out.scaleShape[0] = groupedScaleRows(recipe.getSfLayout(), r, *groups);
    out.amaxShape = amaxShape(recipe, r, c);
    if (grouped && recipe.getOuter() == OuterGroup::Tensor)
      out.amaxShape = {*groups};
    else if (grouped && columnwise && recipe.getOuter() == OuterGroup::Row)
      out.amaxShape = {*groups, r};
    return out;
  };
  if (recipe.getRowwise())
    result.rowwise = describe(rows, cols, false);
  if (recipe.getColumnwise())
    result.columnwise = describe(cols, rows, true);
  return result;
}

llvm::Expected<RecipeAttr> parseRecipe(MLIRContext &context, StringRef text) {
  std::string full = text.str();
  StringRef trimmed = text.trim();
  if (!trimmed.starts_with("#nvfp4.recipe"))
    full = "#nvfp4.recipe<" + trimmed.str() + ">";
  DiagnosticCollector diagnostics(context);
  Attribute attr = parseAttribute(full, &context);
  auto recipe = dyn_cast_or_null<RecipeAttr>(attr);
  if (!recipe)
    return makeError(diagnostics.message.empty()
                         ? "expected an #nvfp4.recipe attribute"
                         : diagnostics.message);
  return recipe;
}

OwningOpRef<ModuleOp> buildQuantizeModule(MLIRContext &ctx, RecipeAttr recipe,
                                          ElementType type, bool grouped,
                                          ArrayRef<unsigned> amaxRanks) {
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  Type i8 = IntegerType::get(&ctx, 8);
  Type f8 = Float8E4M3FNType::get(&ctx);
  Type f32 = Float32Type::get(&ctx);
  SmallVector<Type> argTypes{dynamicMemRef(2, elementTypeOf(&ctx, type))};
  if (grouped)
    argTypes.push_back(dynamicMemRef(1, IntegerType::get(&ctx, 64)));
  for (unsigned rank : amaxRanks)
    argTypes.append(
        {dynamicMemRef(2, i8), dynamicMemRef(2, f8), dynamicMemRef(rank, f32)});
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func =
      func::FuncOp::create(b, loc, "kernel", b.getFunctionType(argTypes, {}));
  b.setInsertionPointToStart(func.addEntryBlock());
  auto args = func.getArguments();
  Value none;
  unsigned next = grouped ? 2 : 1;
  auto take = [&](bool present) {
    if (!present)
      return std::array<Value, 3>{none, none, none};
    std::array<Value, 3> v{args[next], args[next + 1], args[next + 2]};
    next += 3;
    return v;
  };
  auto row = take(recipe.getRowwise());
  auto col = take(recipe.getColumnwise());
  if (grouped)
    GroupedQuantizeOp::create(b, loc, args[0], args[1], recipe, row[0], row[1],
                              row[2], col[0], col[1], col[2]);
  else
    QuantizeOp::create(b, loc, args[0], recipe, row[0], row[1], row[2], col[0],
                       col[1], col[2]);
  func::ReturnOp::create(b, loc);
  return module;
}

OwningOpRef<ModuleOp> buildAmaxModule(MLIRContext &ctx, RecipeAttr recipe,
                                      ElementType type,
                                      ArrayRef<unsigned> amaxRanks) {
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  Type f32 = Float32Type::get(&ctx);
  SmallVector<Type> argTypes{dynamicMemRef(2, elementTypeOf(&ctx, type))};
  for (unsigned rank : amaxRanks)
    argTypes.push_back(dynamicMemRef(rank, f32));
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func =
      func::FuncOp::create(b, loc, "kernel", b.getFunctionType(argTypes, {}));
  b.setInsertionPointToStart(func.addEntryBlock());
  auto args = func.getArguments();
  unsigned next = 1;
  Value row = recipe.getRowwise() ? args[next++] : Value();
  Value col = recipe.getColumnwise() ? args[next++] : Value();
  AmaxOp::create(b, loc, args[0], recipe, row, col);
  func::ReturnOp::create(b, loc);
  return module;
}

OwningOpRef<ModuleOp> buildDequantizeModule(MLIRContext &ctx, RecipeAttr recipe,
                                            ElementType output,
                                            unsigned amaxRank) {
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  SmallVector<Type> argTypes{dynamicMemRef(2, IntegerType::get(&ctx, 8)),
                             dynamicMemRef(2, Float8E4M3FNType::get(&ctx)),
                             dynamicMemRef(amaxRank, Float32Type::get(&ctx)),
                             dynamicMemRef(2, elementTypeOf(&ctx, output))};
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func =
      func::FuncOp::create(b, loc, "kernel", b.getFunctionType(argTypes, {}));
  b.setInsertionPointToStart(func.addEntryBlock());
  auto a = func.getArguments();
  DequantizeOp::create(b, loc, a[0], a[1], a[2], recipe, a[3]);
  func::ReturnOp::create(b, loc);
  return module;
}

llvm::Expected<QuantizeResult> allocateAmaxOutputs(RecipeAttr recipe,
                                                   int64_t rows, int64_t cols) {
  if (recipe.hasGivenEncodeScale())
    return makeError("expected a recipe whose outer scale comes from an amax, "
                     "got amax = given_encode_scale");
  auto result = describeOutputs(recipe, rows, cols);
  if (!result)
    return result.takeError();
  for (std::optional<QuantizedOutput> *out :
       {&result->rowwise, &result->columnwise}) {
    if (*out)
      zeroAmax(**out);
  }
  return result;
}

llvm::Error checkGroupSplits(RecipeAttr recipe, int64_t rows,
                             ArrayRef<int64_t> splits) {
  if (splits.empty())
    return makeError("expected at least one group");
  int64_t total = 0;
  for (auto [g, split] : llvm::enumerate(splits)) {
    if (split < 0)
      return makeError("expected non-negative group sizes, got " +
                       Twine(split) + " for group " + Twine(g));
    if (recipe.getColumnwise() && split % kBlockSize != 0)
      return makeError("columnwise output requires every group size to be a "
                       "multiple of 16, got " +
                       Twine(split) + " for group " + Twine(g));
    total += split;
  }
  if (total != rows)
    return makeError("expected group sizes to add up to " + Twine(rows) +
                     " rows, got " + Twine(total));
  return llvm::Error::success();
}

llvm::Error checkDequantizeInput(RecipeAttr recipe, const QuantizedOutput &q) {
  if (q.cols % kBlockSize != 0)
    return makeError("expected quantized dimension to be a multiple of 16, "
                     "got " +
                     Twine(q.cols));
  if (q.data.size() != size_t(q.rows * (q.cols / 2)) ||
      ArrayRef<int64_t>(q.scaleShape) !=
          ArrayRef<int64_t>(scaleShape(recipe.getSfLayout(), q.rows, q.cols)) ||
      ArrayRef<int64_t>(q.amaxShape) !=
          ArrayRef<int64_t>(amaxShape(recipe, q.rows, q.cols)))
    return makeError(
        "quantized buffers do not match the recipe's shapes for a " +
        Twine(q.rows) + "x" + Twine(q.cols) + " matrix");
  return llvm::Error::success();
}

mlir::Type elementTypeOf(mlir::MLIRContext *ctx, ElementType t) {
  switch (t) {
  case ElementType::F32:
    return Float32Type::get(ctx);
  case ElementType::F16:
    return Float16Type::get(ctx);
  case ElementType::BF16:
    return BFloat16Type::get(ctx);
  }
  llvm_unreachable("unknown element type");
}

} // namespace nvfp4
