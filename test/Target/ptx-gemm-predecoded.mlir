// REQUIRES: ptxas
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_90a format=isa predecoded-gemm=true" | %python %S/extract-ptx.py > %t.ptx
// RUN: FileCheck %s --input-file=%t.ptx
// RUN: %ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_90a format=isa predecoded-gemm=true warp-specialized-gemm=true" | %python %S/extract-ptx.py > %t.ws.ptx
// RUN: FileCheck %s --check-prefix=WS --input-file=%t.ws.ptx
// RUN: %ptxas -arch=sm_90a -v %t.ws.ptx -o %t.ws.cubin 2>&1 | FileCheck %s --check-prefix=WSPTXAS

// The predecoded sm_90a large-M GEMM as PTX (test/Conversion/NVFP4ToGPU/
// nvfp4-to-gpu-gemm-predecoded.mlir has it at IR level): the decode
// kernels write two 16-byte vectors per 16-element block; the GEMM kernel
// takes the tensor maps of the two workspaces as its last parameters
// (128-byte grid constants), thread 0 fills each stage with two TMA boxes
// announced on the stage's full barrier (16384 + 32768 bytes), and per
// chunk every thread waits for the barrier, meets at the block barrier
// and issues four m64n256k16 wgmma, retiring the chunk before.
// CHECK-LABEL: .entry per_token_m0_gemm_large_m_predecoded(
// CHECK: .param .align 128 .b8 per_token_m0_gemm_large_m_predecoded_param_{{[0-9]+}}[128],
// CHECK-NEXT: .param .align 128 .b8 per_token_m0_gemm_large_m_predecoded_param_{{[0-9]+}}[128]
// CHECK-NEXT: )
// CHECK: fence.mbarrier_init.release.cluster;
// CHECK: bar.sync 0;
// CHECK: prefetch.param.tensormap
// CHECK-NEXT: prefetch.param.tensormap
// CHECK: mov.b32 [[BYTES:%r[0-9]+]], 49152;
// CHECK: mbarrier.arrive.expect_tx.shared.b64 %rd{{[0-9]+}}, [{{[^]]+}}], [[BYTES]];
// CHECK-COUNT-2: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// CHECK: wgmma.fence.sync.aligned;
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16
// CHECK: wgmma.commit_group.sync.aligned;
// CHECK-NEXT: wgmma.wait_group.sync.aligned 1;
// CHECK: mbarrier.try_wait.parity.shared.b64
// CHECK: bar.sync 0;
// CHECK: mbarrier.arrive.expect_tx.shared.b64
// CHECK-COUNT-2: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// CHECK: wgmma.wait_group.sync.aligned 0;
// CHECK-LABEL: .entry per_token_m0_gemm_decode_a(
// CHECK: st.global.v4.b32 [%rd{{[0-9]+}}], {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}};
// CHECK-NEXT: st.global.v4.b32 [%rd{{[0-9]+}}+16],
// CHECK-LABEL: .entry per_token_m0_gemm_decode_b(

// A W4A16 f16 A with bias and f32 output.
// CHECK-LABEL: .entry w4a16_m1_gemm_large_m_predecoded(
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16
// CHECK-LABEL: .entry w4a16_m1_gemm_decode_a(
// CHECK: st.global.v4.b32
// CHECK-LABEL: .entry w4a16_m1_gemm_decode_b(

// Neither GEMM kernel spills (128 accumulator registers per thread), nor
// does any decode kernel.
// PTXAS-DAG: for per_token_m0_gemm_large_m_predecoded{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS-DAG: for w4a16_m1_gemm_large_m_predecoded{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS-DAG: for per_token_m0_gemm_decode_a{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS-DAG: for per_token_m0_gemm_decode_b{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS-DAG: for w4a16_m1_gemm_decode_a{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// With warp-specialized-gemm the W4A4 kernel runs on GemmPipeline's
// roles: 384 threads, the role split on a warp-uniform warpgroup index,
// the multiplying warpgroups raise their register budget, wait for a full
// stage and issue four wgmma; the producer warpgroup lowers its budget and
// its thread 0 waits for an empty stage and fills it with two TMA boxes.
// W4A16 keeps the software-pipelined predecoded kernel (256 threads).
// WS-LABEL: .entry per_token_m0_gemm_large_m_predecoded(
// WS: .maxntid 384, 1, 1
// WS: shfl.sync.idx.b32
// WS: setmaxnreg.inc.sync.aligned.u32 232;
// WS: mbarrier.try_wait.parity.shared.b64
// WS-COUNT-4: wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16
// WS: setmaxnreg.dec.sync.aligned.u32 40;
// WS-COUNT-2: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// WS: mbarrier.try_wait.parity.shared.b64
// WS-LABEL: .entry w4a16_m1_gemm_large_m_predecoded(
// WS: .maxntid 256, 1, 1
// WSPTXAS: for per_token_m0_gemm_large_m_predecoded{{[[:space:]]+}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// WSPTXAS-NOT: C7515
func.func @per_token(%ad: memref<?x?xi8>, %as: memref<?x?xf8E4M3FN>, %aa: memref<?xf32>,
                     %bd: memref<?x?xi8>, %bs: memref<?x?xf8E4M3FN>, %ba: memref<1xf32>,
                     %out: memref<?x?xbf16>) {
  nvfp4.matmul a(%ad : memref<?x?xi8>, %as : memref<?x?xf8E4M3FN>, %aa : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      b(%bd : memref<?x?xi8>, %bs : memref<?x?xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x?xbf16>)
  return
}

func.func @w4a16(%a: memref<?x?xf16>, %bd: memref<?x?xi8>,
                 %bs: memref<?x?xf8E4M3FN>, %ba: memref<?xf32>,
                 %bias: memref<?xf32>, %out: memref<?x?xf32>) {
  nvfp4.matmul_w4a16 a(%a : memref<?x?xf16>)
      b(%bd : memref<?x?xi8>, %bs : memref<?x?xf8E4M3FN>, %ba : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      bias(%bias : memref<?xf32>) outs(%out : memref<?x?xf32>)
  return
}
