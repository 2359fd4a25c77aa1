//===- File.cpp - Bounded reads of regular files --------------------------===//
//
// Part of the NVFP4 quantization compiler.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Support/File.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Errno.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace llvm;
using namespace nvfp4;

namespace {
/// What a non-regular file is, for "<path>: not a regular file (...)".
StringRef kindOf(mode_t mode) {
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISSOCK(mode))
    return "a socket";
  return "an unsupported file type";
}

Error notRegular(StringRef path, StringRef what, mode_t mode) {
  // "is a directory" matches what reading a directory reports elsewhere.
  if (S_ISDIR(mode))
    return fileError(path, "cannot read " + what + ": is a directory");
  return fileError(path, "cannot read " + what + ": is " + kindOf(mode) +
                             ", not a regular file");
}

Error cannotRead(StringRef path, StringRef what, int error) {
  return fileError(path, "cannot read " + what + ": " +
                             lowerFirst(sys::StrError(error)));
}
} // namespace

Expected<RegularFile> RegularFile::open(StringRef path, StringRef what) {
  std::string p = path.str();
  struct stat st;
  // stat before open: opening a FIFO blocks until a writer appears.
  if (::stat(p.c_str(), &st) != 0)
    return cannotRead(path, what, errno);
  if (!S_ISREG(st.st_mode))
    return notRegular(path, what, st.st_mode);
  // O_NONBLOCK keeps a FIFO swapped in after the stat from blocking the open;
  // fstat then checks what was actually opened.
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return cannotRead(path, what, errno);
  if (::fstat(fd, &st) != 0) {
    int error = errno;
    ::close(fd);
    return cannotRead(path, what, error);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return notRegular(path, what, st.st_mode);
  }
  return RegularFile(std::move(p), fd, uint64_t(st.st_size));
}

RegularFile::RegularFile(RegularFile &&other)
    : path(std::move(other.path)), fd(other.fd), fileSize(other.fileSize) {
  other.fd = -1;
}

RegularFile::~RegularFile() {
  if (fd >= 0)
    ::close(fd);
}

Error RegularFile::read(uint64_t offset, MutableArrayRef<char> out) const {
  if (offset > fileSize || out.size() > fileSize - offset)
    return fileError(path, "unexpected end of file");
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, off_t(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cannotRead(path, "file", errno);
    if (n == 0)
      return fileError(path, "unexpected end of file (it shrank while "
                             "being read)");
    done += size_t(n);
  }
  return Error::success();
}

Expected<std::string> nvfp4::readRegularFile(StringRef path, uint64_t maxBytes,
                                             StringRef what) {
  Expected<RegularFile> file = RegularFile::open(path, what);
  if (!file)
    return file.takeError();
  if (file->size() > maxBytes)
    return fileError(path, what + " too large: " + Twine(file->size()) +
                               " bytes, expected at most " + Twine(maxBytes));
  std::string text(size_t(file->size()), '\0');
  if (Error e = file->read(0, MutableArrayRef<char>(text.data(), text.size())))
    return std::move(e);
  return text;
}

Error nvfp4::fileError(StringRef path, const Twine &message) {
  return createStringError(inconvertibleErrorCode(), path + ": " + message);
}

std::string nvfp4::lowerFirst(std::string message) {
  if (!message.empty())
    message[0] = toLower(message[0]);
  return message;
}
