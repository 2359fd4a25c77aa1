//===- File.h - Bounded reads of regular files ------------------*- C++ -*-===//
//
// Part of the NVFP4 quantization compiler.
//
//===----------------------------------------------------------------------===//
//
// Every file the tools read (tensors, recipe files, quantized folders) goes
// through RegularFile: the path is checked with stat before it is opened, so
// a FIFO, a device (/dev/zero, /dev/urandom) or a directory is refused with
// one message naming the path instead of blocking or growing without bound,
// and every read is bounded by the size the file had when it was opened.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_SUPPORT_FILE_H
#define NVFP4_SUPPORT_FILE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace nvfp4 {

/// A regular file opened for reading; closed on destruction. Symbolic links
/// are followed, but only to a regular file.
class RegularFile {
public:
  /// Opens \p path. Anything but a regular file is refused before it is
  /// opened ("<path>: cannot read file: is a FIFO, not a regular file"; also
  /// character and block devices, sockets, and "is a directory"), and any
  /// other failure reads "<path>: cannot read file: <reason>". \p what
  /// replaces "file" in these messages ("recipe file").
  static llvm::Expected<RegularFile> open(llvm::StringRef path,
                                          llvm::StringRef what = "file");

  RegularFile(RegularFile &&other);
  RegularFile &operator=(RegularFile &&other) = delete;
  RegularFile(const RegularFile &) = delete;
  ~RegularFile();

  /// The size of the file when it was opened; reads never go past it.
  uint64_t size() const { return fileSize; }

  /// Reads exactly out.size() bytes at \p offset, failing if the file ends
  /// (or shrank) before that.
  llvm::Error read(uint64_t offset, llvm::MutableArrayRef<char> out) const;

private:
  RegularFile(std::string path, int fd, uint64_t size)
      : path(std::move(path)), fd(fd), fileSize(size) {}

  std::string path;
  int fd = -1;
  uint64_t fileSize = 0;
};

/// Reads the whole regular file at \p path if it holds at most \p maxBytes
/// bytes; a larger file is refused without being read. \p what names the
/// file in messages as in RegularFile::open.
llvm::Expected<std::string> readRegularFile(llvm::StringRef path,
                                            uint64_t maxBytes,
                                            llvm::StringRef what = "file");

/// "<path>: <message>", the form of every file error of the tools.
llvm::Error fileError(llvm::StringRef path, const llvm::Twine &message);

/// A system message ("No such file or directory") with its first letter
/// lowered, as the project's diagnostics are.
std::string lowerFirst(std::string message);

} // namespace nvfp4

#endif // NVFP4_SUPPORT_FILE_H
