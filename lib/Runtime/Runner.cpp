//===- Runner.cpp - The runner of a target; what every runner shares ------===//
//
// Runner::create, and the pieces every runner uses alike: output shapes and
// checks, recipe parsing, and the kernel modules compiled for the host and
// for GPUs.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Runtime/Runner.h"
#include "Errors.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Runtime/Device.h"
#include "nvfp4/Runtime/GPURunner.h"
#include "nvfp4/Runtime/HostRunner.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

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

/// A rows x cols input within the verifier's bound on buffers
/// (kMaxBufferBytes), for shapes only known at run time: the matrix must
/// fit it even as f32, so no element, byte or padded-scale count derived
/// from it overflows int64 and no grid wraps.
llvm::Error checkMatrixSize(int64_t rows, int64_t cols) {
  if (rows < 1 || cols < 1)
    return makeError("expected a non-empty matrix, got " + Twine(rows) + "x" +
                     Twine(cols));
  if (mulSize(mulSize(rows, cols), 4) > kMaxBufferBytes)
    return makeError("expected a matrix of at most 2^60 elements, got " +
                     Twine(rows) + "x" + Twine(cols));
  return llvm::Error::success();
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

llvm::ArrayRef<llvm::StringRef> gpuTargets() {
  // sm_100a: B200/GB200; sm_103a: B300; sm_110a: Thor; sm_120a: RTX 50,
  // RTX PRO; sm_121a: DGX Spark. Only sm_90a has run here (docs).
  static const llvm::StringRef targets[] = {"sm_90a",  "sm_100a", "sm_103a",
                                            "sm_110a", "sm_120a", "sm_121a"};
  return targets;
}

static std::string targetList() {
  std::string list;
  for (llvm::StringRef t : gpuTargets())
    list += (list.empty() ? "" : ", ") + t.str();
  return list;
}

llvm::Expected<std::string> gpuTargetFor(int cc, llvm::StringRef device) {
  std::string target = "sm_" + std::to_string(cc) + "a";
  if (llvm::is_contained(gpuTargets(), target))
    return target;
  return makeError("no nvfp4 target for " + device + " (sm_" +
                   llvm::Twine(cc) + "; supported: " + targetList() + ")");
}

llvm::Error checkTarget(llvm::StringRef target, bool alsoAuto) {
  if (target == "cpu" || (alsoAuto && target == "auto") ||
      llvm::is_contained(gpuTargets(), target))
    return llvm::Error::success();
  return makeError("unknown target '" + target + "' (expected cpu, " +
                   targetList() + (alsoAuto ? " or auto)" : ")"));
}

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
  if (llvm::Error e = checkTarget(target, /*alsoAuto=*/true))
    return std::move(e);
  if (target == "cpu")
    return HostRunner::create();
  return GPURunner::create(target, toolkit);
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
  if (llvm::Error e = checkMatrixSize(rows, cols))
    return std::move(e);
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

//===----------------------------------------------------------------------===//
// Producers
//===----------------------------------------------------------------------===//

std::string ProducerSpec::key() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (isRMSNorm()) {
    uint32_t bits;
    std::memcpy(&bits, &eps, sizeof(bits));
    os << "rms_norm eps " << llvm::format_hex(bits, 10) << " residual "
       << residual;
  } else {
    os << "gated_act " << stringifyGatedActivation(act);
  }
  os << " y " << y;
  return text;
}

SmallVector<ProducerOperand, 5> producerOperands(const ProducerSpec &spec,
                                                 bool fused, int64_t rows,
                                                 int64_t cols) {
  SmallVector<ProducerOperand, 5> operands{
      {ProducerOperand::Input, {rows, cols}}};
  ProducerOperand y{ProducerOperand::Y, {rows, spec.resultCols(cols)}};
  if (!spec.isRMSNorm()) {
    if (!fused || spec.y)
      operands.push_back(y);
    return operands;
  }
  operands.push_back({ProducerOperand::Weight, {cols}});
  if (spec.residual)
    operands.push_back({ProducerOperand::Residual, {rows, cols}});
  ProducerOperand rstd{ProducerOperand::Rstd, {rows}};
  if (!fused) {
    operands.append({y, rstd});
  } else {
    operands.push_back(rstd);
    if (spec.y)
      operands.push_back(y);
  }
  return operands;
}

llvm::Error checkProducer(const ProducerSpec &spec, int64_t rows, int64_t cols,
                          bool gpuRowBound) {
  if (llvm::Error e = checkMatrixSize(rows, cols))
    return e;
  if (!spec.isRMSNorm()) {
    if (cols % 2 != 0)
      return makeError("expected an even number of columns (gate and up "
                       "halves of a gated activation), got " +
                       Twine(cols));
    return llvm::Error::success();
  }
  if (!std::isfinite(spec.eps) || !(spec.eps > 0.0f)) {
    std::string text;
    llvm::raw_string_ostream(text) << llvm::format("%g", double(spec.eps));
    return makeError("expected eps to be finite and positive, got " + text);
  }
  if (gpuRowBound && cols > kMaxRMSNormCols)
    return makeError("expected RMSNorm rows of at most " +
                     Twine(kMaxRMSNormCols) +
                     " values on the GPU (one thread block per row), got " +
                     Twine(cols));
  return llvm::Error::success();
}

SmallVector<ProducerCall::Buffer, 5>
ProducerCall::allocate(ProducerResult &result) const {
  size_t element = elementSize(type);
  SmallVector<Buffer, 5> buffers;
  for (const ProducerOperand &operand :
       producerOperands(spec, fused(), rows, cols)) {
    size_t count = 1;
    for (int64_t d : operand.shape)
      count *= size_t(d);
    size_t bytes = count * (operand.isF32() ? 4 : element);
    Buffer b{nullptr, nullptr, bytes, operand.shape};
    switch (operand.role) {
    case ProducerOperand::Input:
      b.in = x;
      break;
    case ProducerOperand::Weight:
      b.in = weight;
      break;
    case ProducerOperand::Residual: {
      // The kernels overwrite the residual with h: they get a copy.
      auto *from = static_cast<const uint8_t *>(residual);
      result.residual.assign(from, from + bytes);
      b.in = b.out = result.residual.data();
      break;
    }
    case ProducerOperand::Rstd:
      result.rstd.assign(count, 0.0f);
      b.out = result.rstd.data();
      break;
    case ProducerOperand::Y:
      result.y.assign(bytes, 0);
      b.out = result.y.data();
      break;
    }
    buffers.push_back(std::move(b));
  }
  return buffers;
}

SmallVector<unsigned, 2> amaxRanksOf(const QuantizeResult &outputs) {
  SmallVector<unsigned, 2> ranks;
  for (const std::optional<QuantizedOutput> *out :
       {&outputs.rowwise, &outputs.columnwise})
    if (*out)
      ranks.push_back(unsigned((*out)->amaxShape.size()));
  return ranks;
}

OwningOpRef<ModuleOp> buildProducerModule(MLIRContext &ctx,
                                          const ProducerSpec &spec,
                                          ElementType type, RecipeAttr recipe,
                                          ArrayRef<unsigned> amaxRanks) {
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  Type storage = elementTypeOf(&ctx, type);
  Type f32 = Float32Type::get(&ctx);
  bool fused = bool(recipe);
  auto operands = producerOperands(spec, fused, 1, 1);
  SmallVector<Type> argTypes;
  for (const ProducerOperand &operand : operands)
    argTypes.push_back(dynamicMemRef(operand.shape.size(),
                                     operand.isF32() ? f32 : storage));
  for (unsigned rank : amaxRanks)
    argTypes.append({dynamicMemRef(2, IntegerType::get(&ctx, 8)),
                     dynamicMemRef(2, Float8E4M3FNType::get(&ctx)),
                     dynamicMemRef(rank, f32)});
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func =
      func::FuncOp::create(b, loc, "kernel", b.getFunctionType(argTypes, {}));
  b.setInsertionPointToStart(func.addEntryBlock());
  auto args = func.getArguments();
  // The operands by role (those the op does not have stay null).
  std::array<Value, ProducerOperand::Y + 1> byRole;
  for (auto [operand, arg] : llvm::zip(operands, args))
    byRole[operand.role] = arg;
  Value input = byRole[ProducerOperand::Input],
        weight = byRole[ProducerOperand::Weight],
        residual = byRole[ProducerOperand::Residual],
        rstd = byRole[ProducerOperand::Rstd], y = byRole[ProducerOperand::Y];
  // The quantize outputs follow, three per direction present.
  Value none;
  unsigned next = operands.size();
  auto take = [&](bool present) {
    if (!present)
      return std::array<Value, 3>{none, none, none};
    std::array<Value, 3> v{args[next], args[next + 1], args[next + 2]};
    next += 3;
    return v;
  };
  APFloat eps(spec.eps);
  if (!fused) {
    if (spec.isRMSNorm())
      RMSNormOp::create(b, loc, input, weight, residual, eps, y, rstd);
    else
      GatedActOp::create(b, loc, spec.act, input, y);
  } else {
    auto row = take(recipe.getRowwise());
    auto col = take(recipe.getColumnwise());
    if (spec.isRMSNorm())
      RMSNormQuantizeOp::create(b, loc, input, weight, residual, eps, rstd, y,
                                recipe, row[0], row[1], row[2], col[0], col[1],
                                col[2]);
    else
      GatedActQuantizeOp::create(b, loc, spec.act, input, y, recipe, row[0],
                                 row[1], row[2], col[0], col[1], col[2]);
  }
  func::ReturnOp::create(b, loc);
  return module;
}

llvm::Expected<ProducerQuantizeResult>
Runner::producerQuantize(const ProducerCall &call, const GivenAmax &given) {
  if (!call.recipe)
    return makeError("null recipe");
  if (!call.x || (call.spec.isRMSNorm() && !call.weight))
    return makeError("null input or weight");
  if (llvm::Error e = checkProducer(call.spec, call.rows, call.cols,
                                    /*gpuRowBound=*/target() != "cpu"))
    return std::move(e);
  // The quantized matrix is the producer's result.
  auto outputs = allocateOutputs(call.recipe, call.rows,
                                 call.spec.resultCols(call.cols));
  if (!outputs)
    return outputs.takeError();
  if (llvm::Error e = applyGivenAmax(call.recipe, *outputs, given))
    return std::move(e);
  auto producer = runProducer(call, &*outputs);
  if (!producer)
    return producer.takeError();
  return ProducerQuantizeResult{std::move(*outputs), std::move(*producer)};
}

llvm::Expected<ProducerResult>
Runner::producerAlone(const ProducerCall &call) {
  if (!call.x || (call.spec.isRMSNorm() && !call.weight))
    return makeError("null input or weight");
  if (llvm::Error e = checkProducer(call.spec, call.rows, call.cols,
                                    /*gpuRowBound=*/target() != "cpu"))
    return std::move(e);
  return runProducer(call, nullptr);
}

llvm::Expected<ProducerQuantizeResult>
Runner::rmsNormQuantize(RecipeAttr recipe, ElementType type, const void *x,
                        const void *weight, const void *residual, float eps,
                        int64_t rows, int64_t cols, bool wantY,
                        const GivenAmax &given) {
  ProducerSpec spec;
  spec.eps = eps;
  spec.residual = residual != nullptr;
  spec.y = wantY;
  return producerQuantize(
      ProducerCall{spec, type, x, weight, residual, rows, cols, recipe}, given);
}

llvm::Expected<ProducerQuantizeResult>
Runner::gatedActQuantize(RecipeAttr recipe, ElementType type,
                         GatedActivation act, const void *x, int64_t rows,
                         int64_t cols, bool wantY, const GivenAmax &given) {
  ProducerSpec spec;
  spec.kind = ProducerKind::GatedAct;
  spec.act = act;
  spec.y = wantY;
  return producerQuantize(
      ProducerCall{spec, type, x, nullptr, nullptr, rows, cols, recipe}, given);
}

llvm::Expected<ProducerResult>
Runner::rmsNorm(ElementType type, const void *x, const void *weight,
                const void *residual, float eps, int64_t rows, int64_t cols) {
  ProducerSpec spec;
  spec.eps = eps;
  spec.residual = residual != nullptr;
  return producerAlone(
      ProducerCall{spec, type, x, weight, residual, rows, cols, {}});
}

llvm::Expected<ProducerResult> Runner::gatedAct(ElementType type,
                                                GatedActivation act,
                                                const void *x, int64_t rows,
                                                int64_t cols) {
  ProducerSpec spec;
  spec.kind = ProducerKind::GatedAct;
  spec.act = act;
  return producerAlone(
      ProducerCall{spec, type, x, nullptr, nullptr, rows, cols, {}});
}

} // namespace nvfp4
