//===- DescribeKernelTest.cpp - KernelInfo from a kernel's attributes -----===//
//
// describeKernel (GPURunner.cpp) reads what the runtime launches a kernel
// with from the gpu.func attributes of NVFP4KernelInterface.h. The tensor
// maps are checked here on a hand-written kernel: the GEMM kernels the
// runtime compiles have a dynamic K, so none of them is sm_100a's TMA
// kernel (which needs K static).
//
//===----------------------------------------------------------------------===//

#include "nvfp4/InitAll.h"
#include "nvfp4/Runtime/GPURunner.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <vector>

namespace {
constexpr const char *kKernel = R"mlir(
gpu.module @kernels {
  gpu.func @gemm(%a: memref<?x32xi8>, %s: memref<?x4xf8E4M3FN>,
                 %b: memref<?x32xi8>, %t: memref<?x4xf8E4M3FN>,
                 %am: !llvm.ptr, %bm: !llvm.ptr) kernel attributes {
      known_block_size = array<i32: 256, 1, 1>,
      nvfp4.work = "gemm", nvfp4.gemm_tile = array<i64: 128, 128>,
      nvfp4.gemm_max_m = 0 : i64, nvfp4.gemm_persistent,
      nvfp4.bulk_copy_operands = array<i64: 1, 3>,
      nvfp4.tensor_maps = [
        #nvfp4.tensor_map<arg = 4, operand = 0, box = [32, 128], swizzle = 32>,
        #nvfp4.tensor_map<arg = 5, operand = 2, box = [32, 256], swizzle = 0>]} {
    gpu.return
  }
}
)mlir";

/// A predecoded GEMM's kernels (NVFP4KernelInterface.h): a gemm_decode
/// kernel filling workspace B and the GEMM kernel reading both workspaces.
constexpr const char *kPredecoded = R"mlir(
gpu.module @kernels {
  gpu.func @decode_b(%w: memref<?x?xf16>) kernel attributes {
      known_block_size = array<i32: 256, 1, 1>, nvfp4.pdl,
      nvfp4.work = "gemm_decode", nvfp4.gemm_operand = 1 : i64} {
    gpu.return
  }
  gpu.func @gemm(%w: memref<?x?xf16>) kernel attributes {
      known_block_size = array<i32: 256, 1, 1>,
      nvfp4.work = "gemm", nvfp4.gemm_tile = array<i64: 128, 256>,
      nvfp4.gemm_max_m = 0 : i64, nvfp4.gemm_smem = 98304 : i64,
      nvfp4.gemm_workspace} {
    gpu.return
  }
  gpu.func @direct(%w: memref<?x?xf16>) kernel attributes {
      known_block_size = array<i32: 128, 1, 1>,
      nvfp4.work = "gemm", nvfp4.gemm_tile = array<i64: 16, 32>,
      nvfp4.gemm_max_m = 16 : i64, nvfp4.gemm_workspace = false} {
    gpu.return
  }
}
)mlir";

/// The kernels of `text` described, in order.
std::vector<nvfp4::KernelInfo> describeAll(const char *text) {
  mlir::DialectRegistry registry;
  mlir::nvfp4::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  std::vector<nvfp4::KernelInfo> kernels;
  if (module)
    module->walk([&](mlir::gpu::GPUFuncOp f) {
      kernels.push_back(nvfp4::describeKernel(f));
    });
  return kernels;
}

TEST(DescribeKernel, TensorMapsAndBulkCopies) {
  std::vector<nvfp4::KernelInfo> kernels = describeAll(kKernel);
  ASSERT_EQ(kernels.size(), 1u);
  const nvfp4::KernelInfo &k = kernels[0];
  EXPECT_EQ(k.name, "gemm");
  EXPECT_EQ(k.threads, 256);
  EXPECT_TRUE(k.persistent);
  ASSERT_EQ(k.tensorMaps.size(), 2u);
  EXPECT_EQ(k.tensorMaps[0].operand, 0);
  EXPECT_EQ(k.tensorMaps[0].box[0], 32);
  EXPECT_EQ(k.tensorMaps[0].box[1], 128);
  EXPECT_EQ(k.tensorMaps[0].swizzle, 32);
  EXPECT_EQ(k.tensorMaps[1].operand, 2);
  EXPECT_EQ(k.tensorMaps[1].box[1], 256);
  EXPECT_EQ(k.tensorMaps[1].swizzle, 0);
  EXPECT_EQ(k.bulkCopyOperands, (std::vector<int64_t>{1, 3}));
  EXPECT_FALSE(k.gemmWorkspace);
  EXPECT_EQ(k.gemmOperand, -1);
}

TEST(DescribeKernel, GemmDecodeAndWorkspace) {
  std::vector<nvfp4::KernelInfo> kernels = describeAll(kPredecoded);
  ASSERT_EQ(kernels.size(), 3u);
  const nvfp4::KernelInfo &decode = kernels[0];
  EXPECT_EQ(decode.name, "decode_b");
  EXPECT_EQ(decode.work, mlir::nvfp4::KernelWork::GemmDecode);
  EXPECT_EQ(decode.gemmOperand, 1);
  EXPECT_FALSE(decode.gemmWorkspace);
  EXPECT_EQ(decode.threads, 256);
  EXPECT_TRUE(decode.pdl);
  EXPECT_EQ(decode.maxM, 0);
  EXPECT_EQ(decode.tileM, 0);
  const nvfp4::KernelInfo &gemm = kernels[1];
  EXPECT_EQ(gemm.work, mlir::nvfp4::KernelWork::Gemm);
  EXPECT_TRUE(gemm.gemmWorkspace);
  EXPECT_EQ(gemm.gemmOperand, -1);
  EXPECT_EQ(gemm.tileM, 128);
  EXPECT_EQ(gemm.tileN, 256);
  EXPECT_EQ(gemm.sharedBytes, 98304);
  // The flag as a BoolAttr: false is no workspace.
  EXPECT_FALSE(kernels[2].gemmWorkspace);
}
} // namespace
