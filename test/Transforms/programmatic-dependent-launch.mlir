// RUN: nvfp4-opt %s -split-input-file \
// RUN:   --pass-pipeline='builtin.module(gpu.module(gpu.func(nvfp4-programmatic-dependent-launch)))' \
// RUN:   | FileCheck %s

// The wait goes before the first op that may touch memory; ids and index
// arithmetic stay ahead of it. The trigger follows the wait, and the kernel
// is marked for the runtime.
// CHECK-LABEL: gpu.func @load_first
// CHECK-SAME: kernel attributes {nvfp4.pdl}
// CHECK-NEXT: %[[TID:.*]] = gpu.thread_id x
// CHECK-NEXT: %[[I:.*]] = arith.addi %[[TID]], %[[TID]] : index
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: memref.load %{{.*}}[%[[I]]]
// CHECK-NOT: nvvm.griddepcontrol
gpu.module @kernels {
  gpu.func @load_first(%x: memref<?xf32>, %y: memref<?xf32>) kernel {
    %tid = gpu.thread_id x
    %i = arith.addi %tid, %tid : index
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %y[%i] : memref<?xf32>
    gpu.return
  }
}

// -----

// An op whose region touches memory counts as touching memory: the wait
// precedes the scf.if, not the store inside it.
// CHECK-LABEL: gpu.func @store_in_region
// CHECK: %[[COND:.*]] = arith.cmpi
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: scf.if %[[COND]]
// CHECK-NEXT: memref.store
gpu.module @kernels {
  gpu.func @store_in_region(%y: memref<?xf32>) kernel {
    %c0 = arith.constant 0 : index
    %zero = arith.constant 0.0 : f32
    %tid = gpu.thread_id x
    %first = arith.cmpi eq, %tid, %c0 : index
    scf.if %first {
      memref.store %zero, %y[%c0] : memref<?xf32>
    }
    gpu.return
  }
}

// -----

// A kernel that touches no memory still waits before it returns: it must
// not complete before its predecessor, or a kernel waiting on it would
// read that predecessor's outputs early.
// CHECK-LABEL: gpu.func @no_memory
// CHECK-NEXT: gpu.thread_id x
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: gpu.return
gpu.module @kernels {
  gpu.func @no_memory() kernel {
    %tid = gpu.thread_id x
    gpu.return
  }
}

// -----

// Functions that are not kernels, and kernels already marked, are left
// alone.
// CHECK-LABEL: gpu.func @helper
// CHECK-NOT: nvvm.griddepcontrol
// CHECK-NOT: nvfp4.pdl
// CHECK-LABEL: gpu.func @marked
// CHECK-SAME: kernel attributes {nvfp4.pdl}
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: gpu.return
gpu.module @kernels {
  gpu.func @helper(%x: memref<?xf32>) -> f32 {
    %c0 = arith.constant 0 : index
    %v = memref.load %x[%c0] : memref<?xf32>
    gpu.return %v : f32
  }
  gpu.func @marked() kernel attributes {nvfp4.pdl} {
    nvvm.griddepcontrol wait
    nvvm.griddepcontrol launch_dependents
    gpu.return
  }
}
