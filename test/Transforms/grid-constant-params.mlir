// RUN: nvfp4-opt %s -split-input-file -verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(gpu.module(gpu.func(nvfp4-tensor-map-params),convert-gpu-to-nvvm,llvm.func(nvfp4-grid-constant-params)))' \
// RUN:   | FileCheck %s
// RUN: nvfp4-opt %s -split-input-file -verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(gpu.module(gpu.func(nvfp4-tensor-map-params)))' \
// RUN:   | FileCheck %s --check-prefix=PARAMS

// A tensor map after two memrefs (rank 2 and rank 1: 7 and 5 lowered
// parameters) and an i32 becomes parameter 13, passed by value as a grid
// constant with the 128-byte alignment of CUDA 13's CUtensorMap; the second
// map (a second box over the same operand) is parameter 14. The other parameters keep their attributes (none),
// and the list the first pass recorded is gone.
// PARAMS-LABEL: gpu.func @two_maps
// PARAMS-SAME: nvfp4.grid_constant_params = array<i32: 13, 14>
// CHECK-LABEL: llvm.func @two_maps(
// CHECK-SAME: %{{[^:]+}}: i32, %{{[^:]+}}: !llvm.ptr {llvm.align = 128 : i64, llvm.byval = !llvm.array<16 x i64>, nvvm.grid_constant}, %{{[^:]+}}: !llvm.ptr {llvm.align = 128 : i64, llvm.byval = !llvm.array<16 x i64>, nvvm.grid_constant})
// CHECK-NOT: nvfp4.grid_constant_params
// CHECK-SAME: nvfp4.tensor_maps = [#nvfp4.tensor_map<arg = 3, operand = 0, box = [32, 128], swizzle = 32>, #nvfp4.tensor_map<arg = 4, operand = 0, box = [32, 64], swizzle = 0>]
gpu.module @kernels {
  gpu.func @two_maps(%a: memref<?x64xi8>, %b: memref<?xi8>, %n: i32,
                     %amap: !llvm.ptr, %bmap: !llvm.ptr) kernel attributes {
      nvfp4.tensor_maps = [
        #nvfp4.tensor_map<arg = 3, operand = 0, box = [32, 128], swizzle = 32>,
        #nvfp4.tensor_map<arg = 4, operand = 0, box = [32, 64], swizzle = 0>]} {
    gpu.return
  }
}

// -----

// Kernels without tensor maps are left alone.
// CHECK-LABEL: llvm.func @no_maps(
// CHECK-SAME: %{{[^:]+}}: !llvm.ptr) attributes
// CHECK-NOT: nvvm.grid_constant
// PARAMS-LABEL: gpu.func @no_maps
// PARAMS-NOT: nvfp4.grid_constant_params
gpu.module @kernels {
  gpu.func @no_maps(%p: !llvm.ptr) kernel {
    gpu.return
  }
}

// -----

gpu.module @kernels {
  // expected-error @below {{expected tensor map argument 0 to be an !llvm.ptr argument of the kernel}}
  gpu.func @not_a_pointer(%a: memref<?x64xi8>) kernel attributes {
      nvfp4.tensor_maps = [
        #nvfp4.tensor_map<arg = 0, operand = 0, box = [32, 128], swizzle = 32>]} {
    gpu.return
  }
}

// -----

gpu.module @kernels {
  // expected-error @below {{expected 'nvfp4.tensor_maps' to hold #nvfp4.tensor_map attributes, got 3 : i64}}
  gpu.func @not_a_map(%m: !llvm.ptr) kernel attributes {
      nvfp4.tensor_maps = [3]} {
    gpu.return
  }
}

// -----

gpu.module @kernels {
  // expected-error @below {{expected 'nvfp4.tensor_maps' to be an array of #nvfp4.tensor_map, got 3 : i64}}
  gpu.func @not_an_array(%m: !llvm.ptr) kernel attributes {
      nvfp4.tensor_maps = 3} {
    gpu.return
  }
}

// -----

gpu.module @kernels {
  // expected-error @below {{expected 'nvfp4.tensor_maps' only on a kernel}}
  gpu.func @not_a_kernel(%a: memref<?x64xi8>, %m: !llvm.ptr) attributes {
      nvfp4.tensor_maps = [
        #nvfp4.tensor_map<arg = 1, operand = 0, box = [32, 128], swizzle = 32>]} {
    gpu.return
  }
}

// -----

gpu.module @kernels {
  // expected-error @below {{expected one tensor map per argument, got two for argument 1}}
  gpu.func @two_for_one(%a: memref<?x64xi8>, %m: !llvm.ptr) kernel attributes {
      nvfp4.tensor_maps = [
        #nvfp4.tensor_map<arg = 1, operand = 0, box = [32, 128], swizzle = 32>,
        #nvfp4.tensor_map<arg = 1, operand = 0, box = [32, 64], swizzle = 32>]} {
    gpu.return
  }
}

// -----

// The map views a 2-D byte matrix (of i8, or of 16-bit floats): an operand
// past the arguments, a 1-D memref and a memref of another element type are
// refused.
gpu.module @kernels {
  // expected-error @below {{expected tensor map operand 9 to be a 2-D memref of i8, f16 or bf16, an argument of the kernel}}
  gpu.func @operand_out_of_range(%a: memref<?x64xi8>, %m: !llvm.ptr) kernel attributes {
      nvfp4.tensor_maps = [
        #nvfp4.tensor_map<arg = 1, operand = 9, box = [32, 128], swizzle = 32>]} {
    gpu.return
  }
}

// -----

gpu.module @kernels {
  // expected-error @below {{expected tensor map operand 0 to be a 2-D memref of i8, f16 or bf16, an argument of the kernel}}
  gpu.func @operand_rank_one(%a: memref<?xi8>, %m: !llvm.ptr) kernel attributes {
      nvfp4.tensor_maps = [
        #nvfp4.tensor_map<arg = 1, operand = 0, box = [32, 128], swizzle = 32>]} {
    gpu.return
  }
}

// -----

gpu.module @kernels {
  // expected-error @below {{expected tensor map operand 0 to be a 2-D memref of i8, f16 or bf16, an argument of the kernel}}
  gpu.func @operand_not_bytes(%a: memref<?x64xf32>, %m: !llvm.ptr) kernel attributes {
      nvfp4.tensor_maps = [
        #nvfp4.tensor_map<arg = 1, operand = 0, box = [32, 128], swizzle = 32>]} {
    gpu.return
  }
}
