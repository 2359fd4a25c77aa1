//===- MatmulDirect.cpp - GEMM kernels for small and medium M -------------===//
//
// The direct (unstaged) GEMM kernels of nvfp4-to-gpu, for M <= 256: decode
// GEMMs (M <= 32) stream B, whose N x K operand is far larger than A, and
// must run at memory bandwidth; medium M (<= 256) must not decode A again
// for every narrow N tile.
//
// Roles are swapped against MatmulToGPU.cpp's large-M kernels: B is the
// 16-row `mma.sync.m16n8k16` operand and A the 8-column one, so each warp
// computes a tile of D^T: nt 16-row tiles of N by mt 8-row tiles of M. For
// M <= 8 one mma covers 16 columns of N and every row of A, where 16-row A
// tiles would waste half of the tensor-core work and of A's decode.
//
// Operands are dequantized on load to f16, exactly (see MatmulToGPU.cpp's
// header). As there, K is walked in 64-wide chunks and permuted alike in
// both operands: lane (g, t) = (lane / 4, lane % 4) reads the 8 contiguous
// bytes of 16-block t of its rows (one aligned 64-bit load; the four lanes
// of a row read one 32-byte sector) and one scale byte per row. A loaded
// word is decoded whole (gemmDecodeF16Nibbles: nibbles i and i + 4 make one
// f16x2, placed by shifts and a mask-merge and scaled by one multiply with
// the block's decode multiplier; the elements carry 2^-kGemmDecodeShift,
// which the epilogue and the window promotion take back), and k-step s of
// a chunk uses word s / 2, pairs 2 (s % 2) and 2 (s % 2) + 1.
//
// Why 64-bit loads and not 128-bit ones: a 16-byte load per lane needs rows
// aligned to 16 bytes (K % 32 == 0, which the shapes do not promise) and
// 128-wide chunks, whose k-steps would mix two 1x64 windows. The bytes in
// flight come from prefetching instead: each warp issues the loads of the
// next `depth` chunks before it decodes the current one. Little's law asks
// for about bandwidth x latency / SMs = 4.8 TB/s x ~1 us / 132 ~ 36 KB per
// SM; a small_m warp (nt = 2: 32 rows of B) holds depth x 1 KB of B, so
// 16 resident warps (two 256-thread blocks of <= 128 registers) at depth 3
// keep ~48 KB in flight.
//
// Configurations, in launch order (the host takes the first that serves M;
// directConfigs gives the sizes and why):
//  * small_m8/16/32 (M <= 8, 16, 32): the warps of a block (8, 4, 4) split
//    K (each a contiguous range of chunks) over one 32-column tile of N; A
//    (mt = 1, 2, 4 tiles) is decoded by every warp, B exactly once. The
//    split sums meet in shared memory and are added in slice order
//    (deterministic), each slice reducing and storing its share of the
//    accumulator slots.
//  * medium_m (M <= 256): a block owns 32 rows of M by 128 columns of N,
//    K split in two halves of 4 warps (no split for window operands); per
//    chunk a half's 128 threads decode its A tile once into its shared
//    buffers in fragment order (double-buffered, one barrier per chunk)
//    and each warp multiplies it by its own 32 rows of B; the halves are
//    summed like the small kernels' slices.
//
// On chips with thread-block clusters every configuration may also split
// K across the CTAs of a cluster (nvfp4.gemm_cluster_split): the S CTAs of
// a cluster share one tile, each takes a contiguous share of its K slices,
// and their sums meet in distributed shared memory (reduceOverCluster;
// docs/Rationale.md, "K split across a thread-block cluster").
//
//===----------------------------------------------------------------------===//

#include "MatmulToGPU.h"

#include "nvfp4/Conversion/Chips.h"
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
constexpr int64_t kWarp = 32;
/// k-steps (of 16) per 64-wide chunk.
constexpr int64_t kSteps = 4;

struct DirectConfig {
  const char *name;
  int64_t nt, mt;   ///< 16-row tiles of B (N), 8-row tiles of A (M) per warp
  int64_t warpsN;   ///< warps per block along N
  int64_t kSplit;   ///< warps per block along K (A per warp when > 1)
  int64_t depth;    ///< chunks whose loads are in flight ahead of the math
  int64_t maxM;
  bool sharedA;     ///< A decoded once per block into shared memory
  int64_t minBlocksPerSM; ///< ptxas keeps registers low enough for these
  /// Chunks whose A loads are in flight ahead of the math: `depth`, or
  /// a divisor of it for a W4A16 A (directConfigs sets it).
  int64_t aDepth = 0;

  int64_t tileM() const { return 8 * mt; }
  int64_t tileN() const { return 16 * nt * warpsN; }
  int64_t threads() const { return kWarp * warpsN * kSplit; }
  /// Threads of one K slice.
  int64_t sliceThreads() const { return kWarp * warpsN; }
  int64_t slots() const { return nt * mt * 4; }
  /// Shared-A decode items per K slice (an 8-row tile's lane view of one
  /// chunk).
  int64_t aItems() const { return mt * kWarp; }
  /// Shared-A words per K slice: two stages of [tile][k-step pair][lane][4].
  int64_t aSliceWords() const { return 2 * mt * 2 * kWarp * 4; }
};

/// The configurations in launch order. Window operands keep a second
/// accumulator set (the chunk's sum before promotion), so their tiles hold
/// fewer loads in flight or fewer rows of M.
SmallVector<DirectConfig> directConfigs(bool window, bool a16) {
  // small_m8: two 256-thread blocks per SM (minBlocksPerSM caps registers
  // at 128): 16 warps, each with depth x 1 KB of B in flight.
  DirectConfig small8{"small_m8", /*nt=*/2, /*mt=*/1, /*warpsN=*/1,
                      /*kSplit=*/8, /*depth=*/3, /*maxM=*/8, false, 2};
  // small_m16/32 hold 2 and 4 A rows and 16 and 32 accumulators more per
  // lane in 128-thread blocks: small_m16 three per SM (up to 170
  // registers), 12 warps with 3 KB of B in flight each; small_m32 two per
  // SM (at three it spills in the loop), 8 warps with 3 KB each.
  DirectConfig small16 = small8, small32 = small8;
  small16.name = "small_m16", small16.mt = 2, small16.maxM = 16;
  small32.name = "small_m32", small32.mt = 4, small32.maxM = 32;
  small16.kSplit = small32.kSplit = 4;
  small16.minBlocksPerSM = 3;
  if (window) // the second accumulator set: less in flight
    small8.depth = small16.depth = small32.depth = 2;
  // medium_m: blocks of 32 rows of M by 128 columns of N, K split in two
  // (each half decodes its own A chunks into its own shared buffers): B is
  // decoded once per 32 rows of M and A once per 128 columns of N, and
  // M = 128, N = 8192 gets 256 blocks of 8 warps, two per SM (128
  // registers; deeper prefetch spills in the loop). Window operands' second
  // accumulator set needs ~200 registers: no K split there, two 4-warp
  // blocks per SM.
  DirectConfig medium{"medium_m", /*nt=*/2, /*mt=*/4, /*warpsN=*/4,
                      /*kSplit=*/2, /*depth=*/1, /*maxM=*/256, true, 2};
  if (window)
    medium.kSplit = 1, medium.depth = 2;
  for (DirectConfig *c : {&small8, &small16, &small32, &medium})
    c->aDepth = c->depth;
  // W4A16: an A row's 16-block is 32 bytes (8 registers) instead of 8 + a
  // scale byte, so A prefetched as deep as B spilled in every small
  // kernel's loop (small_m8 ~20 spill loads per trip, small_m32 ~34).
  // A is small and L1/L2-resident, not streamed from DRAM: one chunk of
  // math ahead hides its latency, and B keeps its depth (its bytes are
  // the ones in flight). Loaded in the chunk that uses it, the loops were
  // longer. The registers this frees let small_m32 hold four chunks of B
  // (32 KB in flight per SM instead of 24). Shared A (medium_m) is stored
  // before the chunk's barrier and keeps depth 1.
  if (a16) {
    small8.aDepth = small16.aDepth = small32.aDepth = 1;
    if (!window)
      small32.depth = 4;
  }
  return {small8, small16, small32, medium};
}

/// One row's loads of one chunk: two data words and the scale byte (i32,
/// 0 past the end of K). A W4A16 A row has no scale: its block's 32 bytes
/// are `words` (the first 16) and `scale` (the last 16), vector<4xi32>
/// each, so that every row keeps two loop-carried values.
struct RowLoad {
  Value words, scale;
};

class DirectEmitter {
public:
  /// `clusterSplit`: the kernel splits K over the CTAs of its cluster
  /// (nvfp4.gemm_cluster_split; not for a grouped op's views).
  DirectEmitter(LoweringBuilder &e, GemmOp op, const DirectConfig &cfg,
                const GemmOperands &v, ArrayRef<Value> smem,
                bool clusterSplit)
      : e(e), b(e.builder()), loc(e.location()), m(e.math()), op(op), cfg(cfg),
        v(v), smem(smem), clusterSplit(clusterSplit) {
    assert(!(clusterSplit && v.tileRow) &&
           "a grouped kernel's tiles do not split K over a cluster");
  }

  void emit() {
    aRecipe = op.getARecipe();
    bRecipe = op.getBRecipe();
    a16 = op.a16();
    bf16 = a16 && a16.isBF16();
    window = gemmScaleClass(aRecipe, bRecipe) == GemmScaleClass::Window;
    cConst = gemmC(b, loc, aRecipe, bRecipe);

    tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value warp = e.divI(tid, kWarp);
    lane = e.remI(tid, e.idx(kWarp));
    g = e.divI(lane, 4);
    t = e.remI(lane, e.idx(4));
    kSlice = e.divI(warp, cfg.warpsN);
    sliceTid = e.remI(tid, e.idx(cfg.sliceThreads()));
    Value wn = e.remI(warp, e.idx(cfg.warpsN));
    M = e.dim(v.aData, 0);
    N = e.dim(v.bData, 0);
    // 16-blocks of K: 8 bytes each of NVFP4 data (B's, when A is W4A16).
    numBlocks = e.divI(e.dim(a16 ? v.bData : v.aData, 1), 8);
    if (clusterSplit) {
      // The cluster's CTAs share one tile; launched without a cluster, a
      // CTA is a cluster of one (rank 0 of 1).
      // Their ranges (clusters of at most kMaxGemmClusterSplit CTAs, which
      // the kernel's .maxclusterrank enforces) keep the chunk bounds narrow.
      Type i32 = b.getI32Type();
      MLIRContext *ctx = b.getContext();
      clusterRank = arith::IndexCastUIOp::create(
          b, b.getIndexType(),
          NVVM::ClusterId::create(
              b, i32,
              LLVM::ConstantRangeAttr::get(ctx, 32, 0, kMaxGemmClusterSplit)));
      clusterSize = arith::IndexCastUIOp::create(
          b, b.getIndexType(),
          NVVM::ClusterDim::create(
              b, i32,
              LLVM::ConstantRangeAttr::get(ctx, 32, 1,
                                           kMaxGemmClusterSplit + 1)));
      std::tie(rowBase, tileCol) =
          gemmBlockTile(e, N, cfg.tileM(), cfg.tileN(), clusterSize);
    } else {
      std::tie(rowBase, tileCol) = gemmTile(e, v, N, cfg.tileM(), cfg.tileN());
    }
    colBase = e.addI(tileCol, e.mulI(wn, e.idx(16 * cfg.nt)));

    // Byte addresses: operands are contiguous row-major buffers (as the
    // other GEMM kernels assume), rows and blocks 8-byte aligned.
    auto address = [&](Value memref) -> Value {
      return gemmBaseAddress(b, memref);
    };
    aPtr = address(v.aData);
    bPtr = address(v.bData);
    if (!a16)
      aScalePtr = address(v.aScale);
    bScalePtr = address(v.bScale);
    // A W4A16 row holds K 2-byte elements.
    Value aRowLength = e.dim(v.aData, 1);
    if (a16)
      aRowLength = e.mulI(aRowLength, e.idx(2));
    aRowBytes = arith::IndexCastUIOp::create(b, b.getI32Type(), aRowLength);
    bRowBytes = arith::IndexCastUIOp::create(b, b.getI32Type(),
                                             e.dim(v.bData, 1));

    // The rows this lane loads: B rows g and g + 8 of each N tile; A row g
    // of each M tile, or for shared A the rows of its decode items. Data
    // rows are clamped into range; a clamped row of B (A) only feeds
    // accumulators of columns n >= N (rows m >= M), which are never
    // stored, so it needs no mask. Scale rows need no clamp: a 128x4 scale
    // buffer has its rows padded to a multiple of 128 (SPEC.md section 3;
    // a group's view starts on a 128-row tile and spans its rows rounded
    // up to 128) and every tile's rows end at a multiple of tileM or
    // tileN, which divide 128.
    // The 128x4 offset of (row, block) is a row part plus a block part,
    // and within an aligned group of 32 rows the row part grows by 16 per
    // row: a lane's rows share one group (nt <= 2 with colBase a multiple
    // of 16 nt; mt <= 4 with rowBase a multiple of 8 mt), so one row part
    // plus constants serves them all.
    assert(cfg.nt <= 2 && (cfg.sharedA || cfg.mt <= 4) &&
           "a lane's rows must share one 32-row scale group");
    Value bLead = e.addI(colBase, g);
    Value bPart = scaleRowPart(bLead);
    for (int64_t j = 0; j < cfg.nt; ++j)
      for (int64_t h = 0; h < 2; ++h) {
        int64_t d = 16 * j + 8 * h;
        bRows.push_back(rowOf(e.addI(bLead, e.idx(d)), N,
                              e.addI(bPart, e.idx(16 * d))));
      }
    if (cfg.sharedA) {
      for (int64_t q = 0; q < itemsPerThread(); ++q) {
        Value item = e.addI(sliceTid, e.idx(q * cfg.sliceThreads()));
        Value tile = e.divI(item, kWarp);
        Value itemLane = e.remI(item, e.idx(kWarp));
        Value r = e.addI(rowBase, e.addI(e.mulI(tile, e.idx(8)),
                                         e.divI(itemLane, 4)));
        aRows.push_back(rowOf(r, M, a16 ? Value() : scaleRowPart(r)));
      }
    } else {
      Value aLead = e.addI(rowBase, g);
      Value aPart = a16 ? Value() : scaleRowPart(aLead);
      for (int64_t i = 0; i < cfg.mt; ++i)
        aRows.push_back(rowOf(e.addI(aLead, e.idx(8 * i)), M,
                              a16 ? Value()
                                  : e.addI(aPart, e.idx(16 * 8 * i))));
    }
    // A shared-A item's lane (item % 32) is its thread's, since a slice's
    // threads are a multiple of 32: its rows and block 4c + t follow the
    // thread's g and t.

    // Each K slice takes `per` consecutive chunks: the block's kSplit
    // slices, or with a cluster of S CTAs its S kSplit slices, rank r's
    // being slices r kSplit .. r kSplit + kSplit - 1 (a contiguous share;
    // none when K has fewer chunks). Clamped to the chunk count like this,
    // the bounds keep the loop's index arithmetic as narrow as without a
    // cluster (an offset added to a per-CTA split widened it).
    Value numChunks = e.ceilDivI(numBlocks, 4);
    // ceil(ceil(n / kSplit) / S) = ceil(n / (kSplit S)).
    Value per = e.ceilDivI(numChunks, cfg.kSplit), slice = kSlice;
    if (clusterSplit) {
      per = ceilDivBy(per, clusterSize);
      slice = e.addI(e.mulI(clusterRank, e.idx(cfg.kSplit)), kSlice);
    }
    Value c0 = e.minI(e.mulI(slice, per), numChunks);
    Value c1 = e.minI(e.addI(c0, per), numChunks);

    // K = 0 has no bytes to prefetch: the loop and its prologue run only
    // when there is a block (the condition is uniform over the block).
    SmallVector<Type> accTypes(cfg.slots(), b.getF32Type());
    auto nonEmpty = scf::IfOp::create(
        b, accTypes,
        arith::CmpIOp::create(b, arith::CmpIPredicate::ne, numBlocks,
                              e.idx(0)),
        /*withElse=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(nonEmpty.thenBlock());
      scf::YieldOp::create(b, mainLoop(c0, c1, per));
      b.setInsertionPointToStart(nonEmpty.elseBlock());
      scf::YieldOp::create(b,
                           SmallVector<Value>(cfg.slots(), m.f32(0.0f)));
    }
    SmallVector<Value> acc(nonEmpty.getResults());
    if (clusterSplit)
      reduceOverCluster(acc);
    else
      storeTile(acc);
  }

private:
  struct Row {
    Value index;     ///< the clamped row (i32)
    Value scalePart; ///< the row part of its 128x4 scale offsets (index)
  };

  /// ceil(x / d) of index values.
  Value ceilDivBy(Value x, Value d) {
    return e.divI(e.addI(x, arith::SubIOp::create(b, d, e.idx(1))), d);
  }

  int64_t itemsPerThread() const {
    return (cfg.aItems() + cfg.sliceThreads() - 1) / cfg.sliceThreads();
  }

  Value scaleRowPart(Value r) {
    return m.scaleOffset(ScaleLayout::Swizzle128x4, r, e.idx(0), numBlocks);
  }

  Row rowOf(Value r, Value limit, Value scalePart) {
    Value clamped = e.minI(r, arith::SubIOp::create(b, limit, e.idx(1)));
    return {arith::IndexCastUIOp::create(b, b.getI32Type(), clamped),
            scalePart};
  }

  /// `base + row * rowBytes` as i64, from 32-bit factors (one wide
  /// multiply-add; rows and row lengths fit 32 bits).
  Value rowAddress(Value base, Value row32, Value rowBytes32) {
    Type i64 = b.getI64Type();
    return arith::AddIOp::create(
        b, base,
        arith::MulIOp::create(b,
                              arith::ExtUIOp::create(b, i64, row32),
                              arith::ExtUIOp::create(b, i64, rowBytes32)));
  }

  /// The lane's loads of chunk `c` for `rows`: block 4c + t, clamped into
  /// K (a zero scale past it). Chunks at or past the warp's end are only
  /// prefetched, never multiplied, so they need no mask. `stream`: data
  /// read once (B), kept out of L1.
  SmallVector<RowLoad> loadRows(ArrayRef<Row> rows, Value dataPtr,
                                Value scalePtr, Value rowBytes32, Value c,
                                bool stream) {
    Value blk = e.addI(e.mulI(c, e.idx(4)), t);
    Value blkValid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                           blk, numBlocks);
    Value safe =
        e.minI(blk, arith::SubIOp::create(b, numBlocks, e.idx(1)));
    Type i64 = b.getI64Type();
    Value dataCol = arith::IndexCastUIOp::create(
        b, i64, e.addI(dataPtr, e.mulI(safe, e.idx(8))));
    Value scaleCol = e.addI(
        scalePtr,
        m.scaleOffset(ScaleLayout::Swizzle128x4, e.idx(0), safe, numBlocks));
    // A warp reads 256 contiguous bytes per 8 rows of a chunk and walks
    // each row along K: L2::256B fetches a row's next chunks with it.
    StringRef dataHint = stream ? ".L1::no_allocate.L2::256B" : ".L2::256B";
    SmallVector<RowLoad> out;
    for (const Row &row : rows) {
      Value word = gemmLoadGlobal(b, rowAddress(dataCol, row.index, rowBytes32),
                              i64, dataHint, "b64");
      Value words = LLVM::BitcastOp::create(
          b, VectorType::get({2}, b.getI32Type()), word);
      Value sf = gemmLoadGlobal(b, 
          arith::IndexCastUIOp::create(b, i64,
                                       e.addI(row.scalePart, scaleCol)),
          b.getI32Type(), "", "u8");
      // Byte 0x00 is 0.0: blocks past K contribute nothing.
      sf = m.select(blkValid, sf, m.i32(0));
      out.push_back({words, sf});
    }
    return out;
  }

  /// W4A16: the lane's loads of chunk `c` for the A rows: the 32 bytes of
  /// block 4c + t (two 16-byte loads; rows of K 2-byte elements, K a
  /// multiple of 16, are 32-byte aligned), clamped into K. A block past K
  /// reads as zeros: B's zero there times an Inf or NaN of A would be NaN.
  SmallVector<RowLoad> loadRowsA16(Value c) {
    Value blk = e.addI(e.mulI(c, e.idx(4)), t);
    Value blkValid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, blk,
                                           numBlocks);
    Value zero = arith::ConstantOp::create(
        b, DenseElementsAttr::get(VectorType::get({4}, b.getI32Type()),
                                  b.getI32IntegerAttr(0)));
    Value safe =
        e.minI(blk, arith::SubIOp::create(b, numBlocks, e.idx(1)));
    Type i64 = b.getI64Type();
    Value col = arith::IndexCastUIOp::create(
        b, i64, e.addI(aPtr, e.mulI(safe, e.idx(32))));
    SmallVector<RowLoad> out;
    for (const Row &row : aRows) {
      Value at = rowAddress(col, row.index, aRowBytes);
      Value halves[2];
      for (int64_t h = 0; h < 2; ++h)
        halves[h] = arith::SelectOp::create(
            b, blkValid,
            gemmLoadGlobal(
                b,
                h ? arith::AddIOp::create(
                        b, at, arith::ConstantIntOp::create(b, i64, 16))
                  : at,
                VectorType::get({4}, b.getI32Type()), ".L2::256B", "u32"),
            zero);
      out.push_back({halves[0], halves[1]});
    }
    return out;
  }

  SmallVector<RowLoad> loadB(Value c) {
    return loadRows(bRows, bPtr, bScalePtr, bRowBytes, c, /*stream=*/true);
  }
  SmallVector<RowLoad> loadA(Value c) {
    return a16 ? loadRowsA16(c)
               : loadRows(aRows, aPtr, aScalePtr, aRowBytes, c,
                          /*stream=*/false);
  }
  /// Chunk c's B rows, then its A rows.
  SmallVector<RowLoad> loadChunk(Value c) {
    SmallVector<RowLoad> l = loadB(c);
    SmallVector<RowLoad> a = loadA(c);
    l.append(a.begin(), a.end());
    return l;
  }

  /// The 8 fragment registers of a row's chunk, in k-step order: k-step s
  /// uses [2s], [2s + 1]. f16x2 values; with a bf16 A (bf16 tensor cores)
  /// bf16 pairs held in i32.
  SmallVector<Value> decodeRow(const RowLoad &l) {
    // The block's decode multiplier (elements come out times
    // 2^-kGemmDecodeShift; store() and the promotion take it back).
    Value sf = bf16 ? gemmDecodeScaleBF16x2(b, loc, m.decodeScaleE4M3(l.scale))
                    : gemmDecodeScaleF16x2(b, loc,
                                           m.decodeE4M3ToF16x2(l.scale));
    SmallVector<Value> regs;
    for (int64_t q = 0; q < 2; ++q) {
      Value word = vector::ExtractOp::create(b, l.words, q);
      for (int64_t i = 0; i < 4; ++i)
        regs.push_back(
            bf16 ? f16x2AsI32(b, gemmDecodeBF16Nibbles(b, loc, word, i, sf))
                 : gemmDecodeF16Nibbles(b, loc, word, i, sf));
    }
    return regs;
  }

  /// W4A16: an A row's block (`RowLoad` words: its first 16 bytes, scale:
  /// the last 16) as the 8 fragment registers decodeRow gives for B, in
  /// the same K permutation: register 4q + i pairs elements 8q + i and
  /// 8q + i + 4 of the block, i.e. the low (i even) or high halves of
  /// words 4q + i/2 and 4q + i/2 + 2.
  SmallVector<Value> a16Row(const RowLoad &l) {
    SmallVector<Value, 8> words;
    for (int64_t w = 0; w < 8; ++w)
      words.push_back(
          vector::ExtractOp::create(b, w < 4 ? l.words : l.scale, w % 4));
    SmallVector<Value> regs = gemmPermuteA16Block(b, words);
    if (!bf16)
      for (Value &reg : regs)
        reg = i32AsF16x2(b, reg);
    return regs;
  }

  /// An A row's fragment registers: decoded, or W4A16's permuted halves.
  SmallVector<Value> aRow(const RowLoad &l) {
    return a16 ? a16Row(l) : decodeRow(l);
  }

  /// One mma of the operand type.
  void mma(ValueRange aFrag, ValueRange bFrag, MutableArrayRef<Value> acc) {
    if (bf16)
      mmaSyncBF16(b, aFrag, bFrag, acc);
    else
      mmaSyncF16(b, aFrag, bFrag, acc);
  }
  /// A fragment register as a shared-memory word and back.
  Value fragWord(Value reg) { return bf16 ? reg : f16x2AsI32(b, reg); }
  Value wordFrag(Value word) { return bf16 ? word : i32AsF16x2(b, word); }

  /// Shared A: word offset of the fragment words of (K slice, stage, M
  /// tile, k-step pair, lane): [slice][stage][tile][pair][lane][4 x i32],
  /// so a warp reads one k-step pair of a tile with one conflict-free
  /// 16-byte load per lane.
  Value aFragOffset(Value stage, Value tile, int64_t pair, Value atLane) {
    Value at = e.addI(e.mulI(e.addI(e.mulI(kSlice, e.idx(2)), stage),
                             e.idx(cfg.mt)),
                      tile);
    at = e.addI(e.mulI(at, e.idx(kSteps / 2)), e.idx(pair));
    at = e.addI(e.mulI(at, e.idx(kWarp)), atLane);
    return e.mulI(at, e.idx(4));
  }

  /// Decodes this thread's shared-A items of a chunk into `stage`.
  void storeSharedA(ArrayRef<RowLoad> items, Value stage) {
    for (int64_t q = 0; q < itemsPerThread(); ++q) {
      Value item = e.addI(sliceTid, e.idx(q * cfg.sliceThreads()));
      auto body = [&] {
        SmallVector<Value> regs = aRow(items[q]);
        Value tile = e.divI(item, kWarp);
        Value itemLane = e.remI(item, e.idx(kWarp));
        for (int64_t pair = 0; pair < kSteps / 2; ++pair) {
          SmallVector<Value, 4> words;
          for (int64_t r = 0; r < 4; ++r)
            words.push_back(fragWord(regs[4 * pair + r]));
          vector::StoreOp::create(
              b,
              vector::FromElementsOp::create(
                  b, VectorType::get({4}, b.getI32Type()), words),
              smem[0], aFragOffset(stage, tile, pair, itemLane),
              /*nontemporal=*/false, llvm::MaybeAlign(16));
        }
      };
      if ((q + 1) * cfg.sliceThreads() <= cfg.aItems()) {
        body();
        continue;
      }
      auto inRange = scf::IfOp::create(
          b,
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, item,
                                e.idx(cfg.aItems())),
          false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(inRange.thenBlock()->getTerminator());
      body();
    }
  }

  /// Prefetches `depth` chunks into `depth` slots, then per chunk c: issue
  /// the loads of chunk c + depth into c's slot, (shared A: decode c's A
  /// tile, barrier), decode and multiply c. The loop is unrolled by
  /// `depth` so that the slots stay in place (no register moves); chunks
  /// past c1 are not multiplied (a uniform branch per warp). With shared A
  /// every K slice runs `per` chunks, so that the barriers of all warps
  /// pair up; past c1 a slice only stores and waits. A's loads run
  /// `aDepth` chunks ahead, in slots of their own (c's is c % aDepth).
  SmallVector<Value> mainLoop(Value c0, Value c1, Value per) {
    int64_t nAcc = cfg.slots(), depth = cfg.depth, aDepth = cfg.aDepth;
    assert(aDepth >= 1 && depth % aDepth == 0 &&
           "A's slots must line up with the unrolled chunks");
    SmallVector<Value> iter(nAcc, m.f32(0.0f));
    // Slot layout after the accumulators: chunk d's B rows, then its A rows
    // while d < aDepth, two values per row.
    int64_t bCount = int64_t(bRows.size()), aCount = int64_t(aRows.size());
    auto bSlot = [&](int64_t d, int64_t r) {
      return 2 * (d * bCount + std::min(d, aDepth) * aCount + r);
    };
    auto aSlot = [&](int64_t d, int64_t r) { return bSlot(d, bCount + r); };
    for (int64_t d = 0; d < depth; ++d) {
      Value c = e.addI(c0, e.idx(d));
      SmallVector<RowLoad> l = d < aDepth ? loadChunk(c) : loadB(c);
      for (const RowLoad &r : l)
        iter.append({r.words, r.scale});
    }
    Value end = cfg.sharedA ? e.addI(c0, per) : c1;
    auto loop = scf::ForOp::create(b, c0, end, e.idx(depth), iter);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    auto args = loop.getRegionIterArgs();
    SmallVector<Value> acc(args.take_front(nAcc));
    SmallVector<Value> slots(args.drop_front(nAcc));
    for (int64_t u = 0; u < depth; ++u) {
      Value c = e.addI(loop.getInductionVar(), e.idx(u));
      SmallVector<RowLoad> current;
      for (int64_t r = 0; r < bCount; ++r)
        current.push_back({slots[bSlot(u, r)], slots[bSlot(u, r) + 1]});
      int64_t ua = u % aDepth;
      for (int64_t r = 0; r < aCount; ++r)
        current.push_back({slots[aSlot(ua, r)], slots[aSlot(ua, r) + 1]});
      Value ahead = e.addI(c, e.idx(depth));
      SmallVector<RowLoad> next =
          aDepth == depth ? loadChunk(ahead) : loadB(ahead);
      if (aDepth < depth) {
        SmallVector<RowLoad> nextA = loadA(e.addI(c, e.idx(aDepth)));
        next.append(nextA.begin(), nextA.end());
      }
      for (int64_t r = 0; r < bCount; ++r) {
        slots[bSlot(u, r)] = next[r].words;
        slots[bSlot(u, r) + 1] = next[r].scale;
      }
      for (int64_t r = 0; r < aCount; ++r) {
        slots[aSlot(ua, r)] = next[bCount + r].words;
        slots[aSlot(ua, r) + 1] = next[bCount + r].scale;
      }
      ArrayRef<RowLoad> bLoads = ArrayRef<RowLoad>(current).take_front(bCount);
      ArrayRef<RowLoad> aLoads = ArrayRef<RowLoad>(current).drop_front(bCount);
      Value stage;
      if (cfg.sharedA) {
        stage = e.remI(c, e.idx(2));
        storeSharedA(aLoads, stage);
        // With two stages one barrier per chunk suffices: a thread writes
        // stage s again only after every thread passed the barrier behind
        // which it finished reading stage s.
        gpu::BarrierOp::create(b);
      }
      if (u == 0 && !cfg.sharedA) {
        // The loop condition already says c < c1.
        acc = computeChunk(c, acc, bLoads, aLoads, stage);
        continue;
      }
      SmallVector<Type> accTypes(nAcc, b.getF32Type());
      auto inRange = scf::IfOp::create(
          b, accTypes,
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, c, c1),
          /*withElse=*/true);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(inRange.thenBlock());
        scf::YieldOp::create(b,
                             computeChunk(c, acc, bLoads, aLoads, stage));
        b.setInsertionPointToStart(inRange.elseBlock());
        scf::YieldOp::create(b, acc);
      }
      acc.assign(inRange.getResults().begin(), inRange.getResults().end());
    }
    SmallVector<Value> yield = acc;
    yield.append(slots);
    scf::YieldOp::create(b, yield);
    b.setInsertionPointAfter(loop);
    return SmallVector<Value>(loop.getResults().take_front(nAcc));
  }

  /// Four k-steps of mma over the warp's tiles. Window operands sum the
  /// chunk (one 64-wide window) from zero and promote it.
  SmallVector<Value> computeChunk(Value c, ArrayRef<Value> acc,
                                  ArrayRef<RowLoad> bLoads,
                                  ArrayRef<RowLoad> aLoads, Value stage) {
    SmallVector<Value> sum(acc.begin(), acc.end());
    if (window)
      sum.assign(cfg.slots(), m.f32(0.0f));
    SmallVector<SmallVector<Value>> bRegs, aRegs;
    for (const RowLoad &l : bLoads)
      bRegs.push_back(decodeRow(l));
    if (!cfg.sharedA)
      for (const RowLoad &l : aLoads)
        aRegs.push_back(aRow(l));
    SmallVector<Value> shared(cfg.mt);
    for (int64_t s = 0; s < kSteps; ++s) {
      SmallVector<SmallVector<Value, 2>> aFrag;
      for (int64_t i = 0; i < cfg.mt; ++i) {
        if (!cfg.sharedA) {
          aFrag.push_back({aRegs[i][2 * s], aRegs[i][2 * s + 1]});
          continue;
        }
        if (s % 2 == 0)
          shared[i] = vector::LoadOp::create(
              b, VectorType::get({4}, b.getI32Type()), smem[0],
              aFragOffset(stage, e.idx(i), s / 2, lane),
              /*nontemporal=*/false, llvm::MaybeAlign(16));
        int64_t r = 2 * (s % 2);
        aFrag.push_back(
            {wordFrag(vector::ExtractOp::create(b, shared[i], r)),
             wordFrag(vector::ExtractOp::create(b, shared[i], r + 1))});
      }
      for (int64_t j = 0; j < cfg.nt; ++j) {
        // Rows g (2j) and g + 8 (2j + 1) of N tile j.
        SmallVector<Value, 4> bFrag{bRegs[2 * j][2 * s], bRegs[2 * j + 1][2 * s],
                                    bRegs[2 * j][2 * s + 1],
                                    bRegs[2 * j + 1][2 * s + 1]};
        for (int64_t i = 0; i < cfg.mt; ++i) {
          mma(bFrag, aFrag[i],
              MutableArrayRef<Value>(sum).slice((j * cfg.mt + i) * 4, 4));
        }
      }
    }
    if (!window)
      return sum;
    // acc += RN(chunk * RN(RN(amaxA[m,w] * amaxB[n,w]) * c)), window w = c.
    SmallVector<Value> next(acc.begin(), acc.end());
    DenseMap<int64_t, Value> aAmax, bAmax;
    // The decode shift goes into the factor's constant (exact, see
    // gemmRestoreDecoded), not onto every sum.
    Value cShifted = gemmRestoreDecoded(b, loc, cConst, decodedOperands());
    for (int64_t slot = 0; slot < cfg.slots(); ++slot) {
      int64_t i = (slot / 4) % cfg.mt, j = slot / (4 * cfg.mt), k = slot % 4;
      int64_t ai = 2 * i + k % 2, bj = 2 * j + k / 2;
      if (!aAmax.count(ai) && !a16)
        aAmax[ai] = amaxA(accRow(e.idx(slot)), c);
      if (!bAmax.count(bj))
        bAmax[bj] = amaxB(accCol(e.idx(slot)), c);
      Value factor =
          gemmWindowFactor(b, loc, aAmax.lookup(ai), bAmax[bj], cShifted);
      next[slot] = m.add(acc[slot], m.mul(sum[slot], factor));
    }
    return next;
  }

  /// Operands decoded from NVFP4 (B, and A unless it is 16-bit).
  int64_t decodedOperands() const { return a16 ? 1 : 2; }

  /// Row of D (an index into M) of accumulator `slot` = (j mt + i) 4 + k:
  /// the mma's column 2t + k % 2 of M tile i. `slot` may be dynamic.
  Value accRow(Value slot) { return accRow(slot, t); }
  /// The same for the lane whose t is `lt`.
  Value accRow(Value slot, Value lt) {
    Value i = e.remI(e.divI(slot, 4), e.idx(cfg.mt));
    Value k = e.remI(slot, e.idx(2));
    return e.addI(rowBase, e.addI(e.mulI(i, e.idx(8)),
                                  e.addI(e.mulI(lt, e.idx(2)), k)));
  }
  /// Column of D (an index into N): the mma's row g + 8 (k / 2) of N tile j.
  Value accCol(Value slot) { return accCol(slot, g, colBase); }
  /// The same for the lane whose g is `lg` in the warp whose first column
  /// is `cb`.
  Value accCol(Value slot, Value lg, Value cb) {
    Value j = e.divI(slot, 4 * cfg.mt);
    Value k = e.remI(slot, e.idx(4));
    return e.addI(cb, e.addI(e.mulI(j, e.idx(16)),
                             e.addI(lg, e.mulI(e.divI(k, 2), e.idx(8)))));
  }
  Value clamp(Value r, Value limit) {
    return e.minI(r, arith::SubIOp::create(b, limit, e.idx(1)));
  }
  Value amaxA(Value row, Value w) {
    return gemmLoadAmax(b, loc, aRecipe, v.aAmax, clamp(row, M), w);
  }
  Value amaxB(Value col, Value w) {
    return gemmLoadAmax(b, loc, bRecipe, v.bAmax, clamp(col, N), w);
  }

  /// The block's result: the K slices' sums added in slice order, or
  /// the accumulators themselves without a K split, scaled and stored.
  void storeTile(ArrayRef<Value> acc) {
    if (cfg.kSplit == 1) {
      for (int64_t slot = 0; slot < cfg.slots(); ++slot)
        store(acc[slot], accRow(e.idx(slot)), accCol(e.idx(slot)));
      return;
    }
    stashSlices(acc);
    forEachSlotSum([&](Value slot, Value sum) {
      store(sum, accRow(slot), accCol(slot));
    });
  }

  /// Word `at` of the reduction buffer as f32, and stores into it: the
  /// buffer is f32, or i32 where it also holds shared A.
  Value getRed(Value at) {
    Value x = memref::LoadOp::create(b, smem[0], at);
    if (!x.getType().isF32())
      x = arith::BitcastOp::create(b, b.getF32Type(), x);
    return x;
  }
  void putRed(Value x, Value at) {
    Type element = cast<MemRefType>(smem[0].getType()).getElementType();
    if (x.getType() != element)
      x = arith::BitcastOp::create(b, element, x);
    memref::StoreOp::create(b, x, smem[0], at);
  }

  /// Writes every thread's accumulators to red[slot][thread] (neighbouring
  /// threads hit neighbouring banks).
  void stashSlices(ArrayRef<Value> acc) {
    // Shared A: the buffer holds the A stages until every warp is done.
    if (cfg.sharedA)
      gpu::BarrierOp::create(b);
    for (int64_t k = 0; k < cfg.slots(); ++k)
      putRed(acc[k], e.addI(e.idx(k * cfg.threads()), tid));
    if (cfg.kSplit > 1)
      gpu::BarrierOp::create(b);
  }

  /// After stashSlices: the threads of slice w add slots w, w + kSplit, ...
  /// over the slices in slice order (deterministic) and pass each sum, with
  /// its slot, to `fn`; the thread's own lane holds the slot's position in
  /// the tile.
  void forEachSlotSum(function_ref<void(Value slot, Value sum)> fn) {
    int64_t threads = cfg.threads();
    int64_t tileThreads = cfg.sliceThreads();
    Value inTile = e.remI(tid, e.idx(tileThreads));
    for (int64_t r = 0; r * cfg.kSplit < cfg.slots(); ++r) {
      Value slot = e.addI(kSlice, e.idx(r * cfg.kSplit));
      auto body = [&] {
        Value sum = m.f32(0.0f);
        for (int64_t slice = 0; slice < cfg.kSplit; ++slice)
          sum = m.add(sum, getRed(e.addI(e.mulI(slot, e.idx(threads)),
                                         e.addI(e.idx(slice * tileThreads),
                                                inTile))));
        fn(slot, sum);
      };
      if ((r + 1) * cfg.kSplit <= cfg.slots()) {
        body();
        continue;
      }
      auto inRange = scf::IfOp::create(
          b,
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, slot,
                                e.idx(cfg.slots())),
          false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(inRange.thenBlock()->getTerminator());
      body();
    }
  }

  /// Split K across a cluster of S CTAs, each holding its share's sums:
  /// every CTA leaves its block's sum of each accumulator (the slices added
  /// in slice order) at red[slot][position in the tile], the cluster meets
  /// at a barrier (release/acquire: the sums are visible), and each rank
  /// takes a contiguous share of the tile's slots x positions, adds the S
  /// ranks' sums in rank order through distributed shared memory (mapa,
  /// ld.shared::cluster), and scales and stores them. A second barrier
  /// keeps every CTA, and so its shared memory, alive until its peers have
  /// read it. The sum order depends on S alone: deterministic for a given
  /// S. With S = 1 (a launch without clusters) each thread reads back the
  /// sums it wrote itself (its own slots at its own position, the
  /// assignment of storeTile), so no barrier is needed and D gets the bytes
  /// storeTile would give; one copy of the epilogue serves both, where two
  /// made ptxas spill differently inside the W4A16 kernels' main loop.
  void reduceOverCluster(ArrayRef<Value> acc) {
    int64_t threads = cfg.threads();
    int64_t tileThreads = cfg.sliceThreads();
    stashSlices(acc);
    // A slot's column of slice 0 is read by the one thread that sums the
    // slot, which may then overwrite it. Without a K split the
    // accumulators already sit there.
    if (cfg.kSplit > 1) {
      Value inTile = e.remI(tid, e.idx(tileThreads));
      forEachSlotSum([&](Value slot, Value sum) {
        putRed(sum, e.addI(e.mulI(slot, e.idx(threads)), inTile));
      });
    }
    Value split = arith::CmpIOp::create(b, arith::CmpIPredicate::ugt,
                                        clusterSize, e.idx(1));
    auto clusterBarrier = [&] {
      auto ifOp = scf::IfOp::create(b, split, /*withElse=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      NVVM::ClusterArriveOp::create(b, b.getUnitAttr());
      NVVM::ClusterWaitOp::create(b, b.getUnitAttr());
    };
    clusterBarrier();

    MLIRContext *ctx = b.getContext();
    Type i32 = b.getI32Type(), i64 = b.getI64Type(), f32 = b.getF32Type();
    auto sharedPtr = LLVM::LLVMPointerType::get(ctx, 3);
    auto clusterPtr = LLVM::LLVMPointerType::get(ctx, 7);
    // The buffer's shared-window address, as nvvm.mapa takes it.
    Value redAddress = arith::IndexCastUIOp::create(
        b, i64, memref::ExtractAlignedPointerAsIndexOp::create(b, smem[0]));
    Value red = LLVM::IntToPtrOp::create(b, sharedPtr, redAddress);
    int64_t elements = cfg.slots() * tileThreads;
    Value total = e.idx(elements);
    Value perRank = ceilDivBy(total, clusterSize);
    Value begin = e.minI(e.mulI(clusterRank, perRank), total);
    Value end = e.minI(e.addI(begin, perRank), total);
    int64_t rounds = (elements + threads - 1) / threads;
    e.loop(e.idx(0), e.idx(rounds), [&](Value round) {
      Value el = e.addI(begin, e.addI(e.mulI(round, e.idx(threads)), tid));
      auto mine = scf::IfOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, el, end),
          false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(mine.thenBlock()->getTerminator());
      // Element el is slot el / tileThreads of the tile's thread at
      // position el % tileThreads (warp along N, lane).
      Value slot = e.divI(el, tileThreads);
      Value owner = e.remI(el, e.idx(tileThreads));
      Value at = e.addI(e.mulI(slot, e.idx(threads)), owner);
      Value word = LLVM::GEPOp::create(
          b, sharedPtr, f32, red,
          ValueRange{arith::IndexCastUIOp::create(b, i64, at)});
      auto fromRank = [&](Value rank) -> Value {
        Value remote = NVVM::MapaOp::create(
            b, clusterPtr, word, arith::IndexCastUIOp::create(b, i32, rank));
        return LLVM::LoadOp::create(b, f32, remote, /*alignment=*/4);
      };
      // Rank 0's sum: this CTA's own without a cluster.
      auto first = scf::IfOp::create(b, TypeRange{f32}, split,
                                     /*withElse=*/true);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(first.thenBlock());
        scf::YieldOp::create(b, fromRank(e.idx(0)));
        b.setInsertionPointToStart(first.elseBlock());
        scf::YieldOp::create(b, getRed(at));
      }
      SmallVector<Value> sum = e.loop(
          e.idx(1), clusterSize, ValueRange{first.getResult(0)},
          [&](Value rank, ValueRange partial) -> SmallVector<Value> {
            return {m.add(partial[0], fromRank(rank))};
          });
      Value ownerLane = e.remI(owner, e.idx(kWarp));
      Value ownerCols = e.addI(
          tileCol, e.mulI(e.divI(owner, kWarp), e.idx(16 * cfg.nt)));
      store(sum[0], accRow(slot, e.remI(ownerLane, e.idx(4))),
            accCol(slot, e.divI(ownerLane, 4), ownerCols));
    });
    clusterBarrier();
  }

  /// Scales D(row, col) (SPEC.md section 12) and stores it when in range.
  void store(Value acc, Value row, Value col) {
    Value inRange = arith::AndIOp::create(
        b,
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, M),
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, col, N));
    auto ifOp = scf::IfOp::create(b, inRange, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    Value aAmax, bAmax;
    if (!window) {
      if (!a16)
        aAmax = amaxA(row, {});
      bAmax = amaxB(col, {});
    }
    if (!window)
      acc = gemmRestoreDecoded(b, loc, acc, decodedOperands());
    storeGemmResult(e, op, v, acc, row, col, aAmax, bAmax, cConst);
  }

  LoweringBuilder &e;
  ImplicitLocOpBuilder &b;
  /// For the GemmNumerics functions, which take an OpBuilder and a Location.
  Location loc;
  NumericsBuilder &m;
  GemmOp op;
  const DirectConfig &cfg;
  GemmOperands v;
  SmallVector<Value, 1> smem;
  bool clusterSplit;
  RecipeAttr aRecipe, bRecipe;
  /// W4A16: A's element type (null for NVFP4 A); `bf16` when it is bf16.
  Type a16;
  bool bf16 = false;
  bool window = false;
  Value tid, sliceTid, lane, g, t, kSlice, M, N, numBlocks, cConst, rowBase,
      colBase, tileCol;
  /// With clusterSplit: %cluster_ctarank and %cluster_nctarank (index).
  Value clusterRank, clusterSize;
  Value aPtr, bPtr, aScalePtr, bScalePtr, aRowBytes, bRowBytes;
  SmallVector<Row> aRows, bRows;
};
} // namespace

namespace {
/// The kernel of configuration `cfg` for `op`, named after `prefix`;
/// `clusterSplit`: it may split K over the CTAs of a cluster.
gpu::GPUFuncOp buildDirectKernel(GemmOp op, gpu::GPUModuleOp module,
                                 StringRef prefix, TargetLeaves &leaves,
                                 const DirectConfig &cfg, bool clusterSplit) {
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  auto func =
      createGemmKernel(op, module, (prefix + "_gemm_" + cfg.name).str(),
                       cfg.threads(), {cfg.tileM(), cfg.tileN()}, cfg.maxM);
  Builder types(ctx);
  func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                types.getI32IntegerAttr(int32_t(cfg.minBlocksPerSM)));
  if (clusterSplit) {
    func->setAttr(kernel_attr::kGemmClusterSplit,
                  types.getI64IntegerAttr(kMaxGemmClusterSplit));
    // .maxclusterrank: a launch with a larger cluster fails instead of
    // running with ranks the kernel does not expect.
    func->setAttr(NVVM::NVVMDialect::getClusterMaxBlocksAttrName(),
                  types.getI32IntegerAttr(int32_t(kMaxGemmClusterSplit)));
  }
  SmallVector<Value, 1> smem;
  // The K slices' sums, and with a cluster each CTA's sums for its peers.
  int64_t reduction = cfg.kSplit > 1 || clusterSplit
                          ? cfg.slots() * cfg.threads()
                          : 0;
  if (cfg.sharedA)
    // Each K slice's two A stages, then the split sums (bitcast).
    smem.push_back(addGemmWorkgroupBuffer(
        func, std::max(cfg.kSplit * cfg.aSliceWords(), reduction),
        types.getI32Type()));
  else if (reduction)
    smem.push_back(
        addGemmWorkgroupBuffer(func, reduction, types.getF32Type()));
  auto b = ImplicitLocOpBuilder::atBlockBegin(loc, &func.getBody().front());
  {
    LoweringBuilder e(b, &leaves);
    emitGemmBody(e, func, op, cfg.tileM(), cfg.tileN(),
                 [&](const GemmOperands &v) {
                   DirectEmitter(e, op, cfg, v, smem, clusterSplit).emit();
                 });
  }
  gpu::ReturnOp::create(b);
  return func;
}
} // namespace

void mlir::nvfp4::detail::buildDirectMatmulKernels(GemmOp op,
                                                   gpu::GPUModuleOp module,
                                                   StringRef prefix,
                                                   TargetLeaves &leaves,
                                                   ImplicitLocOpBuilder &host,
                                                   StringRef chip) {
  Location loc = op.getLoc();
  LoweringBuilder he(host);
  Value M, N;
  std::tie(M, N) = gemmHostShape(he, op);
  bool window = gemmScaleClass(op.getARecipe(), op.getBRecipe()) ==
                GemmScaleClass::Window;
  // Split K over a cluster where the chip has clusters; a grouped op's
  // tiles are found per block from the splits and keep one CTA each.
  std::optional<ChipInfo> chipInfo = lookupChip(chip);
  bool clusterSplit =
      !op.grouped() && chipInfo && chipInfo->threadBlockClusters;
  for (const DirectConfig &cfg : directConfigs(window, bool(op.a16()))) {
    auto func =
        buildDirectKernel(op, module, prefix, leaves, cfg, clusterSplit);

    // `scf.if M <= maxM` picks the configuration on the host.
    Value fits = arith::CmpIOp::create(host, arith::CmpIPredicate::ule, M,
                                       he.idx(cfg.maxM));
    auto ifOp = scf::IfOp::create(host, fits, /*withElse=*/true);
    auto at = ImplicitLocOpBuilder::atBlockTerminator(loc, ifOp.thenBlock());
    launchGemmKernel(at, func, op, M, N, cfg.tileM(), cfg.tileN(),
                     cfg.threads(), /*dynamicSmem=*/Value());
    host.setInsertionPoint(ifOp.elseBlock()->getTerminator());
  }
}

void mlir::nvfp4::detail::buildMatmulW4A16Kernels(MatmulW4A16Op op,
                                                  gpu::GPUModuleOp module,
                                                  StringRef prefix,
                                                  TargetLeaves &leaves,
                                                  StringRef chip,
                                                  bool predecoded) {
  ImplicitLocOpBuilder host(op.getLoc(), op.getOperation());
  buildDirectMatmulKernels(op, module, prefix, leaves, host, chip);
  if (chip == "sm_90a")
    return buildWgmmaMatmulW4A16Kernel(op, module, prefix, leaves, host,
                                       predecoded);
  // M > 256: the medium_m kernel over every 32-row tile of M. Correct for
  // any M (its grid covers D), it re-decodes B once per 32 rows, which is
  // what a pipelined large-M kernel would avoid.
  bool window =
      gemmScaleClass({}, op.getBRecipe()) == GemmScaleClass::Window;
  DirectConfig any = directConfigs(window, /*a16=*/true).back();
  any.name = "medium_any_m";
  any.maxM = 0;
  // Any M: the grid has tiles enough, no cluster split.
  auto func = buildDirectKernel(op, module, prefix, leaves, any,
                                /*clusterSplit=*/false);
  LoweringBuilder he(host);
  Value M, N;
  std::tie(M, N) = gemmHostShape(he, op);
  launchGemmKernel(host, func, op, M, N, any.tileM(), any.tileN(),
                   any.threads(), /*dynamicSmem=*/Value());
}
