//===- DiskCache.h - Compiled kernels cached across processes ---*- C++ -*-===//
//
// One file per compiled recipe in the user's cache directory. Entries are
// written to a temporary file and renamed into place, so concurrent
// processes never see a partial entry; each carries a header (magic, format
// version, payload length, checksum) so a corrupted or truncated file is
// detected, removed and recompiled rather than trusted.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_RUNTIME_DISKCACHE_H
#define NVFP4_RUNTIME_DISKCACHE_H

#include "nvfp4/Runtime/GPUQuantize.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace nvfp4 {

class DiskCache {
public:
  /// The default cache directory: $NVFP4_CACHE_DIR, else
  /// $XDG_CACHE_HOME/nvfp4-mlir, else ~/.cache/nvfp4-mlir. None when the
  /// cache is disabled (NVFP4_DISABLE_DISK_CACHE=1, or NVFP4_CACHE_DIR set
  /// to "" or "off") or no home directory is known.
  static std::optional<std::string> defaultDirectory();

  explicit DiskCache(std::string directory) : dir(std::move(directory)) {}
  const std::string &directory() const { return dir; }

  /// The file name of `key` (a hex digest of it).
  std::string pathFor(llvm::StringRef key) const;

  /// The entry for `key`; none on a miss. A damaged entry (bad magic,
  /// version, length, checksum or key) is deleted and reported as a miss.
  std::optional<CompiledQuantize> load(llvm::StringRef key) const;

  /// Writes the entry for `key` (temporary file + atomic rename).
  llvm::Error store(llvm::StringRef key, const CompiledQuantize &value) const;

  /// Serialized entry format, exposed for tests that damage entries.
  static std::string serialize(llvm::StringRef key,
                               const CompiledQuantize &value);
  static std::optional<CompiledQuantize> deserialize(llvm::StringRef key,
                                                     llvm::StringRef bytes);

private:
  std::string dir;
};

} // namespace nvfp4

#endif // NVFP4_RUNTIME_DISKCACHE_H
