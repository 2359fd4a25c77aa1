// RUN: nvfp4-opt %s -nvfp4-to-gpu="chip=sm_90a" -split-input-file | FileCheck %s

// Producers fused into a quantize (SPEC.md section 15): which kernels each
// op becomes, in launch order, and what they share.

// An RMSNorm feeding a per-token rowwise quantize is one kernel, a thread
// block per row: the row's scale (a tree reduction through shared memory,
// stored to rstd by thread 0) while each thread keeps its first four blocks
// of h in a 32 KB shared row cache, the amax (from the cached h; each kept
// block's residual written, y kept over h), then the encode (from the
// cached y), writing y. Nothing is read from memory twice for K <= 16384.
// CHECK-LABEL: func.func @rms_per_token
// CHECK: gpu.launch_func @nvfp4_kernels::@rms_per_token_q0_0_rowwise_amax_encode
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.func @rms_per_token_q0_0_rowwise_amax_encode
// CHECK-SAME: workgroup(%{{.*}} : memref<4x256x16xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<8xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1024xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: nvfp4.work = "row_ctas"
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: gpu.barrier
// CHECK: gpu.all_reduce maxnumf
// CHECK: gpu.return
func.func @rms_per_token(%x: memref<?x64xbf16>, %w: memref<64xbf16>,
    %r: memref<?x64xbf16>, %rs: memref<?xf32>, %y: memref<?x64xbf16>,
    %d: memref<?x32xi8>, %s: memref<?x4xf8E4M3FN>, %a: memref<?xf32>) {
  nvfp4.rms_norm_quantize %x : memref<?x64xbf16>, %w : memref<64xbf16>
      residual(%r : memref<?x64xbf16>) eps 1.0e-06 rstd(%rs : memref<?xf32>)
      y(%y : memref<?x64xbf16>) recipe <per_token>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

// Any other recipe: the row scales first (stored to rstd, which the
// quantize kernels read), the kernels nvfp4.quantize would launch, and the
// producer's outputs last (the residual is overwritten only after every
// read of it).
// CHECK-LABEL: func.func @rms_per_tensor
// CHECK: gpu.launch_func @nvfp4_kernels::@rms_per_tensor_q0_0_rowwise_rstd
// CHECK: gpu.launch_func @nvfp4_kernels::@rms_per_tensor_q0_1_rowwise_amax_init
// CHECK: gpu.launch_func @nvfp4_kernels::@rms_per_tensor_q0_2_rowwise_amax
// CHECK: gpu.launch_func @nvfp4_kernels::@rms_per_tensor_q0_3_rowwise_encode
// CHECK: gpu.launch_func @nvfp4_kernels::@rms_per_tensor_q0_4_rowwise_outputs
// CHECK: gpu.func @rms_per_tensor_q0_0_rowwise_rstd
// CHECK-SAME: nvfp4.work = "row_ctas"
// CHECK: gpu.func @rms_per_tensor_q0_4_rowwise_outputs
// CHECK-SAME: nvfp4.work = "row_ctas"
func.func @rms_per_tensor(%x: memref<?x64xf16>, %w: memref<64xf16>,
    %r: memref<?x64xf16>, %rs: memref<?xf32>,
    %d: memref<?x32xi8>, %s: memref<?x4xf8E4M3FN>, %a: memref<1xf32>) {
  nvfp4.rms_norm_quantize %x : memref<?x64xf16>, %w : memref<64xf16>
      residual(%r : memref<?x64xf16>) eps 1.0e-06 rstd(%rs : memref<?xf32>)
      recipe <per_tensor>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

// Without y or a residual there is nothing to write after the quantize.
// CHECK-LABEL: func.func @rms_bare
// CHECK: @rms_bare_q0_0_rowwise_rstd
// CHECK: @rms_bare_q0_1_rowwise_zero
// CHECK-NOT: _outputs
func.func @rms_bare(%x: memref<?x64xbf16>, %w: memref<64xbf16>,
    %rs: memref<?xf32>, %d: memref<?x32xi8>, %s: memref<128x4xf8E4M3FN>,
    %a: memref<?x1xf32>) {
  nvfp4.rms_norm_quantize %x : memref<?x64xbf16>, %w : memref<64xbf16>
      eps 1.0e-06 rstd(%rs : memref<?xf32>)
      recipe <local_1x64, sf_layout = 128x4>
      rowwise(%d : memref<?x32xi8>, %s : memref<128x4xf8E4M3FN>, %a : memref<?x1xf32>)
  return
}

// -----

// A gated activation needs no row pass: every kernel computes its values
// from the gate and up halves, and X's width (the grids', the tiles' bound)
// is half the input's.
// CHECK-LABEL: func.func @gated_both
// CHECK: %[[IN:.*]] = memref.dim %arg0, %c1
// CHECK: arith.divui %[[IN]], %c2
// CHECK: gpu.launch_func @nvfp4_kernels::@gated_both_q0_0_rowwise_amax_init
// CHECK: gpu.launch_func @nvfp4_kernels::@gated_both_q0_1_columnwise_amax_init
// CHECK: gpu.launch_func @nvfp4_kernels::@gated_both_q0_2_both_amax
// CHECK: gpu.launch_func @nvfp4_kernels::@gated_both_q0_3_both_encode
// CHECK: gpu.launch_func @nvfp4_kernels::@gated_both_q0_4_rowwise_outputs
// CHECK: gpu.func @gated_both_q0_2_both_amax
// CHECK-SAME: nvfp4.work = "tiles"
func.func @gated_both(%x: memref<?x256xbf16>, %y: memref<?x128xbf16>,
    %d: memref<?x64xi8>, %s: memref<128x8xf8E4M3FN>, %a: memref<1xf32>,
    %dt: memref<128x?xi8>, %st: memref<128x?xf8E4M3FN>, %at: memref<1xf32>) {
  nvfp4.gated_act_quantize silu %x : memref<?x256xbf16> y(%y : memref<?x128xbf16>)
      recipe <per_tensor_rht>
      rowwise(%d : memref<?x64xi8>, %s : memref<128x8xf8E4M3FN>, %a : memref<1xf32>)
      columnwise(%dt : memref<128x?xi8>, %st : memref<128x?xf8E4M3FN>, %at : memref<1xf32>)
  return
}

// -----

// The producers alone: one kernel, a thread block per row.
// CHECK-LABEL: func.func @alone
// CHECK: gpu.launch_func @nvfp4_kernels::@alone_q0_0_rms_norm
// CHECK: gpu.launch_func @nvfp4_kernels::@alone_q1_0_gated_act
// CHECK: gpu.func @alone_q0_0_rms_norm
// CHECK-SAME: nvfp4.work = "row_ctas"
// CHECK: gpu.func @alone_q1_0_gated_act
// CHECK-SAME: nvfp4.work = "row_ctas"
func.func @alone(%x: memref<?x?xbf16>, %w: memref<?xbf16>, %rs: memref<?xf32>,
    %y: memref<?x?xbf16>, %g: memref<?x?xbf16>, %gy: memref<?x?xbf16>) {
  nvfp4.rms_norm %x : memref<?x?xbf16>, %w : memref<?xbf16> eps 1.0e-05
      to %y : memref<?x?xbf16>, %rs : memref<?xf32>
  nvfp4.gated_act gelu_tanh %g : memref<?x?xbf16> to %gy : memref<?x?xbf16>
  return
}
