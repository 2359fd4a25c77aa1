// REQUIRES: ptxas
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_90a format=isa" | %python %S/extract-ptx.py > %t.sm_90a.ptx
// RUN: FileCheck %s --input-file=%t.sm_90a.ptx --implicit-check-not=%ctaid.y
// RUN: %ptxas -arch=sm_90a %t.sm_90a.ptx -o %t.sm_90a.cubin
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_100a format=isa" | %python %S/extract-ptx.py > %t.sm_100a.ptx
// RUN: FileCheck %s --input-file=%t.sm_100a.ptx --implicit-check-not=%ctaid.y
// RUN: %ptxas -arch=sm_100a %t.sm_100a.ptx -o %t.sm_100a.cubin
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_89 format=isa" | %python %S/extract-ptx.py > %t.sm_89.ptx
// RUN: FileCheck %s --check-prefix=NONE --input-file=%t.sm_89.ptx
// RUN: %ptxas -arch=sm_89 %t.sm_89.ptx -o %t.sm_89.cubin

// Split K across the CTAs of a thread-block cluster (MatmulDirect.cpp):
// on chips with clusters every direct kernel (small_m8/16/32, medium_m;
// W4A4 and W4A16, plain and window operands) reads its cluster rank and
// size, allows clusters of at most 8 CTAs (.maxclusterrank), and after its
// main loop meets its peers at a cluster barrier (arrive has release,
// wait acquire semantics by default), adds their sums from distributed
// shared memory (mapa + ld.shared::cluster) and meets them again before it
// exits. The large-M kernels and the grouped kernels (whose blocks find
// their tiles in the splits) have none of it, and chips without clusters
// (sm_89) get the kernels without the split.

// CHECK-LABEL: .entry per_token_m0_gemm_small_m8(
// CHECK: .maxclusterrank 8
// CHECK-DAG: mov.u32 %r{{[0-9]+}}, %cluster_ctarank;
// CHECK-DAG: mov.u32 %r{{[0-9]+}}, %cluster_nctarank;
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK: barrier.cluster.arrive.aligned;
// CHECK-NEXT: barrier.cluster.wait.aligned;
// CHECK: mapa.shared::cluster.u64 %rd{{[0-9]+}}, %rd{{[0-9]+}}, 0;
// CHECK-NEXT: ld.shared::cluster.b32
// CHECK: mapa.shared::cluster.u64 %rd{{[0-9]+}}, %rd{{[0-9]+}}, %r{{[0-9]+}};
// CHECK-NEXT: ld.shared::cluster.b32
// CHECK: barrier.cluster.arrive.aligned;
// CHECK-NEXT: barrier.cluster.wait.aligned;
// CHECK-LABEL: .entry per_token_m0_gemm_small_m16(
// CHECK: .maxclusterrank 8
// CHECK: %cluster_ctarank
// CHECK: barrier.cluster.wait.aligned;
// CHECK: ld.shared::cluster.b32
// CHECK: barrier.cluster.wait.aligned;
// CHECK-LABEL: .entry per_token_m0_gemm_small_m32(
// CHECK: .maxclusterrank 8
// CHECK: %cluster_ctarank
// CHECK: barrier.cluster.wait.aligned;
// CHECK: ld.shared::cluster.b32
// CHECK: barrier.cluster.wait.aligned;
// CHECK-LABEL: .entry per_token_m0_gemm_medium_m(
// CHECK: .maxclusterrank 8
// CHECK: %cluster_ctarank
// CHECK: bar.sync 0;
// CHECK: barrier.cluster.wait.aligned;
// CHECK: ld.shared::cluster.b32
// CHECK: barrier.cluster.wait.aligned;
// CHECK-LABEL: .entry per_token_m0_gemm_large_m{{(_wgmma)?}}(
// CHECK-NOT: cluster
// CHECK-LABEL: .entry windows_m1_gemm_small_m8(
func.func @per_token(%ad: memref<?x?xi8>, %as: memref<?x?xf8E4M3FN>,
                     %aa: memref<?xf32>, %bd: memref<?x?xi8>,
                     %bs: memref<?x?xf8E4M3FN>, %ba: memref<1xf32>,
                     %d: memref<?x?xbf16>) {
  nvfp4.matmul
      a(%ad : memref<?x?xi8>, %as : memref<?x?xf8E4M3FN>, %aa : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      b(%bd : memref<?x?xi8>, %bs : memref<?x?xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%d : memref<?x?xbf16>) {alpha = 1.0 : f32}
  return
}

// Window operands: the medium kernel has no K split inside the block, so
// the cluster exchanges the accumulators themselves.
// CHECK: .maxclusterrank 8
// CHECK: barrier.cluster.wait.aligned;
// CHECK: ld.shared::cluster.b32
// CHECK-LABEL: .entry windows_m1_gemm_medium_m(
// CHECK: .maxclusterrank 8
// CHECK: barrier.cluster.wait.aligned;
// CHECK: ld.shared::cluster.b32
// CHECK: barrier.cluster.wait.aligned;
func.func @windows(%ad: memref<?x256xi8>, %as: memref<?x32xf8E4M3FN>,
                   %aa: memref<?x8xf32>, %bd: memref<?x256xi8>,
                   %bs: memref<?x32xf8E4M3FN>, %ba: memref<?x8xf32>,
                   %d: memref<?x?xf32>) {
  nvfp4.matmul
      a(%ad : memref<?x256xi8>, %as : memref<?x32xf8E4M3FN>, %aa : memref<?x8xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<?x256xi8>, %bs : memref<?x32xf8E4M3FN>, %ba : memref<?x8xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      outs(%d : memref<?x?xf32>) {alpha = 1.0 : f32}
  return
}

// W4A16's direct kernels are the same emitter's.
// CHECK-LABEL: .entry w4a16_m2_gemm_small_m8(
// CHECK: .maxclusterrank 8
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK: barrier.cluster.wait.aligned;
// CHECK: ld.shared::cluster.b32
// CHECK: barrier.cluster.wait.aligned;
// CHECK-LABEL: .entry w4a16_m2_gemm_medium_m(
// CHECK: barrier.cluster.wait.aligned;
// CHECK: ld.shared::cluster.b32
// CHECK-LABEL: .entry w4a16_m2_gemm_{{large_m_wgmma|medium_any_m}}(
// CHECK-NOT: cluster
func.func @w4a16(%a: memref<?x?xbf16>, %bd: memref<?x?xi8>,
                 %bs: memref<?x?xf8E4M3FN>, %ba: memref<1xf32>,
                 %out: memref<?x?xbf16>) {
  nvfp4.matmul_w4a16 a(%a : memref<?x?xbf16>)
      b(%bd : memref<?x?xi8>, %bs : memref<?x?xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x?xbf16>)
  return
}

// CHECK-LABEL: .entry grouped_m3_grouped_gemm_small_m8(
// CHECK-NOT: cluster
// CHECK-LABEL: .entry grouped_m3_grouped_gemm_large_m(
// CHECK-NOT: cluster
func.func @grouped(%splits: memref<?xi64>,
    %ad: memref<?x?xi8>, %as: memref<?x?xf8E4M3FN>, %aa: memref<?xf32>,
    %bd: memref<?x?x?xi8>, %bs: memref<?x?x?xf8E4M3FN>, %ba: memref<?xf32>,
    %d: memref<?x?xbf16>) {
  nvfp4.grouped_matmul splits(%splits : memref<?xi64>)
      a(%ad : memref<?x?xi8>, %as : memref<?x?xf8E4M3FN>, %aa : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      b(%bd : memref<?x?x?xi8>, %bs : memref<?x?x?xf8E4M3FN>, %ba : memref<?xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%d : memref<?x?xbf16>)
  return
}

// NONE: .target sm_89
// NONE-NOT: cluster
// NONE-NOT: mapa
