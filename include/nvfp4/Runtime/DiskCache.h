//===- DiskCache.h - Compiled kernels cached across processes ---*- C++ -*-===//
//
// One file per compiled recipe in the user's private cache directory.
// Entries are written to a temporary file and renamed into place, so
// concurrent processes never see a partial entry. The directory must belong
// to the user and be writable by nobody else; every entry carries a keyed
// MAC (HMAC-SHA256 under a per-user secret kept 0600 in the directory), so
// an entry the cache did not write itself (damaged, truncated, or forged by
// someone without the secret) is detected, removed and recompiled rather
// than trusted. docs/Security.md states the threat model.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_RUNTIME_DISKCACHE_H
#define NVFP4_RUNTIME_DISKCACHE_H

#include "nvfp4/Runtime/GPURunner.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace nvfp4 {

class DiskCache {
public:
  /// The per-user secret that keys every entry's MAC.
  using Secret = std::array<uint8_t, 32>;

  /// Entries larger than this are never read (they are removed as damaged).
  static constexpr uint64_t kMaxEntryBytes = uint64_t(256) << 20;
  /// The secret's file name inside the cache directory.
  static constexpr const char *kSecretFileName = "secret.key";

  /// The default cache directory: $NVFP4_CACHE_DIR, else
  /// $XDG_CACHE_HOME/nvfp4-mlir, else ~/.cache/nvfp4-mlir. None when the
  /// cache is disabled (NVFP4_DISABLE_DISK_CACHE=1, or NVFP4_CACHE_DIR set
  /// to "" or "off") or no home directory is known.
  static std::optional<std::string> defaultDirectory();

  /// The cache in `directory`, created (mode 0700) if missing. An error
  /// says why the directory cannot be trusted: it is not a directory, is
  /// not owned by the effective user, is writable by group or others, or
  /// its secret file is not a regular 0600 file of the user's. Callers
  /// then run without a disk cache.
  static llvm::Expected<DiskCache> open(llvm::StringRef directory);

  const std::string &directory() const { return dir; }

  /// The file name of `key` (a hex digest of it).
  std::string pathFor(llvm::StringRef key) const;

  /// The path of the secret file.
  std::string secretPath() const;

  /// The entry for `key`; none on a miss. Only a regular file of the user's
  /// of at most kMaxEntryBytes, opened without following symbolic links,
  /// is read; anything else, or an entry whose MAC, format version, length
  /// or key does not match, is deleted and reported as a miss.
  std::optional<CompiledQuantize> load(llvm::StringRef key) const;

  /// Writes the entry for `key` (mode 0600 temporary file + atomic rename).
  llvm::Error store(llvm::StringRef key, const CompiledQuantize &value) const;

  /// Serialized entry format under `secret`, exposed for tests that damage
  /// or forge entries.
  static std::string serialize(llvm::StringRef key,
                               const CompiledQuantize &value,
                               const Secret &secret);
  static std::optional<CompiledQuantize>
  deserialize(llvm::StringRef key, llvm::StringRef bytes, const Secret &secret);

private:
  DiskCache(std::string directory, const Secret &secret)
      : dir(std::move(directory)), secret(secret) {}

  std::string dir;
  Secret secret;
};

} // namespace nvfp4

#endif // NVFP4_RUNTIME_DISKCACHE_H
