// RUN: nvfp4-opt %s -nvfp4-expand -split-input-file | FileCheck %s

// Per-token: a loop over rows computes each row's amax (fmaxf over |x|,
// NaN ignored) and stores it; a second loop nest encodes each 16-block,
// storing one E4M3 byte and 8 packed bytes.
// CHECK-LABEL: func.func @per_token
// CHECK-SAME: (%[[X:.*]]: memref<?x32xf32>, %[[D:.*]]: memref<?x16xi8>, %[[S:.*]]: memref<?x2xf8E4M3FN>, %[[A:.*]]: memref<?xf32>)
// CHECK-NOT: nvfp4.quantize
// CHECK: scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step
// CHECK: %[[ROWMAX:.*]] = scf.for {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32)
// CHECK: arith.maxnumf
// CHECK: memref.store %[[ROWMAX]], %[[A]][%[[R]]] : memref<?xf32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK: memref.load %[[A]]
// CHECK: arith.divf
// CHECK: %[[SFLAT:.*]] = memref.reinterpret_cast %[[S]] to offset: [0], sizes: [%{{.*}}], strides: [1] : memref<?x2xf8E4M3FN> to memref<?xf8E4M3FN>
// CHECK: arith.bitcast %{{.*}} : i8 to f8E4M3FN
// CHECK: memref.store %{{.*}}, %[[SFLAT]]
// CHECK-COUNT-8: memref.store %{{.*}}, %[[D]]
// CHECK-NOT: nvfp4.
func.func @per_token(%x: memref<?x32xf32>, %d: memref<?x16xi8>,
                     %s: memref<?x2xf8E4M3FN>, %a: memref<?xf32>) {
  nvfp4.quantize %x : memref<?x32xf32> recipe <per_token>
      rowwise(%d : memref<?x16xi8>, %s : memref<?x2xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

// Swizzled layouts zero the whole padded buffer before any scale is
// written, so padding always reads 0.
// CHECK-LABEL: func.func @swizzled
// CHECK-SAME: %[[S:[a-z0-9]+]]: memref<128x4xf8E4M3FN>
// CHECK: %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK: %[[ROWS:.*]] = memref.dim %[[S]], %{{.*}} : memref<128x4xf8E4M3FN>
// CHECK: %[[COLS:.*]] = memref.dim %[[S]], %{{.*}} : memref<128x4xf8E4M3FN>
// CHECK: %[[BYTES:.*]] = arith.muli %[[ROWS]], %[[COLS]] : index
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[BYTES]]
// CHECK: %[[SFLAT:.*]] = memref.reinterpret_cast %[[S]] to offset: [0], sizes: [%{{.*}}], strides: [1] : memref<128x4xf8E4M3FN> to memref<?xf8E4M3FN>
// CHECK: %[[B:.*]] = arith.trunci %[[ZERO]] : i32 to i8
// CHECK: %[[Z:.*]] = arith.bitcast %[[B]] : i8 to f8E4M3FN
// CHECK: memref.store %[[Z]], %[[SFLAT]][%[[I]]] : memref<?xf8E4M3FN>
// CHECK: arith.maxnumf
func.func @swizzled(%x: memref<8x64xbf16>, %d: memref<8x32xi8>,
                    %s: memref<128x4xf8E4M3FN>, %a: memref<1xf32>) {
  nvfp4.quantize %x : memref<8x64xbf16> recipe <per_tensor, sf_layout = 128x4>
      rowwise(%d : memref<8x32xi8>, %s : memref<128x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

// Stochastic rounding draws Philox4x32-10 words: 10 rounds of two 32x32->64
// multiplies per block.
// CHECK-LABEL: func.func @stochastic
// CHECK-COUNT-20: arith.mului_extended
func.func @stochastic(%x: memref<4x16xf32>, %d: memref<4x8xi8>,
                      %s: memref<4x1xf8E4M3FN>, %a: memref<4xf32>) {
  nvfp4.quantize %x : memref<4x16xf32> recipe <per_token, rounding = stochastic<seed = 1>>
      rowwise(%d : memref<4x8xi8>, %s : memref<4x1xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// -----

// The columnwise output reads X transposed: element (r, c) of X^T is
// x[c, r].
// CHECK-LABEL: func.func @columnwise
// CHECK-SAME: (%[[X:.*]]: memref<32x16xf16>
// CHECK: scf.for %[[R:[a-z0-9_]+]] =
// CHECK: scf.for %[[B:[a-z0-9_]+]] =
// CHECK: %[[BASE:.*]] = arith.muli %[[B]], %{{.*}} : index
// CHECK: %[[I:.*]] = arith.addi %[[BASE]], %{{.*}} : index
// CHECK: memref.load %[[X]][%[[I]], %[[R]]] : memref<32x16xf16>
// CHECK: arith.extf %{{.*}} : f16 to f32
func.func @columnwise(%x: memref<32x16xf16>, %dt: memref<16x16xi8>,
                      %st: memref<16x2xf8E4M3FN>, %at: memref<1xf32>) {
  nvfp4.quantize %x : memref<32x16xf16> recipe <per_tensor, directions = [columnwise]>
      columnwise(%dt : memref<16x16xi8>, %st : memref<16x2xf8E4M3FN>, %at : memref<1xf32>)
  return
}

// -----

// Dequantization reads the scale byte through the layout and writes bf16
// by rounding the bit pattern.
// CHECK-LABEL: func.func @dequantize
// CHECK: arith.bitcast %{{.*}} : f8E4M3FN to i8
// CHECK: arith.bitcast %{{.*}} : i16 to bf16
// CHECK: memref.store %{{.*}}, %{{.*}} : memref<2x32xbf16>
func.func @dequantize(%d: memref<2x16xi8>, %s: memref<2x2xf8E4M3FN>,
                      %a: memref<1xf32>, %y: memref<2x32xbf16>) {
  nvfp4.dequantize %d : memref<2x16xi8>, %s : memref<2x2xf8E4M3FN>,
      %a : memref<1xf32> recipe <per_tensor> to %y : memref<2x32xbf16>
  return
}

// -----

// Grouped: a loop over groups carries the first row and the first scale
// row of the next group; each group's rows are quantized on their own and
// its per-tensor amax goes to amax[g].
// CHECK-LABEL: func.func @grouped
// CHECK-SAME: %[[SPLITS:[a-z0-9]+]]: memref<?xi64>
// CHECK-SAME: %[[A:[a-z0-9]+]]: memref<?xf32>
// CHECK: scf.for %[[G:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ROW:.*]] = %{{.*}}, %[[SROW:.*]] = %{{.*}}) -> (index, index)
// CHECK: memref.load %[[SPLITS]][%[[G]]] : memref<?xi64>
// CHECK: memref.store %{{.*}}, %[[A]][%[[G]]] : memref<?xf32>
// CHECK: scf.yield %{{.*}}, %{{.*}} : index, index
func.func @grouped(%x: memref<?x64xbf16>, %splits: memref<?xi64>,
                   %d: memref<?x32xi8>, %s: memref<?x4xf8E4M3FN>, %a: memref<?xf32>) {
  nvfp4.grouped_quantize %x : memref<?x64xbf16> splits(%splits : memref<?xi64>)
      recipe <per_tensor, sf_layout = 128x4>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

// A given per-token amax: no amax loop and no amax store; the encode loads
// each row's amax from the operand.
// CHECK-LABEL: func.func @given_amax
// CHECK-SAME: %[[A:[a-z0-9]+]]: memref<?xf32>)
// CHECK-NOT: memref.store %{{.*}}, %[[A]]
// CHECK: scf.for
// CHECK: scf.for
// CHECK: memref.load %[[A]]
// CHECK-NOT: memref.store %{{.*}}, %[[A]]
// CHECK: return
func.func @given_amax(%x: memref<?x32xf32>, %d: memref<?x16xi8>,
                      %s: memref<?x2xf8E4M3FN>, %a: memref<?xf32>) {
  nvfp4.quantize %x : memref<?x32xf32> recipe <per_token, amax = given>
      rowwise(%d : memref<?x16xi8>, %s : memref<?x2xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

// A given encode scale is S_enc itself: no 6E / amax division (6E = 2688
// appears nowhere); S_dec = RN(1 / S_enc) divides one by the loaded value.
// CHECK-LABEL: func.func @given_encode_scale
// CHECK-SAME: %[[A:[a-z0-9]+]]: memref<1xf32>)
// CHECK-NOT: 2.688000e+03
// CHECK: %[[S:.*]] = memref.load %[[A]]
// CHECK-NOT: 2.688000e+03
// CHECK: arith.divf %[[ONE:.*]], %[[S]] : f32
// CHECK-NOT: 2.688000e+03
// CHECK-NOT: memref.store %{{.*}}, %[[A]]
// CHECK: return
func.func @given_encode_scale(%x: memref<?x32xf32>, %d: memref<?x16xi8>,
                              %s: memref<?x2xf8E4M3FN>, %a: memref<1xf32>) {
  nvfp4.quantize %x : memref<?x32xf32> recipe <per_tensor, amax = given_encode_scale>
      rowwise(%d : memref<?x16xi8>, %s : memref<?x2xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

// nvfp4.amax: the amax loops of the quantize alone, no scale or data.
// CHECK-LABEL: func.func @amax_only
// CHECK-SAME: (%[[X:.*]]: memref<?x32xf32>, %[[A:.*]]: memref<?xf32>, %[[AT:.*]]: memref<32xf32>)
// CHECK-NOT: nvfp4.amax
// CHECK: arith.maxnumf
// CHECK: memref.store %{{.*}}, %[[A]]
// CHECK: arith.maxnumf
// CHECK: memref.store %{{.*}}, %[[AT]]
// CHECK-NOT: f8E4M3FN
// CHECK: return
func.func @amax_only(%x: memref<?x32xf32>, %a: memref<?xf32>, %at: memref<32xf32>) {
  nvfp4.amax %x : memref<?x32xf32> recipe <per_token, directions = [rowwise, columnwise]>
      rowwise(%a : memref<?xf32>) columnwise(%at : memref<32xf32>)
  return
}
