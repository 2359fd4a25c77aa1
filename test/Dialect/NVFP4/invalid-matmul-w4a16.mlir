// RUN: nvfp4-opt %s -split-input-file -verify-diagnostics

// A is bf16 or f16, never NVFP4 data or f32.
func.func @w4a16_a_type(%a: memref<128x64xf32>, %bd: memref<64x32xi8>,
    %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>, %out: memref<128x64xf32>) {
  // expected-error @+1 {{operand #0 must be 2D memref of bfloat16 type or 16-bit float values}}
  nvfp4.matmul_w4a16 a(%a : memref<128x64xf32>)
      b(%bd : memref<64x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x64xf32>)
  return
}

// -----

func.func @w4a16_linear_scales(%a: memref<128x64xbf16>, %bd: memref<64x32xi8>,
    %bs: memref<64x4xf8E4M3FN>, %ba: memref<1xf32>, %out: memref<128x64xf32>) {
  // expected-error @+1 {{expected b_recipe to use sf_layout = 128x4 (the block-scaled MMA layout), got linear}}
  nvfp4.matmul_w4a16 a(%a : memref<128x64xbf16>)
      b(%bd : memref<64x32xi8>, %bs : memref<64x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor>
      outs(%out : memref<128x64xf32>)
  return
}

// -----

func.func @w4a16_k(%a: memref<128x40xf16>, %bd: memref<64x20xi8>,
    %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>, %out: memref<128x64xf32>) {
  // expected-error @+1 {{expected K (a dim 1) to be a multiple of 16, got 40}}
  nvfp4.matmul_w4a16 a(%a : memref<128x40xf16>)
      b(%bd : memref<64x20xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x64xf32>)
  return
}

// -----

// A has M rows, the output's.
func.func @w4a16_a_rows(%a: memref<64x64xbf16>, %bd: memref<64x32xi8>,
    %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>, %out: memref<128x64xbf16>) {
  // expected-error @+1 {{expected a of shape 128x64, got 64x64}}
  nvfp4.matmul_w4a16 a(%a : memref<64x64xbf16>)
      b(%bd : memref<64x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x64xbf16>)
  return
}

// -----

// A and B must agree on K (B packs two values per byte).
func.func @w4a16_b_k(%a: memref<128x64xbf16>, %bd: memref<64x16xi8>,
    %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>, %out: memref<128x64xbf16>) {
  // expected-error @+1 {{expected b_data of shape 64x32, got 64x16}}
  nvfp4.matmul_w4a16 a(%a : memref<128x64xbf16>)
      b(%bd : memref<64x16xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x64xbf16>)
  return
}

// -----

func.func @w4a16_b_scale(%a: memref<128x64xbf16>, %bd: memref<64x32xi8>,
    %bs: memref<64x4xf8E4M3FN>, %ba: memref<1xf32>, %out: memref<128x64xbf16>) {
  // expected-error @+1 {{expected b_scale of shape 128x4, got 64x4}}
  nvfp4.matmul_w4a16 a(%a : memref<128x64xbf16>)
      b(%bd : memref<64x32xi8>, %bs : memref<64x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x64xbf16>)
  return
}

// -----

// A per-row B has one amax per output column.
func.func @w4a16_b_amax(%a: memref<128x64xbf16>, %bd: memref<64x32xi8>,
    %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>, %out: memref<128x64xbf16>) {
  // expected-error @+1 {{expected b_amax of shape 64, got 1}}
  nvfp4.matmul_w4a16 a(%a : memref<128x64xbf16>)
      b(%bd : memref<64x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_token, sf_layout = 128x4>
      outs(%out : memref<128x64xbf16>)
  return
}

// -----

func.func @w4a16_window_amax_rank(%a: memref<128x64xbf16>, %bd: memref<64x32xi8>,
    %bs: memref<128x4xf8E4M3FN>, %ba: memref<64xf32>, %out: memref<128x64xbf16>) {
  // expected-error @+1 {{expected b_amax to have rank 2, got 1}}
  nvfp4.matmul_w4a16 a(%a : memref<128x64xbf16>)
      b(%bd : memref<64x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<64xf32>) recipe <local_1x64, sf_layout = 128x4>
      outs(%out : memref<128x64xbf16>)
  return
}

// -----

func.func @w4a16_bias(%a: memref<128x64xbf16>, %bd: memref<64x32xi8>,
    %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>, %bias: memref<128xf32>,
    %out: memref<128x64xbf16>) {
  // expected-error @+1 {{expected bias of shape 64, got 128}}
  nvfp4.matmul_w4a16 a(%a : memref<128x64xbf16>)
      b(%bd : memref<64x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      bias(%bias : memref<128xf32>) outs(%out : memref<128x64xbf16>)
  return
}

// -----

func.func @w4a16_a_strided(%a: memref<128x64xbf16, strided<[128, 1]>>, %bd: memref<64x32xi8>,
    %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>, %out: memref<128x64xbf16>) {
  // expected-error @+1 {{expected a to have a contiguous row-major layout, got 'memref<128x64xbf16, strided<[128, 1]>>'}}
  nvfp4.matmul_w4a16 a(%a : memref<128x64xbf16, strided<[128, 1]>>)
      b(%bd : memref<64x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x64xbf16>)
  return
}

// -----

func.func @w4a16_a_memory_space(%a: memref<128x64xbf16, 3>, %bd: memref<64x32xi8>,
    %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>, %out: memref<128x64xbf16>) {
  // expected-error @+1 {{expected a in the default memory space, got 'memref<128x64xbf16, 3>'}}
  nvfp4.matmul_w4a16 a(%a : memref<128x64xbf16, 3>)
      b(%bd : memref<64x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x64xbf16>)
  return
}

// -----

func.func @w4a16_a_bytes(%a: memref<?x4611686018427387904xbf16>, %bd: memref<64x32xi8>,
    %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>, %out: memref<?x64xbf16>) {
  // expected-error @+1 {{expected a to hold at most 2^62 bytes, got 'memref<?x4611686018427387904xbf16>'}}
  nvfp4.matmul_w4a16 a(%a : memref<?x4611686018427387904xbf16>)
      b(%bd : memref<64x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x64xbf16>)
  return
}

// -----

// A dynamic A still has the M x K shape the output implies, and that shape
// must fit the byte bound.
func.func @w4a16_a_required_bytes(%a: memref<?x1073741824xbf16>, %bd: memref<?x?xi8>,
    %bs: memref<?x?xf8E4M3FN>, %ba: memref<1xf32>, %out: memref<1099511627776x1xbf16>) {
  // expected-error @+1 {{expected a to hold at most 2^62 bytes, got required shape 1099511627776x1073741824}}
  nvfp4.matmul_w4a16 a(%a : memref<?x1073741824xbf16>)
      b(%bd : memref<?x?xi8>, %bs : memref<?x?xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<1099511627776x1xbf16>)
  return
}
