// REQUIRES: ptxas
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_100a format=isa" | %python %S/extract-ptx.py > %t.sm_100a.ptx
// RUN: FileCheck %s --input-file=%t.sm_100a.ptx
// RUN: %ptxas -arch=sm_100a %t.sm_100a.ptx -o %t.sm_100a.cubin
// RUN: nvfp4-opt %s --nvfp4-to-gpu="chip=sm_100a" | FileCheck %s --check-prefix=HOST
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_90a format=isa" | %python %S/extract-ptx.py > %t.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=SM90 --input-file=%t.sm_90a.ptx
// RUN: %ptxas -arch=sm_90a %t.sm_90a.ptx -o %t.sm_90a.cubin
// RUN: nvfp4-opt %s --nvfp4-to-gpu="chip=sm_90a" | FileCheck %s --check-prefix=HOST90

// sm_90a's large-M kernel (128 x 256 tiles) takes its three 48 KB stages
// of decoded chunks and three 13.5 KB stages of raw bytes (cp.async) as
// dynamic shared memory; the launch passes the size.
// HOST90-LABEL: func.func @matmul_per_token
// HOST90: gpu.launch_func @nvfp4_kernels::@matmul_per_token_m0_gemm_large_m_wgmma blocks in ({{.*}}) threads in (%c256{{[_0-9]*}}, %c1, %c1) dynamic_shared_memory_size %c188928_i32
// 1x64 windows take the same kernel with 128 x 128 tiles (each chunk's
// product is promoted into a second set of accumulators): three 32 KB
// decoded and three 9 KB raw stages.
// HOST90-LABEL: func.func @matmul_window
// HOST90: gpu.launch_func @nvfp4_kernels::@matmul_window_m1_gemm_large_m_wgmma blocks in ({{.*}}) threads in (%c256{{[_0-9]*}}, %c1, %c1) dynamic_shared_memory_size %c125952_i32
// HOST90: gpu.func @matmul_per_token_m0_gemm_large_m_wgmma(
// HOST90-SAME: nvfp4.gemm_max_m = 0 : i64, nvfp4.gemm_smem = 188928 : i64, nvfp4.gemm_tile = array<i64: 128, 256>
// HOST90-NEXT: gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// HOST90: gpu.func @matmul_window_m1_gemm_large_m_wgmma(
// HOST90-SAME: nvfp4.gemm_max_m = 0 : i64, nvfp4.gemm_smem = 125952 : i64, nvfp4.gemm_tile = array<i64: 128, 128>

// On sm_100a a GEMM whose K is a static multiple of 64 runs on tcgen05:
// block-scaled NVFP4 MMAs (E4M3 scale per 16 elements) into tensor memory,
// scales copied to tensor memory with tcgen05.cp, completion through
// tcgen05.commit on an mbarrier, the epilogue read back with tcgen05.ld.
// Compiled and assembled here only; no Blackwell GPU has run these kernels.
// M <= 256 keeps the direct mma.sync kernels (small_m8/16/32, medium_m); the tcgen05
// kernel serves every larger M. Per-tensor and per-row operands take the
// pipelined form (GemmPipeline, as on sm_90a): 256 threads, persistent, one
// producer thread filling a ring of four stages with TMA (A's and B's
// boxes through tensor maps, the scale atoms with cp.async.bulk; the full
// barrier expects the stage's 9216 bytes), an MMA warpgroup whose thread 0
// issues the copies to TMEM and the MMA and commits each stage to its
// empty barrier and each tile to the accumulator barrier, and whose four
// warps run the epilogue. The kernel takes the two tensor maps after the
// operands (null in the host code: the runtime encodes them per launch).

// HOST-LABEL: func.func @matmul_per_token
// HOST: scf.if
// HOST: gpu.launch_func @nvfp4_kernels::@matmul_per_token_m0_gemm_small_m8
// HOST: } else {
// The 1-D grid of every GEMM kernel (the runtime launches it so).
// HOST: %[[AMAP:.*]] = llvm.mlir.zero : !llvm.ptr
// HOST: %[[BMAP:.*]] = llvm.mlir.zero : !llvm.ptr
// HOST: gpu.launch_func @nvfp4_kernels::@matmul_per_token_m0_gemm_tcgen05 blocks in (%{{[0-9]+}}, %c1, %c1) threads in (%c256{{[_0-9]*}}, %c1, %c1)
// HOST-SAME: %arg7 : memref<?x300xbf16>, %[[AMAP]] : !llvm.ptr, %[[BMAP]] : !llvm.ptr)
// HOST: llvm.mlir.global internal @matmul_per_token_m0_gemm_tcgen05_smem() {addr_space = 3 : i32, alignment = 1024 : i64} : !llvm.array<36944 x i8>
// HOST: gpu.func @matmul_per_token_m0_gemm_tcgen05(
// HOST-SAME: %arg7: memref<?x300xbf16>, %arg8: !llvm.ptr, %arg9: !llvm.ptr)
// HOST-SAME: known_block_size = array<i32: 256, 1, 1>
// The scale buffers (operands 1 and 4) are read with cp.async.bulk.
// HOST-SAME: nvfp4.bulk_copy_operands = array<i64: 1, 4>
// HOST-SAME: nvfp4.gemm_max_m = 0 : i64, nvfp4.gemm_persistent, nvfp4.gemm_tile = array<i64: 128, 128>
// HOST-SAME: nvfp4.tensor_maps = [#nvfp4.tensor_map<arg = 8, operand = 0, box = [32, 128], swizzle = 32>, #nvfp4.tensor_map<arg = 9, operand = 3, box = [32, 128], swizzle = 32>]
// HOST-SAME: nvfp4.work = "gemm"

// CHECK: .target sm_100a
// CHECK-LABEL: .entry matmul_per_token_m0_gemm_small_m8(
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-LABEL: .entry matmul_per_token_m0_gemm_tcgen05(
// The tensor maps of A and B: 128-byte grid-constant parameters, read in
// place (cvta.param), never copied to local memory.
// CHECK: .param .u64 matmul_per_token_m0_gemm_tcgen05_param_49,
// CHECK-NEXT: .param .align 128 .b8 [[AMAP:matmul_per_token_m0_gemm_tcgen05_param_50]][128],
// CHECK-NEXT: .param .align 128 .b8 [[BMAP:matmul_per_token_m0_gemm_tcgen05_param_51]][128]
// CHECK-NEXT: )
// CHECK: .maxntid 256, 1, 1
// CHECK-NOT: __local_depot
// CHECK: .shared .align 1024 .b8 matmul_per_token_m0_gemm_tcgen05_smem[36944];
// CHECK-NOT: __local_depot
// CHECK: mov.b64 %rd[[BP:[0-9]+]], [[BMAP]];
// CHECK-NEXT: cvta.param.u64 %rd[[BG:[0-9]+]], %rd[[BP]];
// CHECK-NEXT: mov.b64 %rd[[AP:[0-9]+]], [[AMAP]];
// CHECK-NEXT: cvta.param.u64 %rd[[AG:[0-9]+]], %rd[[AP]];
// CHECK-NOT: %ctaid.y
// CHECK: mov.b32 [[COLS:%r[0-9]+]], 256;
// CHECK-NEXT: tcgen05.alloc.cta_group::1.sync.aligned.shared::cta.b32 [matmul_per_token_m0_gemm_tcgen05_smem+36936], [[COLS]];
// CHECK: tcgen05.relinquish_alloc_permit.cta_group::1.sync.aligned;
// The accumulator barrier, then full[0..3] and empty[0..3], all completed by
// one arrival (the producer thread's, with its bytes; the MMA thread's
// commit).
// CHECK: mov.b32 [[ONE:%r[0-9]+]], 1;
// CHECK: mbarrier.init.shared.b64 [matmul_per_token_m0_gemm_tcgen05_smem+36928], [[ONE]];
// CHECK-COUNT-8: mbarrier.init.shared.b64 [matmul_per_token_m0_gemm_tcgen05_smem+{{369[0-2][0-9]|368[6-9][0-9]}}], [[ONE]];
// CHECK-NEXT: fence.mbarrier_init.release.cluster;
// CHECK: bar.sync 0;
// CHECK: shfl.sync.idx.b32
// The producer thread prefetches both maps once, before its loop.
// CHECK: prefetch.param.tensormap [%rd[[AP]]];
// CHECK-NEXT: prefetch.param.tensormap [%rd[[BP]]];
// The MMA warpgroup: the epilogue's named barrier, thread 0's wait for a
// full stage (no proxy fence: TMA writes through the async proxy), the
// scale copies, the MMA, the commit to the stage's empty barrier, the
// commit of the tile.
// CHECK: bar.sync 1, 128;
// CHECK: mbarrier.try_wait.parity.shared.b64
// CHECK-NOT: fence.proxy
// CHECK: tcgen05.fence::after_thread_sync;
// Scale-factor descriptor: LBO 0, SBO 128 bytes, version 1, no swizzle.
// CHECK: or.b64 %rd{{[0-9]+}}, %rd{{[0-9]+}}, 70403103916032;
// CHECK: tcgen05.cp.cta_group::1.32x128b.warpx4 [%r{{[0-9]+}}], %rd{{[0-9]+}};
// CHECK: or.b64 %rd{{[0-9]+}}, %rd{{[0-9]+}}, 70403103916032;
// CHECK: tcgen05.cp.cta_group::1.32x128b.warpx4 [%r{{[0-9]+}}], %rd{{[0-9]+}};
// Operand descriptor of TMA's SW32 K-major layout: layout type SWIZZLE_32B
// (6 << 61), SBO 256 bytes (8-row groups), LBO 16 bytes, version 1.
// CHECK: or.b64 %rd{{[0-9]+}}, %rd{{[0-9]+}}, -4611615580963667968;
// CHECK: or.b64 %rd{{[0-9]+}}, %rd{{[0-9]+}}, -4611615580963667968;
// Instruction descriptor 0x08200480: E2M1 x E2M1, UE4M3 scales, M 128, N 128.
// CHECK: mov.b32 [[IDESC:%r[0-9]+]], 136316032;
// CHECK: tcgen05.mma.cta_group::1.kind::mxf4nvf4.block_scale.block16{{.*}} [%r{{[0-9]+}}], %rd{{[0-9]+}}, %rd{{[0-9]+}}, [[IDESC]], [%r{{[0-9]+}}], [%r{{[0-9]+}}], %p{{[0-9]+}};
// CHECK: tcgen05.commit.cta_group::1.mbarrier::arrive::one.shared::cluster.b64 [%rd{{[0-9]+}}+36896];
// CHECK: tcgen05.commit.cta_group::1.mbarrier::arrive::one.shared::cluster.b64 [matmul_per_token_m0_gemm_tcgen05_smem+36928];
// CHECK: mbarrier.try_wait.parity.shared.b64
// CHECK: tcgen05.ld.sync.aligned.32x32b.x32.b32
// CHECK: tcgen05.wait::ld.sync.aligned;
// CHECK: mov.b32 [[DCOLS:%r[0-9]+]], 256;
// CHECK-NEXT: tcgen05.dealloc.cta_group::1.sync.aligned.b32 %r{{[0-9]+}}, [[DCOLS]];
// The producer thread: per iteration wait for an empty stage, announce its
// 9216 bytes (2 x 4096 of operand boxes, 2 x 512 of scale atoms) on the
// full barrier and issue the four copies, all completing on that barrier;
// box coordinates are (byte of K, row).
// CHECK: mbarrier.try_wait.parity.shared.b64
// CHECK: mov.b32 [[BYTES:%r[0-9]+]], 9216;
// CHECK-NEXT: mbarrier.arrive.expect_tx.shared.b64 %rd{{[0-9]+}}, [%rd[[FULL:[0-9]+]]], [[BYTES]];
// CHECK: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%rd{{[0-9]+}}], [%rd[[AG]], {%r[[X:[0-9]+]], %r{{[0-9]+}}}], [%rd[[FULL]]];
// CHECK: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%rd{{[0-9]+}}], [%rd[[BG]], {%r[[X]], %r{{[0-9]+}}}], [%rd[[FULL]]];
// CHECK: mov.b32 [[ATOM:%r[0-9]+]], 512;
// CHECK-NEXT: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%rd{{[0-9]+}}], [%rd{{[0-9]+}}], [[ATOM]], [%rd[[FULL]]];
// CHECK: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%rd{{[0-9]+}}], [%rd{{[0-9]+}}], [[ATOM]], [%rd[[FULL]]];
// CHECK-NOT: cp.async.wait_group
// CHECK-NOT: mma.sync
// CHECK-NOT: fma.

// sm_90a has no tcgen05: the same GEMM stays on the mma.sync kernels.
// SM90: .target sm_90a
// SM90: .shared .align 16 .b8 __dynamic_shmem__0;
// Static GEMM buffers are read with 16-byte loads and declared so.
// SM90: .shared .align 16 .b8 __wg_matmul_per_token_m0_gemm_small_m8_0[
// SM90-NOT: tcgen05
// Block scales decode with cvt.rn.f16x2.e4m3x2 (sm_89+); the large-M kernel
// uses wgmma on sm_90a.
// SM90: cvt.rn.f16x2.e4m3x2
// SM90: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// The wgmma kernel copies the FP4 bytes and scale words with cp.async two
// chunks ahead and decodes into a ring of stages in dynamic shared memory
// (__dynamic_shmem__0, checked above: a zero-sized shared array that the
// launch sizes); it keeps one chunk's wgmma in flight while it decodes the
// next: per chunk one block barrier after the decode and the wait for the
// next chunk's copies, four m64n256k16 wgmma, commit, wait_group 1; the
// last group is waited for after the loop.
// SM90: .entry matmul_per_token_m0_gemm_large_m_wgmma
// SM90: cp.async.ca.shared.global [%rd{{[0-9]+}}+{{[0-9]+}}], [%rd{{[0-9]+}}], 8;
// SM90: cp.async.ca.shared.global [%rd{{[0-9]+}}+{{[0-9]+}}], [%rd{{[0-9]+}}], 4;
// SM90: cp.async.commit_group;
// SM90: cp.async.commit_group;
// SM90-NEXT: cp.async.wait_group 1;
// SM90-NEXT: bar.sync 0;
// SM90: cp.async.commit_group;
// SM90: ld.shared.v2.b32
// SM90: ld.shared.b8
// SM90: st.shared.v4.b32
// SM90: fence.proxy.async.shared::cta;
// SM90-NEXT: cp.async.wait_group 1;
// SM90-NEXT: bar.sync 0;
// SM90-NOT: bar.sync
// SM90: wgmma.fence.sync.aligned;
// SM90-COUNT-4: wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16
// SM90-NOT: bar.sync
// SM90: wgmma.commit_group.sync.aligned;
// SM90-NEXT: wgmma.wait_group.sync.aligned 1;
// SM90-NOT: bar.sync
// SM90: wgmma.wait_group.sync.aligned 0;
// SM90-NOT: tcgen05
func.func @matmul_per_token(%a: memref<?x256xi8>, %a_scale: memref<?x32xf8E4M3FN>,
                            %a_amax: memref<?xf32>,
                            %b: memref<300x256xi8>, %b_scale: memref<384x32xf8E4M3FN>,
                            %b_amax: memref<1xf32>, %bias: memref<300xf32>,
                            %d: memref<?x300xbf16>) {
  nvfp4.matmul
      a(%a : memref<?x256xi8>, %a_scale : memref<?x32xf8E4M3FN>, %a_amax : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      b(%b : memref<300x256xi8>, %b_scale : memref<384x32xf8E4M3FN>, %b_amax : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      bias(%bias : memref<300xf32>) outs(%d : memref<?x300xbf16>)
  return
}

// On sm_90a, window operands: chunk c's first wgmma overwrites the
// accumulators (scale-d false), so they hold window c's product alone; at
// the next iteration, after its decode and barrier, wait_group 0 retires
// it and it is promoted into the running sums before chunk c + 1's wgmma
// reuses the registers. The last chunk is promoted after the loop.
// SM90-LABEL: .entry matmul_window_m1_gemm_large_m_wgmma(
// SM90: wgmma.fence.sync.aligned;
// SM90: setp.ne.b32 p, 0, 0;
// SM90-NEXT: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
// SM90-COUNT-3: setp.ne.b32 p, 1, 0;
// SM90: wgmma.commit_group.sync.aligned;
// SM90-NOT: wgmma.wait_group.sync.aligned 1;
// SM90: fence.proxy.async.shared::cta;
// SM90: bar.sync 0;
// SM90-NEXT: wgmma.wait_group.sync.aligned 0;
// SM90: mul.rn.f32
// SM90: add.rn.f32
// SM90: wgmma.wait_group.sync.aligned 0;
// SM90-NOT: wgmma.mma_async
// SM90: mul.rn.f32
// SM90-LABEL: .entry matmul_ragged_k_m2_gemm_small_m8(

// 1x64 windows: every 64-wide K step goes to a fresh accumulator region
// (enable-input-d false) and is promoted into a running sum in a second
// TMEM region (tcgen05.st), so 512 columns are allocated.
// CHECK-LABEL: .entry matmul_window_m1_gemm_small_m8(
// CHECK-LABEL: .entry matmul_window_m1_gemm_tcgen05(
// CHECK: .shared .align 1024 .b8 matmul_window_m1_gemm_tcgen05_smem[10256];
// CHECK: mov.b32 [[WCOLS:%r[0-9]+]], 512;
// CHECK-NEXT: tcgen05.alloc.cta_group::1.sync.aligned.shared::cta.b32 [matmul_window_m1_gemm_tcgen05_smem+9224], [[WCOLS]];
// CHECK: mov.pred [[ZERO:%p[0-9]+]], 0;
// CHECK: tcgen05.mma.cta_group::1.kind::mxf4nvf4.block_scale.block16{{.*}}, [[ZERO]];
// CHECK: tcgen05.ld.sync.aligned.32x32b.x16.b32
// CHECK: tcgen05.st.sync.aligned.32x32b.x16.b32
// CHECK: tcgen05.wait::st.sync.aligned;
// CHECK: tcgen05.ld.sync.aligned.32x32b.x32.b32
// CHECK: mov.b32 [[WDCOLS:%r[0-9]+]], 512;
// CHECK-NEXT: tcgen05.dealloc.cta_group::1.sync.aligned.b32 %r{{[0-9]+}}, [[WDCOLS]];
func.func @matmul_window(%ad: memref<?x128xi8>, %as: memref<?x16xf8E4M3FN>, %aa: memref<?x4xf32>,
                         %bd: memref<200x128xi8>, %bs: memref<256x16xf8E4M3FN>, %ba: memref<200x4xf32>,
                         %out: memref<?x200xf32>) {
  nvfp4.matmul
      a(%ad : memref<?x128xi8>, %as : memref<?x16xf8E4M3FN>, %aa : memref<?x4xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<200x128xi8>, %bs : memref<256x16xf8E4M3FN>, %ba : memref<200x4xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      outs(%out : memref<?x200xf32>) {alpha = 2.0 : f32}
  return
}

// K = 96 is not a multiple of 64: the mma.sync kernels serve it on sm_100a.
// CHECK-LABEL: .entry matmul_ragged_k_m2_gemm_small_m8(
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-LABEL: .entry matmul_ragged_k_m2_gemm_large_m(
// CHECK-NOT: tcgen05
func.func @matmul_ragged_k(%ad: memref<?x48xi8>, %as: memref<?x8xf8E4M3FN>, %aa: memref<1xf32>,
                           %bd: memref<64x48xi8>, %bs: memref<128x8xf8E4M3FN>, %ba: memref<1xf32>,
                           %out: memref<?x64xf32>) {
  nvfp4.matmul
      a(%ad : memref<?x48xi8>, %as : memref<?x8xf8E4M3FN>, %aa : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<64x48xi8>, %bs : memref<128x8xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x64xf32>)
  return
}
