// RUN: nvfp4-opt %s -nvfp4-expand -split-input-file | FileCheck %s

// W4A16 with a per-tensor B: B is decoded a 64-row panel at a time as for
// nvfp4.matmul; A's rows are widened exactly (bf16 -> f32, one vector of 16
// per block, no scale, no amax); the tensor-class epilogue leaves A's
// factor out: RN(RN(amaxB * c) * acc) with c = RN(1/(6*448)) = 0x39C30C31.
// CHECK-LABEL: func.func @tensor
// CHECK-SAME: (%[[A:[^:]*]]: memref<?x64xbf16>, %[[BD:[^:]*]]: memref<?x32xi8>, %[[BS:[^:]*]]: memref<?x4xf8E4M3FN>, %[[BA:[^:]*]]: memref<1xf32>, %[[OUT:[^:]*]]: memref<?x?xf32>)
// CHECK-NOT: nvfp4.matmul_w4a16
// CHECK-DAG: %[[C:.*]] = arith.constant 3.72023816E-4 : f32
// CHECK: %[[AROW:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: %[[PANEL:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<64x?xf32>
// CHECK: memref.load %[[BS]]
// CHECK: vector.load %[[BD]]{{.*}} : memref<?x32xi8>, vector<8xi8>
// CHECK: vector.store %{{.*}}, %[[PANEL]]
// CHECK: scf.for %[[I:.*]] =
// CHECK: %[[V:.*]] = vector.load %[[A]][%[[I]], %{{.*}}] : memref<?x64xbf16>, vector<16xbf16>
// CHECK: %[[W:.*]] = arith.extf %[[V]] : vector<16xbf16> to vector<16xf32>
// CHECK: vector.store %[[W]], %[[AROW]][%{{.*}}] : memref<?xf32>, vector<16xf32>
// CHECK: %[[SUM:.*]] = vector.reduction <add>, %{{.*}} : vector<16xf32> into f32
// CHECK: %[[AMAXB:.*]] = memref.load %[[BA]][%{{.*}}] : memref<1xf32>
// CHECK: %[[F:.*]] = arith.mulf %[[AMAXB]], %[[C]] : f32
// CHECK: %[[D:.*]] = arith.mulf %[[F]], %[[SUM]] : f32
// CHECK: memref.store %[[D]], %[[OUT]][%[[I]], %{{.*}}] : memref<?x?xf32>
func.func @tensor(%a: memref<?x64xbf16>, %bd: memref<?x32xi8>, %bs: memref<?x4xf8E4M3FN>,
                  %ba: memref<1xf32>, %out: memref<?x?xf32>) {
  nvfp4.matmul_w4a16 a(%a : memref<?x64xbf16>)
      b(%bd : memref<?x32xi8>, %bs : memref<?x4xf8E4M3FN>, %ba : memref<1xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      outs(%out : memref<?x?xf32>)
  return
}

// -----

// Per-row (4over6) B with an f16 A: the row class applied one factor at a
// time, RN(c * RN(amaxB[j] * acc)) with c = RN(1/(6*256)); then alpha, bias
// and the bf16 cast.
// CHECK-LABEL: func.func @row
// CHECK-SAME: (%[[A:[^:]*]]: memref<?x32xf16>, %{{[^:]*}}: memref<?x16xi8>, %{{[^:]*}}: memref<?x4xf8E4M3FN>, %[[BA:[^:]*]]: memref<?xf32>, %[[BIAS:[^:]*]]: memref<?xf32>, %[[OUT:[^:]*]]: memref<?x?xbf16>)
// CHECK-DAG: %[[C:.*]] = arith.constant 6.51041686E-4 : f32
// CHECK: arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// CHECK: %[[SUM:.*]] = vector.reduction <add>
// CHECK: %[[AMAXB:.*]] = memref.load %[[BA]][%{{.*}}] : memref<?xf32>
// CHECK: %[[B:.*]] = memref.load %[[BIAS]]
// CHECK: %[[X1:.*]] = arith.mulf %[[AMAXB]], %[[SUM]] : f32
// CHECK: %[[X2:.*]] = arith.mulf %[[C]], %[[X1]] : f32
// CHECK: %[[X3:.*]] = arith.mulf %{{.*}}, %[[X2]] : f32
// CHECK: %[[X4:.*]] = arith.addf %[[X3]], %[[B]] : f32
// CHECK: arith.bitcast %[[X4]] : f32 to i32
func.func @row(%a: memref<?x32xf16>, %bd: memref<?x16xi8>, %bs: memref<?x4xf8E4M3FN>,
               %ba: memref<?xf32>, %bias: memref<?xf32>, %out: memref<?x?xbf16>) {
  nvfp4.matmul_w4a16 a(%a : memref<?x32xf16>)
      b(%bd : memref<?x16xi8>, %bs : memref<?x4xf8E4M3FN>, %ba : memref<?xf32>)
        recipe <per_token, select = four_over_six<mae>, e4m3_max = 256, sf_layout = 128x4>
      bias(%bias : memref<?xf32>) outs(%out : memref<?x?xbf16>) {alpha = 0.5 : f32}
  return
}

// -----

// Window B: each 64-wide K window is summed on its own and promoted with
// RN(amaxB[j, w] * c) (no A amax; local_1x64's quotient form reads the
// floored amax) before it joins the FP32 accumulator.
// CHECK-LABEL: func.func @window
// CHECK-SAME: %[[BA:[^:]*]]: memref<?x?xf32>
// CHECK: %[[ACC:.*]] = scf.for %[[W:.*]] = {{.*}} iter_args(%[[TOTAL:.*]] = %{{.*}}) -> (f32)
// CHECK: %[[PART:.*]] = vector.reduction <add>
// CHECK: %[[AMAXB:.*]] = memref.load %[[BA]][%{{.*}}, %[[W]]] : memref<?x?xf32>
// CHECK: %[[FLOOR:.*]] = arith.maxnumf %[[AMAXB]], %{{.*}} : f32
// CHECK: %[[F:.*]] = arith.mulf %[[FLOOR]], %{{.*}} : f32
// CHECK: %[[P:.*]] = arith.mulf %[[F]], %[[PART]] : f32
// CHECK: arith.addf %[[TOTAL]], %[[P]] : f32
func.func @window(%a: memref<?x128xbf16>, %bd: memref<?x64xi8>, %bs: memref<?x8xf8E4M3FN>,
                  %ba: memref<?x?xf32>, %out: memref<?x?xf32>) {
  nvfp4.matmul_w4a16 a(%a : memref<?x128xbf16>)
      b(%bd : memref<?x64xi8>, %bs : memref<?x8xf8E4M3FN>, %ba : memref<?x?xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      outs(%out : memref<?x?xf32>)
  return
}
