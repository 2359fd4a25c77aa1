// RUN: nvfp4-opt %s -nvfp4-expand -split-input-file | FileCheck %s

// Per-token A x per-tensor B: B is decoded a 64-row panel at a time and A
// one row at a time (one E4M3 decode per 16-block, 8 data bytes unpacked
// into 16 exact f32 values), then each output element is a 16-lane FP32
// dot product, one ordered lane reduction, and the row-class epilogue
// RN(c * RN(amaxB * RN(amaxA * acc))), alpha, bias and the bf16 cast.
// CHECK-LABEL: func.func @per_token
// CHECK-SAME: (%[[AD:[^:]*]]: memref<?x32xi8>, %[[AS:[^:]*]]: memref<?x4xf8E4M3FN>, %[[AA:[^:]*]]: memref<?xf32>, %[[BD:[^:]*]]: memref<?x32xi8>, %[[BS:[^:]*]]: memref<?x4xf8E4M3FN>, %[[BA:[^:]*]]: memref<1xf32>, %[[BIAS:[^:]*]]: memref<?xf32>, %[[OUT:[^:]*]]: memref<?x?xbf16>)
// CHECK-NOT: nvfp4.matmul
// CHECK-DAG: %[[C:.*]] = arith.constant 1.38401717E-7 : f32
// CHECK-DAG: %[[ALPHA:.*]] = arith.constant 2.000000e+00 : f32
// CHECK: %[[AROW:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: %[[PANEL:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<64x?xf32>
// CHECK: scf.for %[[J0:.*]] = %{{.*}} to %{{.*}} step %c64
// CHECK: scf.for %[[JJ:.*]] =
// CHECK: memref.load %[[BS]]
// CHECK: vector.load %[[BD]]{{.*}} : memref<?x32xi8>, vector<8xi8>
// CHECK: vector.shuffle {{.*}} [0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15]
// CHECK: vector.store %{{.*}}, %[[PANEL]][%[[JJ]], %{{.*}}] : memref<64x?xf32>, vector<16xf32>
// CHECK: scf.for %[[I:.*]] =
// CHECK: memref.load %[[AS]]
// CHECK: vector.load %[[AD]]
// CHECK: vector.store %{{.*}}, %[[AROW]][%{{.*}}] : memref<?xf32>, vector<16xf32>
// CHECK: %[[AMAXA:.*]] = memref.load %[[AA]][%[[I]]] : memref<?xf32>
// CHECK: scf.for %[[JJ2:.*]] =
// CHECK: %[[LANES:.*]] = scf.for {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xf32>)
// CHECK: %[[VA:.*]] = vector.load %[[AROW]]
// CHECK: %[[VB:.*]] = vector.load %[[PANEL]][%[[JJ2]],
// CHECK: %[[P:.*]] = arith.mulf %[[VA]], %[[VB]] : vector<16xf32>
// CHECK: arith.addf %[[ACC]], %[[P]] : vector<16xf32>
// CHECK: %[[SUM:.*]] = vector.reduction <add>, %[[LANES]] : vector<16xf32> into f32
// CHECK: %[[AMAXB:.*]] = memref.load %[[BA]][%{{.*}}] : memref<1xf32>
// CHECK: %[[B:.*]] = memref.load %[[BIAS]]
// CHECK: %[[X1:.*]] = arith.mulf %[[AMAXA]], %[[SUM]] : f32
// CHECK: %[[X2:.*]] = arith.mulf %[[AMAXB]], %[[X1]] : f32
// CHECK: %[[X3:.*]] = arith.mulf %[[C]], %[[X2]] : f32
// CHECK: %[[X4:.*]] = arith.mulf %[[ALPHA]], %[[X3]] : f32
// CHECK: %[[X5:.*]] = arith.addf %[[X4]], %[[B]] : f32
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[I]], %{{.*}}] : memref<?x?xbf16>
// CHECK: memref.dealloc %[[AROW]]
// CHECK: memref.dealloc %[[PANEL]]
func.func @per_token(%ad: memref<?x32xi8>, %as: memref<?x4xf8E4M3FN>, %aa: memref<?xf32>,
    %bd: memref<?x32xi8>, %bs: memref<?x4xf8E4M3FN>, %ba: memref<1xf32>, %bias: memref<?xf32>,
    %out: memref<?x?xbf16>) {
  nvfp4.matmul
      a(%ad : memref<?x32xi8>, %as : memref<?x4xf8E4M3FN>, %aa : memref<?xf32>) recipe <per_token, sf_layout = 128x4>
      b(%bd : memref<?x32xi8>, %bs : memref<?x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      bias(%bias : memref<?xf32>)
      outs(%out : memref<?x?xbf16>) {alpha = 2.0 : f32}
  return
}

// -----

// Both per-tensor: one scalar RN(RN(amaxA*amaxB)*c) times the accumulator;
// alpha = 1 and no bias add nothing; f32 output is stored as is.
// CHECK-LABEL: func.func @per_tensor
// CHECK: %[[SUM:.*]] = vector.reduction <add>
// CHECK: %[[AB:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: %[[S:.*]] = arith.mulf %[[AB]], %{{.*}} : f32
// CHECK: %[[D:.*]] = arith.mulf %[[S]], %[[SUM]] : f32
// CHECK-NEXT: memref.store %[[D]], %{{.*}} : memref<128x256xf32>
func.func @per_tensor(%ad: memref<128x32xi8>, %as: memref<128x4xf8E4M3FN>, %aa: memref<1xf32>,
    %bd: memref<256x32xi8>, %bs: memref<256x4xf8E4M3FN>, %ba: memref<1xf32>,
    %out: memref<128x256xf32>) {
  nvfp4.matmul
      a(%ad : memref<128x32xi8>, %as : memref<128x4xf8E4M3FN>, %aa : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<256x32xi8>, %bs : memref<256x4xf8E4M3FN>, %ba : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<128x256xf32>)
  return
}

// -----

// 1x64 windows: each 64-wide K window (4 blocks; the last one may be
// shorter) is summed on its own, reduced, and promoted with
// RN(RN(amaxA[i,w]*amaxB[j,w])*c) before joining the FP32 accumulator.
// The quotient form reads floored amaxes. The epilogue then only casts.
// CHECK-LABEL: func.func @windows
// CHECK-SAME: %[[AA:[a-z0-9]+]]: memref<?x2xf32>
// CHECK-SAME: %[[BA:[a-z0-9]+]]: memref<?x2xf32>
// CHECK-DAG: %[[FLOOR:.*]] = arith.constant 9.99999996E-13 : f32
// CHECK: %[[TOTAL:.*]] = scf.for %[[W:.*]] = {{.*}} iter_args(%[[T:.*]] = %{{.*}}) -> (f32)
// CHECK: %[[BEGIN:.*]] = arith.muli %[[W]], %c4
// CHECK: %[[END:.*]] = arith.minui
// CHECK: scf.for %{{.*}} = %[[BEGIN]] to %[[END]]
// CHECK: %[[PART:.*]] = vector.reduction <add>
// CHECK: %[[RA:.*]] = memref.load %[[AA]][%{{.*}}, %[[W]]]
// CHECK: %[[FA:.*]] = arith.maxnumf %[[RA]], %[[FLOOR]]
// CHECK: %[[RB:.*]] = memref.load %[[BA]][%{{.*}}, %[[W]]]
// CHECK: %[[FB:.*]] = arith.maxnumf %[[RB]], %[[FLOOR]]
// CHECK: %[[AB:.*]] = arith.mulf %[[FA]], %[[FB]]
// CHECK: %[[F:.*]] = arith.mulf %[[AB]], %{{.*}}
// CHECK: %[[PROMOTED:.*]] = arith.mulf %[[F]], %[[PART]]
// CHECK: %[[NEXT:.*]] = arith.addf %[[T]], %[[PROMOTED]]
// CHECK: scf.yield %[[NEXT]]
// CHECK: arith.truncf %[[TOTAL]] : f32 to f16
func.func @windows(%ad: memref<?x48xi8>, %as: memref<?x8xf8E4M3FN>, %aa: memref<?x2xf32>,
    %bd: memref<?x48xi8>, %bs: memref<?x8xf8E4M3FN>, %ba: memref<?x2xf32>,
    %out: memref<?x?xf16>) {
  nvfp4.matmul
      a(%ad : memref<?x48xi8>, %as : memref<?x8xf8E4M3FN>, %aa : memref<?x2xf32>) recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<?x48xi8>, %bs : memref<?x8xf8E4M3FN>, %ba : memref<?x2xf32>) recipe <local_1x64, sf_layout = 128x4>
      outs(%out : memref<?x?xf16>)
  return
}

// -----

// Grouped: groups run in order over consecutive rows of A (an empty group
// is skipped); each group reads its own B (leading index g of data, scales and amaxes) and bias row, and
// A's scale rows restart on a fresh 128-row tile per group.
// CHECK-LABEL: func.func @grouped
// CHECK-SAME: %[[SPLITS:[a-z0-9]+]]: memref<2xi64>
// CHECK-SAME: %[[AA:[a-z0-9]+]]: memref<2xf32>
// CHECK-SAME: %[[BD:[a-z0-9]+]]: memref<2x256x32xi8>
// CHECK-SAME: %[[BS:[a-z0-9]+]]: memref<2x256x4xf8E4M3FN>
// CHECK-SAME: %[[BA:[a-z0-9]+]]: memref<2x256xf32>
// CHECK-SAME: %[[BIAS:[a-z0-9]+]]: memref<2x256xf32>
// CHECK: scf.for %[[G:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ROW0:.*]] = %{{.*}}, %[[SROW:.*]] = %{{.*}}) -> (index, index)
// CHECK: memref.load %[[SPLITS]][%[[G]]]
// CHECK: %[[NONEMPTY:.*]] = arith.cmpi ne
// CHECK: scf.if %[[NONEMPTY]]
// CHECK: memref.load %[[BS]][%[[G]],
// CHECK: vector.load %[[BD]][%[[G]],
// CHECK: memref.load %[[AA]][%[[G]]]
// CHECK: memref.load %[[BA]][%[[G]],
// CHECK: memref.load %[[BIAS]][%[[G]],
// CHECK: arith.muli %{{.*}}, %c128
// CHECK: scf.yield
func.func @grouped(%splits: memref<2xi64>,
    %ad: memref<100x32xi8>, %as: memref<384x4xf8E4M3FN>, %aa: memref<2xf32>,
    %bd: memref<2x256x32xi8>, %bs: memref<2x256x4xf8E4M3FN>, %ba: memref<2x256xf32>,
    %bias: memref<2x256xf32>, %out: memref<100x256xf16>) {
  nvfp4.grouped_matmul splits(%splits : memref<2xi64>)
      a(%ad : memref<100x32xi8>, %as : memref<384x4xf8E4M3FN>, %aa : memref<2xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%bd : memref<2x256x32xi8>, %bs : memref<2x256x4xf8E4M3FN>, %ba : memref<2x256xf32>) recipe <per_token, sf_layout = 128x4>
      bias(%bias : memref<2x256xf32>)
      outs(%out : memref<100x256xf16>)
  return
}
