//===- NVFP4ToGPU.cpp - nvfp4 quantize ops to GPU kernels -----------------===//
//
// The GPU schedule of the shared quantization emitter: each kernel maps one
// of the emitter's iteration spaces onto threads (a thread per block, tile,
// window, row or scale byte, or a thread block per row). The kernels' bodies come
// from the same DirectionEmitter and NumericsBuilder as the CPU path; the
// only target-specific code here is the choice of leaves.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Conversion/QuantizeEmitter.h"
#include "nvfp4/Conversion/Chips.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
#include "MatmulToGPU.h"
#include "ProducerKernels.h"
#include "QuantizeTiles.h"
#include "nvfp4/Conversion/Passes.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

#define DEBUG_TYPE "nvfp4-to-gpu"

namespace mlir {
namespace nvfp4 {
#define GEN_PASS_DEF_NVFP4TOGPU
#include "nvfp4/Conversion/Passes.h.inc"
} // namespace nvfp4
} // namespace mlir

using namespace mlir;
using namespace mlir::nvfp4;
using namespace mlir::nvfp4::detail;

namespace {
/// NVVM instructions that give exactly the portable sequences' bytes.
class NVVMLeaves : public TargetLeaves {
public:
  explicit NVVMLeaves(const ChipInfo &chip) : sm(chip.sm), chip(chip) {}

  Value packE2M1Pair(OpBuilder &b, Location loc, Value even,
                     Value odd) override {
    // cvt.rn.satfinite.e2m1x2.f32 exists on the arch- and family-specific
    // Blackwell targets only (Chips.h; LLVM aborts, not diagnoses, on the
    // others). It rounds to nearest even, saturates to 6, keeps the sign of
    // -0.0 and maps NaN to 0x7: SPEC.md section 2.
    if (!chip.nativeE2M1 || isa<VectorType>(even.getType()))
      return {};
    // The instruction puts its first operand in the HIGH nibble.
    Value packed = NVVM::ConvertF32x2ToF4x2Op::create(
        b, loc, b.getI8Type(), odd, even, /*relu=*/false,
        Float4E2M1FNType::get(b.getContext()));
    return arith::ExtUIOp::create(b, loc, b.getI32Type(), packed);
  }

  bool hasE2M1PairLeaf() const override { return chip.nativeE2M1; }

  Value encodeE4M3(OpBuilder &b, Location loc, Value v) override {
    // cvt.rn.satfinite.e4m3x2.f32 (sm_89+): RNE, finite overflow and Inf
    // saturate to 0x7E, NaN -> 0x7F: SPEC.md section 2.
    if (sm < 89 || isa<VectorType>(v.getType()))
      return {};
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    Value packed = NVVM::ConvertF32x2ToF8x2Op::create(
        b, loc, b.getI16Type(), zero, v,
        NVVM::FPRoundingModeAttr::get(b.getContext(), NVVM::FPRoundingMode::RN),
        NVVM::SaturationModeAttr::get(b.getContext(),
                                      NVVM::SaturationMode::SATFINITE),
        b.getBoolAttr(false), TypeAttr::get(Float8E4M3FNType::get(b.getContext())));
    Value low = arith::TruncIOp::create(b, loc, b.getI8Type(), packed);
    return arith::ExtUIOp::create(b, loc, b.getI32Type(), low);
  }

  Value decodeE4M3ToF16x2(OpBuilder &b, Location loc, Value byte) override {
    // cvt.rn.f16x2.e4m3x2 (sm_89+): exact for every E4M3 value (NaN stays
    // NaN), both halves from the same byte.
    if (sm < 89 || isa<VectorType>(byte.getType()))
      return {};
    Value narrow = arith::TruncIOp::create(b, loc, b.getI8Type(), byte);
    Value pair = vector::BroadcastOp::create(
        b, loc, VectorType::get({2}, b.getI8Type()), narrow);
    return NVVM::ConvertF8x2ToF16x2Op::create(
        b, loc, VectorType::get({2}, b.getF16Type()), pair,
        /*relu=*/b.getBoolAttr(false),
        TypeAttr::get(Float8E4M3FNType::get(b.getContext())));
  }

  Value roundToBF16(OpBuilder &b, Location loc, Value v) override {
    // cvt.rn.bf16.f32 (sm_80+): RNE, subnormals kept, overflow to Inf (no
    // satfinite); NaN becomes 0x7FFF, a NaN as the leaf's contract allows.
    // One instruction and a shift instead of about six.
    if (sm < 80 || isa<VectorType>(v.getType()))
      return {};
    Value narrow = arith::TruncFOp::create(b, loc, b.getBF16Type(), v);
    return arith::ExtFOp::create(b, loc, b.getF32Type(), narrow);
  }

  Value e2m1SignWord(OpBuilder &b, Location loc, ArrayRef<Value> v) override {
    // cvt.rn.bf16x2.f32 and min.bf16x2 (sm_80+) take two values at a time:
    // rounding to bf16 never changes the sign of a non-NaN value, and min
    // with 6 maps NaN to +6 (the portable fminf(v, 6)), so the halves' sign
    // bits are the codes' signs. Pairing v[n] with v[n + 4] puts both signs
    // (bits 15 and 31) 12 - 4n bits above their places (4n + 3 and
    // 4n + 19): a shift and a masked OR per pair instead of a min, a shift
    // and a mask per value.
    if (sm < 80 || v.size() != 8 || isa<VectorType>(v[0].getType()))
      return {};
    auto pairBF16 = VectorType::get({2}, b.getBF16Type());
    auto i32 = [&](uint32_t x) {
      return arith::ConstantIntOp::create(b, loc, b.getI32Type(),
                                          int64_t(int32_t(x)));
    };
    Value six = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(pairBF16,
                               b.getFloatAttr(b.getBF16Type(), 6.0)));
    // The intrinsics, not arith.truncf/minnumf on vector<2xbf16>: the
    // backend scalarizes those into a conversion and an f32 min per value.
    auto intrinsic = [&](StringRef name, ValueRange args) {
      return LLVM::CallIntrinsicOp::create(b, loc, pairBF16,
                                           b.getStringAttr(name), args)
          .getResult(0);
    };
    Value word;
    for (unsigned n = 0; n < 4; ++n) {
      // ff2bf16x2.rn(a, b) puts a in the high half.
      Value clamped = intrinsic(
          "llvm.nvvm.fmin.bf16x2",
          {intrinsic("llvm.nvvm.ff2bf16x2.rn", {v[n + 4], v[n]}), six});
      Value bits = vector::ExtractOp::create(
          b, loc,
          vector::BitCastOp::create(
              b, loc, VectorType::get({1}, b.getI32Type()), clamped),
          int64_t(0));
      Value signs = arith::AndIOp::create(
          b, loc, arith::ShRUIOp::create(b, loc, bits, i32(12 - 4 * n)),
          i32((8u << (4 * n)) | (8u << (4 * n + 16))));
      word = word ? arith::OrIOp::create(b, loc, word, signs) : signs;
    }
    return word;
  }

private:
  unsigned sm;
  ChipInfo chip;
};

/// Maps the emitter's iteration spaces onto GPU threads: flat spaces get
/// one thread per point (neighbouring threads on the contiguous index);
/// per-row reductions get a thread block per row (`RowCTAs` kernels) or a
/// thread per row (`Rows` kernels).
class ThreadSchedule : public RowSchedule {
public:
  ThreadSchedule(ImplicitLocOpBuilder &b, KernelWork work) : work(work) {
    globalId = gpu::GlobalIdOp::create(b, gpu::Dimension::x);
    blockId = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    threadId = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    blockSize = gpu::BlockDimOp::create(b, gpu::Dimension::x);
  }

  void forEach(LoweringBuilder &e, Value lb, Value ub,
               function_ref<void(Value)> body) override {
    Value i = e.addI(lb, globalId);
    guarded(e, lt(e, i, ub), [&] { body(i); });
  }

  void forEach2D(LoweringBuilder &e, Value iLb, Value iUb, Value nj,
                 bool jFastest,
                 function_ref<void(Value, Value)> body) override {
    ImplicitLocOpBuilder &b = e.builder();
    if (work == KernelWork::RowCTAs) {
      // A thread block per i; its threads stride over j, neighbours on
      // neighbouring j (the fused per-row kernel's encode).
      Value i = e.addI(iLb, blockId);
      guarded(e, lt(e, i, iUb), [&] {
        auto loop = scf::ForOp::create(b, e.location(), threadId, nj,
                                       blockSize);
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(loop.getBody());
        body(i, loop.getInductionVar());
      });
      return;
    }
    Value ni = arith::SubIOp::create(b, e.location(), iUb, iLb);
    if (work == KernelWork::RowBlockQuads && jFastest) {
      // Four blocks of row i per thread, w = ceil(nj / 4) apart: each of
      // the four passes still gives neighbouring threads neighbouring
      // blocks, and the index division and whatever the body computes
      // from the row alone (a per-tensor outer scale) are paid once per
      // four blocks.
      Value w = e.ceilDivI(nj, 4);
      guarded(e, lt(e, globalId, e.mulI(ni, w)), [&] {
        Value i = e.addI(iLb, e.divI(globalId, w));
        Value j0 = e.remI(globalId, w);
        auto loop = scf::ForOp::create(b, e.location(), e.idx(0), e.idx(4),
                                       e.idx(1));
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(loop.getBody());
        Value j = e.addI(j0, e.mulI(loop.getInductionVar(), w));
        guarded(e, lt(e, j, nj), [&] { body(i, j); });
      });
      return;
    }
    guarded(e, lt(e, globalId, e.mulI(ni, nj)), [&] {
      Value i, j;
      if (jFastest) {
        i = e.addI(iLb, e.divI(globalId, nj));
        j = e.remI(globalId, nj);
      } else {
        i = e.addI(iLb, e.remI(globalId, ni));
        j = e.divI(globalId, ni);
      }
      body(i, j);
    });
  }

  void reduceMaxPerRow(LoweringBuilder &e, Value lb, Value ub, Value nj,
                       function_ref<Value(Value, Value)> value,
                       function_ref<void(Value, Value)> commit) override {
    ImplicitLocOpBuilder &b = e.builder();
    NumericsBuilder &m = e.math();
    if (work != KernelWork::RowCTAs) {
      // A thread per row, walking its blocks.
      forEach(e, lb, ub, [&](Value r) {
        Value acc = e.loop(e.idx(0), nj, {m.f32(0.0f)},
                           [&](Value j, ValueRange args) {
                             return SmallVector<Value>{
                                 m.fmax(args[0], value(r, j))};
                           })[0];
        commit(r, acc);
      });
      return;
    }
    // A thread block per row: threads stride over the row's blocks
    // (neighbours read neighbouring blocks), then reduce across the block.
    // The guard depends on the block index only, so the whole block takes
    // the same branch and the reduction stays uniform.
    // Every thread of the block gets the row's max (all_reduce), kept in
    // `rowMax` for a fused kernel's encode.
    Value r = e.addI(lb, blockId);
    auto ifOp = scf::IfOp::create(b, TypeRange{b.getF32Type()},
                                  lt(e, r, ub), /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, m.f32(0.0f));
      b.setInsertionPointToStart(ifOp.thenBlock());
      auto loop = scf::ForOp::create(b, threadId, nj, blockSize,
                                     ValueRange{m.f32(0.0f)});
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(loop.getBody());
        Value next = m.fmax(loop.getRegionIterArgs()[0],
                            value(r, loop.getInductionVar()));
        scf::YieldOp::create(b, next);
      }
      Value max = gpu::AllReduceOp::create(
          b, loop.getResult(0),
          gpu::AllReduceOperationAttr::get(b.getContext(),
                                           gpu::AllReduceOperation::MAXNUMF),
          /*uniform=*/true);
      guarded(e, arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                       threadId, e.idx(0)),
              [&] { commit(r, max); });
      scf::YieldOp::create(b, max);
    }
    rowMax = ifOp.getResult(0);
  }

  /// The row max of the last reduceMaxPerRow (RowCTAs), in every thread.
  Value lastRowMax() const { return rowMax; }

  bool isParallel() const override { return true; }

  /// The index a grouped kernel splits among groups: the thread's, or the
  /// thread block's for kernels whose blocks own whole rows or tiles.
  Value linearId() const { return perBlock() ? blockId : globalId; }

  /// Makes `linearId()` relative to `base`: in a grouped kernel each group
  /// owns the ids [base, base + its work), and the direction emitter sees
  /// them as an ungrouped kernel's ids for that group alone.
  void rebase(LoweringBuilder &e, Value base) {
    Value &id = perBlock() ? blockId : globalId;
    id = arith::SubIOp::create(e.builder(), e.location(), id, base);
  }

private:
  bool perBlock() const { return work == KernelWork::RowCTAs || work == KernelWork::Tiles; }
  static Value lt(LoweringBuilder &e, Value a, Value b) {
    return arith::CmpIOp::create(e.builder(), e.location(),
                                 arith::CmpIPredicate::ult, a, b);
  }
  static void guarded(LoweringBuilder &e, Value cond,
                      function_ref<void()> body) {
    ImplicitLocOpBuilder &b = e.builder();
    auto ifOp = scf::IfOp::create(b, e.location(), cond, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    body();
  }

  KernelWork work;
  Value globalId, blockId, threadId, blockSize;
  Value rowMax;
};

/// `memref[indices] = max(memref[indices], v)` for an outer amax `v`.
/// Amaxes are +0 or more and never NaN, so their bit patterns order like
/// unsigned integers: one `atom.max.u32` replaces the compare-and-swap loop
/// a float atomic max becomes. Most blocks' values do not raise the stored
/// amax; a plain load first skips their atomics (a stale value is smaller,
/// never larger, so no needed atomic is skipped).
void atomicMaxAmaxBits(LoweringBuilder &e, Value v, Value memref,
                       ValueRange indices) {
  ImplicitLocOpBuilder &b = e.builder();
  Value current = memref::LoadOp::create(b, memref, indices);
  Value raises = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, v,
                                       current);
  auto ifOp = scf::IfOp::create(b, raises, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  // Amax buffers are whole, row-major kernel arguments (offset 0).
  auto type = cast<MemRefType>(memref.getType());
  Value offset = indices[0];
  for (unsigned i = 1; i < indices.size(); ++i)
    offset = e.addI(e.mulI(offset, e.dim(memref, i)), indices[i]);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, memref);
  Value address = e.addI(
      base, e.mulI(offset, e.idx(type.getElementTypeBitWidth() / 8)));
  Value address64 =
      arith::IndexCastUIOp::create(b, b.getI64Type(), address);
  Value pointer = LLVM::IntToPtrOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext()), address64);
  Value bits = arith::BitcastOp::create(b, b.getI32Type(), v);
  // Relaxed, device scope: the value is read by later launches only.
  LLVM::AtomicRMWOp::create(b, LLVM::AtomicBinOp::umax, pointer, bits,
                            LLVM::AtomicOrdering::monotonic,
                            b.getStringAttr("device"));
}

/// The operands of a quantize or grouped_quantize op.
struct QuantizeOperands {
  Operation *op;
  RecipeAttr recipe;
  Value input;
  Value splits; ///< null unless grouped
  Value data, scale, amax, dataT, scaleT, amaxT;

  static QuantizeOperands of(QuantizeOp op) {
    return {op,           op.getRecipe(), op.getInput(), Value(),
            op.getData(), op.getScale(),  op.getAmax(),  op.getDataT(),
            op.getScaleT(), op.getAmaxT()};
  }
  static QuantizeOperands of(GroupedQuantizeOp op) {
    return {op,           op.getRecipe(), op.getInput(), op.getSplits(),
            op.getData(), op.getScale(),  op.getAmax(),  op.getDataT(),
            op.getScaleT(), op.getAmaxT()};
  }
  /// `nvfp4.amax`: the amaxes without data or scales.
  static QuantizeOperands of(AmaxOp op) {
    return {op,      op.getRecipe(), op.getInput(), Value(), Value(),
            Value(), op.getAmax(),   Value(),       Value(), op.getAmaxT()};
  }
  /// The fused forms: X is what the producer computes (ProducerEmitter.h).
  static QuantizeOperands of(RMSNormQuantizeOp op) {
    QuantizeOperands o{op,           op.getRecipe(), op.getInput(), Value(),
                       op.getData(), op.getScale(),  op.getAmax(),  op.getDataT(),
                       op.getScaleT(), op.getAmaxT()};
    o.producer = op;
    return o;
  }
  static QuantizeOperands of(GatedActQuantizeOp op) {
    QuantizeOperands o{op,           op.getRecipe(), op.getInput(), Value(),
                       op.getData(), op.getScale(),  op.getAmax(),  op.getDataT(),
                       op.getScaleT(), op.getAmaxT()};
    o.producer = op;
    return o;
  }
  /// Only the outer amaxes are written (`nvfp4.amax`).
  bool amaxOnly() const { return !data && !dataT; }

  /// The producer X is read through, or null (X is `input`).
  Operation *producer = nullptr;

  RMSNormQuantizeOp rmsNorm() const {
    return dyn_cast_or_null<RMSNormQuantizeOp>(producer);
  }
  /// The producer's X output, when the fused op writes it.
  Value y() const {
    if (auto rms = rmsNorm())
      return rms.getY();
    if (auto gated = dyn_cast_or_null<GatedActQuantizeOp>(producer))
      return gated.getY();
    return {};
  }
  /// Whether the producer writes anything besides X's quantization: y, or
  /// h into an RMSNorm's residual.
  bool writesProducerOutputs() const {
    return y() || (rmsNorm() && rmsNorm().getResidual());
  }
  /// A producer whose rowwise per-row quantization runs in one kernel, a
  /// thread block per row: the row's RMSNorm scale, the amax, the encode
  /// and the producer's outputs.
  bool producerInRowKernel() const {
    return producer && data && !dataT &&
           recipe.getOuter() == OuterGroup::Row &&
           !recipe.hasGivenOuterScale() && !recipe.isBlock2D();
  }
  /// X's columns, from `in` (the op's input, or a kernel's copy of it).
  Value xCols(LoweringBuilder &e, Value in) const {
    Value cols = e.dim(in, 1);
    return isa_and_nonnull<GatedActQuantizeOp>(producer) ? e.divI(cols, 2)
                                                         : cols;
  }
  /// X as a kernel reads it: `map` maps the op's operands to the kernel's
  /// arguments. An RMSNorm reads its row scales from `rstd`.
  std::unique_ptr<ValueSource> source(IRMapping &map) const {
    Value in = map.lookup(input);
    if (auto gated = dyn_cast_or_null<GatedActQuantizeOp>(producer))
      return std::make_unique<GatedActSource>(gated.getAct(), in);
    if (auto rms = rmsNorm()) {
      Value rstd = map.lookup(rms.getRstd());
      Value residual = rms.getResidual() ? map.lookup(rms.getResidual())
                                         : Value();
      return std::make_unique<RMSNormSource>(
          in, map.lookup(rms.getWeight()), residual,
          [rstd](LoweringBuilder &e, Value r) {
            return e.loadF32(rstd, {r});
          });
    }
    return std::make_unique<MatrixSource>(in);
  }
};

/// The rows of X one kernel body quantizes: all of X, or one group.
struct Slice {
  Value rowOffset, rows;
  Value group;    ///< null when not grouped
  Value scaleRow; ///< first scale row of the group (swizzled layouts)
};

/// The gpu.func shell shared by every kernel: operands in op order, the
/// block size, and the attributes a runtime reads.
gpu::GPUFuncOp createKernel(Operation *op, gpu::GPUModuleOp module,
                            StringRef name, KernelWork work, StringRef dir) {
  MLIRContext *ctx = op->getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  auto type = FunctionType::get(ctx, op->getOperandTypes(), {});
  auto func = gpu::GPUFuncOp::create(b, op->getLoc(), name, type);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({int32_t(kKernelBlockThreads), 1, 1}));
  func->setAttr(kernel_attr::kWork, b.getStringAttr(stringifyKernelWork(work)));
  func->setAttr(kernel_attr::kDirection, b.getStringAttr(dir));
  return func;
}

/// Launches `func` over `count` threads (or `count` thread blocks when
/// `ctas`) in place of `op`.
void launchKernel(Operation *op, gpu::GPUFuncOp func, LoweringBuilder &he,
                  Value count) {
  Value grid = kernelBlocks(he, count);
  Value one = he.idx(1);
  gpu::LaunchFuncOp::create(he.builder(), func, {grid, one, one},
                            {he.idx(kKernelBlockThreads), one, one},
                            /*dynamicSharedMemorySize=*/Value(),
                            op->getOperands());
}

/// A producer's row, read from memory once and computed once: a `RowCTAs`
/// kernel's passes (an RMSNorm's sum of squares, the amax, the encode) walk
/// the same blocks per thread (t, t + 256, ...), so each thread keeps its
/// first kRowCacheBytes / (256 * 16 * element bytes) blocks in shared
/// memory, in X's storage type (exact: every value is a storage value):
/// h after the first pass of an RMSNorm, y after the amax pass, which the
/// encode pass reads back. Slot k of thread t holds block t + 256k and is
/// touched by t alone, so no barrier is needed. Blocks past the slots are
/// read and computed again in each pass.
class RowCache {
public:
  static constexpr int64_t kRowCacheBytes = 32 * 1024;

  RowCache(LoweringBuilder &e, gpu::GPUFuncOp kernel, Type storage)
      : e(e), storage(storage) {
    ImplicitLocOpBuilder &b = e.builder();
    int64_t bytes = storage.getIntOrFloatBitWidth() / 8;
    slots = kRowCacheBytes / (kKernelBlockThreads * kBlock * bytes);
    auto type = MemRefType::get(
        {slots, kKernelBlockThreads, int64_t(kBlock)}, storage,
        MemRefLayoutAttrInterface{},
        gpu::AddressSpaceAttr::get(b.getContext(),
                                   gpu::AddressSpace::Workgroup));
    cache = kernel.addWorkgroupAttribution(type, e.location());
    kernel.setWorkgroupAttributionAttr(
        kernel.getNumWorkgroupAttributions() - 1,
        LLVM::LLVMDialect::getAlignAttrName(), b.getI64IntegerAttr(16));
    tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  }

  /// Whether block `blk` (this thread's) has a slot.
  Value cached(Value blk) {
    return arith::CmpIOp::create(e.builder(), arith::CmpIPredicate::ult,
                                 slot(blk), e.idx(slots));
  }
  /// Keeps `x` in block `blk`'s slot, when it has one.
  void keep(Value blk, ArrayRef<Value> x) {
    ImplicitLocOpBuilder &b = e.builder();
    auto ifOp = scf::IfOp::create(b, cached(blk), /*withElseRegion=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    SmallVector<Value, kBlock> narrow;
    for (Value v : x)
      narrow.push_back(storage.isF32() ? v
                                       : arith::TruncFOp::create(b, storage, v));
    Value vec = vector::FromElementsOp::create(
        b, VectorType::get({int64_t(kBlock)}, storage), narrow);
    vector::StoreOp::create(b, vec, cache, ValueRange{slot(blk), tid, e.idx(0)},
                            /*nontemporal=*/false, llvm::MaybeAlign(16));
  }
  /// Block `blk` from its slot, or `compute()` when it has none.
  SmallVector<Value, kBlock>
  get(Value blk, function_ref<SmallVector<Value, kBlock>()> compute) {
    ImplicitLocOpBuilder &b = e.builder();
    SmallVector<Type> types(kBlock, b.getF32Type());
    auto ifOp = scf::IfOp::create(b, types, cached(blk),
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(b, ValueRange(e.loadVectorF32(
                                  cache, {slot(blk), tid, e.idx(0)},
                                  /*alignment=*/16)));
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, ValueRange(compute()));
    }
    return SmallVector<Value, kBlock>(ifOp.getResults());
  }
  /// Runs `body` when block `blk` has a slot (`has`) or has none.
  void when(Value blk, bool has, function_ref<void()> body) {
    ImplicitLocOpBuilder &b = e.builder();
    Value cond = cached(blk);
    if (!has)
      cond = arith::XOrIOp::create(b, cond,
                                   arith::ConstantIntOp::create(b, 1, 1));
    auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    body();
  }

private:
  /// The slot of block `blk` of this thread: (blk - t) / 256.
  Value slot(Value blk) {
    return e.divI(arith::SubIOp::create(e.builder(), blk, tid),
                  kKernelBlockThreads);
  }

  LoweringBuilder &e;
  Type storage;
  int64_t slots;
  Value cache, tid;
};

/// Emits the body of `func` (created by createKernel for `op`): `body` gets
/// a builder at the entry, the map from `op`'s operands to the kernel's
/// arguments and the thread schedule of `work`; the return follows.
void emitKernelBody(
    Operation *op, gpu::GPUFuncOp func, TargetLeaves &leaves, KernelWork work,
    function_ref<void(LoweringBuilder &, IRMapping &, ThreadSchedule &)> body) {
  Block &entry = func.getBody().front();
  ImplicitLocOpBuilder b(op->getLoc(), op->getContext());
  b.setInsertionPointToStart(&entry);
  IRMapping map;
  map.map(op->getOperands(), entry.getArguments());
  {
    LoweringBuilder e(b, &leaves);
    ThreadSchedule schedule(b, work);
    body(e, map, schedule);
  }
  gpu::ReturnOp::create(b);
}

/// Builds the kernels of one (grouped) quantize op and the launches that
/// replace it.
///
/// Grouped: every kernel is still one launch over all groups. Each group
/// owns a contiguous range of the kernel's thread (or, for `RowCTAs`,
/// thread block) ids, as many as an ungrouped kernel over that group alone
/// would use; a thread finds its group by walking the splits (a running
/// sum, so nothing is precomputed on the host), rebases its id, and runs
/// the ungrouped body for that group. Empty groups own no ids. The grid is
/// sized for the largest total any splits adding up to M can need.
class QuantizeKernels {
public:
  QuantizeKernels(QuantizeOperands ops, gpu::GPUModuleOp module,
                  StringRef prefix, TargetLeaves &leaves)
      : ops(ops), module(module), prefix(prefix.str()), leaves(leaves) {}

  /// The kernels of the op, in launch order: an RMSNorm's row scales
  /// first (unless its quantization computes them), the quantization, then
  /// the producer's own outputs (last: the residual is overwritten).
  void build() {
    bool rowKernel = ops.producerInRowKernel();
    if (ops.rmsNorm() && !rowKernel)
      addKernel("rstd", "rowwise", KernelWork::RowCTAs, /*perGroup=*/false,
                [this](LoweringBuilder &e, IRMapping &map, RowSchedule &,
                       const Slice &) {
                  std::unique_ptr<ValueSource> src = ops.source(map);
                  Value r = gpu::BlockIdOp::create(e.builder(),
                                                   gpu::Dimension::x);
                  nvfp4::detail::emitRowInverseInBlock(
                      e, kernel, static_cast<RMSNormSource &>(*src),
                      ops.rmsNorm().getEps().convertToFloat(), r,
                      map.lookup(ops.rmsNorm().getRstd()));
                });
    buildQuantize();
    if (ops.writesProducerOutputs() && !rowKernel)
      addKernel("outputs", "rowwise", KernelWork::RowCTAs, /*perGroup=*/false,
                [this](LoweringBuilder &e, IRMapping &map, RowSchedule &s,
                       const Slice &) {
                  std::unique_ptr<ValueSource> src = ops.source(map);
                  emitProducerOutputs(
                      e, *src, ops.y() ? map.lookup(ops.y()) : Value(),
                      dynamic_cast<RMSNormSource *>(src.get()), s);
                });
  }

private:
  void buildQuantize() {
    RecipeAttr recipe = ops.recipe;
    QuantizeOperands o = ops;
    // Both directions of 1x16 blocks: one read of each tile of X serves
    // both (QuantizeTiles.h). 16x16 blocks keep the per-direction kernels:
    // their 16-row tiles already read X in whole blocks both ways.
    if (ops.data && ops.dataT && !recipe.isBlock2D()) {
      buildTiles();
      return;
    }
    bool amaxOnly = ops.amaxOnly();
    // A given outer scale is read by the encode: the amax kernels go, and
    // a per-tensor recipe reads X once, in one launch.
    bool given = !amaxOnly && recipe.hasGivenOuterScale();
    for (bool columnwise : {false, true}) {
      if (columnwise ? !ops.amaxT : !ops.amax)
        continue;
      StringRef dir = dirName(columnwise);
      if (!amaxOnly)
        addZeroKernel(columnwise);
      auto withDirection = [=](auto &&fn) {
        return directionBody(columnwise, fn);
      };
      KernelWork encodeWork = recipe.isBlock2D() ? KernelWork::TileBlocks
                        : columnwise       ? KernelWork::RowBlocks
                                           : KernelWork::RowBlockQuads;
      if (given) {
        addKernel("encode", dir, encodeWork, /*perGroup=*/true,
                  withDirection([](auto &em) { em.emitEncode(); }));
        continue;
      }
      // Rowwise rows are contiguous: a thread block reduces each row. A
      // columnwise row is a column of X: a thread walks it, and
      // neighbouring threads read neighbouring columns.
      OuterGroup outer = recipe.getOuter();
      KernelWork amaxWork = outer == OuterGroup::Window ? KernelWork::Windows
                      : !columnwise               ? KernelWork::RowCTAs
                      : outer == OuterGroup::Row  ? KernelWork::RowBlocks
                                                  : KernelWork::Rows;
      if (!amaxOnly && !columnwise && outer == OuterGroup::Row) {
        // Per-row amaxes are local to the row: one kernel, a thread block
        // per row, reads the row for its amax (all_reduce, so every thread
        // has it) and encodes it straight away; the second read of the
        // row hits the cache instead of DRAM.
        addKernel("amax_encode", dir, KernelWork::RowCTAs, /*perGroup=*/true,
                  [=](LoweringBuilder &e, IRMapping &map, RowSchedule &s,
                      const Slice &slice) {
                    std::unique_ptr<ValueSource> src = o.source(map);
                    auto *rms = dynamic_cast<RMSNormSource *>(src.get());
                    bool inRow = o.producerInRowKernel();
                    std::optional<RowCache> cache;
                    if (inRow)
                      cache.emplace(e, kernel, src->storageType());
                    auto blockOf = [&e](Value c) {
                      return e.divI(c, kBlock);
                    };
                    if (rms && inRow) {
                      // The row's RMSNorm scale, computed here (the row
                      // is this thread block's) and stored once; its pass
                      // keeps h, which the amax pass then reads.
                      rms->setHBlockHook(
                          [&](LoweringBuilder &e, Value, Value c,
                              function_ref<SmallVector<Value, kBlock>()> load) {
                            SmallVector<Value, kBlock> h = load();
                            cache->keep(blockOf(c), h);
                            return h;
                          });
                      Value r = e.addI(slice.rowOffset,
                                       gpu::BlockIdOp::create(
                                           e.builder(), gpu::Dimension::x));
                      Value inv = nvfp4::detail::emitRowInverseInBlock(
                          e, kernel, *rms,
                          o.rmsNorm().getEps().convertToFloat(), r,
                          map.lookup(o.rmsNorm().getRstd()));
                      rms->setInv([inv](LoweringBuilder &, Value) {
                        return inv;
                      });
                      rms->setHBlockHook(
                          [&](LoweringBuilder &e, Value, Value c,
                              function_ref<SmallVector<Value, kBlock>()> load) {
                            return cache->get(blockOf(c), load);
                          });
                    }
                    QuantizeLowering q(e, recipe, *src);
                    Direction d = q.rowwise(
                        map.lookup(o.data), map.lookup(o.scale),
                        map.lookup(o.amax), slice.rowOffset, slice.rows,
                        slice.group, slice.scaleRow);
                    DirectionEmitter emitter(e, recipe, d, s);
                    Value y = o.y() ? map.lookup(o.y()) : Value();
                    Value residual = rms ? rms->getResidual() : Value();
                    auto compute = d.loadBlock;
                    if (inRow) {
                      // The amax pass keeps y (over h, whose last read
                      // this is: a kept block's residual is written now).
                      d.loadBlock = [&, compute](Value r, Value blk) {
                        SmallVector<Value, kBlock> x = compute(r, blk);
                        if (residual)
                          cache->when(blk, /*has=*/true, [&] {
                            e.storeValues(
                                rms->loadH16(e, r, e.mulI(blk, e.idx(kBlock))),
                                residual, {r, e.mulI(blk, e.idx(kBlock))});
                          });
                        cache->keep(blk, x);
                        return x;
                      };
                    }
                    emitter.emitOuterAmax();
                    if (inRow) {
                      // The encode pass reads y back and writes the block's
                      // outputs: y, and the residual of blocks without a
                      // slot (read from memory up to here).
                      d.loadBlock = [&, compute](Value r, Value blk) {
                        SmallVector<Value, kBlock> x =
                            cache->get(blk, [&] { return compute(r, blk); });
                        Value c = e.mulI(blk, e.idx(kBlock));
                        if (y)
                          e.storeValues(x, y, {r, c});
                        if (residual)
                          cache->when(blk, /*has=*/false, [&] {
                            e.storeValues(rms->loadH16(e, r, c), residual,
                                          {r, c});
                          });
                        return x;
                      };
                    }
                    // The encode reads the row's amax from the reduction
                    // (the same value thread 0 stored), not from memory.
                    Value rowMax =
                        static_cast<ThreadSchedule &>(s).lastRowMax();
                    d.loadAmax = [rowMax](Value, Value) { return rowMax; };
                    emitter.emitEncode();
                  });
        continue;
      }
      if (!amaxOnly && !columnwise && outer == OuterGroup::Window) {
        // Window amaxes are local to 4 blocks: a thread per window reduces
        // them, stores the amax and encodes the 4 blocks with it (their
        // second read hits the cache).
        addKernel(
            "amax_encode", dir, KernelWork::Windows, /*perGroup=*/true,
            [=](LoweringBuilder &e, IRMapping &map, RowSchedule &s,
                const Slice &slice) {
              NumericsBuilder &m = e.math();
              std::unique_ptr<ValueSource> src = o.source(map);
              QuantizeLowering q(e, recipe, *src);
              Direction d = q.rowwise(map.lookup(o.data), map.lookup(o.scale),
                                      map.lookup(o.amax), slice.rowOffset,
                                      slice.rows, slice.group, slice.scaleRow);
              DirectionEmitter emitter(e, recipe, d, s);
              s.forEach2D(
                  e, d.rowBegin, d.rowEnd, emitter.windowCount(),
                  /*jFastest=*/true, [&](Value r, Value w) {
                    Value lb = e.mulI(w, e.idx(4));
                    Value ub = e.minI(e.addI(lb, e.idx(4)), d.numBlocks);
                    // The CPU path's window amax: fmaxf over the blocks
                    // in order, from 0.
                    Value amax =
                        e.loop(lb, ub, {m.f32(0.0f)},
                               [&](Value blk, ValueRange acc) {
                                 Value a = e.blockAmax(d.loadBlock(r, blk));
                                 return SmallVector<Value>{m.fmax(acc[0], a)};
                               })[0];
                    d.storeAmax(amax, r, w);
                    d.loadAmax = [amax](Value, Value) { return amax; };
                    e.loop(lb, ub, [&](Value blk) {
                      emitter.encodeBlock(/*tensorAmax=*/{}, r, blk);
                    });
                  });
            });
        continue;
      }
      // Atomic reductions start from zeroed amaxes.
      if (outer == OuterGroup::Tensor || (columnwise && outer == OuterGroup::Row))
        addKernel("amax_init", dir,
                  outer == OuterGroup::Tensor ? KernelWork::One : KernelWork::Rows,
                  /*perGroup=*/true,
                  withDirection([](auto &em) { em.emitAmaxInit(); }));
      // The amaxes must be complete before any block is encoded: a
      // grid-wide barrier, so a separate launch.
      addKernel("amax", dir, amaxWork, /*perGroup=*/true,
                withDirection([](auto &em) { em.emitOuterAmax(); }));
      if (!amaxOnly)
        addKernel("encode", dir, encodeWork, /*perGroup=*/true,
                  withDirection([](auto &em) { em.emitEncode(); }));
    }
  }

  using Body = std::function<void(LoweringBuilder &, IRMapping &, RowSchedule &,
                                  const Slice &)>;

  static StringRef dirName(bool columnwise) {
    return columnwise ? "columnwise" : "rowwise";
  }

  /// The direction `columnwise` of the slice a body quantizes.
  Direction direction(QuantizeLowering &q, IRMapping &map, bool columnwise,
                      const Slice &slice) {
    const QuantizeOperands &o = ops;
    if (columnwise)
      return q.columnwise(map.lookup(o.dataT), map.lookup(o.scaleT),
                          map.lookup(o.amaxT), slice.rowOffset, slice.rows,
                          slice.group);
    return q.rowwise(map.lookup(o.data), map.lookup(o.scale),
                     map.lookup(o.amax), slice.rowOffset, slice.rows,
                     slice.group, slice.scaleRow);
  }

  /// A body that runs `fn` on the DirectionEmitter of one direction.
  template <typename Fn>
  Body directionBody(bool columnwise, Fn fn) {
    return [=](LoweringBuilder &e, IRMapping &map, RowSchedule &s,
               const Slice &slice) {
      std::unique_ptr<ValueSource> src = ops.source(map);
      QuantizeLowering q(e, ops.recipe, *src);
      Direction d = direction(q, map, columnwise, slice);
      DirectionEmitter emitter(e, ops.recipe, d, s);
      fn(emitter);
    };
  }

  /// Swizzled layouts: their padding bytes are zeroed first.
  void addZeroKernel(bool columnwise) {
    if (ops.recipe.getSfLayout() == ScaleLayout::Linear)
      return;
    addKernel("zero", dirName(columnwise), KernelWork::ScaleBytes,
              /*perGroup=*/false,
              [=](LoweringBuilder &e, IRMapping &map, RowSchedule &s,
                  const Slice &) {
                DirectionEmitter::zeroScales(
                    e, map.lookup(columnwise ? ops.scaleT : ops.scale), s);
              });
  }

  /// Both directions from shared-memory tiles: per-tensor and per-row
  /// outer amaxes need a pass over X first (zeroed, then folded in by the
  /// `amax` tile kernel with atomics), 1x64 windows lie inside a tile and
  /// are computed by the `encode` tile kernel itself.
  void buildTiles() {
    OuterGroup outer = ops.recipe.getOuter();
    for (bool columnwise : {false, true})
      addZeroKernel(columnwise);
    // A given outer scale (read by the encode) needs no amax pass.
    if (outer != OuterGroup::Window && !ops.recipe.hasGivenOuterScale()) {
      for (bool columnwise : {false, true})
        addKernel("amax_init", dirName(columnwise),
                  outer == OuterGroup::Tensor ? KernelWork::One : KernelWork::Rows,
                  /*perGroup=*/true,
                  directionBody(columnwise,
                                [](auto &em) { em.emitAmaxInit(); }));
      addKernel("amax", "both", KernelWork::Tiles, /*perGroup=*/true,
                tileBody(/*encode=*/false));
    }
    addKernel("encode", "both", KernelWork::Tiles, /*perGroup=*/true,
              tileBody(/*encode=*/true));
  }

  Body tileBody(bool encode) {
    return [=](LoweringBuilder &e, IRMapping &map, RowSchedule &s,
               const Slice &slice) {
      std::unique_ptr<ValueSource> src = ops.source(map);
      QuantizeLowering q(e, ops.recipe, *src);
      Direction row = direction(q, map, false, slice);
      Direction col = direction(q, map, true, slice);
      Location loc = e.location();
      Value smem = kernel.addWorkgroupAttribution(
          TileEmitter::tileType(src->storageType()), loc);
      // The tile is written and read with 16-byte vector accesses.
      kernel.setWorkgroupAttributionAttr(
          kernel.getNumWorkgroupAttributions() - 1,
          LLVM::LLVMDialect::getAlignAttrName(),
          e.builder().getI64IntegerAttr(16));
      // Per-row amaxes and windows exchange block amaxes across warps.
      Value exchange;
      if (ops.recipe.getOuter() != OuterGroup::Tensor)
        exchange = kernel.addWorkgroupAttribution(
            TileEmitter::exchangeType(e.builder().getContext()), loc);
      // The columnwise results go through shared memory to coalesced
      // stores (8-byte vector accesses).
      Value outData, outScale;
      if (encode) {
        outData = kernel.addWorkgroupAttribution(
            TileEmitter::outDataType(e.builder().getContext()), loc);
        kernel.setWorkgroupAttributionAttr(
            kernel.getNumWorkgroupAttributions() - 1,
            LLVM::LLVMDialect::getAlignAttrName(),
            e.builder().getI64IntegerAttr(16));
        outScale = kernel.addWorkgroupAttribution(
            TileEmitter::outScaleType(e.builder().getContext()), loc);
      }
      TileEmitter tiles(e, ops.recipe, *src, smem, exchange,
                        outData, outScale, row, col, s, slice.rowOffset,
                        slice.rows,
                        static_cast<ThreadSchedule &>(s).linearId());
      if (encode)
        tiles.emitEncode();
      else
        tiles.emitAmax();
    };
  }

  /// Ids a group of `rows` rows owns in a kernel of kind `work`: what the
  /// ungrouped kernel would use for that group alone. `m` and `k` are X's
  /// dimensions.
  static Value groupWork(LoweringBuilder &e, KernelWork work, bool columnwise,
                         Value rows, Value k) {
    Value blocks = e.divI(k, kBlock);
    switch (work) {
    case KernelWork::One:
      return e.idx(1);
    case KernelWork::RowCTAs:
      return rows;
    case KernelWork::Rows:
      return columnwise ? k : rows;
    case KernelWork::Windows:
      return e.mulI(rows, e.ceilDivI(blocks, 4));
    case KernelWork::RowBlocks:
      return columnwise ? e.mulI(k, e.divI(rows, kBlock))
                        : e.mulI(rows, blocks);
    case KernelWork::RowBlockQuads:
      return e.mulI(rows, e.ceilDivI(blocks, 4));
    case KernelWork::TileBlocks:
      return columnwise ? e.mulI(e.ceilDivI(k, kBlock), e.divI(rows, kBlock))
                        : e.mulI(e.ceilDivI(rows, kBlock), blocks);
    case KernelWork::Tiles:
      return e.mulI(e.ceilDivI(rows, kTileRows),
                    e.ceilDivI(e.ceilDivI(k, kTileCols), kTileStripTiles));
    case KernelWork::ScaleBytes:
    case KernelWork::Gemm:
    case KernelWork::GroupedGemm:
    case KernelWork::GemmDecode:
      break;
    }
    llvm_unreachable("scale bytes and GEMMs are not split among groups");
  }

  /// Finds the group owning the schedule's id (a running sum over the
  /// splits, clamped to M as the CPU lowering clamps them), rebases the id
  /// and emits `body` for that group; ids past every group do nothing.
  void emitPerGroup(LoweringBuilder &e, IRMapping &map, ThreadSchedule &schedule,
                    KernelWork work, bool columnwise, const Body &body) {
    ImplicitLocOpBuilder &b = e.builder();
    Value input = map.lookup(ops.input);
    Value splits = map.lookup(ops.splits);
    Value m = e.dim(input, 0), k = e.dim(input, 1);
    int64_t tile = scaleTile(ops.recipe.getSfLayout()).first;
    Value id = schedule.linearId();
    Value zero = e.idx(0);
    Value no = arith::ConstantIntOp::create(b, 0, 1);
    // Carried: ids before group g, its first row and scale row, then the
    // owning group's values and whether it was found.
    SmallVector<Value> found = e.loop(
        zero, e.dim(splits, 0),
        {zero, zero, zero, no, zero, zero, zero, zero, zero},
        [&](Value g, ValueRange a) {
          Value split = arith::IndexCastOp::create(
              b, b.getIndexType(),
              memref::LoadOp::create(b, splits, g));
          Value rows = e.minI(
              split, arith::SubIOp::create(b, m, e.minI(a[1], m)));
          Value next = e.addI(a[0], groupWork(e, work, columnwise, rows, k));
          Value inside = arith::AndIOp::create(
              b,
              arith::CmpIOp::create(b, arith::CmpIPredicate::uge, id,
                                    a[0]),
              arith::CmpIOp::create(b, arith::CmpIPredicate::ult, id,
                                    next));
          auto pick = [&](Value now, Value before) {
            return arith::SelectOp::create(b, inside, now, before)
                .getResult();
          };
          Value padded = e.mulI(e.ceilDivI(rows, tile), e.idx(tile));
          return SmallVector<Value>{
              next,
              e.addI(a[1], rows),
              e.addI(a[2], padded),
              arith::OrIOp::create(b, a[3], inside),
              pick(g, a[4]),
              pick(a[0], a[5]),
              pick(a[1], a[6]),
              pick(rows, a[7]),
              pick(a[2], a[8])};
        });
    auto ifOp = scf::IfOp::create(b, found[3], false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    schedule.rebase(e, found[5]);
    body(e, map, schedule, Slice{found[6], found[7], found[4], found[8]});
  }

  void addKernel(StringRef kind, StringRef dir, KernelWork work, bool perGroup,
                 const Body &body) {
    Operation *op = ops.op;
    Location loc = op->getLoc();
    bool columnwise = dir == "columnwise";
    bool grouped = perGroup && ops.splits;
    std::string name =
        prefix + "_" + std::to_string(count++) + "_" + dir.str() + "_" +
        kind.str();
    gpu::GPUFuncOp func = createKernel(op, module, name, work, dir);
    kernel = func;
    // Tile kernels hide the latency of their loads with other thread
    // blocks as much as with their own prefetch: at most 64 registers
    // keep four blocks of 256 threads resident per SM.
    if (work == KernelWork::Tiles)
      func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                    OpBuilder(func).getI32IntegerAttr(4));
    emitKernelBody(
        op, func, leaves, work,
        [&](LoweringBuilder &e, IRMapping &map, ThreadSchedule &schedule) {
          // Device buffers are 256-byte aligned and rows hold K % 16 == 0
          // elements, so each rowwise 16-block is aligned to its own size.
          auto input = cast<MemRefType>(ops.input.getType());
          e.blockAlignment =
              kBlock * (input.getElementType().getIntOrFloatBitWidth() / 8);
          e.atomicMaxAmax = [&e](Value v, Value memref, ValueRange indices) {
            atomicMaxAmaxBits(e, v, memref, indices);
          };
          if (grouped) {
            emitPerGroup(e, map, schedule, work, columnwise, body);
          } else {
            body(e, map, schedule,
                 Slice{e.idx(0), e.dim(map.lookup(ops.input), 0), Value(),
                       e.idx(0)});
          }
        });

    // The launch, in the host function where the op was.
    ImplicitLocOpBuilder host(loc, op);
    LoweringBuilder he(host);
    // X's shape: for a gated producer, half the input's columns.
    Value m = he.dim(ops.input, 0);
    Value xCols = ops.xCols(he, ops.input);
    Value rows = columnwise ? xCols : m;
    Value blocks = he.divI(columnwise ? m : xCols, kBlock);
    Value groups = grouped ? he.dim(ops.splits, 0) : Value();
    Value scale = columnwise ? ops.scaleT : ops.scale;
    auto cols = [&] { return xCols; };
    auto scaleBytes = [&] {
      return he.mulI(he.dim(scale, 0), he.dim(scale, 1));
    };
    KernelWorkShape<Value> shape{m,          rows, blocks,    groups, grouped,
                                 columnwise, cols, scaleBytes};
    Value count = *kernelWorkItems(he, work, shape);
    launchKernel(op, func, he, count);
  }

  QuantizeOperands ops;
  gpu::GPUModuleOp module;
  std::string prefix;
  TargetLeaves &leaves;
  unsigned count = 0;
  /// The kernel being built (tile bodies add shared memory to it).
  gpu::GPUFuncOp kernel;
};

/// `nvfp4.dequantize`: one thread per 16-block of the output, each
/// decoding its block with the CPU path's numerics (emitDequantizeBlock).
void buildDequantizeKernel(DequantizeOp op, gpu::GPUModuleOp module,
                           StringRef prefix, TargetLeaves &leaves) {
  Location loc = op.getLoc();
  gpu::GPUFuncOp func = createKernel(op, module, (prefix + "_0_dequantize").str(),
                                     KernelWork::RowBlocks, "rowwise");
  emitKernelBody(
      op, func, leaves, KernelWork::RowBlocks,
      [&](LoweringBuilder &e, IRMapping &map, ThreadSchedule &schedule) {
        Value out = map.lookup(op.getOutput());
        Value numBlocks = e.divI(e.dim(out, 1), kBlock);
        Value tensorAmax;
        if (op.getRecipe().getOuter() == OuterGroup::Tensor)
          tensorAmax = e.loadF32(map.lookup(op.getAmax()), {e.idx(0)});
        schedule.forEach2D(e, e.idx(0), e.dim(out, 0), numBlocks,
                           /*jFastest=*/true, [&](Value r, Value blk) {
                             emitDequantizeBlock(
                                 e, op.getRecipe(), map.lookup(op.getData()),
                                 map.lookup(op.getScale()),
                                 map.lookup(op.getAmax()), out, r, blk,
                                 numBlocks, tensorAmax);
                           });
      });

  ImplicitLocOpBuilder host(loc, op);
  LoweringBuilder he(host);
  Value count = he.mulI(he.dim(op.getOutput(), 0),
                        he.divI(he.dim(op.getOutput(), 1), kBlock));
  launchKernel(op, func, he, count);
}

/// `nvfp4.rms_norm` / `nvfp4.gated_act` alone: a thread block per row
/// computes the row's RMSNorm scale (stored to rstd) and writes its values
/// (and an RMSNorm's residual).
void buildProducerKernel(Operation *op, gpu::GPUModuleOp module,
                         StringRef prefix, TargetLeaves &leaves) {
  auto rms = dyn_cast<RMSNormOp>(op);
  Location loc = op->getLoc();
  gpu::GPUFuncOp func = createKernel(
      op, module, (prefix + (rms ? "_0_rms_norm" : "_0_gated_act")).str(),
      KernelWork::RowCTAs, "rowwise");
  emitKernelBody(
      op, func, leaves, KernelWork::RowCTAs,
      [&](LoweringBuilder &e, IRMapping &map, ThreadSchedule &schedule) {
        // Rows of any length: blocks use vector loads only where
        // K % 16 == 0.
        Type storage =
            cast<MemRefType>(op->getOperand(0).getType()).getElementType();
        e.blockAlignment = kBlock * (storage.getIntOrFloatBitWidth() / 8);
        if (rms) {
          Value residual =
              rms.getResidual() ? map.lookup(rms.getResidual()) : Value();
          RMSNormSource source(map.lookup(rms.getInput()),
                               map.lookup(rms.getWeight()), residual, {});
          Value r = gpu::BlockIdOp::create(e.builder(), gpu::Dimension::x);
          Value inv = nvfp4::detail::emitRowInverseInBlock(
              e, func, source, rms.getEps().convertToFloat(), r,
              map.lookup(rms.getRstd()));
          source.setInv([inv](LoweringBuilder &, Value) { return inv; });
          emitProducerOutputs(e, source, map.lookup(rms.getOutput()),
                              &source, schedule);
        } else {
          auto gated = cast<GatedActOp>(op);
          GatedActSource source(gated.getAct(), map.lookup(gated.getInput()));
          emitProducerOutputs(e, source, map.lookup(gated.getOutput()),
                              /*rms=*/nullptr, schedule);
        }
      });

  ImplicitLocOpBuilder host(loc, op);
  LoweringBuilder he(host);
  Value rows = he.dim(op->getOperand(0), 0);
  KernelWorkShape<Value> shape{rows, rows, Value(), Value(), false, false, {}, {}};
  launchKernel(op, func, he, *kernelWorkItems(he, KernelWork::RowCTAs, shape));
}

struct NVFP4ToGPUPass : nvfp4::impl::NVFP4ToGPUBase<NVFP4ToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<ChipInfo> info = lookupChip(chip);
    if (!info) {
      module.emitError() << "unsupported chip '" << chip
                         << "', expected one of " << supportedChipList();
      return signalPassFailure();
    }
    NVVMLeaves leaves(*info);
    SmallVector<Operation *> ops;
    SmallVector<GemmOp> matmuls;
    WalkResult unsupported = module.walk([&](Operation *op) {
      if (isa<QuantizeOp, GroupedQuantizeOp, AmaxOp, DequantizeOp,
              RMSNormOp, GatedActOp, RMSNormQuantizeOp, GatedActQuantizeOp>(
              op)) {
        ops.push_back(op);
        return WalkResult::advance();
      }
      if (auto mm = dyn_cast<MatmulOp>(op)) {
        matmuls.push_back(mm);
        return WalkResult::advance();
      }
      if (auto grouped = dyn_cast<GroupedMatmulOp>(op)) {
        matmuls.push_back(grouped);
        return WalkResult::advance();
      }
      if (auto w4a16 = dyn_cast<MatmulW4A16Op>(op)) {
        matmuls.push_back(w4a16);
        return WalkResult::advance();
      }
      if (!isa<NVFP4Dialect>(op->getDialect()))
        return WalkResult::advance();
      op->emitOpError("is not supported by the GPU lowering (nvfp4-to-gpu) "
                      "yet");
      return WalkResult::interrupt();
    });
    if (unsupported.wasInterrupted())
      return signalPassFailure();
    if (ops.empty() && matmuls.empty())
      return;

    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    OpBuilder b(&getContext());
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule =
        gpu::GPUModuleOp::create(b, module.getLoc(), "nvfp4_kernels");
    SymbolTable symbols(module);
    symbols.insert(gpuModule);
    unsigned index = 0;
    for (Operation *op : ops) {
      auto func = op->getParentOfType<FunctionOpInterface>();
      std::string prefix = (func ? func.getName().str() : "quantize") + "_q" +
                           std::to_string(index++);
      if (auto q = dyn_cast<QuantizeOp>(op))
        QuantizeKernels(QuantizeOperands::of(q), gpuModule, prefix, leaves)
            .build();
      else if (auto g = dyn_cast<GroupedQuantizeOp>(op))
        QuantizeKernels(QuantizeOperands::of(g), gpuModule, prefix, leaves)
            .build();
      else if (auto a = dyn_cast<AmaxOp>(op))
        QuantizeKernels(QuantizeOperands::of(a), gpuModule, prefix, leaves)
            .build();
      else if (auto rq = dyn_cast<RMSNormQuantizeOp>(op))
        QuantizeKernels(QuantizeOperands::of(rq), gpuModule, prefix, leaves)
            .build();
      else if (auto gq = dyn_cast<GatedActQuantizeOp>(op))
        QuantizeKernels(QuantizeOperands::of(gq), gpuModule, prefix, leaves)
            .build();
      else if (isa<RMSNormOp, GatedActOp>(op))
        buildProducerKernel(op, gpuModule, prefix, leaves);
      else
        buildDequantizeKernel(cast<DequantizeOp>(op), gpuModule, prefix,
                              leaves);
      op->erase();
    }
    for (GemmOp op : matmuls) {
      // Every GEMM kernel multiplies with mma.sync.m16n8k16 (f16/bf16).
      if (!info->mmaSyncF16) {
        op->emitOpError("needs mma.sync.m16n8k16 with f16 operands (sm_80 "
                        "or later), got chip '")
            << chip << "'";
        return signalPassFailure();
      }
      auto func = op->getParentOfType<FunctionOpInterface>();
      std::string prefix = (func ? func.getName().str() : "matmul") + "_m" +
                           std::to_string(index++) +
                           (op.grouped() ? "_grouped" : "");
      if (auto w4a16 = dyn_cast<MatmulW4A16Op>(op.getOperation()))
        buildMatmulW4A16Kernels(w4a16, gpuModule, prefix, leaves, chip,
                                predecodedGemm);
      else if (failed(buildMatmulKernels(op, gpuModule, prefix, leaves, chip,
                                         warpSpecializedGemm, predecodedGemm)))
        return signalPassFailure();
      op->erase();
    }
  }
};
} // namespace
