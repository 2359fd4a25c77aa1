//===- DiskCacheTest.cpp - Entry format, trust checks, concurrent writers -===//

#include "TempDir.h"

#include "nvfp4/Runtime/DiskCache.h"

#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/xxhash.h"

#include "gtest/gtest.h"

#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace nvfp4;
using nvfp4::testing::TempDir;

namespace {

CompiledQuantize sample(size_t imageBytes, char fill) {
  CompiledQuantize value;
  value.image.assign(imageBytes, fill);
  value.kernels.push_back({"kernel_amax", mlir::nvfp4::KernelWork::One, false});
  value.kernels.push_back({"kernel_encode_t", mlir::nvfp4::KernelWork::TileBlocks, true});
  // A GEMM kernel that takes tensor maps and copies two operands in bulk.
  KernelInfo gemm;
  gemm.name = "kernel_gemm_tcgen05";
  gemm.work = mlir::nvfp4::KernelWork::Gemm;
  gemm.tensorMaps = {{0, {32, 128}, 32}, {3, {32, 64}, 0}};
  gemm.bulkCopyOperands = {1, 4};
  value.kernels.push_back(gemm);
  // A predecoded GEMM: a decode kernel and the kernel reading its workspace.
  KernelInfo decode;
  decode.name = "kernel_gemm_decode_b";
  decode.work = mlir::nvfp4::KernelWork::GemmDecode;
  decode.gemmOperand = 1;
  value.kernels.push_back(decode);
  KernelInfo workspace;
  workspace.name = "kernel_gemm_workspace";
  workspace.work = mlir::nvfp4::KernelWork::Gemm;
  workspace.gemmWorkspace = true;
  value.kernels.push_back(workspace);
  return value;
}

DiskCache::Secret secretOf(uint8_t fill) {
  DiskCache::Secret secret;
  secret.fill(fill);
  return secret;
}

/// The cache in `dir`, which must be usable.
DiskCache openCache(const std::string &dir) {
  auto cache = DiskCache::open(dir);
  EXPECT_TRUE(bool(cache)) << llvm::toString(cache.takeError());
  if (!cache)
    std::abort();
  return std::move(*cache);
}

/// Why `dir` cannot be opened as a cache (empty if it can).
std::string openError(const std::string &dir) {
  auto cache = DiskCache::open(dir);
  return cache ? std::string() : llvm::toString(cache.takeError());
}

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t modeOf(const std::string &path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

void expectEqual(const CompiledQuantize &a, const CompiledQuantize &b) {
  EXPECT_EQ(a.image, b.image);
  ASSERT_EQ(a.kernels.size(), b.kernels.size());
  for (size_t i = 0; i < a.kernels.size(); ++i) {
    EXPECT_EQ(a.kernels[i].name, b.kernels[i].name);
    EXPECT_EQ(a.kernels[i].work, b.kernels[i].work);
    EXPECT_EQ(a.kernels[i].columnwise, b.kernels[i].columnwise);
    ASSERT_EQ(a.kernels[i].tensorMaps.size(), b.kernels[i].tensorMaps.size());
    for (size_t j = 0; j < a.kernels[i].tensorMaps.size(); ++j) {
      const KernelTensorMap &x = a.kernels[i].tensorMaps[j];
      const KernelTensorMap &y = b.kernels[i].tensorMaps[j];
      EXPECT_EQ(x.operand, y.operand);
      EXPECT_EQ(x.box[0], y.box[0]);
      EXPECT_EQ(x.box[1], y.box[1]);
      EXPECT_EQ(x.swizzle, y.swizzle);
    }
    EXPECT_EQ(a.kernels[i].bulkCopyOperands, b.kernels[i].bulkCopyOperands);
    EXPECT_EQ(a.kernels[i].gemmWorkspace, b.kernels[i].gemmWorkspace);
    EXPECT_EQ(a.kernels[i].gemmOperand, b.kernels[i].gemmOperand);
  }
}

TEST(DiskCache, SerializeRoundTrip) {
  CompiledQuantize value = sample(1000, 'x');
  DiskCache::Secret secret = secretOf(7);
  std::string bytes = DiskCache::serialize("key", value, secret);
  auto back = DiskCache::deserialize("key", bytes, secret);
  ASSERT_TRUE(back);
  expectEqual(*back, value);
  // Another key (a file-name hash collision) is a miss.
  EXPECT_FALSE(DiskCache::deserialize("other key", bytes, secret));
  // Every truncation is detected.
  for (size_t n = 0; n < bytes.size(); n += 7)
    EXPECT_FALSE(DiskCache::deserialize("key", bytes.substr(0, n), secret))
        << n;
  // Every single-byte change is detected.
  for (size_t i = 0; i < bytes.size(); i += 5) {
    std::string damaged = bytes;
    damaged[i] ^= 1;
    EXPECT_FALSE(DiskCache::deserialize("key", damaged, secret)) << i;
  }
  // So is the same entry under another secret.
  EXPECT_FALSE(DiskCache::deserialize("key", bytes, secretOf(8)));
}

/// The attack of issue 17: whoever could write an entry could recompute its
/// checksum. Without the secret, no well-formed entry is accepted: not one
/// in the previous (checksummed) format, nor one MACed under another key.
TEST(DiskCache, ForgedEntriesAreRejectedAndDeleted) {
  TempDir dir;
  DiskCache cache = openCache(dir.path + "/cache");
  ASSERT_FALSE(bool(cache.store("k", sample(64, 'a'))));
  std::string path = cache.pathFor("k");

  // Format 2: header (magic, version, length, xxh3 of the payload) and the
  // payload, as an attacker who read the source would write it.
  auto format2 = [](llvm::StringRef key, const CompiledQuantize &value) {
    std::string payload;
    auto u32 = [](std::string &out, uint32_t v) {
      char b[4];
      llvm::support::endian::write32le(b, v);
      out.append(b, 4);
    };
    auto u64 = [](std::string &out, uint64_t v) {
      char b[8];
      llvm::support::endian::write64le(b, v);
      out.append(b, 8);
    };
    auto str = [&](llvm::StringRef s) {
      u32(payload, uint32_t(s.size()));
      payload += s.str();
    };
    str(key);
    u32(payload, uint32_t(value.kernels.size()));
    for (const KernelInfo &k : value.kernels) {
      str(k.name);
      str(mlir::nvfp4::stringifyKernelWork(k.work));
      payload.push_back(char(k.columnwise));
      for (int64_t v : {k.threads, k.tileM, k.tileN, k.maxM, k.sharedBytes})
        u64(payload, uint64_t(v));
    }
    u64(payload, value.image.size());
    payload.append(value.image.begin(), value.image.end());
    std::string entry("NVFP4KC\0", 8);
    u32(entry, 2);
    u64(entry, payload.size());
    u64(entry, llvm::xxh3_64bits(payload));
    return entry + payload;
  };

  CompiledQuantize altered = sample(64, 'a');
  altered.image[10] = 'z';
  CompiledQuantize fakeKernels = sample(64, 'a');
  fakeKernels.kernels[0].name = "attacker_kernel";
  CompiledQuantize pattern;
  pattern.image.assign(64, char(0xAA));
  pattern.kernels.push_back({"kernel_amax", mlir::nvfp4::KernelWork::One, false});
  // Every forgery an attacker can compute: the old format with its
  // checksum recomputed, and the current one under a guessed secret (here:
  // the attacker's own cache's).
  std::vector<std::string> forgeries;
  for (const CompiledQuantize *v : {&altered, &fakeKernels, &pattern}) {
    forgeries.push_back(format2("k", *v));
    forgeries.push_back(DiskCache::serialize("k", *v, secretOf(0)));
    forgeries.push_back(DiskCache::serialize("k", *v, secretOf(0xAA)));
  }
  // Another key's genuine entry (another recipe's kernels) under this name.
  ASSERT_FALSE(bool(cache.store("other", sample(64, 'o'))));
  forgeries.push_back(readFile(cache.pathFor("other")));
  for (size_t i = 0; i < forgeries.size(); ++i) {
    writeFile(path, forgeries[i]);
    EXPECT_FALSE(cache.load("k")) << "forgery " << i;
    EXPECT_FALSE(llvm::sys::fs::exists(path)) << "forgery " << i;
  }
  // The genuine entry still loads.
  ASSERT_FALSE(bool(cache.store("k", sample(64, 'a'))));
  EXPECT_TRUE(cache.load("k"));
}

TEST(DiskCache, MissAndStoreAndLoad) {
  TempDir dir;
  DiskCache cache = openCache(dir.path + "/nested/dir");
  EXPECT_FALSE(cache.load("k"));
  ASSERT_FALSE(bool(cache.store("k", sample(64, 'a'))));
  auto back = cache.load("k");
  ASSERT_TRUE(back);
  expectEqual(*back, sample(64, 'a'));
}

TEST(DiskCache, UnwritableDirectoryIsAnError) {
  EXPECT_NE(openError("/proc/nvfp4-cache-cannot-exist")
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
    if (it->path() == cache.secretPath())
      continue;
    ++files;
    EXPECT_EQ(it->path(), cache.pathFor(key));
  }
  EXPECT_EQ(files, 1);
}

TEST(DiskCache, ConcurrentThreadsLeaveAValidEntry) {
  TempDir dir;
  DiskCache cache = openCache(dir.path);
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
  DiskCache cache = openCache(dir.path);
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

/// Runs `cache.load(key)` in a child process with a 20 s alarm: exit code 0
/// for a miss, 1 for a hit; a crash or hang shows as a signal.
int loadInChild(const DiskCache &cache, const std::string &key) {
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20);
    _exit(cache.load(key) ? 1 : 0);
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

/// A symbolic link is never followed, even to a genuine entry.
TEST(DiskCache, SymlinkedEntryIsAMiss) {
  TempDir dir;
  DiskCache cache = openCache(dir.path + "/cache");
  ASSERT_FALSE(bool(cache.store("k", sample(64, 'a'))));
  std::string outside = dir.path + "/outside";
  ASSERT_FALSE(llvm::sys::fs::rename(cache.pathFor("k"), outside));
  ASSERT_EQ(::symlink(outside.c_str(), cache.pathFor("k").c_str()), 0);
  EXPECT_FALSE(cache.load("k"));
  // The link is removed; what it pointed at is not touched.
  EXPECT_FALSE(llvm::sys::fs::exists(cache.pathFor("k")));
  EXPECT_TRUE(llvm::sys::fs::exists(outside));
}

/// Opening a FIFO would wait for a writer forever.
TEST(DiskCache, FifoEntryIsAMissAndDoesNotHang) {
  TempDir dir;
  DiskCache cache = openCache(dir.path + "/cache");
  ASSERT_EQ(::mkfifo(cache.pathFor("k").c_str(), 0600), 0);
  EXPECT_EQ(loadInChild(cache, "k"), 0);
  EXPECT_FALSE(cache.load("k"));
  EXPECT_FALSE(llvm::sys::fs::exists(cache.pathFor("k")));
}

/// Reading /dev/zero never ends (or exhausts memory).
TEST(DiskCache, DevZeroEntryIsAMissAndDoesNotCrash) {
  TempDir dir;
  DiskCache cache = openCache(dir.path + "/cache");
  ASSERT_EQ(::symlink("/dev/zero", cache.pathFor("k").c_str()), 0);
  EXPECT_EQ(loadInChild(cache, "k"), 0);
  std::string hard = cache.pathFor("k2");
  // A hard link to a device node, where the file systems allow one.
  if (::link("/dev/zero", hard.c_str()) == 0)
    EXPECT_EQ(loadInChild(cache, "k2"), 0);
}

/// An entry over kMaxEntryBytes is removed without being read: this one is
/// a 16 GiB sparse file behind a header that claims the whole length.
TEST(DiskCache, OversizedEntryIsNotRead) {
  TempDir dir;
  DiskCache cache = openCache(dir.path + "/cache");
  std::string path = cache.pathFor("k");
  std::string header = DiskCache::serialize("k", sample(8, 'a'), secretOf(1))
                           .substr(0, 60);
  writeFile(path, header);
  uint64_t size = uint64_t(16) << 30;
  ASSERT_GT(size, DiskCache::kMaxEntryBytes);
  if (::truncate(path.c_str(), off_t(size)) != 0)
    GTEST_SKIP() << "this file system has no 16 GiB sparse files";
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(cache.load("k"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE(llvm::sys::fs::exists(path));
}

TEST(DiskCache, WritableByOthersDirectoryIsRefused) {
  TempDir dir;
  std::string cacheDir = dir.path + "/cache";
  ASSERT_EQ(::mkdir(cacheDir.c_str(), 0700), 0);
  for (mode_t mode : {0777, 01777, 0770, 0720, 0702}) {
    ASSERT_EQ(::chmod(cacheDir.c_str(), mode), 0);
    EXPECT_NE(openError(cacheDir).find("is writable by group or others"),
              std::string::npos)
        << std::oct << mode;
  }
  // Readable by others is fine: entries are 0600 and carry nothing secret.
  ASSERT_EQ(::chmod(cacheDir.c_str(), 0755), 0);
  EXPECT_EQ(openError(cacheDir), "");
}

TEST(DiskCache, DirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) {
    // "/" belongs to root.
    EXPECT_NE(openError("/").find("is owned by uid 0"), std::string::npos);
    return;
  }
  TempDir dir;
  std::string cacheDir = dir.path + "/cache";
  ASSERT_EQ(::mkdir(cacheDir.c_str(), 0700), 0);
  ASSERT_EQ(::chown(cacheDir.c_str(), 65534, 65534), 0);
  EXPECT_NE(openError(cacheDir).find("is owned by uid 65534"),
            std::string::npos);
}

TEST(DiskCache, NotADirectoryIsRefused) {
  TempDir dir;
  std::string file = dir.path + "/file";
  writeFile(file, "x");
  EXPECT_NE(openError(file).find("cannot open the kernel cache directory"),
            std::string::npos);
}

/// Modes are exact whatever the umask: directory 0700, secret and entries
/// 0600.
TEST(DiskCache, CreatedFilesArePrivate) {
  TempDir dir;
  mode_t old = ::umask(0);
  std::string cacheDir = dir.path + "/new/cache";
  DiskCache cache = openCache(cacheDir);
  llvm::Error stored = cache.store("k", sample(64, 'a'));
  ::umask(old);
  ASSERT_FALSE(bool(stored));
  EXPECT_EQ(modeOf(cacheDir), 0700u);
  EXPECT_EQ(modeOf(dir.path + "/new"), 0700u);
  EXPECT_EQ(modeOf(cache.secretPath()), 0600u);
  EXPECT_EQ(modeOf(cache.pathFor("k")), 0600u);
}

TEST(DiskCache, SecretMustBeAPrivateRegularFile) {
  TempDir dir;
  std::string cacheDir = dir.path + "/cache";
  DiskCache cache = openCache(cacheDir);
  std::string secret = cache.secretPath();
  ASSERT_FALSE(bool(cache.store("k", sample(64, 'a'))));
  // Reopening reads the same secret: the entry still loads.
  EXPECT_TRUE(openCache(cacheDir).load("k"));

  ASSERT_EQ(::chmod(secret.c_str(), 0644), 0);
  EXPECT_NE(openError(cacheDir).find("must be a regular 0600 file"),
            std::string::npos);
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  EXPECT_EQ(openError(cacheDir), "");

  std::string saved = readFile(secret);
  std::string outside = dir.path + "/secret";
  writeFile(outside, saved);
  ASSERT_EQ(::chmod(outside.c_str(), 0600), 0);
  ASSERT_EQ(::unlink(secret.c_str()), 0);
  ASSERT_EQ(::symlink(outside.c_str(), secret.c_str()), 0);
  EXPECT_NE(openError(cacheDir).find("cannot open the kernel cache secret"),
            std::string::npos);

  ASSERT_EQ(::unlink(secret.c_str()), 0);
  ASSERT_EQ(::mkfifo(secret.c_str(), 0600), 0);
  EXPECT_NE(openError(cacheDir).find("must be a regular 0600 file"),
            std::string::npos);

  ASSERT_EQ(::unlink(secret.c_str()), 0);
  writeFile(secret, saved + "x");
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  EXPECT_NE(openError(cacheDir).find("must be a regular 0600 file"),
            std::string::npos);

  if (::geteuid() == 0) {
    writeFile(secret, saved);
    ASSERT_EQ(::chown(secret.c_str(), 65534, 65534), 0);
    EXPECT_NE(openError(cacheDir).find("uid 65534"), std::string::npos);
  }

  // A new secret makes every old entry a forgery.
  ASSERT_EQ(::unlink(secret.c_str()), 0);
  DiskCache fresh = openCache(cacheDir);
  EXPECT_FALSE(fresh.load("k"));
}

/// Concurrent first users agree on one secret.
TEST(DiskCache, ConcurrentOpenersShareOneSecret) {
  TempDir dir;
  std::string cacheDir = dir.path + "/cache";
  std::vector<std::optional<DiskCache>> caches(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < caches.size(); ++t)
    threads.emplace_back([&, t] {
      if (auto cache = DiskCache::open(cacheDir))
        caches[t].emplace(std::move(*cache));
      else
        llvm::consumeError(cache.takeError());
    });
  for (std::thread &t : threads)
    t.join();
  for (auto &cache : caches)
    ASSERT_TRUE(cache);
  ASSERT_FALSE(bool(caches[0]->store("k", sample(64, 'a'))));
  for (auto &cache : caches)
    EXPECT_TRUE(cache->load("k"));
}

} // namespace
