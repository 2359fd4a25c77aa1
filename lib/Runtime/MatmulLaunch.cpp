//===- MatmulLaunch.cpp - Enqueue compiled GEMM kernels -------------------===//

#include "MatmulLaunch.h"
#include "Errors.h"
#include "KernelParams.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Runtime/Matmul.h"

#include "llvm/Support/MathExtras.h"

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

Expected<GemmLaunchPlan> planGemmLaunch(ArrayRef<KernelInfo> kernels,
                                        KernelWork work, int64_t m, int64_t n,
                                        int64_t k, int64_t extraTileRows) {
  auto internal = [](const Twine &why) {
    return detail::makeError("internal error: " + why);
  };
  IndexArith arith;
  // The gemm_decode kernels since the last GEMM kernel: those of the next.
  std::vector<size_t> decodes;
  for (size_t i = 0; i < kernels.size(); ++i) {
    const KernelInfo &kernel = kernels[i];
    if (kernel.work == KernelWork::GemmDecode) {
      if (work != KernelWork::Gemm)
        return internal(Twine("gemm_decode kernel ") + kernel.name + " in a " +
                        stringifyKernelWork(work) + " launch");
      decodes.push_back(i);
      continue;
    }
    if (kernel.work != work)
      return detail::makeError(Twine("unexpected kernel work kind '") +
                               stringifyKernelWork(kernel.work) + "' in " +
                               kernel.name + " (expected " +
                               stringifyKernelWork(work) + ")");
    if (kernel.gemmWorkspace && work != KernelWork::Gemm)
      return internal(Twine("workspace kernel ") + kernel.name + " in a " +
                      stringifyKernelWork(work) + " launch");
    if (kernel.maxM != 0 && m > kernel.maxM) {
      decodes.clear();
      continue;
    }
    GemmLaunchPlan plan;
    plan.gemm = i;
    auto extra = [&] { return extraTileRows; };
    auto [tileRows, tileCols] = gemmTileGrid<IndexArith, int64_t>(
        arith, m, n, kernel.tileM, kernel.tileN, extra);
    if (tileRows > int64_t(UINT32_MAX >> 1) / tileCols)
      return detail::makeError("GEMM of " + Twine(m) + " x " + Twine(n) +
                               " needs more thread blocks than a 1-D grid "
                               "holds");
    plan.tiles = tileRows * tileCols;
    if (!kernel.gemmWorkspace) {
      if (!decodes.empty())
        return internal(Twine("gemm_decode kernel ") + kernels[decodes[0]].name +
                        " before " + kernel.name + ", which reads no "
                        "workspace");
      return plan;
    }
    plan.decodedK = gemmDecodedK(arith, k);
    plan.workspaceRows[0] = m;
    plan.workspaceRows[1] = n;
    bool filled[2] = {false, false};
    for (size_t d : decodes) {
      const KernelInfo &decode = kernels[d];
      if (decode.gemmOperand != 0 && decode.gemmOperand != 1)
        return internal(Twine("gemm_decode kernel ") + decode.name +
                        " fills workspace " + Twine(decode.gemmOperand) +
                        " (expected 0 or 1)");
      // kernelBlocks counts blocks of kKernelBlockThreads threads.
      if (decode.threads != kKernelBlockThreads)
        return internal(Twine("gemm_decode kernel ") + decode.name + " runs " +
                        Twine(decode.threads) + " threads per block (expected " +
                        Twine(kKernelBlockThreads) + ")");
      int64_t rows = plan.workspaceRows[decode.gemmOperand];
      int64_t blocks =
          kernelBlocks(arith, gemmDecodeItems(arith, rows, k));
      if (blocks > int64_t(UINT32_MAX >> 1))
        return detail::makeError(Twine("decoding the ") + Twine(rows) + " x " +
                                 Twine(k) + " GEMM operand needs more thread "
                                 "blocks than a 1-D grid holds");
      filled[decode.gemmOperand] = true;
      plan.decodes.push_back({d, decode.gemmOperand, blocks});
    }
    for (int operand : {0, 1})
      if (!filled[operand])
        return internal(Twine("no gemm_decode kernel fills workspace ") +
                        (operand == 0 ? "A" : "B") + " of " + kernel.name);
    return plan;
  }
  return internal(Twine("no GEMM kernel serves M = ") + Twine(m));
}

Expected<TensorMapEncoding>
tensorMapEncoding(const KernelTensorMap &map, ArrayRef<int64_t> shape,
                  CUdeviceptr address, StringRef kernel, StringRef buffer) {
  auto fail = [&](const Twine &why) {
    return detail::makeError(
        "cannot encode the tensor map (cuTensorMapEncodeTiled) "
        "of " +
        buffer + " for " + kernel + ": " + why);
  };
  if (shape.size() != 2 || shape[0] < 1 || shape[1] < 1)
    return fail("expected a non-empty 2-D byte matrix");
  if (address % kBulkCopyAlign != 0)
    return fail("its address 0x" + Twine::utohexstr(address) +
                " is not 16-byte aligned");
  uint64_t rows = uint64_t(shape[0]), rowBytes = uint64_t(shape[1]);
  if (rowBytes % kBulkCopyAlign != 0)
    return fail("its row pitch of " + Twine(rowBytes) +
                " bytes is not a multiple of 16");
  // cuTensorMapEncodeTiled: dimensions at most 2^32 (the pitch, at most
  // 2^32 bytes then, is below its 2^40 bound for strides).
  if (rows > (uint64_t(1) << 32) || rowBytes > (uint64_t(1) << 32))
    return fail("its " + Twine(rows) + " x " + Twine(rowBytes) +
                " bytes exceed TMA's 2^32 elements per dimension");
  // The box rules the #nvfp4.tensor_map verifier applies: a map read back
  // from a damaged description is refused, not encoded.
  if (std::optional<std::string> why = tensorMapBoxError(map.box, map.swizzle))
    return fail(*why);
  // CUtensorMapSwizzle: none, then 32, 64 and 128 bytes as 1, 2, 3.
  int swizzle = map.swizzle == 0 ? 0 : int(Log2_64(uint64_t(map.swizzle) / 16));
  TensorMapEncoding e;
  e.dims[0] = rowBytes;
  e.dims[1] = rows;
  e.strides[0] = rowBytes;
  e.box[0] = uint32_t(map.box[0]);
  e.box[1] = uint32_t(map.box[1]);
  e.elementStrides[0] = e.elementStrides[1] = 1;
  e.swizzle = swizzle;
  return e;
}

namespace detail {
namespace {
/// A 2-D operand's shape as the byte matrix a tensor map views: rows, and
/// bytes per row.
SmallVector<int64_t, 3> byteShape(const KernelParams::Operand &o) {
  SmallVector<int64_t, 3> shape = o.shape;
  if (shape.size() == 2)
    shape[1] *= o.elementBytes;
  return shape;
}

/// Encodes the tensor maps `kernel` takes into `params` (after its memref
/// operands) and checks the operands it copies with cp.async.bulk; an error
/// naming the kernel, the buffer and the constraint, before anything is
/// enqueued.
Error prepareTensorMaps(CudaDevice &device, const KernelInfo &kernel,
                        KernelParams &params) {
  ArrayRef<KernelParams::Operand> operands = params.memRefs();
  auto operand = [&](int64_t i) -> Expected<const KernelParams::Operand *> {
    if (i < 0 || size_t(i) >= operands.size())
      return makeError("internal error: " + kernel.name + " names operand " +
                       Twine(i) + " of " + Twine(operands.size()));
    return &operands[size_t(i)];
  };
  for (int64_t i : kernel.bulkCopyOperands) {
    auto o = operand(i);
    if (!o)
      return o.takeError();
    if ((*o)->ptr % kBulkCopyAlign != 0)
      return makeError(Twine("expected ") + (*o)->name +
                       " to be 16-byte "
                       "aligned for " +
                       kernel.name + " (cp.async.bulk), got address 0x" +
                       Twine::utohexstr((*o)->ptr));
  }
  MutableArrayRef<KernelParams::TensorMap> maps =
      params.resetTensorMaps(kernel.tensorMaps.size());
  for (auto [map, storage] : llvm::zip(kernel.tensorMaps, maps)) {
    auto o = operand(map.operand);
    if (!o)
      return o.takeError();
    auto encoding =
        tensorMapEncoding(map, byteShape(**o), (*o)->ptr, kernel.name,
                          (*o)->name);
    if (!encoding)
      return encoding.takeError();
    if (Error e = device.encodeTensorMap(storage.words, (*o)->ptr, *encoding))
      return makeError("cannot encode the tensor map of " + (*o)->name +
                       " for " + kernel.name + ": " + toString(std::move(e)));
  }
  return Error::success();
}

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

/// Launches kernel `k` of a GEMM on `args`: `blocks` blocks of its tile
/// grid (a persistent kernel at most one per SM), in clusters when it
/// splits K (`k` elements) over one, with its tensor maps encoded into
/// `params`.
Error launchGemmKernel(CudaDevice &device, CudaDevice::Module &module,
                       const KernelInfo &kernel, int64_t m, int64_t n,
                       int64_t k, int64_t blocks, KernelParams &params,
                       void *stream) {
  // A persistent kernel walks tiles blockIdx.x + i * gridDim.x: one
  // block per SM keeps every SM busy without a second wave.
  if (kernel.persistent)
    blocks = std::min<int64_t>(blocks, device.multiprocessors());
  IndexArith arith;
  auto split =
      clusterSplit(device, module, kernel, blocks, arith.ceilDivI(k, 64));
  if (!split)
    return split.takeError();
  if (blocks * *split > int64_t(UINT32_MAX >> 1))
    return makeError("GEMM of " + Twine(m) + " x " + Twine(n) +
                     " in clusters of " + Twine(*split) +
                     " needs more thread blocks than a 1-D grid holds");
  // The maps are host copies the driver reads at the launch call (and at
  // graph capture): `params` outlives it.
  if (Error e = prepareTensorMaps(device, kernel, params))
    return e;
  SmallVector<void *> args = params.pointers();
  // Cluster c = blocks c S .. c S + S - 1 computes tile c.
  return device.launch(module, kernel.name, unsigned(blocks * *split),
                       unsigned(kernel.threads), args, stream,
                       unsigned(kernel.sharedBytes),
                       /*dependent=*/kernel.pdl, unsigned(*split));
}

/// Enqueues `plan` (a GEMM kernel reading workspaces) on `stream`: both
/// workspaces allocated stream-ordered, so that the launch can be captured
/// into a CUDA graph, added to a copy of `params`, the gemm_decode kernels
/// that fill them, the GEMM kernel, then the workspaces freed on the same
/// stream, also when a launch fails.
Error enqueueWithWorkspaces(CudaDevice &device,
                            const CompiledQuantize &compiled,
                            CudaDevice::Module &module,
                            const GemmLaunchPlan &plan, int64_t m, int64_t n,
                            int64_t k, const KernelParams &params,
                            void *stream) {
  static constexpr const char *kNames[2] = {"GEMM workspace A",
                                            "GEMM workspace B"};
  CUdeviceptr workspaces[2] = {0, 0};
  int allocated = 0;
  auto freeAll = [&]() {
    Error freed = Error::success();
    for (int i = allocated - 1; i >= 0; --i)
      if (Error e = device.freeAsync(workspaces[i], stream))
        freed = joinErrors(std::move(freed),
                           makeError(Twine("cannot free the ") + kNames[i] +
                                     ": " + toString(std::move(e))));
    return freed;
  };
  for (; allocated < 2; ++allocated) {
    int64_t bytes = plan.workspaceBytes(allocated);
    auto ptr = device.allocAsync(size_t(bytes), stream);
    if (!ptr)
      return joinErrors(makeError(Twine("cannot allocate the ") +
                                  kNames[allocated] + " (" + Twine(bytes) +
                                  " bytes): " + toString(ptr.takeError())),
                        freeAll());
    workspaces[allocated] = *ptr;
  }
  KernelParams withWorkspaces = params;
  for (int i = 0; i < 2; ++i)
    withWorkspaces.addMemRef(workspaces[i], plan.workspaceShape(i), kNames[i],
                             kGemmWorkspaceElementBytes);
  auto launchAll = [&]() -> Error {
    for (const GemmDecodeLaunch &decode : plan.decodes) {
      const KernelInfo &kernel = compiled.kernels[decode.kernel];
      if (Error e = prepareTensorMaps(device, kernel, withWorkspaces))
        return e;
      SmallVector<void *> args = withWorkspaces.pointers();
      if (Error e = device.launch(module, kernel.name, unsigned(decode.blocks),
                                  unsigned(kernel.threads), args, stream,
                                  /*sharedBytes=*/0, /*dependent=*/kernel.pdl))
        return e;
    }
    return launchGemmKernel(device, module, compiled.kernels[plan.gemm], m, n,
                            k, plan.tiles, withWorkspaces, stream);
  };
  Error launched = launchAll();
  return joinErrors(std::move(launched), freeAll());
}

/// Enqueues the GEMM of `compiled` that serves `m` rows (planGemmLaunch)
/// on `params`, the op's operands.
Error enqueueServing(CudaDevice &device, const CompiledQuantize &compiled,
                     CudaDevice::Module &module, KernelWork work, int64_t m,
                     int64_t n, int64_t k, int64_t extraTileRows,
                     KernelParams &params, void *stream) {
  auto plan = planGemmLaunch(compiled.kernels, work, m, n, k, extraTileRows);
  if (!plan)
    return plan.takeError();
  const KernelInfo &kernel = compiled.kernels[plan->gemm];
  if (kernel.gemmWorkspace)
    return enqueueWithWorkspaces(device, compiled, module, *plan, m, n, k,
                                 params, stream);
  return launchGemmKernel(device, module, kernel, m, n, k, plan->tiles, params,
                          stream);
}
} // namespace

Error enqueueMatmul(CudaDevice &device, const CompiledQuantize &compiled,
                    CudaDevice::Module &module, const QuantizedOutput &a,
                    const QuantizedOutput &b, bool bias,
                    ArrayRef<CUdeviceptr> buffers, void *stream) {
  KernelParams params;
  params.addMemRef(buffers[0], {a.rows, a.cols / 2}, "A data");
  params.addMemRef(buffers[1], a.scaleShape, "A scale");
  params.addMemRef(buffers[2], a.amaxShape, "A amax");
  params.addMemRef(buffers[3], {b.rows, b.cols / 2}, "B data");
  params.addMemRef(buffers[4], b.scaleShape, "B scale");
  params.addMemRef(buffers[5], b.amaxShape, "B amax");
  unsigned next = 6;
  if (bias)
    params.addMemRef(buffers[next++], {b.rows}, "bias");
  params.addMemRef(buffers[next], {a.rows, b.rows}, "output");
  return enqueueServing(device, compiled, module, KernelWork::Gemm, a.rows,
                        b.rows, a.cols, /*extraTileRows=*/0, params, stream);
}

Error enqueueMatmulW4A16(CudaDevice &device, const CompiledQuantize &compiled,
                         CudaDevice::Module &module, int64_t m, int64_t k,
                         const QuantizedOutput &b, bool bias,
                         ArrayRef<CUdeviceptr> buffers, void *stream) {
  KernelParams params;
  params.addMemRef(buffers[0], {m, k}, "A");
  params.addMemRef(buffers[1], {b.rows, b.cols / 2}, "B data");
  params.addMemRef(buffers[2], b.scaleShape, "B scale");
  params.addMemRef(buffers[3], b.amaxShape, "B amax");
  if (bias)
    params.addMemRef(buffers[4], {b.rows}, "bias");
  params.addMemRef(buffers.back(), {m, b.rows}, "output");
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
  params.addMemRef(buffers[0], {groups}, "splits");
  params.addMemRef(buffers[1], {m, k / 2}, "A data");
  params.addMemRef(buffers[2], a->scaleShape, "A scale");
  params.addMemRef(buffers[3], a->amaxShape, "A amax");
  params.addMemRef(buffers[4], {groups, n, k / 2}, "B data");
  params.addMemRef(buffers[5], {groups, b->scaleShape[0], b->scaleShape[1]},
                   "B scale");
  params.addMemRef(buffers[6], bAmax, "B amax");
  if (bias)
    params.addMemRef(buffers[7], {groups, n}, "bias");
  params.addMemRef(buffers.back(), {m, n}, "output");
  // Each group may end in a ragged tile row of its own.
  return enqueueServing(device, compiled, module, KernelWork::GroupedGemm, m, n,
                        k, /*extraTileRows=*/groups, params, stream);
}

} // namespace detail
} // namespace nvfp4
