// REQUIRES: ptxas
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_120a format=isa" | %python %S/extract-ptx.py > %t.sm_120a.ptx
// RUN: FileCheck %s --input-file=%t.sm_120a.ptx
// RUN: %ptxas -arch=sm_120a %t.sm_120a.ptx -o %t.sm_120a.cubin
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_121a format=isa" | %python %S/extract-ptx.py > %t.sm_121a.ptx
// RUN: FileCheck %s --check-prefix=SM121 --input-file=%t.sm_121a.ptx
// RUN: %ptxas -arch=sm_121a %t.sm_121a.ptx -o %t.sm_121a.cubin
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_120f format=isa" | %python %S/extract-ptx.py > %t.sm_120f.ptx
// RUN: %ptxas -arch=sm_120f %t.sm_120f.ptx -o %t.sm_120f.cubin
// RUN: nvfp4-opt %s --nvfp4-to-gpu="chip=sm_120a" | FileCheck %s --check-prefix=HOST
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_120 format=isa" | %python %S/extract-ptx.py | FileCheck %s --check-prefix=PLAIN

// The sm_120 family (consumer Blackwell) multiplies NVFP4 operands on its FP4
// tensor cores: mma.sync m16n8k64 kind::mxf4nvf4 with UE4M3 block scales
// (scale_vec::4X) read from registers, the E2M1 words and 128x4 scale words
// loaded as nvfp4.quantize stores them (MatmulSm120.cpp). Compiled and
// assembled here only; no sm_120 GPU has run these kernels. Every recipe pair
// of per_tensor, per_token and local_1x64 on A and B, on a ragged shape: M
// dynamic, N = 200 (not a multiple of the 64-wide tile), K = 160 (two full
// 64-wide steps and a last step of two 16-blocks; the scale matrices have 12
// padded columns). M <= 256 keeps the direct mma.sync kernels; the sm120
// kernel serves every larger M.

// HOST-LABEL: func.func @mm_per_tensor_per_tensor
// HOST: gpu.launch_func @nvfp4_kernels::@mm_per_tensor_per_tensor_m0_gemm_small_m8
// HOST: } else {
// HOST: gpu.launch_func @nvfp4_kernels::@mm_per_tensor_per_tensor_m0_gemm_medium_m
// HOST: } else {
// HOST: gpu.launch_func @nvfp4_kernels::@mm_per_tensor_per_tensor_m0_gemm_sm120 blocks in (%{{[0-9]+}}, %c1, %c1) threads in (%c128{{[_0-9]*}}, %c1, %c1)
// HOST-NOT: dynamic_shared_memory_size
// HOST: gpu.func @mm_per_tensor_per_tensor_m0_gemm_sm120(
// HOST-SAME: known_block_size = array<i32: 128, 1, 1>
// HOST-SAME: nvfp4.gemm_max_m = 0 : i64, nvfp4.gemm_tile = array<i64: 64, 64>, nvfp4.work = "gemm"
// HOST-NOT: workgroup
// HOST: nvvm.mma.block_scale
// HOST-SAME: blockScaleFormat = #nvvm.block_scale_format<ue4m3>, kind = #nvvm.block_scale_kind<mxf4nvf4>, multiplicandAPtxType = #nvvm.mma_type<e2m1>, multiplicandBPtxType = #nvvm.mma_type<e2m1>, scaleVecSize = #nvvm.scale_vec_size<x4>, shape = #nvvm.shape<m = 16, n = 8, k = 64>

// CHECK: .target sm_120a
// SM121: .target sm_121a
// Plain sm_120 has no FP4 MMA: the f16 mma.sync kernels serve it.
// PLAIN: .target sm_120
// PLAIN-NOT: kind::mxf4nvf4
// PLAIN-NOT: e2m1x2

// CHECK-LABEL: .entry mm_per_tensor_per_tensor_m0_gemm_sm120(
// CHECK: .maxntid 128, 1, 1
// CHECK-NOT: .shared
// Fragments and scale words: 32-bit loads (E2M1 words at byte 4t and
// 16 + 4t of a row's step; one 4-byte row of a scale atom).
// CHECK: ld.global.b32
// CHECK-COUNT-8: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
// CHECK-NOT: fma.
// CHECK: st.global.b16
// SM121-LABEL: .entry mm_per_tensor_per_tensor_m0_gemm_sm120(
// SM121: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
func.func @mm_per_tensor_per_tensor(%ad: memref<?x80xi8>, %as: memref<?x12xf8E4M3FN>, %aa: memref<1xf32>,
    %bd: memref<200x80xi8>, %bs: memref<256x12xf8E4M3FN>, %ba: memref<1xf32>,
    %out: memref<?x200xbf16>) {
  nvfp4.matmul
      a(%ad : memref<?x80xi8>, %as : memref<?x12xf8E4M3FN>, %aa : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<200x80xi8>, %bs : memref<256x12xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x200xbf16>)
  return
}

// CHECK-LABEL: .entry mm_per_tensor_per_token_m1_gemm_sm120(
// CHECK: .maxntid 128, 1, 1
// CHECK-NOT: .shared
// Fragments and scale words: 32-bit loads (E2M1 words at byte 4t and
// 16 + 4t of a row's step; one 4-byte row of a scale atom).
// CHECK: ld.global.b32
// CHECK-COUNT-8: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
// CHECK-NOT: fma.
// CHECK: st.global.b16
// SM121-LABEL: .entry mm_per_tensor_per_token_m1_gemm_sm120(
// SM121: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
func.func @mm_per_tensor_per_token(%ad: memref<?x80xi8>, %as: memref<?x12xf8E4M3FN>, %aa: memref<1xf32>,
    %bd: memref<200x80xi8>, %bs: memref<256x12xf8E4M3FN>, %ba: memref<200xf32>,
    %out: memref<?x200xbf16>) {
  nvfp4.matmul
      a(%ad : memref<?x80xi8>, %as : memref<?x12xf8E4M3FN>, %aa : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<200x80xi8>, %bs : memref<256x12xf8E4M3FN>, %ba : memref<200xf32>)
        recipe <per_token, sf_layout = 128x4>
      outs(%out : memref<?x200xbf16>)
  return
}

// CHECK-LABEL: .entry mm_per_tensor_local_1x64_m2_gemm_sm120(
// CHECK: .maxntid 128, 1, 1
// CHECK-NOT: .shared
// Fragments and scale words: 32-bit loads (E2M1 words at byte 4t and
// 16 + 4t of a row's step; one 4-byte row of a scale atom).
// CHECK: ld.global.b32
// CHECK-COUNT-8: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
// 1x64 windows: each step is promoted (a multiply, then an add) before
// it joins the sum.
// CHECK: mul.rn.f32
// CHECK: add.rn.f32
// CHECK-NOT: fma.
// CHECK: st.global.b16
// SM121-LABEL: .entry mm_per_tensor_local_1x64_m2_gemm_sm120(
// SM121: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
func.func @mm_per_tensor_local_1x64(%ad: memref<?x80xi8>, %as: memref<?x12xf8E4M3FN>, %aa: memref<1xf32>,
    %bd: memref<200x80xi8>, %bs: memref<256x12xf8E4M3FN>, %ba: memref<200x3xf32>,
    %out: memref<?x200xbf16>) {
  nvfp4.matmul
      a(%ad : memref<?x80xi8>, %as : memref<?x12xf8E4M3FN>, %aa : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<200x80xi8>, %bs : memref<256x12xf8E4M3FN>, %ba : memref<200x3xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      outs(%out : memref<?x200xbf16>)
  return
}

// CHECK-LABEL: .entry mm_per_token_per_tensor_m3_gemm_sm120(
// CHECK: .maxntid 128, 1, 1
// CHECK-NOT: .shared
// Fragments and scale words: 32-bit loads (E2M1 words at byte 4t and
// 16 + 4t of a row's step; one 4-byte row of a scale atom).
// CHECK: ld.global.b32
// CHECK-COUNT-8: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
// CHECK-NOT: fma.
// CHECK: st.global.b16
// SM121-LABEL: .entry mm_per_token_per_tensor_m3_gemm_sm120(
// SM121: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
func.func @mm_per_token_per_tensor(%ad: memref<?x80xi8>, %as: memref<?x12xf8E4M3FN>, %aa: memref<?xf32>,
    %bd: memref<200x80xi8>, %bs: memref<256x12xf8E4M3FN>, %ba: memref<1xf32>,
    %out: memref<?x200xbf16>) {
  nvfp4.matmul
      a(%ad : memref<?x80xi8>, %as : memref<?x12xf8E4M3FN>, %aa : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      b(%bd : memref<200x80xi8>, %bs : memref<256x12xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x200xbf16>)
  return
}

// CHECK-LABEL: .entry mm_per_token_per_token_m4_gemm_sm120(
// CHECK: .maxntid 128, 1, 1
// CHECK-NOT: .shared
// Fragments and scale words: 32-bit loads (E2M1 words at byte 4t and
// 16 + 4t of a row's step; one 4-byte row of a scale atom).
// CHECK: ld.global.b32
// CHECK-COUNT-8: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
// CHECK-NOT: fma.
// CHECK: st.global.b16
// SM121-LABEL: .entry mm_per_token_per_token_m4_gemm_sm120(
// SM121: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
func.func @mm_per_token_per_token(%ad: memref<?x80xi8>, %as: memref<?x12xf8E4M3FN>, %aa: memref<?xf32>,
    %bd: memref<200x80xi8>, %bs: memref<256x12xf8E4M3FN>, %ba: memref<200xf32>,
    %out: memref<?x200xbf16>) {
  nvfp4.matmul
      a(%ad : memref<?x80xi8>, %as : memref<?x12xf8E4M3FN>, %aa : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      b(%bd : memref<200x80xi8>, %bs : memref<256x12xf8E4M3FN>, %ba : memref<200xf32>)
        recipe <per_token, sf_layout = 128x4>
      outs(%out : memref<?x200xbf16>)
  return
}

// CHECK-LABEL: .entry mm_per_token_local_1x64_m5_gemm_sm120(
// CHECK: .maxntid 128, 1, 1
// CHECK-NOT: .shared
// Fragments and scale words: 32-bit loads (E2M1 words at byte 4t and
// 16 + 4t of a row's step; one 4-byte row of a scale atom).
// CHECK: ld.global.b32
// CHECK-COUNT-8: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
// 1x64 windows: each step is promoted (a multiply, then an add) before
// it joins the sum.
// CHECK: mul.rn.f32
// CHECK: add.rn.f32
// CHECK-NOT: fma.
// CHECK: st.global.b16
// SM121-LABEL: .entry mm_per_token_local_1x64_m5_gemm_sm120(
// SM121: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
func.func @mm_per_token_local_1x64(%ad: memref<?x80xi8>, %as: memref<?x12xf8E4M3FN>, %aa: memref<?xf32>,
    %bd: memref<200x80xi8>, %bs: memref<256x12xf8E4M3FN>, %ba: memref<200x3xf32>,
    %out: memref<?x200xbf16>) {
  nvfp4.matmul
      a(%ad : memref<?x80xi8>, %as : memref<?x12xf8E4M3FN>, %aa : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      b(%bd : memref<200x80xi8>, %bs : memref<256x12xf8E4M3FN>, %ba : memref<200x3xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      outs(%out : memref<?x200xbf16>)
  return
}

// CHECK-LABEL: .entry mm_local_1x64_per_tensor_m6_gemm_sm120(
// CHECK: .maxntid 128, 1, 1
// CHECK-NOT: .shared
// Fragments and scale words: 32-bit loads (E2M1 words at byte 4t and
// 16 + 4t of a row's step; one 4-byte row of a scale atom).
// CHECK: ld.global.b32
// CHECK-COUNT-8: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
// 1x64 windows: each step is promoted (a multiply, then an add) before
// it joins the sum.
// CHECK: mul.rn.f32
// CHECK: add.rn.f32
// CHECK-NOT: fma.
// CHECK: st.global.b16
// SM121-LABEL: .entry mm_local_1x64_per_tensor_m6_gemm_sm120(
// SM121: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
func.func @mm_local_1x64_per_tensor(%ad: memref<?x80xi8>, %as: memref<?x12xf8E4M3FN>, %aa: memref<?x3xf32>,
    %bd: memref<200x80xi8>, %bs: memref<256x12xf8E4M3FN>, %ba: memref<1xf32>,
    %out: memref<?x200xbf16>) {
  nvfp4.matmul
      a(%ad : memref<?x80xi8>, %as : memref<?x12xf8E4M3FN>, %aa : memref<?x3xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<200x80xi8>, %bs : memref<256x12xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x200xbf16>)
  return
}

// CHECK-LABEL: .entry mm_local_1x64_per_token_m7_gemm_sm120(
// CHECK: .maxntid 128, 1, 1
// CHECK-NOT: .shared
// Fragments and scale words: 32-bit loads (E2M1 words at byte 4t and
// 16 + 4t of a row's step; one 4-byte row of a scale atom).
// CHECK: ld.global.b32
// CHECK-COUNT-8: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
// 1x64 windows: each step is promoted (a multiply, then an add) before
// it joins the sum.
// CHECK: mul.rn.f32
// CHECK: add.rn.f32
// CHECK-NOT: fma.
// CHECK: st.global.b16
// SM121-LABEL: .entry mm_local_1x64_per_token_m7_gemm_sm120(
// SM121: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
func.func @mm_local_1x64_per_token(%ad: memref<?x80xi8>, %as: memref<?x12xf8E4M3FN>, %aa: memref<?x3xf32>,
    %bd: memref<200x80xi8>, %bs: memref<256x12xf8E4M3FN>, %ba: memref<200xf32>,
    %out: memref<?x200xbf16>) {
  nvfp4.matmul
      a(%ad : memref<?x80xi8>, %as : memref<?x12xf8E4M3FN>, %aa : memref<?x3xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<200x80xi8>, %bs : memref<256x12xf8E4M3FN>, %ba : memref<200xf32>)
        recipe <per_token, sf_layout = 128x4>
      outs(%out : memref<?x200xbf16>)
  return
}

// CHECK-LABEL: .entry mm_local_1x64_local_1x64_m8_gemm_sm120(
// CHECK: .maxntid 128, 1, 1
// CHECK-NOT: .shared
// Fragments and scale words: 32-bit loads (E2M1 words at byte 4t and
// 16 + 4t of a row's step; one 4-byte row of a scale atom).
// CHECK: ld.global.b32
// CHECK-COUNT-8: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
// 1x64 windows: each step is promoted (a multiply, then an add) before
// it joins the sum.
// CHECK: mul.rn.f32
// CHECK: add.rn.f32
// CHECK-NOT: fma.
// CHECK: st.global.b16
// SM121-LABEL: .entry mm_local_1x64_local_1x64_m8_gemm_sm120(
// SM121: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
func.func @mm_local_1x64_local_1x64(%ad: memref<?x80xi8>, %as: memref<?x12xf8E4M3FN>, %aa: memref<?x3xf32>,
    %bd: memref<200x80xi8>, %bs: memref<256x12xf8E4M3FN>, %ba: memref<200x3xf32>,
    %out: memref<?x200xbf16>) {
  nvfp4.matmul
      a(%ad : memref<?x80xi8>, %as : memref<?x12xf8E4M3FN>, %aa : memref<?x3xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<200x80xi8>, %bs : memref<256x12xf8E4M3FN>, %ba : memref<200x3xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      outs(%out : memref<?x200xbf16>)
  return
}
// Dynamic K and N, a bias and alpha: the step count, the tail mask of the
// last step's scale bytes and the zeroed words past K are computed at run
// time.
// CHECK-LABEL: .entry mm_dynamic_m9_gemm_sm120(
// CHECK: shl.b32
// CHECK: selp.b32 %r{{[0-9]+}}, -1, %r{{[0-9]+}}, %p{{[0-9]+}};
// CHECK-COUNT-8: mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
// CHECK: st.global.b32
func.func @mm_dynamic(%ad: memref<?x?xi8>, %as: memref<?x?xf8E4M3FN>, %aa: memref<?x?xf32>,
    %bd: memref<?x?xi8>, %bs: memref<?x?xf8E4M3FN>, %ba: memref<?xf32>,
    %bias: memref<?xf32>, %out: memref<?x?xf32>) {
  nvfp4.matmul
      a(%ad : memref<?x?xi8>, %as : memref<?x?xf8E4M3FN>, %aa : memref<?x?xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<?x?xi8>, %bs : memref<?x?xf8E4M3FN>, %ba : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      bias(%bias : memref<?xf32>)
      outs(%out : memref<?x?xf32>) {alpha = 0.5 : f32}
  return
}
