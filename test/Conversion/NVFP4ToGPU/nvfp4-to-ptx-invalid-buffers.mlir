// RUN: not nvfp4-opt %s --nvfp4-to-ptx="chip=sm_90a" -split-input-file 2>&1 | FileCheck %s

// Shapes whose sizes overflow int64 crashed the GPU lowering; the verifier
// now rejects them before any pass runs.

// CHECK: error: 'nvfp4.quantize' op expected input to hold at most 2^62 bytes, got 'memref<2305843009213693952x64xbf16>'
func.func @per_token_overflow(%x: memref<2305843009213693952x64xbf16>,
    %d: memref<2305843009213693952x32xi8>, %s: memref<2305843009213693952x4xf8E4M3FN>,
    %a: memref<2305843009213693952xf32>) {
  nvfp4.quantize %x : memref<2305843009213693952x64xbf16> recipe <per_token, sf_layout = 128x4>
      rowwise(%d : memref<2305843009213693952x32xi8>, %s : memref<2305843009213693952x4xf8E4M3FN>,
              %a : memref<2305843009213693952xf32>)
  return
}

// -----

// CHECK: error: 'nvfp4.dequantize' op expected data to hold at most 2^62 bytes, got 'memref<4611686018427387904x16xi8>'
func.func @dequantize_overflow(%d: memref<4611686018427387904x16xi8>,
    %s: memref<4611686018427387904x2xf8E4M3FN>, %a: memref<1xf32>,
    %y: memref<4611686018427387904x32xf32>) {
  nvfp4.dequantize %d : memref<4611686018427387904x16xi8>, %s : memref<4611686018427387904x2xf8E4M3FN>,
      %a : memref<1xf32> recipe <per_tensor> to %y : memref<4611686018427387904x32xf32>
  return
}
