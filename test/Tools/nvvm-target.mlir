// RUN: nvfp4-opt %s --nvvm-attach-target="chip=sm_90a features=+ptx88" --convert-gpu-to-nvvm --reconcile-unrealized-casts --gpu-module-to-binary="format=isa" | FileCheck %s

// The NVVM target interface and the LLVM IR translations are registered:
// without them gpu-module-to-binary fails at run time. `isa` needs no ptxas.
// CHECK: gpu.binary @kernels
// CHECK-SAME: .target sm_90a
gpu.module @kernels {
  gpu.func @copy(%in: memref<16xf32>, %out: memref<16xf32>) kernel {
    %i = gpu.thread_id x
    %v = memref.load %in[%i] : memref<16xf32>
    memref.store %v, %out[%i] : memref<16xf32>
    gpu.return
  }
}
