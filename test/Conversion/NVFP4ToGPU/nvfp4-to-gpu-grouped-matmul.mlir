// RUN: nvfp4-opt %s -nvfp4-to-gpu -split-input-file | FileCheck %s

// nvfp4.grouped_matmul is one launch over every group, the splits read on
// the device. The host picks the kernel by the total M (as for
// nvfp4.matmul: small_m8/16/32, medium_m, large_m; mma.sync only, so no
// wgmma kernel on the default sm_90a) and launches ceil(N / tileN) tile
// columns times ceil(M / tileM) + G tile rows: each group may end in a
// partial tile row of its own.

// CHECK-LABEL: func.func @grouped_per_token(
// CHECK-SAME: %[[SPLITS:arg[0-9]+]]: memref<?xi64>
// CHECK: %[[FITS8:.*]] = arith.cmpi ule, %[[M:.*]], %c8 : index
// CHECK-NEXT: scf.if %[[FITS8]] {
// CHECK: %[[NT:.*]] = arith.addi %[[N:.*]], %c31 : index
// CHECK: %[[TILESN:.*]] = arith.divui %[[NT]], %c32 : index
// CHECK: %[[MT:.*]] = arith.addi %[[M]], %c7 : index
// CHECK: %[[TILESM:.*]] = arith.divui %[[MT]], %{{.*}} : index
// CHECK: %[[G:.*]] = memref.dim %[[SPLITS]], %{{.*}} : memref<?xi64>
// CHECK: %[[ROWS:.*]] = arith.addi %[[TILESM]], %[[G]] : index
// CHECK: %[[GRID:.*]] = arith.muli %[[TILESN]], %[[ROWS]] : index
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_per_token_m0_grouped_gemm_small_m8 blocks in (%[[GRID]], %{{.*}}, %{{.*}}) threads in (%c256, %{{.*}}, %{{.*}}) args(%[[SPLITS]] : memref<?xi64>,
// CHECK: } else {
// CHECK: arith.cmpi ule, %[[M]], %c16 : index
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_per_token_m0_grouped_gemm_small_m16
// CHECK: arith.cmpi ule, %[[M]], %c32 : index
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_per_token_m0_grouped_gemm_small_m32
// CHECK: arith.cmpi ule, %[[M]], %c256 : index
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_per_token_m0_grouped_gemm_medium_m
// CHECK: } else {
// CHECK: %[[LNT:.*]] = arith.addi %{{.*}}, %c127 : index
// CHECK: %[[LTILESN:.*]] = arith.divui %[[LNT]], %{{.*}} : index
// CHECK: %[[LMT:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK: %[[LTILESM:.*]] = arith.divui %[[LMT]], %{{.*}} : index
// CHECK: %[[LG:.*]] = memref.dim %[[SPLITS]], %{{.*}} : memref<?xi64>
// CHECK: %[[LROWS:.*]] = arith.addi %[[LTILESM]], %[[LG]] : index
// CHECK: %[[LGRID:.*]] = arith.muli %[[LTILESN]], %[[LROWS]] : index
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_per_token_m0_grouped_gemm_large_m blocks in (%[[LGRID]], %{{.*}}, %{{.*}}) threads in (%c256{{.*}}, %{{.*}}, %{{.*}})
// CHECK-NOT: gpu.launch_func
// CHECK: return

// The kernels carry the attributes of the plain GEMM kernels, with the
// grouped work kind (the runtime sizes the grid from it).
// CHECK-LABEL: gpu.func @grouped_per_token_m0_grouped_gemm_small_m8(
// CHECK-SAME: nvfp4.gemm_max_m = 8 : i64, nvfp4.gemm_tile = array<i64: 8, 32>, nvfp4.work = "grouped_gemm"
// CHECK-LABEL: gpu.func @grouped_per_token_m0_grouped_gemm_small_m16(
// CHECK-SAME: nvfp4.gemm_max_m = 16 : i64, nvfp4.gemm_tile = array<i64: 16, 32>, nvfp4.work = "grouped_gemm"
// CHECK-LABEL: gpu.func @grouped_per_token_m0_grouped_gemm_small_m32(
// CHECK-SAME: nvfp4.gemm_max_m = 32 : i64, nvfp4.gemm_tile = array<i64: 32, 32>, nvfp4.work = "grouped_gemm"

// A block decodes its tile as the plain kernel does, then finds the group
// that owns its tile row with a running sum over the splits (each clamped
// to the rows left): group g owns ceil(rows_g / tileM) tile rows, and its
// 128x4 scales start on a fresh 128-row tile.
// CHECK-LABEL: gpu.func @grouped_per_token_m0_grouped_gemm_medium_m(
// CHECK-SAME: %[[SPLITS:arg[0-9]+]]: memref<?xi64>, %[[AD:arg[0-9]+]]: memref<?x?xi8>, %[[AS:arg[0-9]+]]: memref<?x?xf8E4M3FN>, %[[AA:arg[0-9]+]]: memref<?xf32>, %[[BD:arg[0-9]+]]: memref<?x?x?xi8>, %[[BS:arg[0-9]+]]: memref<?x?x?xf8E4M3FN>, %[[BA:arg[0-9]+]]: memref<?xf32>, %[[BIAS:arg[0-9]+]]: memref<?x?xf32>, %[[D:arg[0-9]+]]: memref<?x?xbf16>)
// CHECK-SAME: nvfp4.gemm_max_m = 256 : i64, nvfp4.gemm_tile = array<i64: 32, 128>, nvfp4.work = "grouped_gemm"
// CHECK: %[[M:.*]] = memref.dim %[[AD]], %{{.*}} : memref<?x?xi8>
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: %[[TROW:.*]] = arith.divui %[[BID]], %{{.*}} : index
// CHECK: %[[ROW:.*]] = arith.muli %[[TROW]], %c32 : index
// CHECK: %[[TCOL:.*]] = arith.remui %[[BID]], %{{.*}} : index
// CHECK: %[[COL:.*]] = arith.muli %[[TCOL]], %{{.*}} : index
// CHECK: %[[G:.*]] = memref.dim %[[SPLITS]], %{{.*}} : memref<?xi64>
// CHECK: %[[SCAN:.*]]:9 = scf.for %[[I:arg[0-9]+]] = %{{.*}} to %[[G]] step %{{.*}} iter_args(%[[FIRST:arg[0-9]+]] = %{{.*}}, %[[SROW:arg[0-9]+]] = %{{.*}}, %[[PAD:arg[0-9]+]] = %{{.*}}, %[[FOUND:arg[0-9]+]] = %false,
// CHECK-NEXT: %[[SPLIT:.*]] = memref.load %[[SPLITS]][%[[I]]] : memref<?xi64>
// CHECK-NEXT: %[[SPLITI:.*]] = arith.index_cast %[[SPLIT]] : i64 to index
// CHECK-NEXT: %[[USED:.*]] = arith.minui %[[FIRST]], %[[M]] : index
// CHECK-NEXT: %[[LEFT:.*]] = arith.subi %[[M]], %[[USED]] : index
// CHECK-NEXT: %[[ROWS:.*]] = arith.minui %[[SPLITI]], %[[LEFT]] : index
// CHECK: arith.addi %[[ROWS]], %c31 : index
// CHECK: %[[OWNED:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK-NEXT: %[[PADEND:.*]] = arith.addi %[[PAD]], %[[OWNED]] : index
// CHECK-NEXT: %[[GE:.*]] = arith.cmpi uge, %[[ROW]], %[[PAD]] : index
// CHECK-NEXT: %[[LT:.*]] = arith.cmpi ult, %[[ROW]], %[[PADEND]] : index
// CHECK-NEXT: %[[INSIDE:.*]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK: arith.addi %[[ROWS]], %c127{{.*}} : index
// CHECK: %[[SCALEROWS:.*]] = arith.muli %{{.*}}, %c128{{.*}} : index
// CHECK-NEXT: %[[NEXTFIRST:.*]] = arith.addi %[[FIRST]], %[[ROWS]] : index
// CHECK-NEXT: %[[NEXTSROW:.*]] = arith.addi %[[SROW]], %[[SCALEROWS]] : index
// CHECK-NEXT: %[[NEXTFOUND:.*]] = arith.ori %[[FOUND]], %[[INSIDE]] : i1
// CHECK-NEXT: %[[PICKG:.*]] = arith.select %[[INSIDE]], %[[I]], %{{.*}} : index
// CHECK-NEXT: %[[PICKFIRST:.*]] = arith.select %[[INSIDE]], %[[FIRST]], %{{.*}} : index
// CHECK-NEXT: %[[PICKROWS:.*]] = arith.select %[[INSIDE]], %[[ROWS]], %{{.*}} : index
// CHECK-NEXT: %[[PICKSROW:.*]] = arith.select %[[INSIDE]], %[[SROW]], %{{.*}} : index
// CHECK-NEXT: %[[PICKPAD:.*]] = arith.select %[[INSIDE]], %[[PAD]], %{{.*}} : index
// CHECK-NEXT: scf.yield %[[NEXTFIRST]], %[[NEXTSROW]], %[[PADEND]], %[[NEXTFOUND]], %[[PICKG]], %[[PICKFIRST]], %[[PICKROWS]], %[[PICKSROW]], %[[PICKPAD]] :
// Blocks no group owns do nothing.
// CHECK: scf.if %[[SCAN]]#3 {
// The tile body runs on views of the group: A's rows and scale rows, B,
// the bias and D's rows of group g.
// CHECK: %[[SROWS:.*]] = arith.muli %{{.*}}, %c128{{.*}} : index
// CHECK: %[[KH:.*]] = memref.dim %[[AD]], %c1{{.*}} : memref<?x?xi8>
// CHECK-NEXT: %[[AOFF:.*]] = arith.muli %[[SCAN]]#5, %[[KH]] : index
// CHECK-NEXT: %[[AV:.*]] = memref.reinterpret_cast %[[AD]] to offset: [%[[AOFF]]], sizes: [%[[SCAN]]#6, %[[KH]]], strides: [%[[KH]], 1] : memref<?x?xi8> to memref<?x?xi8, strided<[?, 1], offset: ?>>
// CHECK: %[[CP:.*]] = memref.dim %[[AS]], %c1{{.*}} : memref<?x?xf8E4M3FN>
// CHECK-NEXT: %[[SOFF:.*]] = arith.muli %[[SCAN]]#7, %[[CP]] : index
// CHECK-NEXT: %[[ASV:.*]] = memref.reinterpret_cast %[[AS]] to offset: [%[[SOFF]]], sizes: [%[[SROWS]], %[[CP]]], strides: [%[[CP]], 1]
// CHECK-NEXT: %[[AAV:.*]] = memref.reinterpret_cast %[[AA]] to offset: [%[[SCAN]]#5], sizes: [%[[SCAN]]#6], strides: [1] : memref<?xf32> to memref<?xf32, strided<[1], offset: ?>>
// CHECK: %[[BOFF:.*]] = arith.muli %[[SCAN]]#4, %{{.*}} : index
// CHECK-NEXT: %[[BDV:.*]] = memref.reinterpret_cast %[[BD]] to offset: [%[[BOFF]]], sizes: [%{{.*}}, %{{.*}}], strides: [%{{.*}}, 1] : memref<?x?x?xi8> to memref<?x?xi8, strided<[?, 1], offset: ?>>
// CHECK: memref.reinterpret_cast %[[BS]] to offset: [%{{.*}}], sizes: [%{{.*}}, %{{.*}}], strides: [%{{.*}}, 1] : memref<?x?x?xf8E4M3FN> to memref<?x?xf8E4M3FN, strided<[?, 1], offset: ?>>
// A per-tensor B has one amax per group: B[g]'s is element g.
// CHECK-NEXT: memref.reinterpret_cast %[[BA]] to offset: [%[[SCAN]]#4], sizes: [1], strides: [1] : memref<?xf32> to memref<1xf32, strided<[1], offset: ?>>
// CHECK: memref.reinterpret_cast %[[BIAS]] to offset: [%{{.*}}], sizes: [%{{.*}}], strides: [1] : memref<?x?xf32> to memref<?xf32, strided<[1], offset: ?>>
// CHECK: memref.reinterpret_cast %[[D]] to offset: [%{{.*}}], sizes: [%[[SCAN]]#6, %{{.*}}], strides: [%{{.*}}, 1] : memref<?x?xbf16> to memref<?x?xbf16, strided<[?, 1], offset: ?>>
// The tile's first row within the group.
// CHECK-NEXT: arith.subi %[[ROW]], %[[SCAN]]#8 : index
// Operands are addressed from their views' offsets.
// CHECK: memref.extract_aligned_pointer_as_index %[[AV]]
// CHECK-NEXT: memref.extract_strided_metadata %[[AV]]

// CHECK-LABEL: gpu.func @grouped_per_token_m0_grouped_gemm_large_m(
// CHECK-SAME: nvfp4.gemm_max_m = 0 : i64, nvfp4.gemm_tile = array<i64: 128, 128>, nvfp4.work = "grouped_gemm"
// CHECK: scf.for
// CHECK: memref.load %{{.*}} : memref<?xi64>
// CHECK: scf.if
// CHECK-NOT: wgmma
func.func @grouped_per_token(%splits: memref<?xi64>,
    %ad: memref<?x?xi8>, %as: memref<?x?xf8E4M3FN>, %aa: memref<?xf32>,
    %bd: memref<?x?x?xi8>, %bs: memref<?x?x?xf8E4M3FN>, %ba: memref<?xf32>,
    %bias: memref<?x?xf32>, %d: memref<?x?xbf16>) {
  nvfp4.grouped_matmul splits(%splits : memref<?xi64>)
      a(%ad : memref<?x?xi8>, %as : memref<?x?xf8E4M3FN>, %aa : memref<?xf32>)
        recipe <per_token, sf_layout = 128x4>
      b(%bd : memref<?x?x?xi8>, %bs : memref<?x?x?xf8E4M3FN>, %ba : memref<?xf32>)
        recipe <per_tensor, sf_layout = 128x4>
      bias(%bias : memref<?x?xf32>) outs(%d : memref<?x?xbf16>)
  return
}

// -----

// A per-tensor A has one amax per group (element g); per-row B amaxes are
// G x N (row g). Static shapes give static views.
// CHECK-LABEL: gpu.func @grouped_static_m0_grouped_gemm_large_m(
// CHECK-SAME: %[[SPLITS:arg[0-9]+]]: memref<2xi64>, %[[AD:arg[0-9]+]]: memref<100x32xi8>, %[[AS:arg[0-9]+]]: memref<384x4xf8E4M3FN>, %[[AA:arg[0-9]+]]: memref<2xf32>, %[[BD:arg[0-9]+]]: memref<2x256x32xi8>, %[[BS:arg[0-9]+]]: memref<2x256x4xf8E4M3FN>, %[[BA:arg[0-9]+]]: memref<2x256xf32>, %[[BIAS:arg[0-9]+]]: memref<2x256xf32>, %[[D:arg[0-9]+]]: memref<100x256xf16>)
// CHECK: %[[SCAN:.*]]:9 = scf.for
// CHECK: scf.if %[[SCAN]]#3 {
// CHECK: memref.reinterpret_cast %[[AD]] to offset: [%{{.*}}], sizes: [%[[SCAN]]#6, 32], strides: [32, 1] : memref<100x32xi8> to memref<?x32xi8, strided<[32, 1], offset: ?>>
// CHECK: memref.reinterpret_cast %[[AS]] to offset: [%{{.*}}], sizes: [%{{.*}}, 4], strides: [4, 1] : memref<384x4xf8E4M3FN> to memref<?x4xf8E4M3FN, strided<[4, 1], offset: ?>>
// CHECK-NEXT: memref.reinterpret_cast %[[AA]] to offset: [%[[SCAN]]#4], sizes: [1], strides: [1] : memref<2xf32> to memref<1xf32, strided<[1], offset: ?>>
// CHECK-NEXT: %[[BOFF:.*]] = arith.constant 8192 : index
// CHECK-NEXT: %[[BAT:.*]] = arith.muli %[[SCAN]]#4, %[[BOFF]] : index
// CHECK-NEXT: memref.reinterpret_cast %[[BD]] to offset: [%[[BAT]]], sizes: [256, 32], strides: [32, 1] : memref<2x256x32xi8> to memref<256x32xi8, strided<[32, 1], offset: ?>>
// CHECK: memref.reinterpret_cast %[[BS]] to offset: [%{{.*}}], sizes: [256, 4], strides: [4, 1] : memref<2x256x4xf8E4M3FN> to memref<256x4xf8E4M3FN, strided<[4, 1], offset: ?>>
// CHECK: %[[N:.*]] = arith.constant 256 : index
// CHECK-NEXT: %[[AMAXAT:.*]] = arith.muli %[[SCAN]]#4, %[[N]] : index
// CHECK-NEXT: memref.reinterpret_cast %[[BA]] to offset: [%[[AMAXAT]]], sizes: [256], strides: [1] : memref<2x256xf32> to memref<256xf32, strided<[1], offset: ?>>
// CHECK: memref.reinterpret_cast %[[BIAS]] to offset: [%{{.*}}], sizes: [256], strides: [1] : memref<2x256xf32> to memref<256xf32, strided<[1], offset: ?>>
// CHECK: memref.reinterpret_cast %[[D]] to offset: [%{{.*}}], sizes: [%[[SCAN]]#6, 256], strides: [256, 1] : memref<100x256xf16> to memref<?x256xf16, strided<[256, 1], offset: ?>>
func.func @grouped_static(%splits: memref<2xi64>,
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

// -----

// 1x64 windows: A's amaxes are the group's rows of M x W, B's are B[g] of
// G x N x W.
// CHECK-LABEL: gpu.func @grouped_windows_m0_grouped_gemm_small_m8(
// CHECK-SAME: %[[SPLITS:arg[0-9]+]]: memref<?xi64>, %[[AD:arg[0-9]+]]: memref<?x?xi8>, %[[AS:arg[0-9]+]]: memref<?x?xf8E4M3FN>, %[[AA:arg[0-9]+]]: memref<?x?xf32>, %[[BD:arg[0-9]+]]: memref<?x?x?xi8>, %[[BS:arg[0-9]+]]: memref<?x?x?xf8E4M3FN>, %[[BA:arg[0-9]+]]: memref<?x?x?xf32>, %[[D:arg[0-9]+]]: memref<?x?xf32>)
// CHECK: %[[SCAN:.*]]:9 = scf.for
// CHECK: scf.if %[[SCAN]]#3 {
// CHECK: %[[W:.*]] = memref.dim %[[AA]], %c1{{.*}} : memref<?x?xf32>
// CHECK-NEXT: %[[AAT:.*]] = arith.muli %[[SCAN]]#5, %[[W]] : index
// CHECK-NEXT: memref.reinterpret_cast %[[AA]] to offset: [%[[AAT]]], sizes: [%[[SCAN]]#6, %[[W]]], strides: [%[[W]], 1] : memref<?x?xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK: %[[BN:.*]] = memref.dim %[[BA]], %c1{{.*}} : memref<?x?x?xf32>
// CHECK: %[[BW:.*]] = memref.dim %[[BA]], %c2{{.*}} : memref<?x?x?xf32>
// CHECK-NEXT: %[[NW:.*]] = arith.muli %[[BN]], %[[BW]] : index
// CHECK-NEXT: %[[BAT:.*]] = arith.muli %[[SCAN]]#4, %[[NW]] : index
// CHECK-NEXT: memref.reinterpret_cast %[[BA]] to offset: [%[[BAT]]], sizes: [%[[BN]], %[[BW]]], strides: [%[[BW]], 1] : memref<?x?x?xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
func.func @grouped_windows(%splits: memref<?xi64>,
    %ad: memref<?x?xi8>, %as: memref<?x?xf8E4M3FN>, %aa: memref<?x?xf32>,
    %bd: memref<?x?x?xi8>, %bs: memref<?x?x?xf8E4M3FN>, %ba: memref<?x?x?xf32>,
    %d: memref<?x?xf32>) {
  nvfp4.grouped_matmul splits(%splits : memref<?xi64>)
      a(%ad : memref<?x?xi8>, %as : memref<?x?xf8E4M3FN>, %aa : memref<?x?xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<?x?x?xi8>, %bs : memref<?x?x?xf8E4M3FN>, %ba : memref<?x?x?xf32>)
        recipe <local_1x64, sf_layout = 128x4>
      outs(%d : memref<?x?xf32>) {alpha = 0.5 : f32}
  return
}
