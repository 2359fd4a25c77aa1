// REQUIRES: ptxas
// RUN: nvfp4-opt %s --nvvm-attach-target="chip=sm_90a features=+ptx88" --convert-gpu-to-nvvm --reconcile-unrealized-casts --gpu-module-to-binary="format=bin toolkit=%cuda_toolkit" | FileCheck %s

// With a CUDA toolkit, gpu-module-to-binary assembles with ptxas into a
// cubin (an ELF object) in process.
// CHECK: gpu.binary @kernels
// CHECK-SAME: bin = "\7FELF
gpu.module @kernels {
  gpu.func @copy(%in: memref<16xf32>, %out: memref<16xf32>) kernel {
    %i = gpu.thread_id x
    %v = memref.load %in[%i] : memref<16xf32>
    memref.store %v, %out[%i] : memref<16xf32>
    gpu.return
  }
}
