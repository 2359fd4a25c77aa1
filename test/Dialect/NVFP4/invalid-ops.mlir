// RUN: nvfp4-opt %s -split-input-file -verify-diagnostics

func.func @missing_columnwise(%x: memref<32x64xbf16>, %d: memref<32x32xi8>,
    %s: memref<32x4xf8E4M3FN>, %a: memref<1xf32>) {
  // expected-error @+1 {{recipe requests a columnwise output but no columnwise buffers were given}}
  nvfp4.quantize %x : memref<32x64xbf16> recipe <per_tensor_rht>
      rowwise(%d : memref<32x32xi8>, %s : memref<32x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

func.func @unrequested_rowwise(%x: memref<32x64xbf16>, %d: memref<32x32xi8>,
    %s: memref<32x4xf8E4M3FN>, %a: memref<1xf32>) {
  // expected-error @+1 {{rowwise buffers were given but the recipe does not request a rowwise output}}
  nvfp4.quantize %x : memref<32x64xbf16> recipe <per_tensor, directions = [columnwise]>
      rowwise(%d : memref<32x32xi8>, %s : memref<32x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

// Only the generic form can split a direction's buffers.
func.func @partial_outputs(%x: memref<32x64xbf16>, %d: memref<32x32xi8>,
    %s: memref<32x4xf8E4M3FN>) {
  // expected-error @+1 {{expected rowwise data, scale and amax together}}
  "nvfp4.quantize"(%x, %d, %s) <{recipe = #nvfp4.recipe<per_tensor>,
      operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0>}>
      : (memref<32x64xbf16>, memref<32x32xi8>, memref<32x4xf8E4M3FN>) -> ()
  return
}

// -----

func.func @k_not_multiple_of_16(%x: memref<4x100xbf16>, %d: memref<4x50xi8>,
    %s: memref<4x6xf8E4M3FN>, %a: memref<1xf32>) {
  // expected-error @+1 {{expected quantized dimension K (input dim 1) to be a multiple of 16, got 100}}
  nvfp4.quantize %x : memref<4x100xbf16> recipe <per_tensor>
      rowwise(%d : memref<4x50xi8>, %s : memref<4x6xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

// Columnwise blocks run along M.
func.func @columnwise_ragged_m(%x: memref<17x64xbf16>, %dt: memref<64x8xi8>,
    %st: memref<64x1xf8E4M3FN>, %at: memref<1xf32>) {
  // expected-error @+1 {{expected M (input dim 0) for a columnwise output to be a multiple of 16, got 17}}
  nvfp4.quantize %x : memref<17x64xbf16> recipe <per_tensor, directions = [columnwise]>
      columnwise(%dt : memref<64x8xi8>, %st : memref<64x1xf8E4M3FN>, %at : memref<1xf32>)
  return
}

// -----

func.func @bad_data_shape(%x: memref<8x64xf32>, %d: memref<8x64xi8>,
    %s: memref<8x4xf8E4M3FN>, %a: memref<8xf32>) {
  // expected-error @+1 {{expected data of shape 8x32, got 8x64}}
  nvfp4.quantize %x : memref<8x64xf32> recipe <per_token>
      rowwise(%d : memref<8x64xi8>, %s : memref<8x4xf8E4M3FN>, %a : memref<8xf32>)
  return
}

// -----

// The 128x4 layout pads rows to 128 and scale columns to 4.
func.func @unpadded_swizzled_scale(%x: memref<8x64xf32>, %d: memref<8x32xi8>,
    %s: memref<8x4xf8E4M3FN>, %a: memref<8xf32>) {
  // expected-error @+1 {{expected scale of shape 128x4, got 8x4}}
  nvfp4.quantize %x : memref<8x64xf32> recipe <per_token, sf_layout = 128x4>
      rowwise(%d : memref<8x32xi8>, %s : memref<8x4xf8E4M3FN>, %a : memref<8xf32>)
  return
}

// -----

func.func @per_token_amax_rank(%x: memref<8x64xf32>, %d: memref<8x32xi8>,
    %s: memref<8x4xf8E4M3FN>, %a: memref<8x1xf32>) {
  // expected-error @+1 {{expected amax to have rank 1, got 2}}
  nvfp4.quantize %x : memref<8x64xf32> recipe <per_token>
      rowwise(%d : memref<8x32xi8>, %s : memref<8x4xf8E4M3FN>, %a : memref<8x1xf32>)
  return
}

// -----

// A row of 80 has two windows: 64 and a shorter last one of 16.
func.func @window_amax(%x: memref<8x80xf32>, %d: memref<8x40xi8>,
    %s: memref<8x5xf8E4M3FN>, %a: memref<8x1xf32>) {
  // expected-error @+1 {{expected amax of shape 8x2, got 8x1}}
  nvfp4.quantize %x : memref<8x80xf32> recipe <local_1x64>
      rowwise(%d : memref<8x40xi8>, %s : memref<8x5xf8E4M3FN>, %a : memref<8x1xf32>)
  return
}

// -----

func.func @columnwise_amax(%x: memref<32x64xf32>, %dt: memref<64x16xi8>,
    %st: memref<64x2xf8E4M3FN>, %at: memref<32xf32>) {
  // expected-error @+1 {{expected columnwise amax of shape 64, got 32}}
  nvfp4.quantize %x : memref<32x64xf32> recipe <per_token, directions = [columnwise]>
      columnwise(%dt : memref<64x16xi8>, %st : memref<64x2xf8E4M3FN>, %at : memref<32xf32>)
  return
}

// -----

func.func @columnwise_data(%x: memref<32x64xf32>, %dt: memref<32x32xi8>,
    %st: memref<64x2xf8E4M3FN>, %at: memref<1xf32>) {
  // expected-error @+1 {{expected columnwise data of shape 64x16, got 32x32}}
  nvfp4.quantize %x : memref<32x64xf32> recipe <per_tensor, directions = [columnwise]>
      columnwise(%dt : memref<32x32xi8>, %st : memref<64x2xf8E4M3FN>, %at : memref<1xf32>)
  return
}

// -----

func.func @bad_input_type(%x: memref<8x64xi32>, %d: memref<8x32xi8>,
    %s: memref<8x4xf8E4M3FN>, %a: memref<1xf32>) {
  // expected-error @+1 {{operand #0 must be 2D memref of bfloat16 type or 16-bit float or 32-bit float values}}
  nvfp4.quantize %x : memref<8x64xi32> recipe <per_tensor>
      rowwise(%d : memref<8x32xi8>, %s : memref<8x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

// 40 rows in 4 groups: each group starts on a fresh 128-row tile, so at
// least roundup(40 + 4*127, 128) = 640 rows.
func.func @grouped_scale_rows(%x: memref<40x64xbf16>, %splits: memref<4xi64>,
    %d: memref<40x32xi8>, %s: memref<128x4xf8E4M3FN>, %a: memref<4xf32>) {
  // expected-error @+1 {{expected scale of shape at least 640x4, got 128x4}}
  nvfp4.grouped_quantize %x : memref<40x64xbf16> splits(%splits : memref<4xi64>)
      recipe <per_tensor, sf_layout = 128x4>
      rowwise(%d : memref<40x32xi8>, %s : memref<128x4xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// -----

// With the group count unknown the verifier still knows the least any split
// needs: the 256 rows rounded up to the 128-row tile (every group starts on
// a fresh tile, so more rows with more groups).
func.func @grouped_scale_rows_dynamic_splits(%x: memref<256x64xbf16>,
    %splits: memref<?xi64>, %d: memref<256x32xi8>, %s: memref<128x4xf8E4M3FN>,
    %a: memref<?xf32>) {
  // expected-error @+1 {{expected scale of shape at least 256x4, got 128x4}}
  nvfp4.grouped_quantize %x : memref<256x64xbf16> splits(%splits : memref<?xi64>)
      recipe <per_tensor, sf_layout = 128x4>
      rowwise(%d : memref<256x32xi8>, %s : memref<128x4xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

// The linear layout has exactly M scale rows whatever the splits are.
func.func @grouped_linear_scale_rows_dynamic_splits(%x: memref<40x64xbf16>,
    %splits: memref<?xi64>, %d: memref<40x32xi8>, %s: memref<8x4xf8E4M3FN>,
    %a: memref<?xf32>) {
  // expected-error @+1 {{expected scale of shape 40x4, got 8x4}}
  nvfp4.grouped_quantize %x : memref<40x64xbf16> splits(%splits : memref<?xi64>)
      recipe <per_tensor>
      rowwise(%d : memref<40x32xi8>, %s : memref<8x4xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

// With the group count unknown, A's scales of a grouped GEMM need at least
// M rows rounded up to 128.
func.func @grouped_matmul_a_scale_dynamic_splits(%splits: memref<?xi64>,
    %ad: memref<300x32xi8>, %as: memref<128x4xf8E4M3FN>, %aa: memref<?xf32>,
    %bd: memref<?x256x32xi8>, %bs: memref<?x256x4xf8E4M3FN>, %ba: memref<?xf32>,
    %out: memref<300x256xf16>) {
  // expected-error @+1 {{expected a_scale of shape at least 384x4, got 128x4}}
  nvfp4.grouped_matmul splits(%splits : memref<?xi64>)
      a(%ad : memref<300x32xi8>, %as : memref<128x4xf8E4M3FN>, %aa : memref<?xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<?x256x32xi8>, %bs : memref<?x256x4xf8E4M3FN>, %ba : memref<?xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<300x256xf16>)
  return
}

// -----

// Per-tensor grouped amaxes are one per group.
func.func @grouped_amax(%x: memref<40x64xbf16>, %splits: memref<4xi64>,
    %d: memref<40x32xi8>, %s: memref<40x4xf8E4M3FN>, %a: memref<1xf32>) {
  // expected-error @+1 {{expected amax of shape 4, got 1}}
  nvfp4.grouped_quantize %x : memref<40x64xbf16> splits(%splits : memref<4xi64>)
      recipe <per_tensor>
      rowwise(%d : memref<40x32xi8>, %s : memref<40x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

func.func @grouped_columnwise_window(%x: memref<64x64xbf16>, %splits: memref<2xi64>,
    %dt: memref<64x32xi8>, %st: memref<64x4xf8E4M3FN>, %at: memref<64x2xf32>) {
  // expected-error @+1 {{grouped columnwise output does not support outer = window<64>}}
  nvfp4.grouped_quantize %x : memref<64x64xbf16> splits(%splits : memref<2xi64>)
      recipe <local_1x64, directions = [columnwise]>
      columnwise(%dt : memref<64x32xi8>, %st : memref<64x4xf8E4M3FN>, %at : memref<64x2xf32>)
  return
}

// -----

func.func @grouped_columnwise_swizzled(%x: memref<64x64xbf16>, %splits: memref<2xi64>,
    %dt: memref<64x32xi8>, %st: memref<128x4xf8E4M3FN>, %at: memref<2xf32>) {
  // expected-error @+1 {{grouped columnwise output requires sf_layout = linear}}
  nvfp4.grouped_quantize %x : memref<64x64xbf16> splits(%splits : memref<2xi64>)
      recipe <per_tensor, directions = [columnwise], sf_layout = 128x4>
      columnwise(%dt : memref<64x32xi8>, %st : memref<128x4xf8E4M3FN>, %at : memref<2xf32>)
  return
}

// -----

func.func @grouped_columnwise_amax(%x: memref<64x64xbf16>, %splits: memref<2xi64>,
    %dt: memref<64x32xi8>, %st: memref<64x4xf8E4M3FN>, %at: memref<64xf32>) {
  // expected-error @+1 {{expected columnwise amax to have rank 2, got 1}}
  nvfp4.grouped_quantize %x : memref<64x64xbf16> splits(%splits : memref<2xi64>)
      recipe <per_token, directions = [columnwise]>
      columnwise(%dt : memref<64x32xi8>, %st : memref<64x4xf8E4M3FN>, %at : memref<64xf32>)
  return
}

// -----

func.func @dequantize_k(%d: memref<4x20xi8>, %s: memref<4x2xf8E4M3FN>,
    %a: memref<1xf32>, %y: memref<4x40xf32>) {
  // expected-error @+1 {{expected quantized dimension (output dim 1) to be a multiple of 16, got 40}}
  nvfp4.dequantize %d : memref<4x20xi8>, %s : memref<4x2xf8E4M3FN>,
      %a : memref<1xf32> recipe <per_tensor> to %y : memref<4x40xf32>
  return
}

// -----

func.func @dequantize_amax(%d: memref<4x32xi8>, %s: memref<4x4xf8E4M3FN>,
    %a: memref<1xf32>, %y: memref<4x64xf32>) {
  // expected-error @+1 {{expected amax of shape 4, got 1}}
  nvfp4.dequantize %d : memref<4x32xi8>, %s : memref<4x4xf8E4M3FN>,
      %a : memref<1xf32> recipe <per_token> to %y : memref<4x64xf32>
  return
}

// -----

func.func @dequantize_scale(%d: memref<4x32xi8>, %s: memref<4x4xf8E4M3FN>,
    %a: memref<1xf32>, %y: memref<4x64xf32>) {
  // expected-error @+1 {{expected scale of shape 8x4, got 4x4}}
  nvfp4.dequantize %d : memref<4x32xi8>, %s : memref<4x4xf8E4M3FN>,
      %a : memref<1xf32> recipe <per_tensor, sf_layout = 8x4> to %y : memref<4x64xf32>
  return
}

// -----

func.func @matmul_linear_scales(%ad: memref<128x32xi8>, %as: memref<128x4xf8E4M3FN>, %aa: memref<1xf32>,
    %bd: memref<128x32xi8>, %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>,
    %out: memref<128x128xf32>) {
  // expected-error @+1 {{expected a_recipe to use sf_layout = 128x4 (the block-scaled MMA layout), got linear}}
  nvfp4.matmul
      a(%ad : memref<128x32xi8>, %as : memref<128x4xf8E4M3FN>, %aa : memref<1xf32>) recipe <per_tensor>
      b(%bd : memref<128x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x128xf32>)
  return
}

// -----

func.func @matmul_k(%ad: memref<128x20xi8>, %as: memref<128x4xf8E4M3FN>, %aa: memref<1xf32>,
    %bd: memref<128x20xi8>, %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>,
    %out: memref<128x128xf32>) {
  // expected-error @+1 {{expected K (2 x a_data dim 1) to be a multiple of 16, got 40}}
  nvfp4.matmul
      a(%ad : memref<128x20xi8>, %as : memref<128x4xf8E4M3FN>, %aa : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<128x20xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x128xf32>)
  return
}

// -----

// A and B must agree on K.
func.func @matmul_b_k(%ad: memref<128x32xi8>, %as: memref<128x4xf8E4M3FN>, %aa: memref<1xf32>,
    %bd: memref<64x16xi8>, %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>,
    %out: memref<128x64xf32>) {
  // expected-error @+1 {{expected b_data of shape 64x32, got 64x16}}
  nvfp4.matmul
      a(%ad : memref<128x32xi8>, %as : memref<128x4xf8E4M3FN>, %aa : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<64x16xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x64xf32>)
  return
}

// -----

func.func @matmul_a_amax(%ad: memref<128x32xi8>, %as: memref<128x4xf8E4M3FN>, %aa: memref<1xf32>,
    %bd: memref<64x32xi8>, %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>,
    %out: memref<128x64xf32>) {
  // expected-error @+1 {{expected a_amax of shape 128, got 1}}
  nvfp4.matmul
      a(%ad : memref<128x32xi8>, %as : memref<128x4xf8E4M3FN>, %aa : memref<1xf32>) recipe <per_token, sf_layout = 128x4>
      b(%bd : memref<64x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x64xf32>)
  return
}

// -----

func.func @matmul_bias(%ad: memref<128x32xi8>, %as: memref<128x4xf8E4M3FN>, %aa: memref<1xf32>,
    %bd: memref<64x32xi8>, %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>,
    %bias: memref<128xf32>, %out: memref<128x64xf32>) {
  // expected-error @+1 {{expected bias of shape 64, got 128}}
  nvfp4.matmul
      a(%ad : memref<128x32xi8>, %as : memref<128x4xf8E4M3FN>, %aa : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<64x32xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      bias(%bias : memref<128xf32>) outs(%out : memref<128x64xf32>)
  return
}

// -----

func.func @grouped_matmul_b_amax(%splits: memref<2xi64>,
    %ad: memref<100x32xi8>, %as: memref<384x4xf8E4M3FN>, %aa: memref<2xf32>,
    %bd: memref<2x256x32xi8>, %bs: memref<2x256x4xf8E4M3FN>, %ba: memref<256xf32>,
    %out: memref<100x256xf16>) {
  // expected-error @+1 {{expected b_amax to have rank 2, got 1}}
  nvfp4.grouped_matmul splits(%splits : memref<2xi64>)
      a(%ad : memref<100x32xi8>, %as : memref<384x4xf8E4M3FN>, %aa : memref<2xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<2x256x32xi8>, %bs : memref<2x256x4xf8E4M3FN>, %ba : memref<256xf32>) recipe <per_token, sf_layout = 128x4>
      outs(%out : memref<100x256xf16>)
  return
}

// -----

func.func @grouped_matmul_bias(%splits: memref<2xi64>,
    %ad: memref<100x32xi8>, %as: memref<384x4xf8E4M3FN>, %aa: memref<2xf32>,
    %bd: memref<2x256x32xi8>, %bs: memref<2x256x4xf8E4M3FN>, %ba: memref<2xf32>,
    %bias: memref<256x2xf32>, %out: memref<100x256xf16>) {
  // expected-error @+1 {{expected bias of shape 2x256, got 256x2}}
  nvfp4.grouped_matmul splits(%splits : memref<2xi64>)
      a(%ad : memref<100x32xi8>, %as : memref<384x4xf8E4M3FN>, %aa : memref<2xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<2x256x32xi8>, %bs : memref<2x256x4xf8E4M3FN>, %ba : memref<2xf32>) recipe <per_tensor, sf_layout = 128x4>
      bias(%bias : memref<256x2xf32>) outs(%out : memref<100x256xf16>)
  return
}

// -----

func.func @amax_encode_scale(%x: memref<4x32xbf16>, %a: memref<1xf32>) {
  // expected-error @+1 {{expected a recipe whose outer scale comes from an amax, got amax = given_encode_scale}}
  nvfp4.amax %x : memref<4x32xbf16> recipe <per_tensor, amax = given_encode_scale>
      rowwise(%a : memref<1xf32>)
  return
}

// -----

func.func @amax_missing(%x: memref<32x32xbf16>, %a: memref<1xf32>) {
  // expected-error @+1 {{recipe requests a columnwise output but no columnwise amax was given}}
  nvfp4.amax %x : memref<32x32xbf16> recipe <per_tensor_rht>
      rowwise(%a : memref<1xf32>)
  return
}

// -----

func.func @amax_extra(%x: memref<32x32xbf16>, %a: memref<1xf32>) {
  // expected-error @+1 {{columnwise amax was given but the recipe does not request a columnwise output}}
  nvfp4.amax %x : memref<32x32xbf16> recipe <per_tensor>
      rowwise(%a : memref<1xf32>) columnwise(%a : memref<1xf32>)
  return
}

// -----

func.func @amax_k(%x: memref<4x20xbf16>, %a: memref<1xf32>) {
  // expected-error @+1 {{expected quantized dimension K (input dim 1) to be a multiple of 16, got 20}}
  nvfp4.amax %x : memref<4x20xbf16> recipe <per_tensor> rowwise(%a : memref<1xf32>)
  return
}

// -----

func.func @amax_m(%x: memref<20x32xbf16>, %a: memref<1xf32>) {
  // expected-error @+1 {{expected M (input dim 0) for a columnwise output to be a multiple of 16, got 20}}
  nvfp4.amax %x : memref<20x32xbf16> recipe <per_tensor, directions = [columnwise]>
      columnwise(%a : memref<1xf32>)
  return
}

// -----

func.func @amax_shape(%x: memref<4x32xbf16>, %a: memref<1xf32>) {
  // expected-error @+1 {{expected amax of shape 4, got 1}}
  nvfp4.amax %x : memref<4x32xbf16> recipe <per_token> rowwise(%a : memref<1xf32>)
  return
}

// -----

func.func @amax_shape_t(%x: memref<32x16xbf16>, %a: memref<32xf32>) {
  // expected-error @+1 {{expected columnwise amax of shape 16, got 32}}
  nvfp4.amax %x : memref<32x16xbf16> recipe <per_token, directions = [columnwise]>
      columnwise(%a : memref<32xf32>)
  return
}

// -----

func.func @amax_layout(%x: memref<4x32xbf16>, %a: memref<1xf32, strided<[2]>>) {
  // expected-error @+1 {{expected amax to have a contiguous row-major layout}}
  nvfp4.amax %x : memref<4x32xbf16> recipe <per_tensor>
      rowwise(%a : memref<1xf32, strided<[2]>>)
  return
}

// -----

// A given encode scale leaves no amax to dequantize with.
func.func @dequantize_encode_scale(%d: memref<4x16xi8>, %s: memref<4x2xf8E4M3FN>,
    %a: memref<1xf32>, %y: memref<4x32xf32>) {
  // expected-error @+1 {{expected recipe to store outer amaxes, got amax = given_encode_scale (the operand holds encode scales)}}
  nvfp4.dequantize %d : memref<4x16xi8>, %s : memref<4x2xf8E4M3FN>,
      %a : memref<1xf32> recipe <per_tensor, amax = given_encode_scale>
      to %y : memref<4x32xf32>
  return
}

// -----

func.func @matmul_encode_scale(
    %ad: memref<128x32xi8>, %as: memref<128x4xf8E4M3FN>, %aa: memref<1xf32>,
    %bd: memref<256x32xi8>, %bs: memref<256x4xf8E4M3FN>, %ba: memref<1xf32>,
    %out: memref<128x256xf32>) {
  // expected-error @+1 {{expected a_recipe to store outer amaxes, got amax = given_encode_scale (the operand holds encode scales)}}
  nvfp4.matmul
      a(%ad : memref<128x32xi8>, %as : memref<128x4xf8E4M3FN>, %aa : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4, amax = given_encode_scale>
      b(%bd : memref<256x32xi8>, %bs : memref<256x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x256xf32>)
  return
}

// -----

func.func @dequantize_global_scale(%d: memref<4x16xi8>, %s: memref<4x2xf8E4M3FN>,
    %a: memref<4xf32>, %y: memref<4x32xf32>) {
  // expected-error @+1 {{expected recipe without global_scale_inv (its amaxes do not give the decode scale alone)}}
  nvfp4.dequantize %d : memref<4x16xi8>, %s : memref<4x2xf8E4M3FN>,
      %a : memref<4xf32> recipe <per_token, global_scale_inv = 0x39C30C31>
      to %y : memref<4x32xf32>
  return
}
