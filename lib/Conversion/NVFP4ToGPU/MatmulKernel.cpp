//===- MatmulKernel.cpp - The shell every GEMM kernel shares --------------===//
//
// The parts of a GEMM kernel that do not depend on its schedule: the
// gpu.func with the attributes the runtime reads (nvfp4.work,
// nvfp4.gemm_tile, nvfp4.gemm_max_m), its workgroup buffers, the operands
// among its arguments, the launch, and the scaled store of one result.
// The mma.sync/wgmma (MatmulToGPU.cpp), direct (MatmulDirect.cpp),
// tcgen05 (MatmulTcgen05.cpp) and sm_120 block-scaled (MatmulSm120.cpp)
// kernels build their bodies between these;
// a grouped op's kernels run the same bodies on one group's views
// (MatmulGrouped.cpp).
//
//===----------------------------------------------------------------------===//

#include "MatmulToGPU.h"

#include "nvfp4/Conversion/QuantizeEmitter.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
#include "nvfp4/Numerics/GemmNumerics.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::nvfp4;
using namespace mlir::nvfp4::detail;

namespace {
/// `fn` applied to `op` as the op it is.
template <typename Fn> auto visitGemm(Operation *op, Fn fn) {
  if (auto grouped = dyn_cast<GroupedMatmulOp>(op))
    return fn(grouped);
  if (auto w4a16 = dyn_cast<MatmulW4A16Op>(op))
    return fn(w4a16);
  return fn(cast<MatmulOp>(op));
}
} // namespace

RecipeAttr GemmOp::getARecipe() const {
  return visitGemm(op, [](auto x) {
    if constexpr (std::is_same_v<decltype(x), MatmulW4A16Op>)
      return RecipeAttr();
    else
      return x.getARecipe();
  });
}
Type GemmOp::a16() const {
  auto w4a16 = dyn_cast<MatmulW4A16Op>(op);
  return w4a16 ? w4a16.getA().getType().getElementType() : Type();
}
RecipeAttr GemmOp::getBRecipe() const {
  return visitGemm(op, [](auto x) { return x.getBRecipe(); });
}
APFloat GemmOp::getAlpha() const {
  return visitGemm(op, [](auto x) { return x.getAlpha(); });
}
Value GemmOp::getAData() const {
  return visitGemm(op, [](auto x) -> Value {
    if constexpr (std::is_same_v<decltype(x), MatmulW4A16Op>)
      return x.getA();
    else
      return x.getAData();
  });
}
Value GemmOp::getBData() const {
  return visitGemm(op, [](auto x) { return x.getBData(); });
}
Value GemmOp::getBias() const {
  return visitGemm(op, [](auto x) -> Value { return x.getBias(); });
}

gpu::GPUFuncOp
mlir::nvfp4::detail::createGemmKernel(GemmOp op, gpu::GPUModuleOp module,
                                      StringRef name, int64_t threads,
                                      ArrayRef<int64_t> tile, int64_t maxM) {
  return createGemmKernel(op, module, name, threads, tile, maxM, {});
}

gpu::GPUFuncOp mlir::nvfp4::detail::createGemmKernel(
    GemmOp op, gpu::GPUModuleOp module, StringRef name, int64_t threads,
    ArrayRef<int64_t> tile, int64_t maxM, ArrayRef<GemmTensorMap> maps,
    ArrayRef<Type> extraArgs) {
  MLIRContext *ctx = op.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  // The operands, the extra memrefs, then one `!llvm.ptr` per tensor map.
  SmallVector<Type> args(op->getOperandTypes());
  llvm::append_range(args, extraArgs);
  SmallVector<Attribute> declared;
  for (const GemmTensorMap &map : maps) {
    declared.push_back(TensorMapAttr::get(ctx, args.size(), map.operand,
                                          map.box, map.swizzle));
    args.push_back(LLVM::LLVMPointerType::get(ctx));
  }
  auto type = FunctionType::get(ctx, args, {});
  auto func = gpu::GPUFuncOp::create(b, op.getLoc(), name, type);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));
  func->setAttr(kernel_attr::kWork,
                b.getStringAttr(stringifyKernelWork(
                    op.grouped() ? KernelWork::GroupedGemm : KernelWork::Gemm)));
  func->setAttr(kernel_attr::kGemmTile, b.getDenseI64ArrayAttr(tile));
  func->setAttr(kernel_attr::kGemmMaxM, b.getI64IntegerAttr(maxM));
  if (!declared.empty())
    func->setAttr(kernel_attr::kTensorMaps, b.getArrayAttr(declared));
  return func;
}

gpu::GPUFuncOp mlir::nvfp4::detail::createTmaGemmKernel(
    MatmulOp op, gpu::GPUModuleOp module, StringRef name, int64_t threads,
    int64_t tileM, int64_t tileN, int64_t boxRowBytes, int64_t swizzle) {
  GemmTensorMap maps[] = {
      {op.getADataMutable().getOperandNumber(), {boxRowBytes, tileM}, swizzle},
      {op.getBDataMutable().getOperandNumber(), {boxRowBytes, tileN}, swizzle}};
  gpu::GPUFuncOp func = createGemmKernel(op, module, name, threads,
                                         {tileM, tileN}, /*maxM=*/0, maps);
  func->setAttr(kernel_attr::kBulkCopyOperands,
                DenseI64ArrayAttr::get(
                    op.getContext(),
                    {int64_t(op.getAScaleMutable().getOperandNumber()),
                     int64_t(op.getBScaleMutable().getOperandNumber())}));
  return func;
}

gpu::GPUFuncOp mlir::nvfp4::detail::createWorkspaceGemmKernel(
    GemmOp op, gpu::GPUModuleOp module, StringRef name, int64_t threads,
    ArrayRef<int64_t> tile) {
  // The workspaces are the kernel's memrefs after the operands: the maps
  // name them by that index (a runtime encodes them over the workspace
  // buffers it passes there). Boxes of one 64-wide chunk of 16-bit
  // elements, 128 bytes, the 128-byte swizzle wgmma reads.
  int64_t operands = op->getNumOperands();
  GemmTensorMap maps[] = {
      {operands, {kGemmChunkBytes16, tile[0]}, kGemmChunkBytes16},
      {operands + 1, {kGemmChunkBytes16, tile[1]}, kGemmChunkBytes16}};
  gpu::GPUFuncOp func = createGemmKernel(op, module, name, threads, tile,
                                         /*maxM=*/0, maps,
                                         gemmWorkspaceTypes(op));
  func->setAttr(kernel_attr::kGemmWorkspace, UnitAttr::get(op.getContext()));
  return func;
}

SmallVector<Value, 2> mlir::nvfp4::detail::gemmWorkspaceArgs(gpu::GPUFuncOp func,
                                                             GemmOp op) {
  unsigned operands = op->getNumOperands();
  assert(func.getNumArguments() >= operands + 2 &&
         "a workspace kernel takes the operands and two workspaces");
  return {func.getArgument(operands), func.getArgument(operands + 1)};
}

SmallVector<Value> mlir::nvfp4::detail::gemmTensorMapArgs(gpu::GPUFuncOp func,
                                                          GemmOp op) {
  // The maps are the kernel's last arguments.
  auto maps = func->getAttrOfType<ArrayAttr>(kernel_attr::kTensorMaps);
  size_t count = maps ? maps.size() : 0;
  return SmallVector<Value>(
      func.getArguments().take_back(count));
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
                                                     GemmOp op) {
  // Workgroup attributions follow the operands among the block arguments.
  auto args =
      func.getBody().front().getArguments().take_front(op->getNumOperands());
  Value splits;
  if (op.grouped()) {
    splits = args.front();
    args = args.drop_front();
  }
  // W4A16: a, b data, scale, amax, [bias], output; no A scale or amax.
  if (op.a16())
    return {args[0],
            /*aScale=*/Value(),
            /*aAmax=*/Value(),
            args[1],
            args[2],
            args[3],
            op.getBias() ? args[4] : Value(),
            args.back(),
            /*splits=*/Value(),
            /*tileRow=*/Value(),
            /*tileCol=*/Value()};
  return {args[0],
          args[1],
          args[2],
          args[3],
          args[4],
          args[5],
          op.getBias() ? args[6] : Value(),
          args.back(),
          splits,
          /*tileRow=*/Value(),
          /*tileCol=*/Value()};
}

std::pair<Value, Value> mlir::nvfp4::detail::gemmHostShape(LoweringBuilder &he,
                                                           GemmOp op) {
  // A grouped B is G x N x K/2.
  return {he.dim(op.getAData(), 0),
          he.dim(op.getBData(), op.grouped() ? 1 : 0)};
}

void mlir::nvfp4::detail::launchGemmKernel(ImplicitLocOpBuilder &at,
                                           gpu::GPUFuncOp func, GemmOp op,
                                           Value M, Value N, int64_t tileM,
                                           int64_t tileN, int64_t threads,
                                           Value dynamicSmem,
                                           ArrayRef<Value> workspaces) {
  LoweringBuilder le(at);
  Value one = le.idx(1);
  // Each group may end in a partial tile row of its own (empty groups own
  // none): ceil(M / tileM) + G rows of tiles serve any splits, and the
  // blocks no group owns exit at once.
  auto groups = [&] { return le.dim(op.grouped().getSplits(), 0); };
  GemmTileGrid<Value> grid =
      gemmTileGrid(le, M, N, tileM, tileN,
                   op.grouped() ? function_ref<Value()>(groups) : nullptr);
  SmallVector<Value> args(op->getOperands());
  args.append(workspaces.begin(), workspaces.end());
  for (unsigned i = args.size(); i < func.getNumArguments(); ++i)
    args.push_back(LLVM::ZeroOp::create(at, func.getArgument(i).getType()));
  gpu::LaunchFuncOp::create(at, func,
                            {le.mulI(grid.tileCols, grid.tileRows), one, one},
                            {le.idx(threads), one, one}, dynamicSmem, args);
}

void mlir::nvfp4::detail::emitGemmBody(
    LoweringBuilder &e, gpu::GPUFuncOp func, GemmOp op, int64_t tileM,
    int64_t tileN, function_ref<void(const GemmOperands &)> tileBody) {
  GemmOperands v = gemmKernelOperands(func, op);
  if (op.grouped()) {
    emitGroupedGemmBody(e, v, op, tileM, tileN, tileBody);
    return;
  }
  tileBody(v);
}

std::pair<Value, Value> mlir::nvfp4::detail::gemmTile(LoweringBuilder &e,
                                                      const GemmOperands &v,
                                                      Value N, int64_t tileM,
                                                      int64_t tileN) {
  if (v.tileRow)
    return {v.tileRow, v.tileCol};
  return gemmBlockTile(e, N, tileM, tileN);
}

Value mlir::nvfp4::detail::gemmBaseAddress(ImplicitLocOpBuilder &b,
                                           Value memref) {
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, memref);
  auto type = cast<MemRefType>(memref.getType());
  // A kernel argument starts at its aligned pointer (the identity layout
  // has offset 0): reading the descriptor's offset would cost a parameter.
  if (type.getLayout().isIdentity())
    return base;
  Value offset =
      memref::ExtractStridedMetadataOp::create(b, memref).getOffset();
  int64_t bytes = type.getElementTypeBitWidth() / 8;
  if (bytes != 1)
    offset = arith::MulIOp::create(
        b, offset, arith::ConstantIndexOp::create(b, bytes));
  return arith::AddIOp::create(b, base, offset);
}

std::pair<Value, Value> mlir::nvfp4::detail::gemmBlockTile(LoweringBuilder &e,
                                                           Value N,
                                                           int64_t tileM,
                                                           int64_t tileN,
                                                           Value blocksPerTile) {
  Value bid =
      gpu::BlockIdOp::create(e.builder(), e.location(), gpu::Dimension::x);
  if (blocksPerTile)
    bid = e.divI(bid, blocksPerTile);
  Value tilesN = e.ceilDivI(N, tileN);
  Value row = e.mulI(e.divI(bid, tilesN), e.idx(tileM));
  Value col = e.mulI(e.remI(bid, tilesN), e.idx(tileN));
  return {row, col};
}

std::pair<Value, Value>
mlir::nvfp4::detail::gemmBandedTile(LoweringBuilder &e, Value tile, Value M,
                                    Value N, int64_t tileM, int64_t tileN) {
  GemmTileIndex<Value> t = mlir::nvfp4::gemmBandedTile(
      e, tile, gemmTileGrid(e, M, N, tileM, tileN));
  return {e.mulI(t.row, e.idx(tileM)), e.mulI(t.col, e.idx(tileN))};
}

Value mlir::nvfp4::detail::f16x2AsI32(ImplicitLocOpBuilder &b, Value f16x2) {
  Value word = vector::BitCastOp::create(
      b, VectorType::get({1}, b.getI32Type()), f16x2);
  return vector::ExtractOp::create(b, word, 0);
}

Value mlir::nvfp4::detail::i32AsF16x2(ImplicitLocOpBuilder &b, Value i32) {
  Value word = vector::BroadcastOp::create(
      b, VectorType::get({1}, b.getI32Type()), i32);
  return vector::BitCastOp::create(b, VectorType::get({2}, b.getF16Type()),
                                   word);
}

namespace {
/// One m16n8k16 mma.sync of `type` fragments with f32 accumulators.
void mmaSync16(ImplicitLocOpBuilder &b, NVVM::MMATypes type, ValueRange a,
               ValueRange bFrag, MutableArrayRef<Value> acc) {
  Type f32 = b.getF32Type();
  auto resultType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  auto mma = NVVM::MmaOp::create(
      b, resultType, a, bFrag, ValueRange(ArrayRef<Value>(acc)),
      ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  for (int64_t k = 0; k < 4; ++k)
    acc[k] = LLVM::ExtractValueOp::create(b, mma, k);
}
} // namespace

void mlir::nvfp4::detail::mmaSyncF16(ImplicitLocOpBuilder &b, ValueRange a,
                                     ValueRange bFrag,
                                     MutableArrayRef<Value> acc) {
  mmaSync16(b, NVVM::MMATypes::f16, a, bFrag, acc);
}

void mlir::nvfp4::detail::mmaSyncBF16(ImplicitLocOpBuilder &b, ValueRange a,
                                      ValueRange bFrag,
                                      MutableArrayRef<Value> acc) {
  mmaSync16(b, NVVM::MMATypes::bf16, a, bFrag, acc);
}

void mlir::nvfp4::detail::storeGemmResult(LoweringBuilder &e, GemmOp op,
                                          const GemmOperands &v, Value acc,
                                          Value row, Value col, Value aAmax,
                                          Value bAmax, Value cConst) {
  ImplicitLocOpBuilder &b = e.builder();
  Location loc = e.location();
  Value bias;
  if (v.bias)
    bias = memref::LoadOp::create(b, v.bias, col);
  Value d = gemmEpilogue(b, loc, op.getARecipe(), op.getBRecipe(), acc, aAmax,
                         bAmax, cConst, op.getAlpha().convertToFloat(), bias);
  e.storeValue(d, v.out, {row, col});
}

void MmaAccumulators::forEach(
    function_ref<void(int64_t, int64_t, int64_t)> fn) const {
  for (int64_t i = 0; i < mi; ++i)
    for (int64_t j = 0; j < ni; ++j)
      for (int64_t k = 0; k < 4; ++k)
        fn((i * ni + j) * 4 + k, 2 * i + k / 2, 2 * j + k % 2);
}

Value MmaAccumulators::row(int64_t ai) const {
  return e.addI(rowBase, e.addI(g, e.idx(16 * (ai / 2) + 8 * (ai % 2))));
}

Value MmaAccumulators::col(int64_t bj) const {
  return e.addI(colBase,
                e.addI(e.mulI(t, e.idx(2)), e.idx(8 * (bj / 2) + bj % 2)));
}

namespace {
Value clampIndex(LoweringBuilder &e, Value r, Value limit) {
  return e.minI(r, arith::SubIOp::create(e.builder(), limit, e.idx(1)));
}
} // namespace

Value MmaAccumulators::amaxA(int64_t ai, Value w) const {
  if (op.a16()) // W4A16: A has no outer scale
    return {};
  return gemmLoadAmax(e.builder(), e.location(), op.getARecipe(), v.aAmax,
                      clampIndex(e, row(ai), M), w);
}

Value MmaAccumulators::amaxB(int64_t bj, Value w) const {
  return gemmLoadAmax(e.builder(), e.location(), op.getBRecipe(), v.bAmax,
                      clampIndex(e, col(bj), N), w);
}

SmallVector<Value>
mlir::nvfp4::detail::gemmPermuteA16Block(ImplicitLocOpBuilder &b,
                                         ArrayRef<Value> words) {
  // One byte permute per register: selector 0x5410 takes the low halves of
  // (lo, hi), 0x7632 the high halves. Written as masks and shifts, ptxas
  // kept LOP3/SHF pairs instead.
  auto i32 = [&](uint32_t x) {
    return arith::ConstantIntOp::create(b, b.getI32Type(), int64_t(int32_t(x)));
  };
  SmallVector<Value> regs;
  for (int64_t q = 0; q < 2; ++q)
    for (int64_t i = 0; i < 4; ++i) {
      // Elements 8q + i and 8q + i + 4: the low (i even) or high halves of
      // words 4q + i / 2 and 4q + i / 2 + 2.
      Value lo = words[4 * q + i / 2], hi = words[4 * q + i / 2 + 2];
      regs.push_back(NVVM::PermuteOp::create(
          b, b.getI32Type(), lo, hi, i32(i % 2 == 0 ? 0x5410 : 0x7632),
          NVVM::PermuteMode::DEFAULT));
    }
  return regs;
}

SmallVector<Value> MmaAccumulators::promote(ArrayRef<Value> acc,
                                            ArrayRef<Value> part,
                                            Value w) const {
  return promote(acc, part, loadWindow(w));
}

MmaAccumulators::WindowAmaxes MmaAccumulators::loadWindow(Value w) const {
  WindowAmaxes amax;
  for (int64_t ai = 0; ai < 2 * mi; ++ai)
    amax.a.push_back(amaxA(ai, w));
  for (int64_t bj = 0; bj < 2 * ni; ++bj)
    amax.b.push_back(amaxB(bj, w));
  return amax;
}

SmallVector<Value>
MmaAccumulators::promote(ArrayRef<Value> acc, ArrayRef<Value> part,
                         const WindowAmaxes &amax) const {
  // acc += RN(part * RN(RN(amaxA[i,w] * amaxB[j,w]) * c)), with the
  // decode shift in c (exact, see gemmRestoreDecoded), not on every part.
  NumericsBuilder &m = e.math();
  SmallVector<Value> next(acc.begin(), acc.end());
  Value c = gemmRestoreDecoded(e.builder(), e.location(), cConst,
                               decodedOperands);
  forEach([&](int64_t slot, int64_t ai, int64_t bj) {
    Value factor = gemmWindowFactor(e.builder(), e.location(), amax.a[ai],
                                    amax.b[bj], c);
    next[slot] = m.add(acc[slot], m.mul(part[slot], factor));
  });
  return next;
}

void MmaAccumulators::store(ArrayRef<Value> acc, bool window) const {
  ImplicitLocOpBuilder &b = e.builder();
  forEach([&](int64_t slot, int64_t ai, int64_t bj) {
    Value r = row(ai), c = col(bj);
    Value inRange = arith::AndIOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, r, M),
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, c, N));
    auto ifOp = scf::IfOp::create(b, inRange, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    Value aAmax, bAmax, sum = acc[slot];
    if (!window) {
      aAmax = amaxA(ai, {});
      bAmax = amaxB(bj, {});
      sum = gemmRestoreDecoded(b, e.location(), sum, decodedOperands);
    }
    storeGemmResult(e, op, v, sum, r, c, aAmax, bAmax, cConst);
  });
}

Value mlir::nvfp4::detail::gemmLoadGlobal(ImplicitLocOpBuilder &b, Value addr,
                                          Type type, StringRef qualifiers,
                                          StringRef suffix) {
  if (auto vec = dyn_cast<VectorType>(type)) {
    // Four 32-bit words in one 16-byte load (`ld.global.nc.v4`).
    assert(vec.getNumElements() == 4 && vec.getElementType().isInteger(32) &&
           "a vector load is vector<4xi32>");
    Type i32 = vec.getElementType();
    auto words4 =
        LLVM::LLVMStructType::getLiteral(b.getContext(), {i32, i32, i32, i32});
    std::string text = ("{ .reg .u64 p; cvta.to.global.u64 p, $4; "
                        "ld.global.nc" +
                        qualifiers + ".v4." + suffix +
                        " {$0, $1, $2, $3}, [p]; }")
                           .str();
    Value s = LLVM::InlineAsmOp::create(
                  b, words4, ValueRange{addr}, text, "=r,=r,=r,=r,l",
                  /*has_side_effects=*/true, /*is_align_stack=*/false,
                  LLVM::TailCallKind::None, LLVM::AsmDialectAttr(), ArrayAttr())
                  .getRes();
    SmallVector<Value, 4> words;
    for (int64_t i = 0; i < 4; ++i)
      words.push_back(LLVM::ExtractValueOp::create(b, s, i));
    return vector::FromElementsOp::create(b, vec, words);
  }
  bool wide = type.isInteger(64);
  std::string text = ("{ .reg .u64 p; cvta.to.global.u64 p, $1; "
                      "ld.global.nc" +
                      qualifiers + "." + suffix + " $0, [p]; }")
                         .str();
  return LLVM::InlineAsmOp::create(b, type, ValueRange{addr}, text,
                                   wide ? "=l,l" : "=r,l",
                                   /*has_side_effects=*/true,
                                   /*is_align_stack=*/false,
                                   LLVM::TailCallKind::None,
                                   LLVM::AsmDialectAttr(), ArrayAttr())
      .getRes();
}
