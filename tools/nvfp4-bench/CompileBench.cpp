//===- CompileBench.cpp - Compile latency of the runtime's Compiler -------===//
//
// For each recipe: the first compile in the process (pays one-time LLVM and
// NVPTX initialisation), then the median of cold compiles by fresh
// Compilers with the disk cache off, of in-memory hits, and of disk hits by
// fresh Compilers reading a populated cache directory. Prints a Markdown
// table. Runs without a GPU.
//
//===----------------------------------------------------------------------===//

#include "CompileBench.h"

#include "nvfp4/Runtime/Compiler.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <vector>

using namespace llvm;

namespace nvfp4 {
namespace {
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Times one compile of `recipe` by `compiler`, checking where it came from.
Expected<double> timeCompile(Compiler &compiler, StringRef recipe,
                             CacheSource expected) {
  auto start = Clock::now();
  auto compiled = compiler.compile(recipe, ElementType::BF16);
  double ms = msSince(start);
  if (!compiled)
    return compiled.takeError();
  if (compiled->source != expected)
    return createStringError(inconvertibleErrorCode(),
                             "unexpected cache source for '" + recipe + "'");
  return ms;
}
} // namespace

Error runCompileSuite(StringRef target, ArrayRef<std::string> recipes,
                      unsigned iters) {
  SmallString<128> dir;
  if (std::error_code ec =
          sys::fs::createUniqueDirectory("nvfp4-compile-bench", dir))
    return createStringError(ec, "cannot create a cache directory");
  scope_exit cleanup([&] { sys::fs::remove_directories(dir); });
  CompilerOptions noDisk;
  noDisk.diskCache = false;
  CompilerOptions disk;
  disk.cacheDirectory = std::string(dir);
  iters = std::max(iters, 1u);

  outs() << "compile latency for " << target << " (" << Compiler::version()
         << "), bf16 input, median of " << iters << " runs\n\n"
         << "| recipe | kernels | first compile in process (ms) | cold "
            "compile (ms) | memory hit (us) | disk hit (ms) | new Compiler "
            "(ms) |\n|---|---|---|---|---|---|---|\n";
  for (const std::string &recipe : recipes) {
    // First compile in this process for this recipe.
    auto compiler = Compiler::create(target, noDisk);
    if (!compiler)
      return compiler.takeError();
    auto first = timeCompile(**compiler, recipe, CacheSource::Compiled);
    if (!first)
      return first.takeError();
    auto compiled = (*compiler)->compile(recipe, ElementType::BF16);
    if (!compiled)
      return compiled.takeError();
    size_t kernels = compiled->code->kernels.size();

    std::vector<double> cold, memory, diskHit, create;
    for (unsigned i = 0; i < iters; ++i) {
      auto start = Clock::now();
      auto fresh = Compiler::create(target, noDisk);
      if (!fresh)
        return fresh.takeError();
      create.push_back(msSince(start));
      auto ms = timeCompile(**fresh, recipe, CacheSource::Compiled);
      if (!ms)
        return ms.takeError();
      cold.push_back(*ms);
    }
    for (unsigned i = 0; i < std::max(iters, 100u); ++i) {
      auto ms = timeCompile(**compiler, recipe, CacheSource::Memory);
      if (!ms)
        return ms.takeError();
      memory.push_back(*ms);
    }
    // Populate the disk cache once, then read it with fresh compilers.
    {
      auto writer = Compiler::create(target, disk);
      if (!writer)
        return writer.takeError();
      if (auto c = (*writer)->compile(recipe, ElementType::BF16); !c)
        return c.takeError();
    }
    for (unsigned i = 0; i < iters; ++i) {
      auto reader = Compiler::create(target, disk);
      if (!reader)
        return reader.takeError();
      auto ms = timeCompile(**reader, recipe, CacheSource::Disk);
      if (!ms)
        return ms.takeError();
      diskHit.push_back(*ms);
    }
    outs() << "| " << recipe << " | " << kernels << " | "
           << format("%.1f", *first) << " | " << format("%.1f", median(cold))
           << " | " << format("%.1f", median(memory) * 1000) << " | "
           << format("%.2f", median(diskHit)) << " | "
           << format("%.2f", median(create)) << " |\n";
  }
  return Error::success();
}

} // namespace nvfp4
