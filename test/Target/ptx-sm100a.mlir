// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_100a format=isa" | %python %S/extract-ptx.py | FileCheck %s

// sm_100a packs E2M1 pairs with the native conversion (first operand in
// the high nibble: the odd element). Compiled and assembled here only; no
// Blackwell GPU has run these kernels.
// CHECK: .target sm_100a
// CHECK-DAG: cvt.rn.satfinite.e2m1x2.f32
// CHECK-DAG: cvt.rn.satfinite.e4m3x2.f32
// CHECK-NOT: fma.
func.func @per_token(%x: memref<?x4096xbf16>, %d: memref<?x2048xi8>,
                     %s: memref<?x256xf8E4M3FN>, %a: memref<?xf32>) {
  nvfp4.quantize %x : memref<?x4096xbf16> recipe <per_token>
      rowwise(%d : memref<?x2048xi8>, %s : memref<?x256xf8E4M3FN>, %a : memref<?xf32>)
  return
}
