//===- MatmulLaunch.cpp - Enqueue compiled GEMM kernels -------------------===//

#include "MatmulLaunch.h"
#include "Errors.h"
#include "KernelParams.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Runtime/Matmul.h"

using namespace llvm;
using namespace mlir::nvfp4;

namespace nvfp4 {

int64_t pickGemmClusterSplit(int64_t tiles, int64_t chunks,
                             int64_t residentBlocks, int64_t maxSplit) {
  if (tiles <= 0 || maxSplit <= 1)
    return 1;
  // One wave: every cluster's CTAs resident at once, so the split only
  // fills SMs the tiles leave idle, never adds a second wave.
  int64_t split = std::min(maxSplit, residentBlocks / tiles);
  split = std::min(split, chunks / kGemmSplitMinChunks);
  return std::max<int64_t>(split, 1);
}

namespace detail {
namespace {
/// The cluster size kernel `k` is launched with for `tiles` tiles and K in
/// `chunks` 64-wide chunks: 1 unless it splits K over a cluster and the
/// device launches clusters; else the device's forced split (capped by
/// the kernel's), or pickGemmClusterSplit's.
Expected<int64_t> clusterSplit(CudaDevice &device, CudaDevice::Module &module,
                               const KernelInfo &k, int64_t tiles,
                               int64_t chunks) {
  if (k.clusterSplit <= 1 || !device.clusterLaunch())
    return 1;
  if (unsigned forced = device.gemmClusterSplit())
    return std::min<int64_t>(forced, k.clusterSplit);
  auto perSM = device.residentBlocksPerSM(module, k.name, unsigned(k.threads),
                                          unsigned(k.sharedBytes));
  if (!perSM)
    return perSM.takeError();
  return pickGemmClusterSplit(tiles, chunks,
                              int64_t(*perSM) * device.multiprocessors(),
                              k.clusterSplit);
}

/// The kernel of `compiled` that serves `m` rows (the first whose
/// `nvfp4.gemm_max_m` admits it, as the lowered host code picks) and its
/// 1-D grid: `extraTileRows` tile rows beyond ceil(m / tileM) (a grouped
/// launch's ragged last tile per group), times the cluster size for a
/// kernel that splits K (`k` elements) over a cluster.
Error enqueueServing(CudaDevice &device, const CompiledQuantize &compiled,
                     CudaDevice::Module &module, KernelWork work, int64_t m,
                     int64_t n, int64_t k, int64_t extraTileRows,
                     KernelParams &params, void *stream) {
  SmallVector<void *> args = params.pointers();
  for (const KernelInfo &kernel : compiled.kernels) {
    if (kernel.work != work)
      return makeError(Twine("unexpected kernel work kind '") +
                       stringifyKernelWork(kernel.work) + "' in " +
                       kernel.name + " (expected " +
                       stringifyKernelWork(work) + ")");
    if (kernel.maxM != 0 && m > kernel.maxM)
      continue;
    IndexArith arith;
    auto extra = [&] { return extraTileRows; };
    auto [tileRows, tileCols] = gemmTileGrid<IndexArith, int64_t>(
        arith, m, n, kernel.tileM, kernel.tileN, extra);
    if (tileRows > int64_t(UINT32_MAX >> 1) / tileCols)
      return makeError("GEMM of " + Twine(m) + " x " + Twine(n) +
                       " needs more thread blocks than a 1-D grid holds");
    int64_t blocks = tileRows * tileCols;
    // A persistent kernel walks tiles blockIdx.x + i * gridDim.x: one
    // block per SM keeps every SM busy without a second wave.
    if (kernel.persistent)
      blocks = std::min<int64_t>(blocks, device.multiprocessors());
    auto split = clusterSplit(device, module, kernel, blocks,
                              arith.ceilDivI(k, 64));
    if (!split)
      return split.takeError();
    if (blocks * *split > int64_t(UINT32_MAX >> 1))
      return makeError("GEMM of " + Twine(m) + " x " + Twine(n) +
                       " in clusters of " + Twine(*split) +
                       " needs more thread blocks than a 1-D grid holds");
    // Cluster c = blocks c S .. c S + S - 1 computes tile c.
    return device.launch(module, kernel.name, unsigned(blocks * *split),
                         unsigned(kernel.threads), args, stream,
                         unsigned(kernel.sharedBytes),
                         /*dependent=*/kernel.pdl, unsigned(*split));
  }
  return makeError("internal error: no GEMM kernel serves M = " + Twine(m));
}
} // namespace

Error enqueueMatmul(CudaDevice &device, const CompiledQuantize &compiled,
                    CudaDevice::Module &module, const QuantizedOutput &a,
                    const QuantizedOutput &b, bool bias,
                    ArrayRef<CUdeviceptr> buffers, void *stream) {
  KernelParams params;
  unsigned next = 0;
  for (const QuantizedOutput *q : {&a, &b}) {
    params.addMemRef(buffers[next++], {q->rows, q->cols / 2});
    params.addMemRef(buffers[next++], q->scaleShape);
    params.addMemRef(buffers[next++], q->amaxShape);
  }
  if (bias)
    params.addMemRef(buffers[next++], {b.rows});
  params.addMemRef(buffers[next], {a.rows, b.rows});
  return enqueueServing(device, compiled, module, KernelWork::Gemm, a.rows,
                        b.rows, a.cols, /*extraTileRows=*/0, params, stream);
}

Error enqueueMatmulW4A16(CudaDevice &device, const CompiledQuantize &compiled,
                         CudaDevice::Module &module, int64_t m, int64_t k,
                         const QuantizedOutput &b, bool bias,
                         ArrayRef<CUdeviceptr> buffers, void *stream) {
  KernelParams params;
  params.addMemRef(buffers[0], {m, k});
  params.addMemRef(buffers[1], {b.rows, b.cols / 2});
  params.addMemRef(buffers[2], b.scaleShape);
  params.addMemRef(buffers[3], b.amaxShape);
  if (bias)
    params.addMemRef(buffers[4], {b.rows});
  params.addMemRef(buffers.back(), {m, b.rows});
  return enqueueServing(device, compiled, module, KernelWork::Gemm, m, b.rows,
                        k, /*extraTileRows=*/0, params, stream);
}

Error enqueueMatmulGrouped(CudaDevice &device, const CompiledQuantize &compiled,
                           CudaDevice::Module &module, RecipeAttr aRecipe,
                           RecipeAttr bRecipe, int64_t m, int64_t groups,
                           int64_t n, int64_t k, bool bias,
                           ArrayRef<CUdeviceptr> buffers, void *stream) {
  auto a = matmulOperandShape("A", aRecipe, m, k, groups);
  if (!a)
    return a.takeError();
  auto b = matmulOperandShape("B", bRecipe, n, k);
  if (!b)
    return b.takeError();
  // B is G stacked operands; per-tensor amaxes are one value per group.
  SmallVector<int64_t, 3> bAmax{groups};
  if (bRecipe.getOuter() != OuterGroup::Tensor)
    llvm::append_range(bAmax, b->amaxShape);
  KernelParams params;
  params.addMemRef(buffers[0], {groups});
  params.addMemRef(buffers[1], {m, k / 2});
  params.addMemRef(buffers[2], a->scaleShape);
  params.addMemRef(buffers[3], a->amaxShape);
  params.addMemRef(buffers[4], {groups, n, k / 2});
  params.addMemRef(buffers[5], {groups, b->scaleShape[0], b->scaleShape[1]});
  params.addMemRef(buffers[6], bAmax);
  if (bias)
    params.addMemRef(buffers[7], {groups, n});
  params.addMemRef(buffers.back(), {m, n});
  // Each group may end in a ragged tile row of its own.
  return enqueueServing(device, compiled, module, KernelWork::GroupedGemm, m, n,
                        k, /*extraTileRows=*/groups, params, stream);
}

} // namespace detail
} // namespace nvfp4
