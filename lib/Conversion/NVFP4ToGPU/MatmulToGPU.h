//===- MatmulToGPU.h - nvfp4.matmul to GPU kernels --------------*- C++ -*-===//
//
// Part of nvfp4-to-gpu: the GEMM kernels, kept apart from the quantization
// kernels because they share only the numerics builder.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_CONVERSION_NVFP4TOGPU_MATMULTOGPU_H
#define NVFP4_CONVERSION_NVFP4TOGPU_MATMULTOGPU_H

#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Numerics/NumericsBuilder.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <array>

namespace mlir {
namespace nvfp4 {
class LoweringBuilder;

namespace detail {

/// The op a GEMM kernel computes: `nvfp4.matmul`, or `nvfp4.grouped_matmul`,
/// whose kernels run the same tile bodies on one group's views
/// (MatmulGrouped.cpp), or `nvfp4.matmul_w4a16` (the direct kernels only;
/// its A recipe is null and its A is `getAData()`). The kernel's arguments
/// are the op's operands in order; the tile bodies read only the recipes,
/// alpha and the operands.
class GemmOp {
public:
  GemmOp(MatmulOp op) : op(op) {}
  GemmOp(GroupedMatmulOp op) : op(op) {}
  GemmOp(MatmulW4A16Op op) : op(op) {}

  Operation *getOperation() const { return op; }
  Operation *operator->() const { return op; }
  /// The grouped op, or null for `nvfp4.matmul`.
  GroupedMatmulOp grouped() const { return dyn_cast<GroupedMatmulOp>(op); }
  /// W4A16: the element type of the unquantized A (bf16 or f16); null for
  /// an NVFP4 A.
  Type a16() const;
  MLIRContext *getContext() const { return op->getContext(); }
  Location getLoc() const { return op->getLoc(); }
  RecipeAttr getARecipe() const;
  RecipeAttr getBRecipe() const;
  APFloat getAlpha() const;
  Value getAData() const;
  Value getBData() const;
  /// Null when the op has no bias.
  Value getBias() const;

private:
  Operation *op;
};

/// What a tile body works on: the operands of a matmul as arguments of the
/// kernel being built (`bias` null when the op has none), or, in a grouped
/// kernel, views of one group's operands.
struct GemmOperands {
  Value aData, aScale, aAmax, bData, bScale, bAmax, bias, out;
  /// A grouped kernel's splits (null otherwise).
  Value splits;
  /// The first row and column of D (of the views) of this thread block's
  /// tile when the kernel has decoded its block id already (a grouped
  /// kernel); null: the tile body decodes it with gemmBlockTile.
  Value tileRow, tileCol;
};

// The kernel shell every GEMM kernel shares (MatmulKernel.cpp).

/// Appends an empty kernel `name` for `op` (its operands as arguments) to
/// `module`, with `threads` threads per block and the attributes of
/// buildMatmulKernels (`nvfp4.work` = `gemm`, or `grouped_gemm` for a
/// grouped op; `nvfp4.gemm_tile` = `tile`, `nvfp4.gemm_max_m` = `maxM`).
gpu::GPUFuncOp createGemmKernel(GemmOp op, gpu::GPUModuleOp module,
                                StringRef name, int64_t threads,
                                ArrayRef<int64_t> tile, int64_t maxM);

/// A TMA tensor map a GEMM kernel takes (#nvfp4.tensor_map without its
/// argument index): over operand `operand` of the op, boxes of `box`
/// (innermost first, bytes x rows), `swizzle` bytes of shared-memory
/// swizzle.
struct GemmTensorMap {
  int64_t operand;
  std::array<int64_t, 2> box;
  int64_t swizzle;
};

/// createGemmKernel for a kernel that also takes one tensor map per entry
/// of `maps`: `!llvm.ptr` arguments after the operands, declared in
/// `nvfp4.tensor_maps` for nvfp4-to-ptx (grid-constant parameters) and the
/// runtime (which encodes them per launch). gemmTensorMapArgs returns them.
/// `extraArgs`: memref arguments between the operands and the maps (a
/// map's `operand` may name one by its argument index).
gpu::GPUFuncOp createGemmKernel(GemmOp op, gpu::GPUModuleOp module,
                                StringRef name, int64_t threads,
                                ArrayRef<int64_t> tile, int64_t maxM,
                                ArrayRef<GemmTensorMap> maps,
                                ArrayRef<Type> extraArgs = {});
/// The tensor-map arguments of `func` (empty for a kernel without them).
SmallVector<Value> gemmTensorMapArgs(gpu::GPUFuncOp func, GemmOp op);
/// createGemmKernel for a kernel whose stages GemmPipeline::fillStage
/// fills: tensor maps of A's and B's data (boxes of `boxRowBytes` bytes,
/// one K step, of `tileM` and `tileN` rows, `swizzle` bytes of swizzle)
/// and A's and B's scales marked as read by cp.async.bulk
/// (`nvfp4.bulk_copy_operands`: the runtime checks their alignment).
gpu::GPUFuncOp createTmaGemmKernel(MatmulOp op, gpu::GPUModuleOp module,
                                   StringRef name, int64_t threads,
                                   int64_t tileM, int64_t tileN,
                                   int64_t boxRowBytes, int64_t swizzle);

// The predecoded large-M GEMM (nvfp4-to-gpu's predecoded-gemm option;
// NVFP4KernelInterface.h, nvfp4.gemm_workspace): gemm_decode kernels
// (MatmulDecode.cpp) write A and B as 16-bit floats into two workspaces,
// then a 16-bit wgmma kernel multiplies them.

/// The workspaces' element: bf16 when a bf16 A multiplies on bf16 tensor
/// cores, f16 otherwise.
Type gemmWorkspaceElement(GemmOp op);
/// The two workspace argument types (A's, B's): rows x gemmDecodedK(K)
/// memrefs of gemmWorkspaceElement.
SmallVector<Type, 2> gemmWorkspaceTypes(GemmOp op);
/// The two workspace arguments of `func` (they follow the op's operands).
SmallVector<Value, 2> gemmWorkspaceArgs(gpu::GPUFuncOp func, GemmOp op);
/// K in elements, from A's data `aData` (the op's or a kernel argument).
Value gemmK(LoweringBuilder &e, GemmOp op, Value aData);
/// Bytes of one 64-wide chunk of a 16-bit workspace row: a TMA box's row
/// and its shared-memory swizzle span.
constexpr int64_t kGemmChunkBytes16 = kGemmDecodedKAlign * 2;
/// createGemmKernel for the 16-bit GEMM of a predecoded op: the workspaces
/// as arguments after the operands, marked `nvfp4.gemm_workspace`, and a
/// TMA tensor map over each (boxes of one chunk of tile rows, 128-byte
/// swizzle) as the last arguments.
gpu::GPUFuncOp createWorkspaceGemmKernel(GemmOp op, gpu::GPUModuleOp module,
                                         StringRef name, int64_t threads,
                                         ArrayRef<int64_t> tile);
/// Adds the gemm_decode kernel that fills workspace `operand` (0: A's, 1:
/// B's) of `op` to `module` (MatmulDecode.cpp).
gpu::GPUFuncOp buildGemmDecodeKernel(GemmOp op, gpu::GPUModuleOp module,
                                     StringRef prefix, TargetLeaves &leaves,
                                     int64_t operand);
/// Launches gemm_decode kernel `func` over `rows` rows at `at`, with the
/// op's operands and `workspaces` (host values).
void launchGemmDecodeKernel(ImplicitLocOpBuilder &at, gpu::GPUFuncOp func,
                            GemmOp op, Value rows, ArrayRef<Value> workspaces);

/// A workgroup (shared-memory) buffer of `size` `element`s for `func`.
Value addGemmWorkgroupBuffer(gpu::GPUFuncOp func, int64_t size, Type element);

/// `op`'s operands among the arguments of `func`'s entry block.
GemmOperands gemmKernelOperands(gpu::GPUFuncOp func, GemmOp op);

/// M (rows of A) and N (rows of each B) of `op` on the host, at `he`'s
/// insertion point.
std::pair<Value, Value> gemmHostShape(LoweringBuilder &he, GemmOp op);

/// Launches `func` at `at` over the 1-D grid of nvfp4.gemm_tile:
/// ceil(N / tileN) * ceil(M / tileM) blocks of `threads` threads, with
/// `dynamicSmem` bytes of dynamic shared memory (null: none). A grouped
/// op's groups may each end in a partial tile row: its grid has
/// ceil(N / tileN) * (ceil(M / tileM) + G) blocks, the worst case of any
/// splits. A kernel's tensor-map arguments get null pointers: the host
/// code here states the grid, and the runtime, which launches the kernels
/// itself, encodes the maps per launch (NVFP4KernelInterface.h).
/// `workspaces`: a predecoded GEMM's workspace arguments (host values).
void launchGemmKernel(ImplicitLocOpBuilder &at, gpu::GPUFuncOp func,
                      GemmOp op, Value M, Value N, int64_t tileM, int64_t tileN,
                      int64_t threads, Value dynamicSmem,
                      ArrayRef<Value> workspaces = {});

/// Emits the body of GEMM kernel `func` at `e`'s insertion point:
/// `tileBody` on the kernel's operands, or for a grouped op on the views
/// of the group that owns the block's tile (emitGroupedGemmBody).
void emitGemmBody(LoweringBuilder &e, gpu::GPUFuncOp func, GemmOp op, int64_t tileM,
                  int64_t tileN,
                  function_ref<void(const GemmOperands &)> tileBody);

/// The grouped form of emitGemmBody (MatmulGrouped.cpp): the block finds
/// its group and tile row by scanning the splits, and runs `tileBody` on
/// the group's views with the tile set; blocks past the last tile do
/// nothing.
void emitGroupedGemmBody(LoweringBuilder &e, const GemmOperands &v, GemmOp op,
                         int64_t tileM, int64_t tileN,
                         function_ref<void(const GemmOperands &)> tileBody);

/// The tile of a tile body: `v`'s, or decoded from the block id.
std::pair<Value, Value> gemmTile(LoweringBuilder &e, const GemmOperands &v, Value N,
                                 int64_t tileM, int64_t tileN);

/// The address (index) of element 0 of contiguous `memref`: its aligned
/// pointer, plus its offset for a view of a group.
Value gemmBaseAddress(ImplicitLocOpBuilder &b, Value memref);

/// The first row and column of D of this thread block's tileM x tileN tile,
/// from the 1-D grid launchGemmKernel launches (block row * ceil(N /
/// tileN) + block column: N fastest, so blocks resident together share
/// rows of A). The direct kernels decode their block id here; the large-M
/// kernels walk the same tiles in bands (gemmBandedTile). `blocksPerTile`
/// (an index; null: 1) consecutive blocks share each tile: a kernel that
/// splits K over the CTAs of a cluster passes the cluster size
/// (`nvfp4.gemm_cluster_split`).
std::pair<Value, Value> gemmBlockTile(LoweringBuilder &e, Value N, int64_t tileM,
                                      int64_t tileN,
                                      Value blocksPerTile = Value());

/// The first row and column of D of tile `tile` of an M x N result in
/// tileM x tileN tiles, walked in bands (NVFP4KernelInterface.h,
/// gemmBandedTile): the large-M kernels' order, which keeps the operand
/// rows a wave reads few enough to be served by L2.
std::pair<Value, Value> gemmBandedTile(LoweringBuilder &e, Value tile, Value M,
                                       Value N, int64_t tileM, int64_t tileN);

/// A global load through inline PTX (`ld.global.nc`, read-only data
/// path, plus the cache qualifiers `qualifiers`, e.g.
/// ".L1::no_allocate") of `type` (i64, i32, or vector<4xi32> for one
/// 16-byte `.v4` load) at generic byte address `addr` (i64); `suffix` is
/// the PTX type (u64, u32, u8 into an i32; u32 for the vector).
/// Inline assembly (the project's one site), because LLVM folds a
/// loop-carried phi of plain loads into one load at the use, which would
/// undo a prefetch.
Value gemmLoadGlobal(ImplicitLocOpBuilder &b, Value addr, Type type,
                     StringRef qualifiers, StringRef suffix);

/// The bits of a vector<2xf16> as i32, and back: mma fragments are f16
/// pairs held in 32-bit registers and shared-memory words.
Value f16x2AsI32(ImplicitLocOpBuilder &b, Value f16x2);
Value i32AsF16x2(ImplicitLocOpBuilder &b, Value i32);

/// One `mma.sync.m16n8k16` (f16 x f16 -> f32, row x col) of fragments
/// `a` (four f16 pairs) and `b` (two), accumulating into the four values
/// of `acc` in place.
void mmaSyncF16(ImplicitLocOpBuilder &b, ValueRange a, ValueRange bFrag,
                MutableArrayRef<Value> acc);

/// The same with bf16 fragments (`mma.sync...bf16`), each a bf16 pair held
/// in an i32.
void mmaSyncBF16(ImplicitLocOpBuilder &b, ValueRange a, ValueRange bFrag,
                 MutableArrayRef<Value> acc);

/// Scales accumulator `acc` of D(row, col) (SPEC.md section 12: outer
/// amaxes `aAmax`/`bAmax`, null for window operands, whose promotion is
/// already in `acc`; `alpha`; the bias) and stores it. The caller masks
/// rows and columns outside D.
void storeGemmResult(LoweringBuilder &e, GemmOp op, const GemmOperands &v,
                     Value acc, Value row, Value col, Value aAmax, Value bAmax,
                     Value cConst);

/// The accumulators of a warp's `mi` x `ni` grid of m16n8 mma tiles, whose
/// first row and column of D are `rowBase` and `colBase`: every mma.sync
/// shape (m16n8k16 f16/bf16, m16n8k64 block-scaled FP4) gives lane
/// (g, t) = (lane / 4, lane % 4) rows g and g + 8 and columns 2t and 2t + 1
/// of each tile. Slot (i * ni + j) * 4 + k holds D(row(2i + k / 2),
/// col(2j + k % 2)). `M`, `N` are D's shape, `cConst` gemmC's constant.
struct MmaAccumulators {
  LoweringBuilder &e;
  GemmOp op;
  GemmOperands v;
  int64_t mi, ni;
  Value rowBase, colBase, g, t, M, N, cConst;
  /// Operands the kernel decoded to 16-bit floats (gemmRestoreDecoded):
  /// the accumulators hold their products times 2^-(kGemmDecodeShift *
  /// decodedOperands) until promote() or store().
  int64_t decodedOperands = 0;

  /// Calls `fn(slot, ai, bj)` for each accumulator slot, in slot order.
  void forEach(function_ref<void(int64_t, int64_t, int64_t)> fn) const;
  /// Row of D of accumulator row index `ai`, column of `bj`.
  Value row(int64_t ai) const;
  Value col(int64_t bj) const;
  /// A's outer amax of row index `ai` in K window `w` (null when the recipe
  /// has no windows), and B's of column index `bj` (rows past D clamped).
  Value amaxA(int64_t ai, Value w) const;
  Value amaxB(int64_t bj, Value w) const;
  /// Window operands: `acc` + RN(`part` * gemmWindowFactor of window `w`)
  /// per slot, each amax read once.
  SmallVector<Value> promote(ArrayRef<Value> acc, ArrayRef<Value> part,
                             Value w) const;
  /// The amaxes of one window for every row index (2 mi) and column index
  /// (2 ni) of the lane, loaded ahead of the promotion that uses them: the
  /// pipelined wgmma kernel issues them before its decode, whose time hides
  /// their latency.
  struct WindowAmaxes {
    SmallVector<Value> a, b;
  };
  WindowAmaxes loadWindow(Value w) const;
  SmallVector<Value> promote(ArrayRef<Value> acc, ArrayRef<Value> part,
                             const WindowAmaxes &amax) const;
  /// Scales each accumulator (storeGemmResult; `window`: already promoted)
  /// and stores those inside D.
  void store(ArrayRef<Value> acc, bool window) const;
};

/// Adds the kernels of `op` to `module` (named after `prefix`) and inserts
/// their launches before `op`, which the caller erases. Kernels carry
/// `nvfp4.work = "gemm"`, `nvfp4.gemm_tile = [tileM, tileN]` (a 1-D grid
/// of ceil(M / tileM) * ceil(N / tileN) blocks) and `nvfp4.gemm_max_m` (the kernel
/// serves M <= max_m; 0: any M; the first match in launch order wins);
/// a kernel that needs dynamic shared memory also carries
/// `nvfp4.gemm_smem` (bytes per block, which its launch passes).
/// On `chip`s with block-scaled FP4 tensor cores (isTcgen05Chip) and shapes
/// the tcgen05 kernel supports, the tcgen05 kernel serves every M above the
/// small-M (decode) mma.sync configuration; on the sm_120 family
/// (ChipInfo::blockScaledMmaSync) the block-scaled FP4 mma.sync kernel
/// does; otherwise only mma.sync kernels (valid on every chip from sm_80
/// on) are emitted.
/// A grouped op gets the mma.sync kernels on every chip (no wgmma, no
/// tcgen05), marked `nvfp4.work = "grouped_gemm"` (the grid of
/// launchGemmKernel); `max_m` is compared with the total M.
/// `warpSpecialized` picks sm_90a's warp-specialized large-M kernel
/// (GemmPipeline) over the software-pipelined one; `predecoded` the
/// predecoded GEMM for operands without windows: gemm_decode kernels into
/// workspaces, then the 16-bit wgmma kernel (with `warpSpecialized`, its
/// warp-specialized form).
LogicalResult buildMatmulKernels(GemmOp op, gpu::GPUModuleOp module,
                                 StringRef prefix, TargetLeaves &leaves,
                                 StringRef chip, bool warpSpecialized = false,
                                 bool predecoded = false);

/// Adds the direct kernels for M <= 256 (MatmulDirect.cpp; mma.sync, valid
/// from sm_80 on) with the attributes of buildMatmulKernels, and their
/// launches, each in the then-branch of `scf.if M <= max_m` at `host`;
/// `host` ends in the last else-branch, where larger M is launched. On a
/// `chip` with thread-block clusters the kernels of an ungrouped op also
/// split K over the CTAs of a cluster when launched with one
/// (`nvfp4.gemm_cluster_split`; the launches built here have none).
void buildDirectMatmulKernels(GemmOp op, gpu::GPUModuleOp module,
                              StringRef prefix, TargetLeaves &leaves,
                              ImplicitLocOpBuilder &host, StringRef chip);

/// The kernels of `nvfp4.matmul_w4a16` (MatmulDirect.cpp): the direct
/// mma.sync kernels (valid from sm_80 on) with A loaded as bf16/f16 instead
/// of decoded (bf16 A multiplies on bf16 tensor cores with B decoded to
/// bf16, f16 A on f16 ones), and for M > 256 on `chip` sm_90a the
/// software-pipelined wgmma kernel (buildWgmmaMatmulW4A16Kernel), elsewhere
/// the medium_m kernel over every tile of D; their launches replace `op`'s
/// place.
void buildMatmulW4A16Kernels(MatmulW4A16Op op, gpu::GPUModuleOp module,
                             StringRef prefix, TargetLeaves &leaves,
                             StringRef chip, bool predecoded = false);

/// sm_90a's software-pipelined wgmma kernel for a W4A16 `op` (MatmulToGPU.cpp;
/// 128 x 256 tiles, 128 x 128 for a 1x64-window B): A's 16-bit blocks are
/// copied into the raw ring with cp.async and permuted into the stage (the
/// K order of B's word decode), B is decoded as for W4A4; launched at
/// `host`, for M above the direct kernels'.
/// `predecoded`: a B without windows takes the predecoded GEMM (A copied
/// into its workspace, B decoded into its own, then the 16-bit wgmma
/// kernel) instead.
void buildWgmmaMatmulW4A16Kernel(MatmulW4A16Op op, gpu::GPUModuleOp module,
                                 StringRef prefix, TargetLeaves &leaves,
                                 ImplicitLocOpBuilder &host,
                                 bool predecoded = false);

/// W4A16: the 8 words of a 16-element block of a 16-bit A (word w holds
/// elements 2w and 2w + 1) as the 8 pair registers (i32) in the K order of
/// gemmDecodeF16Nibbles: register 4q + i pairs elements 8q + i and
/// 8q + i + 4 (byte permutes, no arithmetic).
SmallVector<Value> gemmPermuteA16Block(ImplicitLocOpBuilder &b,
                                       ArrayRef<Value> words);

/// Whether `chip` gets the tcgen05 block-scaled GEMM (MatmulTcgen05.cpp).
bool isTcgen05Chip(StringRef chip);

/// Whether the tcgen05 kernel supports the shapes of `op` (static K, a
/// multiple of 64; any M and N).
bool tcgen05Supports(MatmulOp op);

/// Adds the sm_100a GEMM kernel of `op` (`tcgen05.mma` kind::mxf4nvf4 with
/// block16 scales, TMEM accumulators; tile 128x128, 128 threads, static
/// shared memory) with the attributes of buildMatmulKernels
/// (`nvfp4.gemm_max_m` = 0), and its launch at `host`'s insertion point.
LogicalResult buildTcgen05MatmulKernel(MatmulOp op, gpu::GPUModuleOp module,
                                       StringRef prefix, TargetLeaves &leaves,
                                       ImplicitLocOpBuilder &host);

/// Adds the sm_120-family GEMM kernel of `op` (MatmulSm120.cpp:
/// `mma.sync.m16n8k64 kind::mxf4nvf4.block_scale.scale_vec::4X` on the
/// stored E2M1 data and 128x4 E4M3 scales; tile 64x64, 128 threads, no
/// shared memory) with the attributes of buildMatmulKernels
/// (`nvfp4.gemm_max_m` = 0), and its launch at `host`'s insertion point.
LogicalResult buildSm120MatmulKernel(MatmulOp op, gpu::GPUModuleOp module,
                                     StringRef prefix, TargetLeaves &leaves,
                                     ImplicitLocOpBuilder &host);

} // namespace detail
} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_CONVERSION_NVFP4TOGPU_MATMULTOGPU_H
