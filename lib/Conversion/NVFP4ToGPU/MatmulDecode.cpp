//===- MatmulDecode.cpp - GEMM operands decoded once into a workspace -----===//
//
// The gemm_decode kernels of the predecoded large-M GEMM (nvfp4-to-gpu's
// predecoded-gemm option; NVFP4KernelInterface.h states the contract). A
// kernel that decodes inside its K loop decodes every element of A once per
// tile column and every element of B once per tile row (32 times each at
// M = 4096, N = 8192 with 128 x 256 tiles), which bounds sm_90a's large-M
// GEMM by its CUDA cores (docs/Performance.md). Here each element is decoded
// once, by a memory-bound kernel, into a row-major workspace of 16-bit
// floats whose rows are padded with zeros to whole 64-wide chunks; the
// GEMM then multiplies 16-bit operands (MatmulToGPU.cpp, predecodedLoop).
//
// A thread writes 16 elements (one NVFP4 block) of a workspace row as two
// 16-byte stores, in the K order of the word decode (gemmDecodeF16Nibbles:
// elements 0 4 1 5 2 6 3 7 of each 8), the order the in-loop decode stores
// too; a 16-bit A (W4A16) is permuted into the same order
// (gemmPermuteA16Block), so A and B agree and the dot products are
// unchanged. Values are e2m1 * sf * 2^-kGemmDecodeShift, exact in f16 and
// bf16, as in every other GEMM kernel.
//===----------------------------------------------------------------------===//

#include "MatmulToGPU.h"

#include "nvfp4/Conversion/LoweringBuilder.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
#include "nvfp4/Numerics/GemmNumerics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::nvfp4;
using namespace mlir::nvfp4::detail;

Type mlir::nvfp4::detail::gemmWorkspaceElement(GemmOp op) {
  Type a16 = op.a16();
  // bf16 tensor cores take B decoded to bf16 (a bf16 A); f16 otherwise.
  if (a16 && a16.isBF16())
    return BFloat16Type::get(op.getContext());
  return Float16Type::get(op.getContext());
}

SmallVector<Type, 2> mlir::nvfp4::detail::gemmWorkspaceTypes(GemmOp op) {
  auto type = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                              gemmWorkspaceElement(op));
  return {type, type};
}

Value mlir::nvfp4::detail::gemmK(LoweringBuilder &e, GemmOp op, Value aData) {
  // A 16-bit A holds K elements per row; packed E2M1 rows hold K / 2 bytes.
  if (op.a16())
    return e.dim(aData, 1);
  return e.mulI(e.dim(aData, 1), e.idx(2));
}

namespace {
/// The body of the gemm_decode kernel of workspace `operand`.
class DecodeEmitter {
public:
  DecodeEmitter(LoweringBuilder &e, GemmOp op, const GemmOperands &v,
                ArrayRef<Value> workspaces, int64_t operand)
      : e(e), b(e.builder()), loc(e.location()), m(e.math()), op(op), v(v),
        workspace(workspaces[operand]), operand(operand) {}

  void emit() {
    bool isA = operand == 0;
    Value data = isA ? v.aData : v.bData;
    Value rows = e.dim(data, 0);
    Value k = gemmK(e, op, v.aData);
    Value blocksPerRow = e.divI(gemmDecodedK(e, k), kBlock);
    Value id = e.addI(e.mulI(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                             e.idx(kKernelBlockThreads)),
                      gpu::ThreadIdOp::create(b, gpu::Dimension::x));
    Value inRange = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, id,
                                          e.mulI(rows, blocksPerRow));
    auto ifOp = scf::IfOp::create(b, inRange, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    Value row = e.divI(id, blocksPerRow);
    Value blk = e.remI(id, blocksPerRow);
    SmallVector<Value> words =
        isA && op.a16()
            ? a16Block(data, row, blk, k)
            : decodedBlock(data, isA ? v.aScale : v.bScale, row, blk, k);
    // Two 16-byte stores: elements (in the decode's K order) 16 blk .. +7
    // and 16 blk + 8 .. +15 of the row. The row pitch (a multiple of 128
    // bytes) keeps them aligned.
    Type element = cast<MemRefType>(workspace.getType()).getElementType();
    auto i32x4 = VectorType::get({4}, b.getI32Type());
    auto halves = VectorType::get({8}, element);
    for (int64_t h = 0; h < 2; ++h) {
      Value packed = vector::FromElementsOp::create(
          b, i32x4, ArrayRef<Value>(words).slice(4 * h, 4));
      vector::StoreOp::create(
          b, vector::BitCastOp::create(b, halves, packed), workspace,
          ValueRange{row, e.addI(e.mulI(blk, e.idx(kBlock)), e.idx(8 * h))},
          /*nontemporal=*/false, llvm::MaybeAlign(16));
    }
  }

private:
  /// The 8 pair registers (i32) of NVFP4 block `blk` of `row`: decoded
  /// with the block's multiplier, zeros for blocks past K (the padding).
  SmallVector<Value> decodedBlock(Value data, Value scale, Value row, Value blk,
                                  Value k) {
    Value numBlocks = e.divI(k, kBlock);
    Value valid =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, blk, numBlocks);
    Value safeBlk = e.minI(blk, arith::SubIOp::create(b, numBlocks, e.idx(1)));
    Value bytes =
        vector::LoadOp::create(b, VectorType::get({8}, b.getI8Type()), data,
                               ValueRange{row, e.mulI(safeBlk, e.idx(8))},
                               /*nontemporal=*/false, llvm::MaybeAlign(8));
    bytes = vector::BitCastOp::create(b, VectorType::get({2}, b.getI32Type()),
                                      bytes);
    Value sf = gemmLoadScaleByte(b, loc, scale, row, safeBlk, numBlocks);
    // Byte 0x00 is 0.0: the padding past K decodes to zeros.
    sf = m.select(valid, sf, m.i32(0));
    bool bf16 = gemmWorkspaceElement(op).isBF16();
    Value multiplier =
        bf16 ? gemmDecodeScaleBF16x2(b, loc, m.decodeScaleE4M3(sf))
             : gemmDecodeScaleF16x2(b, loc, m.decodeE4M3ToF16x2(sf));
    SmallVector<Value> words;
    for (int64_t h = 0; h < 2; ++h) {
      Value word = vector::ExtractOp::create(b, bytes, h);
      for (int64_t i = 0; i < 4; ++i) {
        Value pair = bf16 ? gemmDecodeBF16Nibbles(b, loc, word, i, multiplier)
                          : gemmDecodeF16Nibbles(b, loc, word, i, multiplier);
        words.push_back(f16x2AsI32(b, pair));
      }
    }
    return words;
  }

  /// The 8 pair registers of elements 16 blk .. 16 blk + 15 of row `row`
  /// of a 16-bit A, permuted into the decode's K order; zeros past K.
  SmallVector<Value> a16Block(Value a, Value row, Value blk, Value k) {
    Type element = cast<MemRefType>(a.getType()).getElementType();
    Value last = arith::SubIOp::create(b, k, e.idx(1));
    Value zero = arith::ConstantOp::create(b, b.getZeroAttr(element));
    SmallVector<Value, kBlock> values;
    for (int64_t j = 0; j < kBlock; ++j) {
      Value col = e.addI(e.mulI(blk, e.idx(kBlock)), e.idx(j));
      Value x =
          memref::LoadOp::create(b, a, ValueRange{row, e.minI(col, last)});
      values.push_back(arith::SelectOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, col, k), x,
          zero));
    }
    SmallVector<Value, 8> words;
    auto pairType = VectorType::get({2}, element);
    for (int64_t w = 0; w < 8; ++w) {
      Value pair = vector::FromElementsOp::create(
          b, pairType, ValueRange{values[2 * w], values[2 * w + 1]});
      words.push_back(f16x2AsI32(b, pair));
    }
    return gemmPermuteA16Block(b, words);
  }

  LoweringBuilder &e;
  ImplicitLocOpBuilder &b;
  Location loc;
  NumericsBuilder &m;
  GemmOp op;
  GemmOperands v;
  Value workspace;
  int64_t operand;
};
} // namespace

gpu::GPUFuncOp mlir::nvfp4::detail::buildGemmDecodeKernel(
    GemmOp op, gpu::GPUModuleOp module, StringRef prefix, TargetLeaves &leaves,
    int64_t operand) {
  MLIRContext *ctx = op.getContext();
  OpBuilder ob(ctx);
  ob.setInsertionPointToEnd(module.getBody());
  SmallVector<Type> args(op->getOperandTypes());
  llvm::append_range(args, gemmWorkspaceTypes(op));
  std::string name =
      (prefix + "_gemm_decode_" + (operand == 0 ? "a" : "b")).str();
  auto func = gpu::GPUFuncOp::create(ob, op.getLoc(), name,
                                     FunctionType::get(ctx, args, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), ob.getUnitAttr());
  func.setKnownBlockSizeAttr(
      ob.getDenseI32ArrayAttr({int32_t(kKernelBlockThreads), 1, 1}));
  func->setAttr(kernel_attr::kWork,
                ob.getStringAttr(stringifyKernelWork(KernelWork::GemmDecode)));
  func->setAttr(kernel_attr::kGemmOperand, ob.getI64IntegerAttr(operand));

  auto b =
      ImplicitLocOpBuilder::atBlockBegin(op.getLoc(), &func.getBody().front());
  LoweringBuilder e(b, &leaves);
  GemmOperands v = gemmKernelOperands(func, op);
  DecodeEmitter(e, op, v, gemmWorkspaceArgs(func, op), operand).emit();
  gpu::ReturnOp::create(b);
  return func;
}

void mlir::nvfp4::detail::launchGemmDecodeKernel(ImplicitLocOpBuilder &at,
                                                 gpu::GPUFuncOp func, GemmOp op,
                                                 Value rows,
                                                 ArrayRef<Value> workspaces) {
  LoweringBuilder le(at);
  Value one = le.idx(1);
  Value items = gemmDecodeItems(le, rows, gemmK(le, op, op.getAData()));
  SmallVector<Value> args(op->getOperands());
  args.append(workspaces.begin(), workspaces.end());
  gpu::LaunchFuncOp::create(at, func, {kernelBlocks(le, items), one, one},
                            {le.idx(kKernelBlockThreads), one, one},
                            /*dynamicSharedMemorySize=*/Value(), args);
}
