// Every example parses, verifies and round-trips through nvfp4-opt: the
// pretty form reprints identically, and the generic form reparses to it.
// RUN: nvfp4-opt %nvfp4_src_root/examples/four_over_six.mlir > %t.four_over_six.1
// RUN: nvfp4-opt %t.four_over_six.1 > %t.four_over_six.2 && diff %t.four_over_six.1 %t.four_over_six.2
// RUN: nvfp4-opt %t.four_over_six.1 --mlir-print-op-generic | nvfp4-opt | diff %t.four_over_six.1 -
// RUN: nvfp4-opt %nvfp4_src_root/examples/four_over_six_mse.mlir > %t.four_over_six_mse.1
// RUN: nvfp4-opt %t.four_over_six_mse.1 > %t.four_over_six_mse.2 && diff %t.four_over_six_mse.1 %t.four_over_six_mse.2
// RUN: nvfp4-opt %t.four_over_six_mse.1 --mlir-print-op-generic | nvfp4-opt | diff %t.four_over_six_mse.1 -
// RUN: nvfp4-opt %nvfp4_src_root/examples/local_1x64.mlir > %t.local_1x64.1
// RUN: nvfp4-opt %t.local_1x64.1 > %t.local_1x64.2 && diff %t.local_1x64.1 %t.local_1x64.2
// RUN: nvfp4-opt %t.local_1x64.1 --mlir-print-op-generic | nvfp4-opt | diff %t.local_1x64.1 -
// RUN: nvfp4-opt %nvfp4_src_root/examples/matmul.mlir > %t.matmul.1
// RUN: nvfp4-opt %t.matmul.1 > %t.matmul.2 && diff %t.matmul.1 %t.matmul.2
// RUN: nvfp4-opt %t.matmul.1 --mlir-print-op-generic | nvfp4-opt | diff %t.matmul.1 -
// RUN: nvfp4-opt %nvfp4_src_root/examples/moe_grouped.mlir > %t.moe_grouped.1
// RUN: nvfp4-opt %t.moe_grouped.1 > %t.moe_grouped.2 && diff %t.moe_grouped.1 %t.moe_grouped.2
// RUN: nvfp4-opt %t.moe_grouped.1 --mlir-print-op-generic | nvfp4-opt | diff %t.moe_grouped.1 -
// RUN: nvfp4-opt %nvfp4_src_root/examples/per_tensor.mlir > %t.per_tensor.1
// RUN: nvfp4-opt %t.per_tensor.1 > %t.per_tensor.2 && diff %t.per_tensor.1 %t.per_tensor.2
// RUN: nvfp4-opt %t.per_tensor.1 --mlir-print-op-generic | nvfp4-opt | diff %t.per_tensor.1 -
// RUN: nvfp4-opt %nvfp4_src_root/examples/per_tensor_2d.mlir > %t.per_tensor_2d.1
// RUN: nvfp4-opt %t.per_tensor_2d.1 > %t.per_tensor_2d.2 && diff %t.per_tensor_2d.1 %t.per_tensor_2d.2
// RUN: nvfp4-opt %t.per_tensor_2d.1 --mlir-print-op-generic | nvfp4-opt | diff %t.per_tensor_2d.1 -
// RUN: nvfp4-opt %nvfp4_src_root/examples/per_tensor_rht.mlir > %t.per_tensor_rht.1
// RUN: nvfp4-opt %t.per_tensor_rht.1 > %t.per_tensor_rht.2 && diff %t.per_tensor_rht.1 %t.per_tensor_rht.2
// RUN: nvfp4-opt %t.per_tensor_rht.1 --mlir-print-op-generic | nvfp4-opt | diff %t.per_tensor_rht.1 -
// RUN: nvfp4-opt %nvfp4_src_root/examples/per_token.mlir > %t.per_token.1
// RUN: nvfp4-opt %t.per_token.1 > %t.per_token.2 && diff %t.per_token.1 %t.per_token.2
// RUN: nvfp4-opt %t.per_token.1 --mlir-print-op-generic | nvfp4-opt | diff %t.per_token.1 -
// RUN: nvfp4-opt %nvfp4_src_root/examples/per_token_quotient.mlir > %t.per_token_quotient.1
// RUN: nvfp4-opt %t.per_token_quotient.1 > %t.per_token_quotient.2 && diff %t.per_token_quotient.1 %t.per_token_quotient.2
// RUN: nvfp4-opt %t.per_token_quotient.1 --mlir-print-op-generic | nvfp4-opt | diff %t.per_token_quotient.1 -
// RUN: nvfp4-opt %nvfp4_src_root/examples/rms_norm_per_token.mlir > %t.rms_norm_per_token.1
// RUN: nvfp4-opt %t.rms_norm_per_token.1 > %t.rms_norm_per_token.2 && diff %t.rms_norm_per_token.1 %t.rms_norm_per_token.2
// RUN: nvfp4-opt %t.rms_norm_per_token.1 --mlir-print-op-generic | nvfp4-opt | diff %t.rms_norm_per_token.1 -
// RUN: nvfp4-opt %nvfp4_src_root/examples/swiglu_per_token.mlir > %t.swiglu_per_token.1
// RUN: nvfp4-opt %t.swiglu_per_token.1 > %t.swiglu_per_token.2 && diff %t.swiglu_per_token.1 %t.swiglu_per_token.2
// RUN: nvfp4-opt %t.swiglu_per_token.1 --mlir-print-op-generic | nvfp4-opt | diff %t.swiglu_per_token.1 -
// RUN: cat %t.*.1 | FileCheck %s

// CHECK-DAG: nvfp4.grouped_quantize
// CHECK-DAG: nvfp4.grouped_matmul
// CHECK-DAG: nvfp4.matmul a(
// CHECK-DAG: recipe <per_tensor_rht, sf_layout = 128x4>
// CHECK-DAG: recipe <four_over_six>
// CHECK-DAG: recipe <per_tensor, select = four_over_six<mse>>
// CHECK-DAG: recipe <local_1x64>
// CHECK-DAG: recipe <per_token_quotient>
// CHECK-DAG: recipe <per_tensor_2d, directions = [rowwise, columnwise]>
// CHECK-DAG: nvfp4.rms_norm %
// CHECK-DAG: nvfp4.gated_act silu
