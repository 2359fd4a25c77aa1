//===- MatmulSm120.cpp - nvfp4.matmul on consumer Blackwell FP4 MMA -------===//
//
// The GEMM of the sm_120 family (sm_120a/f, sm_121a/f: RTX 50, RTX PRO,
// DGX Spark), which has FP4 tensor cores but no tcgen05: its block-scaled
// MMA is the warp-level
//
//   mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale
//       .scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
//
// (MLIR's `nvvm.mma.block_scale`), which consumes the NVFP4 operands as
// they are stored: packed E2M1 data and one E4M3 scale per 16-block, with
// nothing dequantized in software. One MMA covers a 64-wide K step, which
// is one 1x64 window and one 4-byte row of a 128x4 scale atom.
//
// Fragments (PTX ISA "Matrix fragments for mma.m16n8k64" with .e2m1;
// CUTLASS cute/atom/mma_traits_sm120.hpp, SM120_16x8x64_TN_VS): lane
// (g, t) = (lane / 4, lane % 4) holds
//  * A: four 32-bit words of 8 E2M1 codes each, element k of a word in
//    bits 4k..4k+3: rows g, g + 8, g, g + 8 of the 16-row tile at K offsets
//    8t, 8t, 32 + 8t, 32 + 8t of the step. `nvfp4.quantize` packs element
//    2j in the low nibble of byte j, so each word is one aligned 32-bit load
//    of the row at byte 4t (or 16 + 4t) of the step's 32 bytes;
//  * B: two words, row g of the 8-row tile of B (a column of D) at K
//    offsets 8t and 32 + 8t: the same loads;
//  * scale A: the four E4M3 scales (byte j: the step's 16-block j) of
//    tile row 8 (lane % 2) + lane / 4 (cute's SFALayout: lanes 2 apart
//    repeat, so the thread-id selector 0 reads the same values as 1);
//  * scale B: the four scales of tile row g (SFBLayout);
//  * D: rows g and g + 8, columns 2t and 2t + 1 (the m16n8 layout of the
//    other mma.sync kernels).
// In the 128x4 layout the four scales of row r for 16-blocks 4s..4s+3 are
// the bytes (r % 32) * 16 + ((r % 128) / 32) * 4 .. + 3 of atom
// (r / 128, s): one aligned 32-bit load gives the scale operand, byte j
// for block 4s + j, with byte-id selector 0.
//
// Schedule: 2 x 2 warps of 32 x 32 (two 16-row tiles of A, four 8-row tiles
// of B each), a 64 x 64 tile of D per 128-thread block, fragments loaded
// from global memory each step (no shared memory). M <= 256 keeps the
// direct mma.sync kernels (MatmulDirect.cpp), whose K split fills the SMs
// at decode sizes; this kernel serves larger M.
//
// Numerics: the epilogue is GemmNumerics' (storeGemmResult), as in every
// kernel. Window (1x64) operands: each step's MMA starts from zero and its
// result is promoted with gemmWindowFactor before it joins the sum, as the
// mma.sync kernels promote each 64-wide chunk. Ragged shapes: rows of A and
// B past M and N are clamped on load (they only reach rows and columns of
// D that are not stored) and masked on store; words past the end of K are
// zero and so are their scale bytes (padding of the 128x4 layout is never
// read as a scale of data). K must be a multiple of 16 (kHalf % 8 == 0),
// as for every GEMM kernel: each 32-bit load is aligned.
//
// Only assembled (ptxas -arch=sm_120a/sm_121a) and read: no sm_120 GPU
// has run it (docs/Verification.md).
//
//===----------------------------------------------------------------------===//

#include "MatmulToGPU.h"

#include "nvfp4/Conversion/QuantizeEmitter.h"
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
constexpr int64_t kStepBytes = 32; ///< a row's bytes of one 64-wide K step
constexpr int64_t kMi = 2;         ///< 16-row tiles of A per warp
constexpr int64_t kNi = 4;         ///< 8-row tiles of B per warp
constexpr int64_t kWarpsM = 2, kWarpsN = 2;
constexpr int64_t kTileM = 16 * kMi * kWarpsM;
constexpr int64_t kTileN = 8 * kNi * kWarpsN;
constexpr int64_t kThreads = kWarp * kWarpsM * kWarpsN;
constexpr int64_t kAccPerLane = kMi * kNi * 4;

class Sm120Emitter {
public:
  Sm120Emitter(LoweringBuilder &e, MatmulOp op, const GemmOperands &v)
      : e(e), b(e.builder()), loc(e.location()), m(e.math()), op(op), v(v) {}

  void emit() {
    aRecipe = op.getARecipe();
    bRecipe = op.getBRecipe();
    window = gemmScaleClass(aRecipe, bRecipe) == GemmScaleClass::Window;

    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value warp = e.divI(tid, kWarp);
    Value lane = e.remI(tid, e.idx(kWarp));
    g = e.divI(lane, 4);
    t = e.remI(lane, e.idx(4));
    M = e.dim(v.aData, 0);
    N = e.dim(v.bData, 0);
    kHalf = e.dim(v.aData, 1);
    numBlocks = e.divI(kHalf, 8);
    Value tileRow, tileCol;
    std::tie(tileRow, tileCol) = gemmTile(e, v, N, kTileM, kTileN);
    rowBase = e.addI(tileRow, e.mulI(e.divI(warp, kWarpsN), e.idx(16 * kMi)));
    colBase =
        e.addI(tileCol, e.mulI(e.remI(warp, e.idx(kWarpsN)), e.idx(8 * kNi)));
    cConst = gemmC(b, loc, aRecipe, bRecipe);
    aScaleFlat = e.flatView(v.aScale);
    bScaleFlat = e.flatView(v.bScale);

    // Rows this lane reads, clamped into range (see the file comment).
    Value sfaRow = e.addI(e.mulI(e.remI(lane, e.idx(2)), e.idx(8)), g);
    for (int64_t i = 0; i < kMi; ++i) {
      Value tile = e.addI(rowBase, e.idx(16 * i));
      aRows.push_back(clamp(e.addI(tile, g), M));
      aRows.push_back(clamp(e.addI(tile, e.addI(g, e.idx(8))), M));
      aScaleRows.push_back(clamp(e.addI(tile, sfaRow), M));
    }
    for (int64_t j = 0; j < kNi; ++j)
      bRows.push_back(clamp(e.addI(colBase, e.addI(g, e.idx(8 * j))), N));

    SmallVector<Value> init(kAccPerLane, m.f32(0.0f));
    SmallVector<Value> acc =
        e.loop(e.idx(0), e.ceilDivI(numBlocks, 4), init,
               [&](Value s, ValueRange carried) { return step(s, carried); });
    epilogue(acc);
  }

private:
  Value clamp(Value r, Value limit) {
    return e.minI(r, arith::SubIOp::create(b, limit, e.idx(1)));
  }

  /// The 32-bit word at byte `offset` of `flat`-indexed `memref` (rank 1:
  /// a flat scale view; rank 2: a data row `row`), 4-byte aligned.
  Value loadWord(Value memref, ValueRange indices) {
    Type element = cast<MemRefType>(memref.getType()).getElementType();
    Value bytes = vector::LoadOp::create(
        b, VectorType::get({4}, element), memref, indices,
        /*nontemporal=*/false, llvm::MaybeAlign(4));
    Value word = vector::BitCastOp::create(
        b, VectorType::get({1}, b.getI32Type()), bytes);
    return vector::ExtractOp::create(b, word, 0);
  }

  /// Data word `h` (K offset 8t + 32h of step `s`) of row `row`: zero past
  /// the end of K (the address is clamped to the row's first word).
  Value dataWord(Value data, Value row, Value s, int64_t h) {
    Value blk = e.addI(e.mulI(s, e.idx(4)), e.addI(e.divI(t, 2), e.idx(2 * h)));
    Value valid =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, blk, numBlocks);
    Value offset = e.addI(e.mulI(s, e.idx(kStepBytes)),
                          e.addI(e.mulI(t, e.idx(4)), e.idx(16 * h)));
    offset = arith::SelectOp::create(b, valid, offset, e.idx(0));
    return m.select(valid, loadWord(data, {row, offset}), m.i32(0));
  }

  /// The scale operand of row `row` for step `s`: its four 128x4 scale
  /// bytes of 16-blocks 4s..4s+3, the bytes of blocks past K zeroed by
  /// `tailMask`.
  Value scaleWord(Value flat, Value row, Value s, Value tailMask) {
    Value offset = m.scaleOffset(ScaleLayout::Swizzle128x4, row,
                                 e.mulI(s, e.idx(4)), numBlocks);
    return arith::AndIOp::create(b, loadWord(flat, {offset}), tailMask);
  }

  /// One 64-wide K step (window `s`) over the warp's tiles.
  SmallVector<Value> step(Value s, ValueRange acc) {
    // Bytes of the scale words that belong to real 16-blocks: all four
    // except in a last, partial step.
    Value left = arith::SubIOp::create(b, numBlocks, e.mulI(s, e.idx(4)));
    Value full =
        arith::CmpIOp::create(b, arith::CmpIPredicate::uge, left, e.idx(4));
    // 1..3 blocks left: the low 8, 16 or 24 bits (the shift stays below 32).
    Value bits = arith::IndexCastUIOp::create(
        b, b.getI32Type(), e.mulI(e.minI(left, e.idx(3)), e.idx(8)));
    Value partial = arith::SubIOp::create(
        b, arith::ShLIOp::create(b, m.i32(1), bits), m.i32(1));
    Value tailMask = m.select(full, m.i32(-1), partial);

    SmallVector<SmallVector<Value, 4>> aFrag(kMi);
    SmallVector<Value> aScale, bScale;
    for (int64_t i = 0; i < kMi; ++i) {
      for (int64_t h = 0; h < 2; ++h)
        for (int64_t half = 0; half < 2; ++half)
          aFrag[i].push_back(dataWord(v.aData, aRows[2 * i + half], s, h));
      aScale.push_back(scaleWord(aScaleFlat, aScaleRows[i], s, tailMask));
    }
    SmallVector<SmallVector<Value, 2>> bFrag(kNi);
    for (int64_t j = 0; j < kNi; ++j) {
      for (int64_t h = 0; h < 2; ++h)
        bFrag[j].push_back(dataWord(v.bData, bRows[j], s, h));
      bScale.push_back(scaleWord(bScaleFlat, bRows[j], s, tailMask));
    }

    SmallVector<Value> sum(acc.begin(), acc.end());
    if (window)
      sum.assign(kAccPerLane, m.f32(0.0f));
    for (int64_t i = 0; i < kMi; ++i)
      for (int64_t j = 0; j < kNi; ++j)
        mma(aFrag[i], aScale[i], bFrag[j], bScale[j],
            MutableArrayRef<Value>(sum).slice((i * kNi + j) * 4, 4));
    if (!window)
      return sum;

    // Step s is window s.
    return accumulators().promote(SmallVector<Value>(acc), sum, s);
  }

  /// acc = A x B + acc on one 16 x 8 tile, scales applied by the tensor
  /// core (byte-id and thread-id selectors 0: see the file comment).
  void mma(ArrayRef<Value> a, Value sfa, ArrayRef<Value> bFrag, Value sfb,
           MutableArrayRef<Value> acc) {
    Type f32 = b.getF32Type();
    auto resultType =
        LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
    Value zero16 = arith::ConstantOp::create(b, b.getI16IntegerAttr(0));
    auto op = NVVM::MmaBlockScaleOp::create(
        b, resultType, a, bFrag, ValueRange(ArrayRef<Value>(acc)), sfa, zero16,
        zero16, sfb, zero16, zero16, ArrayRef<int64_t>{16, 8, 64},
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::e2m1,
                                      NVVM::MMATypes::e2m1},
        NVVM::ScaleVecSize::X4, NVVM::BlockScaleFormat::UE4M3,
        NVVM::MMABlockScaleKind::MXF4NVF4);
    for (int64_t k = 0; k < 4; ++k)
      acc[k] = LLVM::ExtractValueOp::create(b, op, k);
  }

  /// The lane's accumulators (the D fragment of every mma.sync shape).
  MmaAccumulators accumulators() {
    // The block-scaled MMA reads the operands as stored: nothing decoded.
    return {e,      op, v, kMi, kNi, rowBase, colBase, g, t, M, N,
            cConst, /*decodedOperands=*/0};
  }

  /// Scales each accumulator (GemmNumerics' epilogue) and stores the ones
  /// inside D.
  void epilogue(ArrayRef<Value> acc) { accumulators().store(acc, window); }

  LoweringBuilder &e;
  ImplicitLocOpBuilder &b;
  Location loc;
  NumericsBuilder &m;
  MatmulOp op;
  GemmOperands v;
  RecipeAttr aRecipe, bRecipe;
  bool window = false;
  Value g, t, M, N, kHalf, numBlocks, rowBase, colBase, cConst;
  Value aScaleFlat, bScaleFlat;
  SmallVector<Value> aRows, aScaleRows, bRows;
};
} // namespace

LogicalResult mlir::nvfp4::detail::buildSm120MatmulKernel(
    MatmulOp op, gpu::GPUModuleOp module, StringRef prefix,
    TargetLeaves &leaves, ImplicitLocOpBuilder &host) {
  auto func = createGemmKernel(op, module, (prefix + "_gemm_sm120").str(),
                               kThreads, {kTileM, kTileN}, /*maxM=*/0);
  auto b =
      ImplicitLocOpBuilder::atBlockBegin(op.getLoc(), &func.getBody().front());
  {
    LoweringBuilder e(b, &leaves);
    Sm120Emitter(e, op, gemmKernelOperands(func, op)).emit();
  }
  gpu::ReturnOp::create(b);

  LoweringBuilder he(host);
  Value M, N;
  std::tie(M, N) = gemmHostShape(he, op);
  launchGemmKernel(host, func, op, M, N, kTileM, kTileN, kThreads,
                   /*dynamicSmem=*/Value());
  return success();
}
