// REQUIRES: ptxas
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_90a format=isa" | %python %S/extract-ptx.py > %t.sm_90a.ptx
// RUN: FileCheck %s --input-file=%t.sm_90a.ptx
// RUN: %ptxas -arch=sm_90a %t.sm_90a.ptx -o %t.sm_90a.cubin
// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_100a format=isa" | %python %S/extract-ptx.py > %t.sm_100a.ptx
// RUN: FileCheck %s --input-file=%t.sm_100a.ptx
// RUN: %ptxas -arch=sm_100a %t.sm_100a.ptx -o %t.sm_100a.cubin

// A kernel declaring a tensor map (nvfp4.tensor_maps) gets it as a
// 128-byte, 128-aligned by-value parameter that TMA reads in place: its
// generic address comes from cvta.param, with no copy to local memory (a
// __local_depot would mean LLVM copied the by-value parameter, and TMA
// cannot read a map there). The memref before it still expands into five
// parameters, and the i32 after it follows (the map views %src, the
// 2-D byte matrix the runtime would encode it over). (Assembled, never run: the
// runtime tests launch the GEMM kernels that take maps.)
// CHECK-LABEL: .entry tma_box(
// CHECK-NEXT: .param .u64 .ptr .align 1 tma_box_param_0,
// CHECK-NEXT: .param .u64 .ptr .align 1 tma_box_param_1,
// CHECK-NEXT: .param .u64 tma_box_param_2,
// CHECK-NEXT: .param .u64 tma_box_param_3,
// CHECK-NEXT: .param .u64 tma_box_param_4,
// CHECK-NEXT: .param .align 128 .b8 tma_box_param_5[128],
// CHECK-NEXT: .param .u32 tma_box_param_6
// CHECK-NOT: __local_depot
// CHECK: mov.b64 %rd[[P:[0-9]+]], tma_box_param_5;
// CHECK: cvta.param.u64 %rd[[G:[0-9]+]], %rd[[P]];
// CHECK: prefetch.param.tensormap [%rd[[P]]];
// CHECK: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%rd{{[0-9]+}}], [%rd[[G]], {%r{{[0-9]+}}, %r{{[0-9]+}}}], [__wg_tma_box_1];
// CHECK-NOT: __local_depot
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @tma_box(%out: memref<?xi32>, %map: !llvm.ptr, %row: i32,
                      %src: memref<?x64xi8>)
        workgroup(%tile: memref<1024xi8, #gpu.address_space<workgroup>> {llvm.align = 128 : i64},
                  %bar: memref<1xi64, #gpu.address_space<workgroup>>)
        kernel attributes {
          nvfp4.tensor_maps = [#nvfp4.tensor_map<arg = 1, operand = 3,
                                                 box = [32, 32], swizzle = 32>]} {
      %c0 = arith.constant 0 : index
      %c0i = arith.constant 0 : i32
      %c1i = arith.constant 1 : i32
      %bytes = arith.constant 1024 : i32
      %tid = gpu.thread_id x
      %first = arith.cmpi eq, %tid, %c0 : index
      %tilei = memref.extract_aligned_pointer_as_index %tile : memref<1024xi8, #gpu.address_space<workgroup>> -> index
      %bari = memref.extract_aligned_pointer_as_index %bar : memref<1xi64, #gpu.address_space<workgroup>> -> index
      %tile64 = arith.index_cast %tilei : index to i64
      %bar64 = arith.index_cast %bari : index to i64
      %tile3 = llvm.inttoptr %tile64 : i64 to !llvm.ptr<3>
      %bar3 = llvm.inttoptr %bar64 : i64 to !llvm.ptr<3>
      scf.if %first {
        nvvm.prefetch tensormap in_param_space, %map : !llvm.ptr
        nvvm.mbarrier.init %bar3, %c1i : !llvm.ptr<3>, i32
        nvvm.fence.mbarrier.init
        nvvm.mbarrier.arrive.expect_tx %bar3, %bytes : !llvm.ptr<3>, i32
        %dst = llvm.addrspacecast %tile3 : !llvm.ptr<3> to !llvm.ptr<7>
        nvvm.cp.async.bulk.tensor.shared.cluster.global %dst, %map, %bar3, box[%c0i, %row] : !llvm.ptr<7>, !llvm.ptr
      }
      gpu.barrier
      nvvm.mbarrier.try_wait.parity %bar3, %c0i, %c0i : !llvm.ptr<3>, i32, i32
      %v = memref.load %tile[%c0] : memref<1024xi8, #gpu.address_space<workgroup>>
      %w = arith.extui %v : i8 to i32
      memref.store %w, %out[%c0] : memref<?xi32>
      gpu.return
    }
  }
}
