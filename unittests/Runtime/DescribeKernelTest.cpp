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

TEST(DescribeKernel, TensorMapsAndBulkCopies) {
  mlir::DialectRegistry registry;
  mlir::nvfp4::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(kKernel, &context);
  ASSERT_TRUE(bool(module));
  mlir::gpu::GPUFuncOp func;
  module->walk([&](mlir::gpu::GPUFuncOp f) { func = f; });
  ASSERT_TRUE(bool(func));
  nvfp4::KernelInfo k = nvfp4::describeKernel(func);
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
}
} // namespace
