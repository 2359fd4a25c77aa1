//===- DiskCache.cpp - Compiled kernels cached across processes -----------===//
//
// Entry layout (little endian):
//   header:  magic "NVFP4KC\0" | u32 format version | u64 payload length |
//            u64 xxh3 checksum of the payload
//   payload: u32 key length, key | u32 kernel count, per kernel
//            (u32 length, name | u32 length, work | u8 columnwise |
//             i64 threads, tileM, tileN, maxM, sharedBytes) |
//            u64 image length, image
// The full key is stored so a hash collision of file names reads as a miss.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Runtime/DiskCache.h"
#include "Errors.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/xxhash.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace llvm;

namespace nvfp4 {
namespace {
using ::nvfp4::detail::makeError;

constexpr char kMagic[8] = {'N', 'V', 'F', 'P', '4', 'K', 'C', '\0'};
/// Bumped whenever the entry layout changes.
constexpr uint32_t kFormatVersion = 2;
constexpr size_t kHeaderSize = 8 + 4 + 8 + 8;

class Writer {
public:
  void u8(uint8_t v) { out.push_back(char(v)); }
  void u32(uint32_t v) {
    char b[4];
    support::endian::write32le(b, v);
    out.append(b, 4);
  }
  void u64(uint64_t v) {
    char b[8];
    support::endian::write64le(b, v);
    out.append(b, 8);
  }
  void str(StringRef s) {
    u32(uint32_t(s.size()));
    out.append(s.begin(), s.end());
  }
  std::string out;
};

/// Reads fields, failing (not crashing) past the end of the bytes.
class Reader {
public:
  explicit Reader(StringRef bytes) : bytes(bytes) {}
  bool u8(uint8_t &v) {
    if (!need(1))
      return false;
    v = uint8_t(bytes[pos++]);
    return true;
  }
  bool u32(uint32_t &v) {
    if (!need(4))
      return false;
    v = support::endian::read32le(bytes.data() + pos);
    pos += 4;
    return true;
  }
  bool u64(uint64_t &v) {
    if (!need(8))
      return false;
    v = support::endian::read64le(bytes.data() + pos);
    pos += 8;
    return true;
  }
  bool str(std::string &s) {
    uint32_t n;
    if (!u32(n) || !need(n))
      return false;
    s = bytes.substr(pos, n).str();
    pos += n;
    return true;
  }
  bool raw(uint64_t n, std::vector<char> &v) {
    if (!need(n))
      return false;
    v.assign(bytes.begin() + pos, bytes.begin() + pos + n);
    pos += n;
    return true;
  }
  bool atEnd() const { return pos == bytes.size(); }

private:
  bool need(uint64_t n) const { return n <= bytes.size() - pos; }
  StringRef bytes;
  size_t pos = 0;
};
} // namespace

std::optional<std::string> DiskCache::defaultDirectory() {
  auto env = [](const char *name) -> std::optional<std::string> {
    if (const char *v = std::getenv(name))
      return std::string(v);
    return std::nullopt;
  };
  if (auto off = env("NVFP4_DISABLE_DISK_CACHE"); off && *off != "" && *off != "0")
    return std::nullopt;
  if (auto dir = env("NVFP4_CACHE_DIR")) {
    if (dir->empty() || *dir == "off")
      return std::nullopt;
    return *dir;
  }
  SmallString<256> path;
  if (auto xdg = env("XDG_CACHE_HOME"); xdg && !xdg->empty()) {
    path = *xdg;
  } else if (auto home = env("HOME"); home && !home->empty()) {
    path = *home;
    sys::path::append(path, ".cache");
  } else {
    return std::nullopt;
  }
  sys::path::append(path, "nvfp4-mlir");
  return std::string(path);
}

std::string DiskCache::pathFor(StringRef key) const {
  std::array<uint8_t, 32> digest = SHA256::hash(arrayRefFromStringRef(key));
  SmallString<256> path(dir);
  sys::path::append(path, toHex(ArrayRef<uint8_t>(digest).take_front(16),
                                /*LowerCase=*/true) +
                              ".nvfp4k");
  return std::string(path);
}

std::string DiskCache::serialize(StringRef key, const CompiledQuantize &value) {
  Writer payload;
  payload.str(key);
  payload.u32(uint32_t(value.kernels.size()));
  for (const KernelInfo &k : value.kernels) {
    payload.str(k.name);
    payload.str(k.work);
    payload.u8(k.columnwise);
    for (int64_t v : {k.threads, k.tileM, k.tileN, k.maxM, k.sharedBytes})
      payload.u64(uint64_t(v));
  }
  payload.u64(value.image.size());
  payload.out.append(value.image.begin(), value.image.end());

  Writer entry;
  entry.out.append(kMagic, sizeof(kMagic));
  entry.u32(kFormatVersion);
  entry.u64(payload.out.size());
  entry.u64(xxh3_64bits(payload.out));
  entry.out += payload.out;
  return std::move(entry.out);
}

std::optional<CompiledQuantize> DiskCache::deserialize(StringRef key,
                                                       StringRef bytes) {
  if (bytes.size() < kHeaderSize ||
      bytes.substr(0, sizeof(kMagic)) != StringRef(kMagic, sizeof(kMagic)))
    return std::nullopt;
  Reader header(bytes.substr(sizeof(kMagic), kHeaderSize - sizeof(kMagic)));
  uint32_t version;
  uint64_t length, checksum;
  if (!header.u32(version) || !header.u64(length) || !header.u64(checksum) ||
      version != kFormatVersion || length != bytes.size() - kHeaderSize)
    return std::nullopt;
  StringRef payload = bytes.substr(kHeaderSize);
  if (xxh3_64bits(payload) != checksum)
    return std::nullopt;
  Reader r(payload);
  std::string storedKey;
  uint32_t count;
  if (!r.str(storedKey) || storedKey != key || !r.u32(count))
    return std::nullopt;
  CompiledQuantize value;
  for (uint32_t i = 0; i < count; ++i) {
    KernelInfo k;
    uint8_t columnwise;
    if (!r.str(k.name) || !r.str(k.work) || !r.u8(columnwise))
      return std::nullopt;
    k.columnwise = columnwise;
    for (int64_t *v : {&k.threads, &k.tileM, &k.tileN, &k.maxM, &k.sharedBytes}) {
      uint64_t word;
      if (!r.u64(word))
        return std::nullopt;
      *v = int64_t(word);
    }
    value.kernels.push_back(std::move(k));
  }
  uint64_t imageSize;
  if (!r.u64(imageSize) || !r.raw(imageSize, value.image) || !r.atEnd() ||
      value.image.empty())
    return std::nullopt;
  return value;
}

std::optional<CompiledQuantize> DiskCache::load(StringRef key) const {
  std::string path = pathFor(key);
  auto buffer = MemoryBuffer::getFile(path, /*IsText=*/false,
                                      /*RequiresNullTerminator=*/false);
  if (!buffer)
    return std::nullopt;
  std::optional<CompiledQuantize> value =
      deserialize(key, (*buffer)->getBuffer());
  // A damaged entry is never trusted; removing it lets the recompiled one
  // take its place (a concurrent writer's rename wins either way).
  if (!value)
    sys::fs::remove(path);
  return value;
}

Error DiskCache::store(StringRef key, const CompiledQuantize &value) const {
  if (std::error_code ec = sys::fs::create_directories(dir))
    return makeError("cannot create the kernel cache directory " + dir + ": " +
                     ec.message());
  std::string path = pathFor(key);
  SmallString<256> temp;
  int fd;
  if (std::error_code ec =
          sys::fs::createUniqueFile(path + ".%%%%%%%%.tmp", fd, temp))
    return makeError("cannot create a file in the kernel cache directory " +
                     dir + ": " + ec.message());
  {
    raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << serialize(key, value);
    os.close();
    if (os.has_error()) {
      std::string message = os.error().message();
      os.clear_error();
      sys::fs::remove(temp);
      return makeError("cannot write kernel cache entry " + Twine(temp) +
                       ": " + message);
    }
  }
  // rename(2) replaces the target atomically: readers see the old entry or
  // the new one, never a mix.
  if (std::error_code ec = sys::fs::rename(temp, path)) {
    sys::fs::remove(temp);
    return makeError("cannot rename kernel cache entry to " + path + ": " +
                     ec.message());
  }
  return Error::success();
}

} // namespace nvfp4
