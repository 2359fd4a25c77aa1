// RUN: nvfp4-opt %s -nvfp4-to-gpu="chip=sm_90a warp-specialized-gemm=true" | FileCheck %s

// The warp-specialized sm_90a large-M GEMM kernel (nvfp4-to-gpu's
// warp-specialized-gemm option; the software-pipelined kernel is the
// default, faster on an H100 so far) at IR level: the stages of the
// pipeline (GemmPipeline.h) in the order they run.
//
// The kernel: 384 threads (a decoding warpgroup, two wgmma warpgroups), a
// 128 x 256 tile, persistent, a ring of 3 stages of 48 KB with a full and an
// empty mbarrier each and a raw ring of 4 stages of 13.5 KB filled by TMA,
// with a full and an empty mbarrier each (3 * (49152 + 16) + 4 * (13824 +
// 16) bytes of dynamic shared memory). It takes tensor maps of A's and B's
// data (boxes of one 64-wide chunk, 32 bytes, of the tile's rows, no
// swizzle) after the operands, and reads the scale buffers with
// cp.async.bulk.
// CHECK-LABEL: gpu.func @matmul_per_token_m0_gemm_large_m_wgmma(
// CHECK-SAME: %arg7: !llvm.ptr, %arg8: !llvm.ptr)
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>
// CHECK-SAME: nvfp4.bulk_copy_operands = array<i64: 1, 4>
// CHECK-SAME: nvfp4.gemm_persistent
// CHECK-SAME: nvfp4.gemm_smem = 202864
// CHECK-SAME: nvfp4.gemm_tile = array<i64: 128, 256>
// CHECK-SAME: nvfp4.tensor_maps = [#nvfp4.tensor_map<arg = 7, operand = 0, box = [32, 128], swizzle = 0>, #nvfp4.tensor_map<arg = 8, operand = 3, box = [32, 256], swizzle = 0>]
//
// Thread 0 initialises the decoded ring's full[s] for the 128 decoding
// threads and empty[s] for the 256 multiplying ones, then the raw ring's
// full[s] for one TMA arrival each and empty[s] for the 128 decoders,
// fences the initialisation, and the whole block meets once.
// CHECK: %[[DSMEM:.*]] = gpu.dynamic_shared_memory
// CHECK: scf.if
// CHECK-COUNT-6: nvvm.mbarrier.init %{{.*}}, %c{{(128|256)}}_i32{{[_0-9]*}} : !llvm.ptr<3>, i32
// CHECK-COUNT-8: nvvm.mbarrier.init %{{.*}}, %c{{(1|128)}}_i32{{[_0-9]*}} : !llvm.ptr<3>, i32
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
// Decoders: thread 0 prefetches both maps and fills iterations 0..2 of the
// raw ring (GemmPipeline::fillStage: 13824 bytes announced on the raw
// stage's full barrier, A's and B's boxes, three 512-byte scale atoms, all
// completing on it), then one flat loop over (tile, chunk) carrying both
// rings' positions (stage, phase): thread 0 fills iteration i + 3; every
// decoder waits for the raw stage of iteration i, reads its items (8 data
// bytes and a scale word each), releases the raw stage, waits for the
// decoded stage to be free (the phase before the consumers'), decodes into
// it, fences the generic-proxy stores for wgmma, arrives on full.
// CHECK: nvvm.setmaxregister decrease 152
// CHECK: nvvm.prefetch tensormap in_param_space, %arg7 : !llvm.ptr
// CHECK-NEXT: nvvm.prefetch tensormap in_param_space, %arg8 : !llvm.ptr
// CHECK-COUNT-3: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c13824_i32 : !llvm.ptr<3>, i32
// CHECK: scf.for %{{.*}} = %c0{{.*}} iter_args(%[[STAGE:.*]] = %c0{{.*}}, %[[PHASE:.*]] = %c0_i32{{.*}}, %[[RSTAGE:.*]] = %c0{{.*}}, %[[RPHASE:.*]] = %c0_i32{{.*}})
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[FULL:[0-9]+]], %c13824_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg7, %[[FULL]], box[
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg8, %[[FULL]], box[
// CHECK-COUNT-3: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %[[FULL]], %c512_i32
// CHECK: nvvm.mbarrier.try_wait %{{.*}}, %[[RPHASE]] : !llvm.ptr<3>, i32 -> i1
// CHECK: llvm.load %{{.*}} {alignment = 8 : i64} : !llvm.ptr<3> -> vector<2xi32>
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<3> -> i32
// CHECK: nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3>
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
