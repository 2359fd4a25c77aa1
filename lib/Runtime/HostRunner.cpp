//===- HostRunner.cpp - Run recipes on the host ---------------------------===//

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
#include "llvm/Support/raw_ostream.h"

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
  /// The data, scale and amax of each direction of `outputs`.
  void addOutputs(QuantizeResult &outputs) {
    for (std::optional<QuantizedOutput> *out :
         {&outputs.rowwise, &outputs.columnwise}) {
      if (!*out)
        continue;
      QuantizedOutput &o = **out;
      add(o.data.data(), {o.rows, o.cols / 2});
      add(o.scale.data(), o.scaleShape);
      add(o.amax.data(), o.amaxShape);
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

using ::nvfp4::detail::DiagnosticCollector;
using ::nvfp4::detail::makeError;
} // namespace

namespace nvfp4 {

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

llvm::Expected<QuantizeResult> HostRunner::amax(RecipeAttr recipe,
                                                ElementType type,
                                                const void *input,
                                                int64_t rows, int64_t cols) {
  auto outputs = allocateAmaxOutputs(recipe, rows, cols);
  if (!outputs)
    return outputs.takeError();
  QuantizeResult &result = *outputs;
  std::lock_guard<std::mutex> lock(impl->mutex);
  SmallVector<unsigned, 2> amaxRanks = amaxRanksOf(result);
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
  SmallVector<unsigned, 2> amaxRanks = amaxRanksOf(result);
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
  call.addOutputs(result);
  if (llvm::Error err =
          (*engine)->invokePacked("_mlir_ciface_kernel", call.packed()))
    return std::move(err);
  return result;
}

llvm::Expected<ProducerResult>
HostRunner::runProducer(const ProducerCall &call, QuantizeResult *outputs) {
  ProducerResult result;
  auto buffers = call.allocate(result);
  SmallVector<unsigned, 2> amaxRanks;
  if (outputs)
    amaxRanks = amaxRanksOf(*outputs);
  std::string key;
  llvm::raw_string_ostream os(key);
  os << "producer " << call.spec.key() << " " << int(call.type);
  if (call.recipe)
    os << " " << Attribute(call.recipe);
  auto engine = getOrCompileKernel(key, [&] {
    return buildProducerModule(impl->context, call.spec, call.type,
                               call.recipe, amaxRanks);
  });
  if (!engine)
    return engine.takeError();
  CallArgs args;
  for (const ProducerCall::Buffer &b : buffers)
    args.add(b.out ? b.out : const_cast<void *>(b.in), b.shape);
  if (outputs)
    args.addOutputs(*outputs);
  std::lock_guard<std::mutex> lock(impl->mutex);
  if (llvm::Error err =
          (*engine)->invokePacked("_mlir_ciface_kernel", args.packed()))
    return std::move(err);
  return result;
}

llvm::Expected<std::vector<float>>
HostRunner::dequantize(RecipeAttr recipe, const QuantizedOutput &q) {
  if (llvm::Error e = checkDequantizeInput(recipe, q))
    return std::move(e);
  std::vector<float> out(q.rows * q.cols);
  std::lock_guard<std::mutex> lock(impl->mutex);
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

} // namespace nvfp4
