// REQUIRES: ptxas
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_90a format=isa" | %python %S/extract-ptx.py > %t.sm_90a.ptx
// RUN: FileCheck %s --check-prefixes=CHECK,SM90 --input-file=%t.sm_90a.ptx --implicit-check-not=%ctaid.y
// RUN: %ptxas -arch=sm_90a -v %t.sm_90a.ptx -o %t.sm_90a.cubin 2>&1 | FileCheck %s --check-prefix=SPILLS
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_100a format=isa" | %python %S/extract-ptx.py > %t.sm_100a.ptx
// RUN: FileCheck %s --check-prefixes=CHECK,SM100 --input-file=%t.sm_100a.ptx --implicit-check-not=tcgen05 --implicit-check-not=wgmma --implicit-check-not=%ctaid.y
// RUN: %ptxas -arch=sm_100a %t.sm_100a.ptx -o %t.sm_100a.cubin

// nvfp4.matmul_w4a16: on every chip the direct mma.sync kernels
// (small_m8/16/32, medium_m) load A as 16-byte vectors of bf16/f16 and
// decode only B. M > 256 runs sm_90a's software-pipelined wgmma kernel (A's
// blocks copied with 16-byte cp.async into the raw ring, permuted into the
// stage with byte permutes, B decoded; m64n256k16, m64n128k16 with a window B, whose chunks
// start from zero and are promoted) and medium_m over every tile
// (medium_any_m) elsewhere. A bf16 A multiplies on bf16 tensor cores, an
// f16 A on f16 ones. No tcgen05, a 1-D grid.

// The direct kernels do not spill on sm_90a: A's 32-byte rows are loaded
// one chunk ahead, not as deep as B (MatmulDirect.cpp, directConfigs).
// SPILLS-DAG: for bf16_per_tensor_m0_gemm_small_m8{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// SPILLS-DAG: for bf16_per_tensor_m0_gemm_small_m16{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// SPILLS-DAG: for bf16_per_tensor_m0_gemm_small_m32{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// SPILLS-DAG: for bf16_per_tensor_m0_gemm_medium_m{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// SPILLS-DAG: for f16_window_m1_gemm_small_m8{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// SPILLS-DAG: for f16_window_m1_gemm_small_m16{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// SPILLS-DAG: for f16_window_m1_gemm_small_m32{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// SPILLS-DAG: for f16_window_m1_gemm_medium_m{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// SM90: .target sm_90a
// SM100: .target sm_100a
// CHECK-LABEL: .entry bf16_per_tensor_m0_gemm_small_m8(
// CHECK: ld.global.nc.L2::256B.v4.u32
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-LABEL: .entry bf16_per_tensor_m0_gemm_small_m16(
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-LABEL: .entry bf16_per_tensor_m0_gemm_small_m32(
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-LABEL: .entry bf16_per_tensor_m0_gemm_medium_m(
// CHECK: bar.sync 0;
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// SM90-LABEL: .entry bf16_per_tensor_m0_gemm_large_m_wgmma(
// SM90: cp.async.ca.shared.global [%rd{{[0-9]+}}], [%rd{{[0-9]+}}], 16;
// SM90-DAG: prmt.b32 {{.*}}, 0x5410U;
// SM90-DAG: prmt.b32 {{.*}}, 0x7632U;
// SM90: wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16
// SM100-LABEL: .entry bf16_per_tensor_m0_gemm_medium_any_m(
// SM100: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @bf16_per_tensor(%a: memref<?x4096xbf16>, %bd: memref<4096x2048xi8>,
                           %bs: memref<4096x256xf8E4M3FN>, %ba: memref<1xf32>,
                           %out: memref<?x4096xbf16>) {
  nvfp4.matmul_w4a16 a(%a : memref<?x4096xbf16>)
      b(%bd : memref<4096x2048xi8>, %bs : memref<4096x256xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x4096xbf16>)
  return
}

// Dynamic shapes, a window B (per-window promotion), bias and an f16 A on
// f16 tensor cores.
// CHECK-LABEL: .entry f16_window_m1_gemm_small_m8(
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// SM90-LABEL: .entry f16_window_m1_gemm_large_m_wgmma(
// SM90: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
// SM100-LABEL: .entry f16_window_m1_gemm_medium_any_m(
// SM100: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
func.func @f16_window(%a: memref<?x?xf16>, %bd: memref<?x?xi8>,
                      %bs: memref<?x?xf8E4M3FN>, %ba: memref<?x?xf32>,
                      %bias: memref<?xf32>, %out: memref<?x?xf32>) {
  nvfp4.matmul_w4a16 a(%a : memref<?x?xf16>)
      b(%bd : memref<?x?xi8>, %bs : memref<?x?xf8E4M3FN>, %ba : memref<?x?xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      bias(%bias : memref<?xf32>) outs(%out : memref<?x?xf32>)
  return
}
