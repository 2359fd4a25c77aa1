// RUN: not nvfp4-opt %s -nvfp4-to-gpu="chip=gfx942" -split-input-file 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not nvfp4-opt %s -nvfp4-to-gpu="chip=sm_101a" -split-input-file 2>&1 | FileCheck %s --check-prefix=CHIP101
// RUN: nvfp4-opt %s -nvfp4-to-gpu="chip=sm_75" -split-input-file -verify-diagnostics

// A chip outside the table of include/nvfp4/Conversion/Chips.h, whatever
// the module holds (test/Target/ptx-chips.test walks the whole table).
// CHIP: error: unsupported chip 'gfx942', expected one of sm_75, sm_80, {{.*}}, sm_121f
// sm_101 is sm_110 since PTX 9.0; CUDA 13's ptxas assembles no sm_101.
// CHIP101: error: unsupported chip 'sm_101a', expected one of {{.*}}sm_100f, sm_103,{{.*}}

// Every nvfp4 op has a GPU lowering (nvfp4.grouped_matmul in
// nvfp4-to-gpu-grouped-matmul.mlir); besides the chip, the pass rejects
// only a GEMM on a chip without the mma.sync its kernels use.
func.func @empty() {
  return
}

// -----

// sm_75 quantizes, but has no m16n8k16 f16 mma.sync.
func.func @matmul_sm75(%a: memref<32x64xi8>, %a_scale: memref<128x8xf8E4M3FN>,
                       %a_amax: memref<1xf32>, %b: memref<16x64xi8>,
                       %b_scale: memref<128x8xf8E4M3FN>, %b_amax: memref<1xf32>,
                       %d: memref<32x16xf32>) {
  // expected-error @below {{'nvfp4.matmul' op needs mma.sync.m16n8k16 with f16 operands (sm_80 or later), got chip 'sm_75'}}
  nvfp4.matmul
      a(%a : memref<32x64xi8>, %a_scale : memref<128x8xf8E4M3FN>,
        %a_amax : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%b : memref<16x64xi8>, %b_scale : memref<128x8xf8E4M3FN>,
        %b_amax : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%d : memref<32x16xf32>) {alpha = 1.0 : f32}
  return
}
