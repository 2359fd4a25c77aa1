//===- GPURunner.cpp - Compile recipes to cubins and run them -------------===//

#include "Errors.h"
#include "DeviceCopies.h"
#include "KernelParams.h"
#include "QuantizeLaunch.h"
#include "nvfp4/Runtime/GPURunner.h"
#include "nvfp4/Runtime/Matmul.h"
#include "nvfp4/InitAll.h"
#include "nvfp4/Pipelines/Pipelines.h"

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>

using namespace mlir;
using namespace mlir::nvfp4;

namespace nvfp4 {
namespace {
using ::nvfp4::detail::DiagnosticCollector;
using ::nvfp4::detail::makeError;

using ::nvfp4::detail::DeviceCopies;
using ::nvfp4::detail::runStaged;
using ::nvfp4::detail::KernelParams;
} // namespace

struct GPURunner::Impl {
  MLIRContext context;
  std::string chip, toolkit;
  /// Compile sm_90a large-M GEMMs with the warp-specialized kernel.
  bool warpSpecializedGemm = false;
  /// Compile sm_90a large-M GEMMs as gemm_decode kernels filling 16-bit
  /// workspaces, then a GEMM kernel reading them.
  bool predecodedGemm = false;
  std::mutex mutex;
  /// Compiled modules by cache key (see cacheKey and compileCached). The
  /// keys leave out the GEMM options above: they are fixed for the
  /// runner, and so is this cache.
  std::map<std::string, CompiledQuantize> cache;
  std::unique_ptr<CudaDevice> dev;
  /// Modules loaded on `dev`, by compiled recipe. Declared after `dev` so
  /// they are unloaded before its context is released.
  std::map<const CompiledQuantize *, std::shared_ptr<CudaDevice::Module>>
      modules;

  /// Compiles (or finds) `makeModule()` through nvfp4-to-ptx. Call with
  /// `mutex` held.
  llvm::Expected<const CompiledQuantize *>
  compile(const std::string &key, StringRef format,
          function_ref<OwningOpRef<ModuleOp>()> makeModule);
  /// compile() under `mutex`, keyed by the kernels' kind, recipe, element
  /// type, amax rank and format (cacheKey).
  llvm::Expected<const CompiledQuantize *>
  compileRecipe(int kind, RecipeAttr recipe, int type, unsigned rank,
                StringRef format,
                function_ref<OwningOpRef<ModuleOp>()> makeModule);
};

namespace {
/// Cache kinds.
enum : int { kQuantize = 0, kGrouped = 1, kDequantize = 2, kAmax = 3 };

/// The cache key of a recipe's kernels of one kind.
std::string cacheKey(int kind, RecipeAttr recipe, int type, unsigned rank,
                     StringRef format) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << kind << " " << Attribute(recipe) << " " << type << " " << rank << " "
     << format;
  return key;
}

/// Threads a kernel needs, from its nvfp4.work kind and the quantized
/// matrix `o` (rows x cols: X, or X^T for a columnwise kernel), as the
/// lowered host code derives them (NVFP4KernelInterface.h); `groups` is
/// set for grouped kernels, whose groups split the work of one launch.
llvm::Expected<int64_t> workItems(const KernelInfo &k, int64_t rows,
                                  int64_t cols, ArrayRef<int64_t> scaleShape,
                                  std::optional<int64_t> groups) {
  IndexArith arith;
  auto xCols = [&] { return k.columnwise ? rows : cols; };
  auto scaleBytes = [&] { return scaleShape[0] * scaleShape[1]; };
  KernelWorkShape<int64_t> shape{k.columnwise ? cols : rows,
                                 rows,
                                 cols / 16,
                                 groups.value_or(0),
                                 groups.has_value(),
                                 k.columnwise,
                                 xCols,
                                 scaleBytes};
  if (std::optional<int64_t> items =
          mlir::nvfp4::kernelWorkItems(arith, k.work, shape))
    return *items;
  return makeError(Twine("kernel ") + k.name + " is a " +
                   stringifyKernelWork(k.work) + " kernel, not a quantize one");
}

/// NVFP4_GEMM_PREDECODE=1 or 0 compiles every runner's sm_90a large-M
/// GEMMs predecoded or not (GPURunner::create), so programs that create
/// their runner themselves (the device API, the tools, Python) can be
/// switched without a change; empty or unset leave create()'s argument
/// (`fallback`); anything else is an error. Read at each create().
llvm::Expected<bool> predecodedGemmFromEnvironment(bool fallback) {
  const char *value = std::getenv("NVFP4_GEMM_PREDECODE");
  if (!value || !*value)
    return fallback;
  if (StringRef(value) == "0")
    return false;
  if (StringRef(value) == "1")
    return true;
  return makeError(Twine("NVFP4_GEMM_PREDECODE must be 0 or 1, got '") +
                   value + "'");
}

/// The amax ranks of each direction present (allocateOutputs' shapes).
SmallVector<unsigned, 2> amaxRanks(RecipeAttr recipe, bool grouped) {
  SmallVector<unsigned, 2> ranks;
  unsigned rank = recipe.getOuter() == OuterGroup::Window ? 2 : 1;
  if (recipe.getRowwise())
    ranks.push_back(grouped && recipe.getOuter() == OuterGroup::Tensor ? 1
                                                                       : rank);
  if (recipe.getColumnwise())
    // Grouped per-row columnwise amaxes are (G, K).
    ranks.push_back(grouped && recipe.getOuter() == OuterGroup::Row ? 2
                                                                    : rank);
  return ranks;
}
} // namespace

llvm::Expected<const CompiledQuantize *> GPURunner::Impl::compileRecipe(
    int kind, RecipeAttr recipe, int type, unsigned rank, StringRef format,
    function_ref<OwningOpRef<ModuleOp>()> makeModule) {
  std::lock_guard<std::mutex> lock(mutex);
  return compile(cacheKey(kind, recipe, type, rank, format), format,
                 makeModule);
}

GPURunner::GPURunner() : impl(std::make_unique<Impl>()) {}
GPURunner::~GPURunner() = default;

llvm::Expected<std::unique_ptr<GPURunner>>
GPURunner::create(StringRef chip, StringRef toolkit, bool warpSpecializedGemm,
                  bool predecodedGemm) {
  auto predecoded = predecodedGemmFromEnvironment(predecodedGemm);
  if (!predecoded)
    return predecoded.takeError();
  std::unique_ptr<GPURunner> runner(new GPURunner());
  runner->impl->chip = chip.str();
  runner->impl->toolkit = toolkit.str();
  runner->impl->warpSpecializedGemm = warpSpecializedGemm;
  runner->impl->predecodedGemm = *predecoded;
  loadAllDialects(runner->impl->context);
  return runner;
}

bool GPURunner::warpSpecializedGemm() const {
  return impl->warpSpecializedGemm;
}

bool GPURunner::predecodedGemm() const { return impl->predecodedGemm; }

MLIRContext &GPURunner::getContext() { return impl->context; }

StringRef GPURunner::target() const { return impl->chip; }

llvm::Expected<RecipeAttr> GPURunner::parseRecipe(StringRef text) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  return ::nvfp4::parseRecipe(impl->context, text);
}

llvm::Expected<CudaDevice *> GPURunner::device() {
  std::lock_guard<std::mutex> lock(impl->mutex);
  if (!impl->dev) {
    auto dev = CudaDevice::open();
    if (!dev)
      return dev.takeError();
    impl->dev = std::move(*dev);
  }
  return impl->dev.get();
}

llvm::Expected<CudaDevice::Module *>
GPURunner::load(const CompiledQuantize &compiled) {
  auto dev = device();
  if (!dev)
    return dev.takeError();
  std::lock_guard<std::mutex> lock(impl->mutex);
  // A cubin is loaded once per compiled recipe, not once per call.
  std::shared_ptr<CudaDevice::Module> &loaded = impl->modules[&compiled];
  if (!loaded) {
    auto module = (*dev)->loadModule(compiled.image);
    if (!module)
      return module.takeError();
    loaded = std::move(*module);
  }
  return loaded.get();
}

KernelInfo describeKernel(Operation *kernel) {
  auto func = cast<gpu::GPUFuncOp>(kernel);
  KernelInfo info;
  info.name = func.getName().str();
  // nvfp4-to-gpu marks every kernel with a work kind.
  info.work = *symbolizeKernelWork(
      func->getAttrOfType<StringAttr>(kernel_attr::kWork).getValue());
  if (auto dir = func->getAttrOfType<StringAttr>(kernel_attr::kDirection))
    info.columnwise = dir == "columnwise";
  if (auto tile =
          func->getAttrOfType<DenseI64ArrayAttr>(kernel_attr::kGemmTile)) {
    info.tileM = tile[0];
    info.tileN = tile[1];
  }
  if (auto maxM = func->getAttrOfType<IntegerAttr>(kernel_attr::kGemmMaxM))
    info.maxM = maxM.getInt();
  if (auto smem = func->getAttrOfType<IntegerAttr>(kernel_attr::kGemmSmem))
    info.sharedBytes = smem.getInt();
  info.persistent = func->hasAttr(kernel_attr::kGemmPersistent);
  if (auto split =
          func->getAttrOfType<IntegerAttr>(kernel_attr::kGemmClusterSplit))
    info.clusterSplit = split.getInt();
  info.pdl = func->hasAttr(kernel_attr::kPdl);
  if (auto maps = func->getAttrOfType<ArrayAttr>(kernel_attr::kTensorMaps))
    for (auto map : maps.getAsRange<TensorMapAttr>())
      info.tensorMaps.push_back(
          KernelTensorMap{map.getOperand(),
                          {map.getBox()[0], map.getBox()[1]},
                          map.getSwizzle()});
  if (auto bulk = func->getAttrOfType<DenseI64ArrayAttr>(
          kernel_attr::kBulkCopyOperands))
    info.bulkCopyOperands.assign(bulk.asArrayRef().begin(),
                                 bulk.asArrayRef().end());
  // A unit attribute, or a BoolAttr (false: none).
  if (Attribute workspace = func->getAttr(kernel_attr::kGemmWorkspace)) {
    auto flag = dyn_cast<BoolAttr>(workspace);
    info.gemmWorkspace = !flag || flag.getValue();
  }
  if (auto operand =
          func->getAttrOfType<IntegerAttr>(kernel_attr::kGemmOperand))
    info.gemmOperand = operand.getInt();
  if (std::optional<ArrayRef<int32_t>> block = func.getKnownBlockSize())
    info.threads = (*block)[0];
  return info;
}

llvm::Expected<const CompiledQuantize *> GPURunner::Impl::compile(
    const std::string &key, StringRef format,
    function_ref<OwningOpRef<ModuleOp>()> makeModule) {
  auto it = cache.find(key);
  if (it != cache.end())
    return &it->second;

  DiagnosticCollector diagnostics(context);
  OwningOpRef<ModuleOp> module = makeModule();

  GPUPipelineOptions options;
  options.chip = chip;
  options.format = format.str();
  options.toolkit = toolkit;
  options.warpSpecializedGemm = warpSpecializedGemm;
  options.predecodedGemm = predecodedGemm;
  PassManager kernels(&context);
  buildGPUKernelStage(kernels, options);
  if (failed(kernels.run(*module)))
    return makeError("GPU lowering failed: " + diagnostics.message);

  // The launch order is the order of gpu.launch_func in the host function.
  CompiledQuantize compiled;
  SymbolTableCollection symbols;
  module->walk([&](gpu::LaunchFuncOp launch) {
    auto func = symbols.lookupNearestSymbolFrom<gpu::GPUFuncOp>(
        launch, launch.getKernel());
    KernelInfo info = describeKernel(func);
    compiled.kernels.push_back(info);
  });

  PassManager target(&context);
  buildGPUTargetStage(target, options);
  if (failed(target.run(*module)))
    return makeError("compiling for " + chip + " failed: " +
                     diagnostics.message);
  module->walk([&](gpu::BinaryOp binary) {
    auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
    StringRef bytes = object.getObject().getValue();
    compiled.image.assign(bytes.begin(), bytes.end());
    // PTX is loaded as a NUL-terminated string.
    if (format == "isa")
      compiled.image.push_back('\0');
  });
  if (compiled.image.empty())
    return makeError("internal error: no gpu.binary produced");
  return &(cache[key] = std::move(compiled));
}

llvm::Expected<const CompiledQuantize *> GPURunner::compileCached(
    StringRef key, StringRef format,
    llvm::function_ref<OwningOpRef<ModuleOp>()> build) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  return impl->compile(("module " + key + " " + format).str(), format, build);
}

llvm::Expected<const CompiledQuantize *>
GPURunner::compile(RecipeAttr recipe, ElementType type, StringRef format) {
  return impl->compileRecipe(kQuantize, recipe, int(type), 0, format, [&] {
    return buildQuantizeModule(impl->context, recipe, type, false,
                               amaxRanks(recipe, false));
  });
}

llvm::Expected<const CompiledQuantize *>
GPURunner::compileAmax(RecipeAttr recipe, ElementType type, StringRef format) {
  return impl->compileRecipe(kAmax, recipe, int(type), 0, format, [&] {
    return buildAmaxModule(impl->context, recipe, type,
                           amaxRanks(recipe, false));
  });
}

llvm::Expected<QuantizeResult> GPURunner::amax(RecipeAttr recipe,
                                               ElementType type,
                                               const void *input, int64_t rows,
                                               int64_t cols) {
  auto outputs = allocateAmaxOutputs(recipe, rows, cols);
  if (!outputs)
    return outputs.takeError();
  auto stage = [&](DeviceCopies &buffers) {
    buffers.add(input, nullptr, size_t(rows * cols) * elementSize(type));
    for (std::optional<QuantizedOutput> *out :
         {&outputs->rowwise, &outputs->columnwise})
      if (*out)
        buffers.add(nullptr, (*out)->amax.data(), (*out)->amax.size() * 4);
  };
  auto run = [&](const CompiledQuantize &compiled, CudaDevice::Module &module,
                 ArrayRef<CUdeviceptr> pointers) {
    return launchAmax(compiled, module, rows, cols, *outputs, pointers);
  };
  if (llvm::Error e = runStaged(*this, compileAmax(recipe, type), stage, run))
    return std::move(e);
  return std::move(*outputs);
}

llvm::Error GPURunner::launchAmax(const CompiledQuantize &compiled,
                                  CudaDevice::Module &module, int64_t rows,
                                  int64_t cols, const QuantizeResult &outputs,
                                  ArrayRef<CUdeviceptr> buffers) {
  auto dev = device();
  if (!dev)
    return dev.takeError();
  KernelParams params;
  params.addMemRef(buffers[0], {rows, cols});
  unsigned next = 1;
  for (const std::optional<QuantizedOutput> *out :
       {&outputs.rowwise, &outputs.columnwise})
    if (*out)
      params.addMemRef(buffers[next++], (*out)->amaxShape);
  SmallVector<void *> args = params.pointers();
  return detail::enqueueQuantizeKernels(**dev, module, compiled, outputs, args);
}

llvm::Expected<const CompiledQuantize *>
GPURunner::compileGrouped(RecipeAttr recipe, ElementType type,
                          StringRef format) {
  return impl->compileRecipe(kGrouped, recipe, int(type), 0, format, [&] {
    return buildQuantizeModule(impl->context, recipe, type, true,
                               amaxRanks(recipe, true));
  });
}

llvm::Expected<const CompiledQuantize *>
GPURunner::compileDequantize(RecipeAttr recipe, ElementType output,
                             unsigned amaxRank, StringRef format) {
  return impl->compileRecipe(
      kDequantize, recipe, int(output), amaxRank, format, [&] {
        return buildDequantizeModule(impl->context, recipe, output, amaxRank);
      });
}

namespace {
/// Adds the output buffers of `outputs` (data, scale, amax per direction)
/// to `buffers`, copied back into `outputs`.
void addOutputs(DeviceCopies &buffers, QuantizeResult &outputs) {
  for (std::optional<QuantizedOutput> *out :
       {&outputs.rowwise, &outputs.columnwise}) {
    if (!*out)
      continue;
    QuantizedOutput &o = **out;
    buffers.add(nullptr, o.data.data(), o.data.size());
    buffers.add(nullptr, o.scale.data(), o.scale.size());
    // Copied in as well: a recipe with a given outer scale reads it (the
    // other recipes overwrite the zeros).
    buffers.add(o.amax.data(), o.amax.data(), o.amax.size() * 4);
  }
}

} // namespace

llvm::Expected<QuantizeResult>
GPURunner::quantize(RecipeAttr recipe, ElementType type, const void *input,
                    int64_t rows, int64_t cols, const GivenAmax &given) {
  auto outputs = allocateOutputs(recipe, rows, cols);
  if (!outputs)
    return outputs.takeError();
  if (llvm::Error e = applyGivenAmax(recipe, *outputs, given))
    return std::move(e);
  // Device buffers in operand order: input, then each direction's outputs.
  auto stage = [&](DeviceCopies &buffers) {
    buffers.add(input, nullptr, size_t(rows * cols) * elementSize(type));
    addOutputs(buffers, *outputs);
  };
  auto run = [&](const CompiledQuantize &compiled, CudaDevice::Module &module,
                 ArrayRef<CUdeviceptr> pointers) {
    return launch(compiled, module, rows, cols, *outputs, pointers);
  };
  if (llvm::Error e = runStaged(*this, compile(recipe, type), stage, run))
    return std::move(e);
  return std::move(*outputs);
}

llvm::Expected<int64_t> kernelWorkItems(const KernelInfo &k,
                                        const QuantizedOutput &o,
                                        std::optional<int64_t> groups) {
  return workItems(k, o.rows, o.cols, o.scaleShape, groups);
}

llvm::Error detail::enqueueQuantizeKernels(CudaDevice &dev,
                                           CudaDevice::Module &module,
                                           const CompiledQuantize &compiled,
                                           const QuantizeResult &outputs,
                                           ArrayRef<void *> args,
                                           std::optional<int64_t> groups,
                                           void *stream) {
  for (const KernelInfo &k : compiled.kernels) {
    const std::optional<QuantizedOutput> &o =
        k.columnwise ? outputs.columnwise : outputs.rowwise;
    if (!o)
      return makeError("kernel " + k.name + " writes a " +
                       (k.columnwise ? "columnwise" : "rowwise") +
                       " output the recipe does not have");
    auto work = kernelWorkItems(k, *o, groups);
    if (!work)
      return work.takeError();
    IndexArith arith;
    int64_t grid = kernelBlocks(arith, *work);
    if (grid == 0)
      continue; // nothing to do (an empty matrix)
    if (grid > int64_t(UINT32_MAX >> 1))
      return makeError("kernel " + k.name + " needs a grid of " +
                       Twine(grid) + " blocks");
    if (llvm::Error e = dev.launch(module, k.name, unsigned(grid),
                                   unsigned(kKernelBlockThreads), args, stream,
                                   /*sharedBytes=*/0, /*dependent=*/k.pdl))
      return e;
  }
  return llvm::Error::success();
}

llvm::Error detail::enqueueProducerKernels(
    CudaDevice &dev, CudaDevice::Module &module,
    const CompiledQuantize &compiled, const ProducerSpec &spec, int64_t rows,
    int64_t cols, const QuantizeResult *outputs, ArrayRef<CUdeviceptr> buffers,
    void *stream) {
  auto operands = producerOperands(spec, outputs != nullptr, rows, cols);
  size_t expected = operands.size() +
                    (outputs ? 3 * (size_t(outputs->rowwise.has_value()) +
                                    size_t(outputs->columnwise.has_value()))
                             : 0);
  if (buffers.size() != expected)
    return makeError("expected " + Twine(expected) +
                     " producer buffers, got " + Twine(buffers.size()));
  KernelParams params;
  for (auto [operand, ptr] : llvm::zip(operands, buffers))
    params.addMemRef(ptr, operand.shape);
  QuantizeResult shapes;
  if (outputs) {
    detail::addOutputParams(params, *outputs, buffers, operands.size());
    shapes = *outputs;
  }
  // The producer's kernels (rstd, outputs, or the producer alone) are
  // rowwise thread-block-per-row kernels over the rows of its result.
  if (!shapes.rowwise) {
    shapes.rowwise.emplace();
    shapes.rowwise->rows = rows;
    shapes.rowwise->cols = spec.resultCols(cols);
  }
  SmallVector<void *> args = params.pointers();
  return enqueueQuantizeKernels(dev, module, compiled, shapes, args,
                                std::nullopt, stream);
}

llvm::Expected<const CompiledQuantize *>
GPURunner::compileProducer(const ProducerSpec &spec, ElementType type,
                           RecipeAttr recipe, StringRef format) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << "producer " << spec.key() << " " << int(type);
  if (recipe)
    os << " " << Attribute(recipe);
  return compileCached(key, format, [&] {
    return buildProducerModule(impl->context, spec, type, recipe,
                               recipe ? amaxRanks(recipe, false)
                                      : SmallVector<unsigned, 2>());
  });
}

llvm::Error GPURunner::launchProducer(const CompiledQuantize &compiled,
                                      CudaDevice::Module &module,
                                      const ProducerSpec &spec, int64_t rows,
                                      int64_t cols,
                                      const QuantizeResult *outputs,
                                      ArrayRef<CUdeviceptr> buffers,
                                      void *stream) {
  auto dev = device();
  if (!dev)
    return dev.takeError();
  return detail::enqueueProducerKernels(**dev, module, compiled, spec, rows,
                                        cols, outputs, buffers, stream);
}

llvm::Expected<ProducerResult>
GPURunner::runProducer(const ProducerCall &call, QuantizeResult *outputs) {
  ProducerResult result;
  auto operands = call.allocate(result);
  auto stage = [&](DeviceCopies &buffers) {
    for (const ProducerCall::Buffer &b : operands)
      buffers.add(b.in, b.out, b.bytes);
    if (outputs)
      addOutputs(buffers, *outputs);
  };
  auto run = [&](const CompiledQuantize &compiled, CudaDevice::Module &module,
                 ArrayRef<CUdeviceptr> pointers) {
    return launchProducer(compiled, module, call.spec, call.rows, call.cols,
                          outputs, pointers);
  };
  if (llvm::Error e = runStaged(
          *this, compileProducer(call.spec, call.type, call.recipe), stage,
          run))
    return std::move(e);
  return result;
}

llvm::Error GPURunner::launch(const CompiledQuantize &compiled,
                              CudaDevice::Module &module, int64_t rows,
                              int64_t cols, const QuantizeResult &outputs,
                              ArrayRef<CUdeviceptr> buffers) {
  auto dev = device();
  if (!dev)
    return dev.takeError();
  KernelParams params;
  params.addMemRef(buffers[0], {rows, cols});
  detail::addOutputParams(params, outputs, buffers, 1);
  SmallVector<void *> args = params.pointers();
  return detail::enqueueQuantizeKernels(**dev, module, compiled, outputs, args);
}

llvm::Expected<QuantizeResult>
GPURunner::quantizeGrouped(RecipeAttr recipe, ElementType type,
                           const void *input, int64_t rows, int64_t cols,
                           ArrayRef<int64_t> splits, const GivenAmax &given) {
  if (llvm::Error e = checkGroupSplits(recipe, rows, splits))
    return std::move(e);
  int64_t groups = int64_t(splits.size());
  auto outputs = allocateOutputs(recipe, rows, cols, groups);
  if (!outputs)
    return outputs.takeError();
  if (llvm::Error e = applyGivenAmax(recipe, *outputs, given))
    return std::move(e);
  auto stage = [&](DeviceCopies &buffers) {
    buffers.add(input, nullptr, size_t(rows * cols) * elementSize(type));
    buffers.add(splits.data(), nullptr, splits.size() * sizeof(int64_t));
    addOutputs(buffers, *outputs);
  };
  auto run = [&](const CompiledQuantize &compiled, CudaDevice::Module &module,
                 ArrayRef<CUdeviceptr> pointers) {
    return launchGrouped(compiled, module, rows, cols, groups, *outputs,
                         pointers);
  };
  if (llvm::Error e =
          runStaged(*this, compileGrouped(recipe, type), stage, run))
    return std::move(e);
  return std::move(*outputs);
}

llvm::Error GPURunner::launchGrouped(const CompiledQuantize &compiled,
                                     CudaDevice::Module &module, int64_t rows,
                                     int64_t cols, int64_t groups,
                                     const QuantizeResult &outputs,
                                     ArrayRef<CUdeviceptr> buffers) {
  auto dev = device();
  if (!dev)
    return dev.takeError();
  KernelParams params;
  params.addMemRef(buffers[0], {rows, cols});
  params.addMemRef(buffers[1], {groups});
  detail::addOutputParams(params, outputs, buffers, 2);
  SmallVector<void *> args = params.pointers();
  return detail::enqueueQuantizeKernels(**dev, module, compiled, outputs, args,
                                        groups);
}

llvm::Expected<std::vector<float>>
GPURunner::dequantize(RecipeAttr recipe, const QuantizedOutput &q) {
  if (llvm::Error e = checkDequantizeInput(recipe, q))
    return std::move(e);
  std::vector<float> out(q.rows * q.cols);
  auto stage = [&](DeviceCopies &buffers) {
    buffers.addOperand(q);
    buffers.add(nullptr, out.data(), out.size() * 4);
  };
  auto run = [&](const CompiledQuantize &compiled, CudaDevice::Module &module,
                 ArrayRef<CUdeviceptr> pointers) {
    return launchDequantize(compiled, module, q.rows, q.cols, q.scaleShape,
                            q.amaxShape, pointers);
  };
  auto compiled = compileDequantize(recipe, ElementType::F32,
                                    unsigned(q.amaxShape.size()));
  if (llvm::Error e = runStaged(*this, std::move(compiled), stage, run))
    return std::move(e);
  return out;
}

llvm::Error GPURunner::launchDequantize(const CompiledQuantize &compiled,
                                        CudaDevice::Module &module,
                                        int64_t rows, int64_t cols,
                                        ArrayRef<int64_t> scaleShape,
                                        ArrayRef<int64_t> amaxShape,
                                        ArrayRef<CUdeviceptr> buffers) {
  auto dev = device();
  if (!dev)
    return dev.takeError();
  KernelParams params;
  params.addMemRef(buffers[0], {rows, cols / 2});
  params.addMemRef(buffers[1], scaleShape);
  params.addMemRef(buffers[2], amaxShape);
  params.addMemRef(buffers[3], {rows, cols});
  SmallVector<void *> args = params.pointers();
  // Dequantize kernels are sized by the matrix they read.
  QuantizeResult shapes;
  shapes.rowwise.emplace();
  shapes.rowwise->rows = rows;
  shapes.rowwise->cols = cols;
  shapes.rowwise->scaleShape.assign(scaleShape.begin(), scaleShape.end());
  shapes.columnwise = shapes.rowwise;
  return detail::enqueueQuantizeKernels(**dev, module, compiled, shapes, args);
}

} // namespace nvfp4
