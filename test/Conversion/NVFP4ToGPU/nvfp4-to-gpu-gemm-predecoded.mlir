// RUN: nvfp4-opt %s -split-input-file -nvfp4-to-gpu="chip=sm_90a predecoded-gemm=true" | FileCheck %s
// RUN: nvfp4-opt %s -split-input-file -nvfp4-to-gpu="chip=sm_100a predecoded-gemm=true" | FileCheck %s --check-prefix=SM100

// The predecoded sm_90a large-M GEMM (nvfp4-to-gpu's predecoded-gemm
// option; NVFP4KernelInterface.h, nvfp4.gemm_workspace) at IR level. Above
// the direct kernels' M the host allocates two workspaces of 16-bit floats,
// M x Kd and N x Kd with Kd = K rounded up to 64 (here K = 8192), launches
// the gemm_decode kernels of A and then of B (a thread per 16 elements of a
// workspace row: M * Kd / 16 threads), then the 16-bit wgmma kernel with
// the workspaces after the operands (and null tensor maps: a runtime encodes
// its own per launch), and frees them.
// CHECK-LABEL: func.func @per_tensor
// CHECK: %[[M:.*]] = memref.dim %arg0, %c0
// CHECK: scf.if
// CHECK: } else {
// CHECK: %[[WA:.*]] = gpu.alloc (%[[M]], %[[KD:.*]]) : memref<?x?xf16>
// CHECK-NEXT: %[[WB:.*]] = gpu.alloc (%{{.*}}, %[[KD]]) : memref<?x?xf16>
// CHECK: gpu.launch_func @nvfp4_kernels::@per_tensor_m0_gemm_decode_a {{.*}} threads in (%c256{{.*}}) args({{.*}}%[[WA]] : memref<?x?xf16>, %[[WB]] : memref<?x?xf16>)
// CHECK: gpu.launch_func @nvfp4_kernels::@per_tensor_m0_gemm_decode_b {{.*}} args({{.*}}%[[WA]] : memref<?x?xf16>, %[[WB]] : memref<?x?xf16>)
// CHECK: gpu.launch_func @nvfp4_kernels::@per_tensor_m0_gemm_large_m_predecoded {{.*}} threads in (%c256{{.*}}) dynamic_shared_memory_size %c197696_i32 args({{.*}}%[[WA]] : memref<?x?xf16>, %[[WB]] : memref<?x?xf16>, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr)
// CHECK-NEXT: gpu.dealloc %[[WA]]
// CHECK-NEXT: gpu.dealloc %[[WB]]
//
// The GEMM kernel: 256 threads (two wgmma warpgroups), a 128 x 256 tile,
// four stages of 48 KB from a 1024-byte boundary (1024 bytes of room for
// it) and a full and an empty mbarrier per stage. After the workspaces it
// takes a TMA tensor map of each: boxes of one 64-wide chunk (128 bytes)
// of the tile's rows, 128-byte swizzle.
// CHECK: gpu.func @per_tensor_m0_gemm_large_m_predecoded({{.*}}, %arg7: memref<?x?xf16>, %arg8: memref<?x?xf16>, %arg9: !llvm.ptr, %arg10: !llvm.ptr)
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-SAME: nvfp4.gemm_max_m = 0
// CHECK-SAME: nvfp4.gemm_smem = 197696
// CHECK-SAME: nvfp4.gemm_tile = array<i64: 128, 256>
// CHECK-SAME: nvfp4.gemm_workspace
// CHECK-SAME: nvfp4.tensor_maps = [#nvfp4.tensor_map<arg = 9, operand = 7, box = [128, 128], swizzle = 128>, #nvfp4.tensor_map<arg = 10, operand = 8, box = [128, 256], swizzle = 128>]
// CHECK-SAME: nvfp4.work = "gemm"
// Thread 0 initialises full[s] (one arrival: the TMA issuer) and empty[s]
// (unused: the block barrier orders the stages' reuse).
// CHECK-COUNT-4: nvvm.mbarrier.init %{{.*}}, %c{{(1|256)}}_i32{{.*}}
// CHECK: nvvm.fence.mbarrier.init
// CHECK: gpu.barrier
// CHECK: nvvm.prefetch tensormap in_param_space, %arg9
// CHECK-NEXT: nvvm.prefetch tensormap in_param_space, %arg10
// Thread 0 fills chunks 0 and 1: 16384 + 32768 bytes announced, then A's
// box and B's.
// CHECK: scf.if
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c49152_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg9,
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg10,
// CHECK: scf.if
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c49152_i32
// The loop: chunk c's stage is full, the block barrier (every warpgroup
// retired chunk c - 2's wgmma), thread 0 fills chunk c + 2 into chunk
// c - 2's stage, chunk c's four wgmma read the swizzled stage, chunk
// c - 1's retire.
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c49152_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg9,
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg10,
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 256, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: scf.yield
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// No decode in the GEMM kernel: the workspaces hold the decoded values.
// CHECK-NOT: nvvm.convert.f8x2.to.f16x2
// CHECK: gpu.return
//
// The decode kernels: thread (row, 16-block of Kd); blocks past K (the
// padding) get a zero scale, so their elements are zeros. A block's 8
// bytes and its scale byte become two 16-byte stores of f16.
// CHECK: gpu.func @per_tensor_m0_gemm_decode_a(
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-SAME: nvfp4.gemm_operand = 0
// CHECK-SAME: nvfp4.work = "gemm_decode"
// CHECK: scf.if
// CHECK: vector.load %arg0[{{.*}}] {alignment = 8 : i64} : memref<?x4096xi8>, vector<8xi8>
// CHECK: memref.load %arg1[
// CHECK: arith.select
// CHECK: nvvm.convert.f8x2.to.f16x2
// CHECK-COUNT-2: vector.store %{{.*}}, %arg7[%{{.*}}, %{{.*}}] {alignment = 16 : i64} : memref<?x?xf16>, vector<8xf16>
// CHECK: gpu.func @per_tensor_m0_gemm_decode_b(
// CHECK-SAME: nvfp4.gemm_operand = 1
// CHECK: vector.load %arg3[
// CHECK: memref.load %arg4[
// CHECK-COUNT-2: vector.store %{{.*}}, %arg8[

// Other chips keep their large-M kernels (sm_100a: tcgen05).
// SM100-NOT: gemm_decode
// SM100-NOT: nvfp4.gemm_workspace
// SM100: gpu.func @per_tensor_m0_gemm_tcgen05
// SM100-NOT: gemm_decode
func.func @per_tensor(%ad: memref<?x4096xi8>, %as: memref<?x512xf8E4M3FN>, %aa: memref<1xf32>,
                      %bd: memref<4096x4096xi8>, %bs: memref<4096x512xf8E4M3FN>, %ba: memref<1xf32>,
                      %out: memref<?x4096xbf16>) {
  nvfp4.matmul a(%ad : memref<?x4096xi8>, %as : memref<?x512xf8E4M3FN>, %aa : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<4096x4096xi8>, %bs : memref<4096x512xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x4096xbf16>)
  return
}

// -----

// A bf16 A (W4A16): its workspace is a padded, permuted copy of A and B's
// holds B decoded to bf16; the GEMM multiplies on bf16 tensor cores.
// CHECK-LABEL: func.func @w4a16_bf16
// CHECK: gpu.alloc ({{.*}}) : memref<?x?xbf16>
// CHECK: gpu.launch_func @nvfp4_kernels::@w4a16_bf16_m0_gemm_decode_a
// CHECK: gpu.launch_func @nvfp4_kernels::@w4a16_bf16_m0_gemm_decode_b
// CHECK: gpu.launch_func @nvfp4_kernels::@w4a16_bf16_m0_gemm_large_m_predecoded
// CHECK: gpu.func @w4a16_bf16_m0_gemm_large_m_predecoded({{.*}}, %arg5: memref<?x?xbf16>, %arg6: memref<?x?xbf16>, %arg7: !llvm.ptr, %arg8: !llvm.ptr)
// CHECK-SAME: nvfp4.tensor_maps = [#nvfp4.tensor_map<arg = 7, operand = 5, box = [128, 128], swizzle = 128>, #nvfp4.tensor_map<arg = 8, operand = 6, box = [128, 256], swizzle = 128>]
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: gpu.func @w4a16_bf16_m0_gemm_decode_a(
// Elements past K (here K is dynamic) read as zeros.
// CHECK-COUNT-16: arith.select %{{.*}}, %{{.*}}, %cst{{.*}} : bf16
// CHECK: vector.store %{{.*}}, %arg5[
func.func @w4a16_bf16(%a: memref<?x?xbf16>, %bd: memref<?x?xi8>,
                      %bs: memref<?x?xf8E4M3FN>, %ba: memref<1xf32>,
                      %out: memref<?x?xf32>) {
  nvfp4.matmul_w4a16 a(%a : memref<?x?xbf16>)
      b(%bd : memref<?x?xi8>, %bs : memref<?x?xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x?xf32>)
  return
}

// -----

// 1x64-window operands keep the in-loop decode (their promotion needs
// the per-chunk products).
// CHECK-LABEL: func.func @windows
// CHECK-NOT: gpu.alloc
// CHECK: gpu.launch_func @nvfp4_kernels::@windows_m0_gemm_large_m_wgmma
func.func @windows(%ad: memref<?x?xi8>, %as: memref<?x?xf8E4M3FN>, %aa: memref<?x?xf32>,
                   %bd: memref<?x?xi8>, %bs: memref<?x?xf8E4M3FN>, %ba: memref<?x?xf32>,
                   %out: memref<?x?xbf16>) {
  nvfp4.matmul a(%ad : memref<?x?xi8>, %as : memref<?x?xf8E4M3FN>, %aa : memref<?x?xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<?x?xi8>, %bs : memref<?x?xf8E4M3FN>, %ba : memref<?x?xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      outs(%out : memref<?x?xbf16>)
  return
}
