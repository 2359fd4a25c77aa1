//===- DiskCache.cpp - Compiled kernels cached across processes -----------===//
//
// Entry layout (little endian):
//   header:  magic "NVFP4KC\0" | u32 format version | u64 payload length |
//            32-byte HMAC-SHA256, under the directory's secret, of the
//            first 20 header bytes followed by the payload
//   payload: u32 key length, key | u32 kernel count, per kernel
//            (u32 length, name | u32 length, work | u8 columnwise |
//             u8 persistent | u8 pdl | u8 gemmWorkspace |
//             i64 threads, tileM, tileN, maxM, sharedBytes,
//             clusterSplit, gemmOperand |
//             u32 tensor map count, per map i64 operand, box bytes, box
//             rows, swizzle | u32 bulk-copy operand count, i64 each) |
//            u64 image length, image
// The full key is stored (and covered by the MAC) so a hash collision of file
// names, or another key's entry copied under this name, reads as a miss.
// Nothing is parsed before the MAC has been checked.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Runtime/DiskCache.h"
#include "Errors.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace llvm;

namespace nvfp4 {
namespace {
using ::nvfp4::detail::makeError;

constexpr char kMagic[8] = {'N', 'V', 'F', 'P', '4', 'K', 'C', '\0'};
/// Bumped whenever the entry layout changes.
/// 3: the xxh3 checksum became a keyed MAC.
/// 8: gemmWorkspace and gemmOperand.
constexpr uint32_t kFormatVersion = 8;
constexpr size_t kMacOffset = 8 + 4 + 8;
constexpr size_t kMacSize = 32;
constexpr size_t kHeaderSize = kMacOffset + kMacSize;

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

namespace {
/// HMAC-SHA256 (RFC 2104) of the concatenation of `parts`.
DiskCache::Secret mac(const DiskCache::Secret &secret,
                      std::initializer_list<StringRef> parts) {
  constexpr size_t kBlock = 64;
  std::array<uint8_t, kBlock> inner, outer;
  for (size_t i = 0; i < kBlock; ++i) {
    uint8_t k = i < secret.size() ? secret[i] : 0;
    inner[i] = k ^ 0x36;
    outer[i] = k ^ 0x5c;
  }
  SHA256 h;
  h.update(inner);
  for (StringRef part : parts)
    h.update(part);
  std::array<uint8_t, 32> innerHash = h.final();
  h.init();
  h.update(outer);
  h.update(innerHash);
  return h.final();
}

/// Compares without an early exit, so timing says nothing about the MAC.
bool equalMacs(ArrayRef<uint8_t> a, ArrayRef<uint8_t> b) {
  if (a.size() != b.size())
    return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= a[i] ^ b[i];
  return diff == 0;
}

std::string modeText(mode_t mode) {
  std::string s;
  raw_string_ostream(s) << format("0%03o", unsigned(mode & 07777));
  return s;
}

/// Moves exactly `size` bytes between `data` and `fd` with `io` (::read or
/// ::write), retrying interrupted and partial transfers.
template <typename Pointer, typename IO>
bool transferAll(int fd, Pointer data, size_t size, IO io) {
  while (size) {
    ssize_t n = io(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= size_t(n);
  }
  return true;
}

bool readAll(int fd, char *data, size_t size) {
  return transferAll(fd, data, size, ::read);
}

bool writeAll(int fd, const char *data, size_t size) {
  return transferAll(fd, data, size, ::write);
}

/// Closes a descriptor on every path out of a scope.
struct FileDescriptor {
  explicit FileDescriptor(int fd) : fd(fd) {}
  ~FileDescriptor() {
    if (fd >= 0)
      ::close(fd);
  }
  FileDescriptor(const FileDescriptor &) = delete;
  FileDescriptor &operator=(const FileDescriptor &) = delete;
  int fd;
};

/// The directory is the cache's trust anchor: whoever can write it can
/// replace entries and the secret, so only the user may.
Error checkDirectory(StringRef dir) {
  FileDescriptor fd(::open(dir.str().c_str(),
                           O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat st;
  if (fd.fd < 0 || ::fstat(fd.fd, &st) != 0)
    return makeError("cannot open the kernel cache directory " + dir + ": " +
                     std::strerror(errno));
  if (st.st_uid != ::geteuid())
    return makeError("kernel cache directory " + dir + " is owned by uid " +
                     Twine(st.st_uid) + ", expected the current user (uid " +
                     Twine(::geteuid()) + ")");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return makeError("kernel cache directory " + dir +
                     " is writable by group or others (mode " +
                     modeText(st.st_mode) + ", expected at most 0755)");
  return Error::success();
}

/// Reads the secret; none (no error) when the file does not exist yet.
Expected<std::optional<DiskCache::Secret>> readSecret(const std::string &path) {
  FileDescriptor fd(
      ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.fd < 0) {
    if (errno == ENOENT)
      return std::nullopt;
    return makeError("cannot open the kernel cache secret " + path + ": " +
                     std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd.fd, &st) != 0)
    return makeError("cannot stat the kernel cache secret " + path + ": " +
                     std::strerror(errno));
  DiskCache::Secret secret;
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 07777) != 0600 || uint64_t(st.st_size) != secret.size())
    return makeError("kernel cache secret " + path +
                     " must be a regular 0600 file of " + Twine(secret.size()) +
                     " bytes owned by uid " + Twine(::geteuid()) +
                     ", found mode " + modeText(st.st_mode) + ", uid " +
                     Twine(st.st_uid) + ", " + Twine(st.st_size) + " bytes");
  if (!readAll(fd.fd, reinterpret_cast<char *>(secret.data()), secret.size()))
    return makeError("cannot read the kernel cache secret " + path);
  return secret;
}

/// Writes a fresh random secret to a private temporary file and links it
/// into place; link(2) never replaces, so concurrent first users agree on
/// whichever secret was linked first.
Error createSecret(StringRef dir, const std::string &path) {
  DiskCache::Secret secret;
  size_t filled = 0;
  while (filled < secret.size()) {
    ssize_t n = ::getrandom(secret.data() + filled, secret.size() - filled, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return makeError(Twine("cannot draw a kernel cache secret: ") +
                       std::strerror(errno));
    filled += size_t(n);
  }
  SmallString<256> temp;
  int rawFd;
  if (std::error_code ec = sys::fs::createUniqueFile(
          path + ".%%%%%%%%.tmp", rawFd, temp, sys::fs::OF_None,
          sys::fs::owner_read | sys::fs::owner_write))
    return makeError("cannot create the kernel cache secret in " + dir + ": " +
                     ec.message());
  bool written;
  {
    FileDescriptor fd(rawFd);
    written = ::fchmod(fd.fd, 0600) == 0 &&
              writeAll(fd.fd, reinterpret_cast<const char *>(secret.data()),
                       secret.size()) &&
              ::fsync(fd.fd) == 0;
  }
  int linked = written ? ::link(temp.c_str(), path.c_str()) : -1;
  int linkErrno = errno;
  sys::fs::remove(temp);
  if (!written)
    return makeError("cannot write the kernel cache secret in " + dir);
  if (linked != 0 && linkErrno != EEXIST)
    return makeError("cannot create the kernel cache secret " + path + ": " +
                     std::strerror(linkErrno));
  return Error::success();
}
} // namespace

Expected<DiskCache> DiskCache::open(StringRef directory) {
  std::string dir = directory.str();
  if (!sys::fs::exists(dir)) {
    if (std::error_code ec =
            sys::fs::create_directories(dir, /*IgnoreExisting=*/true,
                                        sys::fs::owner_all))
      return makeError("cannot create the kernel cache directory " + dir +
                       ": " + ec.message());
    // The umask may have taken bits away; it never adds any, but make the
    // mode exact anyway.
    ::chmod(dir.c_str(), 0700);
  }
  if (Error e = checkDirectory(dir))
    return std::move(e);
  SmallString<256> path(dir);
  sys::path::append(path, kSecretFileName);
  std::string secretFile(path);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto secret = readSecret(secretFile);
    if (!secret)
      return secret.takeError();
    if (*secret)
      return DiskCache(dir, **secret);
    if (Error e = createSecret(dir, secretFile))
      return std::move(e);
  }
  return makeError("cannot create the kernel cache secret " + secretFile);
}

std::string DiskCache::pathFor(StringRef key) const {
  std::array<uint8_t, 32> digest = SHA256::hash(arrayRefFromStringRef(key));
  SmallString<256> path(dir);
  sys::path::append(path, toHex(ArrayRef<uint8_t>(digest).take_front(16),
                                /*LowerCase=*/true) +
                              ".nvfp4k");
  return std::string(path);
}

std::string DiskCache::secretPath() const {
  SmallString<256> path(dir);
  sys::path::append(path, kSecretFileName);
  return std::string(path);
}

std::string DiskCache::serialize(StringRef key, const CompiledQuantize &value,
                                 const Secret &secret) {
  Writer payload;
  payload.str(key);
  payload.u32(uint32_t(value.kernels.size()));
  for (const KernelInfo &k : value.kernels) {
    payload.str(k.name);
    payload.str(mlir::nvfp4::stringifyKernelWork(k.work));
    payload.u8(k.columnwise);
    payload.u8(k.persistent);
    payload.u8(k.pdl);
    payload.u8(k.gemmWorkspace);
    for (int64_t v : {k.threads, k.tileM, k.tileN, k.maxM, k.sharedBytes,
                      k.clusterSplit, k.gemmOperand})
      payload.u64(uint64_t(v));
    payload.u32(uint32_t(k.tensorMaps.size()));
    for (const KernelTensorMap &m : k.tensorMaps)
      for (int64_t v : {m.operand, m.box[0], m.box[1], m.swizzle})
        payload.u64(uint64_t(v));
    payload.u32(uint32_t(k.bulkCopyOperands.size()));
    for (int64_t v : k.bulkCopyOperands)
      payload.u64(uint64_t(v));
  }
  payload.u64(value.image.size());
  payload.out.append(value.image.begin(), value.image.end());

  Writer entry;
  entry.out.append(kMagic, sizeof(kMagic));
  entry.u32(kFormatVersion);
  entry.u64(payload.out.size());
  Secret tag = mac(secret, {entry.out, payload.out});
  entry.out.append(tag.begin(), tag.end());
  entry.out += payload.out;
  return std::move(entry.out);
}

std::optional<CompiledQuantize>
DiskCache::deserialize(StringRef key, StringRef bytes, const Secret &secret) {
  if (bytes.size() < kHeaderSize ||
      bytes.substr(0, sizeof(kMagic)) != StringRef(kMagic, sizeof(kMagic)))
    return std::nullopt;
  Reader header(bytes.substr(sizeof(kMagic), kMacOffset - sizeof(kMagic)));
  uint32_t version;
  uint64_t length;
  if (!header.u32(version) || !header.u64(length) ||
      version != kFormatVersion || length != bytes.size() - kHeaderSize)
    return std::nullopt;
  StringRef payload = bytes.substr(kHeaderSize);
  Secret expected = mac(secret, {bytes.substr(0, kMacOffset), payload});
  if (!equalMacs(expected,
                 arrayRefFromStringRef(bytes.substr(kMacOffset, kMacSize))))
    return std::nullopt;
  Reader r(payload);
  std::string storedKey;
  uint32_t count;
  if (!r.str(storedKey) || storedKey != key || !r.u32(count))
    return std::nullopt;
  CompiledQuantize value;
  for (uint32_t i = 0; i < count; ++i) {
    KernelInfo k;
    uint8_t columnwise, persistent, pdl, workspace;
    std::string work;
    if (!r.str(k.name) || !r.str(work) || !r.u8(columnwise) ||
        !r.u8(persistent) || !r.u8(pdl) || !r.u8(workspace))
      return std::nullopt;
    std::optional<mlir::nvfp4::KernelWork> kind =
        mlir::nvfp4::symbolizeKernelWork(work);
    if (!kind)
      return std::nullopt;
    k.work = *kind;
    k.columnwise = columnwise;
    k.persistent = persistent;
    k.pdl = pdl;
    k.gemmWorkspace = workspace;
    for (int64_t *v : {&k.threads, &k.tileM, &k.tileN, &k.maxM, &k.sharedBytes,
                       &k.clusterSplit, &k.gemmOperand}) {
      uint64_t word;
      if (!r.u64(word))
        return std::nullopt;
      *v = int64_t(word);
    }
    // Counts are bounded by the payload: each entry takes 8 or 32 bytes.
    uint32_t maps, bulk;
    if (!r.u32(maps))
      return std::nullopt;
    for (uint32_t j = 0; j < maps; ++j) {
      KernelTensorMap m;
      for (int64_t *v : {&m.operand, &m.box[0], &m.box[1], &m.swizzle}) {
        uint64_t word;
        if (!r.u64(word))
          return std::nullopt;
        *v = int64_t(word);
      }
      k.tensorMaps.push_back(m);
    }
    if (!r.u32(bulk))
      return std::nullopt;
    for (uint32_t j = 0; j < bulk; ++j) {
      uint64_t word;
      if (!r.u64(word))
        return std::nullopt;
      k.bulkCopyOperands.push_back(int64_t(word));
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
  // O_NOFOLLOW: a symbolic link is never an entry. O_NONBLOCK: opening a
  // FIFO must not wait for a writer (it is then rejected as not regular).
  FileDescriptor fd(
      ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.fd < 0) {
    if (errno != ENOENT)
      ::unlink(path.c_str());
    return std::nullopt;
  }
  struct stat st;
  std::optional<CompiledQuantize> value;
  if (::fstat(fd.fd, &st) == 0 && S_ISREG(st.st_mode) &&
      st.st_uid == ::geteuid() && st.st_size >= 0 &&
      uint64_t(st.st_size) <= kMaxEntryBytes) {
    std::string bytes(size_t(st.st_size), '\0');
    if (readAll(fd.fd, bytes.data(), bytes.size()))
      value = deserialize(key, bytes, secret);
  }
  // A damaged or foreign entry is never trusted; removing it lets the
  // recompiled one take its place (a concurrent writer's rename wins either
  // way). The directory is the user's, so removing a name in it is safe;
  // unlink(2) also takes FIFOs and device nodes, which sys::fs::remove
  // refuses.
  if (!value)
    ::unlink(path.c_str());
  return value;
}

Error DiskCache::store(StringRef key, const CompiledQuantize &value) const {
  std::string path = pathFor(key);
  SmallString<256> temp;
  int fd;
  if (std::error_code ec = sys::fs::createUniqueFile(
          path + ".%%%%%%%%.tmp", fd, temp, sys::fs::OF_None,
          sys::fs::owner_read | sys::fs::owner_write))
    return makeError("cannot create a file in the kernel cache directory " +
                     dir + ": " + ec.message());
  // Exactly 0600 whatever the umask.
  ::fchmod(fd, 0600);
  {
    raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << serialize(key, value, secret);
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
