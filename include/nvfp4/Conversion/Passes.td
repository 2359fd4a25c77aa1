//===- Passes.td - nvfp4 conversion passes -----------------*- tablegen -*-===//

#ifndef NVFP4_CONVERSION_PASSES_TD
#define NVFP4_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def NVFP4FuseProducers : Pass<"nvfp4-fuse-producers"> {
  let summary = "Fold an nvfp4.rms_norm or nvfp4.gated_act into the quantize of its result";
  let description = [{
    Rewrites a producer (`nvfp4.rms_norm`, `nvfp4.gated_act`) followed by
    an `nvfp4.quantize` of its output into the fused op
    (`nvfp4.rms_norm_quantize`, `nvfp4.gated_act_quantize`), whose kernels
    compute the producer's values where the quantization reads them instead
    of writing and re-reading the whole matrix (SPEC.md section 15: the
    bytes are the same).

    The producer's output `y` is still written when anything else can see
    it: a function argument, a buffer with another user, anything but a
    local `memref.alloc`/`memref.alloca` used only by the two ops (and its
    deallocations); such a temporary is removed. The pair is fused only
    when every op between them is free of memory effects, and only the
    first quantize of a `y` fuses (a second one reads the `y` the fused op
    writes). The RMSNorm's `rstd` and residual write-back move with it.
    Grouped quantizes are left alone.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def NVFP4Expand : Pass<"nvfp4-expand"> {
  let summary = "Expand nvfp4 ops into explicit SPEC.md math over scf loops";
  let description = [{
    Rewrites `nvfp4.quantize`, `nvfp4.grouped_quantize`,
    `nvfp4.dequantize`, `nvfp4.matmul` and `nvfp4.grouped_matmul` into the
    arithmetic of
    SPEC.md (emitted by the numerics builder, `lib/Numerics`) inside `scf.for`
    loops over the operand memrefs: the CPU schedule. Every recipe is
    supported: per-tensor, per-row and 1x64-window outer groups, 1x16 and
    16x16 blocks, both numerics forms, 4over6 selection, stochastic
    rounding, RHT on the columnwise direction, and all scale layouts
    (swizzled buffers are zeroed first, so padding is always 0).

    The schedule reads the input once to compute the outer amaxes (writing
    the amax outputs) and once more to encode; the GPU lowering fuses both
    passes where the outer group fits in a tile. The math is the same
    because both come from the same builder. With a given outer scale
    (`amax = given` or `given_encode_scale`) the first pass is skipped and
    the encode reads the amax operands; `nvfp4.amax` is the first pass
    alone.

    Grouped quantization loops over the groups in order, quantizing each
    group's rows as a tensor of its own (swizzled rowwise scales restart on
    a fresh row tile per group); a split that runs past `M` is clamped so
    the kernel never writes out of bounds (the runtime rejects such splits
    before running it).

    `nvfp4.matmul` and `nvfp4.grouped_matmul` decode on load: B is decoded
    64 rows at a time and A one row at a time into f32 buffers (an E2M1
    value times its E4M3 scale is exact), each output element is summed in
    16 FP32 lanes (`vector<16xf32>`) and reduced in order, and the outer
    scales are applied by the GEMM numerics (`GemmNumerics.h`): in the
    epilogue for per-tensor and per-row operands, per 64-wide K window
    (each window summed on its own, then promoted) when either operand
    uses 1x64 windows. Alpha, bias and the RN output cast follow. Grouped
    GEMMs loop over the groups in order like grouped quantization.

    After this pass no nvfp4 op remains; only `arith`, `memref`, `scf` and
    `vector` ops, and `llvm.intr.fma` where the numerics use an exact FMA.

    Example:

    ```mlir
    nvfp4.quantize %x : memref<4x32xf32> recipe <per_token>
        rowwise(%d : memref<4x16xi8>, %s : memref<4x2xf8E4M3FN>,
                %a : memref<4xf32>)
    // becomes scf.for loops computing amax[r], then per 16-element block
    // the E4M3 scale and 8 packed E2M1 bytes.
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def NVFP4VerifyLLVM : Pass<"nvfp4-verify-llvm", "::mlir::ModuleOp"> {
  let summary = "Fail unless the module is entirely in the LLVM dialect";
  let description = [{
    The last pass of `nvfp4-to-cpu`. Upstream conversions that meet a type
    they cannot convert (a memref in a memory space without an LLVM address
    space, say) report an error but may leave the op in place and let the
    pipeline succeed, so a half-lowered module would be written and the
    tool would exit 0. This pass states the pipeline's contract instead:
    after it, every op under the module is an LLVM dialect op; any other op
    is an error naming it, and the pass fails.

    Example: `func.func @f(%a: memref<4xf32, #gpu.address_space<workgroup>>)`
    survives `finalize-memref-to-llvm` and `convert-func-to-llvm`; this
    pass reports `'func.func' op was not lowered to the LLVM dialect` and
    fails.
  }];
}

def NVFP4ToGPU : Pass<"nvfp4-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Map nvfp4 quantize, grouped_quantize, amax, dequantize and matmul ops onto GPU kernels";
  let description = [{
    Replaces each `nvfp4.quantize`, `nvfp4.grouped_quantize`, `nvfp4.amax`,
    `nvfp4.dequantize` and `nvfp4.matmul` by `gpu.launch_func` ops and the
    kernels they launch, in a new `gpu.module` (the module becomes a
    `gpu.container_module`). The kernels emit the same SPEC.md math as the
    CPU path, through the same numerics builder (and, for quantization, the
    same emitter in `lib/Conversion/Common`); only the schedule differs.

    Quantization kernels per direction, in launch order (`nvfp4.work` says
    how many threads each needs):
    * swizzled layouts: `zero`, one thread per scale byte (`scale_bytes`);
    * rowwise per-row and 1x64 outer groups: one fused `amax_encode` kernel
      that reads the input once, a thread block per row (`row_ctas`: block
      reduction of the row amax, then the row's blocks) or a thread per
      64-wide window (`windows`);
    * otherwise `amax_init` (per-tensor: one thread, `one`; columnwise
      per-row: a thread per row, `rows`), `amax` (per-tensor rowwise: a
      thread block per row with one atomic per row; columnwise per-row: a
      thread per block with atomics; columnwise per-tensor: a thread per row
      of X^T) and `encode` (four 1x16 blocks per thread, `row_block_quads`;
      a thread per columnwise block, `row_blocks`; a thread per 16x16 tile,
      `tile_blocks`).
    With a given outer scale each direction is its `encode` kernel alone
    (after `zero` for a swizzled layout), reading the amax operand: a
    per-tensor recipe in the linear layout is one launch that reads X
    once. `nvfp4.amax` gets the `amax_init`/`amax` kernels of the
    corresponding quantize (rowwise per-row: `amax` on `row_ctas`; 1x64:
    `amax` on `windows`) and no encode.
    Recipes with both directions and 1x16 blocks use tile kernels instead
    (`tiles`, `nvfp4.direction = "both"`): a thread block per strip of four
    64 x 64 tiles of X along K stages each tile in shared memory once (the
    next tile's loads in flight meanwhile) and quantizes it rowwise and
    columnwise from there, the random Hadamard transform applied once per
    16-element column block. Per-tensor and per-row outer amaxes come from
    an `amax` tile kernel (after `amax_init` for both directions; integer
    atomic max on the amax bits), 1x64 windows from the `encode` tile
    kernel itself, so 1x64 recipes read X once for both directions; with
    a given outer scale only the `encode` tile kernel runs.
    The grouped form launches each kernel once over all groups: a thread
    finds its group from the splits on the device.

    `nvfp4.dequantize` is one kernel, a thread per 16-block. `nvfp4.matmul`
    becomes GEMM kernels (`nvfp4.work = "gemm"`, with `nvfp4.gemm_tile` and
    `nvfp4.gemm_max_m`, and `nvfp4.gemm_smem` for the bytes of dynamic shared
    memory a launch must pass), one per M range, chosen by `scf.if` on M in the
    host code: f16 dequantize-on-load with `mma.sync` (and `wgmma` for large
    M on `sm_90a`), or `tcgen05.mma` with FP4 operands on `sm_100a`
    (docs/Rationale.md). `nvfp4.grouped_matmul` becomes the mma.sync
    kernels with `nvfp4.work = "grouped_gemm"`, launched once over all groups
    (ceil(N / tileN) * (ceil(M / tileM) + G) blocks): each block walks the
    splits in device memory to find its group and runs the plain tile body on
    views of that group's rows, scales, amaxes, B, bias and output.

    Rowwise blocks are read with one vector load each, aligned to the
    block's size: the input's base must be aligned to 16 elements (device
    allocations are 256-byte aligned; a row of K % 16 == 0 elements keeps
    every block aligned).

    Every kernel takes all operands of the op, as memrefs, in operand
    order; `nvfp4.work` and `nvfp4.direction` on each `gpu.func` tell a
    runtime how many threads to launch. Quantization kernels use 256-thread
    blocks (`known_block_size`).

    `chip` selects the target leaves of the numerics builder and the GEMM
    kernels from the full chip name (include/nvfp4/Conversion/Chips.h): the
    arch- and family-specific Blackwell targets (`sm_100a/f`, `sm_103a/f`,
    `sm_110a/f`, `sm_120a/f`, `sm_121a/f`) pack E2M1 pairs with
    `cvt.rn.satfinite.e2m1x2.f32`; every target from `sm_89` encodes E4M3
    scales with `cvt.rn.satfinite.e4m3x2.f32` and decodes the GEMM's with
    `cvt.rn.f16x2.e4m3x2`; everything else is the portable integer
    sequence. A chip outside the table is an error that lists the supported
    chips; `nvfp4.matmul` needs `sm_80` or later.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "Target GPU architecture (sm_90a, sm_100a, sm_120a, ...; "
           "Chips.h lists them): selects leaves and GEMM kernels">,
    Option<"warpSpecializedGemm", "warp-specialized-gemm", "bool",
           /*default=*/"false",
           "sm_90a large-M GEMM: the warp-specialized GemmPipeline kernel "
           "instead of the software-pipelined one (correct, slower on an "
           "H100 so far: docs/Performance.md)">,
    Option<"predecodedGemm", "predecoded-gemm", "bool",
           /*default=*/"false",
           "sm_90a large-M GEMM (W4A4 and W4A16, operands without 1x64 "
           "windows): decode each operand once into a 16-bit workspace "
           "(gemm_decode kernels), then multiply 16-bit operands on the "
           "wgmma pipeline (nvfp4.gemm_workspace); with "
           "warp-specialized-gemm, on GemmPipeline's roles (a TMA producer "
           "warpgroup, persistent tiles)">,
  ];
}

def NVFP4ProgrammaticDependentLaunch
    : Pass<"nvfp4-programmatic-dependent-launch", "::mlir::gpu::GPUFuncOp"> {
  let summary = "Let a kernel start while its predecessor in the stream runs (griddepcontrol)";
  let description = [{
    Prepares every kernel (`gpu.func ... kernel`) for programmatic dependent
    launch (PDL, sm_90 on): a kernel launched with
    `CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION` may start before
    the kernel before it in the stream has finished, once every block of
    that kernel has executed `griddepcontrol.launch_dependents` (or
    exited), and `griddepcontrol.wait` then blocks until that kernel has
    completed and its memory operations are visible.

    The pass inserts into the entry block, before the first op that may
    touch memory (any op that is not memory-effect free, including an op
    whose region does) or before the terminator when there is none:

    * `nvvm.griddepcontrol wait`: nothing the kernel reads or writes in
      any memory is touched before its predecessor has completed, and the
      kernel cannot complete before its predecessor has. So every kernel
      of a launch sequence (amax init, amax, encode; a quantize and the
      GEMM reading its outputs) sees all writes of every kernel before it,
      whichever of them were launched early: completion is ordered along
      the stream, as without PDL. Only memory-effect-free work (thread and
      block ids, index arithmetic, the kernel parameters) runs before it.
    * `nvvm.griddepcontrol launch_dependents`, right after the wait: the
      next kernel may be launched as soon as every block of this one has
      started its real work; its launch latency and prologue overlap this
      kernel's body. Placing it after the wait keeps at most one kernel
      launched ahead of the one running: the kernel two places ahead is
      launched only once this kernel's predecessor has completed.

    The kernel is marked `nvfp4.pdl` (NVFP4KernelInterface.h), which tells
    a runtime it may launch it with PDL; a kernel without the mark must
    not be (it would read its inputs before they are written). Launched
    without PDL, both instructions return at once. Kernels already marked
    are left alone; functions that are not kernels too.

    `nvfp4-to-ptx` runs the pass on chips whose table entry has
    `gridDependencyControl` (sm_90 and later; Chips.h) unless its `pdl`
    option is off. The NVVM ops need sm_90: do not run it for older chips.

    Example:

    ```mlir
    gpu.func @k(%x: memref<?xf32>) kernel {
      %i = gpu.thread_id x
      %v = memref.load %x[%i] : memref<?xf32>
      ...
    // becomes
    gpu.func @k(%x: memref<?xf32>) kernel attributes {nvfp4.pdl} {
      %i = gpu.thread_id x
      nvvm.griddepcontrol wait
      nvvm.griddepcontrol launch_dependents
      %v = memref.load %x[%i] : memref<?xf32>
      ...
    ```
  }];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect"];
}

def NVFP4TensorMapParams
    : Pass<"nvfp4-tensor-map-params", "::mlir::gpu::GPUFuncOp"> {
  let summary = "Record the LLVM parameter index of each tensor-map kernel argument";
  let description = [{
    The first half of passing TMA tensor maps as grid constants; runs just
    before `convert-gpu-to-nvvm` (default calling convention: a memref
    argument expands into pointer, pointer, offset, sizes and strides).
    For every kernel with `nvfp4.tensor_maps` (NVFP4KernelInterface.h),
    checks that the list is an array of `#nvfp4.tensor_map` on a kernel,
    that each listed argument is an `!llvm.ptr` named by one map only and
    that each map's operand is a 2-D memref argument of i8, f16 or bf16,
    and records the index it will have among the lowered `llvm.func`'s parameters in
    `nvfp4.grid_constant_params` (a `DenseI32ArrayAttr`), which the
    lowering copies to the `llvm.func` with the other function attributes.

    Why two passes: `convert-gpu-to-nvvm` copies only `llvm.*` argument
    attributes other than `llvm.byval`, and the `gpu.func` verifier
    refuses `nvvm.grid_constant`, so the attributes a grid constant needs
    can only be set after the lowering, when the original argument
    positions are gone; this pass carries them across.

    Example:

    ```mlir
    gpu.func @k(%a: memref<?x128xi8>, %m: !llvm.ptr) kernel attributes {
        nvfp4.tensor_maps = [#nvfp4.tensor_map<arg = 1, operand = 0,
                                               box = [32, 128], swizzle = 32>]}
    // gains nvfp4.grid_constant_params = array<i32: 7>
    ```
  }];
}

def NVFP4GridConstantParams
    : Pass<"nvfp4-grid-constant-params", "::mlir::LLVM::LLVMFuncOp"> {
  let summary = "Pass the recorded tensor-map parameters by value as grid constants";
  let description = [{
    The second half (after `convert-gpu-to-nvvm`): each parameter listed in
    `nvfp4.grid_constant_params` gets `llvm.byval = !llvm.array<16 x i64>`,
    `llvm.align = 128` and `nvvm.grid_constant`, and the list is removed.
    The PTX parameter becomes `.param .align 128 .b8 name[128]`, what nvcc
    emits for a `const __grid_constant__ CUtensorMap`, and the kernel takes
    its generic address (`cvta.param`) for `cp.async.bulk.tensor` and
    `prefetch.tensormap`. Without `nvvm.grid_constant` LLVM would copy the
    by-value parameter to local memory (a `__local_depot`), and TMA cannot
    read a map there; the runtime passes a pointer to the 128-byte map
    itself as the kernel parameter.

    After this pass no function carries `nvfp4.grid_constant_params`. A
    listed index that is not a pointer parameter is an error.

    Example:

    ```mlir
    llvm.func @k(..., %arg7: !llvm.ptr) attributes {
        nvfp4.grid_constant_params = array<i32: 7>, nvvm.kernel}
    // becomes
    llvm.func @k(..., %arg7: !llvm.ptr {llvm.align = 128 : i64,
        llvm.byval = !llvm.array<16 x i64>, nvvm.grid_constant})
        attributes {nvvm.kernel}
    ```
  }];
}

#endif // NVFP4_CONVERSION_PASSES_TD
