// REQUIRES: ptxas
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_90a format=isa" | %python %S/extract-ptx.py > %t.sm_90a.ptx
// RUN: FileCheck %s --check-prefixes=CHECK,SM90 --input-file=%t.sm_90a.ptx --implicit-check-not=wgmma --implicit-check-not=%ctaid.y
// RUN: %ptxas -arch=sm_90a %t.sm_90a.ptx -o %t.sm_90a.cubin
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_100a format=isa" | %python %S/extract-ptx.py > %t.sm_100a.ptx
// RUN: FileCheck %s --check-prefixes=CHECK,SM100 --input-file=%t.sm_100a.ptx --implicit-check-not=tcgen05 --implicit-check-not=%ctaid.y
// RUN: %ptxas -arch=sm_100a %t.sm_100a.ptx -o %t.sm_100a.cubin

// nvfp4.grouped_matmul: one launch over every group, its blocks reading
// the splits from global memory. The grouped kernels are the mma.sync
// GEMM kernels (small_m8/16/32, medium_m, large_m) on every chip: no
// wgmma on sm_90a, no tcgen05 on sm_100a, and a 1-D grid (no %ctaid.y),
// as the runtime launches it.

// SM90: .target sm_90a
// SM100: .target sm_100a
// CHECK-LABEL: .entry grouped_per_token_m0_grouped_gemm_small_m8(
// CHECK: .maxntid 256, 1, 1
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-LABEL: .entry grouped_per_token_m0_grouped_gemm_small_m16(
// CHECK: .maxntid 128, 1, 1
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-LABEL: .entry grouped_per_token_m0_grouped_gemm_small_m32(
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// The medium kernel decodes A into shared memory behind block barriers,
// which every thread of a block reaches: a block's group is uniform.
// CHECK-LABEL: .entry grouped_per_token_m0_grouped_gemm_medium_m(
// CHECK: .maxntid 256, 1, 1
// CHECK: bar.sync 0;
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-LABEL: .entry grouped_per_token_m0_grouped_gemm_large_m(
// CHECK: .maxntid 256, 1, 1
// CHECK: bar.sync 0;
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
func.func @grouped_per_token(%splits: memref<?xi64>,
    %ad: memref<?x?xi8>, %as: memref<?x?xf8E4M3FN>, %aa: memref<?xf32>,
    %bd: memref<?x?x?xi8>, %bs: memref<?x?x?xf8E4M3FN>, %ba: memref<?xf32>,
    %bias: memref<?x?xf32>, %d: memref<?x?xbf16>) {
  nvfp4.grouped_matmul splits(%splits : memref<?xi64>)
      a(%ad : memref<?x?xi8>, %as : memref<?x?xf8E4M3FN>, %aa : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      b(%bd : memref<?x?x?xi8>, %bs : memref<?x?x?xf8E4M3FN>, %ba : memref<?xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      bias(%bias : memref<?x?xf32>) outs(%d : memref<?x?xbf16>)
  return
}

// 1x64 windows (promoted per 64-wide chunk) with a static K.
// CHECK-LABEL: .entry grouped_windows_m1_grouped_gemm_small_m8(
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-LABEL: .entry grouped_windows_m1_grouped_gemm_large_m(
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
func.func @grouped_windows(%splits: memref<?xi64>,
    %ad: memref<?x256xi8>, %as: memref<?x32xf8E4M3FN>, %aa: memref<?x8xf32>,
    %bd: memref<?x?x256xi8>, %bs: memref<?x?x32xf8E4M3FN>, %ba: memref<?x?x8xf32>,
    %d: memref<?x?xf32>) {
  nvfp4.grouped_matmul splits(%splits : memref<?xi64>)
      a(%ad : memref<?x256xi8>, %as : memref<?x32xf8E4M3FN>, %aa : memref<?x8xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<?x?x256xi8>, %bs : memref<?x?x32xf8E4M3FN>, %ba : memref<?x?x8xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      outs(%d : memref<?x?xf32>) {alpha = 0.5 : f32}
  return
}
