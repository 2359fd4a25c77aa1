// RUN: nvfp4-opt %s --nvfp4-to-cpu | FileCheck %s
// RUN: nvfp4-opt %s --nvfp4-to-cpu --dump-pass-pipeline 2>&1 >/dev/null | FileCheck %s --check-prefix=PIPELINE

// The CPU pipeline ends in the LLVM dialect, with a C-interface wrapper for
// the ExecutionEngine.
// CHECK-NOT: nvfp4.
// CHECK-NOT: scf.
// CHECK-NOT: memref.
// CHECK: llvm.func @quantize
// CHECK: llvm.func @_mlir_ciface_quantize
// CHECK: llvm.func @matmul
// CHECK: llvm.intr.vector.reduce.fadd
// CHECK: llvm.func @_mlir_ciface_matmul
func.func @quantize(%x: memref<?x?xbf16>, %d: memref<?x?xi8>,
                    %s: memref<?x?xf8E4M3FN>, %a: memref<?x?xf32>)
    attributes {llvm.emit_c_interface} {
  nvfp4.quantize %x : memref<?x?xbf16> recipe <local_1x64, sf_layout = 128x4>
      rowwise(%d : memref<?x?xi8>, %s : memref<?x?xf8E4M3FN>, %a : memref<?x?xf32>)
  return
}

// GEMMs lower through the same pipeline (their lanes are LLVM vectors).
func.func @matmul(%ad: memref<?x?xi8>, %as: memref<?x?xf8E4M3FN>, %aa: memref<?x?xf32>,
    %bd: memref<?x?xi8>, %bs: memref<?x?xf8E4M3FN>, %ba: memref<?xf32>,
    %bias: memref<?xf32>, %out: memref<?x?xbf16>)
    attributes {llvm.emit_c_interface} {
  nvfp4.matmul
      a(%ad : memref<?x?xi8>, %as : memref<?x?xf8E4M3FN>, %aa : memref<?x?xf32>) recipe <local_1x64, sf_layout = 128x4>
      b(%bd : memref<?x?xi8>, %bs : memref<?x?xf8E4M3FN>, %ba : memref<?xf32>) recipe <per_token, sf_layout = 128x4>
      bias(%bias : memref<?xf32>) outs(%out : memref<?x?xbf16>) {alpha = 0.5 : f32}
  return
}

// The stages, in order, as the C++ pipeline builder assembles them.
// PIPELINE: builtin.module(
// PIPELINE-NEXT: nvfp4-fuse-producers
// PIPELINE-NEXT: nvfp4-expand
// PIPELINE-NEXT: canonicalize
// PIPELINE-NEXT: cse
// PIPELINE-NEXT: loop-invariant-code-motion
// PIPELINE-NEXT: convert-scf-to-cf
// PIPELINE-NEXT: convert-vector-to-llvm
// PIPELINE-NEXT: convert-arith-to-llvm
// PIPELINE-NEXT: convert-index-to-llvm
// PIPELINE-NEXT: finalize-memref-to-llvm
// PIPELINE-NEXT: convert-cf-to-llvm
// PIPELINE-NEXT: convert-func-to-llvm
// PIPELINE-NEXT: reconcile-unrealized-casts
