// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_90a format=isa" | %python %S/extract-ptx.py | FileCheck %s

// The columnwise RHT of a both-direction recipe on sm_90a: the amax kernel
// rounds once per block (bf16(0.25 * max |butterfly sum|)), the encode
// kernel once per transformed value (16 per block); each rounding is one
// cvt.rn.bf16.f32 (sm_80+) rather than the portable integer sequence.
// CHECK-LABEL: .entry rht_q0_2_both_amax
// CHECK-COUNT-1: cvt.rn.bf16.f32
// CHECK-NOT: cvt.rn.bf16.f32
// CHECK-LABEL: .entry rht_q0_3_both_encode
// CHECK-COUNT-16: cvt.rn.bf16.f32
// CHECK-NOT: cvt.rn.bf16.f32
func.func @rht(%x: memref<?x?xbf16>,
    %d: memref<?x?xi8>, %s: memref<?x?xf8E4M3FN>, %a: memref<1xf32>,
    %dt: memref<?x?xi8>, %st: memref<?x?xf8E4M3FN>, %at: memref<1xf32>) {
  nvfp4.quantize %x : memref<?x?xbf16> recipe <per_tensor_rht>
      rowwise(%d : memref<?x?xi8>, %s : memref<?x?xf8E4M3FN>, %a : memref<1xf32>)
      columnwise(%dt : memref<?x?xi8>, %st : memref<?x?xf8E4M3FN>, %at : memref<1xf32>)
  return
}
