// RUN: nvfp4-opt %s -split-input-file -verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(llvm.func(nvfp4-grid-constant-params))'

// The second pass checks the recorded indices against the lowered function.
// expected-error @below {{expected grid-constant parameter 1 to be a pointer parameter}}
llvm.func @not_a_pointer(%p: !llvm.ptr, %n: i32) attributes {
    nvfp4.grid_constant_params = array<i32: 1>} {
  llvm.return
}

// -----

// expected-error @below {{expected grid-constant parameter 2 to be a pointer parameter}}
llvm.func @out_of_range(%p: !llvm.ptr) attributes {
    nvfp4.grid_constant_params = array<i32: 2>} {
  llvm.return
}
