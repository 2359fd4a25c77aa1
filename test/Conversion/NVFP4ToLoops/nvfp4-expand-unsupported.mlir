// RUN: nvfp4-opt %s -nvfp4-expand -split-input-file -verify-diagnostics

// The CPU schedule does not handle GEMMs yet: a clear error, not a crash.
func.func @matmul(%ad: memref<128x32xi8>, %as: memref<128x4xf8E4M3FN>, %aa: memref<1xf32>,
    %bd: memref<128x32xi8>, %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>,
    %out: memref<128x128xf32>) {
  // expected-error @+1 {{'nvfp4.matmul' op is not supported by the CPU lowering (nvfp4-expand) yet}}
  nvfp4.matmul
      a(%ad : memref<128x32xi8>, %as : memref<128x4xf8E4M3FN>, %aa : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<128x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x128xf32>)
  return
}

// -----

func.func @grouped_matmul(%splits: memref<2xi64>,
    %ad: memref<100x32xi8>, %as: memref<384x4xf8E4M3FN>, %aa: memref<2xf32>,
    %bd: memref<2x256x32xi8>, %bs: memref<2x256x4xf8E4M3FN>, %ba: memref<2xf32>,
    %out: memref<100x256xf16>) {
  // expected-error @+1 {{'nvfp4.grouped_matmul' op is not supported by the CPU lowering (nvfp4-expand) yet}}
  nvfp4.grouped_matmul splits(%splits : memref<2xi64>)
      a(%ad : memref<100x32xi8>, %as : memref<384x4xf8E4M3FN>, %aa : memref<2xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<2x256x32xi8>, %bs : memref<2x256x4xf8E4M3FN>, %ba : memref<2xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<100x256xf16>)
  return
}
