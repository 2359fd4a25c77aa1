//===- NVFP4ToGPU.cpp - nvfp4 quantize ops to GPU kernels -----------------===//
//
// The GPU schedule of the shared quantization emitter: each kernel maps one
// of the emitter's iteration spaces onto threads (a thread per block, tile,
// window, row or scale byte, or a thread block per row). The kernels' bodies come
// from the same DirectionEmitter and NumericsBuilder as the CPU path; the
// only target-specific code here is the choice of leaves.
//
//===----------------------------------------------------------------------===//

#include "../Common/QuantizeEmitter.h"
#include "MatmulToGPU.h"
#include "nvfp4/Conversion/Passes.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
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
/// Threads per block of every kernel.
constexpr int64_t kBlockThreads = 256;

/// Parses the SM number of `sm_90a`, `sm_100`, ...; 0 when unknown.
unsigned smVersion(StringRef chip) {
  unsigned v = 0;
  if (!chip.consume_front("sm_"))
    return 0;
  chip = chip.rtrim("af");
  return chip.getAsInteger(10, v) ? 0 : v;
}

/// NVVM instructions that give exactly the portable sequences' bytes.
class NVVMLeaves : public TargetLeaves {
public:
  explicit NVVMLeaves(unsigned sm) : sm(sm) {}

  Value packE2M1Pair(OpBuilder &b, Location loc, Value even,
                     Value odd) override {
    // cvt.rn.satfinite.e2m1x2.f32 exists from sm_100a on (and makes LLVM
    // abort, not diagnose, below it). It rounds to nearest even, saturates
    // to 6, keeps the sign of -0.0 and maps NaN to 0x7: SPEC.md section 2.
    if (sm < 100 || isa<VectorType>(even.getType()))
      return {};
    // The instruction puts its first operand in the HIGH nibble.
    Value packed = NVVM::ConvertF32x2ToF4x2Op::create(
        b, loc, b.getI8Type(), odd, even, /*relu=*/false,
        Float4E2M1FNType::get(b.getContext()));
    return arith::ExtUIOp::create(b, loc, b.getI32Type(), packed);
  }

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

private:
  unsigned sm;
};

/// How many threads a kernel needs, as a runtime reads `nvfp4.work`.
enum class Work {
  One,        ///< a single thread
  Rows,       ///< one thread per row of the quantized matrix
  RowCTAs,    ///< one thread block (CTA) per row
  Windows,    ///< one thread per (row, 64-wide window)
  RowBlocks,  ///< one thread per (row, 16-block)
  TileBlocks, ///< one thread per (16-row tile, 16-block)
  ScaleBytes, ///< one thread per byte of the scale buffer
};

StringRef workName(Work w) {
  switch (w) {
  case Work::One:
    return "one";
  case Work::Rows:
    return "rows";
  case Work::RowCTAs:
    return "row_ctas";
  case Work::Windows:
    return "windows";
  case Work::RowBlocks:
    return "row_blocks";
  case Work::TileBlocks:
    return "tile_blocks";
  case Work::ScaleBytes:
    return "scale_bytes";
  }
  llvm_unreachable("unknown work");
}

/// Maps the emitter's iteration spaces onto GPU threads: flat spaces get
/// one thread per point (neighbouring threads on the contiguous index);
/// per-row reductions get a thread block per row (`RowCTAs` kernels) or a
/// thread per row (`Rows` kernels).
class ThreadSchedule : public RowSchedule {
public:
  ThreadSchedule(OpBuilder &b, Location loc, Work work) : work(work) {
    globalId = gpu::GlobalIdOp::create(b, loc, gpu::Dimension::x);
    blockId = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    threadId = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    blockSize = gpu::BlockDimOp::create(b, loc, gpu::Dimension::x);
  }

  void forEach(LoopEmitter &e, Value lb, Value ub,
               function_ref<void(Value)> body) override {
    Value i = e.addI(lb, globalId);
    guarded(e, lt(e, i, ub), [&] { body(i); });
  }

  void forEach2D(LoopEmitter &e, Value iLb, Value iUb, Value nj,
                 bool jFastest,
                 function_ref<void(Value, Value)> body) override {
    OpBuilder &b = e.builder();
    Value ni = arith::SubIOp::create(b, e.location(), iUb, iLb);
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

  void reduceMaxPerRow(LoopEmitter &e, Value lb, Value ub, Value nj,
                       function_ref<Value(Value, Value)> value,
                       function_ref<void(Value, Value)> commit) override {
    OpBuilder &b = e.builder();
    Location loc = e.location();
    NumericsBuilder &m = e.math();
    if (work != Work::RowCTAs) {
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
    Value r = e.addI(lb, blockId);
    guarded(e, lt(e, r, ub), [&] {
      auto loop = scf::ForOp::create(b, loc, threadId, nj, blockSize,
                                     ValueRange{m.f32(0.0f)});
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(loop.getBody());
        Value next = m.fmax(loop.getRegionIterArgs()[0],
                            value(r, loop.getInductionVar()));
        scf::YieldOp::create(b, loc, next);
      }
      Value rowMax = gpu::AllReduceOp::create(
          b, loc, loop.getResult(0),
          gpu::AllReduceOperationAttr::get(b.getContext(),
                                           gpu::AllReduceOperation::MAXNUMF),
          /*uniform=*/true);
      guarded(e, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                       threadId, e.idx(0)),
              [&] { commit(r, rowMax); });
    });
  }

  bool isParallel() const override { return true; }

private:
  static Value lt(LoopEmitter &e, Value a, Value b) {
    return arith::CmpIOp::create(e.builder(), e.location(),
                                 arith::CmpIPredicate::ult, a, b);
  }
  static void guarded(LoopEmitter &e, Value cond,
                      function_ref<void()> body) {
    OpBuilder &b = e.builder();
    auto ifOp = scf::IfOp::create(b, e.location(), cond, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    body();
  }

  Work work;
  Value globalId, blockId, threadId, blockSize;
};

/// Builds the kernels of one quantize op and the launches that replace it.
class QuantizeKernels {
public:
  QuantizeKernels(QuantizeOp op, gpu::GPUModuleOp module, StringRef prefix,
                  TargetLeaves &leaves)
      : op(op), module(module), prefix(prefix.str()), leaves(leaves) {}

  void build() {
    RecipeAttr recipe = op.getRecipe();
    for (bool columnwise : {false, true}) {
      if (columnwise ? !op.getDataT() : !op.getData())
        continue;
      StringRef dir = columnwise ? "columnwise" : "rowwise";
      if (recipe.getSfLayout() != ScaleLayout::Linear)
        addKernel("zero", dir, Work::ScaleBytes,
                  [&](LoopEmitter &e, IRMapping &map, RowSchedule &s) {
                    DirectionEmitter::zeroScales(
                        e, map.lookup(columnwise ? op.getScaleT() : op.getScale()),
                        s);
                  });
      auto withDirection = [=](auto &&fn) {
        return [=](LoopEmitter &e, IRMapping &map, RowSchedule &s) {
          QuantizeLowering q(e, recipe, map.lookup(op.getInput()));
          Direction d =
              columnwise
                  ? q.columnwise(map.lookup(op.getDataT()),
                                 map.lookup(op.getScaleT()),
                                 map.lookup(op.getAmaxT()), e.idx(0), q.rows(),
                                 /*group=*/{})
                  : q.rowwise(map.lookup(op.getData()),
                              map.lookup(op.getScale()),
                              map.lookup(op.getAmax()), e.idx(0), q.rows(),
                              /*group=*/{}, e.idx(0));
          DirectionEmitter emitter(e, recipe, d, s);
          fn(emitter);
        };
      };
      Work encodeWork = recipe.isBlock2D() ? Work::TileBlocks : Work::RowBlocks;
      // Rowwise rows are contiguous: a thread block reduces each row. A
      // columnwise row is a column of X: a thread walks it, and
      // neighbouring threads read neighbouring columns.
      OuterGroup outer = recipe.getOuter();
      Work amaxWork = outer == OuterGroup::Window ? Work::Windows
                      : !columnwise               ? Work::RowCTAs
                      : outer == OuterGroup::Row  ? Work::RowBlocks
                                                  : Work::Rows;
      // Atomic reductions start from zeroed amaxes.
      if (outer == OuterGroup::Tensor || (columnwise && outer == OuterGroup::Row))
        addKernel("amax_init", dir,
                  outer == OuterGroup::Tensor ? Work::One : Work::Rows,
                  withDirection([](auto &em) { em.emitAmaxInit(); }));
      // The amaxes must be complete before any block is encoded: a
      // grid-wide barrier, so a separate launch.
      addKernel("amax", dir, amaxWork,
                withDirection([](auto &em) { em.emitOuterAmax(); }));
      addKernel("encode", dir, encodeWork,
                withDirection([](auto &em) { em.emitEncode(); }));
    }
  }

private:
  using Body = std::function<void(LoopEmitter &, IRMapping &, RowSchedule &)>;

  void addKernel(StringRef kind, StringRef dir, Work work, const Body &body) {
    MLIRContext *ctx = op.getContext();
    Location loc = op.getLoc();
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    std::string name =
        prefix + "_" + std::to_string(count++) + "_" + dir.str() + "_" +
        kind.str();
    auto type = FunctionType::get(ctx, op->getOperandTypes(), {});
    auto func = gpu::GPUFuncOp::create(b, loc, name, type);
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    func.setKnownBlockSizeAttr(
        b.getDenseI32ArrayAttr({int32_t(kBlockThreads), 1, 1}));
    func->setAttr("nvfp4.work", b.getStringAttr(workName(work)));
    func->setAttr("nvfp4.direction", b.getStringAttr(dir));
    Block &entry = func.getBody().front();
    b.setInsertionPointToStart(&entry);
    IRMapping map;
    map.map(op->getOperands(), entry.getArguments());
    {
      LoopEmitter e(b, loc, &leaves);
      // Device buffers are 256-byte aligned and rows hold K % 16 == 0
      // elements, so each rowwise 16-block is aligned to its own size.
      auto input = cast<MemRefType>(op.getInput().getType());
      e.blockAlignment =
          kBlock * (input.getElementType().getIntOrFloatBitWidth() / 8);
      ThreadSchedule schedule(b, loc, work);
      body(e, map, schedule);
    }
    gpu::ReturnOp::create(b, loc);

    // The launch, in the host function where the op was.
    OpBuilder host(op);
    LoopEmitter he(host, loc);
    bool columnwise = dir == "columnwise";
    Value rows = he.dim(op.getInput(), columnwise ? 1 : 0);
    Value blocks = he.divI(he.dim(op.getInput(), columnwise ? 0 : 1), kBlock);
    Value count;
    switch (work) {
    case Work::One:
      count = he.idx(1);
      break;
    case Work::Rows:
      count = rows;
      break;
    case Work::RowCTAs:
      count = he.mulI(rows, he.idx(kBlockThreads));
      break;
    case Work::Windows:
      count = he.mulI(rows, he.ceilDivI(blocks, 4));
      break;
    case Work::RowBlocks:
      count = he.mulI(rows, blocks);
      break;
    case Work::TileBlocks:
      count = he.mulI(he.ceilDivI(rows, kBlock), blocks);
      break;
    case Work::ScaleBytes: {
      Value scale = columnwise ? op.getScaleT() : op.getScale();
      count = he.mulI(he.dim(scale, 0), he.dim(scale, 1));
      break;
    }
    }
    Value grid = he.ceilDivI(count, kBlockThreads);
    Value one = he.idx(1);
    gpu::LaunchFuncOp::create(host, loc, func, {grid, one, one},
                              {he.idx(kBlockThreads), one, one},
                              /*dynamicSharedMemorySize=*/Value(),
                              op->getOperands());
  }

  QuantizeOp op;
  gpu::GPUModuleOp module;
  std::string prefix;
  TargetLeaves &leaves;
  unsigned count = 0;
};

struct NVFP4ToGPUPass : nvfp4::impl::NVFP4ToGPUBase<NVFP4ToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    unsigned sm = smVersion(chip);
    if (sm == 0) {
      module.emitError() << "expected chip of the form sm_<N>[a], got '"
                         << chip << "'";
      return signalPassFailure();
    }
    NVVMLeaves leaves(sm);
    SmallVector<QuantizeOp> quantizes;
    SmallVector<MatmulOp> matmuls;
    WalkResult unsupported = module.walk([&](Operation *op) {
      if (auto q = dyn_cast<QuantizeOp>(op)) {
        quantizes.push_back(q);
        return WalkResult::advance();
      }
      if (auto mm = dyn_cast<MatmulOp>(op)) {
        matmuls.push_back(mm);
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
    if (quantizes.empty() && matmuls.empty())
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
    for (QuantizeOp op : quantizes) {
      auto func = op->getParentOfType<FunctionOpInterface>();
      std::string prefix = (func ? func.getName().str() : "quantize") + "_q" +
                           std::to_string(index++);
      QuantizeKernels(op, gpuModule, prefix, leaves).build();
      op.erase();
    }
    for (MatmulOp op : matmuls) {
      auto func = op->getParentOfType<FunctionOpInterface>();
      std::string prefix = (func ? func.getName().str() : "matmul") + "_m" +
                           std::to_string(index++);
      if (failed(buildMatmulKernels(op, gpuModule, prefix, leaves, chip)))
        return signalPassFailure();
      op.erase();
    }
  }
};
} // namespace
