// REQUIRES: ptxas
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_90a format=isa warp-specialized-gemm=true" | %python %S/extract-ptx.py > %t.ptx
// RUN: FileCheck %s --input-file=%t.ptx
// RUN: %ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS

// The warp-specialized sm_90a large-M GEMM (nvfp4-to-gpu's
// warp-specialized-gemm option; test/Conversion/NVFP4ToGPU/
// nvfp4-to-gpu-gemm-pipeline.mlir has its stages at IR level) as PTX:
// thread 0 initialises a full and an empty mbarrier per stage of both
// rings in dynamic shared memory, then the roles split on a warp-uniform
// warpgroup index (shfl.sync) and set their register budgets. The MMA
// warpgroups wait for a full stage, issue four m64n256k16 wgmma, commit,
// retire the previous chunk's group and release its stage; in the
// decoding warpgroup thread 0 fills a raw ring three iterations ahead with
// TMA (GemmPipeline::fillStage, as sm_100a's producer), and every decoder
// waits for the raw stage, reads its items, releases the raw stage, waits
// for an empty stage, decodes into it and publishes it. No block barrier
// after the split. The tensor maps of A and B are the kernel's last
// parameters, 128-byte grid constants read in place.
// CHECK: .entry matmul_per_token_m0_gemm_large_m_wgmma
// CHECK: .param .align 128 .b8 matmul_per_token_m0_gemm_large_m_wgmma_param_45[128],
// CHECK-NEXT: .param .align 128 .b8 matmul_per_token_m0_gemm_large_m_wgmma_param_46[128]
// CHECK-NEXT: )
// CHECK: .maxntid 384, 1, 1
// CHECK-NOT: __local_depot
// Both rings' barriers: full (128 decoders) and empty (256 MMA threads)
// of the three decoded stages, then full (one TMA arrival) and empty (128
// decoders) of the four raw stages, after the 198 KB of stages.
// CHECK: mov.b32 [[DECODERS:%r[0-9]+]], 128;
// CHECK-NEXT: mbarrier.init.shared.b64 [__dynamic_shmem__0+202752], [[DECODERS]];
// CHECK-NEXT: mov.b32 [[MMA:%r[0-9]+]], 256;
// CHECK-NEXT: mbarrier.init.shared.b64 [__dynamic_shmem__0+202776], [[MMA]];
// CHECK-COUNT-4: mbarrier.init.shared.b64 [__dynamic_shmem__0+2027{{[0-9]+}}]
// CHECK-NEXT: mov.b32 [[ONE:%r[0-9]+]], 1;
// CHECK-NEXT: mbarrier.init.shared.b64 [__dynamic_shmem__0+202800], [[ONE]];
// CHECK-NEXT: mbarrier.init.shared.b64 [__dynamic_shmem__0+202832], [[DECODERS]];
// CHECK-COUNT-6: mbarrier.init.shared.b64 [__dynamic_shmem__0+2028{{[0-9]+}}]
// CHECK-NEXT: fence.mbarrier_init.release.cluster;
// CHECK: bar.sync 0;
// CHECK-NOT: bar.sync
// CHECK: shfl.sync.idx.b32
// CHECK: setmaxnreg.inc.sync.aligned.u32 176;
// CHECK: mbarrier.try_wait.parity.shared.b64
// CHECK: wgmma.fence.sync.aligned;
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16
// CHECK: wgmma.commit_group.sync.aligned;
// CHECK-NEXT: wgmma.wait_group.sync.aligned 1;
// CHECK: mbarrier.arrive.shared.b64
// CHECK: wgmma.wait_group.sync.aligned 0;
// CHECK: mbarrier.arrive.shared.b64
// CHECK: setmaxnreg.dec.sync.aligned.u32 152;
// CHECK: prefetch.param.tensormap
// CHECK-NEXT: prefetch.param.tensormap
// A fill: wait for the raw stage to be released, announce its 13824 bytes
// (4096 + 8192 of boxes, three 512-byte atoms), the boxes at (byte of K,
// first row), the atoms.
// CHECK: mbarrier.try_wait.parity.shared.b64
// CHECK: mov.b32 [[BYTES:%r[0-9]+]], 13824;
// CHECK-NEXT: mbarrier.arrive.expect_tx.shared.b64 %rd{{[0-9]+}}, [{{[^]]+}}], [[BYTES]];
// CHECK-COUNT-2: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// CHECK-COUNT-3: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes
// The loop: the fill three ahead, then every decoder's wait for the raw
// stage, its reads (8 data bytes and a scale word per item), the release.
// CHECK: mbarrier.arrive.expect_tx.shared.b64
// CHECK: mbarrier.try_wait.parity.shared.b64
// CHECK: ld.shared.v2.b32
// CHECK: ld.shared.b32
// CHECK: mbarrier.arrive.shared.b64
// CHECK: mbarrier.try_wait.parity.shared.b64
// CHECK: cvt.rn.f16x2.e4m3x2
// CHECK: st.shared.v4.b32
// CHECK: fence.proxy.async.shared::cta;
// CHECK-NEXT: mbarrier.arrive.shared.b64
// CHECK-NOT: bar.sync
// CHECK-NOT: cp.async.wait_group

// Neither role spills at its setmaxnreg budget (152 / 176 of the 168 the
// 384-thread block launches with).
// PTXAS: Function properties for matmul_per_token_m0_gemm_large_m_wgmma
// PTXAS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS-NEXT: Used 168 registers
func.func @matmul_per_token(%a: memref<?x256xi8>, %a_scale: memref<?x32xf8E4M3FN>,
                            %a_amax: memref<?xf32>,
                            %b: memref<300x256xi8>, %b_scale: memref<384x32xf8E4M3FN>,
                            %b_amax: memref<1xf32>,
                            %d: memref<?x300xbf16>) {
  nvfp4.matmul
      a(%a : memref<?x256xi8>, %a_scale : memref<?x32xf8E4M3FN>, %a_amax : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      b(%b : memref<300x256xi8>, %b_scale : memref<384x32xf8E4M3FN>, %b_amax : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%d : memref<?x300xbf16>)
  return
}
