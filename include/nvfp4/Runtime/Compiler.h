//===- Compiler.h - Recipes compiled in process, with caches ----*- C++ -*-===//
//
// The entry point for programs that JIT recipes: a Compiler turns a recipe
// (attribute or text) into kernels for one target (cpu, sm_90a, sm_100a)
// through the same pipeline builders as nvfp4-opt (GPU targets go through
// GPURunner::compile). Results are cached in memory for the life of the
// Compiler and, for GPU targets, on disk across processes (DiskCache).
//
// Thread safety: every method may be called from any thread; compilation is
// serialized by one mutex per Compiler (an MLIRContext runs one pass
// pipeline at a time), cache hits take the same mutex only for the lookup.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_RUNTIME_COMPILER_H
#define NVFP4_RUNTIME_COMPILER_H

#include "nvfp4/Runtime/DiskCache.h"
#include "nvfp4/Runtime/GPURunner.h"
#include "nvfp4/Runtime/HostRunner.h"
#include "nvfp4/Runtime/Matmul.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>

namespace nvfp4 {

/// What a kernel computes.
enum class Operation { Quantize, Dequantize, GroupedQuantize, Matmul,
                       GroupedMatmul, MatmulW4A16, Amax, RMSNorm, GatedAct,
                       RMSNormQuantize, GatedActQuantize };

/// Where a compile() result came from.
enum class CacheSource { Compiled, Memory, Disk };

struct CompilerOptions {
  /// CUDA toolkit holding ptxas (GPU targets).
  std::string toolkit = "/usr/local/cuda";
  /// Serialization of GPU kernels: bin (cubin) or isa (PTX).
  std::string format = "bin";
  /// Use the on-disk cache (GPU targets).
  bool diskCache = true;
  /// The cache directory; empty means DiskCache::defaultDirectory().
  std::string cacheDirectory;
};

/// A compiled recipe. GPU targets carry the image and kernel list; for the
/// cpu target the host JIT (HostRunner) compiles on first run and `code`
/// is null.
struct CompiledRecipe {
  mlir::nvfp4::RecipeAttr recipe;
  /// The B operand's recipe of a GEMM (null otherwise).
  mlir::nvfp4::RecipeAttr bRecipe;
  ElementType type = ElementType::F32;
  Operation op = Operation::Quantize;
  std::string target;
  std::shared_ptr<const CompiledQuantize> code;
  CacheSource source = CacheSource::Compiled;
  /// The disk cache key (empty for cpu).
  std::string key;
  /// The producer of a producer compilation (Operation::RMSNorm, GatedAct
  /// and their quantize forms).
  std::optional<ProducerSpec> producer;
};

class Compiler {
public:
  /// A compiler for `target`: "cpu", "sm_90a" or "sm_100a".
  static llvm::Expected<std::unique_ptr<Compiler>>
  create(llvm::StringRef target, CompilerOptions options = {});
  ~Compiler();

  /// One compiler per (target, toolkit) shared by the whole process, with
  /// default options otherwise: what nvfp4::quantize and the C ABI use.
  static llvm::Expected<Compiler *> shared(llvm::StringRef target);

  const std::string &target() const;
  bool isGPU() const;
  mlir::MLIRContext &getContext();
  /// The host-memory runner of the target (the host or the GPU runner
  /// below), whose context is this compiler's.
  Runner &runner();
  /// The host runner (cpu target only, else null).
  HostRunner *hostRunner();
  /// The GPU runner (GPU targets only, else null).
  GPURunner *gpuRunner();

  /// Parses a recipe (preset name, keys, or the attribute) in this
  /// compiler's context. Each distinct text is parsed once: later calls
  /// are a hash lookup, so hot paths may pass recipes as text.
  llvm::Expected<mlir::nvfp4::RecipeAttr> parseRecipe(llvm::StringRef text);

  /// Compiles `recipe` for elements of `type` (quantize input; ignored for
  /// dequantize, whose output is f32).
  llvm::Expected<CompiledRecipe> compile(mlir::nvfp4::RecipeAttr recipe,
                                         ElementType type,
                                         Operation op = Operation::Quantize);
  llvm::Expected<CompiledRecipe> compile(llvm::StringRef recipe,
                                         ElementType type,
                                         Operation op = Operation::Quantize);

  /// Compiles the GEMM (`grouped`: the grouped GEMM) of A quantized with
  /// `a` and B with `b`; `options.bias` only says whether there is a bias
  /// operand. Cached like compile(). GPU targets only (the cpu target runs
  /// GEMMs through HostRunner::matmul).
  llvm::Expected<CompiledRecipe>
  compileMatmul(mlir::nvfp4::RecipeAttr a, mlir::nvfp4::RecipeAttr b,
                const MatmulOptions &options, bool grouped = false);

  /// Compiles the W4A16 GEMM (`nvfp4.matmul_w4a16`) of a bf16/f16 A of
  /// `aType` and B quantized with `b`; cached like compileMatmul. The
  /// result has `op` MatmulW4A16, a null `recipe`, `bRecipe` = b and `type`
  /// = aType. GPU targets only (the cpu target runs it through
  /// HostRunner::matmulW4A16).
  llvm::Expected<CompiledRecipe>
  compileMatmulW4A16(ElementType aType, mlir::nvfp4::RecipeAttr b,
                     const MatmulOptions &options);

  /// Compiles the producer `spec` (SPEC.md section 15) for inputs of
  /// `type`: alone when `recipe` is null (`op` RMSNorm or GatedAct), else
  /// fused into the quantize with `recipe` (RMSNormQuantize,
  /// GatedActQuantize). Cached in memory and on disk like compile(), keyed
  /// by every field of `spec` (producerCacheKey). The cpu target runs
  /// producers through its Runner.
  llvm::Expected<CompiledRecipe> compileProducer(const ProducerSpec &spec,
                                                 mlir::nvfp4::RecipeAttr recipe,
                                                 ElementType type);

  /// The cache key of a producer compilation (exposed for tests).
  std::string producerCacheKey(const ProducerSpec &spec,
                               mlir::nvfp4::RecipeAttr recipe,
                               ElementType type) const;

  /// Drops the in-memory cache (the disk cache stays): for benchmarks and
  /// tests of the disk path.
  void clearMemoryCache();

  /// The disk cache in use, if any.
  const DiskCache *diskCache() const;

  /// Why diskCache() is null: disabled by options or the environment, an
  /// untrusted directory or secret (DiskCache::open's error), or a ptxas
  /// whose version cannot be read. Empty while a disk cache is in use, and
  /// for the cpu target (which never has one).
  const std::string &diskCacheDisabledReason() const;

  /// The cache key of a compilation (exposed for tests).
  std::string cacheKey(mlir::nvfp4::RecipeAttr recipe, ElementType type,
                       Operation op) const;

  /// "nvfp4-mlir <git version>, LLVM <version>": part of every cache key,
  /// so a new compiler never reads an old compiler's kernels.
  static std::string version();

private:
  Compiler();
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// The name of an element type: f32, f16, bf16.
llvm::StringRef elementTypeName(ElementType type);

} // namespace nvfp4

#endif // NVFP4_RUNTIME_COMPILER_H
