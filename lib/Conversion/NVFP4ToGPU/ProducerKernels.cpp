//===- ProducerKernels.cpp - RMSNorm scales in a thread block -------------===//
//
// Thread t of chunk j owns 16-block 256j + t, so the tree's levels map onto
// the block: strides 1..16 are the 32 lanes of a warp (an XOR butterfly:
// every lane ends with its aligned group's sum, and IEEE addition is
// commutative, so lane 0 holds exactly the serial tree's node), strides
// 32..128 the 8 warps (thread 0 sums their partials in tree order), and
// strides of 256 and more the chunks (thread 0 runs the CPU loops over
// their sums in shared memory). A block past the row contributes +0: every
// partial sum is +0 or more, Inf or NaN, and x + +0 = x for all of them, as
// a missing partner adds nothing.
//
//===----------------------------------------------------------------------===//

#include "ProducerKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::nvfp4;
using namespace mlir::nvfp4::detail;

namespace {
constexpr int64_t kThreads = 256;
constexpr int64_t kWarps = kThreads / 32;

MemRefType workgroupF32(MLIRContext *ctx, int64_t n) {
  return MemRefType::get(
      {n}, Float32Type::get(ctx), MemRefLayoutAttrInterface{},
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
}

void ifThen(ImplicitLocOpBuilder &b, Value cond, function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  body();
}
} // namespace

Value mlir::nvfp4::detail::emitRowInverseInBlock(LoweringBuilder &e,
                                                 gpu::GPUFuncOp kernel,
                                                 RMSNormSource &source,
                                                 float eps, Value r,
                                                 Value rstd) {
  ImplicitLocOpBuilder &b = e.builder();
  NumericsBuilder &m = e.math();
  MLIRContext *ctx = b.getContext();
  Location loc = e.location();
  Value warpSums = kernel.addWorkgroupAttribution(workgroupF32(ctx, kWarps), loc);
  Value chunkSums =
      kernel.addWorkgroupAttribution(workgroupF32(ctx, kRMSNormChunks), loc);
  Value invSlot = kernel.addWorkgroupAttribution(workgroupF32(ctx, 1), loc);

  Value k = source.cols(e);
  Value blocks = e.ceilDivI(k, kBlock);
  Value chunks = e.minI(e.ceilDivI(blocks, kThreads), e.idx(kRMSNormChunks));
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value lane = e.remI(tid, e.idx(32));
  Value warp = e.divI(tid, 32);
  auto eq = [&](Value a, Value c) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, a, c);
  };
  Value first = eq(tid, e.idx(0));

  e.loop(e.idx(0), chunks, [&](Value j) {
    Value blk = e.addI(e.mulI(j, e.idx(kThreads)), tid);
    auto own = scf::IfOp::create(
        b, TypeRange{b.getF32Type()},
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, blk, blocks),
        /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(own.thenBlock());
      Value c = e.mulI(blk, e.idx(kBlock));
      Value n = e.minI(e.idx(kBlock), arith::SubIOp::create(b, k, c));
      scf::YieldOp::create(b, source.blockSumSquares(e, r, c, n));
      b.setInsertionPointToStart(own.elseBlock());
      scf::YieldOp::create(b, m.f32(0.0f));
    }
    Value p = own.getResult(0);
    Value width = arith::ConstantIntOp::create(b, 32, 32);
    for (int32_t stride = 1; stride < 32; stride *= 2) {
      Value other = gpu::ShuffleOp::create(
                        b, p, arith::ConstantIntOp::create(b, stride, 32),
                        width, gpu::ShuffleMode::XOR)
                        .getShuffleResult();
      p = m.add(p, other);
    }
    ifThen(b, eq(lane, e.idx(0)), [&] { e.storeF32(p, warpSums, {warp}); });
    gpu::BarrierOp::create(b);
    ifThen(b, first, [&] {
      SmallVector<Value, kWarps> w;
      for (int64_t i = 0; i < kWarps; ++i)
        w.push_back(e.loadF32(warpSums, {e.idx(i)}));
      for (int64_t stride = 1; stride < kWarps; stride *= 2)
        for (int64_t i = 0; i + stride < kWarps; i += 2 * stride)
          w[i] = m.add(w[i], w[i + stride]);
      e.storeF32(w[0], chunkSums, {j});
    });
    // warpSums is rewritten by the next chunk.
    gpu::BarrierOp::create(b);
  });

  ifThen(b, first, [&] {
    // Strides of a chunk and more: the CPU's loops over the chunk sums.
    emitPairwiseTree(e, chunkSums, chunks,
                     /*levels=*/llvm::Log2_64(kRMSNormChunks) + 1);
    Value ss = arith::SelectOp::create(b, eq(chunks, e.idx(0)), m.f32(0.0f),
                                       e.loadF32(chunkSums, {e.idx(0)}));
    Value kF32 = arith::UIToFPOp::create(
        b, b.getF32Type(), arith::IndexCastUIOp::create(b, b.getI64Type(), k));
    e.storeF32(m.roundToStorage(m.rmsInverse(ss, kF32, eps), b.getF32Type()),
               invSlot, {e.idx(0)});
  });
  gpu::BarrierOp::create(b);
  Value inv = e.loadF32(invSlot, {e.idx(0)});
  Value thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  ifThen(b, eq(thread, e.idx(0)), [&] { e.storeF32(inv, rstd, {r}); });
  return inv;
}
