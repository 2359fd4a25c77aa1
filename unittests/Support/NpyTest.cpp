//===- NpyTest.cpp - Tests for the .npy reader and writer -----------------===//
//
// Part of the NVFP4 quantization compiler.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Support/Npy.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace llvm;
using namespace nvfp4::npy;

namespace {

//===----------------------------------------------------------------------===//
// Files written by real NumPy.
//
// These byte strings were produced once with NumPy 2.4.6 (np.save, and
// numpy.lib.format.write_array for versions 2.0/3.0; the bfloat16 one with
// ml_dtypes) and pasted here verbatim, so the tests check compatibility with
// NumPy's actual output without depending on Python at test time. The string
// pieces are: magic/version/header-length bytes, the header dict, NumPy's
// space padding up to a 64-byte boundary, then the raw data.
//===----------------------------------------------------------------------===//

static const char kNumpyF32_2x3[] = // 152 bytes
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    "                                                          \n"
    "\x00\x00\x80\xbf\x00\x00\x00\xbf\x00\x00\x00\x00\x00\x00\x00\x3f"
    "\x00\x00\x80\x3f\x00\x00\xc0\x3f";
static const char kNumpyF16Special[] = // 144 bytes
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<f2', 'fortran_order': False, 'shape': (8,), }"
    "                                                            \n"
    "\x00\x3c\x00\x80\x01\x00\xff\x03\xff\x7b\x00\x7c\x00\xfc\x00\x7e";
static const char kNumpyU8Scalar[] = // 129 bytes
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '|u1', 'fortran_order': False, 'shape': (), }"
    "                                                              \n"
    "\xc8";
static const char kNumpyI64Empty0x4[] = // 128 bytes
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<i8', 'fortran_order': False, 'shape': (0, 4), }"
    "                                                          \n";
static const char kNumpyF64_5[] = // 168 bytes
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }"
    "                                                            \n"
    "\x00\x00\x00\x00\x00\x00\xf8\x3f\x00\x00\x00\x00\x00\x00\x02\xc0"
    "\x9c\x75\x00\x88\x3c\xe4\x37\x7e\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x59\xf3\xf8\xc2\x1f\x6e\xa5\x81";
static const char kNumpyI64_3[] = // 152 bytes
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"
    "                                                            \n"
    "\xfd\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x01\x00\x00";
static const char kNumpyF32V2[] = // 140 bytes
    "\x93\x4e\x55\x4d\x50\x59\x02\x00\x74\x00\x00\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
    "                                                          \n"
    "\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40";
static const char kNumpyF32V3[] = // 136 bytes
    "\x93\x4e\x55\x4d\x50\x59\x03\x00\x74\x00\x00\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    "                                                          \n"
    "\x00\x00\x80\x40\x00\x00\xa0\x40";
static const char kNumpyFortran[] = // 160 bytes
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }"
    "                                                           \n"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x40"
    "\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\x08\x40";
static const char kNumpyBigEndian[] = // 136 bytes
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }"
    "                                                            \n"
    "\x3f\x80\x00\x00\x40\x00\x00\x00";
static const char kNumpyI32[] = // 136 bytes
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }"
    "                                                            \n"
    "\x01\x00\x00\x00\x02\x00\x00\x00";
static const char kNumpyBF16[] = // 132 bytes
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00"
    "{'descr': '<V2', 'fortran_order': False, 'shape': (2,), }"
    "                                                            \n"
    "\x80\x3f\x00\x40";

template <size_t N> ArrayRef<uint8_t> bytesOf(const char (&s)[N]) {
  return ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(s), N - 1);
}

/// Returns the message of a failed parse, or "" (and a test failure) if it
/// unexpectedly succeeded.
std::string errorOf(Expected<Array> result) {
  if (result) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return toString(result.takeError());
}
std::string errorOf(Error err) {
  if (!err) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return toString(std::move(err));
}

/// Unwraps \p result, failing the test (and returning an empty array) on error.
Array valueOf(Expected<Array> result) {
  if (!result) {
    ADD_FAILURE() << toString(result.takeError());
    return Array();
  }
  return std::move(*result);
}

/// Builds a .npy image around a hand-written header dict (unpadded, which the
/// format allows).
std::vector<uint8_t> makeNpy(StringRef dict, ArrayRef<uint8_t> data = {},
                             unsigned major = 1, unsigned minor = 0) {
  std::string s = "\x93NUMPY";
  s += char(major);
  s += char(minor);
  size_t len = dict.size() + 1;
  for (unsigned i = 0; i < (major == 1 ? 2u : 4u); ++i)
    s += char((len >> (8 * i)) & 0xff);
  s += dict;
  s += '\n';
  std::vector<uint8_t> out(s.begin(), s.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> bitsOf(float f) {
  std::vector<uint8_t> b(sizeof(f));
  std::memcpy(b.data(), &f, sizeof(f));
  return b;
}

uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

class NpyFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(sys::fs::createUniqueDirectory("nvfp4-npy-test", dir));
  }
  void TearDown() override { sys::fs::remove_directories(dir); }

  std::string pathOf(StringRef name) {
    SmallString<128> p(dir);
    sys::path::append(p, name);
    return std::string(p);
  }
  std::vector<uint8_t> contentsOf(StringRef path) {
    auto buf = MemoryBuffer::getFile(path);
    if (!buf) {
      ADD_FAILURE() << "cannot read " << path.str();
      return {};
    }
    StringRef b = (*buf)->getBuffer();
    return std::vector<uint8_t>(b.bytes_begin(), b.bytes_end());
  }
  std::vector<std::string> listDir() {
    std::vector<std::string> names;
    std::error_code ec;
    for (sys::fs::directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec))
      names.push_back(sys::path::filename(it->path()).str());
    EXPECT_FALSE(ec);
    llvm::sort(names);
    return names;
  }

  SmallString<128> dir;
};

//===----------------------------------------------------------------------===//
// Reading NumPy's files
//===----------------------------------------------------------------------===//

TEST(NpyRead, NumpyFloat32Matrix) {
  Array a = valueOf(parseNpy("a.npy", bytesOf(kNumpyF32_2x3)));
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(std::vector<int64_t>(a.shape.begin(), a.shape.end()),
            (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.numElements(), 6);
  EXPECT_EQ(toFloat32(a),
            (std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f}));
}

TEST(NpyRead, NumpyFloat16Specials) {
  Array a = valueOf(parseNpy("h.npy", bytesOf(kNumpyF16Special)));
  EXPECT_EQ(a.dtype, DType::F16);
  ASSERT_EQ(a.shape.size(), 1u);
  EXPECT_EQ(a.shape[0], 8);
  std::vector<float> f = toFloat32(a);
  ASSERT_EQ(f.size(), 8u);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(floatBits(f[1]), 0x80000000u);   // -0, sign kept
  EXPECT_EQ(f[2], std::ldexp(1.0f, -24));    // smallest subnormal
  EXPECT_EQ(f[3], std::ldexp(1023.0f, -24)); // largest subnormal
  EXPECT_EQ(f[4], 65504.0f);
  EXPECT_EQ(f[5], std::numeric_limits<float>::infinity());
  EXPECT_EQ(f[6], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f[7]));
}

TEST(NpyRead, NumpyOtherDTypes) {
  Array u8 = valueOf(parseNpy("u.npy", bytesOf(kNumpyU8Scalar)));
  EXPECT_EQ(u8.dtype, DType::U8);
  EXPECT_TRUE(u8.shape.empty());
  EXPECT_EQ(u8.numElements(), 1);
  EXPECT_EQ(toFloat32(u8), std::vector<float>{200.0f});

  Array empty = valueOf(parseNpy("e.npy", bytesOf(kNumpyI64Empty0x4)));
  EXPECT_EQ(empty.dtype, DType::I64);
  EXPECT_EQ(std::vector<int64_t>(empty.shape.begin(), empty.shape.end()),
            (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(empty.numElements(), 0);
  EXPECT_TRUE(empty.bytes.empty());
  EXPECT_TRUE(toFloat32(empty).empty());

  Array i64 = valueOf(parseNpy("i.npy", bytesOf(kNumpyI64_3)));
  EXPECT_EQ(i64.dtype, DType::I64);
  EXPECT_EQ(toFloat32(i64), (std::vector<float>{-3.0f, 0.0f, 0x1p40f}));

  Array f64 = valueOf(parseNpy("d.npy", bytesOf(kNumpyF64_5)));
  EXPECT_EQ(f64.dtype, DType::F64);
  std::vector<float> f = toFloat32(f64);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0], 1.5f);
  EXPECT_EQ(f[1], -2.25f);
  EXPECT_EQ(f[2], std::numeric_limits<float>::infinity()); // 1e300 overflows
  EXPECT_EQ(f[3], 0.0f);
  EXPECT_EQ(floatBits(f[4]), 0x80000000u); // -1e-300 underflows to -0
}

TEST(NpyRead, NumpyVersions2And3) {
  Array v2 = valueOf(parseNpy("v2.npy", bytesOf(kNumpyF32V2)));
  EXPECT_EQ(toFloat32(v2), (std::vector<float>{1.0f, 2.0f, 3.0f}));
  Array v3 = valueOf(parseNpy("v3.npy", bytesOf(kNumpyF32V3)));
  EXPECT_EQ(toFloat32(v3), (std::vector<float>{4.0f, 5.0f}));
}

TEST(NpyRead, RejectsUnsupportedNumpyFiles) {
  EXPECT_EQ(errorOf(parseNpy("f.npy", bytesOf(kNumpyFortran))),
            "f.npy: fortran_order=True is not supported (save a C-contiguous "
            "array, e.g. np.ascontiguousarray)");
  EXPECT_EQ(errorOf(parseNpy("b.npy", bytesOf(kNumpyBigEndian))),
            "b.npy: big-endian dtype '>f4' is not supported (expected "
            "little-endian)");
  EXPECT_EQ(errorOf(parseNpy("input.npy", bytesOf(kNumpyI32))),
            "input.npy: unsupported dtype '<i4' (expected float32, float16, "
            "float64, uint8 or int64)");
  EXPECT_EQ(errorOf(parseNpy("bf.npy", bytesOf(kNumpyBF16))),
            "bf.npy: unsupported dtype '<V2' (raw void, e.g. bfloat16 from "
            "ml_dtypes; save it as float32 instead)");
  // Older NumPy wrote void types with '|'.
  EXPECT_EQ(errorOf(parseNpy("bf.npy",
                             makeNpy("{'descr': '|V2', 'fortran_order': False, "
                                     "'shape': (1,), }",
                                     {0, 0}))),
            "bf.npy: unsupported dtype '|V2' (raw void, e.g. bfloat16 from "
            "ml_dtypes; save it as float32 instead)");
}

//===----------------------------------------------------------------------===//
// Header tolerance and strictness
//===----------------------------------------------------------------------===//

TEST(NpyHeader, AcceptsVariantSpellings) {
  std::vector<uint8_t> data(12 * sizeof(float), 0);
  for (StringRef dict : {
           "{'descr':'<f4','fortran_order':False,'shape':(3,4)}",
           "{ \"shape\" : ( 3 , 4 , ) , \"descr\" : \"<f4\" ,\t"
           "\"fortran_order\" : False }   \n  ",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 4L), }",
           "{'descr': '=f4', 'fortran_order': False, 'shape': (3, 4), }",
       }) {
    Expected<Array> a = parseNpy("x.npy", makeNpy(dict, data));
    ASSERT_TRUE(bool(a)) << dict.str() << ": " << toString(a.takeError());
    EXPECT_EQ(a->dtype, DType::F32);
    EXPECT_EQ(std::vector<int64_t>(a->shape.begin(), a->shape.end()),
              (std::vector<int64_t>{3, 4}));
  }
  // Byte order is irrelevant for one-byte types.
  for (StringRef descr : {"|u1", "<u1", "=u1", ">u1"}) {
    std::string dict =
        ("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2,)}")
            .str();
    Expected<Array> a = parseNpy("x.npy", makeNpy(dict, {7, 9}));
    ASSERT_TRUE(bool(a)) << descr.str() << ": " << toString(a.takeError());
    EXPECT_EQ(toFloat32(*a), (std::vector<float>{7.0f, 9.0f}));
  }
  // Fortran order is harmless when at most one dimension exceeds 1, as in the
  // 1-d arrays that column-major writers (e.g. Julia) emit.
  for (StringRef shape : {"(2,)", "(1, 2, 1)", "(0, 3)"}) {
    std::string dict =
        ("{'descr': '|u1', 'fortran_order': True, 'shape': " + shape + "}")
            .str();
    std::vector<uint8_t> bytes(shape == "(0, 3)" ? 0 : 2, 1);
    Expected<Array> a = parseNpy("x.npy", makeNpy(dict, bytes));
    EXPECT_TRUE(bool(a)) << shape.str() << ": " << toString(a.takeError());
  }
}

TEST(NpyHeader, RejectsMalformedHeaders) {
  const char *kOk = "'descr': '<f4', 'fortran_order': False";
  struct Case {
    std::string dict;
    const char *message;
  } cases[] = {
      {"", "expected '{'"},
      {"['descr']", "expected '{'"},
      {"{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"},
      {"{'shape': (1,), 'fortran_order': False}", "missing key 'descr'"},
      {"{'descr': '<f4', 'shape': (1,)}", "missing key 'fortran_order'"},
      {std::string("{") + kOk + ", 'shape': (1,), 'extra': 1}",
       "unexpected key 'extra'"},
      {std::string("{") + kOk + ", 'shape': (1,), 'descr': '<f4'}",
       "duplicate key 'descr'"},
      {std::string("{") + kOk + ", 'shape': (1)}", "'shape' must be a tuple"},
      {std::string("{") + kOk + ", 'shape': [1]}",
       "expected a tuple for 'shape'"},
      {std::string("{") + kOk + ", 'shape': (-1,)}",
       "invalid dimension in 'shape'"},
      {std::string("{") + kOk + ", 'shape': (1,,)}",
       "invalid dimension in 'shape'"},
      {std::string("{") + kOk + ", 'shape': (01,)}",
       "invalid dimension in 'shape'"},
      {std::string("{") + kOk + ", 'shape': (99999999999999999999,)}",
       "invalid dimension in 'shape'"},
      {std::string("{") + kOk + ", 'shape': (1 2)}",
       "expected ',' or ')' in 'shape'"},
      {std::string("{") + kOk + ", 'shape': (4611686018427387904, 4)}",
       "shape is too large"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
       "expected True or False for 'fortran_order'"},
      {"{'descr': '<f4 , 'fortran_order': False, 'shape': (1,)}",
       "expected ',' or '}' after value of 'descr'"},
      {"{'descr': '<f4\", 'fortran_order': False, 'shape': (1,)}",
       "unterminated or unsupported string literal"},
      {"{'descr': '<\\x66\\x34', 'fortran_order': False, 'shape': (1,)}",
       "unterminated or unsupported string literal"},
      {"{descr: '<f4', 'fortran_order': False, 'shape': (1,)}",
       "expected a quoted string"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",
       "expected ',' or '}' after value of 'descr'"},
      {std::string("{") + kOk + ", 'shape': (1,)} x",
       "unexpected text after '}'"},
      {std::string("{") + kOk + ", 'shape': (1,)",
       "expected ',' or '}' after value of 'shape'"},
      {std::string("{") + kOk + ", 'shape': (1,), ",
       "expected a quoted string"},
  };
  for (const Case &c : cases)
    EXPECT_EQ(errorOf(parseNpy("m.npy", makeNpy(c.dict, bitsOf(1.0f)))),
              std::string("m.npy: malformed header: ") + c.message)
        << c.dict;

  EXPECT_EQ(errorOf(parseNpy(
                "s.npy", makeNpy("{'descr': [('a', '<f4')], 'fortran_order': "
                                 "False, 'shape': (1,)}"))),
            "s.npy: unsupported structured dtype");
}

TEST(NpyHeader, RejectsBadFraming) {
  EXPECT_EQ(errorOf(parseNpy("e.npy", {})),
            "e.npy: not a .npy file (bad magic)");
  EXPECT_EQ(errorOf(parseNpy("t.npy", bytesOf("PK\x03\x04 zip archive"))),
            "t.npy: not a .npy file (bad magic)");
  EXPECT_EQ(errorOf(parseNpy("t.npy", bytesOf("\x93NUMPY\x01"))),
            "t.npy: truncated header");
  EXPECT_EQ(errorOf(parseNpy("t.npy", bytesOf("\x93NUMPY\x01\x00\x76"))),
            "t.npy: truncated header");
  EXPECT_EQ(
      errorOf(parseNpy("t.npy", bytesOf("\x93NUMPY\x02\x00\x76\x00\x00"))),
      "t.npy: truncated header");
  ArrayRef<uint8_t> f32 = bytesOf(kNumpyF32_2x3);
  EXPECT_EQ(errorOf(parseNpy("t.npy", f32.take_front(100))),
            "t.npy: truncated header");
  EXPECT_EQ(errorOf(parseNpy("t.npy", f32.drop_back())),
            "t.npy: truncated data: expected 24 bytes, got 23");
  EXPECT_EQ(errorOf(parseNpy("t.npy", f32.take_front(128))),
            "t.npy: truncated data: expected 24 bytes, got 0");
  std::vector<uint8_t> longer(f32.begin(), f32.end());
  longer.push_back(0);
  EXPECT_EQ(errorOf(parseNpy("t.npy", longer)),
            "t.npy: unexpected 1 trailing bytes after array data");

  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': ()}";
  EXPECT_EQ(errorOf(parseNpy("v.npy", makeNpy(dict, bitsOf(1.0f), 4, 0))),
            "v.npy: unsupported .npy format version 4.0");
  EXPECT_EQ(errorOf(parseNpy("v.npy", makeNpy(dict, bitsOf(1.0f), 1, 1))),
            "v.npy: unsupported .npy format version 1.1");
  EXPECT_EQ(errorOf(parseNpy("v.npy", makeNpy(dict, bitsOf(1.0f), 0, 0))),
            "v.npy: unsupported .npy format version 0.0");
}

TEST_F(NpyFileTest, ReadErrors) {
  std::string missing = pathOf("missing.npy");
  EXPECT_EQ(errorOf(readNpy(missing)),
            missing + ": cannot read file: no such file or directory");
  EXPECT_EQ(errorOf(readNpy(dir)),
            std::string(dir) + ": cannot read file: is a directory");
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

TEST_F(NpyFileTest, RoundTripsEveryDTypeAndShape) {
  const DType dtypes[] = {DType::F32, DType::F16, DType::U8, DType::I64,
                          DType::F64};
  const std::vector<int64_t> shapes[] = {{}, {5}, {3, 4}, {0, 4}};
  for (DType dtype : dtypes) {
    for (const std::vector<int64_t> &shape : shapes) {
      std::string name = dtypeName(dtype).str();
      for (int64_t d : shape)
        name += "-" + std::to_string(d);
      name += ".npy";
      SCOPED_TRACE(name);
      int64_t n = 1;
      for (int64_t d : shape)
        n *= d;
      std::vector<uint8_t> data(n * elementSize(dtype));
      for (size_t i = 0; i < data.size(); ++i)
        data[i] = uint8_t(i * 37 + 11);
      std::string path = pathOf(name);
      if (Error e = writeNpy(path, dtype, shape, data.data()))
        FAIL() << toString(std::move(e));
      Array a = valueOf(readNpy(path));
      EXPECT_EQ(a.dtype, dtype);
      EXPECT_EQ(std::vector<int64_t>(a.shape.begin(), a.shape.end()), shape);
      EXPECT_EQ(a.numElements(), n);
      EXPECT_EQ(a.bytes, data);
      // NumPy aligns the data to 64 bytes.
      EXPECT_EQ((contentsOf(path).size() - data.size()) % 64, 0u);
    }
  }
}

TEST_F(NpyFileTest, WritesExactlyWhatNumpyWrites) {
  // Parse each NumPy file, write its array back, and expect the same bytes.
  for (ArrayRef<uint8_t> numpy :
       {bytesOf(kNumpyF32_2x3), bytesOf(kNumpyF16Special),
        bytesOf(kNumpyU8Scalar), bytesOf(kNumpyI64Empty0x4),
        bytesOf(kNumpyI64_3), bytesOf(kNumpyF64_5)}) {
    Array a = valueOf(parseNpy("numpy.npy", numpy));
    std::string path = pathOf("ours.npy");
    if (Error e = writeNpy(path, a.dtype, a.shape, a.bytes.data()))
      FAIL() << toString(std::move(e));
    std::vector<uint8_t> ours = contentsOf(path);
    EXPECT_EQ(std::string(ours.begin(), ours.end()),
              std::string(numpy.begin(), numpy.end()));
  }
}

TEST_F(NpyFileTest, UsesVersion2ForHugeHeaders) {
  // 30000 dimensions of size 1 need a ~90 KB header, past 1.0's u16 length.
  // (NumPy itself caps ndim at 64, so this only exercises the fallback.)
  std::vector<int64_t> shape(30000, 1);
  float value = 3.5f;
  std::string path = pathOf("wide.npy");
  ASSERT_FALSE(bool(writeNpy(path, DType::F32, shape, &value)));
  std::vector<uint8_t> bytes = contentsOf(path);
  ASSERT_GT(bytes.size(), 12u);
  EXPECT_EQ(bytes[6], 2);
  EXPECT_EQ(bytes[7], 0);
  EXPECT_EQ((bytes.size() - sizeof(float)) % 64, 0u);
  Array a = valueOf(readNpy(path));
  EXPECT_EQ(a.shape.size(), shape.size());
  EXPECT_EQ(toFloat32(a), std::vector<float>{3.5f});
}

TEST_F(NpyFileTest, WriteErrors) {
  float f = 1.0f;
  std::string bad = pathOf("no-such-dir/out.npy");
  EXPECT_EQ(errorOf(writeNpy(bad, DType::F32, {1}, &f)),
            bad + ": cannot create file: no such file or directory");
  std::string path = pathOf("out.npy");
  EXPECT_EQ(errorOf(writeNpy(path, DType::BF16, {1}, &f)),
            path + ": cannot write bfloat16: it has no NumPy dtype (convert "
                   "to float32 first)");
  EXPECT_EQ(errorOf(writeNpy(path, DType::F32, {2, -1}, &f)),
            path + ": invalid shape (negative or too large dimension)");
  EXPECT_EQ(errorOf(writeNpy(path, DType::F32,
                             {int64_t(1) << 40, int64_t(1) << 40}, &f)),
            path + ": invalid shape (negative or too large dimension)");
  EXPECT_EQ(errorOf(writeNpy(path, DType::F32, {1}, nullptr)),
            path + ": no data for a non-empty array");
  // Empty arrays need no data pointer.
  EXPECT_FALSE(bool(writeNpy(path, DType::F32, {0, 4}, nullptr)));
  EXPECT_EQ(listDir(), std::vector<std::string>{"out.npy"});
}

TEST_F(NpyFileTest, WriteIsAtomic) {
  std::string path = pathOf("w.npy");
  float one = 1.0f, two[] = {2.0f, 3.0f};
  ASSERT_FALSE(bool(writeNpy(path, DType::F32, {}, &one)));
  // Overwriting replaces the file and leaves no temporary behind.
  ASSERT_FALSE(bool(writeNpy(path, DType::F32, {2}, two)));
  EXPECT_EQ(toFloat32(valueOf(readNpy(path))),
            (std::vector<float>{2.0f, 3.0f}));
  EXPECT_EQ(listDir(), std::vector<std::string>{"w.npy"});

  // When the final rename fails (the destination is a non-empty directory),
  // the data written to the temporary must be cleaned up.
  std::string sub = pathOf("sub");
  ASSERT_FALSE(sys::fs::create_directory(sub));
  ASSERT_FALSE(bool(writeNpy(sub + "/x.npy", DType::F32, {}, &one)));
  std::string err = errorOf(writeNpy(sub, DType::F32, {}, &one));
  EXPECT_TRUE(StringRef(err).starts_with(sub + ": cannot write file: ")) << err;
  EXPECT_EQ(listDir(), (std::vector<std::string>{"sub", "w.npy"}));
}

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

TEST(NpyConvert, HalfToFloatIsExactForAllBitPatterns) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    float f = halfBitsToFloat(uint16_t(h));
    APFloat ref(APFloat::IEEEhalf(), APInt(16, h));
    if (ref.isNaN()) {
      // NaN payloads are kept bit for bit, like NumPy's npy_half_to_float
      // (APFloat would quiet signalling NaNs).
      EXPECT_EQ(floatBits(f),
                ((h & 0x8000u) << 16) | 0x7f800000u | ((h & 0x3ffu) << 13))
          << h;
      continue;
    }
    bool losesInfo = true;
    ref.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven,
                &losesInfo);
    EXPECT_FALSE(losesInfo);
    EXPECT_EQ(floatBits(f), uint32_t(ref.bitcastToAPInt().getZExtValue()))
        << "half bits 0x" << utohexstr(h);
  }
}

TEST(NpyConvert, InMemoryBFloat16AndIntegers) {
  Array bf16;
  bf16.dtype = DType::BF16;
  bf16.shape = {4};
  // 1.0, -0.0, smallest bf16 subnormal (0x0001 -> 2^-133), +inf.
  bf16.bytes = {0x80, 0x3f, 0x00, 0x80, 0x01, 0x00, 0x80, 0x7f};
  std::vector<float> f = toFloat32(bf16);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(floatBits(f[1]), 0x80000000u);
  EXPECT_EQ(f[2], std::ldexp(1.0f, -133));
  EXPECT_EQ(f[3], std::numeric_limits<float>::infinity());

  Array i64;
  i64.dtype = DType::I64;
  i64.shape = {2};
  int64_t ints[] = {-(int64_t(1) << 62), 16777217}; // 2^24 + 1 rounds to even
  i64.bytes.resize(sizeof(ints));
  std::memcpy(i64.bytes.data(), ints, sizeof(ints));
  EXPECT_EQ(toFloat32(i64), (std::vector<float>{-0x1p62f, 16777216.0f}));
}

TEST(NpyConvert, DTypeProperties) {
  EXPECT_EQ(elementSize(DType::F32), 4u);
  EXPECT_EQ(elementSize(DType::F16), 2u);
  EXPECT_EQ(elementSize(DType::BF16), 2u);
  EXPECT_EQ(elementSize(DType::U8), 1u);
  EXPECT_EQ(elementSize(DType::I64), 8u);
  EXPECT_EQ(elementSize(DType::F64), 8u);
  EXPECT_EQ(dtypeName(DType::BF16), "bfloat16");
  Array scalar;
  EXPECT_EQ(scalar.numElements(), 1);
}

} // namespace
