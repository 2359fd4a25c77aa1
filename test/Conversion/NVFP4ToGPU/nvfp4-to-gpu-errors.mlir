// RUN: nvfp4-opt %s -nvfp4-to-gpu -split-input-file -verify-diagnostics
// RUN: not nvfp4-opt %s -nvfp4-to-gpu="chip=gfx942" -split-input-file 2>&1 | FileCheck %s --check-prefix=CHIP

// CHIP: error: expected chip of the form sm_<N>[a], got 'gfx942'

// Grouped quantization, dequantization and GEMMs have no GPU lowering yet.
func.func @grouped(%x: memref<40x64xbf16>, %splits: memref<4xi64>,
    %d: memref<40x32xi8>, %s: memref<40x4xf8E4M3FN>, %a: memref<4xf32>) {
  // expected-error @+1 {{'nvfp4.grouped_quantize' op is not supported by the GPU lowering (nvfp4-to-gpu) yet}}
  nvfp4.grouped_quantize %x : memref<40x64xbf16> splits(%splits : memref<4xi64>)
      recipe <per_tensor>
      rowwise(%d : memref<40x32xi8>, %s : memref<40x4xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// -----

func.func @dequantize(%d: memref<2x16xi8>, %s: memref<2x2xf8E4M3FN>,
                      %a: memref<1xf32>, %y: memref<2x32xbf16>) {
  // expected-error @+1 {{'nvfp4.dequantize' op is not supported by the GPU lowering (nvfp4-to-gpu) yet}}
  nvfp4.dequantize %d : memref<2x16xi8>, %s : memref<2x2xf8E4M3FN>,
      %a : memref<1xf32> recipe <per_tensor> to %y : memref<2x32xbf16>
  return
}
