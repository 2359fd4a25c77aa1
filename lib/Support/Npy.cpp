//===- Npy.cpp - NumPy .npy file reader and writer ------------------------===//
//
// Part of the NVFP4 quantization compiler.
//
//===----------------------------------------------------------------------===//
//
// Format reference: numpy/lib/format.py. A file is the magic "\x93NUMPY", a
// major/minor version byte pair, a little-endian header length (u16 for 1.0,
// u32 for 2.0 and 3.0), a Python dict literal describing the array padded
// with spaces and a '\n' to a multiple of 64 bytes, then the raw data.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Support/Npy.h"
#include "nvfp4/Support/File.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>

using namespace llvm;
using namespace nvfp4;
using namespace nvfp4::npy;

// Element data is copied between files and memory without byte swapping.
static_assert(endianness::native == endianness::little,
              ".npy support assumes a little-endian host");

namespace {
constexpr StringLiteral kMagic("\x93NUMPY");
constexpr size_t kAlign = 64;               // numpy.lib.format.ARRAY_ALIGN
constexpr size_t kGrowthAxisMaxDigits = 21; // numpy.lib.format constant

/// Per-DType facts, indexed by the enum's value. bf16 has no NumPy descr.
struct DTypeInfo {
  const char *name;
  StringRef descr;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {{"float32", "<f4", 4}, {"float16", "<f2", 2},
                                 {"bfloat16", "", 2},   {"uint8", "|u1", 1},
                                 {"int64", "<i8", 8},   {"float64", "<f8", 8}};
const DTypeInfo &info(DType dtype) {
  return kDTypes[static_cast<unsigned>(dtype)];
}

/// The values of the three keys of a .npy header dict.
struct Header {
  std::optional<std::string> descr;
  std::optional<bool> fortranOrder;
  std::optional<SmallVector<int64_t, 4>> shape;
};

/// Recursive-descent parser for the header dict literal. It accepts the
/// subset of Python literal syntax that np.save can produce, with arbitrary
/// whitespace and an optional trailing comma, and nothing else.
class HeaderParser {
public:
  HeaderParser(StringRef path, StringRef text) : path(path), rest(text) {}

  Expected<Header> parse() {
    Header h;
    if (!consume('{'))
      return fail("expected '{'");
    while (!consume('}')) {
      std::string key;
      if (Error e = parseString(key))
        return std::move(e);
      if (!consume(':'))
        return fail("expected ':' after key '" + key + "'");
      if (Error e = parseValue(key, h))
        return std::move(e);
      if (!consume(',') && !peek('}'))
        return fail("expected ',' or '}' after value of '" + key + "'");
    }
    if (!rest.ltrim(" \t\r\n").empty())
      return fail("unexpected text after '}'");
    for (auto [seen, key] : {std::pair<bool, const char *>(h.descr, "descr"),
                             {bool(h.fortranOrder), "fortran_order"},
                             {bool(h.shape), "shape"}})
      if (!seen)
        return fail(Twine("missing key '") + key + "'");
    return h;
  }

private:
  Error fail(const Twine &msg) {
    return fileError(path, "malformed header: " + msg);
  }

  bool peek(char c) {
    rest = rest.ltrim(" \t\r\n");
    return !rest.empty() && rest.front() == c;
  }
  bool consume(char c) {
    if (!peek(c))
      return false;
    rest = rest.drop_front();
    return true;
  }

  Error parseValue(StringRef key, Header &h) {
    if ((key == "descr" && h.descr) ||
        (key == "fortran_order" && h.fortranOrder) ||
        (key == "shape" && h.shape))
      return fail("duplicate key '" + key + "'");
    if (key == "shape")
      return parseShape(h.shape.emplace());
    if (key == "descr") {
      // Structured dtypes are written as a list of tuples.
      if (peek('['))
        return fileError(path, "unsupported structured dtype");
      return parseString(h.descr.emplace());
    }
    if (key != "fortran_order")
      return fail("unexpected key '" + key + "'");
    bool isTrue = peek('T') && rest.consume_front("True");
    if (!isTrue && !rest.consume_front("False"))
      return fail("expected True or False for 'fortran_order'");
    h.fortranOrder = isTrue;
    return Error::success();
  }

  /// Parses a '...' or "..." string without escapes (NumPy never needs any).
  Error parseString(std::string &out) {
    if (!peek('\'') && !peek('"'))
      return fail("expected a quoted string");
    size_t end = rest.find_first_of(StringRef("\\\n\0\"'", 5), 1);
    if (end == StringRef::npos || rest[end] != rest[0])
      return fail("unterminated or unsupported string literal");
    out = rest.slice(1, end).str();
    rest = rest.drop_front(end + 1);
    return Error::success();
  }

  /// Parses "()", "(5,)" or "(3, 4)" (trailing comma optional when ndim > 1).
  Error parseShape(SmallVector<int64_t, 4> &dims) {
    if (!consume('('))
      return fail("expected a tuple for 'shape'");
    bool sawComma = false;
    while (!consume(')')) {
      StringRef digits = rest.take_while(isDigit);
      uint64_t dim;
      if (digits.empty() || (digits.size() > 1 && digits[0] == '0') ||
          digits.getAsInteger(10, dim) || dim > uint64_t(INT64_MAX))
        return fail("invalid dimension in 'shape'");
      dims.push_back(int64_t(dim));
      rest = rest.drop_front(digits.size());
      rest.consume_front("L"); // Python 2 NumPy wrote longs as "3L".
      sawComma = consume(',');
      if (!sawComma && !peek(')'))
        return fail("expected ',' or ')' in 'shape'");
    }
    // "(5)" is the integer 5 in Python, not a tuple.
    if (dims.size() == 1 && !sawComma)
      return fail("'shape' must be a tuple");
    return Error::success();
  }

  StringRef path;
  StringRef rest;
};

/// Maps a descr string to a DType, diagnosing anything we cannot load.
Expected<DType> parseDType(StringRef path, StringRef descr) {
  for (unsigned i = 0; i < std::size(kDTypes); ++i) {
    const DTypeInfo &t = kDTypes[i];
    if (t.descr.empty() || descr.size() != 3 ||
        descr.drop_front() != t.descr.drop_front())
      continue;
    // Byte order is meaningless for one-byte types; '=' is native, which is
    // little-endian on every host we build for (see the static_assert).
    if (descr[0] == '<' || descr[0] == '=' ||
        (t.size == 1 && (descr[0] == '|' || descr[0] == '>')))
      return static_cast<DType>(i);
    if (descr[0] == '>')
      return fileError(path, "big-endian dtype '" + descr +
                                 "' is not supported (expected little-endian)");
  }
  if (descr.size() >= 2 && descr[1] == 'V')
    return fileError(path, "unsupported dtype '" + descr +
                               "' (raw void, e.g. bfloat16 from ml_dtypes; "
                               "save it as float32 instead)");
  return fileError(path, "unsupported dtype '" + descr +
                             "' (expected float32, float16, float64, uint8 "
                             "or int64)");
}

/// Returns the byte size of an array, or nullopt if a dimension is negative
/// or the size overflows.
std::optional<size_t> dataSize(DType dtype, ArrayRef<int64_t> shape) {
  int64_t bytes = int64_t(info(dtype).size);
  for (int64_t d : shape)
    if (d < 0 || MulOverflow(bytes, d, bytes))
      return std::nullopt;
  if (uint64_t(bytes) > SIZE_MAX)
    return std::nullopt;
  return size_t(bytes);
}
} // namespace

size_t npy::elementSize(DType dtype) { return info(dtype).size; }

StringRef npy::dtypeName(DType dtype) { return info(dtype).name; }

int64_t Array::numElements() const {
  // Shapes are validated on parse, so this cannot overflow for parsed arrays.
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

namespace {
/// What the prefix and header of a .npy file say: the array (without its
/// data) and where the data starts.
struct Layout {
  Array array;
  size_t dataOffset = 0;
  size_t dataSize = 0;
};

/// The bytes that precede the header dict: magic, version, header length.
constexpr size_t kMaxPrefix = kMagic.size() + 2 + 4;

/// Parses the prefix and header at the start of \p buf, which holds the
/// whole file or at least its first kMaxPrefix + kMaxHeaderBytes bytes.
Expected<Layout> parseLayout(StringRef path, StringRef buf) {
  if (!buf.starts_with(kMagic))
    return fileError(path, "not a .npy file (bad magic)");
  if (buf.size() < kMagic.size() + 2)
    return fileError(path, "truncated header");
  unsigned major = uint8_t(buf[6]), minor = uint8_t(buf[7]);
  if (major < 1 || major > 3 || minor != 0)
    return fileError(path, "unsupported .npy format version " + Twine(major) +
                               "." + Twine(minor));
  size_t lenBytes = major == 1 ? 2 : 4;
  size_t prefix = kMagic.size() + 2 + lenBytes;
  if (buf.size() < prefix)
    return fileError(path, "truncated header");
  const char *lenPtr = buf.data() + kMagic.size() + 2;
  uint64_t headerLen = major == 1 ? support::endian::read16le(lenPtr)
                                  : uint64_t(support::endian::read32le(lenPtr));
  if (headerLen > kMaxHeaderBytes)
    return fileError(path, "malformed header: header length " +
                               Twine(headerLen) + " exceeds the limit of " +
                               Twine(kMaxHeaderBytes) + " bytes");
  if (buf.size() - prefix < headerLen)
    return fileError(path, "truncated header");

  HeaderParser parser(path, buf.substr(prefix, headerLen));
  Expected<Header> header = parser.parse();
  if (!header)
    return header.takeError();
  Expected<DType> dtype = parseDType(path, *header->descr);
  if (!dtype)
    return dtype.takeError();

  Layout layout;
  Array &array = layout.array;
  array.dtype = *dtype;
  array.shape = std::move(*header->shape);
  std::optional<size_t> size = dataSize(array.dtype, array.shape);
  if (!size)
    return fileError(path, "malformed header: shape is too large");
  // Fortran order only matters when two or more dimensions exceed 1;
  // otherwise the layouts coincide (e.g. 1-d arrays from column-major
  // writers such as Julia's NPZ.jl).
  if (*header->fortranOrder && *size != 0 &&
      count_if(array.shape, [](int64_t d) { return d > 1; }) > 1)
    return fileError(path, "fortran_order=True is not supported (save a "
                           "C-contiguous array, e.g. np.ascontiguousarray)");
  layout.dataOffset = prefix + headerLen;
  layout.dataSize = *size;
  return layout;
}

/// Checks that \p available bytes follow the header, as the header says.
Error checkDataSize(StringRef path, const Layout &layout, uint64_t available) {
  if (available < layout.dataSize)
    return fileError(path, "truncated data: expected " +
                               Twine(layout.dataSize) + " bytes, got " +
                               Twine(available));
  if (available > layout.dataSize)
    return fileError(path, "unexpected " + Twine(available - layout.dataSize) +
                               " trailing bytes after array data");
  return Error::success();
}
} // namespace

Expected<Array> npy::parseNpy(StringRef path, ArrayRef<uint8_t> buffer) {
  StringRef buf(reinterpret_cast<const char *>(buffer.data()), buffer.size());
  Expected<Layout> layout = parseLayout(path, buf);
  if (!layout)
    return layout.takeError();
  StringRef data = buf.drop_front(layout->dataOffset);
  if (Error e = checkDataSize(path, *layout, data.size()))
    return std::move(e);
  layout->array.bytes.assign(data.bytes_begin(), data.bytes_end());
  return std::move(layout->array);
}

Expected<Array> npy::readNpy(StringRef path) {
  // Only a regular file, and only as many bytes as its header promises: the
  // prefix and header first (bounded), then the data once the file's size
  // matches the header.
  Expected<RegularFile> file = RegularFile::open(path);
  if (!file)
    return file.takeError();
  std::string head(
      size_t(std::min<uint64_t>(file->size(), kMaxPrefix + kMaxHeaderBytes)),
      '\0');
  if (Error e = file->read(0, MutableArrayRef<char>(head.data(), head.size())))
    return std::move(e);
  Expected<Layout> layout = parseLayout(path, head);
  if (!layout)
    return layout.takeError();
  if (Error e = checkDataSize(path, *layout,
                              file->size() - uint64_t(layout->dataOffset)))
    return std::move(e);
  Array &array = layout->array;
  array.bytes.resize(layout->dataSize);
  if (Error e = file->read(
          layout->dataOffset,
          MutableArrayRef<char>(reinterpret_cast<char *>(array.bytes.data()),
                                array.bytes.size())))
    return std::move(e);
  return std::move(array);
}

/// Renders the header exactly as numpy.lib.format._write_array_header does,
/// including the spare spaces NumPy reserves for growing the first axis, so
/// our files are byte-identical to np.save's.
static std::string makeHeader(DType dtype, ArrayRef<int64_t> shape) {
  std::string h;
  raw_string_ostream os(h);
  os << "{'descr': '" << info(dtype).descr
     << "', 'fortran_order': False, 'shape': (";
  interleave(shape, os, ", ");
  os << (shape.size() == 1 ? ",), }" : "), }");
  if (!shape.empty())
    os.indent(kGrowthAxisMaxDigits - std::to_string(shape[0]).size());
  return h;
}

Error npy::writeNpy(StringRef path, DType dtype, ArrayRef<int64_t> shape,
                    const void *data) {
  if (dtype == DType::BF16)
    return fileError(path, "cannot write bfloat16: it has no NumPy dtype "
                           "(convert to float32 first)");
  std::optional<size_t> size = dataSize(dtype, shape);
  if (!size)
    return fileError(path, "invalid shape (negative or too large dimension)");
  if (*size != 0 && !data)
    return fileError(path, "no data for a non-empty array");

  std::string header = makeHeader(dtype, shape);
  // The header, plus its '\n', is padded with spaces so that the data starts
  // on a 64-byte boundary; 1.0 is used unless its u16 length would overflow.
  unsigned major = 1;
  size_t prefix = kMagic.size() + 4;
  size_t padded = alignTo(prefix + header.size() + 1, kAlign) - prefix;
  if (padded > UINT16_MAX) {
    major = 2;
    prefix = kMagic.size() + 6;
    padded = alignTo(prefix + header.size() + 1, kAlign) - prefix;
  }
  if (padded > UINT32_MAX)
    return fileError(path, "header too large");

  Expected<sys::fs::TempFile> temp =
      sys::fs::TempFile::create(path + ".tmp-%%%%%%%%");
  if (!temp)
    return fileError(path, "cannot create file: " +
                               lowerFirst(toString(temp.takeError())));
  std::error_code ec;
  {
    raw_fd_ostream os(temp->FD, /*shouldClose=*/false);
    os << kMagic << char(major) << char(0);
    char len[4];
    support::endian::write32le(len, uint32_t(padded));
    os.write(len, major == 1 ? 2 : 4);
    os << header;
    os.indent(padded - header.size() - 1) << '\n';
    if (*size)
      os.write(static_cast<const char *>(data), *size);
    os.flush();
    ec = os.error();
    os.clear_error(); // The error is reported below; don't abort in the dtor.
  }
  if (ec) {
    consumeError(temp->discard());
    return fileError(path, "cannot write file: " + lowerFirst(ec.message()));
  }
  // keep() renames over the destination, so readers never see partial data.
  if (Error e = temp->keep(path))
    return fileError(path, "cannot write file: " +
                               lowerFirst(toString(std::move(e))));
  return Error::success();
}

float npy::halfBitsToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    // Inf or NaN; keep the NaN payload so quiet/signalling bits survive.
    bits = sign | 0x7f800000 | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  } else if (mant != 0) {
    // Subnormal half, normal float: shift the leading 1 into the implicit bit
    // position and lower the exponent to match.
    int shift = countl_zero(uint16_t(mant)) - 5;
    bits = sign | ((113 - shift) << 23) | (((mant << shift) & 0x3ff) << 13);
  } else {
    bits = sign; // +-0
  }
  return bit_cast<float>(bits);
}

std::vector<float> npy::toFloat32(const Array &array) {
  // Elements are memcpy'd out because the byte vector guarantees no alignment
  // for wider types; compilers turn this into plain loads.
  auto convert = [&](auto tag, auto fn) {
    using T = decltype(tag);
    std::vector<float> out(array.bytes.size() / sizeof(T));
    for (size_t i = 0; i < out.size(); ++i) {
      T v;
      std::memcpy(&v, array.bytes.data() + i * sizeof(T), sizeof(T));
      out[i] = fn(v);
    }
    return out;
  };
  auto cast = [](auto v) { return static_cast<float>(v); };
  switch (array.dtype) {
  case DType::F32:
    return convert(float(), cast);
  case DType::F16:
    return convert(uint16_t(), halfBitsToFloat);
  case DType::BF16: // bfloat16 is the upper half of a float32.
    return convert(uint16_t(), [](uint16_t h) {
      return bit_cast<float>(uint32_t(h) << 16);
    });
  case DType::U8:
    return convert(uint8_t(), cast);
  case DType::I64:
    return convert(int64_t(), cast);
  case DType::F64:
    return convert(double(), cast);
  }
  llvm_unreachable("unknown dtype");
}
