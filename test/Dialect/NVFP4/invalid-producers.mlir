// RUN: nvfp4-opt %s -split-input-file -verify-diagnostics

// Producers (SPEC.md section 15) and their fused forms: every constraint a
// verifier states, one case each.

func.func @weight_length(%x: memref<4x64xbf16>, %w: memref<32xbf16>,
    %y: memref<4x64xbf16>, %rs: memref<4xf32>) {
  // expected-error @+1 {{expected weight of shape 64, got 32}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<32xbf16> eps 1.0e-06
      to %y : memref<4x64xbf16>, %rs : memref<4xf32>
  return
}

// -----

func.func @eps_zero(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %y: memref<4x64xbf16>, %rs: memref<4xf32>) {
  // expected-error @+1 {{expected eps to be finite and > 0, got 0}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<64xbf16> eps 0.0
      to %y : memref<4x64xbf16>, %rs : memref<4xf32>
  return
}

// -----

func.func @eps_negative(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %y: memref<4x64xbf16>, %rs: memref<4xf32>) {
  // expected-error @+1 {{expected eps to be finite and > 0, got -1}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<64xbf16> eps -1.0
      to %y : memref<4x64xbf16>, %rs : memref<4xf32>
  return
}

// -----

func.func @eps_nan(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %y: memref<4x64xbf16>, %rs: memref<4xf32>) {
  // expected-error @+1 {{expected eps to be finite and > 0, got NaN}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<64xbf16> eps 0x7FC00000
      to %y : memref<4x64xbf16>, %rs : memref<4xf32>
  return
}

// -----

func.func @eps_inf(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %y: memref<4x64xbf16>, %rs: memref<4xf32>) {
  // expected-error @+1 {{expected eps to be finite and > 0, got +Inf}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<64xbf16> eps 0x7F800000
      to %y : memref<4x64xbf16>, %rs : memref<4xf32>
  return
}

// -----

func.func @weight_dtype(%x: memref<4x64xbf16>, %w: memref<64xf32>,
    %y: memref<4x64xbf16>, %rs: memref<4xf32>) {
  // expected-error @+1 {{expected weight to have the element type of input ('bf16'), got 'f32'}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<64xf32> eps 1.0e-06
      to %y : memref<4x64xbf16>, %rs : memref<4xf32>
  return
}

// -----

func.func @residual_dtype(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %r: memref<4x64xf16>, %y: memref<4x64xbf16>, %rs: memref<4xf32>) {
  // expected-error @+1 {{expected residual to have the element type of input ('bf16'), got 'f16'}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<64xbf16>
      residual(%r : memref<4x64xf16>) eps 1.0e-06
      to %y : memref<4x64xbf16>, %rs : memref<4xf32>
  return
}

// -----

func.func @residual_shape(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %r: memref<8x64xbf16>, %y: memref<4x64xbf16>, %rs: memref<4xf32>) {
  // expected-error @+1 {{expected residual of shape 4x64, got 8x64}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<64xbf16>
      residual(%r : memref<8x64xbf16>) eps 1.0e-06
      to %y : memref<4x64xbf16>, %rs : memref<4xf32>
  return
}

// -----

func.func @output_shape(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %y: memref<4x32xbf16>, %rs: memref<4xf32>) {
  // expected-error @+1 {{expected output of shape 4x64, got 4x32}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<64xbf16> eps 1.0e-06
      to %y : memref<4x32xbf16>, %rs : memref<4xf32>
  return
}

// -----

func.func @output_dtype(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %y: memref<4x64xf32>, %rs: memref<4xf32>) {
  // expected-error @+1 {{expected output to have the element type of input ('bf16'), got 'f32'}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<64xbf16> eps 1.0e-06
      to %y : memref<4x64xf32>, %rs : memref<4xf32>
  return
}

// -----

func.func @rstd_shape(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %y: memref<4x64xbf16>, %rs: memref<8xf32>) {
  // expected-error @+1 {{expected rstd of shape 4, got 8}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<64xbf16> eps 1.0e-06
      to %y : memref<4x64xbf16>, %rs : memref<8xf32>
  return
}

// -----

func.func @rms_strided_weight(%x: memref<4x64xbf16>,
    %w: memref<64xbf16, strided<[2]>>, %y: memref<4x64xbf16>,
    %rs: memref<4xf32>) {
  // expected-error @+1 {{expected weight to have a contiguous row-major layout}}
  nvfp4.rms_norm %x : memref<4x64xbf16>, %w : memref<64xbf16, strided<[2]>>
      eps 1.0e-06 to %y : memref<4x64xbf16>, %rs : memref<4xf32>
  return
}

// -----

func.func @odd_gate_up(%x: memref<4x65xbf16>, %y: memref<4x32xbf16>) {
  // expected-error @+1 {{expected an even number of input columns (gate and up halves), got 65}}
  nvfp4.gated_act silu %x : memref<4x65xbf16> to %y : memref<4x32xbf16>
  return
}

// -----

func.func @gated_output_shape(%x: memref<4x64xbf16>, %y: memref<4x64xbf16>) {
  // expected-error @+1 {{expected output of shape 4x32, got 4x64}}
  nvfp4.gated_act gelu_tanh %x : memref<4x64xbf16> to %y : memref<4x64xbf16>
  return
}

// -----

func.func @gated_output_dtype(%x: memref<4x64xbf16>, %y: memref<4x32xf16>) {
  // expected-error @+1 {{expected output to have the element type of input ('bf16'), got 'f16'}}
  nvfp4.gated_act silu %x : memref<4x64xbf16> to %y : memref<4x32xf16>
  return
}

// -----

func.func @gated_unknown_act(%x: memref<4x64xbf16>, %y: memref<4x32xbf16>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'act' [silu, gelu_tanh]}}
  nvfp4.gated_act relu %x : memref<4x64xbf16> to %y : memref<4x32xbf16>
  return
}

// -----

func.func @fused_rms_k(%x: memref<4x40xbf16>, %w: memref<40xbf16>,
    %rs: memref<4xf32>, %d: memref<4x20xi8>, %s: memref<4x2xf8E4M3FN>,
    %a: memref<4xf32>) {
  // expected-error @+1 {{expected quantized dimension K (input dim 1) to be a multiple of 16, got 40}}
  nvfp4.rms_norm_quantize %x : memref<4x40xbf16>, %w : memref<40xbf16>
      eps 1.0e-06 rstd(%rs : memref<4xf32>) recipe <per_token>
      rowwise(%d : memref<4x20xi8>, %s : memref<4x2xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// -----

func.func @fused_rms_weight(%x: memref<4x64xbf16>, %w: memref<48xbf16>,
    %rs: memref<4xf32>, %d: memref<4x32xi8>, %s: memref<4x4xf8E4M3FN>,
    %a: memref<4xf32>) {
  // expected-error @+1 {{expected weight of shape 64, got 48}}
  nvfp4.rms_norm_quantize %x : memref<4x64xbf16>, %w : memref<48xbf16>
      eps 1.0e-06 rstd(%rs : memref<4xf32>) recipe <per_token>
      rowwise(%d : memref<4x32xi8>, %s : memref<4x4xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// -----

func.func @fused_rms_eps(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %rs: memref<4xf32>, %d: memref<4x32xi8>, %s: memref<4x4xf8E4M3FN>,
    %a: memref<4xf32>) {
  // expected-error @+1 {{expected eps to be finite and > 0, got -0}}
  nvfp4.rms_norm_quantize %x : memref<4x64xbf16>, %w : memref<64xbf16>
      eps -0.0 rstd(%rs : memref<4xf32>) recipe <per_token>
      rowwise(%d : memref<4x32xi8>, %s : memref<4x4xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// -----

func.func @fused_rms_y_shape(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %rs: memref<4xf32>, %y: memref<4x32xbf16>, %d: memref<4x32xi8>,
    %s: memref<4x4xf8E4M3FN>, %a: memref<4xf32>) {
  // expected-error @+1 {{expected output of shape 4x64, got 4x32}}
  nvfp4.rms_norm_quantize %x : memref<4x64xbf16>, %w : memref<64xbf16>
      eps 1.0e-06 rstd(%rs : memref<4xf32>) y(%y : memref<4x32xbf16>)
      recipe <per_token>
      rowwise(%d : memref<4x32xi8>, %s : memref<4x4xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// -----

func.func @fused_rms_data_shape(%x: memref<4x64xbf16>, %w: memref<64xbf16>,
    %rs: memref<4xf32>, %d: memref<4x16xi8>, %s: memref<4x4xf8E4M3FN>,
    %a: memref<4xf32>) {
  // expected-error @+1 {{expected data of shape 4x32, got 4x16}}
  nvfp4.rms_norm_quantize %x : memref<4x64xbf16>, %w : memref<64xbf16>
      eps 1.0e-06 rstd(%rs : memref<4xf32>) recipe <per_token>
      rowwise(%d : memref<4x16xi8>, %s : memref<4x4xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// -----

func.func @fused_gated_n(%x: memref<4x48xbf16>, %d: memref<4x12xi8>,
    %s: memref<4x1xf8E4M3FN>, %a: memref<4xf32>) {
  // expected-error @+1 {{expected quantized dimension N (half of input dim 1) to be a multiple of 16, got 24}}
  nvfp4.gated_act_quantize silu %x : memref<4x48xbf16> recipe <per_token>
      rowwise(%d : memref<4x12xi8>, %s : memref<4x1xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// -----

func.func @fused_gated_odd(%x: memref<4x33xbf16>, %d: memref<4x8xi8>,
    %s: memref<4x1xf8E4M3FN>, %a: memref<4xf32>) {
  // expected-error @+1 {{expected an even number of input columns (gate and up halves), got 33}}
  nvfp4.gated_act_quantize silu %x : memref<4x33xbf16> recipe <per_token>
      rowwise(%d : memref<4x8xi8>, %s : memref<4x1xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// -----

func.func @fused_gated_columnwise_m(%x: memref<8x64xbf16>, %d: memref<32x4xi8>,
    %s: memref<32x1xf8E4M3FN>, %a: memref<1xf32>) {
  // expected-error @+1 {{expected M (input dim 0) for a columnwise output to be a multiple of 16, got 8}}
  nvfp4.gated_act_quantize silu %x : memref<8x64xbf16>
      recipe <per_tensor, directions = [columnwise]>
      columnwise(%d : memref<32x4xi8>, %s : memref<32x1xf8E4M3FN>, %a : memref<1xf32>)
  return
}

// -----

func.func @fused_gated_y_dtype(%x: memref<4x64xbf16>, %y: memref<4x32xf32>,
    %d: memref<4x16xi8>, %s: memref<4x2xf8E4M3FN>, %a: memref<4xf32>) {
  // expected-error @+1 {{expected output to have the element type of input ('bf16'), got 'f32'}}
  nvfp4.gated_act_quantize silu %x : memref<4x64xbf16> y(%y : memref<4x32xf32>)
      recipe <per_token>
      rowwise(%d : memref<4x16xi8>, %s : memref<4x2xf8E4M3FN>, %a : memref<4xf32>)
  return
}

// -----

func.func @fused_gated_missing_rowwise(%x: memref<4x64xbf16>) {
  // expected-error @+1 {{recipe requests a rowwise output but no rowwise buffers were given}}
  nvfp4.gated_act_quantize silu %x : memref<4x64xbf16> recipe <per_token>
  return
}
