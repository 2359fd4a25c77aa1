//===- MatmulTcgen05.cpp - nvfp4.matmul on sm_100a tensor memory ----------===//
//
// The Blackwell GEMM: `tcgen05.mma.cta_group::1.kind::mxf4nvf4.block_scale
// .block16` consumes the NVFP4 operands as they are stored (packed E2M1,
// E4M3 scale per 16-block), so nothing is dequantized in software. One CTA of
// four warps computes a 128 x 128 tile of D into tensor memory (TMEM), one
// MMA per 64-wide K step:
//
//  1. every thread copies one row of A and one of B (32 bytes each) for the
//     step from global memory into shared memory, in the no-swizzle K-major
//     core-matrix layout of the shared-memory descriptors, and 4 bytes of
//     each operand's 512-byte block-scale atom (the 128x4 scale layout is
//     exactly the atom that `tcgen05.cp.32x128b.warpx4` expects);
//  2. `fence.proxy.async.shared::cta` + `bar.sync` publish the shared memory
//     to the tensor core's async proxy;
//  3. thread 0 issues two `tcgen05.cp` (scales -> TMEM), the MMA, and
//     `tcgen05.commit` on an mbarrier; all threads wait on its phase
//     before the shared memory is refilled (single stage: correct first);
//  4. the epilogue reads the accumulator with `tcgen05.ld.32x32b.x32` (warp
//     w owns TMEM lanes 32w..32w+31 = rows of the tile) and applies the
//     GemmNumerics epilogue per element, masking rows >= M and columns >= N.
//
// That is the single-stage kernel, which window operands use. Per-tensor and
// per-row operands run the pipelined kernel below (GemmPipeline): one thread
// fills a ring of stages with TMA (tensor-map boxes of A and B in the SW32
// K-major layout, cp.async.bulk of the scale atoms) while another issues the
// MMAs, and the four warps of the MMA warpgroup run the epilogue.
//
// 1x64-window operands: each step's MMA writes a fresh accumulator region;
// the threads then load it, promote it with gemmWindowFactor and add it to a
// second TMEM region holding the running sum (tcgen05.ld / tcgen05.st), the
// same arithmetic, in the same order per element, as the mma.sync kernel.
//
// Shapes: K must be static and a multiple of 64 (every step is a full MMA and
// a full scale atom; 16-byte row loads). M and N are arbitrary: rows past the
// end are clamped on load (they only feed rows/columns of D that are never
// stored) and masked on store. Other shapes use the mma.sync kernels.
//
//===----------------------------------------------------------------------===//

#include "GemmPipeline.h"
#include "MatmulToGPU.h"

#include "nvfp4/Conversion/QuantizeEmitter.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
#include "nvfp4/Numerics/GemmNumerics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::nvfp4;
using namespace mlir::nvfp4::detail;

namespace {
constexpr int64_t kTileM = 128; ///< MMA M (cta_group::1: one TMEM lane per row)
constexpr int64_t kTileN = 128; ///< MMA N (one TMEM column per fp32 column)
constexpr int64_t kStepK = 64;  ///< K of one mxf4nvf4 MMA (dense)
constexpr int64_t kThreads = 128; ///< four warps: one per TMEM lane quarter
constexpr int64_t kRowBytes = kStepK / 2;

// Shared memory (bytes). Matrix descriptors address 16-byte units; the
// no-swizzle layout needs no more than 16-byte alignment, the global is
// 1024-aligned anyway.
constexpr int64_t kSmemA = 0;
constexpr int64_t kSmemB = kSmemA + kTileM * kRowBytes;
constexpr int64_t kSmemSfa = kSmemB + kTileN * kRowBytes;
constexpr int64_t kSmemSfb = kSmemSfa + 512;
constexpr int64_t kSmemBar = kSmemSfb + 512; ///< mbarrier (8 bytes)
constexpr int64_t kSmemSlot = kSmemBar + 8;  ///< TMEM address from alloc
constexpr int64_t kSmemBytes = kSmemSlot + 8;
/// Window recipes: B's amax of each tile column for the step, double
/// buffered by step parity (a thread may stage step s + 1 while another
/// still promotes step s; none can be two steps apart: the step barrier).
constexpr int64_t kSmemAmaxB = kSmemBytes;
constexpr int64_t kSmemWindowBytes = kSmemAmaxB + 2 * 4 * kTileN;

// Core matrices are 8 rows x 16 bytes (8 x 32 E2M1 values), stored
// [row / 8][k-half][row % 8][16 bytes]: the two core matrices of a row
// group along K are adjacent (leading byte offset 128), row groups follow
// each other every 256 bytes (stride byte offset).
constexpr int64_t kCoreBytes = 128;
constexpr int64_t kGroupBytes = 2 * kCoreBytes;

/// A shared-memory matrix descriptor without its start address: LBO and
/// SBO in 16-byte units, bits 46-48 = 0b001 (the tcgen05 descriptor
/// version), base offset 0, no swizzle (bits 61-63 = 0).
constexpr uint64_t descriptorBits(uint64_t lbo, uint64_t sbo) {
  return ((lbo >> 4) << 16) | ((sbo >> 4) << 32) | (uint64_t(1) << 46);
}
constexpr uint64_t kOperandDesc = descriptorBits(kCoreBytes, kGroupBytes);
/// The 512-byte scale atom: 32 rows of 16 bytes, 8-row groups 128 bytes
/// apart; one core matrix along the row, so LBO is unused (0).
constexpr uint64_t kScaleDesc = descriptorBits(0, 128);

/// The pipelined kernel's operands are filled by TMA: boxes of 32 bytes (a
/// 64-wide K step) x 128 rows with CU_TENSOR_MAP_SWIZZLE_32B, which puts
/// row r at byte 32 r with its two 16-byte halves exchanged when bit 2 of r
/// is set (address bit 4 ^= bit 7). That is CUTLASS's K-major SW32 atom
/// (Swizzle<1,4,3>, 8 rows x 32 bytes; cute/atom/mma_traits_sm100.hpp,
/// make_umma_desc<Major::K>) repeated down the rows, whose descriptor has
/// layout type SWIZZLE_32B (6, bits 61-63; cute/arch/mma_sm100_desc.hpp),
/// SBO 256 bytes (8-row groups), LBO 16 bytes (the value make_umma_desc
/// writes for swizzled K-major layouts: the K extent of an MMA fits one
/// atom, so it is not used), version 1 and base offset 0: every operand
/// starts 256-byte aligned, on a boundary of the swizzle pattern.
constexpr int64_t kTmaSwizzle = 32;
constexpr uint64_t kSwizzle32B = 6;
constexpr uint64_t kOperandDescSw32 =
    descriptorBits(16, 8 * kRowBytes) | (kSwizzle32B << 61);
static_assert(kRowBytes == kTmaSwizzle,
              "one K step per swizzle atom row: the MMA never advances "
              "inside an atom");

/// The instruction descriptor of kind::mxf4nvf4 (PTX ISA "Instruction
/// descriptor", block-scaled form): A and B E2M1 (1) at bits 7-9 and
/// 10-12, both K-major (bits 15/16 = 0), N >> 3 at bits 17-22, scale type
/// UE4M3 (bit 23 = 0), M >> 4 at bits 24-28, scale factor ids 0 (bits 29-30
/// and 4-5: the four scales of a row fill the 32-bit TMEM cell), K = 64.
constexpr uint32_t kInstrDesc = (1u << 7) | (1u << 10) |
                                (uint32_t(kTileN >> 3) << 17) |
                                (uint32_t(kTileM >> 4) << 24);

/// The pipelined kernel (per-tensor and per-row operands, GemmPipeline):
/// a producer warpgroup and an MMA + epilogue warpgroup, a ring of stages
/// of the single-stage buffer's sizes (A and B in the SW32 layout TMA
/// writes, then SFA, SFB), then 2 * kPipeStages ring barriers, the
/// accumulator barrier and the TMEM slot.
constexpr int64_t kPipeStages = 4;
constexpr int64_t kPipeThreads = 256;
constexpr int64_t kPipeStageBytes = kSmemBar;
constexpr int64_t kPipeBarriers = kPipeStages * kPipeStageBytes;
constexpr int64_t kPipeAccBar = kPipeBarriers + 2 * kPipeStages * 8;
constexpr int64_t kPipeSlot = kPipeAccBar + 8;
constexpr int64_t kPipeSmemBytes = kPipeSlot + 8;
// TMA destinations and the SW32 pattern: every operand of every stage on
// a 256-byte boundary (the global itself is 1024-aligned).
static_assert(kPipeStageBytes % 256 == 0 && kSmemB % 256 == 0,
              "operands must start on a swizzle-pattern boundary");

/// TMEM columns (32-bit each, 128 lanes).
struct TmemLayout {
  int64_t acc, run, sfa, sfb, cols;
};
constexpr TmemLayout kPlain{0, -1, kTileN, kTileN + 4, 256};
constexpr TmemLayout kWindow{0, kTileN, 2 * kTileN, 2 * kTileN + 4, 512};

class Tcgen05Emitter {
public:
  /// `maps`: the pipelined kernel's tensor maps of A and B (empty for
  /// window operands).
  Tcgen05Emitter(LoweringBuilder &e, MatmulOp op, const GemmOperands &v,
                 ArrayRef<Value> maps, StringRef smemName)
      : e(e), b(e.builder()), loc(e.location()), m(e.math()), op(op), v(v),
        maps(maps), smemName(smemName), ctx(op.getContext()) {}

  void emit() {
    aRecipe = op.getARecipe();
    bRecipe = op.getBRecipe();
    window = gemmScaleClass(aRecipe, bRecipe) == GemmScaleClass::Window;
    tmem = window ? kWindow : kPlain;
    i32 = b.getI32Type();
    i64 = b.getI64Type();
    smemPtrType = LLVM::LLVMPointerType::get(ctx, 3);
    tmemPtrType = LLVM::LLVMPointerType::get(ctx, 6);

    tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    warp = e.divI(tid, 32);
    M = e.dim(v.aData, 0);
    N = e.dim(v.bData, 0);
    std::tie(rowBase, colBase) = gemmBlockTile(e, N, kTileM, kTileN);
    numBlocks = e.divI(e.dim(v.aData, 1), kBlock / 2);
    cConst = gemmC(b, loc, aRecipe, bRecipe);
    smem = LLVM::AddressOfOp::create(b, smemPtrType, smemName);
    smemAddr = LLVM::PtrToIntOp::create(b, i64, smem);

    if (!window) {
      pipelined();
      return;
    }
    setup();
    Value numSteps = e.divI(e.dim(v.aData, 1), kRowBytes);
    e.loop(e.idx(0), numSteps, [&](Value step) { kStep(step); });
    epilogue();
    teardown();
  }

private:
  // --- small helpers --------------------------------------------------------
  Value cst32(int64_t x) {
    return arith::ConstantIntOp::create(b, i32, x);
  }
  Value cst64(int64_t x) {
    return arith::ConstantIntOp::create(b, i64, x);
  }
  Value toI32(Value index) {
    return arith::IndexCastUIOp::create(b, i32, index);
  }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y);
  }
  /// Shared memory at byte `off` (+ `dyn`, an index, when given).
  Value smemAt(int64_t off, Value dyn = {}) {
    Value o = cst32(off);
    if (dyn)
      o = arith::AddIOp::create(b, o, toI32(dyn));
    return LLVM::GEPOp::create(b, smemPtrType, b.getI8Type(), smem,
                               ArrayRef<LLVM::GEPArg>{o});
  }
  /// The TMEM address `base + (lane << 16) + col`.
  Value tmemAt(int64_t col, Value laneOffset = {}) {
    Value a = arith::AddIOp::create(b, tmemBase, cst32(col));
    if (laneOffset)
      a = arith::AddIOp::create(b, a, laneOffset);
    return LLVM::IntToPtrOp::create(b, tmemPtrType, a);
  }
  /// Runs `body` in `scf.if cond`.
  void ifThen(Value cond, function_ref<void()> body) {
    auto ifOp = scf::IfOp::create(b, cond, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    body();
  }
  void fence(NVVM::Tcgen05FenceKind kind) {
    NVVM::Tcgen05FenceOp::create(b, kind);
  }
  /// bar.sync with the tcgen05 fences around it, so tcgen05 operations
  /// before it (any thread) are ordered before those after it.
  void syncThreads() {
    fence(NVVM::Tcgen05FenceKind::BEFORE_THREAD_SYNC);
    gpu::BarrierOp::create(b);
    fence(NVVM::Tcgen05FenceKind::AFTER_THREAD_SYNC);
  }

  // --- phases ---------------------------------------------------------------
  void setup() {
    Value isWarp0 = cmp(arith::CmpIPredicate::eq, warp, e.idx(0));
    ifThen(isWarp0, [&] {
      // Warp-wide (.sync.aligned); writes the TMEM base to shared memory.
      NVVM::Tcgen05AllocOp::create(b, smemAt(kSmemSlot), cst32(tmem.cols));
      // The CTA never allocates again (a later alloc would be illegal).
      NVVM::Tcgen05RelinquishAllocPermitOp::create(b);
    });
    Value isThread0 = cmp(arith::CmpIPredicate::eq, tid, e.idx(0));
    ifThen(isThread0, [&] {
      NVVM::MBarrierInitOp::create(b, smemAt(kSmemBar), cst32(1), Value());
      NVVM::FenceMbarrierInitOp::create(b);
    });
    syncThreads();
    tmemBase = LLVM::LoadOp::create(b, i32, smemAt(kSmemSlot));
    // Warp w may access TMEM lanes 32w..32w+31 only: its rows of the tile.
    laneOffset = arith::ShLIOp::create(b, toI32(e.mulI(warp, e.idx(32))),
                                       cst32(16));
  }

  /// Copies this thread's row of the step into the core-matrix layout.
  void stageRow(Value data, Value row, Value step, int64_t smemBase) {
    Value t = tid;
    Value base = e.addI(e.mulI(e.divI(t, 8), e.idx(kGroupBytes)),
                        e.mulI(e.remI(t, e.idx(8)), e.idx(16)));
    auto vecType = VectorType::get({16}, b.getI8Type());
    for (int64_t h = 0; h < 2; ++h) {
      Value col = e.addI(e.mulI(step, e.idx(kRowBytes)), e.idx(16 * h));
      Value bytes =
          vector::LoadOp::create(b, vecType, data, ValueRange{row, col},
                                 /*nontemporal=*/false, llvm::MaybeAlign(16));
      LLVM::StoreOp::create(b, bytes,
                            smemAt(smemBase + h * kCoreBytes, base), 16);
    }
  }

  /// Copies 4 bytes of the 512-byte scale atom of (tile row `tileRow`,
  /// step): in the 128x4 layout the atom is contiguous, its byte
  /// (r % 32) * 16 + (r / 32) * 4 + j holding row r's scale of 16-block j.
  void stageScale(Value scale, Value tileRow, Value step, int64_t smemBase) {
    Value atom = m.scaleOffset(ScaleLayout::Swizzle128x4, tileRow,
                               e.mulI(step, e.idx(4)), numBlocks);
    Value flat = e.addI(atom, e.mulI(tid, e.idx(4)));
    Value cols = e.dim(scale, 1);
    Type element = cast<MemRefType>(scale.getType()).getElementType();
    // The scale columns are padded to a multiple of 4: the 4 bytes never
    // straddle a row of the buffer, and are 4-byte aligned.
    Value word = vector::LoadOp::create(
        b, VectorType::get({4}, element), scale,
        ValueRange{e.divI(flat, cols), e.remI(flat, cols)},
        /*nontemporal=*/false, llvm::MaybeAlign(4));
    word = arith::BitcastOp::create(b, VectorType::get({4}, b.getI8Type()),
                                    word);
    LLVM::StoreOp::create(b, word, smemAt(smemBase, e.mulI(tid, e.idx(4))),
                          4);
  }

  void kStep(Value step) {
    Value one = e.idx(1);
    Value aRow =
        e.minI(e.addI(rowBase, tid), arith::SubIOp::create(b, M, one));
    Value bRow =
        e.minI(e.addI(colBase, tid), arith::SubIOp::create(b, N, one));
    stageRow(v.aData, aRow, step, kSmemA);
    stageRow(v.bData, bRow, step, kSmemB);
    stageScale(v.aScale, rowBase, step, kSmemSfa);
    stageScale(v.bScale, colBase, step, kSmemSfb);
    if (window) {
      // One global load per thread instead of 128 per thread (and no 128
      // hoisted column pointers) in the promotion.
      Value amaxB = gemmLoadAmax(b, loc, bRecipe, v.bAmax,
                                 clamp(e.addI(colBase, tid), N), step);
      LLVM::StoreOp::create(b, amaxB,
                            smemAt(kSmemAmaxB, amaxSlot(step, tid)), 4);
    }
    // Generic-proxy writes -> async proxy (tcgen05.cp / tcgen05.mma).
    NVVM::FenceProxyOp::create(
        b, NVVM::ProxyKind::async_shared,
        NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
    syncThreads();

    Value isThread0 = cmp(arith::CmpIPredicate::eq, tid, e.idx(0));
    ifThen(isThread0, [&] {
      // tcgen05.cp and tcgen05.mma issued by one thread execute in order.
      copyScales(e.idx(0));
      // Window operands: every step starts from zero and is promoted.
      Value accumulate =
          window ? arith::ConstantIntOp::create(b, b.getI1Type(), 0)
                 : cmp(arith::CmpIPredicate::ne, step, e.idx(0));
      NVVM::Tcgen05MMABlockScaleOp::create(
          b, NVVM::MMABlockScaleKind::MXF4NVF4, NVVM::CTAGroupKind::CTA_1,
          NVVM::Tcgen05MMABlockScale::BLOCK16,
          NVVM::Tcgen05MMACollectorOp::DISCARD, tmemAt(tmem.acc),
          descriptorAt(kOperandDesc, e.idx(0), kSmemA),
          descriptorAt(kOperandDesc, e.idx(0), kSmemB),
          cst32(int64_t(kInstrDesc)), accumulate, tmemAt(tmem.sfa),
          tmemAt(tmem.sfb));
      NVVM::Tcgen05CommitOp::create(b, smemAt(kSmemBar), Value());
    });
    // One commit per step: the step's phase has parity step % 2. Waiting
    // also frees the shared memory for the next step.
    Value parity = arith::AndIOp::create(b, toI32(step), cst32(1));
    waitParity(parity);
    fence(NVVM::Tcgen05FenceKind::AFTER_THREAD_SYNC);
    if (window)
      promote(step);
  }

  /// Spins on `mbarrier.try_wait.parity.acquire.cta` (which may return
  /// false on a system time limit) until the phase of `parity` completed.
  void waitParity(Value parity) {
    auto loop = scf::WhileOp::create(b, TypeRange{}, ValueRange{});
    OpBuilder::InsertionGuard guard(b);
    b.createBlock(&loop.getBefore());
    Value done = NVVM::MBarrierTryWaitOp::create(
        b, b.getI1Type(), smemAt(kSmemBar), parity, Value());
    Value notDone = arith::XOrIOp::create(
        b, done, arith::ConstantIntOp::create(b, b.getI1Type(), 1));
    scf::ConditionOp::create(b, notDone, ValueRange{});
    b.createBlock(&loop.getAfter());
    scf::YieldOp::create(b);
  }

  /// Loads `n` consecutive fp32 columns of this thread's TMEM lane
  /// (tcgen05.ld.32x32b.x<n>).
  SmallVector<Value> loadColumns(int64_t col, int64_t n = 32) {
    auto vecType = VectorType::get({n}, i32);
    Value vec = NVVM::Tcgen05LdOp::create(b, vecType, /*pack=*/false,
                                          NVVM::Tcgen05LdStShape::SHAPE_32X32B,
                                          tmemAt(col, laneOffset), Value());
    SmallVector<Value> out;
    for (int64_t j = 0; j < n; ++j)
      out.push_back(arith::BitcastOp::create(
          b, b.getF32Type(), vector::ExtractOp::create(b, vec, j)));
    return out;
  }

  /// Byte offset of column `j`'s B amax of `step` in the double buffer.
  Value amaxSlot(Value step, Value j) {
    Value buffer = e.remI(step, e.idx(2));
    return e.mulI(e.addI(e.mulI(buffer, e.idx(kTileN)), j), e.idx(4));
  }
  Value clamp(Value r, Value limit) {
    return e.minI(r, arith::SubIOp::create(b, limit, e.idx(1)));
  }
  Value row() { return e.addI(rowBase, tid); }
  Value column(int64_t j) { return e.addI(colBase, e.idx(j)); }

  /// run += RN(step * RN(RN(amaxA[i,w] * amaxB[j,w]) * c)), w = step.
  void promote(Value step) {
    Value first = cmp(arith::CmpIPredicate::eq, step, e.idx(0));
    Value amaxA = gemmLoadAmax(b, loc, aRecipe, v.aAmax, clamp(row(), M), step);
    // 16 columns at a time: two live slices plus the factors stay in
    // registers.
    constexpr int64_t kSlice = 16;
    for (int64_t s = 0; s < kTileN / kSlice; ++s) {
      SmallVector<Value> part = loadColumns(tmem.acc + kSlice * s, kSlice);
      SmallVector<Value> run = loadColumns(tmem.run + kSlice * s, kSlice);
      NVVM::Tcgen05WaitOp::create(b, NVVM::Tcgen05WaitKind::LOAD);
      SmallVector<Value> next;
      for (int64_t j = 0; j < kSlice; ++j) {
        Value amaxB = LLVM::LoadOp::create(
            b, b.getF32Type(),
            smemAt(kSmemAmaxB, amaxSlot(step, e.idx(kSlice * s + j))), 4);
        Value factor = gemmWindowFactor(b, loc, amaxA, amaxB, cConst);
        // The running region is uninitialised before the first step.
        Value prev = m.select(first, m.f32(0.0f), run[j]);
        Value sum = m.add(prev, m.mul(part[j], factor));
        next.push_back(arith::BitcastOp::create(b, i32, sum));
      }
      Value vec = vector::FromElementsOp::create(
          b, VectorType::get({kSlice}, i32), next);
      NVVM::Tcgen05StOp::create(
          b, /*unpack=*/false, NVVM::Tcgen05LdStShape::SHAPE_32X32B,
          tmemAt(tmem.run + kSlice * s, laneOffset), vec, Value());
    }
    NVVM::Tcgen05WaitOp::create(b, NVVM::Tcgen05WaitKind::STORE);
  }

  void epilogue() { epilogueRows(tid); }

  /// The epilogue of the thread whose TMEM lane (row of the tile) is
  /// `lane`.
  void epilogueRows(Value lane) {
    Value r = e.addI(rowBase, lane);
    Value rowValid = cmp(arith::CmpIPredicate::ult, r, M);
    int64_t region = window ? tmem.run : tmem.acc;
    for (int64_t s = 0; s < kTileN / 32; ++s) {
      // tcgen05.ld is warp-collective: issued outside the row mask.
      SmallVector<Value> acc = loadColumns(region + 32 * s);
      NVVM::Tcgen05WaitOp::create(b, NVVM::Tcgen05WaitKind::LOAD);
      ifThen(rowValid, [&] {
        Value aAmax;
        if (!window)
          aAmax = gemmLoadAmax(b, loc, aRecipe, v.aAmax, r, {});
        for (int64_t j = 0; j < 32; ++j) {
          Value col = column(32 * s + j);
          ifThen(cmp(arith::CmpIPredicate::ult, col, N), [&] {
            Value bAmax;
            if (!window)
              bAmax = gemmLoadAmax(b, loc, bRecipe, v.bAmax, col, {});
            storeGemmResult(e, op, v, acc[j], r, col, aAmax, bAmax, cConst);
          });
        }
      });
    }
  }

  //===------------------------------------------------------------------===//
  // The pipelined kernel: the skeleton of the sm_90a kernel (GemmPipeline's
  // ring, roles and persistent schedule) with tcgen05 as the MMA.
  //  * Warpgroup 0's thread 0 produces: per (tile, chunk) it waits for a
  //    free stage and fills it with TMA (GemmPipeline::fillStage): the
  //    128 x 32-byte boxes of A and B through their tensor maps (SW32
  //    layout; rows past M or N read as zeros) and the two 512-byte scale
  //    atoms with cp.async.bulk, announced on the stage's `full` barrier
  //    with their 9216 bytes. The other producer threads have no work.
  //  * Warpgroup 1 multiplies and stores. Its thread 0 waits for `full`
  //    (TMA writes through the async proxy, as the tensor core reads: no
  //    proxy fence), issues the two tcgen05.cp and the MMA, and commits to
  //    the stage's `empty` barrier (the tensor core arrives when it has
  //    read the stage). After a tile's last chunk it commits to the
  //    accumulator barrier; the four warps (TMEM lane quarters) wait for
  //    it, run the epilogue and meet at a named barrier before the next
  //    tile's first MMA overwrites the accumulator. The producers run up
  //    to kPipeStages chunks ahead meanwhile: the epilogue overlaps the
  //    next tile's loads.
  // Only the MMA family differs from sm_90a (wgmma from registers and
  // shared memory there, tcgen05 into TMEM here) and the copies (the
  // tensor core takes E2M1 as stored: nothing to decode).
  //===------------------------------------------------------------------===//

  /// A global pointer to byte `offset` of `memref`.
  Value globalAt(Value memref, Value offset) {
    Value addr = arith::IndexCastUIOp::create(
        b, i64, e.addI(gemmBaseAddress(b, memref), offset));
    return LLVM::AddrSpaceCastOp::create(
        b, LLVM::LLVMPointerType::get(ctx, 1),
        LLVM::IntToPtrOp::create(b, LLVM::LLVMPointerType::get(ctx), addr));
  }
  /// A matrix descriptor for the shared memory at byte `stage` + `off`
  /// (`stage` 0 in the single-stage kernel).
  Value descriptorAt(uint64_t bits, Value stage, int64_t off) {
    Value addr = arith::AddIOp::create(
        b, smemAddr,
        arith::AddIOp::create(b, arith::IndexCastUIOp::create(b, i64, stage),
                              cst64(off)));
    Value start = arith::AndIOp::create(
        b, arith::ShRUIOp::create(b, addr, cst64(4)), cst64(0x3FFF));
    return arith::OrIOp::create(b, start, cst64(int64_t(bits)));
  }
  /// The first row of A and of B of tile `tile` (tile row t / ceil(N /
  /// 128), column t % ceil(N / 128)).
  std::pair<Value, Value> tileBase(Value tile) {
    Value tilesN = e.ceilDivI(N, kTileN);
    return {e.mulI(e.divI(tile, tilesN), e.idx(kTileM)),
            e.mulI(e.remI(tile, tilesN), e.idx(kTileN))};
  }

  /// The TMA fill of iteration `i` into `slot`'s stage (at byte
  /// `stage`), issued by one thread.
  void pipeFill(GemmPipeline &pipe, Value i, Value numSteps,
                GemmPipeline::Slot slot, Value stage) {
    Value tile, step, aBase, bBase;
    std::tie(tile, step) = pipe.tileAndChunk(i, numSteps);
    std::tie(aBase, bBase) = tileBase(tile);
    Value x = e.mulI(step, e.idx(kRowBytes));
    SmallVector<GemmPipeline::TensorTile, 2> tiles{
        {maps[0], x, aBase, smemAt(kSmemA, stage), kTileM * kRowBytes},
        {maps[1], x, bBase, smemAt(kSmemB, stage), kTileN * kRowBytes}};
    // The 512-byte scale atom of (tile row, step): contiguous in the 128x4
    // layout (see stageScale), 16-byte aligned like the buffer.
    SmallVector<GemmPipeline::ByteRange, 2> ranges;
    for (auto [scale, first, at] : {std::tuple{v.aScale, aBase, kSmemSfa},
                                    std::tuple{v.bScale, bBase, kSmemSfb}}) {
      Value atom = m.scaleOffset(ScaleLayout::Swizzle128x4, first,
                                 e.mulI(step, e.idx(4)), numBlocks);
      ranges.push_back({globalAt(scale, atom), smemAt(at, stage), 512});
    }
    pipe.fillStage(slot, tiles, ranges);
  }

  /// The two tcgen05.cp of the scale atoms of the step staged at byte
  /// `stage` of shared memory into their TMEM columns.
  void copyScales(Value stage) {
    for (auto [smemOff, col] :
         {std::pair{kSmemSfa, tmem.sfa}, std::pair{kSmemSfb, tmem.sfb}})
      NVVM::Tcgen05CpOp::create(b, NVVM::Tcgen05CpShape::SHAPE_32x128b,
                                NVVM::CTAGroupKind::CTA_1,
                                NVVM::Tcgen05CpMulticast::WARPX4,
                                NVVM::Tcgen05CpSrcFormatAttr(), tmemAt(col),
                                descriptorAt(kScaleDesc, stage, smemOff));
  }

  /// The MMA thread's work for the chunk in the stage at byte `stage`.
  void pipeMma(Value stage, Value step, Value empty) {
    // TMA filled the stage through the async proxy, the one the tensor core
    // reads through: the `full` barrier's completion is all it needs.
    fence(NVVM::Tcgen05FenceKind::AFTER_THREAD_SYNC);
    copyScales(stage);
    NVVM::Tcgen05MMABlockScaleOp::create(
        b, NVVM::MMABlockScaleKind::MXF4NVF4, NVVM::CTAGroupKind::CTA_1,
        NVVM::Tcgen05MMABlockScale::BLOCK16,
        NVVM::Tcgen05MMACollectorOp::DISCARD, tmemAt(tmem.acc),
        descriptorAt(kOperandDescSw32, stage, kSmemA),
        descriptorAt(kOperandDescSw32, stage, kSmemB),
        cst32(int64_t(kInstrDesc)),
        cmp(arith::CmpIPredicate::ne, step, e.idx(0)), tmemAt(tmem.sfa),
        tmemAt(tmem.sfb));
    // Arrives on `empty` once the MMA (and the copies before it) are done.
    NVVM::Tcgen05CommitOp::create(b, empty, Value());
  }

  void pipelined() {
    Value pipeBase = smemAt(kPipeBarriers);
    // One producer thread arrives per fill (with the fill's byte count);
    // one MMA thread's commit releases a stage.
    GemmPipeline pipe(b, pipeBase, kPipeStages, /*producerArrivals=*/1,
                      /*consumerArrivals=*/1);
    Value numSteps = e.divI(e.dim(v.aData, 1), kRowBytes);
    Value numTiles = e.mulI(e.ceilDivI(M, kTileM), e.ceilDivI(N, kTileN));
    Value accBar = smemAt(kPipeAccBar);

    // Warp 4 (the MMA warpgroup's first) allocates the accumulator and the
    // scale columns; thread 0 initialises the barriers.
    Value isWarp4 = cmp(arith::CmpIPredicate::eq, warp, e.idx(4));
    ifThen(isWarp4, [&] {
      NVVM::Tcgen05AllocOp::create(b, smemAt(kPipeSlot), cst32(tmem.cols));
      NVVM::Tcgen05RelinquishAllocPermitOp::create(b);
    });
    ifThen(cmp(arith::CmpIPredicate::eq, tid, e.idx(0)), [&] {
      NVVM::MBarrierInitOp::create(b, accBar, cst32(1), Value());
    });
    fence(NVVM::Tcgen05FenceKind::BEFORE_THREAD_SYNC);
    pipe.initialize(tid);
    fence(NVVM::Tcgen05FenceKind::AFTER_THREAD_SYNC);
    tmemBase = LLVM::LoadOp::create(b, i32, smemAt(kPipeSlot));

    pipe.splitRoles(
        tid, /*producerGroups=*/1, /*producerRegs=*/0, /*consumerRegs=*/0,
        [&] {
          // Every fill is consumed (the MMA thread waits for each), so no
          // copy is in flight when the block exits.
          ifThen(cmp(arith::CmpIPredicate::eq, tid, e.idx(0)), [&] {
            for (Value map : maps)
              pipe.prefetchTensorMap(map);
            pipe.loop(pipe.iterations(numTiles, numSteps), pipe.firstSlot(), {},
                      [&](Value i, GemmPipeline::Slot slot, ValueRange) {
                        pipe.waitEmpty(slot);
                        pipeFill(pipe, i, numSteps, slot,
                                 e.mulI(slot.stage, e.idx(kPipeStageBytes)));
                        return SmallVector<Value>{};
                      });
          });
        },
        [&] { pipeConsume(pipe, numTiles, numSteps, accBar); });
  }

  /// Warpgroup 1's loop over its tiles (see above).
  void pipeConsume(GemmPipeline &pipe, Value numTiles, Value numSteps,
                   Value accBar) {
    Value ctid = arith::SubIOp::create(b, tid, e.idx(128));
    Value quarter = e.remI(warp, e.idx(4));
    // Warp w of the warpgroup may access TMEM lanes 32w..32w+31: its rows
    // of the tile.
    laneOffset = arith::ShLIOp::create(
        b, toI32(e.mulI(quarter, e.idx(32))), cst32(16));
    Value mmaThread = cmp(arith::CmpIPredicate::eq, ctid, e.idx(0));
    GemmPipeline::Slot start = pipe.firstSlot();
    Value accPhase = cst32(0);
    e.loop(e.idx(0), pipe.tiles(numTiles), {start.stage, start.phase, accPhase},
           [&](Value local, ValueRange at) {
             GemmPipeline::Slot slot{at[0], at[1]};
             ifThen(mmaThread, [&] {
               pipe.loop(numSteps, slot, {},
                         [&](Value step, GemmPipeline::Slot s, ValueRange) {
                           pipe.waitFull(s);
                           pipeMma(e.mulI(s.stage, e.idx(kPipeStageBytes)),
                                   step, pipe.emptyBarrier(s.stage));
                           return SmallVector<Value>{};
                         });
               NVVM::Tcgen05CommitOp::create(b, accBar, Value());
             });
             pipe.waitParity(accBar, at[2]);
             fence(NVVM::Tcgen05FenceKind::AFTER_THREAD_SYNC);
             std::tie(rowBase, colBase) = tileBase(pipe.tileOf(local));
             epilogueRows(ctid);
             // Every lane has read the accumulator (tcgen05.wait::ld)
             // before the next tile's first MMA overwrites it.
             fence(NVVM::Tcgen05FenceKind::BEFORE_THREAD_SYNC);
             NVVM::BarrierOp::create(b, Type(), cst32(1), cst32(128),
                                     NVVM::BarrierReductionAttr(), Value());
             fence(NVVM::Tcgen05FenceKind::AFTER_THREAD_SYNC);
             GemmPipeline::Slot next = pipe.advance(slot, numSteps);
             return SmallVector<Value>{
                 next.stage, next.phase,
                 arith::XOrIOp::create(b, at[2], cst32(1))};
           });
    ifThen(cmp(arith::CmpIPredicate::eq, quarter, e.idx(0)), [&] {
      NVVM::Tcgen05DeallocOp::create(
          b, LLVM::IntToPtrOp::create(b, tmemPtrType, tmemBase),
          cst32(tmem.cols));
    });
  }

  void teardown() {
    syncThreads();
    Value isWarp0 = cmp(arith::CmpIPredicate::eq, warp, e.idx(0));
    ifThen(isWarp0, [&] {
      NVVM::Tcgen05DeallocOp::create(
          b, LLVM::IntToPtrOp::create(b, tmemPtrType, tmemBase),
          cst32(tmem.cols));
    });
  }

  LoweringBuilder &e;
  ImplicitLocOpBuilder &b;
  /// For the GemmNumerics functions, which take an OpBuilder and a Location.
  Location loc;
  NumericsBuilder &m;
  MatmulOp op;
  GemmOperands v;
  SmallVector<Value, 2> maps;
  StringRef smemName;
  MLIRContext *ctx;
  RecipeAttr aRecipe, bRecipe;
  bool window = false;
  TmemLayout tmem = kPlain;
  Type i32, i64, smemPtrType, tmemPtrType;
  Value tid, warp, rowBase, colBase, M, N, numBlocks, cConst, smem, smemAddr,
      tmemBase, laneOffset;
};
} // namespace

bool mlir::nvfp4::detail::isTcgen05Chip(StringRef chip) {
  // tcgen05.mma.block_scale is an arch-specific ("a") feature; MLIR 22's
  // NVVM verifier admits tcgen05.alloc/ld/cp on sm_100a/sm_101a and the
  // block-scaled MMA on sm_100a/sm_110a: sm_100a is the chip both accept.
  return chip == "sm_100a";
}

bool mlir::nvfp4::detail::tcgen05Supports(MatmulOp op) {
  // K static and a multiple of 64: whole MMAs and scale atoms per step.
  int64_t kHalf = cast<MemRefType>(op.getAData().getType()).getDimSize(1);
  return !ShapedType::isDynamic(kHalf) && kHalf > 0 &&
         kHalf % (kStepK / 2) == 0;
}

LogicalResult mlir::nvfp4::detail::buildTcgen05MatmulKernel(
    MatmulOp op, gpu::GPUModuleOp module, StringRef prefix,
    TargetLeaves &leaves, ImplicitLocOpBuilder &host) {
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  ImplicitLocOpBuilder b(loc, ctx);
  b.setInsertionPointToEnd(module.getBody());
  std::string name = (prefix + "_gemm_tcgen05").str();
  std::string smemName = name + "_smem";
  bool window = gemmScaleClass(op.getARecipe(), op.getBRecipe()) ==
                GemmScaleClass::Window;
  LLVM::GlobalOp::create(
      b,
      LLVM::LLVMArrayType::get(b.getI8Type(),
                               window ? kSmemWindowBytes : kPipeSmemBytes),
      /*isConstant=*/false, LLVM::Linkage::Internal, smemName, Attribute(),
      /*alignment=*/1024,
      /*addrSpace=*/3);

  int64_t threads = window ? kThreads : kPipeThreads;
  // The pipelined kernel loads A's and B's data through TMA and the scale
  // atoms by cp.async.bulk.
  auto func = window ? createGemmKernel(op, module, name, threads,
                                        {kTileM, kTileN}, /*maxM=*/0)
                     : createTmaGemmKernel(op, module, name, threads, kTileM,
                                           kTileN, kRowBytes, kTmaSwizzle);
  if (!window)
    func->setAttr(kernel_attr::kGemmPersistent, b.getUnitAttr());
  b.setInsertionPointToStart(&func.getBody().front());
  {
    LoweringBuilder e(b, &leaves);
    Tcgen05Emitter(e, op, gemmKernelOperands(func, op),
                   gemmTensorMapArgs(func, op), smemName)
        .emit();
  }
  gpu::ReturnOp::create(b);

  LoweringBuilder he(host);
  Value M = he.dim(op.getAData(), 0), N = he.dim(op.getBData(), 0);
  launchGemmKernel(host, func, op, M, N, kTileM, kTileN, threads,
                   /*dynamicSmem=*/Value());
  return success();
}
