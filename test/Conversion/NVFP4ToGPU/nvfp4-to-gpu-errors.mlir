// RUN: nvfp4-opt %s -nvfp4-to-gpu -split-input-file -verify-diagnostics
// RUN: not nvfp4-opt %s -nvfp4-to-gpu="chip=gfx942" -split-input-file 2>&1 | FileCheck %s --check-prefix=CHIP

// CHIP: error: expected chip of the form sm_<N>[a], got 'gfx942'

// Grouped GEMMs have no lowering in this pass.
func.func @grouped_matmul(%splits: memref<2xi64>,
    %ad: memref<100x32xi8>, %as: memref<384x4xf8E4M3FN>, %aa: memref<2xf32>,
    %bd: memref<2x256x32xi8>, %bs: memref<2x256x4xf8E4M3FN>, %ba: memref<2x256xf32>,
    %bias: memref<2x256xf32>, %out: memref<100x256xf16>) {
  // expected-error @+1 {{'nvfp4.grouped_matmul' op is not supported by the GPU lowering (nvfp4-to-gpu) yet}}
  nvfp4.grouped_matmul splits(%splits : memref<2xi64>)
      a(%ad : memref<100x32xi8>, %as : memref<384x4xf8E4M3FN>, %aa : memref<2xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<2x256x32xi8>, %bs : memref<2x256x4xf8E4M3FN>, %ba : memref<2x256xf32>)
        recipe <per_token, sf_layout = 128x4>
      bias(%bias : memref<2x256xf32>) outs(%out : memref<100x256xf16>)
  return
}
