//===- CompilerTest.cpp - Compiler: targets, caches, error values ---------===//
//
// Compilation to cubins needs ptxas but no GPU, so all of this runs on the
// build machine.
//
//===----------------------------------------------------------------------===//

#include "TempDir.h"

#include "nvfp4/Runtime/Api.h"
#include "nvfp4/Runtime/Compiler.h"
#include "nvfp4/Runtime/GPURunner.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <cstring>
#include <atomic>
#include <fstream>
#include <sys/stat.h>
#include <optional>
#include <thread>

using namespace nvfp4;
using nvfp4::testing::TempDir;

namespace {

/// Unsets an environment variable for a test's scope and restores it after,
/// also when an assertion returns early.
class UnsetEnvironment {
public:
  explicit UnsetEnvironment(const char *name) : name(name) {
    if (const char *value = std::getenv(name))
      saved = value;
    unsetenv(name);
  }
  ~UnsetEnvironment() {
    if (saved)
      setenv(name, saved->c_str(), 1);
  }

private:
  const char *name;
  std::optional<std::string> saved;
};

std::unique_ptr<Compiler> makeGPUCompiler(const std::string &cacheDir,
                                          bool disk = true,
                                          const char *target = "sm_100a") {
  CompilerOptions options;
  options.cacheDirectory = cacheDir;
  options.diskCache = disk;
  auto compiler = Compiler::create(target, options);
  EXPECT_TRUE(bool(compiler)) << llvm::toString(compiler.takeError());
  return compiler ? std::move(*compiler) : nullptr;
}

std::string errorOf(llvm::Error e) { return llvm::toString(std::move(e)); }

bool isElf(const std::vector<char> &image) {
  return image.size() > 4 && std::memcmp(image.data(), "\x7f" "ELF", 4) == 0;
}

TEST(Compiler, CompilesToCubinWithoutAGPU) {
  TempDir dir;
  auto compiler = makeGPUCompiler(dir.path);
  ASSERT_TRUE(compiler);
  auto compiled = compiler->compile("per_tensor", ElementType::BF16);
  ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
  EXPECT_EQ(compiled->source, CacheSource::Compiled);
  ASSERT_TRUE(compiled->code);
  EXPECT_TRUE(isElf(compiled->code->image));
  ASSERT_FALSE(compiled->code->kernels.empty());
  for (const KernelInfo &k : compiled->code->kernels) {
    EXPECT_NE(k.work, mlir::nvfp4::KernelWork::Gemm) << k.name;
    // sm_100a has griddepcontrol: every kernel waits on its predecessor
    // and may be launched with programmatic dependent launch.
    EXPECT_TRUE(k.pdl) << k.name;
  }
}

TEST(Compiler, SecondCompileIsAMemoryHit) {
  TempDir dir;
  auto compiler = makeGPUCompiler(dir.path);
  ASSERT_TRUE(compiler);
  auto first = compiler->compile("per_token", ElementType::F32);
  ASSERT_TRUE(bool(first)) << errorOf(first.takeError());
  auto second = compiler->compile("outer = row", ElementType::F32);
  ASSERT_TRUE(bool(second)) << errorOf(second.takeError());
  EXPECT_EQ(second->source, CacheSource::Memory);
  EXPECT_EQ(second->code.get(), first->code.get());
  // A different input type is a different kernel.
  auto f16 = compiler->compile("per_token", ElementType::F16);
  ASSERT_TRUE(bool(f16)) << errorOf(f16.takeError());
  EXPECT_EQ(f16->source, CacheSource::Compiled);
}

TEST(Compiler, DiskCacheRoundTrip) {
  TempDir dir;
  std::shared_ptr<const CompiledQuantize> written;
  std::string key;
  {
    auto compiler = makeGPUCompiler(dir.path);
    ASSERT_TRUE(compiler);
    auto compiled = compiler->compile("local_1x64", ElementType::BF16);
    ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
    EXPECT_EQ(compiled->source, CacheSource::Compiled);
    written = compiled->code;
    key = compiled->key;
    EXPECT_TRUE(llvm::sys::fs::exists(compiler->diskCache()->pathFor(key)));
  }
  auto compiler = makeGPUCompiler(dir.path);
  ASSERT_TRUE(compiler);
  auto compiled = compiler->compile("local_1x64", ElementType::BF16);
  ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
  EXPECT_EQ(compiled->source, CacheSource::Disk);
  EXPECT_EQ(compiled->code->image, written->image);
  ASSERT_EQ(compiled->code->kernels.size(), written->kernels.size());
  for (size_t i = 0; i < written->kernels.size(); ++i) {
    EXPECT_EQ(compiled->code->kernels[i].name, written->kernels[i].name);
    EXPECT_EQ(compiled->code->kernels[i].work, written->kernels[i].work);
    EXPECT_EQ(compiled->code->kernels[i].columnwise,
              written->kernels[i].columnwise);
  }
}

/// Producer compilations go through both caches keyed by their whole
/// spec: the same spec comes back from the disk with its kernel list and
/// the producer, another eps, residual, activation or y is compiled anew,
/// never served another producer's kernels.
TEST(Compiler, ProducerCachesKeepProducersApart) {
  TempDir dir;
  ProducerSpec rms;
  rms.eps = 1e-6f;
  rms.residual = true;
  std::shared_ptr<const CompiledQuantize> written;
  {
    auto compiler = makeGPUCompiler(dir.path, true, "sm_90a");
    ASSERT_TRUE(compiler);
    auto recipe = compiler->parseRecipe("per_tensor");
    ASSERT_TRUE(bool(recipe));
    auto compiled = compiler->compileProducer(rms, *recipe, ElementType::BF16);
    ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
    EXPECT_EQ(compiled->source, CacheSource::Compiled);
    EXPECT_EQ(compiled->op, Operation::RMSNormQuantize);
    written = compiled->code;
    auto again = compiler->compileProducer(rms, *recipe, ElementType::BF16);
    ASSERT_TRUE(bool(again));
    EXPECT_EQ(again->source, CacheSource::Memory);
  }
  auto compiler = makeGPUCompiler(dir.path, true, "sm_90a");
  ASSERT_TRUE(compiler);
  auto recipe = compiler->parseRecipe("per_tensor");
  ASSERT_TRUE(bool(recipe));
  auto fromDisk = compiler->compileProducer(rms, *recipe, ElementType::BF16);
  ASSERT_TRUE(bool(fromDisk)) << errorOf(fromDisk.takeError());
  EXPECT_EQ(fromDisk->source, CacheSource::Disk);
  ASSERT_TRUE(fromDisk->producer);
  EXPECT_EQ(fromDisk->producer->key(), rms.key());
  EXPECT_EQ(fromDisk->code->image, written->image);
  ASSERT_EQ(fromDisk->code->kernels.size(), written->kernels.size());
  for (size_t i = 0; i < written->kernels.size(); ++i)
    EXPECT_EQ(fromDisk->code->kernels[i].name, written->kernels[i].name);

  ProducerSpec other = rms;
  other.eps = 1e-5f;
  ProducerSpec noResidual = rms;
  noResidual.residual = false;
  ProducerSpec withY = rms;
  withY.y = true;
  ProducerSpec silu;
  silu.kind = ProducerKind::GatedAct;
  ProducerSpec gelu = silu;
  gelu.act = mlir::nvfp4::GatedActivation::GeluTanh;
  for (const ProducerSpec &spec : {other, noResidual, withY, silu, gelu}) {
    auto compiled = compiler->compileProducer(spec, *recipe, ElementType::BF16);
    ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
    EXPECT_EQ(compiled->source, CacheSource::Compiled) << spec.key();
  }
  // The producer alone is another compilation again.
  auto alone = compiler->compileProducer(rms, {}, ElementType::BF16);
  ASSERT_TRUE(bool(alone)) << errorOf(alone.takeError());
  EXPECT_EQ(alone->source, CacheSource::Compiled);
  EXPECT_EQ(alone->op, Operation::RMSNorm);
  ASSERT_EQ(alone->code->kernels.size(), 1u);
}

/// A GEMM's kernels come back from the disk with everything its launch
/// needs (tile, the M they serve, shared memory, threads, persistence,
/// programmatic dependent launch), not only names.
TEST(Compiler, MatmulDiskCacheKeepsTheLaunchShape) {
  UnsetEnvironment defaultGemm("NVFP4_GEMM_PREDECODE");
  TempDir dir;
  std::shared_ptr<const CompiledQuantize> written;
  const char *a = "per_token, sf_layout = 128x4";
  const char *b = "per_tensor_2d, sf_layout = 128x4";
  MatmulOptions options;
  options.bias.emplace();
  {
    auto compiler = makeGPUCompiler(dir.path, true, "sm_90a");
    ASSERT_TRUE(compiler);
    auto ra = compiler->parseRecipe(a), rb = compiler->parseRecipe(b);
    ASSERT_TRUE(ra && rb);
    auto compiled = compiler->compileMatmul(*ra, *rb, options);
    ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
    EXPECT_EQ(compiled->source, CacheSource::Compiled);
    EXPECT_EQ(compiled->op, Operation::Matmul);
    written = compiled->code;
    auto again = compiler->compileMatmul(*ra, *rb, options);
    ASSERT_TRUE(bool(again));
    EXPECT_EQ(again->source, CacheSource::Memory);
    // Another alpha is another kernel (alpha is compiled in).
    MatmulOptions scaled = options;
    scaled.alpha = 0.5f;
    auto other = compiler->compileMatmul(*ra, *rb, scaled);
    ASSERT_TRUE(bool(other));
    EXPECT_EQ(other->source, CacheSource::Compiled);
    EXPECT_NE(other->key, compiled->key);
  }
  auto compiler = makeGPUCompiler(dir.path, true, "sm_90a");
  ASSERT_TRUE(compiler);
  auto ra = compiler->parseRecipe(a), rb = compiler->parseRecipe(b);
  ASSERT_TRUE(ra && rb);
  auto compiled = compiler->compileMatmul(*ra, *rb, options);
  ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
  EXPECT_EQ(compiled->source, CacheSource::Disk);
  EXPECT_EQ(compiled->code->image, written->image);
  ASSERT_EQ(compiled->code->kernels.size(), written->kernels.size());
  ASSERT_FALSE(written->kernels.empty());
  // The default runner predecodes the large-M GEMM: the direct kernels,
  // then gemm_decode(A), gemm_decode(B) and the workspace kernel.
  size_t decodes = 0;
  for (size_t i = 0; i < written->kernels.size(); ++i) {
    const KernelInfo &got = compiled->code->kernels[i];
    const KernelInfo &want = written->kernels[i];
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.work, want.work) << want.name;
    EXPECT_GT(want.threads, 0);
    EXPECT_TRUE(want.pdl) << want.name;
    if (want.work == mlir::nvfp4::KernelWork::GemmDecode) {
      EXPECT_EQ(want.gemmOperand, int64_t(decodes)) << want.name;
      ++decodes;
    } else {
      EXPECT_EQ(want.work, mlir::nvfp4::KernelWork::Gemm) << want.name;
      EXPECT_GT(want.tileM, 0) << want.name;
      // The direct kernels' cluster split survives the disk cache.
      EXPECT_EQ(want.clusterSplit, want.maxM != 0 ? 8 : 1) << want.name;
    }
    EXPECT_EQ(std::make_tuple(got.threads, got.tileM, got.tileN, got.maxM,
                              got.sharedBytes, got.persistent, got.pdl,
                              got.clusterSplit, got.gemmOperand,
                              got.gemmWorkspace, got.tensorMaps.size()),
              std::make_tuple(want.threads, want.tileM, want.tileN, want.maxM,
                              want.sharedBytes, want.persistent, want.pdl,
                              want.clusterSplit, want.gemmOperand,
                              want.gemmWorkspace, want.tensorMaps.size()));
  }
  EXPECT_EQ(decodes, 2u);
  EXPECT_TRUE(written->kernels.back().gemmWorkspace);
}

TEST(Compiler, RecipeTextIsParsedOnce) {
  auto compiler = Compiler::create("cpu");
  ASSERT_TRUE(bool(compiler));
  auto first = (*compiler)->parseRecipe("per_token, sf_layout = 128x4");
  auto second = (*compiler)->parseRecipe("per_token, sf_layout = 128x4");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, *second);
  // A bad recipe is an error every time, not a cached null.
  for (int i = 0; i < 2; ++i) {
    auto bad = (*compiler)->parseRecipe("outer = row, block = 16x16");
    ASSERT_FALSE(bool(bad));
    EXPECT_NE(errorOf(bad.takeError())
                  .find("outer = row is incompatible with block = 16x16"),
              std::string::npos);
  }
}

TEST(CompilerErrors, MatmulNeedsAGPUTarget) {
  auto compiler = Compiler::create("cpu");
  ASSERT_TRUE(bool(compiler));
  auto r = (*compiler)->parseRecipe("per_tensor, sf_layout = 128x4");
  ASSERT_TRUE(bool(r));
  auto compiled = (*compiler)->compileMatmul(*r, *r, MatmulOptions());
  ASSERT_FALSE(bool(compiled));
  EXPECT_EQ(errorOf(compiled.takeError()),
            "compileMatmul needs a GPU target; the cpu target runs GEMMs "
            "through HostRunner::matmul");
  auto viaCompile = (*compiler)->compile(*r, ElementType::F32,
                                         Operation::Matmul);
  ASSERT_FALSE(bool(viaCompile));
  EXPECT_EQ(errorOf(viaCompile.takeError()),
            "GEMMs are compiled by compileMatmul");
}

// W4A16 compiles through the same GEMM caches: a cubin without a GPU, a
// memory hit the second time, a key that names A's type and the op, and a
// cpu target that points at the host runner.
TEST(Compiler, MatmulW4A16CompilesAndCaches) {
  std::unique_ptr<Compiler> compiler =
      makeGPUCompiler("", /*disk=*/false, "sm_90a");
  ASSERT_TRUE(compiler);
  auto r = compiler->parseRecipe("per_token, sf_layout = 128x4");
  ASSERT_TRUE(bool(r));
  auto first = compiler->compileMatmulW4A16(ElementType::BF16, *r, {});
  ASSERT_TRUE(bool(first)) << errorOf(first.takeError());
  EXPECT_EQ(first->op, Operation::MatmulW4A16);
  EXPECT_EQ(first->type, ElementType::BF16);
  EXPECT_FALSE(first->recipe);
  EXPECT_EQ(first->bRecipe, *r);
  EXPECT_EQ(first->source, CacheSource::Compiled);
  EXPECT_NE(first->key.find("op matmul_w4a16\na bf16\n"), std::string::npos);
  EXPECT_FALSE(first->code->image.empty());
  auto again = compiler->compileMatmulW4A16(ElementType::BF16, *r, {});
  ASSERT_TRUE(bool(again));
  EXPECT_EQ(again->source, CacheSource::Memory);
  auto f16 = compiler->compileMatmulW4A16(ElementType::F16, *r, {});
  ASSERT_TRUE(bool(f16));
  EXPECT_EQ(f16->source, CacheSource::Compiled);
  EXPECT_NE(f16->key, first->key);
  // The NVFP4 x NVFP4 GEMM of the same B is another kernel.
  auto w4a4 = compiler->compileMatmul(*r, *r, {});
  ASSERT_TRUE(bool(w4a4));
  EXPECT_EQ(w4a4->source, CacheSource::Compiled);

  auto f32 = compiler->compileMatmulW4A16(ElementType::F32, *r, {});
  ASSERT_FALSE(bool(f32));
  EXPECT_EQ(errorOf(f32.takeError()),
            "expected a W4A16 A of bf16 or f16, got f32");
  auto cpu = Compiler::create("cpu");
  ASSERT_TRUE(bool(cpu));
  auto rc = (*cpu)->parseRecipe("per_token, sf_layout = 128x4");
  ASSERT_TRUE(bool(rc));
  auto onCpu = (*cpu)->compileMatmulW4A16(ElementType::BF16, *rc, {});
  ASSERT_FALSE(bool(onCpu));
  EXPECT_EQ(errorOf(onCpu.takeError()),
            "compileMatmulW4A16 needs a GPU target; the cpu target runs "
            "GEMMs through HostRunner::matmulW4A16");
}

TEST(Compiler, DamagedDiskEntriesAreRecompiled) {
  TempDir dir;
  std::string path;
  std::vector<char> image;
  {
    auto compiler = makeGPUCompiler(dir.path);
    ASSERT_TRUE(compiler);
    auto compiled = compiler->compile("per_tensor", ElementType::F32);
    ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
    path = compiler->diskCache()->pathFor(compiled->key);
    image = compiled->code->image;
  }
  auto contents = [&] {
    auto buffer = llvm::MemoryBuffer::getFile(path);
    EXPECT_TRUE(bool(buffer));
    return buffer ? (*buffer)->getBuffer().str() : std::string();
  };
  std::string good = contents();
  auto damage = [&](const std::string &bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  };
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x20;
  std::string badMagic = good;
  badMagic[0] = 'X';
  for (const std::string &bad :
       {good.substr(0, good.size() - 7), good.substr(0, 10), flipped, badMagic,
        std::string()}) {
    damage(bad);
    auto compiler = makeGPUCompiler(dir.path);
    ASSERT_TRUE(compiler);
    auto compiled = compiler->compile("per_tensor", ElementType::F32);
    ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
    EXPECT_EQ(compiled->source, CacheSource::Compiled);
    EXPECT_EQ(compiled->code->image, image);
    // The recompiled entry replaced the damaged one.
    EXPECT_EQ(contents(), good);
  }
}

/// Entries someone else wrote into the cache (issue 17's forgeries) are
/// recompiled, never loaded: another recipe's genuine kernels under this
/// key, an altered cubin, 64 bytes of 0xAA as the image and a fake kernel
/// list, each under a secret that is not this cache's.
TEST(Compiler, ForgedDiskEntriesAreRecompiled) {
  TempDir dir;
  std::string path, otherPath, key;
  CompiledQuantize genuine;
  {
    auto compiler = makeGPUCompiler(dir.path);
    ASSERT_TRUE(compiler);
    ASSERT_NE(compiler->diskCache(), nullptr)
        << compiler->diskCacheDisabledReason();
    auto compiled = compiler->compile("per_tensor", ElementType::F32);
    ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
    auto other = compiler->compile("per_token", ElementType::F32);
    ASSERT_TRUE(bool(other)) << errorOf(other.takeError());
    key = compiled->key;
    path = compiler->diskCache()->pathFor(key);
    otherPath = compiler->diskCache()->pathFor(other->key);
    genuine = *compiled->code;
  }
  auto contents = [](const std::string &file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  std::string good = contents(path);
  DiskCache::Secret guessed;
  guessed.fill(0);
  CompiledQuantize altered = genuine;
  altered.image[altered.image.size() / 2] ^= 1;
  CompiledQuantize pattern = genuine;
  pattern.image.assign(64, char(0xAA));
  CompiledQuantize fakeKernels = genuine;
  fakeKernels.kernels.resize(1);
  fakeKernels.kernels[0].name = "attacker_kernel";
  for (const std::string &forged :
       {contents(otherPath), DiskCache::serialize(key, altered, guessed),
        DiskCache::serialize(key, pattern, guessed),
        DiskCache::serialize(key, fakeKernels, guessed)}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << forged;
    auto compiler = makeGPUCompiler(dir.path);
    ASSERT_TRUE(compiler);
    auto compiled = compiler->compile("per_tensor", ElementType::F32);
    ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
    EXPECT_EQ(compiled->source, CacheSource::Compiled);
    EXPECT_EQ(compiled->code->image, genuine.image);
    EXPECT_EQ(compiled->code->kernels.size(), genuine.kernels.size());
    EXPECT_EQ(contents(path), good);
  }
}

/// A cache directory others can write is not used; compiling still works.
TEST(Compiler, UntrustedCacheDirectoryFallsBackToCompiling) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path.c_str(), 0777), 0);
  auto compiler = makeGPUCompiler(dir.path);
  ASSERT_TRUE(compiler);
  EXPECT_EQ(compiler->diskCache(), nullptr);
  EXPECT_NE(compiler->diskCacheDisabledReason().find(
                "is writable by group or others"),
            std::string::npos)
      << compiler->diskCacheDisabledReason();
  auto compiled = compiler->compile("per_tensor", ElementType::F32);
  ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
  EXPECT_EQ(compiled->source, CacheSource::Compiled);
  std::error_code ec;
  EXPECT_TRUE(llvm::sys::fs::directory_iterator(dir.path, ec) ==
              llvm::sys::fs::directory_iterator());
}

/// A fake toolkit whose ptxas prints `script`'s output.
std::string fakeToolkit(const std::string &root, const std::string &name,
                        const std::string &script) {
  std::string bin = root + "/" + name + "/bin";
  EXPECT_FALSE(llvm::sys::fs::create_directories(bin));
  std::ofstream(bin + "/ptxas") << "#!/bin/sh\n" << script << "\n";
  EXPECT_EQ(::chmod((bin + "/ptxas").c_str(), 0755), 0);
  return root + "/" + name;
}

/// Entries are bound to the exact assembler: the key holds what
/// `ptxas --version` prints, and a ptxas that prints nothing turns the disk
/// cache off.
TEST(Compiler, KeysNameThePtxasVersion) {
  TempDir dir;
  auto keyWith = [&](const std::string &toolkit, bool expectDisk) {
    CompilerOptions options;
    options.cacheDirectory = dir.path + "/cache";
    options.toolkit = toolkit;
    auto compiler = Compiler::create("sm_100a", options);
    EXPECT_TRUE(bool(compiler)) << errorOf(compiler.takeError());
    if (!compiler)
      return std::string();
    EXPECT_EQ((*compiler)->diskCache() != nullptr, expectDisk)
        << (*compiler)->diskCacheDisabledReason();
    auto recipe = (*compiler)->parseRecipe("per_tensor");
    EXPECT_TRUE(bool(recipe));
    return (*compiler)->cacheKey(*recipe, ElementType::F32,
                                 Operation::Quantize);
  };
  std::string one = keyWith(
      fakeToolkit(dir.path, "one", "echo 'ptxas fake, release 1.0'"), true);
  EXPECT_NE(one.find("\nptxas ptxas fake, release 1.0\n"), std::string::npos)
      << one;
  std::string two = keyWith(
      fakeToolkit(dir.path, "two", "echo 'ptxas fake, release 2.0'"), true);
  EXPECT_NE(two.find("\nptxas ptxas fake, release 2.0\n"), std::string::npos)
      << two;

  CompilerOptions options;
  options.cacheDirectory = dir.path + "/cache";
  for (const char *script : {"exit 3", "true"}) {
    options.toolkit = fakeToolkit(dir.path, script[0] == 'e' ? "fails" : "mute",
                                  script);
    auto compiler = Compiler::create("sm_100a", options);
    ASSERT_TRUE(bool(compiler)) << errorOf(compiler.takeError());
    EXPECT_EQ((*compiler)->diskCache(), nullptr);
    EXPECT_NE((*compiler)->diskCacheDisabledReason().find("--version"),
              std::string::npos)
        << (*compiler)->diskCacheDisabledReason();
  }

  // The installed toolkit's own version text.
  std::string real = keyWith(CompilerOptions().toolkit, true);
  EXPECT_NE(real.find("\nptxas ptxas: NVIDIA"), std::string::npos) << real;
}

TEST(Compiler, DiskCacheCanBeDisabled) {
  TempDir dir;
  auto compiler = makeGPUCompiler(dir.path, /*disk=*/false);
  ASSERT_TRUE(compiler);
  EXPECT_EQ(compiler->diskCache(), nullptr);
  EXPECT_EQ(compiler->diskCacheDisabledReason(),
            "disabled by CompilerOptions::diskCache");
  auto compiled = compiler->compile("per_tensor", ElementType::F32);
  ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
  std::error_code ec;
  EXPECT_TRUE(llvm::sys::fs::directory_iterator(dir.path, ec) ==
              llvm::sys::fs::directory_iterator());
}

TEST(Compiler, KeysNameEverythingThatChangesTheKernel) {
  TempDir dir;
  auto compiler = makeGPUCompiler(dir.path);
  ASSERT_TRUE(compiler);
  auto recipe = compiler->parseRecipe("per_tensor");
  ASSERT_TRUE(bool(recipe));
  auto other = compiler->parseRecipe("per_token");
  ASSERT_TRUE(bool(other));
  std::string key =
      compiler->cacheKey(*recipe, ElementType::BF16, Operation::Quantize);
  EXPECT_NE(key, compiler->cacheKey(*recipe, ElementType::F32,
                                    Operation::Quantize));
  EXPECT_NE(key, compiler->cacheKey(*other, ElementType::BF16,
                                    Operation::Quantize));
  EXPECT_NE(key, compiler->cacheKey(*recipe, ElementType::BF16,
                                    Operation::Dequantize));
  auto sm90 = makeGPUCompiler(dir.path, true, "sm_90a");
  ASSERT_TRUE(sm90);
  auto recipe90 = sm90->parseRecipe("per_tensor");
  ASSERT_TRUE(bool(recipe90));
  EXPECT_NE(key, sm90->cacheKey(*recipe90, ElementType::BF16,
                                Operation::Quantize));
  EXPECT_NE(key.find(Compiler::version()), std::string::npos);
  EXPECT_NE(Compiler::version().find("LLVM"), std::string::npos);
}

// The predecoded large-M GEMM is create()'s default; NVFP4_GEMM_PREDECODE
// overrides the argument both ways; the warp-specialized kernel composes
// with it (the warp-specialized predecoded kernel).
TEST(Compiler, PredecodedGemmSwitches) {
  const char *saved = std::getenv("NVFP4_GEMM_PREDECODE");
  std::string old = saved ? saved : "";
  unsetenv("NVFP4_GEMM_PREDECODE");
  auto plain = GPURunner::create("sm_90a");
  auto inLoop = GPURunner::create("sm_90a", "/usr/local/cuda",
                                  /*warpSpecializedGemm=*/false,
                                  /*predecodedGemm=*/false);
  auto specialized = GPURunner::create("sm_90a", "/usr/local/cuda",
                                       /*warpSpecializedGemm=*/true);
  setenv("NVFP4_GEMM_PREDECODE", "0", 1);
  auto off = GPURunner::create("sm_90a");
  setenv("NVFP4_GEMM_PREDECODE", "1", 1);
  auto on = GPURunner::create("sm_90a", "/usr/local/cuda",
                              /*warpSpecializedGemm=*/false,
                              /*predecodedGemm=*/false);
  if (saved)
    setenv("NVFP4_GEMM_PREDECODE", old.c_str(), 1);
  else
    unsetenv("NVFP4_GEMM_PREDECODE");
  ASSERT_TRUE(plain && inLoop && specialized && off && on);
  EXPECT_TRUE((*plain)->predecodedGemm());
  EXPECT_FALSE((*plain)->warpSpecializedGemm());
  EXPECT_FALSE((*inLoop)->predecodedGemm());
  EXPECT_TRUE((*specialized)->predecodedGemm());
  EXPECT_TRUE((*specialized)->warpSpecializedGemm());
  EXPECT_FALSE((*off)->predecodedGemm());
  EXPECT_TRUE((*on)->predecodedGemm());
}

// A compiler's runner predecodes its large-M GEMMs unless
// NVFP4_GEMM_PREDECODE=0 says otherwise: the two lowerings' GEMMs get other
// disk keys, so neither reads the other's kernels from a shared cache
// directory.
TEST(Compiler, MatmulKeysNameThePredecodedGemm) {
  const char *saved = std::getenv("NVFP4_GEMM_PREDECODE");
  std::string old = saved ? saved : "";
  auto restore = [&] {
    if (saved)
      setenv("NVFP4_GEMM_PREDECODE", old.c_str(), 1);
    else
      unsetenv("NVFP4_GEMM_PREDECODE");
  };
  TempDir dir;
  setenv("NVFP4_GEMM_PREDECODE", "0", 1);
  auto plain = makeGPUCompiler(dir.path, true, "sm_90a");
  unsetenv("NVFP4_GEMM_PREDECODE");
  auto predecoded = makeGPUCompiler(dir.path, true, "sm_90a");
  setenv("NVFP4_GEMM_PREDECODE", "1", 1);
  auto forced = makeGPUCompiler(dir.path, true, "sm_90a");
  setenv("NVFP4_GEMM_PREDECODE", "yes", 1);
  auto bad = Compiler::create("sm_90a");
  restore();
  ASSERT_TRUE(plain && predecoded && forced);
  EXPECT_FALSE(plain->gpuRunner()->predecodedGemm());
  EXPECT_TRUE(predecoded->gpuRunner()->predecodedGemm());
  EXPECT_TRUE(forced->gpuRunner()->predecodedGemm());
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(errorOf(bad.takeError()),
            "NVFP4_GEMM_PREDECODE must be 0 or 1, got 'yes'");

  MatmulOptions options;
  auto compile = [&](Compiler &compiler) {
    auto a = compiler.parseRecipe("per_tensor_2d, sf_layout = 128x4");
    EXPECT_TRUE(bool(a));
    return compiler.compileMatmul(*a, *a, options);
  };
  auto first = compile(*plain);
  ASSERT_TRUE(bool(first)) << errorOf(first.takeError());
  auto second = compile(*predecoded);
  ASSERT_TRUE(bool(second)) << errorOf(second.takeError());
  EXPECT_NE(first->key, second->key);
  EXPECT_EQ(second->source, CacheSource::Compiled);
  EXPECT_NE(second->key.find("\npredecoded-gemm 1"), std::string::npos);
  EXPECT_NE(first->key.find("\npredecoded-gemm 0"), std::string::npos);
}

TEST(Compiler, DefaultCacheDirectoryFollowsTheEnvironment) {
  auto restore = [](const char *name, const char *old) {
    if (old)
      setenv(name, old, 1);
    else
      unsetenv(name);
  };
  std::string oldDir = getenv("NVFP4_CACHE_DIR") ? getenv("NVFP4_CACHE_DIR") : "";
  bool hadDir = getenv("NVFP4_CACHE_DIR");
  std::string oldXdg = getenv("XDG_CACHE_HOME") ? getenv("XDG_CACHE_HOME") : "";
  bool hadXdg = getenv("XDG_CACHE_HOME");
  unsetenv("NVFP4_DISABLE_DISK_CACHE");
  setenv("NVFP4_CACHE_DIR", "/tmp/a", 1);
  EXPECT_EQ(DiskCache::defaultDirectory(), std::string("/tmp/a"));
  setenv("NVFP4_CACHE_DIR", "off", 1);
  EXPECT_EQ(DiskCache::defaultDirectory(), std::nullopt);
  unsetenv("NVFP4_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/tmp/x", 1);
  EXPECT_EQ(DiskCache::defaultDirectory(), std::string("/tmp/x/nvfp4-mlir"));
  unsetenv("XDG_CACHE_HOME");
  if (getenv("HOME"))
    EXPECT_EQ(DiskCache::defaultDirectory(),
              std::string(getenv("HOME")) + "/.cache/nvfp4-mlir");
  setenv("NVFP4_DISABLE_DISK_CACHE", "1", 1);
  EXPECT_EQ(DiskCache::defaultDirectory(), std::nullopt);
  unsetenv("NVFP4_DISABLE_DISK_CACHE");
  restore("NVFP4_CACHE_DIR", hadDir ? oldDir.c_str() : nullptr);
  restore("XDG_CACHE_HOME", hadXdg ? oldXdg.c_str() : nullptr);
}

//===----------------------------------------------------------------------===//
// Error values
//===----------------------------------------------------------------------===//

TEST(CompilerErrors, UnknownTarget) {
  auto compiler = Compiler::create("sm_80");
  ASSERT_FALSE(bool(compiler));
  EXPECT_EQ(errorOf(compiler.takeError()),
            "unknown target 'sm_80' (expected cpu, sm_90a, sm_100a, sm_103a, "
            "sm_110a, sm_120a, sm_121a)");
}

TEST(CompilerErrors, UnknownFormat) {
  CompilerOptions options;
  options.format = "elf";
  auto compiler = Compiler::create("sm_90a", options);
  ASSERT_FALSE(bool(compiler));
  EXPECT_NE(errorOf(compiler.takeError()).find("unknown kernel format 'elf'"),
            std::string::npos);
}

TEST(CompilerErrors, BadRecipe) {
  TempDir dir;
  auto compiler = makeGPUCompiler(dir.path);
  ASSERT_TRUE(compiler);
  auto unknown = compiler->compile("per_channel", ElementType::F32);
  ASSERT_FALSE(bool(unknown));
  EXPECT_NE(errorOf(unknown.takeError()).find("unknown recipe preset 'per_channel'"),
            std::string::npos);
  auto incompatible =
      compiler->compile("outer = row, block = 16x16", ElementType::F32);
  ASSERT_FALSE(bool(incompatible));
  EXPECT_NE(errorOf(incompatible.takeError())
                .find("outer = row is incompatible with block = 16x16"),
            std::string::npos);
}

TEST(CompilerErrors, PtxasMissing) {
  TempDir dir;
  CompilerOptions options;
  options.cacheDirectory = dir.path;
  options.toolkit = "/nonexistent/cuda";
  auto compiler = Compiler::create("sm_100a", options);
  ASSERT_TRUE(bool(compiler)) << errorOf(compiler.takeError());
  auto compiled = (*compiler)->compile("per_tensor", ElementType::F32);
  ASSERT_FALSE(bool(compiled));
  std::string message = errorOf(compiled.takeError());
  EXPECT_NE(message.find("compiling for sm_100a failed"), std::string::npos)
      << message;
  // Nothing was cached for the failure.
  std::error_code ec;
  EXPECT_TRUE(llvm::sys::fs::directory_iterator(dir.path, ec) ==
              llvm::sys::fs::directory_iterator());
}

TEST(CompilerErrors, RecipeFromAnotherContext) {
  TempDir dir;
  auto a = makeGPUCompiler(dir.path);
  auto b = makeGPUCompiler(dir.path);
  ASSERT_TRUE(a && b);
  auto recipe = a->parseRecipe("per_tensor");
  ASSERT_TRUE(bool(recipe));
  auto compiled = b->compile(*recipe, ElementType::F32);
  ASSERT_FALSE(bool(compiled));
  EXPECT_EQ(errorOf(compiled.takeError()),
            "the recipe belongs to another compiler's context");
}

// Dequantize on the GPU compiles once nvfp4-to-gpu lowers nvfp4.dequantize;
// until then the compile step returns the pass's error. Either way it is a
// value, never a crash, and a failure is never cached.
TEST(Compiler, GPUDequantizeCompilesToACubin) {
  TempDir dir;
  auto compiler = makeGPUCompiler(dir.path);
  ASSERT_TRUE(compiler);
  auto compiled =
      compiler->compile("per_tensor", ElementType::F32, Operation::Dequantize);
  ASSERT_TRUE(bool(compiled)) << errorOf(compiled.takeError());
  EXPECT_TRUE(isElf(compiled->code->image));
  EXPECT_FALSE(compiled->code->kernels.empty());
}

// nvfp4.amax compiles for the GPU (its own cache entry, the quantize's amax
// kernels without an encode) and a given-amax quantize has no amax kernel.
TEST(Compiler, AmaxAndGivenAmaxCompile) {
  TempDir dir;
  auto compiler = makeGPUCompiler(dir.path, true, "sm_90a");
  ASSERT_TRUE(compiler);
  auto amax = compiler->compile("per_tensor", ElementType::BF16, Operation::Amax);
  ASSERT_TRUE(bool(amax)) << errorOf(amax.takeError());
  EXPECT_EQ(amax->op, Operation::Amax);
  EXPECT_TRUE(isElf(amax->code->image));
  ASSERT_EQ(amax->code->kernels.size(), 2u); // amax_init, amax
  for (const KernelInfo &k : amax->code->kernels)
    EXPECT_EQ(k.name.find("encode"), std::string::npos) << k.name;
  auto recipe = compiler->parseRecipe("per_tensor");
  ASSERT_TRUE(bool(recipe));
  EXPECT_NE(compiler->cacheKey(*recipe, ElementType::BF16, Operation::Amax),
            compiler->cacheKey(*recipe, ElementType::BF16,
                               Operation::Quantize));
  auto given = compiler->compile("per_tensor, amax = given", ElementType::BF16);
  ASSERT_TRUE(bool(given)) << errorOf(given.takeError());
  ASSERT_EQ(given->code->kernels.size(), 1u);
  EXPECT_EQ(given->code->kernels[0].name.find("amax"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Host (cpu target) API
//===----------------------------------------------------------------------===//

// The host amax and a given-amax quantize through the convenience API.
TEST(HostAPI, AmaxThenGivenQuantize) {
  std::vector<float> x(32 * 64);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = float(int(i * 37 % 101) - 50) / 7.0f;
  auto oneShot = nvfp4::quantize("per_token", ElementType::F32, x.data(), 32, 64);
  ASSERT_TRUE(bool(oneShot)) << errorOf(oneShot.takeError());
  auto amax = nvfp4::amax("per_token", ElementType::F32, x.data(), 32, 64);
  ASSERT_TRUE(bool(amax)) << errorOf(amax.takeError());
  EXPECT_EQ(amax->rowwise->amax, oneShot->rowwise->amax);
  auto split = nvfp4::quantize("per_token, amax = given", ElementType::F32,
                               x.data(), 32, 64, {amax->rowwise->amax, {}});
  ASSERT_TRUE(bool(split)) << errorOf(split.takeError());
  EXPECT_EQ(split->rowwise->data, oneShot->rowwise->data);
  EXPECT_EQ(split->rowwise->scale, oneShot->rowwise->scale);
}

TEST(HostAPI, QuantizeMatchesTheHostRunner) {
  std::vector<float> x(32 * 64);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = float(int(i * 37 % 101) - 50) / 7.0f;
  auto got = nvfp4::quantize("per_token, directions = [rowwise, columnwise]",
                             ElementType::F32, x.data(), 32, 64);
  ASSERT_TRUE(bool(got)) << errorOf(got.takeError());
  auto runner = HostRunner::create();
  ASSERT_TRUE(bool(runner));
  auto recipe = (*runner)->parseRecipe(
      "per_token, directions = [rowwise, columnwise]");
  ASSERT_TRUE(bool(recipe));
  auto want = (*runner)->quantize(*recipe, ElementType::F32, x.data(), 32, 64);
  ASSERT_TRUE(bool(want));
  ASSERT_TRUE(got->rowwise && got->columnwise);
  EXPECT_EQ(got->rowwise->data, want->rowwise->data);
  EXPECT_EQ(got->rowwise->scale, want->rowwise->scale);
  EXPECT_EQ(got->rowwise->amax, want->rowwise->amax);
  EXPECT_EQ(got->columnwise->data, want->columnwise->data);

  auto back = nvfp4::dequantize("per_token", *got->rowwise);
  ASSERT_TRUE(bool(back)) << errorOf(back.takeError());
  auto wantBack = (*runner)->dequantize(*recipe, *want->rowwise);
  ASSERT_TRUE(bool(wantBack));
  EXPECT_EQ(*back, *wantBack);
}

TEST(HostAPI, ErrorsAreValues) {
  std::vector<float> x(4 * 100);
  auto badShape =
      nvfp4::quantize("per_tensor", ElementType::F32, x.data(), 4, 100);
  ASSERT_FALSE(bool(badShape));
  EXPECT_EQ(errorOf(badShape.takeError()),
            "expected quantized dimension K to be a multiple of 16, got 100");
  auto badRecipe =
      nvfp4::quantize("per_channel", ElementType::F32, x.data(), 4, 32);
  ASSERT_FALSE(bool(badRecipe));
  EXPECT_NE(errorOf(badRecipe.takeError()).find("per_channel"),
            std::string::npos);
  auto nullInput = nvfp4::quantize("per_tensor", ElementType::F32, nullptr, 4,
                                   32);
  ASSERT_FALSE(bool(nullInput));
  EXPECT_EQ(errorOf(nullInput.takeError()), "null input");
  auto shapes = quantizeShapes("per_tensor", 0, 32);
  ASSERT_FALSE(bool(shapes));
  EXPECT_EQ(errorOf(shapes.takeError()),
            "expected a non-empty matrix, got 0x32");
  QuantizedOutput bad;
  bad.rows = 2;
  bad.cols = 32;
  auto deq = nvfp4::dequantize("per_tensor", bad);
  ASSERT_FALSE(bool(deq));
  EXPECT_NE(errorOf(deq.takeError()).find("do not match"), std::string::npos);
}

TEST(HostAPI, QuantizeShapes) {
  auto shapes = quantizeShapes("local_1x64, sf_layout = 128x4", 3, 160);
  ASSERT_TRUE(bool(shapes)) << errorOf(shapes.takeError());
  ASSERT_TRUE(shapes->rowwise);
  EXPECT_FALSE(shapes->columnwise);
  EXPECT_TRUE(shapes->rowwise->data.empty());
  EXPECT_EQ(shapes->rowwise->scaleShape, (llvm::SmallVector<int64_t, 2>{128, 12}));
  EXPECT_EQ(shapes->rowwise->amaxShape, (llvm::SmallVector<int64_t, 2>{3, 3}));
  // Shapes known only at run time meet the verifier's buffer bound: sizes
  // whose byte counts would overflow are errors, not wrapped shapes.
  for (auto [rows, cols] : {std::make_pair(int64_t(1) << 40, int64_t(1) << 40),
                            std::make_pair(int64_t(1) << 62, int64_t(64)),
                            std::make_pair(int64_t(4), int64_t(1) << 62)}) {
    auto huge = quantizeShapes("per_token, sf_layout = 128x4", rows, cols);
    ASSERT_FALSE(bool(huge)) << rows << "x" << cols;
    EXPECT_EQ(errorOf(huge.takeError()),
              "expected a matrix of at most 2^60 elements, got " +
                  std::to_string(rows) + "x" + std::to_string(cols));
  }
}

TEST(HostAPI, ConcurrentCallsAgree) {
  std::vector<float> x(16 * 32);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = float(i % 13) - 6.0f;
  auto want = nvfp4::quantize("per_tensor", ElementType::F32, x.data(), 16, 32);
  ASSERT_TRUE(bool(want));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto got =
            nvfp4::quantize("per_tensor", ElementType::F32, x.data(), 16, 32);
        if (!got) {
          llvm::consumeError(got.takeError());
          ++mismatches;
        } else if (got->rowwise->data != want->rowwise->data) {
          ++mismatches;
        }
      }
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

} // namespace
