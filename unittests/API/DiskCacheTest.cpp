//===- DiskCacheTest.cpp - Entry format and concurrent writers ------------===//

#include "TempDir.h"

#include "nvfp4/Runtime/DiskCache.h"

#include "llvm/Support/FileSystem.h"

#include "gtest/gtest.h"

#include <atomic>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace nvfp4;
using nvfp4::testing::TempDir;

namespace {

CompiledQuantize sample(size_t imageBytes, char fill) {
  CompiledQuantize value;
  value.image.assign(imageBytes, fill);
  value.kernels.push_back({"kernel_amax", "one", false});
  value.kernels.push_back({"kernel_encode_t", "tile_blocks", true});
  return value;
}

void expectEqual(const CompiledQuantize &a, const CompiledQuantize &b) {
  EXPECT_EQ(a.image, b.image);
  ASSERT_EQ(a.kernels.size(), b.kernels.size());
  for (size_t i = 0; i < a.kernels.size(); ++i) {
    EXPECT_EQ(a.kernels[i].name, b.kernels[i].name);
    EXPECT_EQ(a.kernels[i].work, b.kernels[i].work);
    EXPECT_EQ(a.kernels[i].columnwise, b.kernels[i].columnwise);
  }
}

TEST(DiskCache, SerializeRoundTrip) {
  CompiledQuantize value = sample(1000, 'x');
  std::string bytes = DiskCache::serialize("key", value);
  auto back = DiskCache::deserialize("key", bytes);
  ASSERT_TRUE(back);
  expectEqual(*back, value);
  // Another key (a file-name hash collision) is a miss.
  EXPECT_FALSE(DiskCache::deserialize("other key", bytes));
  // Every truncation is detected.
  for (size_t n = 0; n < bytes.size(); n += 7)
    EXPECT_FALSE(DiskCache::deserialize("key", bytes.substr(0, n))) << n;
  // Every single-byte change is detected.
  for (size_t i = 0; i < bytes.size(); i += 5) {
    std::string damaged = bytes;
    damaged[i] ^= 1;
    EXPECT_FALSE(DiskCache::deserialize("key", damaged)) << i;
  }
}

TEST(DiskCache, MissAndStoreAndLoad) {
  TempDir dir;
  DiskCache cache(dir.path + "/nested/dir");
  EXPECT_FALSE(cache.load("k"));
  ASSERT_FALSE(bool(cache.store("k", sample(64, 'a'))));
  auto back = cache.load("k");
  ASSERT_TRUE(back);
  expectEqual(*back, sample(64, 'a'));
}

TEST(DiskCache, UnwritableDirectoryIsAnError) {
  DiskCache cache("/proc/nvfp4-cache-cannot-exist");
  llvm::Error e = cache.store("k", sample(8, 'a'));
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e))
                .find("cannot create the kernel cache directory"),
            std::string::npos);
}

/// No entry may be left half written and no temporary file behind.
void expectCleanDirectory(const std::string &dir, const DiskCache &cache,
                          const std::string &key) {
  std::error_code ec;
  int files = 0;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    ++files;
    EXPECT_EQ(it->path(), cache.pathFor(key));
  }
  EXPECT_EQ(files, 1);
}

TEST(DiskCache, ConcurrentThreadsLeaveAValidEntry) {
  TempDir dir;
  DiskCache cache(dir.path);
  // Writers store different (valid) values; readers must only ever see a
  // whole one of them.
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        if (t % 2 == 0) {
          if (llvm::Error e = cache.store("k", sample(20000 + t, char('a' + t))))
            llvm::consumeError(std::move(e)), ++bad;
        } else if (auto v = cache.load("k")) {
          char c = v->image[0];
          if (v->image.size() != size_t(20000 + (c - 'a')))
            ++bad;
        }
      }
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_TRUE(cache.load("k"));
  expectCleanDirectory(dir.path, cache, "k");
}

TEST(DiskCache, ConcurrentProcessesLeaveAValidEntry) {
  TempDir dir;
  DiskCache cache(dir.path);
  std::vector<pid_t> children;
  for (int p = 0; p < 4; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int failures = 0;
      for (int i = 0; i < 50; ++i) {
        if (llvm::Error e = cache.store("k", sample(50000, char('a' + p)))) {
          llvm::consumeError(std::move(e));
          ++failures;
        }
        if (auto v = cache.load("k"); !v || v->image.size() != 50000)
          ++failures;
      }
      _exit(failures ? 1 : 0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto v = cache.load("k");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->image.size(), 50000u);
  expectCleanDirectory(dir.path, cache, "k");
}

} // namespace
