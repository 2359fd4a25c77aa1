// RUN: nvfp4-opt %s --nvfp4-to-ptx="chip=sm_90a format=isa" | %python %S/extract-ptx.py | FileCheck %s

// sm_90a has no FP4 conversion: E2M1 codes come from the portable integer
// sequence, E4M3 scales from cvt.rn.satfinite.e4m3x2 (sm_89+). Products
// and sums are .rn forms, so ptxas cannot contract them into FMAs. The only
// FMAs are the E2M1 rounding sums RN(2^E * (2^23 - 127) + c), exact by
// design, with the constant 2^23 - 127 (0f4AFFFF02); a contraction would
// have four registers. The codes' signs come two at a time from
// cvt.rn.bf16x2.f32 and min.bf16x2 (the e2m1SignWord leaf).
// CHECK: .target sm_90a
// CHECK-DAG: .entry per_token_q0_0_rowwise_amax_encode
// CHECK-DAG: cvt.rn.satfinite.e4m3x2.f32
// CHECK-DAG: mul.rn.f32
// CHECK-DAG: div.rn.f32
// CHECK-DAG: fma.rn.f32 %r{{[0-9]+}}, %r{{[0-9]+}}, 0f4AFFFF02, %r{{[0-9]+}};
// CHECK-DAG: cvt.rn.bf16x2.f32
// CHECK-DAG: min.bf16x2
// CHECK-NOT: e2m1x2
// CHECK-NOT: {{fma|mad}}.{{[a-z0-9.]+}} %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}};
func.func @per_token(%x: memref<?x4096xbf16>, %d: memref<?x2048xi8>,
                     %s: memref<?x256xf8E4M3FN>, %a: memref<?xf32>) {
  nvfp4.quantize %x : memref<?x4096xbf16> recipe <per_token>
      rowwise(%d : memref<?x2048xi8>, %s : memref<?x256xf8E4M3FN>, %a : memref<?xf32>)
  return
}
