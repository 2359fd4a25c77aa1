//===- GPUQuantize.cpp - Compile recipes to cubins and run them -----------===//

#include "Errors.h"
#include "nvfp4/Runtime/GPUQuantize.h"
#include "nvfp4/InitAll.h"
#include "nvfp4/Pipelines/Pipelines.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include <map>
#include <mutex>

using namespace mlir;
using namespace mlir::nvfp4;

namespace nvfp4 {
namespace {
using ::nvfp4::detail::makeError;

/// Threads per block; nvfp4-to-gpu marks every kernel with this size.
constexpr int64_t kBlockThreads = kKernelBlockThreads;

/// Kernel parameters of memref operands as convert-gpu-to-nvvm expands
/// them: allocated and aligned pointer, offset, sizes, strides.
class KernelParams {
public:
  void addMemRef(CUdeviceptr ptr, ArrayRef<int64_t> shape) {
    words.push_back(ptr);
    words.push_back(ptr);
    words.push_back(0);
    for (int64_t d : shape)
      words.push_back(uint64_t(d));
    int64_t stride = 1;
    SmallVector<uint64_t, 2> strides(shape.size());
    for (int i = int(shape.size()) - 1; i >= 0; --i) {
      strides[i] = uint64_t(stride);
      stride *= shape[i];
    }
    words.append(strides.begin(), strides.end());
  }
  SmallVector<void *> pointers() {
    SmallVector<void *> p;
    for (uint64_t &w : words)
      p.push_back(&w);
    return p;
  }

private:
  SmallVector<uint64_t, 32> words;
};
} // namespace

struct GPURunner::Impl {
  MLIRContext context;
  std::string chip, toolkit;
  std::mutex mutex;
  std::map<std::tuple<const void *, int, std::string>, CompiledQuantize> cache;
  std::unique_ptr<CudaDevice> dev;
  /// Modules loaded on `dev`, by compiled recipe. Declared after `dev` so
  /// they are unloaded before its context is released.
  std::map<const CompiledQuantize *, std::shared_ptr<CudaDevice::Module>>
      modules;
};

GPURunner::GPURunner() : impl(std::make_unique<Impl>()) {}
GPURunner::~GPURunner() = default;

llvm::Expected<std::unique_ptr<GPURunner>>
GPURunner::create(StringRef chip, StringRef toolkit) {
  std::unique_ptr<GPURunner> runner(new GPURunner());
  runner->impl->chip = chip.str();
  runner->impl->toolkit = toolkit.str();
  loadAllDialects(runner->impl->context);
  return runner;
}

MLIRContext &GPURunner::getContext() { return impl->context; }

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

llvm::Expected<const CompiledQuantize *>
GPURunner::compile(RecipeAttr recipe, ElementType type, StringRef format) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  auto key = std::make_tuple(recipe.getAsOpaquePointer(), int(type),
                             format.str());
  auto it = impl->cache.find(key);
  if (it != impl->cache.end())
    return &it->second;

  std::string errors;
  ScopedDiagnosticHandler handler(&impl->context, [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error) {
      if (!errors.empty())
        errors += "; ";
      errors += d.str();
    }
    return success();
  });
  SmallVector<unsigned, 2> amaxRanks;
  unsigned rank = recipe.getOuter() == OuterGroup::Window ? 2 : 1;
  if (recipe.getRowwise())
    amaxRanks.push_back(rank);
  if (recipe.getColumnwise())
    amaxRanks.push_back(rank);
  OwningOpRef<ModuleOp> module =
      buildQuantizeModule(impl->context, recipe, type, false, amaxRanks);

  GPUPipelineOptions options;
  options.chip = impl->chip;
  options.format = format.str();
  options.toolkit = impl->toolkit;
  PassManager kernels(&impl->context);
  buildGPUKernelStage(kernels, options);
  if (failed(kernels.run(*module)))
    return makeError("GPU lowering failed: " + errors);

  // The launch order is the order of gpu.launch_func in the host function.
  CompiledQuantize compiled;
  SymbolTableCollection symbols;
  module->walk([&](gpu::LaunchFuncOp launch) {
    auto func = symbols.lookupNearestSymbolFrom<gpu::GPUFuncOp>(
        launch, launch.getKernel());
    KernelInfo info;
    info.name = launch.getKernelName().str();
    info.work = func->getAttrOfType<StringAttr>("nvfp4.work").str();
    info.columnwise =
        func->getAttrOfType<StringAttr>("nvfp4.direction") == "columnwise";
    compiled.kernels.push_back(info);
  });

  PassManager target(&impl->context);
  buildGPUTargetStage(target, options);
  if (failed(target.run(*module)))
    return makeError("compiling for " + impl->chip + " failed: " + errors);
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
  return &(impl->cache[key] = std::move(compiled));
}

llvm::Expected<QuantizeResult>
GPURunner::quantize(RecipeAttr recipe, ElementType type, const void *input,
                    int64_t rows, int64_t cols) {
  auto outputs = allocateOutputs(recipe, rows, cols);
  if (!outputs)
    return outputs.takeError();
  auto compiled = compile(recipe, type);
  if (!compiled)
    return compiled.takeError();
  auto dev = device();
  if (!dev)
    return dev.takeError();
  CudaDevice &d = **dev;
  // A cubin is loaded once per compiled recipe, not once per call.
  std::shared_ptr<CudaDevice::Module> &loaded = impl->modules[*compiled];
  if (!loaded) {
    auto module = d.loadModule((*compiled)->image);
    if (!module)
      return module.takeError();
    loaded = std::move(*module);
  }
  CudaDevice::Module &module = *loaded;

  // Device buffers in operand order: input, then each direction's outputs.
  struct Buffer {
    void *host;
    size_t bytes;
    CUdeviceptr ptr = 0;
  };
  size_t elementBytes = type == ElementType::F32 ? 4 : 2;
  SmallVector<Buffer> buffers{
      {const_cast<void *>(input), size_t(rows * cols) * elementBytes}};
  for (std::optional<QuantizedOutput> *out :
       {&outputs->rowwise, &outputs->columnwise}) {
    if (!*out)
      continue;
    QuantizedOutput &o = **out;
    buffers.push_back({o.data.data(), o.data.size()});
    buffers.push_back({o.scale.data(), o.scale.size()});
    buffers.push_back({o.amax.data(), o.amax.size() * 4});
  }
  auto release = [&] {
    for (Buffer &b : buffers)
      if (b.ptr)
        llvm::consumeError(d.free(b.ptr));
  };
  auto fail = [&](llvm::Error e) -> llvm::Expected<QuantizeResult> {
    release();
    return std::move(e);
  };
  SmallVector<CUdeviceptr> ptrs;
  for (Buffer &b : buffers) {
    auto ptr = d.alloc(b.bytes);
    if (!ptr)
      return fail(ptr.takeError());
    b.ptr = *ptr;
    ptrs.push_back(b.ptr);
  }
  if (llvm::Error e = d.copyToDevice(buffers[0].ptr, input, buffers[0].bytes))
    return fail(std::move(e));
  if (llvm::Error e = launch(**compiled, module, rows, cols, *outputs, ptrs))
    return fail(std::move(e));
  if (llvm::Error e = d.synchronize())
    return fail(std::move(e));
  for (size_t i = 1; i < buffers.size(); ++i)
    if (llvm::Error e =
            d.copyToHost(buffers[i].host, buffers[i].ptr, buffers[i].bytes))
      return fail(std::move(e));
  release();
  return std::move(*outputs);
}

llvm::Expected<int64_t> kernelWorkItems(const KernelInfo &k,
                                        const QuantizedOutput &o) {
  // Threads per nvfp4.work kind (NVFP4ToGPU.cpp); `row_ctas` kernels
  // get one thread block per row.
  int64_t blocks = o.cols / 16, work = 1;
  if (k.work == "rows")
    work = o.rows;
  else if (k.work == "row_ctas")
    work = o.rows * kBlockThreads;
  else if (k.work == "windows")
    work = o.rows * ((blocks + 3) / 4);
  else if (k.work == "row_blocks")
    work = o.rows * blocks;
  else if (k.work == "tile_blocks")
    work = (o.rows + 15) / 16 * blocks;
  else if (k.work == "scale_bytes")
    work = o.scaleShape[0] * o.scaleShape[1];
  else if (k.work != "one")
    return makeError("unknown kernel work kind '" + k.work + "' in " + k.name);
  return work;
}

llvm::Error GPURunner::launch(const CompiledQuantize &compiled,
                              CudaDevice::Module &module, int64_t rows,
                              int64_t cols, const QuantizeResult &outputs,
                              ArrayRef<CUdeviceptr> buffers) {
  auto dev = device();
  if (!dev)
    return dev.takeError();
  KernelParams params;
  unsigned next = 0;
  params.addMemRef(buffers[next++], {rows, cols});
  for (const std::optional<QuantizedOutput> *out :
       {&outputs.rowwise, &outputs.columnwise}) {
    if (!*out)
      continue;
    const QuantizedOutput &o = **out;
    params.addMemRef(buffers[next++], {o.rows, o.cols / 2});
    params.addMemRef(buffers[next++], o.scaleShape);
    params.addMemRef(buffers[next++], o.amaxShape);
  }
  SmallVector<void *> args = params.pointers();
  for (const KernelInfo &k : compiled.kernels) {
    const QuantizedOutput &o =
        k.columnwise ? *outputs.columnwise : *outputs.rowwise;
    auto work = kernelWorkItems(k, o);
    if (!work)
      return work.takeError();
    int64_t grid = (*work + kBlockThreads - 1) / kBlockThreads;
    if (llvm::Error e = (*dev)->launch(module, k.name, unsigned(grid),
                                       unsigned(kBlockThreads), args))
      return e;
  }
  return llvm::Error::success();
}

} // namespace nvfp4
