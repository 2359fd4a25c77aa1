// RUN: nvfp4-opt %s | FileCheck %s
// RUN: nvfp4-opt %s | nvfp4-opt | FileCheck %s
// RUN: nvfp4-opt %s --mlir-print-op-generic | nvfp4-opt | FileCheck %s

// CHECK-LABEL: func.func @quantize_rowwise
// CHECK-SAME: (%[[X:.*]]: memref<?x256xbf16>, %[[D:.*]]: memref<?x128xi8>, %[[S:.*]]: memref<?x16xf8E4M3FN>, %[[A:.*]]: memref<?xf32>)
// CHECK: nvfp4.quantize %[[X]] : memref<?x256xbf16> recipe <per_token> rowwise(%[[D]] : memref<?x128xi8>, %[[S]] : memref<?x16xf8E4M3FN>, %[[A]] : memref<?xf32>)
// CHECK-NOT: columnwise
func.func @quantize_rowwise(%x: memref<?x256xbf16>, %d: memref<?x128xi8>,
                            %s: memref<?x16xf8E4M3FN>, %a: memref<?xf32>) {
  nvfp4.quantize %x : memref<?x256xbf16> recipe <per_token>
      rowwise(%d : memref<?x128xi8>, %s : memref<?x16xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// Columnwise quantizes X^T (64 x 32) along M; 128x4 pads rows to 128 and
// scale columns to 4.
// CHECK-LABEL: func.func @quantize_both_swizzled
// CHECK: nvfp4.quantize %{{[a-z0-9_]+}} : memref<32x64xf32> recipe <per_tensor_rht, sf_layout = 128x4>
// CHECK-SAME: rowwise(%{{[a-z0-9_]+}} : memref<32x32xi8>, %{{[a-z0-9_]+}} : memref<128x4xf8E4M3FN>, %{{[a-z0-9_]+}} : memref<1xf32>)
// CHECK-SAME: columnwise(%{{[a-z0-9_]+}} : memref<64x16xi8>, %{{[a-z0-9_]+}} : memref<128x4xf8E4M3FN>, %{{[a-z0-9_]+}} : memref<1xf32>)
func.func @quantize_both_swizzled(%x: memref<32x64xf32>,
    %d: memref<32x32xi8>, %s: memref<128x4xf8E4M3FN>, %a: memref<1xf32>,
    %dt: memref<64x16xi8>, %st: memref<128x4xf8E4M3FN>, %at: memref<1xf32>) {
  nvfp4.quantize %x : memref<32x64xf32> recipe <per_tensor_rht, sf_layout = 128x4>
      rowwise(%d : memref<32x32xi8>, %s : memref<128x4xf8E4M3FN>, %a : memref<1xf32>)
      columnwise(%dt : memref<64x16xi8>, %st : memref<128x4xf8E4M3FN>, %at : memref<1xf32>)
  return
}

// Columnwise only; 1x64 windows along M of X^T: (K, ceil(M/64)).
// CHECK-LABEL: func.func @quantize_columnwise_windows
// CHECK: nvfp4.quantize %{{[a-z0-9_]+}} : memref<96x48xf16> recipe <local_1x64, directions = [columnwise], sf_layout = 8x4>
// CHECK-NOT: rowwise(
// CHECK-SAME: columnwise(%{{[a-z0-9_]+}} : memref<48x48xi8>, %{{[a-z0-9_]+}} : memref<48x8xf8E4M3FN>, %{{[a-z0-9_]+}} : memref<48x2xf32>)
func.func @quantize_columnwise_windows(%x: memref<96x48xf16>,
    %dt: memref<48x48xi8>, %st: memref<48x8xf8E4M3FN>, %at: memref<48x2xf32>) {
  nvfp4.quantize %x : memref<96x48xf16>
      recipe <local_1x64, directions = [columnwise], sf_layout = 8x4>
      columnwise(%dt : memref<48x48xi8>, %st : memref<48x8xf8E4M3FN>, %at : memref<48x2xf32>)
  return
}

// CHECK-LABEL: func.func @grouped_quantize
// CHECK: nvfp4.grouped_quantize %{{[a-z0-9_]+}} : memref<?x64xbf16> splits(%{{[a-z0-9_]+}} : memref<4xi64>) recipe <per_tensor, sf_layout = 128x4>
// CHECK-SAME: rowwise(%{{[a-z0-9_]+}} : memref<?x32xi8>, %{{[a-z0-9_]+}} : memref<?x4xf8E4M3FN>, %{{[a-z0-9_]+}} : memref<4xf32>)
func.func @grouped_quantize(%x: memref<?x64xbf16>, %splits: memref<4xi64>,
    %d: memref<?x32xi8>, %s: memref<?x4xf8E4M3FN>, %a: memref<4xf32>) {
  nvfp4.grouped_quantize %x : memref<?x64xbf16> splits(%splits : memref<4xi64>)
      recipe <per_tensor, sf_layout = 128x4>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// Static grouped shapes: 100 rows in 3 groups need at least
// roundup(100 + 3*127, 128) = 512 swizzled scale rows.
// CHECK-LABEL: func.func @grouped_quantize_static
// CHECK: nvfp4.grouped_quantize
// CHECK-SAME: columnwise(%{{[a-z0-9_]+}} : memref<64x48xi8>, %{{[a-z0-9_]+}} : memref<64x6xf8E4M3FN>, %{{[a-z0-9_]+}} : memref<3x64xf32>)
func.func @grouped_quantize_static(%x: memref<96x64xbf16>, %splits: memref<3xi64>,
    %d: memref<96x32xi8>, %s: memref<96x4xf8E4M3FN>, %a: memref<96xf32>,
    %dt: memref<64x48xi8>, %st: memref<64x6xf8E4M3FN>, %at: memref<3x64xf32>) {
  nvfp4.grouped_quantize %x : memref<96x64xbf16> splits(%splits : memref<3xi64>)
      recipe <per_token, directions = [rowwise, columnwise]>
      rowwise(%d : memref<96x32xi8>, %s : memref<96x4xf8E4M3FN>, %a : memref<96xf32>)
      columnwise(%dt : memref<64x48xi8>, %st : memref<64x6xf8E4M3FN>, %at : memref<3x64xf32>)
  return
}

// CHECK-LABEL: func.func @dequantize
// CHECK: nvfp4.dequantize %{{[a-z0-9_]+}} : memref<17x32xi8>, %{{[a-z0-9_]+}} : memref<24x4xf8E4M3FN>, %{{[a-z0-9_]+}} : memref<17xf32> recipe <per_token, sf_layout = 8x4> to %{{[a-z0-9_]+}} : memref<17x64xbf16>
func.func @dequantize(%d: memref<17x32xi8>, %s: memref<24x4xf8E4M3FN>,
                      %a: memref<17xf32>, %y: memref<17x64xbf16>) {
  nvfp4.dequantize %d : memref<17x32xi8>, %s : memref<24x4xf8E4M3FN>,
      %a : memref<17xf32> recipe <per_token, sf_layout = 8x4>
      to %y : memref<17x64xbf16>
  return
}

// CHECK-LABEL: func.func @matmul
// CHECK: nvfp4.matmul a(%{{[a-z0-9_]+}} : memref<?x128xi8>, %{{[a-z0-9_]+}} : memref<?x16xf8E4M3FN>, %{{[a-z0-9_]+}} : memref<?x4xf32>) recipe <local_1x64, sf_layout = 128x4>
// CHECK-SAME: b(%{{[a-z0-9_]+}} : memref<512x128xi8>, %{{[a-z0-9_]+}} : memref<512x16xf8E4M3FN>, %{{[a-z0-9_]+}} : memref<512x4xf32>) recipe <local_1x64, sf_layout = 128x4>
// CHECK-SAME: bias(%{{[a-z0-9_]+}} : memref<512xf32>) outs(%{{[a-z0-9_]+}} : memref<?x512xf32>) {alpha = 2.000000e+00 : f32}
func.func @matmul(%ad: memref<?x128xi8>, %as: memref<?x16xf8E4M3FN>, %aa: memref<?x4xf32>,
                  %bd: memref<512x128xi8>, %bs: memref<512x16xf8E4M3FN>, %ba: memref<512x4xf32>,
                  %bias: memref<512xf32>, %out: memref<?x512xf32>) {
  nvfp4.matmul
      a(%ad : memref<?x128xi8>, %as : memref<?x16xf8E4M3FN>, %aa : memref<?x4xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<512x128xi8>, %bs : memref<512x16xf8E4M3FN>, %ba : memref<512x4xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      bias(%bias : memref<512xf32>) outs(%out : memref<?x512xf32>) {alpha = 2.0 : f32}
  return
}

// The default alpha (1.0) is elided.
// CHECK-LABEL: func.func @matmul_decode
// CHECK: nvfp4.matmul
// CHECK-SAME: outs(%{{[a-z0-9_]+}} : memref<1x256xbf16>)
// CHECK-NOT: alpha
func.func @matmul_decode(%ad: memref<1x32xi8>, %as: memref<128x4xf8E4M3FN>, %aa: memref<1xf32>,
                         %bd: memref<256x32xi8>, %bs: memref<256x4xf8E4M3FN>, %ba: memref<1xf32>,
                         %out: memref<1x256xbf16>) {
  nvfp4.matmul
      a(%ad : memref<1x32xi8>, %as : memref<128x4xf8E4M3FN>, %aa : memref<1xf32>)
        recipe <per_token, sf_layout = 128x4>
      b(%bd : memref<256x32xi8>, %bs : memref<256x4xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <four_over_six, sf_layout = 128x4>
      outs(%out : memref<1x256xbf16>)
  return
}

// CHECK-LABEL: func.func @grouped_matmul
// CHECK: nvfp4.grouped_matmul splits(%{{[a-z0-9_]+}} : memref<2xi64>)
// CHECK-SAME: bias(%{{[a-z0-9_]+}} : memref<2x256xf32>) outs(%{{[a-z0-9_]+}} : memref<100x256xf16>)
func.func @grouped_matmul(%splits: memref<2xi64>,
    %ad: memref<100x32xi8>, %as: memref<384x4xf8E4M3FN>, %aa: memref<2xf32>,
    %bd: memref<2x256x32xi8>, %bs: memref<2x256x4xf8E4M3FN>, %ba: memref<2x256xf32>,
    %bias: memref<2x256xf32>, %out: memref<100x256xf16>) {
  nvfp4.grouped_matmul splits(%splits : memref<2xi64>)
      a(%ad : memref<100x32xi8>, %as : memref<384x4xf8E4M3FN>, %aa : memref<2xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<2x256x32xi8>, %bs : memref<2x256x4xf8E4M3FN>, %ba : memref<2x256xf32>)
        recipe <per_token, sf_layout = 128x4>
      bias(%bias : memref<2x256xf32>) outs(%out : memref<100x256xf16>)
  return
}

// A columnwise-only output quantizes along M; K (here 40) is arbitrary.
// CHECK-LABEL: func.func @columnwise_only_ragged_k
// CHECK: columnwise(%{{[a-z0-9_]+}} : memref<40x16xi8>
func.func @columnwise_only_ragged_k(%x: memref<32x40xbf16>,
    %dt: memref<40x16xi8>, %st: memref<40x2xf8E4M3FN>, %at: memref<40xf32>) {
  nvfp4.quantize %x : memref<32x40xbf16> recipe <per_token, directions = [columnwise]>
      columnwise(%dt : memref<40x16xi8>, %st : memref<40x2xf8E4M3FN>, %at : memref<40xf32>)
  return
}

// A strided layout that spells out the contiguous row-major strides is the
// identity layout in other words; a buffer of exactly 2^62 bytes is the
// largest accepted.
// CHECK-LABEL: func.func @contiguous_strided_and_largest
// CHECK: nvfp4.quantize %{{[a-z0-9_]+}} : memref<32x64xf32, strided<[64, 1]>> recipe <per_tensor>
// CHECK: nvfp4.dequantize %{{[a-z0-9_]+}} : memref<576460752303423488x8xi8>
func.func @contiguous_strided_and_largest(%x: memref<32x64xf32, strided<[64, 1]>>,
    %d: memref<32x32xi8>, %s: memref<32x4xf8E4M3FN>, %a: memref<1xf32>,
    %bd: memref<576460752303423488x8xi8>, %bs: memref<?x?xf8E4M3FN>,
    %ba: memref<1xf32>, %y: memref<?x16xbf16>) {
  nvfp4.quantize %x : memref<32x64xf32, strided<[64, 1]>> recipe <per_tensor>
      rowwise(%d : memref<32x32xi8>, %s : memref<32x4xf8E4M3FN>, %a : memref<1xf32>)
  nvfp4.dequantize %bd : memref<576460752303423488x8xi8>, %bs : memref<?x?xf8E4M3FN>,
      %ba : memref<1xf32> recipe <per_tensor> to %y : memref<?x16xbf16>
  return
}

// W4A16: a bf16 or f16 A as given, B in NVFP4 with any recipe.
// CHECK-LABEL: func.func @matmul_w4a16
// CHECK: nvfp4.matmul_w4a16 a(%{{[a-z0-9_]+}} : memref<?x128xbf16>)
// CHECK-SAME: b(%{{[a-z0-9_]+}} : memref<512x64xi8>, %{{[a-z0-9_]+}} : memref<512x8xf8E4M3FN>, %{{[a-z0-9_]+}} : memref<512x2xf32>) recipe <local_1x64, sf_layout = 128x4>
// CHECK-SAME: bias(%{{[a-z0-9_]+}} : memref<512xf32>) outs(%{{[a-z0-9_]+}} : memref<?x512xf32>) {alpha = 2.000000e+00 : f32}
func.func @matmul_w4a16(%a: memref<?x128xbf16>,
                        %bd: memref<512x64xi8>, %bs: memref<512x8xf8E4M3FN>, %ba: memref<512x2xf32>,
                        %bias: memref<512xf32>, %out: memref<?x512xf32>) {
  nvfp4.matmul_w4a16 a(%a : memref<?x128xbf16>)
      b(%bd : memref<512x64xi8>, %bs : memref<512x8xf8E4M3FN>, %ba : memref<512x2xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      bias(%bias : memref<512xf32>) outs(%out : memref<?x512xf32>) {alpha = 2.0 : f32}
  return
}

// CHECK-LABEL: func.func @matmul_w4a16_f16
// CHECK: nvfp4.matmul_w4a16 a(%{{[a-z0-9_]+}} : memref<3x32xf16>)
// CHECK-SAME: recipe <per_tensor_2d, sf_layout = 128x4>
// CHECK-SAME: outs(%{{[a-z0-9_]+}} : memref<3x100xbf16>)
// CHECK-NOT: alpha
func.func @matmul_w4a16_f16(%a: memref<3x32xf16>,
                            %bd: memref<100x16xi8>, %bs: memref<128x4xf8E4M3FN>, %ba: memref<1xf32>,
                            %out: memref<3x100xbf16>) {
  nvfp4.matmul_w4a16 a(%a : memref<3x32xf16>)
      b(%bd : memref<100x16xi8>, %bs : memref<128x4xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor_2d, sf_layout = 128x4>
      outs(%out : memref<3x100xbf16>)
  return
}

// The split quantization: nvfp4.amax writes what the quantize would compute,
// and the quantize with a given amax reads it.
// CHECK-LABEL: func.func @amax_then_quantize
// CHECK: nvfp4.amax %[[X:[a-z0-9_]+]] : memref<?x64xbf16> recipe <per_tensor_rht>
// CHECK-SAME: rowwise(%[[A:[a-z0-9_]+]] : memref<1xf32>)
// CHECK-SAME: columnwise(%[[AT:[a-z0-9_]+]] : memref<1xf32>)
// CHECK: nvfp4.quantize %[[X]] : memref<?x64xbf16> recipe <per_tensor_rht, amax = given>
// CHECK-SAME: %[[A]] : memref<1xf32>)
// CHECK-SAME: %[[AT]] : memref<1xf32>)
// CHECK: nvfp4.amax %[[X]] : memref<?x64xbf16> recipe <per_token>
// CHECK-SAME: rowwise(%{{[a-z0-9_]+}} : memref<?xf32>)
// CHECK-NOT: columnwise
func.func @amax_then_quantize(%x: memref<?x64xbf16>, %a: memref<1xf32>,
    %at: memref<1xf32>, %d: memref<?x32xi8>, %s: memref<?x4xf8E4M3FN>,
    %dt: memref<64x?xi8>, %st: memref<64x?xf8E4M3FN>, %ar: memref<?xf32>) {
  nvfp4.amax %x : memref<?x64xbf16> recipe <per_tensor_rht>
      rowwise(%a : memref<1xf32>) columnwise(%at : memref<1xf32>)
  nvfp4.quantize %x : memref<?x64xbf16> recipe <per_tensor_rht, amax = given>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<1xf32>)
      columnwise(%dt : memref<64x?xi8>, %st : memref<64x?xf8E4M3FN>, %at : memref<1xf32>)
  nvfp4.amax %x : memref<?x64xbf16> recipe <per_token> rowwise(%ar : memref<?xf32>)
  return
}

// Producers (SPEC.md section 15) and their fused forms.
// CHECK-LABEL: func.func @producers
func.func @producers(%x: memref<?x4096xbf16>, %w: memref<4096xbf16>,
    %r: memref<?x4096xbf16>, %y: memref<?x4096xbf16>, %rs: memref<?xf32>,
    %g: memref<?x8192xbf16>, %d: memref<?x2048xi8>,
    %s: memref<?x256xf8E4M3FN>, %a: memref<?xf32>) {
  // CHECK: nvfp4.rms_norm %{{.*}} : memref<?x4096xbf16>, %{{.*}} : memref<4096xbf16> residual(%{{.*}} : memref<?x4096xbf16>) eps 9.99999997E-7 to %{{.*}} : memref<?x4096xbf16>, %{{.*}} : memref<?xf32>
  nvfp4.rms_norm %x : memref<?x4096xbf16>, %w : memref<4096xbf16>
      residual(%r : memref<?x4096xbf16>) eps 1.0e-06
      to %y : memref<?x4096xbf16>, %rs : memref<?xf32>
  // CHECK: nvfp4.gated_act silu %{{.*}} : memref<?x8192xbf16> to %{{.*}} : memref<?x4096xbf16>
  nvfp4.gated_act silu %g : memref<?x8192xbf16> to %y : memref<?x4096xbf16>
  // CHECK: nvfp4.rms_norm_quantize %{{.*}} eps 9.99999997E-7 rstd(%{{.*}} : memref<?xf32>) recipe <per_token> rowwise(
  nvfp4.rms_norm_quantize %x : memref<?x4096xbf16>, %w : memref<4096xbf16>
      eps 1.0e-06 rstd(%rs : memref<?xf32>) recipe <per_token>
      rowwise(%d : memref<?x2048xi8>, %s : memref<?x256xf8E4M3FN>, %a : memref<?xf32>)
  // CHECK: nvfp4.gated_act_quantize gelu_tanh %{{.*}} : memref<?x8192xbf16> y(%{{.*}} : memref<?x4096xbf16>) recipe <per_token> rowwise(
  nvfp4.gated_act_quantize gelu_tanh %g : memref<?x8192xbf16>
      y(%y : memref<?x4096xbf16>) recipe <per_token>
      rowwise(%d : memref<?x2048xi8>, %s : memref<?x256xf8E4M3FN>, %a : memref<?xf32>)
  return
}
