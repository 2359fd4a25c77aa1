//===- GPURunner.h - Recipes and GEMMs compiled to cubins, run --*- C++ -*-===//
//
// Compiles a recipe through `nvfp4-to-ptx` (in process; ptxas through
// gpu-module-to-binary) and runs its kernels through the CUDA driver API.
// Compilation needs no GPU; running needs one and reports its absence as
// an error.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_RUNTIME_GPURUNNER_H
#define NVFP4_RUNTIME_GPURUNNER_H

#include "nvfp4/Dialect/NVFP4/IR/NVFP4KernelInterface.h"
#include "nvfp4/Runtime/CudaDriver.h"
#include "nvfp4/Runtime/Runner.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <array>
#include <string>
#include <vector>

namespace mlir {
class Operation;
} // namespace mlir

namespace nvfp4 {

struct MatmulOptions;

/// A TMA tensor map a kernel takes after its operands (#nvfp4.tensor_map):
/// over operand `operand`, a row-major matrix of bytes, boxes of `box[0]`
/// bytes x `box[1]` rows, `swizzle` bytes of shared-memory swizzle.
struct KernelTensorMap {
  int64_t operand = 0;
  int64_t box[2] = {0, 0};
  int64_t swizzle = 0;
};

/// One kernel of a compiled quantization, in launch order.
struct KernelInfo {
  std::string name;
  /// nvfp4.work: the iteration space its grid is derived from
  /// (NVFP4KernelInterface.h).
  mlir::nvfp4::KernelWork work = mlir::nvfp4::KernelWork::One;
  bool columnwise = false;
  int64_t threads = 0;          ///< threads per block (known block size)
  int64_t tileM = 0, tileN = 0; ///< gemm: the block's tile of D
  int64_t maxM = 0;             ///< gemm: serves M <= maxM (0: any M)
  int64_t sharedBytes = 0;      ///< dynamic shared memory per block
  /// gemm: the kernel walks its tiles in a loop (any grid is correct);
  /// launched with at most one block per SM.
  bool persistent = false;
  /// gemm: the largest thread-block cluster the kernel splits K over
  /// (`nvfp4.gemm_cluster_split`); 1: it is launched without clusters.
  int64_t clusterSplit = 1;
  /// The kernel waits on its predecessor in the stream itself
  /// (`nvfp4.pdl`): it may be launched with programmatic dependent launch.
  bool pdl = false;
  /// The tensor maps the kernel takes, in argument order
  /// (`nvfp4.tensor_maps`); encoded for each launch.
  std::vector<KernelTensorMap> tensorMaps = {};
  /// Operands the kernel reads with cp.async.bulk (`nvfp4.bulk_copy_operands`):
  /// their addresses must be 16-byte aligned.
  std::vector<int64_t> bulkCopyOperands = {};
  /// gemm: the kernel reads A and B from two 16-bit workspaces (M x Kd and
  /// N x Kd, Kd = gemmDecodedK(K)), arguments after the operands, that the
  /// gemm_decode kernels before it fill (`nvfp4.gemm_workspace`).
  bool gemmWorkspace = false;
  /// gemm_decode: the workspace the kernel fills (`nvfp4.gemm_operand`):
  /// 0 A's (M rows), 1 B's (N rows); -1 for every other kernel.
  int64_t gemmOperand = -1;
};

/// The encoding of `map` over operand `buffer` (its name, for messages) of
/// kernel `kernel`, a `shape` byte matrix at device address `address`; an
/// error naming the kernel and the buffer when TMA cannot address it: a
/// shape that is not 2-D and non-empty, an address that is not 16-byte
/// aligned, a row pitch that is not a multiple of 16 bytes or not below
/// 2^40, more than 2^32 elements along a dimension, or a box TMA does not
/// take. Pure: no driver call.
llvm::Expected<TensorMapEncoding>
tensorMapEncoding(const KernelTensorMap &map, llvm::ArrayRef<int64_t> shape,
                  CUdeviceptr address, llvm::StringRef kernel,
                  llvm::StringRef buffer);

/// The KernelInfo of `kernel`, a gpu.func built by nvfp4-to-gpu (its
/// `nvfp4.work` set), from the attributes NVFP4KernelInterface.h lists:
/// everything a runtime launches it with.
KernelInfo describeKernel(mlir::Operation *kernel);

/// A recipe compiled for one GPU target.
struct CompiledQuantize {
  std::vector<char> image; ///< cubin (format bin) or PTX (isa)
  std::vector<KernelInfo> kernels;
};

/// The number of threads kernel `k` runs for the direction described by
/// `o` (its nvfp4.work kind); `groups` is set for a grouped kernel, whose
/// groups split one launch. An unknown kind is an error. Every launcher
/// sizes its grid with this.
llvm::Expected<int64_t>
kernelWorkItems(const KernelInfo &k, const QuantizedOutput &o,
                std::optional<int64_t> groups = std::nullopt);

/// The cluster size S a GEMM kernel that splits K over a cluster
/// (KernelInfo::clusterSplit = `maxSplit` > 1) is launched with, for
/// `tiles` tiles and K in `chunks` 64-wide chunks, on a device whose SMs
/// hold `residentBlocks` blocks of the kernel at once: the largest S <=
/// maxSplit whose grid (tiles x S blocks) still runs in one wave and that
/// leaves each CTA at least kGemmSplitMinChunks chunks; 1 when the tiles
/// alone fill more than half the device's blocks (a split would not add
/// parallelism, only the reduction) or K is short.
int64_t pickGemmClusterSplit(int64_t tiles, int64_t chunks,
                             int64_t residentBlocks, int64_t maxSplit);

/// Bytes per element of the GEMM workspaces (KernelInfo::gemmWorkspace):
/// 16-bit floats, the decoded operands.
constexpr int64_t kGemmWorkspaceElementBytes = 2;

/// A gemm_decode kernel that a GEMM launch runs before its GEMM kernel.
struct GemmDecodeLaunch {
  /// Its index in CompiledQuantize::kernels.
  size_t kernel = 0;
  /// The workspace it fills: 0 A's, 1 B's (KernelInfo::gemmOperand).
  int64_t operand = 0;
  /// Its grid: kernelBlocks(gemmDecodeItems(rows, K)) blocks of
  /// kKernelBlockThreads threads, rows M for A's workspace, N for B's.
  int64_t blocks = 0;
};

/// The kernels one GEMM launch runs, as planGemmLaunch picks them from a
/// compiled GEMM's kernel list; the device-dependent parts of the launch
/// (a persistent kernel's cap at one block per SM, the cluster split) are
/// left to the launch.
struct GemmLaunchPlan {
  /// The GEMM kernel that serves M: its index in CompiledQuantize::kernels.
  size_t gemm = 0;
  /// Its tiles (gemmTileGrid's tile rows x tile columns): its grid before
  /// the launch caps or splits it.
  int64_t tiles = 0;
  /// The gemm_decode kernels launched before it, in list order; empty
  /// unless it reads workspaces.
  std::vector<GemmDecodeLaunch> decodes = {};
  /// Columns of both workspaces, gemmDecodedK(K); 0 when the kernel reads
  /// none.
  int64_t decodedK = 0;
  /// Rows of workspace A (M) and B (N); 0 when the kernel reads none.
  int64_t workspaceRows[2] = {0, 0};

  /// The shape of workspace `operand` (0: A, 1: B), row-major 16-bit
  /// elements.
  std::array<int64_t, 2> workspaceShape(int operand) const {
    return {workspaceRows[operand], decodedK};
  }
  /// Bytes of workspace `operand`; 0 when the kernel reads none.
  int64_t workspaceBytes(int operand) const {
    return workspaceRows[operand] * decodedK * kGemmWorkspaceElementBytes;
  }
};

/// What a GEMM of an M x K A and an N x K B runs, from `kernels` (a
/// compiled GEMM's, in launch order) whose GEMM kernels are of kind `work`
/// (gemm or grouped_gemm; `extraTileRows` tile rows are added, a grouped
/// launch's ragged last tile per group): the first GEMM kernel whose
/// `nvfp4.gemm_max_m` admits M, as the lowered host code picks, and, when
/// it reads workspaces, the gemm_decode kernels between the GEMM kernel
/// before it and it, each with its grid, and the workspaces' shapes. An
/// error for a kernel of another kind, a grid a 1-D launch cannot hold, or
/// (internal errors) a list that breaks NVFP4KernelInterface.h's contract:
/// gemm_decode kernels before a GEMM kernel without workspaces, a
/// workspace kernel without a decode of each operand, or either in a
/// grouped GEMM. Pure: no driver call.
llvm::Expected<GemmLaunchPlan>
planGemmLaunch(llvm::ArrayRef<KernelInfo> kernels,
               mlir::nvfp4::KernelWork work, int64_t m, int64_t n, int64_t k,
               int64_t extraTileRows = 0);

/// The fewest 64-wide chunks of K a CTA of a split GEMM is given by
/// pickGemmClusterSplit: below that the cluster's reduction and each
/// warp's loads in flight past its share cost more than the split gains.
constexpr int64_t kGemmSplitMinChunks = 8;

/// Threads per block of every quantize kernel (NVFP4KernelInterface.h).
constexpr int64_t kKernelBlockThreads = mlir::nvfp4::kKernelBlockThreads;

/// The Runner of a GPU target: its host-memory operations copy their
/// inputs to the device, launch and copy the results back (the device is
/// opened on first use; no driver or device is an error). Beside them, the
/// compile and launch steps for callers that hold device buffers.
class GPURunner final : public Runner {
public:
  /// A runner for `chip` (sm_90a, sm_100a, ...); `toolkit` holds ptxas.
  /// `predecodedGemm`: its sm_90a large-M GEMMs of operands without 1x64
  /// windows decode A and B into 16-bit workspaces first (gemm_decode
  /// kernels), then multiply them (nvfp4-to-ptx's predecoded-gemm; the
  /// launch allocates the workspaces stream-ordered). The default: on an
  /// H100 it is 1.9-3.0x faster than decoding inside the wgmma kernel's
  /// loop at M >= 4096 (docs/Performance.md); off, they decode in the
  /// software-pipelined kernel's loop (1x64 windows always do).
  /// The environment variable NVFP4_GEMM_PREDECODE, read by each create(),
  /// overrides the argument for any runner: `1` on, `0` off (unset or
  /// empty: the argument; anything else is an error).
  /// `warpSpecializedGemm` (nvfp4-to-ptx's warp-specialized-gemm): with
  /// predecodedGemm, the warp-specialized predecoded kernel (a TMA producer
  /// warpgroup, two wgmma warpgroups, persistent; W4A16 keeps the
  /// software-pipelined predecoded kernel); without it, and for 1x64
  /// windows, the in-loop kernel with a decoding warpgroup fed by TMA (K a
  /// multiple of 32).
  static llvm::Expected<std::unique_ptr<GPURunner>>
  create(llvm::StringRef chip, llvm::StringRef toolkit = "/usr/local/cuda",
         bool warpSpecializedGemm = false, bool predecodedGemm = true);
  ~GPURunner() override;

  /// The GEMM lowering options the runner compiles with (create()); a
  /// cache of its compiled GEMMs outside the runner must key on them.
  bool warpSpecializedGemm() const;
  bool predecodedGemm() const;

  llvm::StringRef target() const override;
  mlir::MLIRContext &getContext() override;
  llvm::Expected<mlir::nvfp4::RecipeAttr>
  parseRecipe(llvm::StringRef text) override;

  /// Compiles `recipe` for the runner's chip (`format`: bin or isa).
  /// Cached per (recipe, type, format). Needs no GPU.
  llvm::Expected<const CompiledQuantize *>
  compile(mlir::nvfp4::RecipeAttr recipe, ElementType type,
          llvm::StringRef format = "bin");

  /// Quantizes host data on the GPU (copies in, launches, copies out). The
  /// device is opened on first use; no driver or device is an error. A
  /// recipe with a given outer scale reads `given` (applyGivenAmax), copied
  /// to the device amax buffers.
  llvm::Expected<QuantizeResult> quantize(mlir::nvfp4::RecipeAttr recipe,
                                          ElementType type, const void *input,
                                          int64_t rows, int64_t cols,
                                          const GivenAmax &given = {}) override;

  /// Enqueues the kernels of `compiled` on device buffers given in operand
  /// order (input, then data, scale and amax per direction) whose shapes
  /// are `outputs`' (from allocateOutputs). With a given outer scale the
  /// amax buffers hold it and are only read. Does not synchronize.
  llvm::Error launch(const CompiledQuantize &compiled, CudaDevice::Module &module,
                     int64_t rows, int64_t cols, const QuantizeResult &outputs,
                     llvm::ArrayRef<CUdeviceptr> buffers);

  /// The device, opening it if needed.
  llvm::Expected<CudaDevice *> device();

  /// `compiled` loaded on the device (once per runner; the runner owns it).
  llvm::Expected<CudaDevice::Module *> load(const CompiledQuantize &compiled);

  /// Compiles `nvfp4.amax` of `recipe` (the quantize's amax kernels,
  /// without the encode). Cached like compile(). Needs no GPU.
  llvm::Expected<const CompiledQuantize *>
  compileAmax(mlir::nvfp4::RecipeAttr recipe, ElementType type,
              llvm::StringRef format = "bin");

  /// HostRunner::amax on the GPU (copies in, launches, copies out).
  llvm::Expected<QuantizeResult> amax(mlir::nvfp4::RecipeAttr recipe,
                                      ElementType type, const void *input,
                                      int64_t rows, int64_t cols) override;

  /// Enqueues compileAmax()'s kernels on device buffers in operand order:
  /// input, then the amax of each direction, shaped as `outputs`
  /// (allocateAmaxOutputs or describeOutputs). Does not synchronize.
  llvm::Error launchAmax(const CompiledQuantize &compiled,
                         CudaDevice::Module &module, int64_t rows,
                         int64_t cols, const QuantizeResult &outputs,
                         llvm::ArrayRef<CUdeviceptr> buffers);

  //===--------------------------------------------------------------------===//
  // Grouped (MoE) quantization: nvfp4.grouped_quantize
  //===--------------------------------------------------------------------===//

  /// Compiles the grouped form of `recipe` (one launch per kernel over all
  /// groups). Cached like compile(). Needs no GPU.
  llvm::Expected<const CompiledQuantize *>
  compileGrouped(mlir::nvfp4::RecipeAttr recipe, ElementType type,
                 llvm::StringRef format = "bin");

  /// HostRunner::quantizeGrouped on the GPU: same checks of `splits`, same
  /// outputs (allocateOutputs with `splits.size()` groups).
  llvm::Expected<QuantizeResult>
  quantizeGrouped(mlir::nvfp4::RecipeAttr recipe, ElementType type,
                  const void *input, int64_t rows, int64_t cols,
                  llvm::ArrayRef<int64_t> splits,
                  const GivenAmax &given = {}) override;

  /// Enqueues the kernels of compileGrouped() on device buffers in operand
  /// order: input, splits (`groups` int64 values), then data, scale and amax
  /// per direction, shaped as `outputs` (allocateOutputs with `groups`).
  /// The splits are read on the device and not checked here: they must
  /// meet quantizeGrouped()'s conditions. Does not synchronize.
  llvm::Error launchGrouped(const CompiledQuantize &compiled,
                            CudaDevice::Module &module, int64_t rows,
                            int64_t cols, int64_t groups,
                            const QuantizeResult &outputs,
                            llvm::ArrayRef<CUdeviceptr> buffers);

  //===--------------------------------------------------------------------===//
  // Dequantization: nvfp4.dequantize
  //===--------------------------------------------------------------------===//

  /// Compiles the dequantization of one direction of `recipe` to `output`
  /// elements; `amaxRank` is that direction's amax rank (2 for window
  /// recipes, else 1). One kernel, a thread per 16-block. Needs no GPU.
  llvm::Expected<const CompiledQuantize *>
  compileDequantize(mlir::nvfp4::RecipeAttr recipe, ElementType output,
                    unsigned amaxRank, llvm::StringRef format = "bin");

  /// HostRunner::dequantize on the GPU: `q` (one direction of a
  /// quantization with `recipe`) back to f32, with the same checks.
  llvm::Expected<std::vector<float>>
  dequantize(mlir::nvfp4::RecipeAttr recipe, const QuantizedOutput &q) override;

  /// Enqueues compileDequantize()'s kernel on device buffers in operand
  /// order: data (`rows x cols/2` bytes), scale (`scaleShape`), amax
  /// (`amaxShape`), output (`rows x cols` elements of the compiled type).
  /// Shapes are not checked here. Does not synchronize.
  llvm::Error launchDequantize(const CompiledQuantize &compiled,
                               CudaDevice::Module &module, int64_t rows,
                               int64_t cols, llvm::ArrayRef<int64_t> scaleShape,
                               llvm::ArrayRef<int64_t> amaxShape,
                               llvm::ArrayRef<CUdeviceptr> buffers);

  //===--------------------------------------------------------------------===//
  // Producers (SPEC.md section 15): rms_norm, gated_act, fused or alone
  //===--------------------------------------------------------------------===//

  /// Compiles the producer `spec` alone (`recipe` null) or fused into the
  /// quantize with `recipe`, for inputs of `type`. Cached by everything
  /// in the spec. Needs no GPU.
  llvm::Expected<const CompiledQuantize *>
  compileProducer(const ProducerSpec &spec, ElementType type,
                  mlir::nvfp4::RecipeAttr recipe,
                  llvm::StringRef format = "bin");

  /// Enqueues compileProducer()'s kernels on `stream` on device buffers in
  /// operand order (producerOperands for a rows x cols input, then data,
  /// scale and amax per direction of `outputs`, which is null for the
  /// producer alone and shaped by describeOutputs on the producer's result
  /// otherwise). Does not synchronize.
  llvm::Error launchProducer(const CompiledQuantize &compiled,
                             CudaDevice::Module &module,
                             const ProducerSpec &spec, int64_t rows,
                             int64_t cols, const QuantizeResult *outputs,
                             llvm::ArrayRef<CUdeviceptr> buffers,
                             void *stream = nullptr);

  /// Lowers the module `build` returns through nvfp4-to-ptx once per
  /// (`key`, `format`) and returns the image and its kernels in launch
  /// order. For every kind of kernel module (quantize, matmul, ...).
  llvm::Expected<const CompiledQuantize *>
  compileCached(llvm::StringRef key, llvm::StringRef format,
                llvm::function_ref<mlir::OwningOpRef<mlir::ModuleOp>()> build);

  /// D = A * B^T on the GPU (`nvfp4.matmul`): the GPU twin of
  /// HostRunner::matmul, same arguments and checks (GPUMatmul.cpp).
  llvm::Expected<std::vector<uint8_t>>
  matmul(mlir::nvfp4::RecipeAttr aRecipe, const QuantizedOutput &a,
         mlir::nvfp4::RecipeAttr bRecipe, const QuantizedOutput &b,
         const MatmulOptions &options) override;

  /// The grouped (MoE) GEMM on the GPU: the twin of
  /// HostRunner::matmulGrouped (same arguments and checks): operands and
  /// splits copied to the device, one launch of the grouped kernel
  /// (GPUGroupedMatmul.cpp).
  llvm::Expected<std::vector<uint8_t>>
  matmulGrouped(mlir::nvfp4::RecipeAttr aRecipe, const QuantizedOutput &a,
                llvm::ArrayRef<int64_t> splits, mlir::nvfp4::RecipeAttr bRecipe,
                llvm::ArrayRef<QuantizedOutput> b,
                const MatmulOptions &options) override;

  /// Compiles the GEMM of these recipes (cubin). Needs no GPU.
  llvm::Expected<const CompiledQuantize *>
  compileMatmul(mlir::nvfp4::RecipeAttr aRecipe,
                mlir::nvfp4::RecipeAttr bRecipe, const MatmulOptions &options,
                llvm::StringRef format = "bin");

  /// Enqueues a compiled GEMM on `stream` (a CUstream; null: the legacy
  /// default stream) on device buffers in operand order (a data, scale,
  /// amax, b data, scale, amax, [bias], output); the shapes are those of
  /// `a` and `b` (`N` rows of B; their byte vectors are not read). Does
  /// not synchronize.
  llvm::Error launchMatmul(const CompiledQuantize &compiled,
                           CudaDevice::Module &module,
                           const QuantizedOutput &a, const QuantizedOutput &b,
                           bool bias, llvm::ArrayRef<CUdeviceptr> buffers,
                           void *stream = nullptr);

  /// W4A16 on the GPU (`nvfp4.matmul_w4a16`): the twin of
  /// HostRunner::matmulW4A16, same arguments and checks.
  llvm::Expected<std::vector<uint8_t>>
  matmulW4A16(ElementType aType, const void *a, int64_t m, int64_t k,
              mlir::nvfp4::RecipeAttr bRecipe, const QuantizedOutput &b,
              const MatmulOptions &options) override;

  /// Compiles the W4A16 GEMM of an `aType` A and a `bRecipe` B. Needs no
  /// GPU.
  llvm::Expected<const CompiledQuantize *>
  compileMatmulW4A16(ElementType aType, mlir::nvfp4::RecipeAttr bRecipe,
                     const MatmulOptions &options,
                     llvm::StringRef format = "bin");

  /// Enqueues a compiled W4A16 GEMM on `stream` on device buffers in
  /// operand order (a, b data, scale, amax, [bias], output); A is M x K,
  /// B has the shapes of `b`. Does not synchronize.
  llvm::Error launchMatmulW4A16(const CompiledQuantize &compiled,
                                CudaDevice::Module &module, int64_t m,
                                int64_t k, const QuantizedOutput &b, bool bias,
                                llvm::ArrayRef<CUdeviceptr> buffers,
                                void *stream = nullptr);

  /// Compiles the grouped GEMM (`nvfp4.grouped_matmul`) of these recipes:
  /// one launch over every group, the group sizes read on the device
  /// (GPUGroupedMatmul.cpp). `options.bias` only says whether there is a
  /// bias operand. Needs no GPU.
  llvm::Expected<const CompiledQuantize *>
  compileMatmulGrouped(mlir::nvfp4::RecipeAttr aRecipe,
                       mlir::nvfp4::RecipeAttr bRecipe,
                       const MatmulOptions &options,
                       llvm::StringRef format = "bin");

  /// Enqueues compileMatmulGrouped()'s kernel on `stream` on device buffers
  /// in operand order: splits (`groups` int64 values), a data, scale, amax
  /// (M rows, a grouped quantization's shapes), b data, scale, amax (G
  /// stacked N x K operands), [bias (G x N)], output (M x N). The splits
  /// are read on the device only. Does not synchronize.
  llvm::Error launchMatmulGrouped(const CompiledQuantize &compiled,
                                  CudaDevice::Module &module,
                                  mlir::nvfp4::RecipeAttr aRecipe,
                                  mlir::nvfp4::RecipeAttr bRecipe, int64_t m,
                                  int64_t groups, int64_t n, int64_t k,
                                  bool bias, llvm::ArrayRef<CUdeviceptr> buffers,
                                  void *stream);

protected:
  llvm::Expected<ProducerResult> runProducer(const ProducerCall &call,
                                             QuantizeResult *outputs) override;

private:
  GPURunner();
  struct Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace nvfp4

#endif // NVFP4_RUNTIME_GPURUNNER_H
