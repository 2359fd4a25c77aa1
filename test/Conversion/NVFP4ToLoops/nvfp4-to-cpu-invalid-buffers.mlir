// RUN: rm -f %t
// RUN: not nvfp4-opt %s --nvfp4-to-cpu -split-input-file -o %t 2>&1 | FileCheck %s
// RUN: not test -e %t

// Buffers the CPU pipeline cannot convert used to print "conversion to
// strided form failed" (or a memory space error) and still exit 0, writing
// a half-lowered module. The verifier now rejects them before any pass
// runs, so nothing is written.

// CHECK: error: 'nvfp4.quantize' op expected input to have a contiguous row-major layout, got 'memref<32x64xf32, affine_map<(d0, d1) -> (d1, d0)>>'
func.func @permuted_input(%x: memref<32x64xf32, affine_map<(d0, d1) -> (d1, d0)>>,
    %d: memref<32x32xi8>, %s: memref<32x4xf8E4M3FN>, %a: memref<1xf32>) {
  nvfp4.quantize %x : memref<32x64xf32, affine_map<(d0, d1) -> (d1, d0)>> recipe <per_tensor>
      rowwise(%d : memref<32x32xi8>, %s : memref<32x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

// CHECK: error: 'nvfp4.quantize' op expected input in the default memory space, got 'memref<32x64xf32, #gpu.address_space<workgroup>>'
func.func @workgroup_input(%x: memref<32x64xf32, #gpu.address_space<workgroup>>,
    %d: memref<32x32xi8>, %s: memref<32x4xf8E4M3FN>, %a: memref<1xf32>) {
  nvfp4.quantize %x : memref<32x64xf32, #gpu.address_space<workgroup>> recipe <per_tensor>
      rowwise(%d : memref<32x32xi8>, %s : memref<32x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

// Segfaulted in the canonicalizer (a reinterpret_cast of dim0 * dim1).
// CHECK: error: 'nvfp4.quantize' op expected input to hold at most 2^62 bytes, got 'memref<4611686018427387904x32xf32>'
func.func @overflowing_input(%x: memref<4611686018427387904x32xf32>,
    %d: memref<4611686018427387904x16xi8>, %s: memref<4611686018427387904x2xf8E4M3FN>,
    %a: memref<4611686018427387904x1xf32>) {
  nvfp4.quantize %x : memref<4611686018427387904x32xf32> recipe <local_1x64>
      rowwise(%d : memref<4611686018427387904x16xi8>, %s : memref<4611686018427387904x2xf8E4M3FN>,
              %a : memref<4611686018427387904x1xf32>)
  return
}
