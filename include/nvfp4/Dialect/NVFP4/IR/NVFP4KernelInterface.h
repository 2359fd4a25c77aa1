//===- NVFP4KernelInterface.h - What a runtime reads from a kernel -*- C++ -*-===//
//
// The contract between nvfp4-to-gpu, which writes the kernels and the host
// code that launches them, and a runtime that launches the same kernels
// itself (lib/Runtime): the attributes on each gpu.func, the block size,
// and the launch grid of each kind of kernel. Both sides derive the grid
// with the functions below, the lowering over IR values (LoweringBuilder)
// and a runtime over integers (IndexArith).
//
// Quantize and dequantize kernels (`nvfp4.work` = a KernelWork other than
// gemm/grouped_gemm, `nvfp4.direction` = rowwise, columnwise or both) run
// kKernelBlockThreads threads per block over a 1-D grid of
// ceil(kernelWorkItems / kKernelBlockThreads) blocks, in the order of the
// host's gpu.launch_func ops. GEMM kernels (`gemm`, `grouped_gemm`) carry
// their tile (`nvfp4.gemm_tile`), the largest M they serve
// (`nvfp4.gemm_max_m`, 0: any; the first kernel whose bound admits M runs),
// their dynamic shared memory (`nvfp4.gemm_smem`, bytes) and whether they
// walk their tiles in a loop (`nvfp4.gemm_persistent`: any grid is
// correct); their grid is gemmTileGrid's tile rows times tile columns. A
// GEMM kernel marked `nvfp4.gemm_cluster_split` = S_max may instead be
// launched with thread-block clusters of S <= S_max CTAs along x: the S
// blocks S t .. S t + S - 1 (one cluster) compute tile t together, each a
// share of K, and the grid is S times the tiles.
// A kernel marked `nvfp4.pdl` waits for the kernels before it in the stream
// itself (griddepcontrol), so it may be launched before they finish.
// A kernel with `nvfp4.tensor_maps` (#nvfp4.tensor_map entries) takes, after
// the op's operands, one 128-byte TMA tensor map per entry in that order:
// the runtime encodes each over the operand it names and passes it by value
// (kernelParams[i] points at the map itself). Operands listed in
// `nvfp4.bulk_copy_operands` are read with cp.async.bulk and must be
// 16-byte aligned.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_DIALECT_NVFP4_IR_NVFP4KERNELINTERFACE_H
#define NVFP4_DIALECT_NVFP4_IR_NVFP4KERNELINTERFACE_H

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir {
namespace nvfp4 {

/// Threads per block of every quantize and dequantize kernel.
constexpr int64_t kKernelBlockThreads = 256;

/// The `tiles` kernels (QuantizeTiles.h): a thread block per strip of
/// kTileStripTiles tiles of kTileRows x kTileCols elements of X along K.
constexpr int64_t kTileRows = 64;
constexpr int64_t kTileCols = 64;
constexpr int64_t kTileStripTiles = 4;

/// The largest cluster a GEMM kernel splits K over: 8 CTAs, the portable
/// cluster size (larger ones need an opt-in per kernel and are not
/// guaranteed to be schedulable).
constexpr int64_t kMaxGemmClusterSplit = 8;

/// The longest row an RMSNorm kernel (a thread block per row, SPEC.md
/// section 15) normalizes: 2^22 values. A runtime rejects longer rows
/// before it launches one.
constexpr int64_t kMaxRMSNormCols = int64_t(1) << 22;

/// The gpu.func attributes of the interface.
namespace kernel_attr {
/// The KernelWork of the kernel, as its string.
constexpr llvm::StringLiteral kWork = "nvfp4.work";
/// The output a quantize kernel writes: rowwise, columnwise or both.
constexpr llvm::StringLiteral kDirection = "nvfp4.direction";
/// GEMM: [tileM, tileN], the block's tile of D.
constexpr llvm::StringLiteral kGemmTile = "nvfp4.gemm_tile";
/// GEMM: the kernel serves M <= this (0: any M).
constexpr llvm::StringLiteral kGemmMaxM = "nvfp4.gemm_max_m";
/// GEMM: bytes of dynamic shared memory per block.
constexpr llvm::StringLiteral kGemmSmem = "nvfp4.gemm_smem";
/// GEMM: the kernel walks tiles blockIdx.x, blockIdx.x + gridDim.x, ...
constexpr llvm::StringLiteral kGemmPersistent = "nvfp4.gemm_persistent";
/// GEMM: the largest cluster (CTAs along x) the kernel splits K over; each
/// cluster computes one tile, block b tile b / S for clusters of S. Without
/// it a kernel is launched without clusters.
constexpr llvm::StringLiteral kGemmClusterSplit = "nvfp4.gemm_cluster_split";
/// Any kernel: it executes `griddepcontrol.wait` before its first memory
/// access and before it returns, so a runtime may launch it with
/// programmatic dependent launch (it may start while its predecessor in the
/// stream still runs). Set by nvfp4-programmatic-dependent-launch.
constexpr llvm::StringLiteral kPdl = "nvfp4.pdl";
/// Any kernel: an array of #nvfp4.tensor_map, one per tensor-map argument
/// (`!llvm.ptr`), in argument order; those arguments follow the operands.
constexpr llvm::StringLiteral kTensorMaps = "nvfp4.tensor_maps";
/// Any kernel: the operands it copies with cp.async.bulk (array of operand
/// indices), whose addresses must then be kBulkCopyAlign-aligned.
constexpr llvm::StringLiteral kBulkCopyOperands = "nvfp4.bulk_copy_operands";
/// GEMM: the kernel reads A and B decoded into two workspace memrefs
/// (arguments after the operands), filled by the gemm_decode kernels
/// launched before it.
constexpr llvm::StringLiteral kGemmWorkspace = "nvfp4.gemm_workspace";
/// gemm_decode: the workspace the kernel fills, 0 (A's, M rows) or 1 (B's,
/// N rows).
constexpr llvm::StringLiteral kGemmOperand = "nvfp4.gemm_operand";
/// Compiler-internal, between nvfp4-tensor-map-params and
/// nvfp4-grid-constant-params: the lowered (LLVM) parameter index of each
/// tensor map. No runtime reads it.
constexpr llvm::StringLiteral kGridConstantParams =
    "nvfp4.grid_constant_params";
} // namespace kernel_attr

/// The bytes and alignment of a tensor map (CUDA 13's CUtensorMap:
/// 16 x 64-bit words, alignas(128)). The kernel parameter is declared with
/// the same alignment, as nvcc declares a `__grid_constant__ CUtensorMap`.
constexpr int64_t kTensorMapBytes = 128;
constexpr int64_t kTensorMapAlign = 128;
/// The alignment of the global addresses TMA reads: a tensor map's base
/// and row pitch, and a cp.async.bulk source.
constexpr int64_t kBulkCopyAlign = 16;

/// Why TMA (cuTensorMapEncodeTiled) cannot copy boxes of `box` = {bytes per
/// row, rows} of a byte matrix with `swizzle` bytes of shared-memory
/// swizzle (0: none), as an "expected ..." message; std::nullopt when it
/// can. The #nvfp4.tensor_map verifier and a runtime encoding a map ask the
/// same question.
std::optional<std::string> tensorMapBoxError(llvm::ArrayRef<int64_t> box,
                                             int64_t swizzle);

/// Index arithmetic over integers, for a runtime; LoweringBuilder offers
/// the same calls over IR values.
struct IndexArith {
  int64_t idx(int64_t v) const { return v; }
  int64_t addI(int64_t x, int64_t y) const { return x + y; }
  int64_t mulI(int64_t x, int64_t y) const { return x * y; }
  int64_t divI(int64_t x, int64_t d) const { return x / d; }
  int64_t ceilDivI(int64_t x, int64_t d) const { return (x + d - 1) / d; }
  int64_t remI(int64_t x, int64_t d) const { return x % d; }
  int64_t subI(int64_t x, int64_t y) const { return x - y; }
  int64_t minI(int64_t x, int64_t y) const { return x < y ? x : y; }
};

/// The quantization a quantize kernel works on, in `Arith`'s values.
template <typename V>
struct KernelWorkShape {
  V m;      ///< rows of X
  V rows;   ///< rows of the kernel's output (X, or X^T when columnwise)
  V blocks; ///< 16-blocks per output row
  V groups; ///< groups of a grouped launch (read only when `grouped`)
  bool grouped = false;
  bool columnwise = false;
  /// Columns of X (read by `tiles` kernels).
  llvm::function_ref<V()> cols;
  /// Bytes of the output's scale buffer (read by `scale_bytes` kernels).
  llvm::function_ref<V()> scaleBytes;
};

/// The threads a quantize kernel of kind `work` runs over; none for the
/// GEMM kinds. A grouped launch has room for each group's ragged last tile.
template <typename Arith, typename V>
std::optional<V> kernelWorkItems(Arith &a, KernelWork work,
                                 const KernelWorkShape<V> &s) {
  switch (work) {
  case KernelWork::One: // a single thread (per group)
    return s.grouped ? s.groups : a.idx(1);
  case KernelWork::Rows: // a thread per output row
    return s.grouped && s.columnwise ? a.mulI(s.groups, s.rows) : s.rows;
  case KernelWork::RowCTAs: // a thread block per output row
    return a.mulI(s.rows, a.idx(kKernelBlockThreads));
  case KernelWork::Windows: // a thread per (row, 64-wide window)
    return a.mulI(s.rows, a.ceilDivI(s.blocks, 4));
  case KernelWork::RowBlocks: // a thread per (row, 16-block)
    return a.mulI(s.rows, s.blocks);
  case KernelWork::RowBlockQuads: // a thread per (row, 4 of its 16-blocks)
    return a.mulI(s.rows, a.ceilDivI(s.blocks, 4));
  case KernelWork::TileBlocks: // a thread per (16-row tile, 16-block)
    return s.grouped && !s.columnwise
               ? a.mulI(a.addI(a.divI(s.m, 16), s.groups), s.blocks)
               : a.mulI(a.ceilDivI(s.rows, 16), s.blocks);
  case KernelWork::ScaleBytes: // a thread per byte of the scale buffer
    return s.scaleBytes();
  case KernelWork::Tiles: { // a thread block per strip of tiles (both outputs)
    auto tileRows = s.grouped ? a.addI(a.divI(s.m, kTileRows), s.groups)
                              : a.ceilDivI(s.m, kTileRows);
    auto strips = a.ceilDivI(a.ceilDivI(s.cols(), kTileCols), kTileStripTiles);
    return a.mulI(a.mulI(tileRows, strips), a.idx(kKernelBlockThreads));
  }
  case KernelWork::Gemm:
  case KernelWork::GroupedGemm:
  case KernelWork::GemmDecode:
    return std::nullopt;
  }
  return std::nullopt;
}

/// K of a GEMM's decoded operands: whole 64-wide chunks (the predecoded
/// GEMM's K step), zeros past K.
constexpr int64_t kGemmDecodedKAlign = 64;
template <typename Arith, typename V>
V gemmDecodedK(Arith &a, V k) {
  return a.mulI(a.ceilDivI(k, kGemmDecodedKAlign), a.idx(kGemmDecodedKAlign));
}

/// Threads of a gemm_decode kernel filling `rows` rows of a workspace of a
/// K-element operand: one per 16 elements of its gemmDecodedK(K) columns
/// (grid: kernelBlocks of it).
template <typename Arith, typename V>
V gemmDecodeItems(Arith &a, V rows, V k) {
  return a.mulI(rows, a.divI(gemmDecodedK(a, k), 16));
}

/// Thread blocks of a quantize kernel running `workItems` threads.
template <typename Arith, typename V>
V kernelBlocks(Arith &a, V workItems) {
  return a.ceilDivI(workItems, kKernelBlockThreads);
}

/// A GEMM kernel's 1-D grid is tileRows * tileCols blocks (tile row
/// blockIdx.x / tileCols).
template <typename V>
struct GemmTileGrid {
  V tileRows, tileCols;
};

/// The tiles of an M x N result in tileM x tileN tiles; a grouped launch
/// adds `extraTileRows()` rows (each group's ragged last tile row).
template <typename Arith, typename V>
GemmTileGrid<V> gemmTileGrid(Arith &a, V m, V n, int64_t tileM, int64_t tileN,
                             llvm::function_ref<V()> extraTileRows = {}) {
  V tileCols = a.ceilDivI(n, tileN);
  V tileRows = a.ceilDivI(m, tileM);
  if (extraTileRows)
    tileRows = a.addI(tileRows, extraTileRows());
  return {tileRows, tileCols};
}

/// Tile rows per band of gemmBandedTile: with 128 x 256 tiles, 16 rows of
/// A's tiles (2048 rows) beside the ~8 tile columns of B (~2100 rows) that
/// the rest of a wave of 132 blocks covers, the fewest distinct operand rows
/// a wave reads per K chunk (docs/Rationale.md, "Large-M tiles in bands").
constexpr int64_t kGemmBandRows = 16;

/// A tile of a GEMM's grid: its tile row and tile column.
template <typename V>
struct GemmTileIndex {
  V row, col;
};

/// Tile `tile` (0 .. tileRows * tileCols - 1) of `grid` when the large-M
/// kernels walk it in bands of kGemmBandRows tile rows: down a band's rows
/// first, then across N, then the next band (the last band may have fewer
/// rows). A bijection onto the grid, so the 1-D launch of gemmTileGrid's
/// blocks covers every tile once.
template <typename Arith, typename V>
GemmTileIndex<V> gemmBandedTile(Arith &a, V tile, GemmTileGrid<V> grid) {
  V perBand = a.mulI(grid.tileCols, a.idx(kGemmBandRows));
  V first = a.mulI(a.divI(tile, perBand), a.idx(kGemmBandRows));
  V rows = a.minI(a.subI(grid.tileRows, first), a.idx(kGemmBandRows));
  V local = a.remI(tile, perBand);
  return {a.addI(first, a.remI(local, rows)), a.divI(local, rows)};
}

} // namespace nvfp4
} // namespace mlir

#endif // NVFP4_DIALECT_NVFP4_IR_NVFP4KERNELINTERFACE_H
