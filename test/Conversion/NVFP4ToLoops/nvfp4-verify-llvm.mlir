// RUN: nvfp4-opt %s -split-input-file -nvfp4-verify-llvm -verify-diagnostics
// RUN: rm -f %t
// RUN: not nvfp4-opt %s -split-input-file --nvfp4-to-cpu -o %t 2>&1 | FileCheck %s --check-prefix=PIPELINE
// RUN: not test -e %t

// A module entirely in the LLVM dialect is what nvfp4-to-cpu promises.
llvm.func @lowered(%x: !llvm.ptr) {
  llvm.return
}

// -----

// An upstream conversion that cannot convert a type reports an error but
// leaves the op in place: finalize-memref-to-llvm has no address space for
// workgroup memory, so func-to-llvm cannot convert this signature and the
// pipeline used to exit 0 with this half-lowered function in its output.
// PIPELINE: error: 'func.func' op was not lowered to the LLVM dialect
// expected-error @below {{'func.func' op was not lowered to the LLVM dialect}}
func.func @workgroup_argument(%a: memref<4xf32, #gpu.address_space<workgroup>>) {
  %c0 = arith.constant 0 : index
  %v = memref.load %a[%c0] : memref<4xf32, #gpu.address_space<workgroup>>
  return
}
