// RUN: nvfp4-opt %s -nvfp4-to-gpu -split-input-file | FileCheck %s

// Per-token rowwise: a thread block per row computes the amaxes (block-wide
// reduction), then a thread per 16-block encodes; the op becomes two
// launches in the host function.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: func.func @per_token
// CHECK-NOT: nvfp4.quantize
// CHECK: gpu.launch_func @nvfp4_kernels::@per_token_q0_0_rowwise_amax
// CHECK-SAME: threads in (%{{.*}}, %{{.*}}, %{{.*}})
// CHECK: gpu.launch_func @nvfp4_kernels::@per_token_q0_1_rowwise_encode
// CHECK: gpu.module @nvfp4_kernels
// CHECK: gpu.func @per_token_q0_0_rowwise_amax
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 256, 1, 1>, nvfp4.direction = "rowwise", nvfp4.work = "row_ctas"}
// CHECK: gpu.all_reduce maxnumf
// CHECK: gpu.func @per_token_q0_1_rowwise_encode
// CHECK-SAME: nvfp4.work = "row_blocks"
// CHECK: vector.load %{{.*}} {alignment = 32 : i64} : memref<?x64xbf16>, vector<16xbf16>
// CHECK: nvvm.convert.f32x2.to.f8x2
func.func @per_token(%x: memref<?x64xbf16>, %d: memref<?x32xi8>,
                     %s: memref<?x4xf8E4M3FN>, %a: memref<?xf32>) {
  nvfp4.quantize %x : memref<?x64xbf16> recipe <per_token>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

// Per-tensor with a swizzled layout and a columnwise output: zero the
// padded scales, reset the amax, reduce it with an atomic fmaxf, encode;
// the columnwise amax walks a column of X per thread.
// CHECK-LABEL: func.func @both
// CHECK: @both_q0_0_rowwise_zero
// CHECK: @both_q0_1_rowwise_amax_init
// CHECK: @both_q0_2_rowwise_amax
// CHECK: @both_q0_3_rowwise_encode
// CHECK: @both_q0_4_columnwise_zero
// CHECK: @both_q0_5_columnwise_amax_init
// CHECK: @both_q0_6_columnwise_amax
// CHECK: @both_q0_7_columnwise_encode
// CHECK: gpu.func @both_q0_2_rowwise_amax
// CHECK: memref.atomic_rmw maxnumf
// CHECK: gpu.func @both_q0_6_columnwise_amax
// CHECK-SAME: nvfp4.direction = "columnwise", nvfp4.work = "rows"
func.func @both(%x: memref<32x64xf32>,
    %d: memref<32x32xi8>, %s: memref<128x4xf8E4M3FN>, %a: memref<1xf32>,
    %dt: memref<64x16xi8>, %st: memref<128x4xf8E4M3FN>, %at: memref<1xf32>) {
  nvfp4.quantize %x : memref<32x64xf32>
      recipe <per_tensor, directions = [rowwise, columnwise], sf_layout = 128x4>
      rowwise(%d : memref<32x32xi8>, %s : memref<128x4xf8E4M3FN>, %a : memref<1xf32>)
      columnwise(%dt : memref<64x16xi8>, %st : memref<128x4xf8E4M3FN>, %at : memref<1xf32>)
  return
}
