//===- MatmulToGPU.cpp - nvfp4.matmul to tensor-core GPU kernels ----------===//
//
// The GEMM schedule: `D = A * B^T` with both operands NVFP4 along K.
//
// Each warp owns a (16*MI) x (8*NI) tile of D and walks K in 64-wide chunks
// (four 16-blocks, one outer window). It issues `mma.sync.m16n8k16` on bf16
// operands that it dequantizes on load: an E2M1 value times its E4M3 block
// scale is exact in bf16 (SPEC.md section 12), so nothing is lost before the
// fp32 accumulation. The outer scales are applied in the epilogue, or per
// chunk for 1x64-window operands.
//
// Fragments come straight from global memory, without a shared-memory stage.
// The trick that makes this cheap: a K-permutation applied to both operands
// leaves the dot products unchanged, so lane (g, t) = (lane / 4, lane % 4)
// reads the 8 contiguous bytes of block t of a chunk (one aligned 64-bit
// load per row) and uses bytes 2s and 2s+1 as its two k-pairs of k-step s.
// Every lane then needs exactly one block scale per row and chunk.
//
// Two configurations are emitted; the host picks by M:
//  * small M (decode): one 16-row tile per warp and the K range split over
//    the warps of a thread block, which are summed in shared memory in a
//    fixed order -- enough loads in flight to stream B at full bandwidth;
//  * large M: 32x32 warp tiles, four warps per block, no K split.
//
//===----------------------------------------------------------------------===//

#include "MatmulToGPU.h"

#include "../Common/QuantizeEmitter.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Numerics/GemmNumerics.h"
#include "nvfp4/Numerics/NumericsBuilder.h"

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
/// Elements of K per chunk: four 16-blocks, one 1x64 window.
constexpr int64_t kChunk = 64;
constexpr int64_t kWarp = 32;

/// One kernel configuration.
struct GemmConfig {
  const char *name;
  int64_t mi, ni;          ///< mma tiles (16 x 8) per warp along M and N
  int64_t warpsM, warpsN;  ///< warps per block along M and N
  int64_t kSplit;          ///< warps per block sharing one tile along K
  int64_t maxM;            ///< used when M <= maxM (0: any M)

  int64_t tileM() const { return 16 * mi * warpsM; }
  int64_t tileN() const { return 8 * ni * warpsN; }
  int64_t threads() const { return kWarp * warpsM * warpsN * kSplit; }
  int64_t accPerLane() const { return mi * ni * 4; }
};

constexpr GemmConfig kConfigs[] = {
    {"small_m", /*mi=*/1, /*ni=*/4, /*warpsM=*/1, /*warpsN=*/1, /*kSplit=*/8,
     /*maxM=*/32},
    {"large_m", /*mi=*/2, /*ni=*/4, /*warpsM=*/2, /*warpsN=*/2, /*kSplit=*/1,
     /*maxM=*/0},
};

/// The operands of a matmul, as values of the kernel being built.
struct Operands {
  Value aData, aScale, aAmax, bData, bScale, bAmax, bias, out;
};

/// Builds one GEMM kernel body.
class GemmEmitter {
public:
  GemmEmitter(LoopEmitter &e, MatmulOp op, const GemmConfig &cfg,
              const Operands &v, Value smem)
      : e(e), b(e.builder()), loc(e.location()), m(e.math()), op(op),
        cfg(cfg), v(v), smem(smem) {}

  void emit() {
    aRecipe = op.getARecipe();
    bRecipe = op.getBRecipe();
    window = gemmScaleClass(aRecipe, bRecipe) == GemmScaleClass::Window;

    Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    Value warp = e.divI(tid, kWarp);
    Value lane = e.remI(tid, e.idx(kWarp));
    g = e.divI(lane, 4);
    t = e.remI(lane, e.idx(4));
    int64_t tileWarps = cfg.warpsM * cfg.warpsN;
    kSlice = e.divI(warp, tileWarps);
    Value wmn = e.remI(warp, e.idx(tileWarps));
    Value wm = e.divI(wmn, cfg.warpsN);
    Value wn = e.remI(wmn, e.idx(cfg.warpsN));
    Value by = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    Value bx = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    rowBase = e.addI(e.mulI(by, e.idx(cfg.tileM())),
                     e.mulI(wm, e.idx(16 * cfg.mi)));
    colBase = e.addI(e.mulI(bx, e.idx(cfg.tileN())),
                     e.mulI(wn, e.idx(8 * cfg.ni)));

    M = e.dim(v.aData, 0);
    N = e.dim(v.bData, 0);
    numBlocks = e.divI(e.dim(v.aData, 1), kBlock / 2);
    Value numChunks = e.ceilDivI(numBlocks, 4);
    // This warp's share of the chunks (all of them without a K split).
    Value per = e.ceilDivI(numChunks, cfg.kSplit);
    Value c0 = e.minI(e.mulI(kSlice, per), numChunks);
    Value c1 = e.minI(e.addI(c0, per), numChunks);
    cConst = gemmC(b, loc, aRecipe, bRecipe);

    // Rows of A and B this lane reads: clamped into range so every load is
    // in bounds; out-of-range rows get a zero scale and contribute nothing.
    for (int64_t i = 0; i < cfg.mi; ++i)
      for (int64_t h = 0; h < 2; ++h)
        aRows.push_back(clampRow(
            e.addI(rowBase, e.addI(g, e.idx(16 * i + 8 * h))), M, aValid));
    for (int64_t j = 0; j < cfg.ni; ++j)
      bRows.push_back(clampRow(e.addI(colBase, e.addI(g, e.idx(8 * j))), N,
                               bValid));

    SmallVector<Value> init(cfg.accPerLane(), m.f32(0.0f));
    SmallVector<Value> acc = e.loop(c0, c1, init, [&](Value c, ValueRange a) {
      return chunk(c, a);
    });

    if (cfg.kSplit > 1)
      acc = reduceSplits(acc);
    epilogue(acc);
  }

private:
  Value clampRow(Value r, Value limit, SmallVectorImpl<Value> &valid) {
    valid.push_back(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                          r, limit));
    return e.minI(r, arith::SubIOp::create(b, loc, limit, e.idx(1)));
  }

  /// The 8 data bytes of block `blk` of row `r` (one aligned load) and
  /// the block's scale as f32 (0 when the row or block is out of range).
  std::pair<Value, Value> loadBlock(Value data, Value scale, Value r,
                                    Value rowValid, Value blk,
                                    Value blkValid) {
    Value safeBlk =
        e.minI(blk, arith::SubIOp::create(b, loc, numBlocks, e.idx(1)));
    auto vecType = VectorType::get({8}, b.getI8Type());
    Value bytes = vector::LoadOp::create(
        b, loc, vecType, data, ValueRange{r, e.mulI(safeBlk, e.idx(8))},
        /*nontemporal=*/false, llvm::MaybeAlign(8));
    Value sf = gemmLoadScale(b, loc, scale, r, safeBlk, numBlocks);
    Value valid = arith::AndIOp::create(b, loc, rowValid, blkValid);
    sf = m.select(valid, sf, m.f32(0.0f));
    return {bytes, sf};
  }

  /// Byte `k` of `bytes` as a bf16x2 register: its two E2M1 codes (low
  /// nibble first) times `sf`, exact in bf16.
  Value pair(Value bytes, int64_t k, Value sf) {
    Value byte = arith::ExtUIOp::create(
        b, loc, b.getI32Type(), vector::ExtractOp::create(b, loc, bytes, k));
    Value lo = arith::AndIOp::create(b, loc, byte, m.i32(0xF));
    Value hi = arith::ShRUIOp::create(b, loc, byte, m.i32(4));
    Value lv = gemmDecode(b, loc, lo, sf);
    Value hv = gemmDecode(b, loc, hi, sf);
    auto f32x2 = VectorType::get({2}, b.getF32Type());
    Value vec = vector::FromElementsOp::create(b, loc, f32x2, ValueRange{lv, hv});
    Value bf = arith::TruncFOp::create(
        b, loc, VectorType::get({2}, b.getBF16Type()), vec);
    Value word = vector::BitCastOp::create(
        b, loc, VectorType::get({1}, b.getI32Type()), bf);
    return vector::ExtractOp::create(b, loc, word, 0);
  }

  /// One 64-wide chunk: four k-steps of mma over every tile of the warp.
  SmallVector<Value> chunk(Value c, ValueRange acc) {
    Value blk = e.addI(e.mulI(c, e.idx(4)), t);
    Value blkValid =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, blk, numBlocks);
    SmallVector<std::pair<Value, Value>> aBlocks, bBlocks;
    for (auto [r, valid] : llvm::zip(aRows, aValid))
      aBlocks.push_back(loadBlock(v.aData, v.aScale, r, valid, blk, blkValid));
    for (auto [r, valid] : llvm::zip(bRows, bValid))
      bBlocks.push_back(loadBlock(v.bData, v.bScale, r, valid, blk, blkValid));

    // Window operands: the chunk is accumulated from zero and promoted.
    SmallVector<Value> sum(acc.begin(), acc.end());
    if (window)
      sum.assign(cfg.accPerLane(), m.f32(0.0f));
    Type f32 = b.getF32Type();
    auto resultType = LLVM::LLVMStructType::getLiteral(
        b.getContext(), {f32, f32, f32, f32});
    for (int64_t s = 0; s < 4; ++s) {
      SmallVector<SmallVector<Value, 4>> aFrag;
      for (int64_t i = 0; i < cfg.mi; ++i) {
        auto &[lo, loSf] = aBlocks[2 * i];
        auto &[hi, hiSf] = aBlocks[2 * i + 1];
        aFrag.push_back({pair(lo, 2 * s, loSf), pair(hi, 2 * s, hiSf),
                         pair(lo, 2 * s + 1, loSf),
                         pair(hi, 2 * s + 1, hiSf)});
      }
      for (int64_t j = 0; j < cfg.ni; ++j) {
        auto &[bytes, sf] = bBlocks[j];
        Value b0 = pair(bytes, 2 * s, sf), b1 = pair(bytes, 2 * s + 1, sf);
        for (int64_t i = 0; i < cfg.mi; ++i) {
          int64_t base = (i * cfg.ni + j) * 4;
          ValueRange cIn(ArrayRef<Value>(sum).slice(base, 4));
          auto mma = NVVM::MmaOp::create(
              b, loc, resultType, aFrag[i], ValueRange{b0, b1}, cIn,
              ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
              std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                            NVVM::MMATypes::bf16},
              std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                             NVVM::MMALayout::col});
          for (int64_t k = 0; k < 4; ++k)
            sum[base + k] = LLVM::ExtractValueOp::create(b, loc, mma, k);
        }
      }
    }
    if (!window)
      return sum;

    // acc += RN(chunk * RN(RN(amaxA[i,w] * amaxB[j,w]) * c)).
    SmallVector<Value> next(acc.begin(), acc.end());
    forEachAccumulator([&](int64_t slot, int64_t aRow, int64_t bCol) {
      Value factor =
          gemmWindowFactor(b, loc, amaxA(aRow, c), amaxB(bCol, c), cConst);
      next[slot] = m.add(acc[slot], m.mul(sum[slot], factor));
    });
    return next;
  }

  /// Calls `fn(slot, aRowIndex, bColIndex)` for each accumulator of the
  /// lane: slot k of tile (i, j) holds row g + 8*(k/2) of A tile i and
  /// column 2t + k%2 of B tile j. `aRowIndex` indexes `aRows`; `bColIndex`
  /// is j * 2 + k % 2.
  void forEachAccumulator(function_ref<void(int64_t, int64_t, int64_t)> fn) {
    for (int64_t i = 0; i < cfg.mi; ++i)
      for (int64_t j = 0; j < cfg.ni; ++j)
        for (int64_t k = 0; k < 4; ++k)
          fn((i * cfg.ni + j) * 4 + k, 2 * i + k / 2, 2 * j + k % 2);
  }

  /// Row of D of accumulator row index `ai` and column of `bj`.
  Value accRow(int64_t ai) {
    return e.addI(rowBase, e.addI(g, e.idx(16 * (ai / 2) + 8 * (ai % 2))));
  }
  Value accCol(int64_t bj) {
    return e.addI(colBase,
                  e.addI(e.mulI(t, e.idx(2)), e.idx(8 * (bj / 2) + bj % 2)));
  }
  Value clamp(Value r, Value limit) {
    return e.minI(r, arith::SubIOp::create(b, loc, limit, e.idx(1)));
  }
  /// A's outer amax of accumulator row `ai` in K window `w` (null when
  /// the recipe has no windows), and B's of column `bj`.
  Value amaxA(int64_t ai, Value w) {
    return gemmLoadAmax(b, loc, aRecipe, v.aAmax, clamp(accRow(ai), M), w);
  }
  Value amaxB(int64_t bj, Value w) {
    return gemmLoadAmax(b, loc, bRecipe, v.bAmax, clamp(accCol(bj), N), w);
  }

  /// Sums the K slices of each tile in slice order through shared memory;
  /// slice 0's warps hold the total afterwards.
  SmallVector<Value> reduceSplits(ArrayRef<Value> acc) {
    int64_t per = cfg.accPerLane();
    Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    // smem[slot][thread]: neighbouring threads hit neighbouring banks.
    int64_t threads = cfg.threads();
    for (int64_t k = 0; k < per; ++k)
      memref::StoreOp::create(b, loc, acc[k], smem,
                              e.addI(e.idx(k * threads), tid));
    gpu::BarrierOp::create(b, loc);
    int64_t tileThreads = kWarp * cfg.warpsM * cfg.warpsN;
    Value inTile = e.remI(tid, e.idx(tileThreads));
    SmallVector<Value> sum;
    for (int64_t k = 0; k < per; ++k) {
      Value s = m.f32(0.0f);
      for (int64_t slice = 0; slice < cfg.kSplit; ++slice)
        s = m.add(s, memref::LoadOp::create(
                         b, loc, smem,
                         e.addI(e.idx(k * threads + slice * tileThreads),
                                inTile)));
      sum.push_back(s);
    }
    return sum;
  }

  /// Scales each accumulator and stores it, for lanes of K slice 0.
  void epilogue(ArrayRef<Value> acc) {
    Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        kSlice, e.idx(0));
    auto ifOp = scf::IfOp::create(b, loc, first, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    float alpha = op.getAlpha().convertToFloat();
    forEachAccumulator([&](int64_t slot, int64_t ai, int64_t bj) {
      Value r = accRow(ai), col = accCol(bj);
      Value inRange = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, r, M),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, col, N));
      auto store = scf::IfOp::create(b, loc, inRange, false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPoint(store.thenBlock()->getTerminator());
      Value aAmax, bAmax;
      if (!window) {
        aAmax = amaxA(ai, {});
        bAmax = amaxB(bj, {});
      }
      Value bias;
      if (v.bias)
        bias = memref::LoadOp::create(b, loc, v.bias, col);
      Value d = gemmEpilogue(b, loc, aRecipe, bRecipe, acc[slot], aAmax, bAmax,
                             cConst, alpha, bias);
      e.storeValue(d, v.out, {r, col});
    });
  }

  LoopEmitter &e;
  OpBuilder &b;
  Location loc;
  NumericsBuilder &m;
  MatmulOp op;
  const GemmConfig &cfg;
  Operands v;
  Value smem;
  RecipeAttr aRecipe, bRecipe;
  bool window = false;
  Value g, t, kSlice, rowBase, colBase, M, N, numBlocks, cConst;
  SmallVector<Value> aRows, aValid, bRows, bValid;
};
} // namespace

LogicalResult mlir::nvfp4::detail::buildMatmulKernels(MatmulOp op,
                                                      gpu::GPUModuleOp module,
                                                      StringRef prefix,
                                                      TargetLeaves &leaves,
                                                      StringRef chip) {
  bool tcgen05 = isTcgen05Chip(chip) && tcgen05Supports(op);
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  OpBuilder host(op);
  LoopEmitter he(host, loc);
  Value M = he.dim(op.getAData(), 0), N = he.dim(op.getBData(), 0);

  for (const GemmConfig &cfg : kConfigs) {
    // The tcgen05 kernel replaces the large-M configuration; decode-sized M
    // keeps the K-split mma.sync kernel, which fills more SMs.
    if (tcgen05 && cfg.maxM == 0)
      return buildTcgen05MatmulKernel(op, module, prefix, leaves, host);
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    std::string name = (prefix + "_gemm_" + cfg.name).str();
    auto type = FunctionType::get(ctx, op->getOperandTypes(), {});
    auto func = gpu::GPUFuncOp::create(b, loc, name, type);
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    func.setKnownBlockSizeAttr(
        b.getDenseI32ArrayAttr({int32_t(cfg.threads()), 1, 1}));
    func->setAttr("nvfp4.work", b.getStringAttr("gemm"));
    func->setAttr("nvfp4.gemm_tile",
                  b.getDenseI64ArrayAttr({cfg.tileM(), cfg.tileN()}));
    func->setAttr("nvfp4.gemm_max_m", b.getI64IntegerAttr(cfg.maxM));
    Value smem;
    if (cfg.kSplit > 1)
      smem = func.addWorkgroupAttribution(
          MemRefType::get({cfg.accPerLane() * cfg.threads()}, b.getF32Type(),
                          MemRefLayoutAttrInterface{},
                          gpu::AddressSpaceAttr::get(
                              ctx, gpu::AddressSpace::Workgroup)),
          loc);
    Block &entry = func.getBody().front();
    b.setInsertionPointToStart(&entry);
    // Workgroup attributions follow the operands among the block arguments.
    auto args = entry.getArguments().take_front(op->getNumOperands());
    Operands v{args[0], args[1], args[2], args[3], args[4], args[5],
               op.getBias() ? args[6] : Value(), args.back()};
    {
      LoopEmitter e(b, loc, &leaves);
      GemmEmitter(e, op, cfg, v, smem).emit();
    }
    gpu::ReturnOp::create(b, loc);

    // The launch: `scf.if M <= maxM` picks the configuration on the host.
    auto launch = [&](OpBuilder &at) {
      LoopEmitter le(at, loc);
      Value one = le.idx(1);
      gpu::LaunchFuncOp::create(
          at, loc, func,
          {le.ceilDivI(N, cfg.tileN()), le.ceilDivI(M, cfg.tileM()), one},
          {le.idx(cfg.threads()), one, one}, /*dynamicSharedMemorySize=*/Value(),
          op->getOperands());
    };
    if (cfg.maxM == 0) {
      launch(host);
      break;
    }
    Value small = arith::CmpIOp::create(host, loc, arith::CmpIPredicate::ule,
                                        M, he.idx(cfg.maxM));
    auto ifOp = scf::IfOp::create(host, loc, small, /*withElse=*/true);
    OpBuilder thenB = OpBuilder::atBlockTerminator(ifOp.thenBlock());
    launch(thenB);
    host.setInsertionPoint(ifOp.elseBlock()->getTerminator());
  }
  return success();
}
