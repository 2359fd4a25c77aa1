//===- TensorMapTest.cpp - TMA tensor map parameters ----------------------===//
//
// tensorMapEncoding (MatmulLaunch.cpp): the arguments of
// cuTensorMapEncodeTiled the runtime computes for a kernel's
// #nvfp4.tensor_map over an operand, and the errors that name the kernel
// and buffer before anything is enqueued. Pure: the encode call itself
// needs a GPU (the device GEMM tests launch kernels that take maps).
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Runtime/GPURunner.h"

#include "gtest/gtest.h"

using ::nvfp4::KernelTensorMap;
using ::nvfp4::tensorMapEncoding;

namespace {
/// The sm_100a pipelined GEMM's map of A's data: one 64-wide K step (32
/// bytes) of 128 rows, 32-byte swizzle.
constexpr KernelTensorMap kOperandMap{0, {32, 128}, 32};
constexpr nvfp4::CUdeviceptr kAligned = 0x7f0000000100;

std::string errorOf(llvm::Expected<nvfp4::TensorMapEncoding> e) {
  if (e)
    return "";
  return llvm::toString(e.takeError());
}

// A row-major M x K/2 byte matrix is the uint8 tensor {K/2, M}, innermost
// first, with a row pitch of K/2 bytes; the box is the map's, elements are
// not strided, and 32 bytes of swizzle is CU_TENSOR_MAP_SWIZZLE_32B (1).
TEST(TensorMap, OperandDimsStridesBoxAndSwizzle) {
  auto e = tensorMapEncoding(kOperandMap, {300, 2048}, kAligned, "k", "A data");
  ASSERT_TRUE(bool(e)) << llvm::toString(e.takeError());
  EXPECT_EQ(e->dims[0], 2048u);
  EXPECT_EQ(e->dims[1], 300u);
  EXPECT_EQ(e->strides[0], 2048u);
  EXPECT_EQ(e->box[0], 32u);
  EXPECT_EQ(e->box[1], 128u);
  EXPECT_EQ(e->elementStrides[0], 1u);
  EXPECT_EQ(e->elementStrides[1], 1u);
  EXPECT_EQ(e->swizzle, 1);
}

// Fewer rows than the box (M = 1) and a single K step: TMA fills the rest
// of the box with zeros, so the encoding is unchanged.
TEST(TensorMap, BoxLargerThanTheMatrix) {
  auto e = tensorMapEncoding(kOperandMap, {1, 32}, kAligned, "k", "B data");
  ASSERT_TRUE(bool(e)) << llvm::toString(e.takeError());
  EXPECT_EQ(e->dims[0], 32u);
  EXPECT_EQ(e->dims[1], 1u);
  EXPECT_EQ(e->box[1], 128u);
}

// The predecoded GEMM's maps over its 16-bit workspaces (MatmulToGPU.cpp,
// createWorkspaceGemmKernel): the runtime passes the workspace as the byte
// matrix rows x 2 Kd (KernelParams::Operand::elementBytes); boxes of one
// 64-wide chunk, 128 bytes, of 128 rows of A or 256 of B, 128-byte swizzle
// (CU_TENSOR_MAP_SWIZZLE_128B, 3).
TEST(TensorMap, PredecodedWorkspaceBoxes) {
  const int64_t kd = 8192, rowBytes = 2 * kd;
  for (int64_t rows : {128, 256}) {
    KernelTensorMap map{7, {128, rows}, 128};
    auto e = tensorMapEncoding(map, {4096, rowBytes}, kAligned, "k",
                               "GEMM workspace A");
    ASSERT_TRUE(bool(e)) << llvm::toString(e.takeError());
    EXPECT_EQ(e->dims[0], uint64_t(rowBytes));
    EXPECT_EQ(e->dims[1], 4096u);
    EXPECT_EQ(e->strides[0], uint64_t(rowBytes));
    EXPECT_EQ(e->box[0], 128u);
    EXPECT_EQ(e->box[1], uint32_t(rows));
    EXPECT_EQ(e->swizzle, 3);
  }
}

// The CUtensorMapSwizzle values of each swizzle span.
TEST(TensorMap, SwizzleModes) {
  const std::pair<int64_t, int> modes[] = {{0, 0}, {32, 1}, {64, 2}, {128, 3}};
  for (auto [bytes, mode] : modes) {
    KernelTensorMap map{0, {16, 64}, bytes};
    auto e = tensorMapEncoding(map, {64, 256}, kAligned, "k", "A data");
    ASSERT_TRUE(bool(e)) << llvm::toString(e.takeError());
    EXPECT_EQ(e->swizzle, mode) << bytes;
  }
}

// TMA reads 16-byte aligned global memory: a misaligned base or row pitch
// is an error naming the call, the buffer and the kernel.
TEST(TensorMap, MisalignedAddress) {
  EXPECT_EQ(errorOf(tensorMapEncoding(kOperandMap, {128, 2048}, kAligned + 8,
                                      "gemm_tcgen05", "A data")),
            "cannot encode the tensor map (cuTensorMapEncodeTiled) of A data "
            "for gemm_tcgen05: its address 0x7f0000000108 is not 16-byte "
            "aligned");
}

TEST(TensorMap, RowPitchNotAMultipleOf16) {
  EXPECT_EQ(errorOf(tensorMapEncoding(kOperandMap, {128, 40}, kAligned,
                                      "gemm_tcgen05", "B data")),
            "cannot encode the tensor map (cuTensorMapEncodeTiled) of B data "
            "for gemm_tcgen05: its row pitch of 40 bytes is not a multiple "
            "of 16");
}

TEST(TensorMap, EmptyOrNot2D) {
  EXPECT_NE(
      errorOf(tensorMapEncoding(kOperandMap, {0, 32}, kAligned, "k", "A data")),
      "");
  EXPECT_NE(errorOf(tensorMapEncoding(kOperandMap, {4, 4, 32}, kAligned, "k",
                                      "A data")),
            "");
}

TEST(TensorMap, TooManyRows) {
  EXPECT_NE(errorOf(tensorMapEncoding(kOperandMap, {int64_t(1) << 33, 32},
                                      kAligned, "k", "A data")),
            "");
}

// Maps read back from a damaged description are refused, not encoded.
TEST(TensorMap, BadBoxOrSwizzle) {
  EXPECT_NE(errorOf(tensorMapEncoding(KernelTensorMap{0, {64, 128}, 32},
                                      {128, 2048}, kAligned, "k", "A data")),
            "");
  EXPECT_NE(errorOf(tensorMapEncoding(KernelTensorMap{0, {32, 512}, 32},
                                      {128, 2048}, kAligned, "k", "A data")),
            "");
  EXPECT_NE(errorOf(tensorMapEncoding(KernelTensorMap{0, {32, 128}, 16},
                                      {128, 2048}, kAligned, "k", "A data")),
            "");
}
} // namespace
