//===- Compiler.cpp - Recipes compiled in process, with caches ------------===//

#include "nvfp4/Runtime/Compiler.h"
#include "Errors.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

#include <cstring>
#include <dlfcn.h>
#include <map>
#include <mutex>

#ifndef NVFP4_GIT_VERSION
#define NVFP4_GIT_VERSION "unknown"
#endif

using namespace mlir;
using namespace mlir::nvfp4;

namespace nvfp4 {
namespace {
using ::nvfp4::detail::makeError;

/// Kernels take dynamically shaped 2-D memrefs, so one compilation serves
/// every shape; the key still names the class so shape-specialized kernels
/// can be added without reusing old entries.
constexpr const char *kShapeClass = "dynamic-2d";

StringRef operationName(Operation op) {
  switch (op) {
  case Operation::Quantize:
    return "quantize";
  case Operation::Dequantize:
    return "dequantize";
  case Operation::GroupedQuantize:
    return "grouped_quantize";
  case Operation::Matmul:
    return "matmul";
  case Operation::GroupedMatmul:
    return "grouped_matmul";
  case Operation::MatmulW4A16:
    return "matmul_w4a16";
  case Operation::Amax:
    return "amax";
  case Operation::RMSNorm:
    return "rms_norm";
  case Operation::GatedAct:
    return "gated_act";
  case Operation::RMSNormQuantize:
    return "rms_norm_quantize";
  case Operation::GatedActQuantize:
    return "gated_act_quantize";
  }
  return "?";
}

/// `<toolkit>/bin/ptxas --version`, run once per process and toolkit (no
/// shell, 10 s at most): kernels are bound to the exact assembler that
/// built them, so a toolkit upgraded in place never serves old cubins.
llvm::Expected<std::string> ptxasVersion(StringRef toolkit) {
  static std::mutex mutex;
  static auto *versions =
      new std::map<std::string, std::pair<bool, std::string>>();
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, inserted] = versions->try_emplace(toolkit.str());
  if (inserted) {
    it->second = [&]() -> std::pair<bool, std::string> {
      std::string ptxas = (toolkit + "/bin/ptxas").str();
      if (!llvm::sys::fs::can_execute(ptxas))
        return {false, "cannot run " + ptxas};
      llvm::SmallString<128> out;
      if (llvm::sys::fs::createTemporaryFile("nvfp4-ptxas-version", "txt",
                                             out))
        return {false, "cannot create a temporary file for ptxas --version"};
      llvm::FileRemover remover(out);
      std::optional<StringRef> redirects[] = {StringRef(), StringRef(out),
                                              StringRef()};
      std::string message;
      int rc = llvm::sys::ExecuteAndWait(ptxas, {ptxas, "--version"},
                                         std::nullopt, redirects,
                                         /*SecondsToWait=*/10, 0, &message);
      if (rc != 0)
        return {false, ptxas + " --version failed (exit code " +
                           std::to_string(rc) +
                           (message.empty() ? "" : ": " + message) + ")"};
      auto text = llvm::MemoryBuffer::getFile(out, /*IsText=*/true);
      if (!text || (*text)->getBufferSize() > 64 * 1024 ||
          (*text)->getBuffer().trim().empty())
        return {false, ptxas + " --version printed no version"};
      return {true, (*text)->getBuffer().trim().str()};
    }();
  }
  if (!it->second.first)
    return makeError(it->second.second);
  return it->second.second;
}

/// The in-memory key of a GEMM: recipes are uniqued attributes, so their
/// addresses identify them; alpha by its bits.
using MatmulKey =
    std::tuple<const void *, const void *, int, bool, uint32_t, bool>;
} // namespace

StringRef elementTypeName(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::F16:
    return "f16";
  case ElementType::BF16:
    return "bf16";
  }
  return "?";
}

struct Compiler::Impl {
  std::string target;
  CompilerOptions options;
  std::unique_ptr<HostRunner> host;
  std::unique_ptr<GPURunner> gpu;
  std::optional<DiskCache> disk;
  /// Why `disk` is empty (empty while it is in use).
  std::string diskDisabledReason;
  /// The ptxas version text in every disk key (GPU targets with a disk
  /// cache).
  std::string ptxas;
  /// Guards `memory` and every use of the MLIRContext for compilation.
  std::mutex mutex;
  std::map<std::tuple<const void *, int, int>, CompiledRecipe> memory;
  std::map<MatmulKey, CompiledRecipe> matmuls;
  /// Producer compilations by their full cache key.
  std::map<std::string, CompiledRecipe> producers;
  /// Recipes by the text they were parsed from.
  llvm::StringMap<RecipeAttr> parsed;

  /// The disk-cache key text every compilation's key starts with.
  std::string keyPrefix(Operation op) const {
    return "nvfp4-kernel\n" + version() + "\ntarget " + target +
           "\nformat " + options.format + "\ntoolkit " + options.toolkit +
           "\nptxas " + ptxas + "\nop " + operationName(op).str();
  }

  /// `result` (key set) from the disk cache, or compiled by `build` and
  /// stored there. Call with `mutex` held.
  llvm::Error fill(CompiledRecipe &result,
                   llvm::function_ref<llvm::Expected<const CompiledQuantize *>()>
                       build) {
    if (disk) {
      if (std::optional<CompiledQuantize> entry = disk->load(result.key)) {
        result.code =
            std::make_shared<const CompiledQuantize>(std::move(*entry));
        result.source = CacheSource::Disk;
        return llvm::Error::success();
      }
    }
    auto compiled = build();
    if (!compiled)
      return compiled.takeError();
    result.code = std::make_shared<const CompiledQuantize>(**compiled);
    // A cache that cannot be written only costs the next process a compile.
    if (disk)
      llvm::consumeError(disk->store(result.key, *result.code));
    return llvm::Error::success();
  }

  /// A GEMM compilation (`op`) of A quantized with `a`, or of an
  /// unquantized A of `aType` when `a` is null (W4A16; the result's `type`
  /// is then aType, else the output type), and B with `b`: from the memory
  /// cache, else the disk cache or `build`.
  llvm::Expected<CompiledRecipe>
  gemm(RecipeAttr a, ElementType aType, RecipeAttr b,
       const MatmulOptions &options, Operation op,
       llvm::function_ref<llvm::Expected<const CompiledQuantize *>(
           GPURunner &, StringRef)>
           build) {
    bool bias = options.bias.has_value();
    uint32_t alphaBits;
    std::memcpy(&alphaBits, &options.alpha, sizeof(alphaBits));
    std::lock_guard<std::mutex> lock(mutex);
    // A W4A16 key has no A recipe; A's type stands in its place (a small
    // integer never equals a recipe's address).
    const void *aKey = a ? a.getAsOpaquePointer()
                         : reinterpret_cast<const void *>(uintptr_t(aType) + 1);
    MatmulKey memoryKey{aKey, b.getAsOpaquePointer(), int(options.out),
                        bias, alphaBits, op == Operation::GroupedMatmul};
    if (std::optional<CompiledRecipe> hit = cached(matmuls, memoryKey))
      return *hit;

    CompiledRecipe result = record(a, a ? options.out : aType, op);
    result.bRecipe = b;
    result.key = keyPrefix(op);
    llvm::raw_string_ostream os(result.key);
    if (!a)
      os << "\na " << elementTypeName(aType);
    os << "\nout " << elementTypeName(options.out) << "\nbias " << bias
       << "\nalpha " << llvm::format_hex(alphaBits, 10) << "\nshape "
       << kShapeClass;
    // The runner's large-M GEMM lowering (GPURunner::create; the memory
    // cache belongs to this compiler's one runner and needs no such key).
    os << "\nwarp-specialized-gemm " << gpu->warpSpecializedGemm()
       << "\npredecoded-gemm " << gpu->predecodedGemm();
    if (a) {
      os << "\nrecipe ";
      Attribute(a).print(os);
    }
    os << "\nrecipe ";
    Attribute(b).print(os);
    if (llvm::Error e =
            fill(result, [&] { return build(*gpu, this->options.format); }))
      return std::move(e);
    matmuls.emplace(memoryKey, result);
    return result;
  }

  Runner &runner() { return host ? static_cast<Runner &>(*host) : *gpu; }

  /// The entry of `key` in the memory cache `map`, marked as a memory hit,
  /// or nothing. Call with `mutex` held.
  template <typename Map, typename Key>
  static std::optional<CompiledRecipe> cached(const Map &map, const Key &key) {
    auto it = map.find(key);
    if (it == map.end())
      return std::nullopt;
    CompiledRecipe hit = it->second;
    hit.source = CacheSource::Memory;
    return hit;
  }

  /// A new compilation record of `op` for this compiler's target.
  CompiledRecipe record(RecipeAttr recipe, ElementType type,
                        Operation op) const {
    CompiledRecipe result;
    result.recipe = recipe;
    result.type = type;
    result.op = op;
    result.target = target;
    return result;
  }
};

Compiler::Compiler() : impl(std::make_unique<Impl>()) {}
Compiler::~Compiler() = default;

llvm::Expected<std::unique_ptr<Compiler>>
Compiler::create(StringRef target, CompilerOptions options) {
  std::unique_ptr<Compiler> compiler(new Compiler());
  Impl &impl = *compiler->impl;
  impl.target = target.str();
  impl.options = options;
  if (target == "cpu") {
    auto host = HostRunner::create();
    if (!host)
      return host.takeError();
    impl.host = std::move(*host);
    return compiler;
  }
  if (llvm::Error e = checkTarget(target, /*alsoAuto=*/false))
    return std::move(e);
  if (options.format != "bin" && options.format != "isa")
    return makeError("unknown kernel format '" + options.format +
                     "' (expected bin or isa)");
  auto gpu = GPURunner::create(target, options.toolkit);
  if (!gpu)
    return gpu.takeError();
  impl.gpu = std::move(*gpu);
  impl.diskDisabledReason = [&]() -> std::string {
    if (!options.diskCache)
      return "disabled by CompilerOptions::diskCache";
    std::optional<std::string> dir =
        options.cacheDirectory.empty() ? DiskCache::defaultDirectory()
                                       : options.cacheDirectory;
    if (!dir)
      return "disabled by NVFP4_DISABLE_DISK_CACHE or NVFP4_CACHE_DIR, or no "
             "home directory";
    auto version = ptxasVersion(options.toolkit);
    if (!version)
      return "cannot identify the toolkit: " +
             llvm::toString(version.takeError());
    auto cache = DiskCache::open(*dir);
    if (!cache)
      return llvm::toString(cache.takeError());
    impl.ptxas = std::move(*version);
    impl.disk.emplace(std::move(*cache));
    return "";
  }();
  return compiler;
}

llvm::Expected<Compiler *> Compiler::shared(StringRef target) {
  static std::mutex mutex;
  // Never destroyed: kernels and contexts stay valid until the process
  // exits, whatever the order of static destructors.
  static auto *compilers = new std::map<std::string, Compiler *>();
  std::lock_guard<std::mutex> lock(mutex);
  Compiler *&slot = (*compilers)[target.str()];
  if (!slot) {
    auto compiler = create(target);
    if (!compiler) {
      compilers->erase(target.str());
      return compiler.takeError();
    }
    slot = compiler->release();
  }
  return slot;
}

const std::string &Compiler::target() const { return impl->target; }
bool Compiler::isGPU() const { return impl->gpu != nullptr; }
MLIRContext &Compiler::getContext() { return impl->runner().getContext(); }
Runner &Compiler::runner() { return impl->runner(); }
HostRunner *Compiler::hostRunner() { return impl->host.get(); }
GPURunner *Compiler::gpuRunner() { return impl->gpu.get(); }
const DiskCache *Compiler::diskCache() const {
  return impl->disk ? &*impl->disk : nullptr;
}
const std::string &Compiler::diskCacheDisabledReason() const {
  return impl->diskDisabledReason;
}

std::string Compiler::version() {
  static const std::string version = [] {
    std::string v = std::string("nvfp4-mlir ") + NVFP4_GIT_VERSION +
                    ", LLVM " + LLVM_VERSION_STRING;
    // The git version is taken at configure time and says nothing about
    // uncommitted edits; the size and time of the binary holding this code
    // do, so a rebuilt compiler never reads kernels an older build wrote.
    Dl_info info;
    llvm::sys::fs::file_status status;
    if (dladdr(reinterpret_cast<void *>(&Compiler::version), &info) &&
        info.dli_fname && !llvm::sys::fs::status(info.dli_fname, status))
      v += ", build " + std::to_string(status.getSize()) + "-" +
           std::to_string(llvm::sys::toTimeT(status.getLastModificationTime()));
    return v;
  }();
  return version;
}

llvm::Expected<RecipeAttr> Compiler::parseRecipe(StringRef text) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  auto it = impl->parsed.find(text);
  if (it != impl->parsed.end())
    return it->second;
  auto parsed = ::nvfp4::parseRecipe(impl->runner().getContext(), text);
  // Only valid recipes are kept: an error is reported again each time.
  if (parsed)
    impl->parsed[text] = *parsed;
  return parsed;
}

std::string Compiler::cacheKey(RecipeAttr recipe, ElementType type,
                               Operation op) const {
  std::string text = impl->keyPrefix(op);
  llvm::raw_string_ostream os(text);
  os << "\ndtype "
     << (op == Operation::Dequantize ? "f32" : elementTypeName(type))
     << "\nshape " << kShapeClass << "\nrecipe ";
  mlir::Attribute(recipe).print(os);
  return text;
}

void Compiler::clearMemoryCache() {
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->memory.clear();
  impl->matmuls.clear();
  impl->producers.clear();
}

llvm::Expected<CompiledRecipe>
Compiler::compile(StringRef recipe, ElementType type, Operation op) {
  auto parsed = parseRecipe(recipe);
  if (!parsed)
    return parsed.takeError();
  return compile(*parsed, type, op);
}

llvm::Expected<CompiledRecipe>
Compiler::compile(RecipeAttr recipe, ElementType type, Operation op) {
  if (!recipe)
    return makeError("null recipe");
  if (recipe.getContext() != &getContext())
    return makeError("the recipe belongs to another compiler's context");
  if (op == Operation::Matmul || op == Operation::GroupedMatmul ||
      op == Operation::MatmulW4A16)
    return makeError("GEMMs are compiled by compileMatmul");
  if (op == Operation::RMSNorm || op == Operation::GatedAct ||
      op == Operation::RMSNormQuantize || op == Operation::GatedActQuantize)
    return makeError("producers are compiled by compileProducer");
  if (op == Operation::Dequantize)
    type = ElementType::F32;
  std::lock_guard<std::mutex> lock(impl->mutex);
  auto memoryKey =
      std::make_tuple(recipe.getAsOpaquePointer(), int(type), int(op));
  if (std::optional<CompiledRecipe> hit = Impl::cached(impl->memory, memoryKey))
    return *hit;

  CompiledRecipe result = impl->record(recipe, type, op);
  if (!impl->gpu) {
    // The host JIT compiles on first run (HostRunner caches the engine);
    // nothing to serialize here.
    impl->memory.emplace(memoryKey, result);
    return result;
  }

  result.key = cacheKey(recipe, type, op);
  GPURunner &gpu = *impl->gpu;
  StringRef format = impl->options.format;
  if (llvm::Error e = impl->fill(
          result, [&]() -> llvm::Expected<const CompiledQuantize *> {
            switch (op) {
            case Operation::Quantize:
              return gpu.compile(recipe, type, format);
            case Operation::GroupedQuantize:
              return gpu.compileGrouped(recipe, type, format);
            case Operation::Amax:
              return gpu.compileAmax(recipe, type, format);
            default:
              // Dequantized values come back as f32.
              return gpu.compileDequantize(
                  recipe, ElementType::F32,
                  recipe.getOuter() == OuterGroup::Window ? 2 : 1, format);
            }
          }))
    return std::move(e);
  impl->memory.emplace(memoryKey, result);
  return result;
}

namespace {
/// The operation of a producer compilation.
Operation producerOperation(const ProducerSpec &spec, bool fused) {
  if (spec.isRMSNorm())
    return fused ? Operation::RMSNormQuantize : Operation::RMSNorm;
  return fused ? Operation::GatedActQuantize : Operation::GatedAct;
}
} // namespace

std::string Compiler::producerCacheKey(const ProducerSpec &spec,
                                       RecipeAttr recipe,
                                       ElementType type) const {
  std::string text = impl->keyPrefix(producerOperation(spec, bool(recipe)));
  llvm::raw_string_ostream os(text);
  os << "\ndtype " << elementTypeName(type) << "\nshape " << kShapeClass
     << "\nproducer " << spec.key();
  if (recipe) {
    os << "\nrecipe ";
    mlir::Attribute(recipe).print(os);
  }
  return text;
}

llvm::Expected<CompiledRecipe>
Compiler::compileProducer(const ProducerSpec &spec, RecipeAttr recipe,
                          ElementType type) {
  if (recipe && recipe.getContext() != &getContext())
    return makeError("the recipe belongs to another compiler's context");
  if (llvm::Error e = checkProducer(spec, 1, 2, /*gpuRowBound=*/false))
    return std::move(e);
  std::string key = producerCacheKey(spec, recipe, type);
  std::lock_guard<std::mutex> lock(impl->mutex);
  if (std::optional<CompiledRecipe> hit = Impl::cached(impl->producers, key))
    return *hit;
  CompiledRecipe result =
      impl->record(recipe, type, producerOperation(spec, bool(recipe)));
  result.producer = spec;
  if (impl->gpu) {
    result.key = key;
    GPURunner &gpu = *impl->gpu;
    StringRef format = impl->options.format;
    if (llvm::Error e = impl->fill(result, [&] {
          return gpu.compileProducer(spec, type, recipe, format);
        }))
      return std::move(e);
  }
  impl->producers.emplace(std::move(key), result);
  return result;
}

llvm::Expected<CompiledRecipe>
Compiler::compileMatmul(RecipeAttr a, RecipeAttr b,
                        const MatmulOptions &options, bool grouped) {
  if (!a || !b)
    return makeError("null recipe");
  if (a.getContext() != &getContext() || b.getContext() != &getContext())
    return makeError("the recipe belongs to another compiler's context");
  if (!impl->gpu)
    return makeError("compileMatmul needs a GPU target; the cpu target runs "
                     "GEMMs through HostRunner::matmul");
  return impl->gemm(
      a, options.out, b, options,
      grouped ? Operation::GroupedMatmul : Operation::Matmul,
      [&](GPURunner &gpu, StringRef format) {
        return grouped ? gpu.compileMatmulGrouped(a, b, options, format)
                       : gpu.compileMatmul(a, b, options, format);
      });
}

llvm::Expected<CompiledRecipe>
Compiler::compileMatmulW4A16(ElementType aType, RecipeAttr b,
                             const MatmulOptions &options) {
  if (!b)
    return makeError("null recipe");
  if (b.getContext() != &getContext())
    return makeError("the recipe belongs to another compiler's context");
  if (aType == ElementType::F32)
    return makeError("expected a W4A16 A of bf16 or f16, got f32");
  if (!impl->gpu)
    return makeError("compileMatmulW4A16 needs a GPU target; the cpu target "
                     "runs GEMMs through HostRunner::matmulW4A16");
  return impl->gemm({}, aType, b, options, Operation::MatmulW4A16,
                    [&](GPURunner &gpu, StringRef format) {
                      return gpu.compileMatmulW4A16(aType, b, options, format);
                    });
}

} // namespace nvfp4
