// RUN: nvfp4-opt %s -nvfp4-to-gpu="chip=sm_90a warp-specialized-gemm=true" | FileCheck %s

// The warp-specialized sm_90a large-M GEMM kernel (nvfp4-to-gpu's
// warp-specialized-gemm option; the software-pipelined kernel is the
// default, faster on an H100 so far) at IR level: the stages of the
// pipeline (GemmPipeline.h) in the order they run.
//
// The kernel: 384 threads (a decoding warpgroup, two wgmma warpgroups), a
// 128 x 256 tile, persistent, a ring of 3 stages of 48 KB with a full and an
// empty mbarrier each and a raw ring of 4 stages of 18 KB (3 * (49152 + 16)
// + 4 * 18432 bytes of dynamic shared memory).
// CHECK-LABEL: gpu.func @matmul_per_token_m0_gemm_large_m_wgmma(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>
// CHECK-SAME: nvfp4.gemm_persistent
// CHECK-SAME: nvfp4.gemm_smem = 221232
// CHECK-SAME: nvfp4.gemm_tile = array<i64: 128, 256>
//
// Thread 0 initialises full[s] for the 128 decoding threads and empty[s]
// for the 256 multiplying ones, fences the initialisation, and the whole
// block meets once.
// CHECK: %[[DSMEM:.*]] = gpu.dynamic_shared_memory
// CHECK: scf.if
// CHECK-COUNT-3: nvvm.mbarrier.init %{{.*}}, %c{{[0-9_]*}}{{.*}}: !llvm.ptr<3>, i32
// CHECK: nvvm.fence.mbarrier.init
// CHECK: }
// CHECK-NEXT: gpu.barrier
//
// The persistent schedule: this block's tiles are blockIdx.x, blockIdx.x +
// gridDim.x, ..., ceil((tiles - blockIdx.x) / gridDim.x) of them.
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: %[[GRID:.*]] = gpu.grid_dim x
// CHECK: %[[LEFT:.*]] = arith.subi %{{.*}}, %[[BID]] : index
//
// The roles split on the warpgroup index broadcast from lane 0.
// CHECK: %[[WG:.*]] = nvvm.shfl.sync idx %c-1_i32, %{{.*}}, %c0_i32, %c31_i32 : i32 -> i32
// CHECK: %[[PRODUCER:.*]] = arith.cmpi ult, %[[WG]], %c1_i32
// CHECK: scf.if %[[PRODUCER]] {
//
// Decoders: the copies of iterations 0..2 into the raw ring, then one flat
// loop over (tile, chunk) carrying the ring position (stage, phase): copy
// iteration i + 3, wait for this thread's copies of iteration i, wait for
// the stage to be free (the phase before the consumers'), decode into it,
// fence the generic-proxy stores for wgmma, arrive on full.
// CHECK: nvvm.setmaxregister decrease 152
// CHECK-COUNT-3: nvvm.cp.async.commit.group
// CHECK: scf.for %{{.*}} = %c0{{.*}} iter_args(%[[STAGE:.*]] = %c0{{.*}}, %[[PHASE:.*]] = %c0_i32{{.*}})
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 8, cache = ca
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 4, cache = ca
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 3
// CHECK: %[[PREV:.*]] = arith.xori %[[PHASE]], %c1_i32
// CHECK: scf.while
// CHECK: nvvm.mbarrier.try_wait %{{.*}}, %[[PREV]] : !llvm.ptr<3>, i32 -> i1
// CHECK: vector.store
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: arith.index_castui
// CHECK-NEXT: llvm.getelementptr
// CHECK-NEXT: nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3>
// Advance: the stage wraps after 3 with the phase flipped.
// CHECK: arith.cmpi eq, %{{.*}}, %c3
// CHECK: } else {
//
// Multipliers: tiles, then chunks; wait full, four wgmma, commit, retire
// the previous chunk and release its stage; after the chunks retire all,
// release the last stage and run the epilogue.
// CHECK: nvvm.setmaxregister increase 176
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.while
// CHECK: nvvm.mbarrier.try_wait
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: arith.cmpi ugt
// CHECK-NEXT: scf.if
// CHECK: nvvm.mbarrier.arrive
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.mbarrier.arrive
// CHECK: memref.store
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
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
