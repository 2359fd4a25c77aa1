// RUN: nvfp4-opt %s --nvfp4-to-gpu="chip=sm_90a" | FileCheck %s
// RUN: nvfp4-opt %s --nvfp4-to-gpu="chip=sm_100a" | FileCheck %s --check-prefix=ANY

// nvfp4.matmul_w4a16 becomes the direct mma.sync kernels (M <= 8, 16, 32,
// 256, each launched under `scf.if M <= max_m`) and, in the last
// else-branch for M > 256, sm_90a's software-pipelined wgmma kernel (A's
// blocks copied into the raw ring with cp.async, 128 x 256 tiles, three
// 48 KB decoded and three 25 KB raw stages of dynamic shared memory) or
// medium_any_m on other chips. Their arguments are the op's operands (A,
// B data, scale, amax, output): no A scale or amax. A is read as 16-byte
// vectors of bf16 and multiplied on bf16 tensor cores, B decoded to bf16
// pairs held in i32.
// CHECK-LABEL: func.func @bf16_per_tensor
// CHECK-NOT: nvfp4.matmul_w4a16
// CHECK: scf.if
// CHECK: gpu.launch_func @nvfp4_kernels::@bf16_per_tensor_m0_gemm_small_m8 {{.*}} args(%{{.*}} : memref<?x4096xbf16>, %{{.*}} : memref<4096x2048xi8>, %{{.*}} : memref<4096x256xf8E4M3FN>, %{{.*}} : memref<1xf32>, %{{.*}} : memref<?x4096xbf16>)
// CHECK: gpu.launch_func @nvfp4_kernels::@bf16_per_tensor_m0_gemm_small_m16
// CHECK: gpu.launch_func @nvfp4_kernels::@bf16_per_tensor_m0_gemm_small_m32
// CHECK: gpu.launch_func @nvfp4_kernels::@bf16_per_tensor_m0_gemm_medium_m
// CHECK: } else {
// CHECK: gpu.launch_func @nvfp4_kernels::@bf16_per_tensor_m0_gemm_large_m_wgmma blocks in ({{.*}}) threads in (%c256{{[_0-9]*}}, %c1, %c1) dynamic_shared_memory_size %c224256_i32
// ANY-LABEL: func.func @bf16_per_tensor
// ANY: } else {
// ANY: gpu.launch_func @nvfp4_kernels::@bf16_per_tensor_m0_gemm_medium_any_m
// ANY: gpu.func @bf16_per_tensor_m0_gemm_medium_any_m({{.*}}nvfp4.gemm_max_m = 0 : i64, nvfp4.gemm_tile = array<i64: 32, 128>
// CHECK: gpu.module @nvfp4_kernels
// CHECK: gpu.func @bf16_per_tensor_m0_gemm_small_m8({{.*}}) workgroup({{.*}}) kernel attributes {{{.*}}nvfp4.gemm_max_m = 8 : i64, nvfp4.gemm_tile = array<i64: 8, 32>, nvfp4.work = "gemm"
// CHECK: llvm.inline_asm has_side_effects "{ .reg .u64 p; cvta.to.global.u64 p, $4; ld.global.nc.L2::256B.v4.u32 {$0, $1, $2, $3}, [p]; }"
// CHECK: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>{{.*}} : (i32, i32, f32)
// CHECK: gpu.func @bf16_per_tensor_m0_gemm_small_m16({{.*}}nvfp4.gemm_max_m = 16 : i64
// CHECK: gpu.func @bf16_per_tensor_m0_gemm_small_m32({{.*}}nvfp4.gemm_max_m = 32 : i64
// CHECK: gpu.func @bf16_per_tensor_m0_gemm_medium_m({{.*}}nvfp4.gemm_max_m = 256 : i64
// CHECK: gpu.func @bf16_per_tensor_m0_gemm_large_m_wgmma({{.*}}nvfp4.gemm_max_m = 0 : i64, nvfp4.gemm_smem = 224256 : i64, nvfp4.gemm_tile = array<i64: 128, 256>
// CHECK: nvvm.cp.async.shared.global {{.*}}, 16, cache = ca
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 256, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
func.func @bf16_per_tensor(%a: memref<?x4096xbf16>, %bd: memref<4096x2048xi8>,
                           %bs: memref<4096x256xf8E4M3FN>, %ba: memref<1xf32>,
                           %out: memref<?x4096xbf16>) {
  nvfp4.matmul_w4a16 a(%a : memref<?x4096xbf16>)
      b(%bd : memref<4096x2048xi8>, %bs : memref<4096x256xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x4096xbf16>)
  return
}
