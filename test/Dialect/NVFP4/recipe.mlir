// RUN: nvfp4-opt %s | FileCheck %s
// RUN: nvfp4-opt %s | nvfp4-opt | FileCheck %s
// RUN: nvfp4-opt %s --mlir-print-op-generic | nvfp4-opt | FileCheck %s

// Every preset prints as its name, and reparses to the same attribute.
// CHECK-LABEL: func.func @presets
// CHECK-SAME: a = #nvfp4.recipe<per_tensor>
// CHECK-SAME: b = #nvfp4.recipe<per_tensor_2d>
// CHECK-SAME: c = #nvfp4.recipe<per_tensor_rht>
// CHECK-SAME: d = #nvfp4.recipe<per_token>
// CHECK-SAME: e = #nvfp4.recipe<per_token_quotient>
// CHECK-SAME: f = #nvfp4.recipe<local_1x64>
// CHECK-SAME: g = #nvfp4.recipe<four_over_six>
// CHECK-SAME: h = #nvfp4.recipe<four_over_six_mse>
func.func @presets() attributes {
  a = #nvfp4.recipe<per_tensor>, b = #nvfp4.recipe<per_tensor_2d>,
  c = #nvfp4.recipe<per_tensor_rht>, d = #nvfp4.recipe<per_token>,
  e = #nvfp4.recipe<per_token_quotient>, f = #nvfp4.recipe<local_1x64>,
  g = #nvfp4.recipe<four_over_six>, h = #nvfp4.recipe<four_over_six_mse>} {
  return
}

// A recipe spelled out key by key that equals a preset prints as the preset;
// the empty recipe is the default (per_tensor).
// CHECK-LABEL: func.func @spelled_out_presets
// CHECK-SAME: a = #nvfp4.recipe<per_tensor>
// CHECK-SAME: b = #nvfp4.recipe<local_1x64>
// CHECK-SAME: c = #nvfp4.recipe<four_over_six>
func.func @spelled_out_presets() attributes {
  a = #nvfp4.recipe<>,
  b = #nvfp4.recipe<numerics = quotient, outer = window<64>>,
  c = #nvfp4.recipe<select = four_over_six<mae>, e4m3_max = 256>} {
  return
}

// A recipe prints as the preset that needs the fewest overrides (the first
// such preset on a tie), then those overrides in a fixed key order, whatever
// order they were written in.
// CHECK-LABEL: func.func @non_default_keys
// CHECK-SAME: a = #nvfp4.recipe<per_token, sf_layout = 128x4>
// CHECK-SAME: b = #nvfp4.recipe<per_tensor_rht, outer = window<64>, select = four_over_six<mse>, e4m3_max = 256, sf_layout = 8x4>
// CHECK-SAME: c = #nvfp4.recipe<per_tensor_2d, rounding = stochastic<seed = 1234>, directions = [columnwise]>
// CHECK-SAME: d = #nvfp4.recipe<per_tensor, transform = rht16<0x1234>, directions = [columnwise]>
// CHECK-SAME: e = #nvfp4.recipe<per_tensor, e4m3_max = 256>
// CHECK-SAME: f = #nvfp4.recipe<four_over_six_mse, directions = [rowwise, columnwise]>
// CHECK-SAME: g = #nvfp4.recipe<per_token, rounding = stochastic<seed = 0>>
func.func @non_default_keys() attributes {
  a = #nvfp4.recipe<per_token, sf_layout = 128x4>,
  b = #nvfp4.recipe<sf_layout = 8x4, directions = [columnwise, rowwise],
                    transform = rht16, e4m3_max = 256,
                    select = four_over_six<mse>, outer = window<64>>,
  c = #nvfp4.recipe<directions = [columnwise], block = 16x16,
                    rounding = stochastic<seed = 1234>>,
  d = #nvfp4.recipe<transform = rht16<0x1234>, directions = [columnwise]>,
  e = #nvfp4.recipe<e4m3_max = 256>,
  f = #nvfp4.recipe<four_over_six_mse, directions = [rowwise, columnwise]>,
  g = #nvfp4.recipe<per_token, rounding = stochastic>} {
  return
}

// Combinations TransformerEngine refuses but SPEC.md defines are legal:
// 4over6 x per-token, 4over6 x RHT, stochastic rounding x 1x64 windows,
// 4over6 x 2D blocks, and E4M3 bound 256 without 4over6 (see above).
// CHECK-LABEL: func.func @legal_combinations
// CHECK-SAME: a = #nvfp4.recipe<four_over_six, outer = row>
// CHECK-SAME: b = #nvfp4.recipe<per_tensor_rht, select = four_over_six<mae>, e4m3_max = 256>
// CHECK-SAME: c = #nvfp4.recipe<local_1x64, rounding = stochastic<seed = 5>>
// CHECK-SAME: d = #nvfp4.recipe<four_over_six_mse, block = 16x16>
func.func @legal_combinations() attributes {
  a = #nvfp4.recipe<four_over_six, outer = row>,
  b = #nvfp4.recipe<four_over_six, transform = rht16,
                    directions = [rowwise, columnwise]>,
  c = #nvfp4.recipe<local_1x64, rounding = stochastic<seed = 5>>,
  d = #nvfp4.recipe<four_over_six_mse, block = 16x16>} {
  return
}

// Where the outer scale comes from: computed (the default, not printed),
// an amax given as an input, or a given encode scale; with any outer group.
// CHECK-LABEL: func.func @amax_sources
// CHECK-SAME: a = #nvfp4.recipe<per_tensor>
// CHECK-SAME: b = #nvfp4.recipe<per_tensor, amax = given>
// CHECK-SAME: c = #nvfp4.recipe<per_token, amax = given_encode_scale>
// CHECK-SAME: d = #nvfp4.recipe<local_1x64, sf_layout = 128x4, amax = given>
// CHECK-SAME: e = #nvfp4.recipe<four_over_six, amax = given>
// CHECK-SAME: f = #nvfp4.recipe<per_token, global_scale_inv = 0x39C30C31>
// CHECK-SAME: g = #nvfp4.recipe<per_token, amax = given, global_scale_inv = 0x3F800000>
func.func @amax_sources() attributes {
  a = #nvfp4.recipe<amax = computed>,
  b = #nvfp4.recipe<amax = given>,
  c = #nvfp4.recipe<amax = given_encode_scale, outer = row>,
  d = #nvfp4.recipe<local_1x64, amax = given, sf_layout = 128x4>,
  e = #nvfp4.recipe<four_over_six, amax = given>,
  f = #nvfp4.recipe<per_token, global_scale_inv = 0x39C30C31>,
  g = #nvfp4.recipe<global_scale_inv = 1.0, outer = row, amax = given>} {
  return
}
