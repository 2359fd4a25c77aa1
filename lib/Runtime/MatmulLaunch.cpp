//===- MatmulLaunch.cpp - Enqueue compiled GEMM kernels -------------------===//

#include "MatmulLaunch.h"
#include "Errors.h"
#include "KernelParams.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Runtime/Matmul.h"

using namespace llvm;
using namespace mlir::nvfp4;

namespace nvfp4 {
namespace detail {
namespace {
/// The kernel of `compiled` that serves `m` rows (the first whose
/// `nvfp4.gemm_max_m` admits it, as the lowered host code picks) and its
/// 1-D grid: `extraTileRows` tile rows beyond ceil(m / tileM) (a grouped
/// launch's ragged last tile per group).
Error enqueueServing(CudaDevice &device, const CompiledQuantize &compiled,
                     CudaDevice::Module &module, KernelWork work, int64_t m,
                     int64_t n, int64_t extraTileRows, KernelParams &params,
                     void *stream) {
  SmallVector<void *> args = params.pointers();
  for (const KernelInfo &k : compiled.kernels) {
    if (k.work != work)
      return makeError(Twine("unexpected kernel work kind '") +
                       stringifyKernelWork(k.work) + "' in " + k.name +
                       " (expected " + stringifyKernelWork(work) + ")");
    if (k.maxM != 0 && m > k.maxM)
      continue;
    IndexArith arith;
    auto extra = [&] { return extraTileRows; };
    auto [tileRows, tileCols] =
        gemmTileGrid<IndexArith, int64_t>(arith, m, n, k.tileM, k.tileN, extra);
    if (tileRows > int64_t(UINT32_MAX >> 1) / tileCols)
      return makeError("GEMM of " + Twine(m) + " x " + Twine(n) +
                       " needs more thread blocks than a 1-D grid holds");
    int64_t blocks = tileRows * tileCols;
    // A persistent kernel walks tiles blockIdx.x + i * gridDim.x: one
    // block per SM keeps every SM busy without a second wave.
    if (k.persistent)
      blocks = std::min<int64_t>(blocks, device.multiprocessors());
    return device.launch(module, k.name, unsigned(blocks),
                         unsigned(k.threads), args, stream,
                         unsigned(k.sharedBytes), /*dependent=*/k.pdl);
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
  return enqueueServing(device, compiled, module, KernelWork::Gemm, a.rows, b.rows,
                        /*extraTileRows=*/0, params, stream);
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
                        /*extraTileRows=*/0, params, stream);
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
                        /*extraTileRows=*/groups, params, stream);
}

} // namespace detail
} // namespace nvfp4
