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

func.func @grouped(%x: memref<40x64xbf16>, %splits: memref<4xi64>,
    %d: memref<40x32xi8>, %s: memref<40x4xf8E4M3FN>, %a: memref<4xf32>) {
  // expected-error @+1 {{'nvfp4.grouped_quantize' op is not supported by the CPU lowering (nvfp4-expand) yet}}
  nvfp4.grouped_quantize %x : memref<40x64xbf16> splits(%splits : memref<4xi64>)
      recipe <per_tensor>
      rowwise(%d : memref<40x32xi8>, %s : memref<40x4xf8E4M3FN>, %a : memref<4xf32>)
  return
}
