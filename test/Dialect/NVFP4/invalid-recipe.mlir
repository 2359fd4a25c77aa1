// RUN: nvfp4-opt %s -split-input-file -verify-diagnostics

// SPEC.md section 6: the 16 rows of a 16x16 tile share one scale, which
// cannot be derived from 16 different per-row outer scales.
// expected-error @+1 {{outer = row is incompatible with block = 16x16: the 16 rows of a tile would need 16 different outer scales}}
func.func @f() attributes {r = #nvfp4.recipe<outer = row, block = 16x16>} { return }

// -----

// expected-error @+1 {{outer = window<64> is incompatible with block = 16x16: a tile would span 16 windows of different outer scales}}
func.func @f() attributes {r = #nvfp4.recipe<local_1x64, numerics = reciprocal, block = 16x16>} { return }

// -----

// expected-error @+1 {{select = four_over_six is incompatible with numerics = quotient: 4over6 is defined on the reciprocal form}}
func.func @f() attributes {r = #nvfp4.recipe<four_over_six, numerics = quotient>} { return }

// -----

// expected-error @+1 {{select = four_over_six is incompatible with rounding = stochastic: the candidate error is defined for round-to-nearest codes}}
func.func @f() attributes {r = #nvfp4.recipe<four_over_six_mse, rounding = stochastic<seed = 3>>} { return }

// -----

// RHT only ever applies to the columnwise direction.
// expected-error @+1 {{transform = rht16 requires a columnwise output: the transform applies to the columnwise direction only}}
func.func @f() attributes {r = #nvfp4.recipe<transform = rht16>} { return }

// -----

// expected-error @+1 {{expected at least one direction (rowwise or columnwise)}}
func.func @f() attributes {r = #nvfp4.recipe<directions = []>} { return }

// -----

// expected-error @+1 {{expected window size 64, got 32}}
func.func @f() attributes {r = #nvfp4.recipe<outer = window<32>>} { return }

// -----

// expected-error @+1 {{expected e4m3_max to be 448 or 256, got 300}}
func.func @f() attributes {r = #nvfp4.recipe<e4m3_max = 300>} { return }

// -----

// expected-error @+1 {{expected rht16 sign mask to fit in 16 bits, got 65536}}
func.func @f() attributes {r = #nvfp4.recipe<transform = rht16<0x10000>, directions = [columnwise]>} { return }

// -----

// expected-error @+1 {{expected tensor, row or window<64> for 'outer'}}
func.func @f() attributes {r = #nvfp4.recipe<outer = token>} { return }

// -----

// expected-error @+1 {{expected 1x16 or 16x16 for 'block'}}
func.func @f() attributes {r = #nvfp4.recipe<block = 1x32>} { return }

// -----

// expected-error @+1 {{expected linear, 128x4 or 8x4 for 'sf_layout'}}
func.func @f() attributes {r = #nvfp4.recipe<sf_layout = 32x4>} { return }

// -----

// expected-error @+1 {{expected reciprocal or quotient for 'numerics'}}
func.func @f() attributes {r = #nvfp4.recipe<numerics = exact>} { return }

// -----

// expected-error @+1 {{expected map6 or four_over_six<mae|mse> for 'select'}}
func.func @f() attributes {r = #nvfp4.recipe<select = map4>} { return }

// -----

// expected-error @+1 {{expected mae or mse, got 'max'}}
func.func @f() attributes {r = #nvfp4.recipe<select = four_over_six<max>>} { return }

// -----

// expected-error @+1 {{expected nearest or stochastic<seed = N> for 'rounding'}}
func.func @f() attributes {r = #nvfp4.recipe<rounding = up>} { return }

// -----

// expected-error @+1 {{expected none or rht16<MASK> for 'transform'}}
func.func @f() attributes {r = #nvfp4.recipe<transform = hadamard>} { return }

// -----

// expected-error @+1 {{expected rowwise or columnwise, got 'diagonal'}}
func.func @f() attributes {r = #nvfp4.recipe<directions = [rowwise, diagonal]>} { return }

// -----

// expected-error @+1 {{unknown recipe key 'scale_layout'}}
func.func @f() attributes {r = #nvfp4.recipe<scale_layout = 128x4>} { return }

// -----

// expected-error @+1 {{unknown recipe preset 'per_channel' (expected one of per_tensor, per_tensor_2d, per_tensor_rht, per_token, per_token_quotient, local_1x64, four_over_six, four_over_six_mse)}}
func.func @f() attributes {r = #nvfp4.recipe<per_channel>} { return }

// -----

// A preset after an override would silently undo the override.
// expected-error @+1 {{recipe preset 'per_token' must come before the keys that override it}}
func.func @f() attributes {r = #nvfp4.recipe<sf_layout = 128x4, per_token>} { return }

// -----

// The generic integer parser wraps -1 to 2^64 - 1; a seed is never negative.
// expected-error @+1 {{expected seed to be an integer in [0, 2^64), got -1}}
func.func @f() attributes {r = #nvfp4.recipe<rounding = stochastic<seed = -1>>} { return }

// -----

// expected-error @+1 {{expected seed to be an integer in [0, 2^64), got 18446744073709551616}}
func.func @f() attributes {r = #nvfp4.recipe<rounding = stochastic<seed = 18446744073709551616>>} { return }

// -----

// Out-of-range values are reported as written, not wrapped to 4294967295.
// expected-error @+1 {{expected e4m3_max to be 448 or 256, got -1}}
func.func @f() attributes {r = #nvfp4.recipe<e4m3_max = -1>} { return }

// -----

// expected-error @+1 {{expected e4m3_max to be 448 or 256, got 4294967744}}
func.func @f() attributes {r = #nvfp4.recipe<e4m3_max = 4294967744>} { return }

// -----

// expected-error @+1 {{expected window size 64, got -64}}
func.func @f() attributes {r = #nvfp4.recipe<outer = window<-64>>} { return }

// -----

// expected-error @+1 {{expected rht16 sign mask to fit in 16 bits, got -1}}
func.func @f() attributes {r = #nvfp4.recipe<transform = rht16<-1>, directions = [columnwise]>} { return }

// -----

// A repeated key would keep the first value's hidden fields (window 32
// here), and the printed recipe would not read back as the same attribute.
// expected-error @+1 {{recipe key 'outer' given twice}}
func.func @f() attributes {r = #nvfp4.recipe<outer = window<32>, outer = tensor>} { return }

// -----

// expected-error @+1 {{recipe key 'rounding' given twice}}
func.func @f() attributes {r = #nvfp4.recipe<per_token, rounding = stochastic<seed = 5>, rounding = nearest>} { return }

// -----

// expected-error @+1 {{expected e4m3_max to be 448 or 256}}
func.func @f() attributes {r = #nvfp4.recipe<e4m3_max = big>} { return }

// -----

// expected-error @+1 {{expected computed, given or given_encode_scale for 'amax'}}
func.func @f() attributes {r = #nvfp4.recipe<amax = static>} { return }

// -----

// expected-error @+1 {{expected computed, given or given_encode_scale for 'amax'}}
func.func @f() attributes {r = #nvfp4.recipe<amax = 3>} { return }

// -----

// The candidate error of SPEC.md section 7 dequantizes with the outer amax,
// which a given encode scale does not provide.
// expected-error @+1 {{select = four_over_six is incompatible with amax = given_encode_scale: the candidate error dequantizes with the outer amax}}
func.func @f() attributes {r = #nvfp4.recipe<four_over_six, amax = given_encode_scale>} { return }

// -----

// expected-error @+1 {{recipe key 'amax' given twice}}
func.func @f() attributes {r = #nvfp4.recipe<amax = given, amax = computed>} { return }

// -----

// expected-error @+1 {{expected global_scale_inv to be a finite positive float, got -1}}
func.func @f() attributes {r = #nvfp4.recipe<per_token, global_scale_inv = -1.0>} { return }

// -----

// expected-error @+1 {{expected global_scale_inv to be a finite positive float, got 0}}
func.func @f() attributes {r = #nvfp4.recipe<per_token, global_scale_inv = 0.0>} { return }

// -----

// expected-error @+1 {{expected global_scale_inv to be a finite positive float, got INF}}
func.func @f() attributes {r = #nvfp4.recipe<per_token, global_scale_inv = 0x7F800000>} { return }

// -----

// expected-error @+1 {{select = four_over_six is incompatible with global_scale_inv: the candidate error decodes with the amax alone}}
func.func @f() attributes {r = #nvfp4.recipe<four_over_six, global_scale_inv = 1.0>} { return }

// -----

// expected-error @+1 {{amax = given_encode_scale is incompatible with global_scale_inv: the given scale replaces the encode scale the global scale would set}}
func.func @f() attributes {r = #nvfp4.recipe<per_token, amax = given_encode_scale, global_scale_inv = 1.0>} { return }
