//===- MatmulToGPU.cpp - nvfp4.matmul to tensor-core GPU kernels ----------===//
//
// The large-M GEMM kernels: `D = A * B^T`, A and B NVFP4 along K (or a
// 16-bit A, W4A16), for M above the direct kernels' 256 rows
// (MatmulDirect.cpp holds those, and the mma.sync fragment conventions both
// files use). One kernel per op, launched in the last else-branch of the
// direct kernels' `scf.if` chain on M:
//  * sm_90a: the software-pipelined wgmma kernel (two warpgroups that
//    each copy, decode and multiply; 128 x 256 tiles, 128 x 128 with 1x64
//    windows, whose chunks are promoted one by one), or with
//    nvfp4-to-gpu's warp-specialized-gemm option and operands without
//    windows the warp-specialized kernel on GemmPipeline (decoding
//    warpgroup fed by TMA, two wgmma warpgroups, a ring of decoded
//    stages, persistent tiles); the wgmma path below;
//  * sm_100a with a static K that is a multiple of 64: the tcgen05 kernel
//    (MatmulTcgen05.cpp, on the same GemmPipeline for per-tensor and
//    per-row operands);
//  * the sm_120 family (sm_120a/f, sm_121a/f): the block-scaled FP4
//    mma.sync kernel (MatmulSm120.cpp), any K;
//  * otherwise (chips without wgmma, tcgen05 or block-scaled mma.sync, and
//    sm_100a shapes the tcgen05 kernel does not take) the staged mma.sync
//    kernel: 128 x 128 (64 for window operands) block tiles whose
//    operands are decoded once per block into shared memory in mma
//    fragment order, 64 x 32 warp tiles, window operands promoted per
//    64-wide chunk.
// Every decode is exact in f16 (e2m1 x e4m3 has at most 6 significant
// bits, magnitudes 2^-10 .. 2688; one multiply per pair leaves them times
// 2^-kGemmDecodeShift, which MmaAccumulators takes back exactly), so the
// only roundings are the fp32 sums and the epilogue. A grouped GEMM runs the mma.sync kernels on one group's
// views per thread block (MatmulGrouped.cpp).
//===----------------------------------------------------------------------===//

#include "GemmPipeline.h"
#include "MatmulToGPU.h"

#include "nvfp4/Conversion/Chips.h"
#include "nvfp4/Conversion/QuantizeEmitter.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
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
/// Elements of K per chunk: four 16-blocks, one 1x64 window, and the
/// padding of the predecoded workspaces' rows.
constexpr int64_t kChunk = kGemmDecodedKAlign;
constexpr int64_t kWarp = 32;
/// The sm_90a large-M kernel: tile N (each warpgroup one m64nNk16
/// accumulator of N / 2 registers per thread) and decoded chunks in flight.
constexpr int64_t kWgmmaTileN = 256;
/// With 1x64 windows each chunk's product is promoted into a second
/// accumulator set, so each warpgroup's wgmma tile is half as wide.
constexpr int64_t kWgmmaWindowTileN = 128;
/// Decoded chunks in the warp-specialized kernel's ring (48 KB each), and
/// raw chunks (18 KB each: the copies of iteration i + 3 are in flight
/// while iteration i is decoded).
constexpr int64_t kWgmmaStages = 3;
constexpr int64_t kWgmmaRawStages = 4;
/// The software-pipelined kernel: decoded stages and raw (cp.async)
/// stages of 36 bytes per tile row (4 blocks of data and the row's scale
/// word).
constexpr int64_t kSwStages = 3;
constexpr int64_t kSwRawStages = 3;
static_assert(kSwRawStages >= 2, "copies run at least one chunk ahead");
constexpr int64_t kRawRowBytes = 32 + 4;
/// W4A16 (16-bit A) on the software pipeline: a raw A row of a chunk is 64
/// elements of 2 bytes, copied as they are.
constexpr int64_t kA16RowBytes = kChunk * 2;
/// Decoding warps of the warp-specialized kernel (one warpgroup), and the
/// register budgets of the two roles (setmaxnreg): 128 x 152 + 256 x 176
/// fit the 384 x 168 registers the block launches with. ptxas allocates
/// within the launch bound (with 512 threads, 128 registers, it cannot
/// hold a 64 x 256 accumulator), so a second decoding warpgroup would
/// need narrower tiles.
constexpr int64_t kDecodeWarps = 4;
constexpr int64_t kDecodeRegisters = 152;
constexpr int64_t kMmaRegisters = 176;
/// One kernel configuration.
struct GemmConfig {
  const char *name;
  int64_t mi, ni;          ///< mma tiles (16 x 8) per warp along M and N
  int64_t warpsM, warpsN;  ///< warps per block along M and N
  bool staged;             ///< decode through shared memory (see below)
  bool wgmma = false;      ///< staged in wgmma's layout, wgmma.mma_async
  int64_t stages = 0;      ///< wgmma: decoded chunks in the shared ring
  /// wgmma: raw chunks in flight + 1 (cp.async; TMA when warp-specialized)
  int64_t rawStages = 0;
  int64_t producerWarps = 0; ///< wgmma: decoding warps, before the MMA ones
  /// wgmma: operands decoded beforehand into 16-bit workspaces
  /// (MatmulDecode.cpp), copied into the stages by TMA as they are.
  bool predecoded = false;

  bool warpSpecialized() const { return producerWarps > 0; }
  int64_t tileM() const { return 16 * mi * warpsM; }
  int64_t tileN() const { return 8 * ni * warpsN; }
  int64_t threads() const {
    return kWarp * (warpsM * warpsN + producerWarps);
  }
  int64_t accPerLane() const { return mi * ni * 4; }
};

/// The large-M configuration. Window operands keep a second accumulator
/// set per warp, so their tiles are narrower.
GemmConfig largeConfig(bool window, bool wgmma, bool warpSpecialized) {
  if (wgmma && !window && warpSpecialized)
    // sm_90a, warp-specialized: a decoding warpgroup and two multiplying
    // ones, each a 64 x kWgmmaTileN wgmma accumulator; the fragment of
    // multiplying warp w is rows 16w.. of the tile.
    return {"large_m_wgmma", /*mi=*/1, /*ni=*/kWgmmaTileN / 8,
            /*warpsM=*/8,    /*warpsN=*/1,
            /*staged=*/false, /*wgmma=*/true,
            /*stages=*/kWgmmaStages, /*rawStages=*/kWgmmaRawStages,
            /*producerWarps=*/kDecodeWarps};
  if (wgmma && !window)
    // sm_90a, software-pipelined: two warpgroups that both copy, decode
    // and multiply; warp w's fragment is rows 16w.. of the tile.
    return {"large_m_wgmma", /*mi=*/1, /*ni=*/kWgmmaTileN / 8,
            /*warpsM=*/8,    /*warpsN=*/1,
            /*staged=*/false, /*wgmma=*/true,
            /*stages=*/kSwStages, /*rawStages=*/kSwRawStages};
  if (wgmma)
    // sm_90a, window operands: the software pipeline with 128 x 128 tiles;
    // each chunk's wgmma starts from zero into N / 2 registers per thread
    // and is promoted into as many (wgmmaLoop).
    return {"large_m_wgmma", /*mi=*/1, /*ni=*/kWgmmaWindowTileN / 8,
            /*warpsM=*/8,    /*warpsN=*/1,
            /*staged=*/false, /*wgmma=*/true,
            /*stages=*/kSwStages, /*rawStages=*/kSwRawStages};
  return {"large_m", /*mi=*/4, /*ni=*/window ? 2 : 4, /*warpsM=*/2,
          /*warpsN=*/4, /*staged=*/true};
}

/// The predecoded kernel's ring: stages of 16-bit chunks (48 KB each),
/// filled kPdStages - 2 chunks ahead (a stage is refilled only after every
/// warpgroup's wgmma of the chunk two back has retired), at a kPdAlign
/// boundary (the 128-byte swizzle's atom of 8 rows).
constexpr int64_t kPdStages = 4;
constexpr int64_t kPdAlign = 1024;

/// Register budgets of the warp-specialized predecoded kernel's roles
/// (setmaxnreg): its producer only issues TMA copies; 128 x 40 + 256 x 232
/// fit the 384 x 168 registers the block launches with.
constexpr int64_t kPdProducerRegisters = 40;
constexpr int64_t kPdMmaRegisters = 232;

/// sm_90a's large-M kernel of predecoded operands (no windows), 128 x 256
/// tiles, stages filled by TMA: the software pipeline's two warpgroups
/// that both fill and multiply, or (`warpSpecialized`) a producer
/// warpgroup whose thread 0 fills the ring ahead of two multiplying
/// warpgroups on GemmPipeline, persistent.
GemmConfig predecodedConfig(bool warpSpecialized) {
  return {"large_m_predecoded", /*mi=*/1, /*ni=*/kWgmmaTileN / 8,
          /*warpsM=*/8,    /*warpsN=*/1,
          /*staged=*/false, /*wgmma=*/true,
          /*stages=*/kPdStages, /*rawStages=*/0,
          /*producerWarps=*/warpSpecialized ? 4 : 0, // one warpgroup
          /*predecoded=*/true};
}

/// Bytes of one decoded stage of the wgmma ring: the tile's rows of A and
/// B, a 64-wide chunk of f16 each.
int64_t wgStageBytes(const GemmConfig &cfg) {
  return (cfg.tileM() + cfg.tileN()) * kChunk * 2;
}

/// The warp-specialized kernel's raw ring, filled by TMA: per stage the
/// chunk's boxes of A and B as TMA writes them without swizzle (tile row r
/// at byte 32 r: one 64-wide K chunk of packed E2M1), then the 512-byte
/// scale atom of each 128-row tile of A and of B (the 128x4 layout's: byte
/// (r % 32) * 16 + (r % 128 / 32) * 4 + j holds row r's scale of block j).
constexpr int64_t kWsRowBytes = kChunk / 2;
constexpr int64_t kScaleAtomBytes = 512;
int64_t wsRawAtomsOffset(const GemmConfig &cfg) {
  return (cfg.tileM() + cfg.tileN()) * kWsRowBytes;
}
int64_t wsRawStageBytes(const GemmConfig &cfg) {
  return wsRawAtomsOffset(cfg) +
         (cfg.tileM() + cfg.tileN()) / 128 * kScaleAtomBytes;
}

/// Bytes of one stage of the software-pipelined kernel's raw ring: 36 per
/// NVFP4 tile row (four blocks of data and the row's scale word), 128 per
/// row of a 16-bit A (`a16`).
int64_t swRawStageBytes(const GemmConfig &cfg, bool a16) {
  return a16 ? cfg.tileM() * kA16RowBytes + cfg.tileN() * kRawRowBytes
             : (cfg.tileM() + cfg.tileN()) * kRawRowBytes;
}

/// Builds one GEMM kernel body.
class GemmEmitter {
public:
  /// `smem`: the K-split reduction buffer, or the staged A and B
  /// fragment buffers.
  /// `tensorMaps`: the warp-specialized kernel's maps of A and B.
  /// `tensorMaps`: the warp-specialized kernel's maps of A's and B's data,
  /// or the predecoded kernel's of the two workspaces.
  GemmEmitter(LoweringBuilder &e, GemmOp op, const GemmConfig &cfg,
              const GemmOperands &v, ArrayRef<Value> smem,
              ArrayRef<Value> tensorMaps = {})
      : e(e), b(e.builder()), loc(e.location()), m(e.math()), op(op), cfg(cfg),
        v(v), smem(smem), tensorMaps(tensorMaps) {}

  void emit() {
    aRecipe = op.getARecipe();
    bRecipe = op.getBRecipe();
    window = gemmScaleClass(aRecipe, bRecipe) == GemmScaleClass::Window;
    a16 = op.a16();
    bf16 = a16 && a16.isBF16();
    assert((!a16 || (cfg.wgmma && !cfg.warpSpecialized())) &&
           "W4A16 runs the software-pipelined or predecoded wgmma kernel");

    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    // The MMA warps' numbering starts after the decoding warps (whose
    // values of the names below are unused).
    Value warp = arith::SubIOp::create(b, e.divI(tid, kWarp),
                                       e.idx(cfg.producerWarps));
    Value lane = e.remI(tid, e.idx(kWarp));
    g = e.divI(lane, 4);
    t = e.remI(lane, e.idx(4));
    Value wmn = warp;
    Value wm = e.divI(wmn, cfg.warpsN);
    Value wn = e.remI(wmn, e.idx(cfg.warpsN));
    M = e.dim(v.aData, 0);
    N = e.dim(v.bData, 0);
    // A grouped op's views carry their tile; the others walk bands.
    std::tie(tileRowBase, tileColBase) =
        v.tileRow ? std::make_pair(v.tileRow, v.tileCol)
                  : gemmBandedTile(e,
                                   gpu::BlockIdOp::create(b, gpu::Dimension::x),
                                   M, N, cfg.tileM(), cfg.tileN());
    wmIndex = wm;
    wnIndex = wn;
    rowBase = e.addI(tileRowBase, e.mulI(wm, e.idx(16 * cfg.mi)));
    colBase = e.addI(tileColBase, e.mulI(wn, e.idx(8 * cfg.ni)));

    // K / 16 from the packed bytes (B's for a 16-bit A, whose rows hold K
    // elements).
    numBlocks = e.divI(e.dim(a16 ? v.bData : v.aData, 1), kBlock / 2);
    Value numChunks = e.ceilDivI(numBlocks, 4);
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

    // Scales are read through a flat view: the 128x4 offset is a byte
    // offset, and dividing it back into (row, column) costs divisions.
    if (!a16)
      aScaleFlat = flatten(v.aScale);
    bScaleFlat = flatten(v.bScale);

    SmallVector<Value> init(cfg.accPerLane(), m.f32(0.0f));
    if (cfg.staged) {
      SmallVector<Value> acc = stagedLoop(numChunks, init);
      epilogue(acc);
      return;
    }
    assert(cfg.wgmma && "direct configurations live in MatmulDirect.cpp");
    if (cfg.predecoded) {
      if (cfg.warpSpecialized())
        predecodedWsKernel(numChunks);
      else
        epilogue(predecodedLoop(numChunks));
      return;
    }
    if (cfg.warpSpecialized()) {
      wsKernel(numChunks);
      return;
    }
    epilogue(wgmmaLoop(numChunks));
  }

private:
  /// A rank-1 view of a contiguous rank-2 buffer (a group's view keeps
  /// its offset; a kernel argument's is 0).
  Value flatten(Value memref) {
    auto type = cast<MemRefType>(memref.getType());
    auto flatType = MemRefType::get({ShapedType::kDynamic},
                                    type.getElementType());
    OpFoldResult offset = b.getIndexAttr(0);
    if (!type.getLayout().isIdentity()) {
      offset =
          memref::ExtractStridedMetadataOp::create(b, memref).getOffset();
      flatType = MemRefType::get(
          {ShapedType::kDynamic}, type.getElementType(),
          StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, {1}));
    }
    Value size = e.mulI(e.dim(memref, 0), e.dim(memref, 1));
    return memref::ReinterpretCastOp::create(
        b, flatType, memref, offset, ArrayRef<OpFoldResult>{size},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  }

  Value clampRow(Value r, Value limit, SmallVectorImpl<Value> &valid) {
    valid.push_back(arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                          r, limit));
    return e.minI(r, arith::SubIOp::create(b, limit, e.idx(1)));
  }

  /// Whether 16-block `blk` of chunk `c` holds data: a real block of K
  /// and a chunk before `end` (chunks past it load clamped addresses).
  Value blockValid(Value blk, Value c, Value end) {
    return arith::AndIOp::create(
        b,
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, blk,
                              numBlocks),
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, c, end));
  }

  /// The 8 data bytes of block `blk` of row `r` (one aligned load) and
  /// the block's scale as an f16x2 splat (0 when the row or block is out of
  /// range).
  std::pair<Value, Value> loadBlock(Value data, Value scale, Value r,
                                    Value rowValid, Value blk,
                                    Value blkValid) {
    Value safeBlk =
        e.minI(blk, arith::SubIOp::create(b, numBlocks, e.idx(1)));
    auto vecType = VectorType::get({8}, b.getI8Type());
    Value bytes = vector::LoadOp::create(
        b, vecType, data, ValueRange{r, e.mulI(safeBlk, e.idx(8))},
        /*nontemporal=*/false, llvm::MaybeAlign(8));
    // Two 32-bit words: bytes are taken out with shifts, which the
    // backend does not turn into 16-bit multiplies as it does for i8
    // vector extracts.
    bytes = vector::BitCastOp::create(
        b, VectorType::get({2}, b.getI32Type()), bytes);
    Value sf = gemmLoadScaleByte(b, loc, scale, r, safeBlk, numBlocks);
    // Byte 0x00 is 0.0: out-of-range rows and blocks contribute nothing.
    Value valid = arith::AndIOp::create(b, rowValid, blkValid);
    sf = m.select(valid, sf, m.i32(0));
    return {bytes, gemmDecodeScaleF16x2(b, loc, m.decodeE4M3ToF16x2(sf))};
  }

  /// Byte `k` of `bytes` as an f16x2 operand: its two E2M1 codes (low
  /// nibble first) decoded with the block's multiplier (gemmDecodeF16Pair:
  /// e2m1 * sf * 2^-kGemmDecodeShift, exact in f16).
  Value pair(Value bytes, int64_t k, Value multiplierF16x2) {
    Value byte = vector::ExtractOp::create(b, bytes, k / 4);
    if (k % 4)
      byte = arith::ShRUIOp::create(b, byte, m.i32(8 * (k % 4)));
    return gemmDecodeF16Pair(b, loc, byte, multiplierF16x2);
  }

  /// Four k-steps of mma over every tile of the warp, with fragments from
  /// `aFrag(i, s)` (4 f16x2) and `bFrag(j, s)` (2 f16x2); window operands
  /// accumulate the chunk from zero and promote it with window `w`.
  SmallVector<Value>
  mmaChunk(Value w, ArrayRef<Value> acc,
           function_ref<SmallVector<Value, 4>(int64_t, int64_t)> aFrag,
           function_ref<SmallVector<Value, 2>(int64_t, int64_t)> bFrag) {
    SmallVector<Value> sum(acc.begin(), acc.end());
    if (window)
      sum.assign(cfg.accPerLane(), m.f32(0.0f));
    for (int64_t s = 0; s < 4; ++s) {
      SmallVector<SmallVector<Value, 4>> as;
      for (int64_t i = 0; i < cfg.mi; ++i)
        as.push_back(aFrag(i, s));
      for (int64_t j = 0; j < cfg.ni; ++j) {
        SmallVector<Value, 2> bs = bFrag(j, s);
        for (int64_t i = 0; i < cfg.mi; ++i) {
          mmaSyncF16(
              b, as[i], bs,
              MutableArrayRef<Value>(sum).slice((i * cfg.ni + j) * 4, 4));
        }
      }
    }
    if (!window)
      return sum;

    return accumulators().promote(acc, sum, w);
  }

  //===------------------------------------------------------------------===//
  // The staged path: a thread block decodes each operand element once.
  //
  // Per 64-wide chunk every thread loads whole blocks for a few "decode
  // items" (one lane's view of one 16-row tile of A or 8-row tile of B),
  // decodes them and stores them to shared memory already in mma fragment
  // order: A as [m-tile][k-step][lane][4 x f16x2], B as
  // [n-tile][k-step][lane][2 x f16x2], so each warp then reads a fragment
  // with one conflict-free 16- or 8-byte load. The next chunk's global
  // loads are in flight while the current one is multiplied.
  //===------------------------------------------------------------------===//

  /// The loads of one chunk's decode items.
  struct StagedLoads {
    SmallVector<std::pair<Value, Value>> a; ///< 2 per A item (rows g, g+8)
    SmallVector<std::pair<Value, Value>> b; ///< 1 per B item
  };

  int64_t aItemsPerThread() const {
    return cfg.tileM() / 16 * kWarp / cfg.threads();
  }
  int64_t bItemsPerThread() const {
    return cfg.tileN() / 8 * kWarp / cfg.threads();
  }

  StagedLoads stagedLoad(Value c, Value numChunks) {
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value item = e.divI(tid, kWarp);
    Value lane = e.remI(tid, e.idx(kWarp));
    Value lg = e.divI(lane, 4), lt = e.remI(lane, e.idx(4));
    Value blk = e.addI(e.mulI(c, e.idx(4)), lt);
    Value blkValid = blockValid(blk, c, numChunks);
    int64_t warps = cfg.threads() / kWarp;
    StagedLoads l;
    for (int64_t q = 0; q < aItemsPerThread(); ++q) {
      Value tile = e.addI(item, e.idx(q * warps));
      Value r0 = e.addI(tileRowBase, e.addI(e.mulI(tile, e.idx(16)), lg));
      for (int64_t h = 0; h < 2; ++h) {
        SmallVector<Value, 1> valid;
        Value r = clampRow(e.addI(r0, e.idx(8 * h)), M, valid);
        l.a.push_back(
            loadBlock(v.aData, aScaleFlat, r, valid[0], blk, blkValid));
      }
    }
    for (int64_t q = 0; q < bItemsPerThread(); ++q) {
      Value tile = e.addI(item, e.idx(q * warps));
      SmallVector<Value, 1> valid;
      Value r = clampRow(
          e.addI(tileColBase, e.addI(e.mulI(tile, e.idx(8)), lg)), N, valid);
      l.b.push_back(loadBlock(v.bData, bScaleFlat, r, valid[0], blk, blkValid));
    }
    return l;
  }

  void stagedStore(const StagedLoads &l) {
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value item = e.divI(tid, kWarp);
    Value lane = e.remI(tid, e.idx(kWarp));
    int64_t warps = cfg.threads() / kWarp;
    auto i32 = b.getI32Type();
    for (int64_t q = 0; q < aItemsPerThread(); ++q) {
      Value tile = e.addI(item, e.idx(q * warps));
      auto &[lo, loSf] = l.a[2 * q];
      auto &[hi, hiSf] = l.a[2 * q + 1];
      for (int64_t s = 0; s < 4; ++s) {
        Value words = vector::FromElementsOp::create(
            b, VectorType::get({4}, i32),
            ValueRange{f16x2AsI32(b, pair(lo, 2 * s, loSf)),
                       f16x2AsI32(b, pair(hi, 2 * s, hiSf)),
                       f16x2AsI32(b, pair(lo, 2 * s + 1, loSf)),
                       f16x2AsI32(b, pair(hi, 2 * s + 1, hiSf))});
        Value at = e.mulI(
            e.addI(e.mulI(e.addI(e.mulI(tile, e.idx(4)), e.idx(s)),
                          e.idx(kWarp)),
                   lane),
            e.idx(4));
        vector::StoreOp::create(b, words, smem[0], at,
                                /*nontemporal=*/false, llvm::MaybeAlign(16));
      }
    }
    for (int64_t q = 0; q < bItemsPerThread(); ++q) {
      Value tile = e.addI(item, e.idx(q * warps));
      auto &[bytes, sf] = l.b[q];
      for (int64_t s = 0; s < 4; ++s) {
        Value words = vector::FromElementsOp::create(
            b, VectorType::get({2}, i32),
            ValueRange{f16x2AsI32(b, pair(bytes, 2 * s, sf)),
                       f16x2AsI32(b, pair(bytes, 2 * s + 1, sf))});
        Value at = e.mulI(
            e.addI(e.mulI(e.addI(e.mulI(tile, e.idx(4)), e.idx(s)),
                          e.idx(kWarp)),
                   lane),
            e.idx(2));
        vector::StoreOp::create(b, words, smem[1], at,
                                /*nontemporal=*/false, llvm::MaybeAlign(8));
      }
    }
  }

  /// Multiplies the staged chunk: warp (wm, wn) reads the fragments of its
  /// m-tiles wm*MI.. and n-tiles wn*NI...
  SmallVector<Value> stagedCompute(Value w, ArrayRef<Value> acc) {
    Value lane = e.remI(gpu::ThreadIdOp::create(b, gpu::Dimension::x),
                        e.idx(kWarp));
    auto fragAt = [&](Value buffer, Value tile, int64_t s, int64_t regs) {
      Value at = e.mulI(
          e.addI(e.mulI(e.addI(e.mulI(tile, e.idx(4)), e.idx(s)),
                        e.idx(kWarp)),
                 lane),
          e.idx(regs));
      Value words = vector::LoadOp::create(
          b, VectorType::get({regs}, b.getI32Type()), buffer, at,
          /*nontemporal=*/false, llvm::MaybeAlign(regs * 4));
      SmallVector<Value, 4> frag;
      for (int64_t r = 0; r < regs; ++r)
        frag.push_back(
            i32AsF16x2(b, vector::ExtractOp::create(b, words, r)));
      return frag;
    };
    return mmaChunk(
        w, acc,
        [&](int64_t i, int64_t s) {
          return fragAt(smem[0], e.addI(e.mulI(wmIndex, e.idx(cfg.mi)),
                                        e.idx(i)),
                        s, 4);
        },
        [&](int64_t j, int64_t s) {
          SmallVector<Value, 4> f = fragAt(
              smem[1], e.addI(e.mulI(wnIndex, e.idx(cfg.ni)), e.idx(j)), s, 2);
          return SmallVector<Value, 2>(f.begin(), f.end());
        });
  }

  //===------------------------------------------------------------------===//
  // The wgmma path (sm_90a): like the staged path, a thread block decodes
  // each element once into shared memory, here in the canonical K-major
  // layout without swizzle that wgmma descriptors describe: 8 x 8 f16 core
  // matrices of 128 contiguous bytes, [row / 8][k / 8] with k fastest, so
  // the leading byte offset (next core matrix along K) is 128 and the
  // stride byte offset (next 8 rows) is 1024 for a 64-wide chunk. Each
  // warpgroup multiplies its 64 rows of A by all tileN rows of B with four
  // m64nNk16 wgmma per chunk into N / 2 fp32 registers per thread.
  //
  // The decode and the multiply run in different warps (warp
  // specialization) around a ring of `stages` decoded chunks in dynamic
  // shared memory (GemmPipeline):
  //  * warpgroup 0 decodes. Its thread 0 fills iteration i + R - 1 into
  //    a raw ring of R stages with TMA (GemmPipeline::fillStage, the
  //    producer sm_100a's kernel uses: A's and B's boxes through tensor
  //    maps, the scale atoms by cp.async.bulk), a second GemmPipeline ring
  //    whose `full` barriers count the bytes and whose `empty` barriers
  //    the 128 decoders' arrivals. Every decoding thread waits for the
  //    raw stage of iteration i, reads its items, releases the raw stage,
  //    waits for a free decoded stage, decodes into it, fences the
  //    generic-proxy stores for wgmma's async proxy and arrives on the
  //    stage's `full` barrier. (Loads straight to registers one iteration
  //    ahead left the decoders stalled on L1TEX two thirds of the time:
  //    0.29x of cuBLAS.)
  //  * warpgroups 1 and 2 multiply, each its 64 rows of the 128 x 256 tile:
  //    wait `full`, wgmma.fence, four wgmma, commit; wait_group 1 retires
  //    the previous chunk's wgmma, whose stage is then released (`empty`).
  //    At a tile's last chunk they retire everything, release the stage
  //    and run the epilogue while the decoders fill the next tile's stages.
  // Blocks are persistent: tile t of the schedule is tile row
  // t / ceil(N / tileN), column t % ceil(N / tileN). Nothing but the
  // mbarriers synchronizes the roles after the split.
  //===------------------------------------------------------------------===//

  static constexpr int64_t kCoreBytes = 128;
  static constexpr int64_t kRowGroupBytes = kCoreBytes * (kChunk / 8);

  /// Byte offset of B's chunk within a stage (A's is 0).
  int64_t wgBOffset() const { return cfg.tileM() * kChunk * 2; }

  /// Threads that decode: the producer warps, or all in the
  /// software-pipelined kernel.
  int64_t decodeThreads() const {
    return cfg.warpSpecialized() ? cfg.producerWarps * kWarp : cfg.threads();
  }

  /// Decode items per thread: one (row, 16-block) per item.
  int64_t wgItems(int64_t rows) const { return rows * 4 / decodeThreads(); }

  /// Row (within the tile) and 16-block (0..3) of decode item `q` of
  /// thread `tid`: lanes 8i..8i+7 of a warp take block i of 8 consecutive
  /// rows. Each group of 8 lanes then stores 16 bytes to each of the 8 rows
  /// of one core matrix, 8 distinct bank groups (no conflict), while the
  /// warp's global loads still cover 8 rows x 32 contiguous bytes.
  std::pair<Value, Value> wgItem(Value tid, int64_t q) {
    Value index = e.addI(tid, e.idx(q * decodeThreads()));
    Value lane = e.remI(index, e.idx(kWarp));
    Value row = e.addI(e.mulI(e.divI(index, kWarp), e.idx(8)),
                       e.remI(lane, e.idx(8)));
    return {row, e.divI(lane, 8)};
  }

  /// A pointer in address space `space` to element 0 of contiguous
  /// `memref` (the aligned pointer plus its offset in elements, times the
  /// element's bytes); global pointers are converted from generic ones.
  Value basePointer(Value memref, unsigned space) {
    MLIRContext *ctx = b.getContext();
    auto md = memref::ExtractStridedMetadataOp::create(b, memref);
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, memref);
    int64_t elementBytes =
        cast<MemRefType>(memref.getType()).getElementTypeBitWidth() / 8;
    Value offset = md.getOffset();
    if (elementBytes != 1)
      offset = e.mulI(offset, e.idx(elementBytes));
    Value addr = arith::IndexCastUIOp::create(b, b.getI64Type(),
                                              e.addI(base, offset));
    if (space == 3) // A workgroup memref already holds a shared address.
      return LLVM::IntToPtrOp::create(
          b, LLVM::LLVMPointerType::get(ctx, 3), addr);
    Value generic = LLVM::IntToPtrOp::create(
        b, LLVM::LLVMPointerType::get(ctx), addr);
    return LLVM::AddrSpaceCastOp::create(
        b, LLVM::LLVMPointerType::get(ctx, space), generic);
  }

  /// Byte `offset` past pointer `base`.
  Value offsetPointer(Value base, Value offset) {
    return LLVM::GEPOp::create(
        b, base.getType(), b.getI8Type(), base,
        ValueRange{arith::IndexCastUIOp::create(b, b.getI64Type(),
                                                offset)});
  }

  /// Calls `fn(isA, tileRow, row, t4)` for each decode item of thread
  /// `tid`: `row` within its operand's tile, `tileRow` within the stage.
  void forEachWgItem(Value tid,
                     function_ref<void(bool, Value, Value, Value)> fn) {
    for (bool isA : {true, false}) {
      int64_t rows = isA ? cfg.tileM() : cfg.tileN();
      for (int64_t q = 0; q < wgItems(rows); ++q) {
        auto [row, t4] = wgItem(tid, q);
        fn(isA, isA ? row : e.addI(row, e.idx(cfg.tileM())), row, t4);
      }
    }
  }

  /// Byte offsets, within a raw stage, of the data bytes of item
  /// (`tileRow`, `t4`) (8 for an NVFP4 row, 32 for a 16-bit A row) and of
  /// the scale word of `tileRow` (counting A's rows, then B's; a 16-bit A
  /// has none). A raw stage holds every row's data, then the scale words.
  Value rawDataOffset(bool isA, Value tileRow, Value t4) {
    if (a16 && isA)
      return e.addI(e.mulI(tileRow, e.idx(kA16RowBytes)),
                    e.mulI(t4, e.idx(2 * kBlock)));
    Value offset = e.addI(e.mulI(tileRow, e.idx(32)), e.mulI(t4, e.idx(8)));
    return a16 ? e.addI(offset, e.idx(cfg.tileM() * (kA16RowBytes - 32)))
               : offset;
  }
  Value rawScaleOffset(Value tileRow) {
    int64_t data = a16 ? cfg.tileM() * kA16RowBytes + cfg.tileN() * 32
                       : (cfg.tileM() + cfg.tileN()) * 32;
    // A 16-bit A's rows have no scale word: B's row j is word j.
    int64_t skipped = a16 ? cfg.tileM() * 4 : 0;
    return e.addI(e.idx(data - skipped), e.mulI(tileRow, e.idx(4)));
  }

  /// Starts copying chunk `c`'s bytes into the raw stage at byte `raw` of
  /// the ring with cp.async: the 8 data bytes of each of this thread's
  /// decode items (a 16-bit A's 32, in two 16-byte copies), and the 4-byte
  /// scale words (blocks 4c .. 4c+3, one aligned word in the 128x4 layout)
  /// of one or two tile rows. Rows and chunks out of range copy clamped,
  /// in-bounds bytes; wgRead zeroes their scales (and a 16-bit A's blocks
  /// past K).
  void wgCopy(Value c, Value raw, Value numChunks) {
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value lastBlock = arith::SubIOp::create(b, numBlocks, e.idx(1));
    Value lastChunk = arith::SubIOp::create(b, numChunks, e.idx(1));
    Value scaleBlock = e.mulI(e.minI(c, lastChunk), e.idx(4));
    auto ca = NVVM::LoadCacheModifierKindAttr::get(
        b.getContext(), NVVM::LoadCacheModifierKind::CA);
    forEachWgItem(tid, [&](bool isA, Value tileRow, Value row, Value t4) {
      SmallVector<Value, 1> valid;
      Value r = clampRow(e.addI(isA ? tileRowBase : tileColBase, row),
                         isA ? M : N, valid);
      Value data = isA ? v.aData : v.bData;
      Value blk = e.minI(e.addI(e.mulI(c, e.idx(4)), t4), lastBlock);
      Value dst = offsetPointer(
          sources.ring, e.addI(raw, rawDataOffset(isA, tileRow, t4)));
      if (a16 && isA) {
        // Row r's elements 16 blk .. 16 blk + 15: 32 bytes.
        Value src = offsetPointer(
            sources.aData, e.mulI(e.addI(e.mulI(r, e.dim(data, 1)),
                                         e.mulI(blk, e.idx(kBlock))),
                                  e.idx(2)));
        for (int64_t h = 0; h < 2; ++h)
          NVVM::CpAsyncOp::create(
              b, h ? offsetPointer(dst, e.idx(16)) : dst,
              h ? offsetPointer(src, e.idx(16)) : src,
              b.getI32IntegerAttr(16), ca, /*cpSize=*/Value());
        return;
      }
      Value src = offsetPointer(
          isA ? sources.aData : sources.bData,
          e.addI(e.mulI(r, e.dim(data, 1)), e.mulI(blk, e.idx(8))));
      NVVM::CpAsyncOp::create(b, dst, src, b.getI32IntegerAttr(8), ca,
                              /*cpSize=*/Value());
    });
    // Scale word of tile row i = tid, tid + threads, ...: A's rows, then
    // B's (B's only with a 16-bit A).
    int64_t first = a16 ? cfg.tileM() : 0;
    int64_t rows = cfg.tileM() + cfg.tileN() - first;
    for (int64_t q = 0; q * cfg.threads() < rows; ++q) {
      Value i = e.addI(tid, e.idx(first + q * cfg.threads()));
      auto copy = [&] {
        Value isA = arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                          i, e.idx(cfg.tileM()));
        auto pick = [&](Value x, Value y) {
          if (a16)
            return y;
          return arith::SelectOp::create(b, isA, x, y).getResult();
        };
        Value row = e.addI(
            pick(tileRowBase, tileColBase),
            pick(i, arith::SubIOp::create(b, i, e.idx(cfg.tileM()))));
        Value r = e.minI(row, arith::SubIOp::create(b, pick(M, N),
                                                    e.idx(1)));
        NumericsBuilder sm(b, b.getLoc());
        Value scaleAt = sm.scaleOffset(ScaleLayout::Swizzle128x4, r,
                                       scaleBlock, numBlocks);
        NVVM::CpAsyncOp::create(
            b, offsetPointer(sources.ring, e.addI(raw, rawScaleOffset(i))),
            offsetPointer(pick(sources.aScale, sources.bScale), scaleAt),
            b.getI32IntegerAttr(4), ca, /*cpSize=*/Value());
      };
      if ((q + 1) * cfg.threads() <= rows) {
        copy();
        continue;
      }
      // The last round covers part of the block (whole warps).
      auto ifOp = scf::IfOp::create(
          b,
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i,
                                e.idx(first + rows)),
          /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      copy();
    }
  }

  /// Chunk `c`'s items of this thread from the raw stage at byte `raw`
  /// (complete and visible to every thread): data words and the blocks'
  /// decode multipliers, 0 for rows and blocks out of range. A 16-bit A's
  /// item is its block's two 16-byte halves (vector<4xi32> each), zero past
  /// K: there B's zero scale times a clamped copy of A's last block could
  /// be 0 * Inf. Its rows past M only reach rows of D that are not stored.
  StagedLoads wgRead(Value c, Value raw) {
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    auto i32 = b.getI32Type();
    StagedLoads l;
    forEachWgItem(tid, [&](bool isA, Value tileRow, Value row, Value t4) {
      Value r = e.addI(isA ? tileRowBase : tileColBase, row);
      Value rowValid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                             r, isA ? M : N);
      Value blk = e.addI(e.mulI(c, e.idx(4)), t4);
      Value blkValid = arith::CmpIOp::create(
          b, arith::CmpIPredicate::ult, blk, numBlocks);
      Value at = offsetPointer(sources.ring,
                               e.addI(raw, rawDataOffset(isA, tileRow, t4)));
      if (a16 && isA) {
        auto v4 = VectorType::get({4}, i32);
        Value zero = arith::ConstantOp::create(
            b, DenseElementsAttr::get(v4, b.getI32IntegerAttr(0)));
        Value halves[2];
        for (int64_t h = 0; h < 2; ++h)
          halves[h] = arith::SelectOp::create(
              b, blkValid,
              LLVM::LoadOp::create(b, v4,
                                   h ? offsetPointer(at, e.idx(16)) : at,
                                   /*alignment=*/16),
              zero);
        l.a.push_back({halves[0], halves[1]});
        return;
      }
      Value words =
          LLVM::LoadOp::create(b, VectorType::get({2}, i32), at,
                               /*alignment=*/8);
      Value sf = arith::ExtUIOp::create(
          b, i32,
          LLVM::LoadOp::create(
              b, b.getI8Type(),
              offsetPointer(sources.ring,
                            e.addI(raw, e.addI(rawScaleOffset(tileRow), t4)))));
      // Byte 0x00 is 0.0: out-of-range rows and blocks contribute nothing.
      sf = m.select(arith::AndIOp::create(b, rowValid, blkValid), sf,
                    m.i32(0));
      // bf16 tensor cores (a bf16 A) take B decoded to bf16.
      Value multiplier =
          bf16 ? gemmDecodeScaleBF16x2(b, loc, m.decodeScaleE4M3(sf))
               : gemmDecodeScaleF16x2(b, loc, m.decodeE4M3ToF16x2(sf));
      (isA ? l.a : l.b).push_back({words, multiplier});
    });
    return l;
  }

  /// Decodes `l` into the stage at byte `stage` of the ring.
  void wgStore(const StagedLoads &l, Value stage) {
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    auto i32 = b.getI32Type();
    for (bool isA : {true, false}) {
      const auto &items = isA ? l.a : l.b;
      Value base = isA ? stage : e.addI(stage, e.idx(wgBOffset()));
      for (auto [q, item] : llvm::enumerate(items)) {
        auto [row, t4] = wgItem(tid, int64_t(q));
        auto &[bytes, sf] = item;
        // Block t4 holds k = 16 t4 .. 16 t4 + 15: core matrices 2 t4 and
        // 2 t4 + 1 of its row group; words 0 and 1 (elements 0-7, 8-15)
        // fill one 16-byte row of each. A word is decoded whole
        // (gemmDecodeF16Nibbles pairs elements i and i + 4), so a row holds
        // its elements in the order 0 4 1 5 2 6 3 7: a permutation of K
        // within the core matrix that A and B share, which leaves the dot
        // products unchanged.
        // A 16-bit A block is permuted into the same order (no decode).
        Value rowOffset = e.addI(
            base, e.addI(e.mulI(e.divI(row, 8), e.idx(kRowGroupBytes)),
                         e.mulI(e.remI(row, e.idx(8)), e.idx(16))));
        SmallVector<Value> a16Pairs;
        if (a16 && isA) {
          SmallVector<Value, 8> elems;
          for (Value half : {bytes, sf})
            for (int64_t w = 0; w < 4; ++w)
              elems.push_back(vector::ExtractOp::create(b, half, w));
          a16Pairs = gemmPermuteA16Block(b, elems);
        }
        for (int64_t h = 0; h < 2; ++h) {
          SmallVector<Value, 4> words;
          if (!a16Pairs.empty()) {
            words.append(a16Pairs.begin() + 4 * h,
                         a16Pairs.begin() + 4 * h + 4);
          } else {
            Value word = vector::ExtractOp::create(b, bytes, h);
            for (int64_t i = 0; i < 4; ++i)
              words.push_back(f16x2AsI32(
                  b, bf16 ? gemmDecodeBF16Nibbles(b, loc, word, i, sf)
                          : gemmDecodeF16Nibbles(b, loc, word, i, sf)));
          }
          Value byteOffset = e.addI(
              rowOffset,
              e.mulI(e.addI(e.mulI(t4, e.idx(2)), e.idx(h)),
                     e.idx(kCoreBytes)));
          vector::StoreOp::create(
              b,
              vector::FromElementsOp::create(b, VectorType::get({4}, i32),
                                             words),
              smem[0], e.divI(byteOffset, 4),
              /*nontemporal=*/false, llvm::MaybeAlign(16));
        }
      }
    }
  }

  /// The wgmma shared-memory matrix descriptor of the core matrices at
  /// byte `offset` of `buffer` (no swizzle; `swizzled`: the 128-byte
  /// swizzle of a TMA box, kSwizzle128Descriptor).
  Value descriptor(Value buffer, Value offset, bool swizzled = false) {
    Type i64 = b.getI64Type();
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, buffer);
    Value addr = arith::IndexCastUIOp::create(b, i64, e.addI(base, offset));
    auto c64 = [&](int64_t x) {
      return arith::ConstantOp::create(b, b.getI64IntegerAttr(x));
    };
    Value start = arith::ShRUIOp::create(
        b, arith::AndIOp::create(b, addr, c64(0x3FFFF)), c64(4));
    int64_t fixed =
        swizzled ? kSwizzle128Descriptor
                 : ((kCoreBytes >> 4) << 16) | ((kRowGroupBytes >> 4) << 32);
    return arith::OrIOp::create(b, start, c64(fixed));
  }

  /// Issues four m64nNk16 wgmma of warpgroup `group` (its rows 64 group
  /// .. of the tile) over the chunk in the stage at byte `stage`,
  /// accumulating in `acc` (`fresh`: the first overwrites it, so the
  /// result is the chunk's product alone), as one commit group (not
  /// waited for). `swizzled`: the stage holds 128-byte swizzled rows
  /// (predecodedLoop), whose k-step s starts 32 s bytes in.
  Value wgmmaChunk(Value acc, Value stage, Value group, bool fresh = false,
                   bool swizzled = false) {
    MLIRContext *ctx = b.getContext();
    Value aBase =
        e.addI(stage, e.mulI(group, e.idx(8 * kRowGroupBytes)));
    Value bBase = e.addI(stage, e.idx(wgBOffset()));
    auto operandType = bf16 ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
    NVVM::WgmmaFenceAlignedOp::create(b);
    for (int64_t s = 0; s < 4; ++s) {
      // k-step s spans core matrices 2s, 2s+1 of each row group (bytes
      // 32 s .. 32 s + 31 of each swizzled row).
      int64_t step = swizzled ? 32 * s : 2 * s * kCoreBytes;
      Value aDesc =
          descriptor(smem[0], e.addI(aBase, e.idx(step)), swizzled);
      Value bDesc =
          descriptor(smem[0], e.addI(bBase, e.idx(step)), swizzled);
      acc = NVVM::WgmmaMmaAsyncOp::create(
          b, acc.getType(), acc, aDesc, bDesc,
          NVVM::MMAShapeAttr::get(ctx, 64, cfg.tileN(), 16),
          NVVM::WGMMATypesAttr::get(ctx, operandType),
          NVVM::WGMMATypesAttr::get(ctx, operandType),
          NVVM::WGMMATypesAttr::get(ctx, NVVM::WGMMATypes::f32),
          NVVM::WGMMAScaleOutAttr::get(ctx, fresh && s == 0
                                                ? NVVM::WGMMAScaleOut::zero
                                                : NVVM::WGMMAScaleOut::one),
          NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one),
          NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one),
          NVVM::MMALayoutAttr::get(ctx, NVVM::MMALayout::row),
          NVVM::MMALayoutAttr::get(ctx, NVVM::MMALayout::col),
          /*satfinite=*/NVVM::MMAIntOverflowAttr());
    }
    NVVM::WgmmaGroupSyncAlignedOp::create(b);
    return acc;
  }

  /// The tiles of D (gemmTileGrid's tile rows x tile columns), which a
  /// persistent kernel's blocks walk.
  Value tileCount() {
    GemmTileGrid<Value> grid = gemmTileGrid(e, M, N, cfg.tileM(), cfg.tileN());
    return e.mulI(grid.tileRows, grid.tileCols);
  }

  /// The first row of A and of B (columns of D) of tile `tile`.
  std::pair<Value, Value> wsTileBase(Value tile) {
    return gemmBandedTile(e, tile, M, N, cfg.tileM(), cfg.tileN());
  }

  /// The chunk of this block's iteration `i` and the first rows of A and
  /// B of its tile.
  std::tuple<Value, Value, Value> wsIteration(GemmPipeline &pipe, Value i,
                                              Value numChunks) {
    auto [tile, c] = pipe.tileAndChunk(i, numChunks);
    auto [aBase, bBase] = wsTileBase(tile);
    return {c, aBase, bBase};
  }

  /// The TMA fill of iteration `i` into the raw stage at byte `raw` of
  /// the ring (`ring`, a shared pointer), issued by one thread on `slot`
  /// of the raw ring. Rows past M or N arrive as zeros; the second atom of
  /// B's tile is clamped to the last 128-row tile of B's scales (the rows
  /// it would cover are past N, and wsRead zeroes their scales).
  void wsFill(GemmPipeline &raw, GemmPipeline::Slot slot, Value i,
              Value numChunks, Value ring, Value rawAt) {
    Value c, aBase, bBase;
    std::tie(c, aBase, bBase) = wsIteration(raw, i, numChunks);
    Value x = e.mulI(c, e.idx(kWsRowBytes));
    auto at = [&](int64_t off) {
      return offsetPointer(ring, e.addI(rawAt, e.idx(off)));
    };
    SmallVector<GemmPipeline::TensorTile, 2> tiles{
        {tensorMaps[0], x, aBase, at(0), cfg.tileM() * kWsRowBytes},
        {tensorMaps[1], x, bBase, at(cfg.tileM() * kWsRowBytes),
         cfg.tileN() * kWsRowBytes}};
    SmallVector<GemmPipeline::ByteRange, 3> ranges;
    Value lastBTile = e.mulI(
        arith::SubIOp::create(b, e.ceilDivI(N, 128), e.idx(1)), e.idx(128));
    int64_t atom = wsRawAtomsOffset(cfg);
    for (int64_t h = 0; h < cfg.tileM() / 128; ++h, atom += kScaleAtomBytes)
      ranges.push_back(
          {offsetPointer(basePointer(v.aScale, 1),
                         m.scaleOffset(ScaleLayout::Swizzle128x4,
                                       e.addI(aBase, e.idx(128 * h)),
                                       e.mulI(c, e.idx(4)), numBlocks)),
           at(atom), kScaleAtomBytes});
    for (int64_t h = 0; h < cfg.tileN() / 128; ++h, atom += kScaleAtomBytes)
      ranges.push_back(
          {offsetPointer(
               basePointer(v.bScale, 1),
               m.scaleOffset(ScaleLayout::Swizzle128x4,
                             e.minI(e.addI(bBase, e.idx(128 * h)), lastBTile),
                             e.mulI(c, e.idx(4)), numBlocks)),
           at(atom), kScaleAtomBytes});
    raw.fillStage(slot, tiles, ranges);
  }

  /// This thread's items of iteration `i` from the raw stage at byte `raw`
  /// (filled): data words and f16x2 block scales, 0 for rows and blocks
  /// out of range.
  StagedLoads wsRead(GemmPipeline &pipe, Value i, Value numChunks, Value ring,
                     Value raw) {
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    // Plain values: the item lambdas below capture them.
    Value c, aBase, bBase;
    std::tie(c, aBase, bBase) = wsIteration(pipe, i, numChunks);
    auto i32 = b.getI32Type();
    StagedLoads l;
    forEachWgItem(tid, [&](bool isA, Value tileRow, Value row, Value t4) {
      Value rowValid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                             e.addI(isA ? aBase : bBase, row),
                                             isA ? M : N);
      Value blkValid = arith::CmpIOp::create(
          b, arith::CmpIPredicate::ult, e.addI(e.mulI(c, e.idx(4)), t4),
          numBlocks);
      // A warp's items are 8 consecutive rows x 4 blocks: 256 contiguous
      // bytes of the box, and 8 scale words 16 bytes apart (no conflict).
      Value data =
          e.addI(e.mulI(tileRow, e.idx(kWsRowBytes)), e.mulI(t4, e.idx(8)));
      // Tile row r (A's, then B's) has its scale word in atom r / 128: the
      // stage's atoms are the 128x4 layout of a one-group (4-block) matrix
      // of the tile's rows.
      Value scale = e.addI(
          e.idx(wsRawAtomsOffset(cfg)),
          m.scaleOffset(ScaleLayout::Swizzle128x4, tileRow, e.idx(0),
                        e.idx(4)));
      Value words = LLVM::LoadOp::create(b, VectorType::get({2}, i32),
                                         offsetPointer(ring, e.addI(raw, data)),
                                         /*alignment=*/8);
      Value word = LLVM::LoadOp::create(
          b, i32, offsetPointer(ring, e.addI(raw, scale)), /*alignment=*/4);
      Value shift = arith::IndexCastUIOp::create(b, i32, e.mulI(t4, e.idx(8)));
      Value sf = arith::AndIOp::create(
          b, arith::ShRUIOp::create(b, word, shift), m.i32(0xFF));
      // Byte 0x00 is 0.0: out-of-range rows and blocks contribute nothing.
      sf = m.select(arith::AndIOp::create(b, rowValid, blkValid), sf, m.i32(0));
      (isA ? l.a : l.b)
          .push_back(
              {words, gemmDecodeScaleF16x2(b, loc, m.decodeE4M3ToF16x2(sf))});
    });
    return l;
  }

  /// The decoders' loop (see above): thread 0 fills iteration i + R - 1
  /// into the raw stage read at iteration i - 1, once every decoder has
  /// released it.
  void wsProduce(GemmPipeline &pipe, GemmPipeline &raw, Value iterations,
                 Value numChunks, int64_t stageBytes) {
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value ring = basePointer(smem[0], 3);
    int64_t rawBase = cfg.stages * stageBytes;
    auto rawAt = [&](Value stage) {
      return e.addI(e.idx(rawBase), e.mulI(stage, e.idx(wsRawStageBytes(cfg))));
    };
    Value issuer =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, e.idx(0));
    // Iteration j's fill, when j is one of the block's iterations.
    auto fill = [&](Value j) {
      Value real =
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, j, iterations);
      pipe.ifThenElse(arith::AndIOp::create(b, issuer, real), [&] {
        GemmPipeline::Slot at = raw.advance(raw.firstSlot(), j);
        raw.waitEmpty(at);
        wsFill(raw, at, j, numChunks, ring, rawAt(at.stage));
      });
    };
    pipe.ifThenElse(issuer, [&] {
      for (Value map : tensorMaps)
        raw.prefetchTensorMap(map);
    });
    for (int64_t j = 0; j + 1 < cfg.rawStages; ++j)
      fill(e.idx(j));
    GemmPipeline::Slot first = raw.firstSlot();
    pipe.loop(iterations, pipe.firstSlot(), {first.stage, first.phase},
              [&](Value i, GemmPipeline::Slot slot, ValueRange iter) {
                fill(e.addI(i, e.idx(cfg.rawStages - 1)));
                GemmPipeline::Slot filled{iter[0], iter[1]};
                raw.waitFull(filled);
                StagedLoads l =
                    wsRead(pipe, i, numChunks, ring, rawAt(filled.stage));
                raw.arriveEmpty(filled.stage);
                pipe.waitEmpty(slot);
                wgStore(l, e.mulI(slot.stage, e.idx(stageBytes)));
                NVVM::FenceProxyOp::create(
                    b, NVVM::ProxyKind::async_shared,
                    NVVM::SharedSpaceAttr::get(b.getContext(),
                                               NVVM::SharedSpace::shared_cta));
                pipe.arriveFull(slot);
                GemmPipeline::Slot next = raw.advance(filled, e.idx(1));
                return SmallVector<Value>{next.stage, next.phase};
              });
    // Every fill is read (the decoders wait for each), so no copy is in
    // flight when the block exits.
  }

  /// A wgmma accumulator set (one f32 per register of the lane's m64nN
  /// fragment, an LLVM struct as wgmma takes and returns it) of zeros.
  Value zeroWgmmaAccumulators() {
    int64_t n = cfg.accPerLane();
    auto type = LLVM::LLVMStructType::getLiteral(
        b.getContext(), SmallVector<Type>(n, b.getF32Type()));
    Value acc = LLVM::PoisonOp::create(b, type);
    Value zero = m.f32(0.0f);
    for (int64_t i = 0; i < n; ++i)
      acc = LLVM::InsertValueOp::create(b, acc, zero, i);
    return acc;
  }

  /// The values of accumulator set `acc`, in MmaAccumulators order.
  SmallVector<Value> unpackWgmmaAccumulators(Value acc) {
    SmallVector<Value> out;
    for (int64_t i = 0; i < cfg.accPerLane(); ++i)
      out.push_back(LLVM::ExtractValueOp::create(b, acc, i));
    return out;
  }

  /// The multiplying warpgroups' loops (see above): tiles, and in each the
  /// chunks, with the accumulators carried straight from wgmma to wgmma
  /// (anything reading them between issue and wait would serialize the
  /// wgmma); `ctid` is the thread's index among these warpgroups.
  /// `ringOffset`: the byte of the ring's first stage; `swizzled`: stages
  /// of 128-byte swizzled rows (the predecoded ring).
  void wsConsume(GemmPipeline &pipe, Value numTiles, Value numChunks,
                 int64_t stageBytes, Value ctid, Value ringOffset = Value(),
                 bool swizzled = false) {
    Value group = e.divI(ctid, 128);
    GemmPipeline::Slot start = pipe.firstSlot();
    e.loop(e.idx(0), pipe.tiles(numTiles), {start.stage, start.phase},
           [&](Value local, ValueRange at) {
             auto [end, result] = pipe.loop(
                 numChunks, {at[0], at[1]}, zeroWgmmaAccumulators(),
                 [&](Value c, GemmPipeline::Slot slot, ValueRange iter) {
                   pipe.waitFull(slot);
                   Value stage = e.mulI(slot.stage, e.idx(stageBytes));
                   if (ringOffset)
                     stage = e.addI(ringOffset, stage);
                   Value next = wgmmaChunk(iter[0], stage, group,
                                           /*fresh=*/false, swizzled);
                   // The previous chunk's wgmma has retired: its stage is
                   // free.
                   NVVM::WgmmaWaitGroupSyncOp::create(b, 1);
                   Value later = arith::CmpIOp::create(
                       b, arith::CmpIPredicate::ugt, c, e.idx(0));
                   pipe.ifThenElse(later, [&] {
                     pipe.arriveEmpty(pipe.previousStage(slot.stage));
                   });
                   return SmallVector<Value>{next};
                 });
             NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
             pipe.arriveEmpty(pipe.previousStage(end.stage));
             std::tie(tileRowBase, tileColBase) =
                 wsTileBase(pipe.tileOf(local));
             rowBase =
                 e.addI(tileRowBase, e.mulI(wmIndex, e.idx(16 * cfg.mi)));
             colBase = tileColBase;
             epilogue(unpackWgmmaAccumulators(result[0]));
             return SmallVector<Value>{end.stage, end.phase};
           });
  }

  /// The warp-specialized kernel body.
  void wsKernel(Value numChunks) {
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    int64_t stageBytes = wgStageBytes(cfg);
    Value barriers = offsetPointer(
        basePointer(smem[0], 3),
        e.idx(cfg.stages * stageBytes + cfg.rawStages * wsRawStageBytes(cfg)));
    int64_t consumers = cfg.threads() - decodeThreads();
    GemmPipeline pipe(b, barriers, cfg.stages, decodeThreads(), consumers);
    // The raw ring: one TMA fill per stage (one arrival with its bytes),
    // released by every decoder.
    GemmPipeline raw(b, offsetPointer(barriers, e.idx(2 * cfg.stages * 8)),
                     cfg.rawStages, /*producerArrivals=*/1, decodeThreads());
    pipe.initialize(tid, {&raw});
    Value numTiles = tileCount();
    Value iterations = pipe.iterations(numTiles, numChunks);
    pipe.splitRoles(
        tid, cfg.producerWarps / 4, kDecodeRegisters, kMmaRegisters,
        [&] { wsProduce(pipe, raw, iterations, numChunks, stageBytes); },
        [&] {
          wsConsume(pipe, numTiles, numChunks, stageBytes,
                    arith::SubIOp::create(b, tid, e.idx(decodeThreads())));
        });
  }

  /// The pipelined loop (see above). Returns the accumulators in
  /// MmaAccumulators order (mi = 1, ni = tileN / 8 per warp).
  ///
  /// Window operands: chunk c's wgmma starts from zero (its window's
  /// product alone) and is promoted into a second accumulator set at
  /// iteration c + 1, after that iteration's decode (which overlaps the
  /// wgmma) and before chunk c + 1's wgmma reuses the registers; the
  /// window amaxes of the promotion are loaded at the top of the
  /// iteration, so the decode hides their latency. The tensor cores idle
  /// during the promotion (one multiply for the factor's two roundings
  /// and a multiply and an add per accumulator): the price of one set of
  /// product registers instead of two.
  SmallVector<Value> wgmmaLoop(Value numChunks) {
    Value acc = zeroWgmmaAccumulators();
    SmallVector<Value> promoted(window ? cfg.accPerLane() : 0, m.f32(0.0f));

    sources = {basePointer(v.aData, 1),
               a16 ? Value() : basePointer(v.aScale, 1),
               basePointer(v.bData, 1), basePointer(v.bScale, 1),
               basePointer(smem[0], 3)};
    int64_t stageBytes = (cfg.tileM() + cfg.tileN()) * kChunk * 2;
    int64_t rawBytes = swRawStageBytes(cfg, bool(a16));
    int64_t rawBase = cfg.stages * stageBytes;
    // Stage offsets rotate as loop-carried values: the ring sizes are not
    // powers of two, and a remainder per chunk costs more than a select.
    auto rotate = [&](Value offset, int64_t base, int64_t size,
                      int64_t count) {
      Value next = e.addI(offset, e.idx(size));
      Value wrap = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                         next, e.idx(base + count * size));
      return arith::SelectOp::create(b, wrap, e.idx(base), next)
          .getResult();
    };
    // One cp.async group per chunk, rawStages - 1 chunks ahead; a chunk's
    // copies are waited for before the block barrier preceding its decode.
    Value raw = e.idx(rawBase);
    for (int64_t j = 0; j + 1 < cfg.rawStages; ++j) {
      wgCopy(e.idx(j), raw, numChunks);
      NVVM::CpAsyncCommitGroupOp::create(b);
      raw = rotate(raw, rawBase, rawBytes, cfg.rawStages);
    }
    NVVM::CpAsyncWaitGroupOp::create(
        b, b.getI32IntegerAttr(int32_t(cfg.rawStages - 2)));
    gpu::BarrierOp::create(b);
    // Carried: accumulators (wgmma's), the decoded stage of chunk c, the
    // raw stage of chunk c and the one chunk c + rawStages - 1 is copied
    // to; window operands add the promoted accumulators.
    SmallVector<Value> carried = {acc, e.idx(0), e.idx(rawBase), raw};
    carried.append(promoted);
    auto loop = scf::ForOp::create(b, e.idx(0), numChunks, e.idx(1),
                                   carried);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value c = loop.getInductionVar();
      auto args = loop.getRegionIterArgs();
      Value stage = args[1], rawRead = args[2], rawWrite = args[3];
      SmallVector<Value> sums(args.begin() + 4, args.end());
      // Window c - 1's amaxes (a clamped, unused window at c = 0).
      MmaAccumulators::WindowAmaxes amax;
      if (window)
        amax = accumulators().loadWindow(
            arith::SubIOp::create(b, c, e.minI(c, e.idx(1))));
      // The copy goes to the raw stage read at chunk c - 1, before the
      // last barrier.
      wgCopy(e.addI(c, e.idx(cfg.rawStages - 1)), rawWrite, numChunks);
      NVVM::CpAsyncCommitGroupOp::create(b);
      StagedLoads current = wgRead(c, rawRead);
      if (cfg.stages == 2)
        gpu::BarrierOp::create(b);
      wgStore(current, stage);
      NVVM::FenceProxyOp::create(
          b, NVVM::ProxyKind::async_shared,
          NVVM::SharedSpaceAttr::get(b.getContext(),
                                     NVVM::SharedSpace::shared_cta));
      // This thread's copies of chunk c + 1 are complete (only chunk
      // c + rawStages - 1's may be pending); the barrier publishes them
      // with the decoded stage.
      NVVM::CpAsyncWaitGroupOp::create(
          b, b.getI32IntegerAttr(int32_t(cfg.rawStages - 2)));
      gpu::BarrierOp::create(b);
      if (window) {
        // Chunk c - 1's wgmma retires and is promoted (not at c = 0).
        NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
        Value later = arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, c,
                                            e.idx(0));
        auto ifOp = scf::IfOp::create(b, TypeRange(ValueRange(sums)),
                                      later, /*withElseRegion=*/true);
        {
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(ifOp.thenBlock());
          scf::YieldOp::create(
              b, accumulators().promote(sums, unpackWgmmaAccumulators(args[0]),
                                        amax));
          b.setInsertionPointToStart(ifOp.elseBlock());
          scf::YieldOp::create(b, sums);
        }
        sums.assign(ifOp.getResults().begin(), ifOp.getResults().end());
      }
      Value next = wgmmaChunk(
          args[0], stage,
          e.divI(gpu::ThreadIdOp::create(b, gpu::Dimension::x), 128),
          /*fresh=*/window);
      if (!window)
        NVVM::WgmmaWaitGroupSyncOp::create(b, 1);
      SmallVector<Value> yield = {
          next, rotate(stage, 0, stageBytes, cfg.stages),
          rotate(rawRead, rawBase, rawBytes, cfg.rawStages),
          rotate(rawWrite, rawBase, rawBytes, cfg.rawStages)};
      yield.append(sums);
      scf::YieldOp::create(b, yield);
    }
    // The last chunk's wgmma must retire before its accumulators are read,
    // and no copy may still target shared memory when the block exits.
    NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
    NVVM::CpAsyncWaitGroupOp::create(b, b.getI32IntegerAttr(0));
    SmallVector<Value> out = unpackWgmmaAccumulators(loop.getResult(0));
    if (!window)
      return out;
    Value last = arith::SubIOp::create(b, numChunks, e.idx(1));
    SmallVector<Value> sums(loop.getResults().drop_front(4));
    return accumulators().promote(sums, out, accumulators().loadWindow(last));
  }

  //===------------------------------------------------------------------===//
  // The predecoded path (sm_90a, nvfp4.gemm_workspace): A and B arrive as
  // 16-bit floats in row-major workspaces whose rows are whole 64-wide
  // chunks (MatmulDecode.cpp), so filling a stage is a copy, done by TMA:
  // thread 0 copies one box of the tile's A rows and one of its B rows, 128
  // bytes (one chunk) each, with the 128-byte swizzle, into a stage that
  // wgmma reads through swizzled descriptors (K-major, 1024 bytes per 8
  // rows; k-step s starts 32 s bytes into the rows). Rows past M or N are
  // filled with zeros by TMA. Per-thread 16-byte cp.async copies of the same
  // bytes left the kernel bound by L2 requests (93% of L2 throughput at
  // 171 TFLOP/s on an H100, docs/Performance.md).
  //
  // Per chunk c (all 256 threads, both warpgroups): wait for the stage's
  // `full` barrier (its bytes have landed), meet at the block barrier
  // (which proves every warpgroup retired chunk c - 2's wgmma), thread 0
  // fills chunk c + stages - 2 into chunk c - 2's stage, then chunk c's
  // four wgmma are issued and chunk c - 1's retired. The stages start at a
  // 1024-byte boundary of dynamic shared memory (the swizzle's atom); the
  // `full` barriers follow them.
  //===------------------------------------------------------------------===//

  /// The swizzled descriptor's constant bits: leading byte offset 1 (unused
  /// with this swizzle), stride byte offset 1024 (8 rows of 128 bytes),
  /// layout type 1 (128-byte swizzle).
  static constexpr int64_t kSwizzle128Descriptor =
      (int64_t(1) << 16) | (int64_t(1024 >> 4) << 32) | (int64_t(1) << 62);

  /// Bytes from the start of dynamic shared memory to its first 1024-byte
  /// boundary, where the predecoded ring starts (the allocation has room
  /// for it).
  Value pdRingOffset() {
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, smem[0]);
    return e.remI(arith::SubIOp::create(b, e.idx(kPdAlign),
                                        e.remI(base, e.idx(kPdAlign))),
                  e.idx(kPdAlign));
  }

  /// Thread 0's TMA fill of chunk `c` of the tile whose first rows of A
  /// and B are `aBase` and `bBase` into the stage at byte `stage` of
  /// `ring`, on `slot`'s full barrier.
  void pdFill(GemmPipeline &pipe, GemmPipeline::Slot slot, Value c,
              Value aBase, Value bBase, Value ring, Value stage) {
    Value x = e.mulI(c, e.idx(kGemmChunkBytes16));
    SmallVector<GemmPipeline::TensorTile, 2> tiles{
        {tensorMaps[0], x, aBase, offsetPointer(ring, stage),
         cfg.tileM() * kGemmChunkBytes16},
        {tensorMaps[1], x, bBase,
         offsetPointer(ring, e.addI(stage, e.idx(wgBOffset()))),
         cfg.tileN() * kGemmChunkBytes16}};
    pipe.fillStage(slot, tiles, {});
  }

  /// The warp-specialized predecoded kernel: GemmPipeline's roles over the
  /// predecoded ring. Thread 0 of the producer warpgroup walks the block's
  /// (tile, chunk) iterations, waits for a stage's `empty` barrier (every
  /// MMA thread retired the wgmma that read it) and fills it with the two
  /// boxes; the two multiplying warpgroups run wsConsume on the swizzled
  /// stages. No block barrier after the split: the producer runs up to
  /// `stages` chunks ahead, into the next tile while the consumers run an
  /// epilogue.
  void predecodedWsKernel(Value numChunks) {
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value ring = basePointer(smem[0], 3);
    Value pad = pdRingOffset();
    int64_t stageBytes = wgStageBytes(cfg);
    int64_t consumers = cfg.threads() - decodeThreads();
    GemmPipeline pipe(
        b, offsetPointer(ring, e.addI(pad, e.idx(cfg.stages * stageBytes))),
        cfg.stages, /*producerArrivals=*/1, consumers);
    pipe.initialize(tid);
    Value numTiles = tileCount();
    Value iterations = pipe.iterations(numTiles, numChunks);
    pipe.splitRoles(
        tid, cfg.producerWarps / 4, kPdProducerRegisters, kPdMmaRegisters,
        [&] {
          Value issuer = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                               tid, e.idx(0));
          pipe.ifThenElse(issuer, [&] {
            for (Value map : tensorMaps)
              pipe.prefetchTensorMap(map);
            pipe.loop(iterations, pipe.firstSlot(), {},
                      [&](Value i, GemmPipeline::Slot slot, ValueRange) {
                        pipe.waitEmpty(slot);
                        Value c, aBase, bBase;
                        std::tie(c, aBase, bBase) =
                            wsIteration(pipe, i, numChunks);
                        pdFill(pipe, slot, c, aBase, bBase, ring,
                               e.addI(pad, e.mulI(slot.stage,
                                                  e.idx(stageBytes))));
                        return SmallVector<Value>{};
                      });
          });
          // Every fill is waited for by the consumers, whose reads of the
          // last stages end before the block does.
        },
        [&] {
          wsConsume(pipe, numTiles, numChunks, stageBytes,
                    arith::SubIOp::create(b, tid, e.idx(decodeThreads())),
                    pad, /*swizzled=*/true);
        });
  }

  /// The predecoded loop (see above). Returns the accumulators in
  /// MmaAccumulators order (mi = 1, ni = tileN / 8 per warp).
  SmallVector<Value> predecodedLoop(Value numChunks) {
    assert(!window && "window operands keep the in-loop decode");
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value ring = basePointer(smem[0], 3);
    Value pad = pdRingOffset();
    int64_t stageBytes = wgStageBytes(cfg);
    GemmPipeline pipe(
        b, offsetPointer(ring, e.addI(pad, e.idx(cfg.stages * stageBytes))),
        cfg.stages, /*producerArrivals=*/1, /*consumerArrivals=*/cfg.threads());
    pipe.initialize(tid);
    Value issuer =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, e.idx(0));
    pipe.ifThenElse(issuer, [&] {
      for (Value map : tensorMaps)
        pipe.prefetchTensorMap(map);
    });
    auto stageAt = [&](Value stage) {
      return e.addI(pad, e.mulI(stage, e.idx(stageBytes)));
    };
    // Chunk c's boxes into `slot`'s stage, when c is a chunk of K.
    auto fill = [&](Value c, GemmPipeline::Slot slot) {
      Value real =
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, c, numChunks);
      pipe.ifThenElse(arith::AndIOp::create(b, issuer, real), [&] {
        pdFill(pipe, slot, c, tileRowBase, tileColBase, ring,
               stageAt(slot.stage));
      });
    };
    int64_t ahead = cfg.stages - 2;
    GemmPipeline::Slot first = pipe.firstSlot();
    for (int64_t j = 0; j < ahead; ++j)
      fill(e.idx(j), pipe.advance(first, e.idx(j)));
    GemmPipeline::Slot filling = pipe.advance(first, e.idx(ahead));
    Value group = e.divI(tid, 128);
    auto [end, result] = pipe.loop(
        numChunks, first,
        {zeroWgmmaAccumulators(), filling.stage, filling.phase},
        [&](Value c, GemmPipeline::Slot slot, ValueRange iter) {
          pipe.waitFull(slot);
          gpu::BarrierOp::create(b);
          GemmPipeline::Slot at{iter[1], iter[2]};
          fill(e.addI(c, e.idx(ahead)), at);
          Value next = wgmmaChunk(iter[0], stageAt(slot.stage), group,
                                  /*fresh=*/false, /*swizzled=*/true);
          NVVM::WgmmaWaitGroupSyncOp::create(b, 1);
          GemmPipeline::Slot after = pipe.advance(at, e.idx(1));
          return SmallVector<Value>{next, after.stage, after.phase};
        });
    (void)end;
    // The last chunk's wgmma must retire before its accumulators are read;
    // every fill was waited for, so no copy is in flight at the exit.
    NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
    return unpackWgmmaAccumulators(result[0]);
  }

  /// Load chunk 0; then per chunk: store it decoded, load the next one,
  /// multiply. Two barriers per chunk guard the shared buffers.
  SmallVector<Value> stagedLoop(Value numChunks, ArrayRef<Value> init) {
    StagedLoads first = stagedLoad(e.idx(0), numChunks);
    SmallVector<Value> iter(init.begin(), init.end());
    auto flatten = [&](const StagedLoads &l) {
      for (auto *list : {&l.a, &l.b})
        for (auto &[words, sf] : *list)
          iter.append({words, sf});
    };
    flatten(first);
    auto loop = scf::ForOp::create(b, e.idx(0), numChunks, e.idx(1),
                                   iter);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value c = loop.getInductionVar();
    auto args = loop.getRegionIterArgs();
    int64_t nAcc = int64_t(init.size());
    StagedLoads current;
    unsigned next = unsigned(nAcc);
    for (size_t q = 0; q < first.a.size(); ++q, next += 2)
      current.a.push_back({args[next], args[next + 1]});
    for (size_t q = 0; q < first.b.size(); ++q, next += 2)
      current.b.push_back({args[next], args[next + 1]});
    gpu::BarrierOp::create(b);
    stagedStore(current);
    gpu::BarrierOp::create(b);
    StagedLoads following = stagedLoad(e.addI(c, e.idx(1)), numChunks);
    SmallVector<Value> acc = stagedCompute(
        c, SmallVector<Value>(args.begin(), args.begin() + nAcc));
    SmallVector<Value> yield = acc;
    for (auto *list : {&following.a, &following.b})
      for (auto &[words, sf] : *list)
        yield.append({words, sf});
    scf::YieldOp::create(b, yield);
    b.setInsertionPointAfter(loop);
    return SmallVector<Value>(loop.getResults().take_front(nAcc));
  }

  /// The lane's accumulators (MmaAccumulators), made where they are used:
  /// the persistent kernel moves rowBase and colBase from tile to tile.
  MmaAccumulators accumulators() {
    return {e,      op, v, cfg.mi, cfg.ni, rowBase, colBase, g, t, M, N,
            cConst, /*decodedOperands=*/a16 ? 1 : 2};
  }

  /// Scales each accumulator and stores it.
  void epilogue(ArrayRef<Value> acc) { accumulators().store(acc, window); }

  LoweringBuilder &e;
  ImplicitLocOpBuilder &b;
  /// For the GemmNumerics functions, which take an OpBuilder and a Location.
  Location loc;
  NumericsBuilder &m;
  GemmOp op;
  const GemmConfig &cfg;
  GemmOperands v;
  SmallVector<Value, 2> smem;
  SmallVector<Value, 2> tensorMaps;
  RecipeAttr aRecipe, bRecipe;
  bool window = false;
  /// W4A16: A's 16-bit type (null for an NVFP4 A); bf16 tensor cores.
  Type a16;
  bool bf16 = false;
  Value g, t, rowBase, colBase, M, N, numBlocks, cConst;
  Value aScaleFlat, bScaleFlat;
  Value wmIndex, wnIndex, tileRowBase, tileColBase;
  /// The software-pipelined wgmma path: pointers to the operands' data and
  /// scales (global) and to the shared ring.
  struct {
    Value aData, aScale, bData, bScale, ring;
  } sources;
  SmallVector<Value> aRows, aValid, bRows, bValid;
};
} // namespace

namespace {
/// Adds the large-M kernel of configuration `cfg` for `op` to `module` and
/// its launch at `host` (the last else-branch of the direct kernels' chain
/// on M).
void buildLargeMatmulKernel(GemmOp op, gpu::GPUModuleOp module,
                            StringRef prefix, TargetLeaves &leaves,
                            const GemmConfig &cfg, ImplicitLocOpBuilder &host,
                            Value M, Value N) {
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  // The warp-specialized kernel (a plain nvfp4.matmul: W4A16 and grouped
  // GEMMs never take it) fills its raw ring with TMA: boxes of one chunk of
  // the tile's rows, no swizzle (the decoders read the rows as stored), and
  // the scale atoms by cp.async.bulk.
  std::string name = (prefix + "_gemm_" + cfg.name).str();
  gpu::GPUFuncOp func;
  if (cfg.predecoded)
    func = createWorkspaceGemmKernel(op, module, name, cfg.threads(),
                                     {cfg.tileM(), cfg.tileN()});
  else if (cfg.warpSpecialized())
    func = createTmaGemmKernel(cast<MatmulOp>(op.getOperation()), module,
                               name, cfg.threads(), cfg.tileM(), cfg.tileN(),
                               kWsRowBytes, /*swizzle=*/0);
  else
    func = createGemmKernel(op, module, name, cfg.threads(),
                            {cfg.tileM(), cfg.tileN()}, /*maxM=*/0);
  SmallVector<Value, 2> smem;
  // The wgmma ring: `stages` decoded A and B chunks (tile rows x 64 halves
  // each, in wgmma's layout) and their two mbarriers each, and the raw
  // ring, more than the 48 KB a kernel may declare statically: dynamic
  // shared memory, sized at launch.
  int64_t ringBytes = 0;
  if (cfg.predecoded)
    // The stages from a 1024-byte boundary, then a `full` and an `empty`
    // mbarrier per stage (the latter unused without warp specialization).
    ringBytes = kPdAlign + cfg.stages * (wgStageBytes(cfg) + 2 * 8);
  else if (cfg.warpSpecialized())
    ringBytes = cfg.stages * (wgStageBytes(cfg) + 2 * 8) +
                cfg.rawStages * (wsRawStageBytes(cfg) + 2 * 8);
  else if (cfg.wgmma)
    ringBytes = cfg.stages * wgStageBytes(cfg) +
                cfg.rawStages * swRawStageBytes(cfg, bool(op.a16()));
  auto b = ImplicitLocOpBuilder::atBlockBegin(loc, &func.getBody().front());
  if (ringBytes)
    func->setAttr(kernel_attr::kGemmSmem, b.getI64IntegerAttr(ringBytes));
  // The blocks loop over tiles (GemmPipeline's schedule).
  if (cfg.warpSpecialized())
    func->setAttr(kernel_attr::kGemmPersistent, b.getUnitAttr());
  if (cfg.staged) {
    // [tile][k-step][lane][regs] words of A (4 regs) and B (2 regs).
    smem.push_back(addGemmWorkgroupBuffer(
        func, cfg.tileM() / 16 * 4 * kWarp * 4, b.getI32Type()));
    smem.push_back(addGemmWorkgroupBuffer(
        func, cfg.tileN() / 8 * 4 * kWarp * 2, b.getI32Type()));
  }
  if (ringBytes) {
    auto workgroupSpace =
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    Value raw = gpu::DynamicSharedMemoryOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                           MemRefLayoutAttrInterface{}, workgroupSpace));
    smem.push_back(memref::ViewOp::create(
        b,
        MemRefType::get({ringBytes / 4}, b.getI32Type(),
                        MemRefLayoutAttrInterface{}, workgroupSpace),
        raw, arith::ConstantIndexOp::create(b, 0), ValueRange{}));
  }
  {
    LoweringBuilder e(b, &leaves);
    emitGemmBody(
        e, func, op, cfg.tileM(), cfg.tileN(), [&](const GemmOperands &v) {
          GemmEmitter(e, op, cfg, v, smem, gemmTensorMapArgs(func, op)).emit();
        });
  }
  gpu::ReturnOp::create(b);

  // Launched in the last else-branch of the direct kernels' chain on M; a
  // predecoded GEMM after its gemm_decode kernels, into workspaces this
  // host code allocates (a runtime allocates its own, NVFP4KernelInterface.h).
  SmallVector<Value, 2> workspaces;
  if (cfg.predecoded) {
    LoweringBuilder he(host);
    Value kd = gemmDecodedK(he, gemmK(he, op, op.getAData()));
    Value rows[] = {M, N};
    for (auto [operand, type] : llvm::enumerate(gemmWorkspaceTypes(op)))
      workspaces.push_back(
          gpu::AllocOp::create(host, type, /*asyncToken=*/Type(),
                               ValueRange{}, ValueRange{rows[operand], kd},
                               ValueRange{}, /*hostShared=*/false)
              .getMemref());
    for (int64_t operand : {0, 1})
      launchGemmDecodeKernel(
          host, buildGemmDecodeKernel(op, module, prefix, leaves, operand), op,
          rows[operand], workspaces);
  }
  launchGemmKernel(host, func, op, M, N, cfg.tileM(), cfg.tileN(),
                   cfg.threads(),
                   ringBytes ? Value(arith::ConstantOp::create(
                                   host, host.getI32IntegerAttr(
                                             int32_t(ringBytes))))
                             : Value(),
                   workspaces);
  for (Value w : workspaces)
    gpu::DeallocOp::create(host, /*asyncToken=*/Type(), ValueRange{}, w);
}
} // namespace

LogicalResult mlir::nvfp4::detail::buildMatmulKernels(
    GemmOp op, gpu::GPUModuleOp module, StringRef prefix, TargetLeaves &leaves,
    StringRef chip, bool warpSpecialized, bool predecoded) {
  // A grouped op keeps to the mma.sync kernels: their tile bodies address
  // their operands through memref views, which a group's views replace;
  // the wgmma and tcgen05 kernels would need their copies and descriptors
  // checked against views first.
  auto plain = dyn_cast<MatmulOp>(op.getOperation());
  bool tcgen05 = plain && isTcgen05Chip(chip) && tcgen05Supports(plain);
  std::optional<ChipInfo> chipInfo = lookupChip(chip);
  bool blockScaledMma = plain && chipInfo && chipInfo->blockScaledMmaSync;
  bool wgmma = plain && chip == "sm_90a";
  ImplicitLocOpBuilder host(op.getLoc(), op.getOperation());
  LoweringBuilder he(host);
  Value M, N;
  std::tie(M, N) = gemmHostShape(he, op);

  bool window = gemmScaleClass(op.getARecipe(), op.getBRecipe()) ==
                GemmScaleClass::Window;
  // M <= 256: the direct kernels of MatmulDirect.cpp, under scf.if on M.
  buildDirectMatmulKernels(op, module, prefix, leaves, host, chip);
  // The tcgen05 kernel replaces the large-M configuration; M <= 256 keeps
  // the direct mma.sync kernels, which fill more SMs.
  if (tcgen05)
    return buildTcgen05MatmulKernel(plain, module, prefix, leaves, host);
  // Likewise the sm_120 family's block-scaled mma.sync (MatmulSm120.cpp).
  if (blockScaledMma)
    return buildSm120MatmulKernel(plain, module, prefix, leaves, host);
  // wgmma exists on sm_90a only (not on sm_100a and later).
  buildLargeMatmulKernel(op, module, prefix, leaves,
                         predecoded && wgmma && !window
                             ? predecodedConfig(warpSpecialized)
                             : largeConfig(window, wgmma, warpSpecialized),
                         host, M, N);
  return success();
}

void mlir::nvfp4::detail::buildWgmmaMatmulW4A16Kernel(
    MatmulW4A16Op op, gpu::GPUModuleOp module, StringRef prefix,
    TargetLeaves &leaves, ImplicitLocOpBuilder &host, bool predecoded) {
  LoweringBuilder he(host);
  Value M, N;
  std::tie(M, N) = gemmHostShape(he, op);
  bool window =
      gemmScaleClass({}, op.getBRecipe()) == GemmScaleClass::Window;
  buildLargeMatmulKernel(op, module, prefix, leaves,
                         predecoded && !window
                             ? predecodedConfig(/*warpSpecialized=*/false)
                             : largeConfig(window, /*wgmma=*/true,
                                           /*warpSpecialized=*/false),
                         host, M, N);
}
