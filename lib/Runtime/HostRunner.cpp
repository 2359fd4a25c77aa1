//===- HostQuantize.cpp - Run recipes on the host -------------------------===//

#include "Errors.h"
#include "nvfp4/Runtime/HostRunner.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/InitAll.h"
#include "nvfp4/Pipelines/Pipelines.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/TargetSelect.h"

#include <mutex>

using namespace mlir;
using namespace mlir::nvfp4;
using ::nvfp4::ElementType;
using ::nvfp4::QuantizedOutput;
using ::nvfp4::QuantizeResult;

namespace {
/// A ranked memref descriptor as the C interface passes it.
template <int N>
struct Descriptor {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[N];
  int64_t strides[N];
};

/// Owns the descriptors of one call and the argument array for
/// `invokePacked` (each argument is a pointer to a descriptor pointer).
class CallArgs {
public:
  void add(void *data, ArrayRef<int64_t> shape) {
    if (shape.size() == 1) {
      auto d = std::make_unique<Descriptor<1>>(
          Descriptor<1>{data, data, 0, {shape[0]}, {1}});
      push(d.get());
      ones.push_back(std::move(d));
    } else {
      auto d = std::make_unique<Descriptor<2>>(Descriptor<2>{
          data, data, 0, {shape[0], shape[1]}, {shape[1], 1}});
      push(d.get());
      twos.push_back(std::move(d));
    }
  }
  SmallVector<void *> &packed() {
    args.clear();
    for (void *&p : pointers)
      args.push_back(&p);
    return args;
  }

private:
  void push(void *d) { pointers.push_back(d); }
  std::vector<std::unique_ptr<Descriptor<1>>> ones;
  std::vector<std::unique_ptr<Descriptor<2>>> twos;
  std::deque<void *> pointers;
  SmallVector<void *> args;
};

MemRefType dynamicMemRef(unsigned rank, Type element) {
  return MemRefType::get(SmallVector<int64_t>(rank, ShapedType::kDynamic),
                         element);
}

using ::nvfp4::detail::makeError;

/// Collects diagnostics into one line while in scope.
struct DiagnosticCollector {
  DiagnosticCollector(MLIRContext &ctx)
      : handler(&ctx, [this](Diagnostic &d) {
          if (d.getSeverity() == DiagnosticSeverity::Error) {
            if (!message.empty())
              message += "; ";
            message += d.str();
          }
          return success();
        }) {}
  std::string message;
  ScopedDiagnosticHandler handler;
};
} // namespace

namespace nvfp4 {

llvm::Expected<QuantizeResult>
allocateOutputs(RecipeAttr recipe, int64_t rows, int64_t cols,
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
    int64_t n = 1;
    for (int64_t d : o.amaxShape)
      n *= d;
    o.amax.assign(n, 0.0f);
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
      return makeError(Twine(name) + " amax values were given, but the "
                       "recipe has no " + name + " output");
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

llvm::Expected<QuantizeResult>
describeOutputs(RecipeAttr recipe, int64_t rows, int64_t cols,
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
                     "got " + Twine(cols));
  if (recipe.getColumnwise() && rows % kBlockSize != 0)
    return makeError("columnwise output requires M to be a multiple of 16, "
                     "got " + Twine(rows));
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

struct HostRunner::Impl {
  MLIRContext context;
  std::mutex mutex;
  /// Compiled kernels by (kind, recipe, element type).
  std::map<std::tuple<int, const void *, int>,
           std::unique_ptr<ExecutionEngine>>
      engines;

  /// Kernels of other runtime pieces (HostMatmul.cpp), by their own key.
  std::map<std::string, std::unique_ptr<ExecutionEngine>> namedEngines;

  /// Compiles (or finds) the kernel `func @kernel` of `makeModule()`.
  llvm::Expected<ExecutionEngine *>
  getOrCompile(int kind, RecipeAttr recipe, int type,
               function_ref<OwningOpRef<ModuleOp>()> makeModule) {
    auto key = std::make_tuple(kind, recipe.getAsOpaquePointer(), type);
    auto it = engines.find(key);
    if (it != engines.end())
      return it->second.get();
    auto engine = compile(makeModule);
    if (!engine)
      return engine.takeError();
    ExecutionEngine *raw = engine->get();
    engines.emplace(key, std::move(*engine));
    return raw;
  }

  llvm::Expected<std::unique_ptr<ExecutionEngine>>
  compile(function_ref<OwningOpRef<ModuleOp>()> makeModule) {
    DiagnosticCollector diagnostics(context);
    OwningOpRef<ModuleOp> module = makeModule();
    module->walk([&](func::FuncOp func) {
      func->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));
    });
    if (failed(verify(*module)))
      return makeError("internal error: invalid kernel module: " +
                       diagnostics.message);

    PassManager pm(&context);
    buildCPUPipeline(pm);
    if (failed(pm.run(*module)))
      return makeError("CPU lowering failed: " + diagnostics.message);

    ExecutionEngineOptions options;
    auto transformer = makeOptimizingTransformer(/*optLevel=*/3,
                                                 /*sizeLevel=*/0, nullptr);
    options.transformer = transformer;
    options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
    return ExecutionEngine::create(*module, options);
  }
};

HostRunner::HostRunner() : impl(std::make_unique<Impl>()) {}
HostRunner::~HostRunner() = default;

llvm::Expected<std::unique_ptr<HostRunner>>
HostRunner::create() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    ok = !llvm::InitializeNativeTarget() &&
         !llvm::InitializeNativeTargetAsmPrinter();
  });
  if (!ok)
    return makeError("cannot initialise the host target for JIT compilation");
  std::unique_ptr<HostRunner> runner(new HostRunner());
  mlir::nvfp4::loadAllDialects(runner->impl->context);
  return runner;
}

MLIRContext &HostRunner::getContext() { return impl->context; }

llvm::Expected<ExecutionEngine *> HostRunner::getOrCompileKernel(
    StringRef key, function_ref<OwningOpRef<ModuleOp>()> makeModule) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  auto it = impl->namedEngines.find(key.str());
  if (it != impl->namedEngines.end())
    return it->second.get();
  auto engine = impl->compile(makeModule);
  if (!engine)
    return engine.takeError();
  ExecutionEngine *raw = engine->get();
  impl->namedEngines.emplace(key.str(), std::move(*engine));
  return raw;
}

llvm::Expected<RecipeAttr> HostRunner::parseRecipe(StringRef text) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  return ::nvfp4::parseRecipe(impl->context, text);
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
    argTypes.append({dynamicMemRef(2, i8), dynamicMemRef(2, f8),
                     dynamicMemRef(rank, f32)});
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

OwningOpRef<ModuleOp> buildDequantizeModule(MLIRContext &ctx,
                                            RecipeAttr recipe,
                                            ElementType output,
                                            unsigned amaxRank) {
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  SmallVector<Type> argTypes{
      dynamicMemRef(2, IntegerType::get(&ctx, 8)),
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

llvm::Expected<QuantizeResult>
allocateAmaxOutputs(RecipeAttr recipe, int64_t rows, int64_t cols) {
  if (recipe.hasGivenEncodeScale())
    return makeError("expected a recipe whose outer scale comes from an amax, "
                     "got amax = given_encode_scale");
  auto result = describeOutputs(recipe, rows, cols);
  if (!result)
    return result.takeError();
  for (std::optional<QuantizedOutput> *out :
       {&result->rowwise, &result->columnwise}) {
    if (!*out)
      continue;
    int64_t n = 1;
    for (int64_t d : (*out)->amaxShape)
      n *= d;
    (*out)->amax.assign(n, 0.0f);
  }
  return result;
}

llvm::Expected<QuantizeResult> HostRunner::amax(RecipeAttr recipe,
                                                ElementType type,
                                                const void *input,
                                                int64_t rows, int64_t cols) {
  auto outputs = allocateAmaxOutputs(recipe, rows, cols);
  if (!outputs)
    return outputs.takeError();
  QuantizeResult &result = *outputs;
  std::lock_guard<std::mutex> lock(impl->mutex);
  SmallVector<unsigned, 2> amaxRanks;
  for (std::optional<QuantizedOutput> *out :
       {&result.rowwise, &result.columnwise})
    if (*out)
      amaxRanks.push_back((*out)->amaxShape.size());
  auto engine = impl->getOrCompile(/*kind=*/4, recipe, int(type), [&] {
    return buildAmaxModule(impl->context, recipe, type, amaxRanks);
  });
  if (!engine)
    return engine.takeError();
  CallArgs call;
  call.add(const_cast<void *>(input), {rows, cols});
  for (std::optional<QuantizedOutput> *out :
       {&result.rowwise, &result.columnwise})
    if (*out)
      call.add((*out)->amax.data(), (*out)->amaxShape);
  if (llvm::Error err =
          (*engine)->invokePacked("_mlir_ciface_kernel", call.packed()))
    return std::move(err);
  return std::move(result);
}

llvm::Expected<QuantizeResult>
HostRunner::quantize(RecipeAttr recipe, ElementType type, const void *input,
                     int64_t rows, int64_t cols, const GivenAmax &given) {
  return run(recipe, type, input, rows, cols, /*splits=*/std::nullopt, given);
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

llvm::Expected<QuantizeResult>
HostRunner::quantizeGrouped(RecipeAttr recipe, ElementType type,
                            const void *input, int64_t rows, int64_t cols,
                            ArrayRef<int64_t> splits, const GivenAmax &given) {
  if (llvm::Error e = checkGroupSplits(recipe, rows, splits))
    return std::move(e);
  return run(recipe, type, input, rows, cols, splits, given);
}

llvm::Expected<QuantizeResult>
HostRunner::run(RecipeAttr recipe, ElementType type, const void *input,
                int64_t rows, int64_t cols,
                std::optional<ArrayRef<int64_t>> splits,
                const GivenAmax &given) {
  bool grouped = splits.has_value();
  int64_t groups = grouped ? int64_t(splits->size()) : 1;
  auto outputs = allocateOutputs(recipe, rows, cols,
                                 grouped ? std::optional<int64_t>(groups)
                                         : std::nullopt);
  if (!outputs)
    return outputs.takeError();
  QuantizeResult &result = *outputs;
  if (llvm::Error e = applyGivenAmax(recipe, result, given))
    return std::move(e);

  std::lock_guard<std::mutex> lock(impl->mutex);
  SmallVector<unsigned, 2> amaxRanks;
  for (std::optional<QuantizedOutput> *out :
       {&result.rowwise, &result.columnwise})
    if (*out)
      amaxRanks.push_back((*out)->amaxShape.size());
  auto engine = impl->getOrCompile(
      /*kind=*/grouped ? 2 : 0, recipe, int(type), [&] {
        return buildQuantizeModule(impl->context, recipe, type, grouped,
                                   amaxRanks);
      });
  if (!engine)
    return engine.takeError();

  CallArgs call;
  call.add(const_cast<void *>(input), {rows, cols});
  if (grouped)
    call.add(const_cast<int64_t *>(splits->data()), {groups});
  for (std::optional<QuantizedOutput> *out :
       {&result.rowwise, &result.columnwise}) {
    if (!*out)
      continue;
    QuantizedOutput &o = **out;
    call.add(o.data.data(), {o.rows, o.cols / 2});
    call.add(o.scale.data(), o.scaleShape);
    call.add(o.amax.data(), o.amaxShape);
  }
  if (llvm::Error err =
          (*engine)->invokePacked("_mlir_ciface_kernel", call.packed()))
    return std::move(err);
  return result;
}

llvm::Error checkDequantizeInput(RecipeAttr recipe, const QuantizedOutput &q) {
  if (q.cols % kBlockSize != 0)
    return makeError("expected quantized dimension to be a multiple of 16, "
                     "got " + Twine(q.cols));
  if (q.data.size() != size_t(q.rows * (q.cols / 2)) ||
      ArrayRef<int64_t>(q.scaleShape) !=
          ArrayRef<int64_t>(scaleShape(recipe.getSfLayout(), q.rows, q.cols)) ||
      ArrayRef<int64_t>(q.amaxShape) !=
          ArrayRef<int64_t>(amaxShape(recipe, q.rows, q.cols)))
    return makeError("quantized buffers do not match the recipe's shapes for a " +
                     Twine(q.rows) + "x" + Twine(q.cols) + " matrix");
  return llvm::Error::success();
}

llvm::Expected<std::vector<float>>
HostRunner::dequantize(RecipeAttr recipe, const QuantizedOutput &q) {
  if (llvm::Error e = checkDequantizeInput(recipe, q))
    return std::move(e);
  std::vector<float> out(q.rows * q.cols);
  std::lock_guard<std::mutex> lock(impl->mutex);
  MLIRContext *ctx = &impl->context;
  auto engine = impl->getOrCompile(/*kind=*/1, recipe, 0, [&] {
    return buildDequantizeModule(impl->context, recipe, ElementType::F32,
                                 unsigned(q.amaxShape.size()));
  });
  if (!engine)
    return engine.takeError();
  CallArgs call;
  call.add(const_cast<uint8_t *>(q.data.data()), {q.rows, q.cols / 2});
  call.add(const_cast<uint8_t *>(q.scale.data()), q.scaleShape);
  call.add(const_cast<float *>(q.amax.data()), q.amaxShape);
  call.add(out.data(), {q.rows, q.cols});
  if (llvm::Error err =
          (*engine)->invokePacked("_mlir_ciface_kernel", call.packed()))
    return std::move(err);
  return out;
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
