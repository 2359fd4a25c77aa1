// RUN: nvfp4-opt %s -split-input-file -verify-diagnostics

// Every buffer, given or derived, holds at most 2^62 bytes, so element and
// byte counts never overflow int64 in the lowerings (the CPU lowering's
// dim0 * dim1 crashed the canonicalizer on this one).
func.func @quantize_input_bytes(%x: memref<4611686018427387904x32xf32>,
    %d: memref<4611686018427387904x16xi8>, %s: memref<4611686018427387904x2xf8E4M3FN>,
    %a: memref<4611686018427387904x1xf32>) {
  // expected-error @+1 {{expected input to hold at most 2^62 bytes, got 'memref<4611686018427387904x32xf32>'}}
  nvfp4.quantize %x : memref<4611686018427387904x32xf32> recipe <local_1x64>
      rowwise(%d : memref<4611686018427387904x16xi8>, %s : memref<4611686018427387904x2xf8E4M3FN>,
              %a : memref<4611686018427387904x1xf32>)
  return
}

// -----

// A dynamic input does not hide an oversized output.
func.func @quantize_data_bytes(%x: memref<?x64xbf16>,
    %d: memref<2305843009213693952x32xi8>, %s: memref<?x4xf8E4M3FN>, %a: memref<?xf32>) {
  // expected-error @+1 {{expected data to hold at most 2^62 bytes, got 'memref<2305843009213693952x32xi8>'}}
  nvfp4.quantize %x : memref<?x64xbf16> recipe <per_token, sf_layout = 128x4>
      rowwise(%d : memref<2305843009213693952x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

func.func @quantize_columnwise_bytes(%x: memref<?x4611686018427387904xbf16>,
    %dt: memref<4611686018427387904x?xi8>, %st: memref<4611686018427387904x?xf8E4M3FN>,
    %at: memref<1xf32>) {
  // expected-error @+1 {{expected input to hold at most 2^62 bytes, got 'memref<?x4611686018427387904xbf16>'}}
  nvfp4.quantize %x : memref<?x4611686018427387904xbf16> recipe <per_tensor, directions = [columnwise]>
      columnwise(%dt : memref<4611686018427387904x?xi8>, %st : memref<4611686018427387904x?xf8E4M3FN>,
                 %at : memref<1xf32>)
  return
}

// -----

func.func @quantize_columnwise_scale_bytes(%x: memref<?x64xbf16>,
    %dt: memref<64x?xi8>, %st: memref<64x4611686018427387904xf8E4M3FN>,
    %at: memref<1xf32>) {
  // expected-error @+1 {{expected scale_t to hold at most 2^62 bytes, got 'memref<64x4611686018427387904xf8E4M3FN>'}}
  nvfp4.quantize %x : memref<?x64xbf16> recipe <per_tensor, directions = [columnwise]>
      columnwise(%dt : memref<64x?xi8>, %st : memref<64x4611686018427387904xf8E4M3FN>,
                 %at : memref<1xf32>)
  return
}

// -----

func.func @dequantize_data_bytes(%d: memref<4611686018427387904x16xi8>,
    %s: memref<?x?xf8E4M3FN>, %a: memref<1xf32>, %y: memref<?x32xf32>) {
  // expected-error @+1 {{expected data to hold at most 2^62 bytes, got 'memref<4611686018427387904x16xi8>'}}
  nvfp4.dequantize %d : memref<4611686018427387904x16xi8>, %s : memref<?x?xf8E4M3FN>,
      %a : memref<1xf32> recipe <per_tensor> to %y : memref<?x32xf32>
  return
}

// -----

// Every operand fits, but the padded 128x4 scale matrix of a 1 x 2^61
// output would need 128 x 2^57 bytes.
func.func @dequantize_padded_scale(%d: memref<1x1152921504606846976xi8>,
    %s: memref<?x?xf8E4M3FN>, %a: memref<1xf32>, %y: memref<1x2305843009213693952xbf16>) {
  // expected-error @+1 {{expected scale to hold at most 2^62 bytes, got required shape 128x144115188075855872}}
  nvfp4.dequantize %d : memref<1x1152921504606846976xi8>, %s : memref<?x?xf8E4M3FN>,
      %a : memref<1xf32> recipe <per_tensor, sf_layout = 128x4> to %y : memref<1x2305843009213693952xbf16>
  return
}

// -----

// 2^59 groups of 127 padding rows each do not fit in int64: the shape
// helpers saturate instead of printing a negative row count.
func.func @grouped_scale_rows_overflow(%x: memref<40x64xbf16>,
    %splits: memref<576460752303423488xi64>, %d: memref<40x32xi8>,
    %s: memref<?x4xf8E4M3FN>, %a: memref<576460752303423488xf32>) {
  // expected-error @+1 {{expected scale to hold at most 2^62 bytes, got required shape <overflow>x4}}
  nvfp4.grouped_quantize %x : memref<40x64xbf16> splits(%splits : memref<576460752303423488xi64>)
      recipe <per_tensor, sf_layout = 128x4>
      rowwise(%d : memref<40x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<576460752303423488xf32>)
  return
}

// -----

func.func @grouped_quantize_splits_bytes(%x: memref<?x64xbf16>,
    %splits: memref<1152921504606846976xi64>, %d: memref<?x32xi8>,
    %s: memref<?x4xf8E4M3FN>, %a: memref<?xf32>) {
  // expected-error @+1 {{expected splits to hold at most 2^62 bytes, got 'memref<1152921504606846976xi64>'}}
  nvfp4.grouped_quantize %x : memref<?x64xbf16> splits(%splits : memref<1152921504606846976xi64>)
      recipe <per_token>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

// K counts E2M1 values, two per data byte: 2 x 2^62 does not fit.
func.func @matmul_k(%ad: memref<1x4611686018427387904xi8>, %as: memref<?x?xf8E4M3FN>,
    %aa: memref<1xf32>, %bd: memref<?x?xi8>, %bs: memref<?x?xf8E4M3FN>,
    %ba: memref<1xf32>, %out: memref<1x128xbf16>) {
  // expected-error @+1 {{expected K (2 x a_data dim 1) to be at most 2^62, got 2 x 4611686018427387904}}
  nvfp4.matmul
      a(%ad : memref<1x4611686018427387904xi8>, %as : memref<?x?xf8E4M3FN>, %aa : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<?x?xi8>, %bs : memref<?x?xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<1x128xbf16>)
  return
}

// -----

func.func @matmul_output_bytes(%ad: memref<?x32xi8>, %as: memref<?x4xf8E4M3FN>,
    %aa: memref<1xf32>, %bd: memref<?x32xi8>, %bs: memref<?x4xf8E4M3FN>,
    %ba: memref<1xf32>, %out: memref<4294967296x4294967296xf32>) {
  // expected-error @+1 {{expected output to hold at most 2^62 bytes, got 'memref<4294967296x4294967296xf32>'}}
  nvfp4.matmul
      a(%ad : memref<?x32xi8>, %as : memref<?x4xf8E4M3FN>, %aa : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<?x32xi8>, %bs : memref<?x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<4294967296x4294967296xf32>)
  return
}

// -----

// G x N x K/2 overflows int64 as a product even though no dimension does.
func.func @grouped_matmul_b_data_bytes(%splits: memref<?xi64>,
    %ad: memref<?x32xi8>, %as: memref<?x4xf8E4M3FN>, %aa: memref<?xf32>,
    %bd: memref<4294967296x4294967296x32xi8>, %bs: memref<?x?x?xf8E4M3FN>, %ba: memref<?xf32>,
    %out: memref<?x4294967296xf16>) {
  // expected-error @+1 {{expected b_data to hold at most 2^62 bytes, got 'memref<4294967296x4294967296x32xi8>'}}
  nvfp4.grouped_matmul splits(%splits : memref<?xi64>)
      a(%ad : memref<?x32xi8>, %as : memref<?x4xf8E4M3FN>, %aa : memref<?xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<4294967296x4294967296x32xi8>, %bs : memref<?x?x?xf8E4M3FN>, %ba : memref<?xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x4294967296xf16>)
  return
}

// -----

// The lowerings index buffers as contiguous row-major memory: a
// permutation layout would be read in the wrong order (and the CPU
// pipeline cannot convert it).
func.func @permuted_input(%x: memref<32x64xf32, affine_map<(d0, d1) -> (d1, d0)>>,
    %d: memref<32x32xi8>, %s: memref<32x4xf8E4M3FN>, %a: memref<1xf32>) {
  // expected-error @+1 {{expected input to have a contiguous row-major layout, got 'memref<32x64xf32, affine_map<(d0, d1) -> (d1, d0)>>'}}
  nvfp4.quantize %x : memref<32x64xf32, affine_map<(d0, d1) -> (d1, d0)>> recipe <per_tensor>
      rowwise(%d : memref<32x32xi8>, %s : memref<32x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

// Padded rows (a stride larger than the row) are not contiguous either.
func.func @padded_rows(%x: memref<32x64xf32>, %d: memref<32x32xi8, strided<[64, 1]>>,
    %s: memref<32x4xf8E4M3FN>, %a: memref<1xf32>) {
  // expected-error @+1 {{expected data to have a contiguous row-major layout, got 'memref<32x32xi8, strided<[64, 1]>>'}}
  nvfp4.quantize %x : memref<32x64xf32> recipe <per_tensor>
      rowwise(%d : memref<32x32xi8, strided<[64, 1]>>, %s : memref<32x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

// A dynamic offset or stride could be anything at run time.
func.func @dynamic_offset(%d: memref<4x32xi8>, %s: memref<4x4xf8E4M3FN>,
    %a: memref<1xf32, strided<[1], offset: ?>>, %y: memref<4x64xf32>) {
  // expected-error @+1 {{expected amax to have a contiguous row-major layout, got 'memref<1xf32, strided<[1], offset: ?>>'}}
  nvfp4.dequantize %d : memref<4x32xi8>, %s : memref<4x4xf8E4M3FN>,
      %a : memref<1xf32, strided<[1], offset: ?>> recipe <per_tensor> to %y : memref<4x64xf32>
  return
}

// -----

// The CPU lowering indexes host memory and the GPU one passes global
// pointers to kernels; neither can take workgroup memory.
func.func @workgroup_input(%x: memref<32x64xf32, #gpu.address_space<workgroup>>,
    %d: memref<32x32xi8>, %s: memref<32x4xf8E4M3FN>, %a: memref<1xf32>) {
  // expected-error @+1 {{expected input in the default memory space, got 'memref<32x64xf32, #gpu.address_space<workgroup>>'}}
  nvfp4.quantize %x : memref<32x64xf32, #gpu.address_space<workgroup>> recipe <per_tensor>
      rowwise(%d : memref<32x32xi8>, %s : memref<32x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

func.func @numbered_memory_space(%splits: memref<2xi64, 3>,
    %ad: memref<100x32xi8>, %as: memref<384x4xf8E4M3FN>, %aa: memref<2xf32>,
    %bd: memref<2x256x32xi8>, %bs: memref<2x256x4xf8E4M3FN>, %ba: memref<2xf32>,
    %out: memref<100x256xf16>) {
  // expected-error @+1 {{expected splits in the default memory space, got 'memref<2xi64, 3>'}}
  nvfp4.grouped_matmul splits(%splits : memref<2xi64, 3>)
      a(%ad : memref<100x32xi8>, %as : memref<384x4xf8E4M3FN>, %aa : memref<2xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<2x256x32xi8>, %bs : memref<2x256x4xf8E4M3FN>, %ba : memref<2xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<100x256xf16>)
  return
}
