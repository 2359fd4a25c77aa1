//===- MatmulKernel.cpp - The shell every GEMM kernel shares --------------===//
//
// The parts of a GEMM kernel that do not depend on its schedule: the
// gpu.func with the attributes the runtime reads (nvfp4.work,
// nvfp4.gemm_tile, nvfp4.gemm_max_m), its workgroup buffers, the operands
// among its arguments, the launch, and the scaled store of one result.
// The mma.sync/wgmma (MatmulToGPU.cpp), direct (MatmulDirect.cpp) and
// tcgen05 (MatmulTcgen05.cpp) kernels build their bodies between these.
//
//===----------------------------------------------------------------------===//

#include "MatmulToGPU.h"

#include "../Common/QuantizeEmitter.h"
#include "nvfp4/Numerics/GemmNumerics.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::nvfp4;
using namespace mlir::nvfp4::detail;

gpu::GPUFuncOp
mlir::nvfp4::detail::createGemmKernel(MatmulOp op, gpu::GPUModuleOp module,
                                      StringRef name, int64_t threads,
                                      ArrayRef<int64_t> tile, int64_t maxM) {
  MLIRContext *ctx = op.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  auto type = FunctionType::get(ctx, op->getOperandTypes(), {});
  auto func = gpu::GPUFuncOp::create(b, op.getLoc(), name, type);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));
  func->setAttr("nvfp4.work", b.getStringAttr("gemm"));
  func->setAttr("nvfp4.gemm_tile", b.getDenseI64ArrayAttr(tile));
  func->setAttr("nvfp4.gemm_max_m", b.getI64IntegerAttr(maxM));
  return func;
}

Value mlir::nvfp4::detail::addGemmWorkgroupBuffer(gpu::GPUFuncOp func,
                                                  int64_t size, Type element) {
  MLIRContext *ctx = func.getContext();
  Value buffer = func.addWorkgroupAttribution(
      MemRefType::get(
          {size}, element, MemRefLayoutAttrInterface{},
          gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup)),
      func.getLoc());
  // Fragments are read with 16-byte vector loads: the buffer's own
  // alignment must say so (its element type alone gives 4, and a second
  // buffer would only be 16-byte aligned by the luck of its placement).
  func.setWorkgroupAttributionAttr(
      func.getNumWorkgroupAttributions() - 1,
      LLVM::LLVMDialect::getAlignAttrName(),
      IntegerAttr::get(IntegerType::get(ctx, 64), 16));
  return buffer;
}

GemmOperands mlir::nvfp4::detail::gemmKernelOperands(gpu::GPUFuncOp func,
                                                     MatmulOp op) {
  // Workgroup attributions follow the operands among the block arguments.
  auto args =
      func.getBody().front().getArguments().take_front(op->getNumOperands());
  return {args[0],
          args[1],
          args[2],
          args[3],
          args[4],
          args[5],
          op.getBias() ? args[6] : Value(),
          args.back()};
}

void mlir::nvfp4::detail::launchGemmKernel(OpBuilder &at, Location loc,
                                           gpu::GPUFuncOp func, MatmulOp op,
                                           Value M, Value N, int64_t tileM,
                                           int64_t tileN, int64_t threads,
                                           Value dynamicSmem) {
  LoopEmitter le(at, loc);
  Value one = le.idx(1);
  gpu::LaunchFuncOp::create(
      at, loc, func,
      {le.mulI(le.ceilDivI(N, tileN), le.ceilDivI(M, tileM)), one, one},
      {le.idx(threads), one, one}, dynamicSmem, op->getOperands());
}

std::pair<Value, Value> mlir::nvfp4::detail::gemmBlockTile(LoopEmitter &e,
                                                           Value N,
                                                           int64_t tileM,
                                                           int64_t tileN) {
  Value bid =
      gpu::BlockIdOp::create(e.builder(), e.location(), gpu::Dimension::x);
  Value tilesN = e.ceilDivI(N, tileN);
  Value row = e.mulI(e.divI(bid, tilesN), e.idx(tileM));
  Value col = e.mulI(e.remI(bid, tilesN), e.idx(tileN));
  return {row, col};
}

Value mlir::nvfp4::detail::f16x2AsI32(OpBuilder &b, Location loc, Value f16x2) {
  Value word = vector::BitCastOp::create(
      b, loc, VectorType::get({1}, b.getI32Type()), f16x2);
  return vector::ExtractOp::create(b, loc, word, 0);
}

Value mlir::nvfp4::detail::i32AsF16x2(OpBuilder &b, Location loc, Value i32) {
  Value word = vector::BroadcastOp::create(
      b, loc, VectorType::get({1}, b.getI32Type()), i32);
  return vector::BitCastOp::create(b, loc, VectorType::get({2}, b.getF16Type()),
                                   word);
}

void mlir::nvfp4::detail::mmaSyncF16(OpBuilder &b, Location loc, ValueRange a,
                                     ValueRange bFrag,
                                     MutableArrayRef<Value> acc) {
  Type f32 = b.getF32Type();
  auto resultType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  auto mma = NVVM::MmaOp::create(
      b, loc, resultType, a, bFrag, ValueRange(ArrayRef<Value>(acc)),
      ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::f16, NVVM::MMATypes::f16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  for (int64_t k = 0; k < 4; ++k)
    acc[k] = LLVM::ExtractValueOp::create(b, loc, mma, k);
}

void mlir::nvfp4::detail::storeGemmResult(LoopEmitter &e, MatmulOp op,
                                          const GemmOperands &v, Value acc,
                                          Value row, Value col, Value aAmax,
                                          Value bAmax, Value cConst) {
  OpBuilder &b = e.builder();
  Location loc = e.location();
  Value bias;
  if (v.bias)
    bias = memref::LoadOp::create(b, loc, v.bias, col);
  Value d = gemmEpilogue(b, loc, op.getARecipe(), op.getBRecipe(), acc, aAmax,
                         bAmax, cConst, op.getAlpha().convertToFloat(), bias);
  e.storeValue(d, v.out, {row, col});
}
