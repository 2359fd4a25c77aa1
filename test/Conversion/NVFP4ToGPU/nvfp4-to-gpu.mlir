// RUN: nvfp4-opt %s -nvfp4-to-gpu -split-input-file | FileCheck %s

// Per-token rowwise: one fused kernel, a thread block per row: the block
// reduces the row's amax (every thread gets it from the all_reduce; thread
// 0 stores it), then its threads encode the row's 16-blocks with that
// value, so the row is read from DRAM once.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: func.func @per_token
// CHECK-NOT: nvfp4.quantize
// CHECK: gpu.launch_func @nvfp4_kernels::@per_token_q0_0_rowwise_amax_encode
// CHECK-SAME: threads in (%{{.*}}, %{{.*}}, %{{.*}})
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.module @nvfp4_kernels
// CHECK: gpu.func @per_token_q0_0_rowwise_amax_encode
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 256, 1, 1>, nvfp4.direction = "rowwise", nvfp4.work = "row_ctas"}
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[BDIM:.*]] = gpu.block_dim x
// CHECK: %[[MAX:.*]] = scf.if %{{.*}} -> (f32) {
// CHECK: %[[RED:.*]] = gpu.all_reduce maxnumf
// CHECK: memref.store %[[RED]], %{{.*}} : memref<?xf32>
// CHECK: scf.yield %[[RED]] : f32
// CHECK: scf.for %{{.*}} = %[[TID]] to %{{.*}} step %[[BDIM]] {
// CHECK: vector.load %{{.*}} {alignment = 32 : i64} : memref<?x64xbf16>, vector<16xbf16>
// CHECK-NOT: memref.load %{{.*}} : memref<?xf32>
// CHECK: arith.divf %{{.*}}, %[[MAX]]
// CHECK: nvvm.convert.f32x2.to.f8x2
func.func @per_token(%x: memref<?x64xbf16>, %d: memref<?x32xi8>,
                     %s: memref<?x4xf8E4M3FN>, %a: memref<?xf32>) {
  nvfp4.quantize %x : memref<?x64xbf16> recipe <per_token>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

// Per-tensor, both directions, swizzled: zero both directions' padded
// scales, reset both amaxes, then two tile kernels (a thread block per
// strip of four 64 x 64 tiles along K, each staged once in shared memory
// while the next one's loads are in flight): one folds the strip into both
// amaxes (one integer atomic max per block and direction, skipped when it
// would not raise the amax; without a transform both directions see the
// same |x|), one encodes each tile rowwise (vector reads of the tile's rows)
// and columnwise (16 scalar reads down a column).
// CHECK-LABEL: func.func @both
// CHECK: @both_q0_0_rowwise_zero
// CHECK: @both_q0_1_columnwise_zero
// CHECK: @both_q0_2_rowwise_amax_init
// CHECK: @both_q0_3_columnwise_amax_init
// CHECK: @both_q0_4_both_amax
// CHECK: @both_q0_5_both_encode
// CHECK: gpu.func @both_q0_4_both_amax
// CHECK-SAME: workgroup(%[[TILE:.*]] : memref<64x64xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: nvfp4.direction = "both", nvfp4.work = "tiles"
// CHECK: vector.load %arg0[{{.*}}] {alignment = 64 : i64} : memref<32x64xf32>, vector<16xf32>
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c4{{.*}} step %c1{{.*}} iter_args(%[[PENDING:.*]] = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<16xf32>, f32, f32)
// CHECK: gpu.barrier
// CHECK: vector.store %[[PENDING]], %[[TILE]][{{.*}}] {alignment = 16 : i64}
// CHECK: gpu.barrier
// CHECK: vector.load %arg0
// CHECK: vector.load %[[TILE]]
// CHECK: %[[A:.*]] = gpu.all_reduce maxnumf
// CHECK: %[[OLD:.*]] = memref.load %arg3
// CHECK: arith.cmpf ogt, %[[A]], %[[OLD]]
// CHECK: %[[BITS:.*]] = arith.bitcast %[[A]] : f32 to i32
// CHECK: llvm.atomicrmw umax %{{.*}}, %[[BITS]] syncscope("device") monotonic
// CHECK: memref.load %arg6
// CHECK: llvm.atomicrmw umax
// CHECK: gpu.func @both_q0_5_both_encode
// CHECK: gpu.barrier
// CHECK: vector.load %[[TILE2:.*]][{{.*}}] {alignment = 16 : i64} : memref<64x64xf32, #gpu.address_space<workgroup>>
// CHECK: vector.store %{{.*}}, %arg1
// CHECK-COUNT-16: memref.load %[[TILE2]]
// The columnwise results pass through shared memory so that four
// neighbouring lanes store the 32 contiguous bytes of a row of X^T.
// CHECK: vector.store %{{.*}}, %[[OUT:.*]][{{.*}}] {alignment = 8 : i64} : memref<64x32xi8, #gpu.address_space<workgroup>>, vector<8xi8>
// CHECK: gpu.barrier
// CHECK: vector.load %[[OUT]]
// CHECK: vector.store %{{.*}}, %arg4
// CHECK-NOT: gpu.func @both
func.func @both(%x: memref<32x64xf32>,
    %d: memref<32x32xi8>, %s: memref<128x4xf8E4M3FN>, %a: memref<1xf32>,
    %dt: memref<64x16xi8>, %st: memref<128x4xf8E4M3FN>, %at: memref<1xf32>) {
  nvfp4.quantize %x : memref<32x64xf32>
      recipe <per_tensor, directions = [rowwise, columnwise], sf_layout = 128x4>
      rowwise(%d : memref<32x32xi8>, %s : memref<128x4xf8E4M3FN>, %a : memref<1xf32>)
      columnwise(%dt : memref<64x16xi8>, %st : memref<128x4xf8E4M3FN>, %at : memref<1xf32>)
  return
}

// -----

// Grouped per-tensor, swizzled: still one launch per kernel over all
// groups. Each kernel walks the splits to find the group owning its id
// (thread id, or block id for the CTA-per-row amax), rebases the id and
// runs the ungrouped body for that group; the amax is the group's own.
// The encode grid is sized for one ragged tile per group at most.
// CHECK-LABEL: func.func @grouped
// CHECK-NOT: nvfp4.grouped_quantize
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_q0_0_rowwise_zero
// CHECK: %[[G:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?xi64>
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_q0_1_rowwise_amax_init
// CHECK-SAME: args(%{{.*}} : memref<?x64xbf16>, %{{.*}} : memref<?xi64>,
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_q0_2_rowwise_amax
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_q0_3_rowwise_encode
// CHECK: gpu.func @grouped_q0_1_rowwise_amax_init
// CHECK-SAME: nvfp4.work = "one"
// CHECK: %[[GID:.*]] = gpu.global_id x
// CHECK: %[[FOUND:.*]]:9 = scf.for %[[GI:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(
// CHECK: memref.load %{{.*}}[%[[GI]]] : memref<?xi64>
// CHECK: arith.cmpi uge, %[[GID]]
// CHECK: arith.cmpi ult, %[[GID]]
// CHECK: scf.if %[[FOUND]]#3 {
// CHECK: arith.subi %[[GID]], %[[FOUND]]#5
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[FOUND]]#4] : memref<?xf32>
// CHECK: gpu.func @grouped_q0_2_rowwise_amax
// CHECK-SAME: nvfp4.work = "row_ctas"
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: scf.for
// CHECK: arith.cmpi uge, %[[BID]]
// CHECK: gpu.all_reduce maxnumf
// CHECK: llvm.atomicrmw umax
// CHECK: gpu.func @grouped_q0_3_rowwise_encode
// CHECK: memref.load %{{.*}} : memref<?xi64>
func.func @grouped(%x: memref<?x64xbf16>, %s: memref<?xi64>, %d: memref<?x32xi8>,
                   %sf: memref<?x4xf8E4M3FN>, %a: memref<?xf32>) {
  nvfp4.grouped_quantize %x : memref<?x64xbf16> splits(%s : memref<?xi64>)
      recipe <per_tensor, sf_layout = 128x4>
      rowwise(%d : memref<?x32xi8>, %sf : memref<?x4xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

// Grouped columnwise per-row: (G, K) amaxes reset by G*K threads, then a
// thread per block of each group folds into its group's row.
// CHECK-LABEL: func.func @grouped_columnwise
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_columnwise_q0_0_columnwise_amax_init
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_columnwise_q0_1_columnwise_amax
// CHECK: gpu.launch_func @nvfp4_kernels::@grouped_columnwise_q0_2_columnwise_encode
// CHECK: gpu.func @grouped_columnwise_q0_0_columnwise_amax_init
// CHECK-SAME: nvfp4.direction = "columnwise", nvfp4.work = "rows"
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}#4, %{{.*}}] : memref<?x64xf32>
// CHECK: gpu.func @grouped_columnwise_q0_1_columnwise_amax
// CHECK-SAME: nvfp4.work = "row_blocks"
// CHECK: memref.load %{{.*}}[%{{.*}}#4, %{{.*}}] : memref<?x64xf32>
// CHECK: llvm.atomicrmw umax
func.func @grouped_columnwise(%x: memref<?x64xbf16>, %s: memref<?xi64>,
    %dt: memref<64x?xi8>, %st: memref<64x?xf8E4M3FN>, %at: memref<?x64xf32>) {
  nvfp4.grouped_quantize %x : memref<?x64xbf16> splits(%s : memref<?xi64>)
      recipe <per_token, directions = [columnwise]>
      columnwise(%dt : memref<64x?xi8>, %st : memref<64x?xf8E4M3FN>, %at : memref<?x64xf32>)
  return
}

// -----

// Dequantize: one kernel, a thread per 16-block of the output, operands in
// op order (data, scale, amax, output).
// CHECK-LABEL: func.func @dequantize
// CHECK-NOT: nvfp4.dequantize
// CHECK: gpu.launch_func @nvfp4_kernels::@dequantize_q0_0_dequantize
// CHECK-SAME: args(%{{.*}} : memref<?x32xi8>, %{{.*}} : memref<?x4xf8E4M3FN>, %{{.*}} : memref<?xf32>, %{{.*}} : memref<?x64xbf16>)
// CHECK: gpu.func @dequantize_q0_0_dequantize
// CHECK-SAME: nvfp4.work = "row_blocks"
// CHECK: gpu.global_id x
// CHECK: memref.load %{{.*}} : memref<?xf32>
// CHECK-COUNT-16: memref.store %{{.*}} : memref<?x64xbf16>
func.func @dequantize(%d: memref<?x32xi8>, %s: memref<?x4xf8E4M3FN>,
                      %a: memref<?xf32>, %y: memref<?x64xbf16>) {
  nvfp4.dequantize %d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<?xf32>
      recipe <per_token> to %y : memref<?x64xbf16>
  return
}

// -----

// Per-token, both directions: the amax tile kernel folds each tile
// column's max (four warps, through shared memory) into its column, one
// atomic per tile, and each strip row's max (a thread's blocks over the
// strip, then four neighbouring lanes, a butterfly of shuffles) into its
// row, one atomic per strip.
// CHECK-LABEL: func.func @both_per_row
// CHECK: gpu.launch_func @nvfp4_kernels::@both_per_row_q0_0_rowwise_amax_init
// CHECK: gpu.launch_func @nvfp4_kernels::@both_per_row_q0_1_columnwise_amax_init
// CHECK: gpu.launch_func @nvfp4_kernels::@both_per_row_q0_2_both_amax
// CHECK: gpu.launch_func @nvfp4_kernels::@both_per_row_q0_3_both_encode
// CHECK: gpu.func @both_per_row_q0_2_both_amax
// CHECK-SAME: workgroup(%{{.*}} : memref<64x64xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[EX:.*]] : memref<4x64xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.store %{{.*}}, %[[EX]]
// CHECK: gpu.barrier
// CHECK-COUNT-4: memref.load %[[EX]]
// CHECK: memref.load %arg6[
// CHECK: llvm.atomicrmw umax
// CHECK: gpu.shuffle  xor
// CHECK: gpu.shuffle  xor
// CHECK: memref.load %arg3[
// CHECK: llvm.atomicrmw umax
func.func @both_per_row(%x: memref<?x64xbf16>,
    %d: memref<?x32xi8>, %s: memref<?x4xf8E4M3FN>, %a: memref<?xf32>,
    %dt: memref<64x?xi8>, %st: memref<64x?xf8E4M3FN>, %at: memref<64xf32>) {
  nvfp4.quantize %x : memref<?x64xbf16>
      recipe <per_token, directions = [rowwise, columnwise]>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<?xf32>)
      columnwise(%dt : memref<64x?xi8>, %st : memref<64x?xf8E4M3FN>, %at : memref<64xf32>)
  return
}

// -----

// 1x64 windows, both directions: a window lies in one tile, so a single
// kernel reads X once, reduces and stores both directions' window amaxes
// and encodes with them.
// CHECK-LABEL: func.func @both_windows
// CHECK: gpu.launch_func @nvfp4_kernels::@both_windows_q0_0_both_encode
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.func @both_windows_q0_0_both_encode
// CHECK: gpu.shuffle  xor
// CHECK: gpu.shuffle  xor
// CHECK: memref.store %{{.*}}, %arg3[
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %arg6[
func.func @both_windows(%x: memref<128x128xf16>,
    %d: memref<128x64xi8>, %s: memref<128x8xf8E4M3FN>, %a: memref<128x2xf32>,
    %dt: memref<128x64xi8>, %st: memref<128x8xf8E4M3FN>, %at: memref<128x2xf32>) {
  nvfp4.quantize %x : memref<128x128xf16>
      recipe <local_1x64, directions = [rowwise, columnwise]>
      rowwise(%d : memref<128x64xi8>, %s : memref<128x8xf8E4M3FN>, %a : memref<128x2xf32>)
      columnwise(%dt : memref<128x64xi8>, %st : memref<128x8xf8E4M3FN>, %at : memref<128x2xf32>)
  return
}

// -----

// RHT: the columnwise amax is max |RHT(x)|, reduced separately; the
// transform runs on the tile's column blocks (16 scalar reads, then the
// 16-point transform), once per block in each kernel.
// CHECK-LABEL: func.func @both_rht
// CHECK: gpu.func @both_rht_q0_2_both_amax
// CHECK: gpu.all_reduce maxnumf
// CHECK: gpu.all_reduce maxnumf
// CHECK: llvm.atomicrmw umax
// CHECK: llvm.atomicrmw umax
func.func @both_rht(%x: memref<64x64xbf16>,
    %d: memref<64x32xi8>, %s: memref<64x4xf8E4M3FN>, %a: memref<1xf32>,
    %dt: memref<64x32xi8>, %st: memref<64x4xf8E4M3FN>, %at: memref<1xf32>) {
  nvfp4.quantize %x : memref<64x64xbf16>
      recipe <per_tensor_rht>
      rowwise(%d : memref<64x32xi8>, %s : memref<64x4xf8E4M3FN>, %a : memref<1xf32>)
      columnwise(%dt : memref<64x32xi8>, %st : memref<64x4xf8E4M3FN>, %at : memref<1xf32>)
  return
}

// -----

// Per-tensor with a given amax: one launch, the encode, which reads the
// amax operand; no amax_init or amax pass (three launches without it).
// CHECK-LABEL: func.func @given_per_tensor
// CHECK: gpu.launch_func @nvfp4_kernels::@given_per_tensor_q0_0_rowwise_encode
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.func @given_per_tensor_q0_0_rowwise_encode
// CHECK-SAME: nvfp4.work = "row_block_quads"
// CHECK: memref.load %arg3[%{{.*}}] : memref<1xf32>
// CHECK-NOT: memref.store %{{.*}}, %arg3
// CHECK: gpu.return
func.func @given_per_tensor(%x: memref<?x64xbf16>, %d: memref<?x32xi8>,
                            %s: memref<?x4xf8E4M3FN>, %a: memref<1xf32>) {
  nvfp4.quantize %x : memref<?x64xbf16> recipe <per_tensor, amax = given>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

// Per-token with a given amax: the encode alone, reading each row's amax
// (the fused amax_encode kernel computes it otherwise).
// CHECK-LABEL: func.func @given_per_token
// CHECK: gpu.launch_func @nvfp4_kernels::@given_per_token_q0_0_rowwise_encode
// CHECK-NOT: gpu.launch_func
// CHECK-NOT: gpu.all_reduce
func.func @given_per_token(%x: memref<?x64xbf16>, %d: memref<?x32xi8>,
                           %s: memref<?x4xf8E4M3FN>, %a: memref<?xf32>) {
  nvfp4.quantize %x : memref<?x64xbf16> recipe <per_token, amax = given>
      rowwise(%d : memref<?x32xi8>, %s : memref<?x4xf8E4M3FN>, %a : memref<?xf32>)
  return
}

// -----

// Both directions from tiles with a given amax: zero kernels (swizzled),
// then the tile encode alone (no amax_init, no amax tile pass).
// CHECK-LABEL: func.func @given_both
// CHECK: @given_both_q0_0_rowwise_zero
// CHECK: @given_both_q0_1_columnwise_zero
// CHECK: @given_both_q0_2_both_encode
// CHECK-NOT: gpu.launch_func
func.func @given_both(%x: memref<32x64xf32>, %d: memref<32x32xi8>,
                      %s: memref<128x4xf8E4M3FN>, %a: memref<1xf32>,
                      %dt: memref<64x16xi8>, %st: memref<128x4xf8E4M3FN>,
                      %at: memref<1xf32>) {
  nvfp4.quantize %x : memref<32x64xf32> recipe <per_tensor, directions = [rowwise, columnwise], sf_layout = 128x4, amax = given>
      rowwise(%d : memref<32x32xi8>, %s : memref<128x4xf8E4M3FN>, %a : memref<1xf32>)
      columnwise(%dt : memref<64x16xi8>, %st : memref<128x4xf8E4M3FN>, %at : memref<1xf32>)
  return
}

// -----

// nvfp4.amax: the quantize's amax kernels only (per-token rowwise: a thread
// block per row; per-tensor: reset, then the atomic pass), no encode.
// CHECK-LABEL: func.func @amax_only
// CHECK: gpu.launch_func @nvfp4_kernels::@amax_only_q0_0_rowwise_amax
// CHECK-SAME: args(%{{.*}} : memref<?x64xbf16>, %{{.*}} : memref<?xf32>)
// CHECK: gpu.launch_func @nvfp4_kernels::@amax_only_q1_0_rowwise_amax_init
// CHECK: gpu.launch_func @nvfp4_kernels::@amax_only_q1_1_rowwise_amax
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.func @amax_only_q0_0_rowwise_amax
// CHECK-SAME: nvfp4.work = "row_ctas"
// CHECK-NOT: encode
func.func @amax_only(%x: memref<?x64xbf16>, %a: memref<?xf32>, %t: memref<1xf32>) {
  nvfp4.amax %x : memref<?x64xbf16> recipe <per_token> rowwise(%a : memref<?xf32>)
  nvfp4.amax %x : memref<?x64xbf16> recipe <per_tensor> rowwise(%t : memref<1xf32>)
  return
}
