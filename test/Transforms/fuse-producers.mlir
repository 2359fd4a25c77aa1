// RUN: nvfp4-opt %s -nvfp4-fuse-producers -split-input-file | FileCheck %s

// A temporary y: fused, y no longer written, its allocation removed.
// CHECK-LABEL: func.func @temporary
// CHECK-NOT: memref.alloc
// CHECK: nvfp4.rms_norm_quantize %arg0 : memref<?x64xbf16>, %arg1 : memref<64xbf16> residual(%arg2 : memref<?x64xbf16>) eps 9.99999997E-7 rstd(%arg3 : memref<?xf32>) recipe <per_token> rowwise(%arg4 : memref<?x32xi8>, %arg5 : memref<?x4xf8E4M3FN>, %arg6 : memref<?xf32>)
// CHECK-NOT: nvfp4.rms_norm %
// CHECK-NOT: nvfp4.quantize
// CHECK-NOT: memref.dealloc
func.func @temporary(%x: memref<?x64xbf16>, %w: memref<64xbf16>,
    %r: memref<?x64xbf16>, %rs: memref<?xf32>, %d: memref<?x32xi8>,
    %s: memref<?x4xf8E4M3FN>, %a: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %m = memref.dim %x, %c0 : memref<?x64xbf16>
  %y = memref.alloc(%m) : memref<?x64xbf16>
  nvfp4.rms_norm %x : memref<?x64xbf16>, %w : memref<64xbf16>
      residual(%r : memref<?x64xbf16>) eps 1.0e-06
      to %y : memref<?x64xbf16>, %rs : memref<?xf32>
  nvfp4.quantize %y : memref<?x64xbf16> recipe <per_token>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<?xf32>)
  memref.dealloc %y : memref<?x64xbf16>
  return
}

// -----

// y is the caller's buffer: fused, and y still written.
// CHECK-LABEL: func.func @argument
// CHECK: nvfp4.gated_act_quantize gelu_tanh %arg0 : memref<32x128xf16> y(%arg1 : memref<32x64xf16>) recipe <per_tensor, directions = [rowwise, columnwise]>
// CHECK-SAME: rowwise(
// CHECK-SAME: columnwise(
// CHECK-NOT: nvfp4.gated_act %
func.func @argument(%x: memref<32x128xf16>, %y: memref<32x64xf16>,
    %d: memref<32x32xi8>, %s: memref<32x4xf8E4M3FN>, %a: memref<1xf32>,
    %dt: memref<64x16xi8>, %st: memref<64x2xf8E4M3FN>, %at: memref<1xf32>) {
  nvfp4.gated_act gelu_tanh %x : memref<32x128xf16> to %y : memref<32x64xf16>
  nvfp4.quantize %y : memref<32x64xf16>
      recipe <per_tensor, directions = [rowwise, columnwise]>
      rowwise(%d : memref<32x32xi8>, %s : memref<32x4xf8E4M3FN>, %a : memref<1xf32>)
      columnwise(%dt : memref<64x16xi8>, %st : memref<64x2xf8E4M3FN>, %at : memref<1xf32>)
  return
}

// -----

// A local y read again later: written by the fused op; the second
// quantize reads it and stays unfused.
// CHECK-LABEL: func.func @two_readers
// CHECK: %[[Y:.*]] = memref.alloc
// CHECK: nvfp4.gated_act_quantize silu %arg0 : memref<16x64xbf16> y(%[[Y]] : memref<16x32xbf16>) recipe <per_token>
// CHECK: nvfp4.quantize %[[Y]] : memref<16x32xbf16> recipe <per_tensor>
// CHECK: memref.dealloc %[[Y]]
func.func @two_readers(%x: memref<16x64xbf16>, %d: memref<16x16xi8>,
    %s: memref<16x2xf8E4M3FN>, %a: memref<16xf32>, %d2: memref<16x16xi8>,
    %s2: memref<16x2xf8E4M3FN>, %a2: memref<1xf32>) {
  %y = memref.alloc() : memref<16x32xbf16>
  nvfp4.gated_act silu %x : memref<16x64xbf16> to %y : memref<16x32xbf16>
  nvfp4.quantize %y : memref<16x32xbf16> recipe <per_token>
      rowwise(%d : memref<16x16xi8>, %s : memref<16x2xf8E4M3FN>, %a : memref<16xf32>)
  nvfp4.quantize %y : memref<16x32xbf16> recipe <per_tensor>
      rowwise(%d2 : memref<16x16xi8>, %s2 : memref<16x2xf8E4M3FN>, %a2 : memref<1xf32>)
  memref.dealloc %y : memref<16x32xbf16>
  return
}

// -----

// An op with memory effects between the two: left alone (it might read y
// or write the producer's inputs).
// CHECK-LABEL: func.func @effects_between
// CHECK: nvfp4.gated_act silu
// CHECK: memref.store
// CHECK: nvfp4.quantize
// CHECK-NOT: gated_act_quantize
func.func @effects_between(%x: memref<16x64xbf16>, %y: memref<16x32xbf16>,
    %d: memref<16x16xi8>, %s: memref<16x2xf8E4M3FN>, %a: memref<16xf32>,
    %v: bf16) {
  %c0 = arith.constant 0 : index
  nvfp4.gated_act silu %x : memref<16x64xbf16> to %y : memref<16x32xbf16>
  memref.store %v, %x[%c0, %c0] : memref<16x64xbf16>
  nvfp4.quantize %y : memref<16x32xbf16> recipe <per_token>
      rowwise(%d : memref<16x16xi8>, %s : memref<16x2xf8E4M3FN>, %a : memref<16xf32>)
  return
}

// -----

// Effect-free ops between the two do not prevent the fusion.
// CHECK-LABEL: func.func @pure_between
// CHECK: nvfp4.rms_norm_quantize
func.func @pure_between(%x: memref<16x64xbf16>, %w: memref<64xbf16>,
    %y: memref<16x64xbf16>, %rs: memref<16xf32>, %d: memref<16x32xi8>,
    %s: memref<16x4xf8E4M3FN>, %a: memref<16xf32>, %i: index) {
  nvfp4.rms_norm %x : memref<16x64xbf16>, %w : memref<64xbf16> eps 1.0e-05
      to %y : memref<16x64xbf16>, %rs : memref<16xf32>
  %j = arith.addi %i, %i : index
  nvfp4.quantize %y : memref<16x64xbf16> recipe <per_token>
      rowwise(%d : memref<16x32xi8>, %s : memref<16x4xf8E4M3FN>, %a : memref<16xf32>)
  return
}

// -----

// Only nvfp4.quantize fuses: a grouped quantize, or a quantize of another
// matrix, leaves the producer alone.
// CHECK-LABEL: func.func @not_fused
// CHECK: nvfp4.rms_norm %
// CHECK: nvfp4.grouped_quantize
// CHECK: nvfp4.quantize %arg0
// CHECK-NOT: _quantize %
func.func @not_fused(%x: memref<16x64xbf16>, %w: memref<64xbf16>,
    %y: memref<16x64xbf16>, %rs: memref<16xf32>, %sp: memref<2xi64>,
    %d: memref<16x32xi8>, %s: memref<16x4xf8E4M3FN>, %a: memref<2xf32>,
    %a1: memref<1xf32>) {
  nvfp4.rms_norm %x : memref<16x64xbf16>, %w : memref<64xbf16> eps 1.0e-05
      to %y : memref<16x64xbf16>, %rs : memref<16xf32>
  nvfp4.grouped_quantize %y : memref<16x64xbf16> splits(%sp : memref<2xi64>)
      recipe <per_tensor>
      rowwise(%d : memref<16x32xi8>, %s : memref<16x4xf8E4M3FN>, %a : memref<2xf32>)
  nvfp4.quantize %x : memref<16x64xbf16> recipe <per_tensor>
      rowwise(%d : memref<16x32xi8>, %s : memref<16x4xf8E4M3FN>, %a1 : memref<1xf32>)
  return
}
