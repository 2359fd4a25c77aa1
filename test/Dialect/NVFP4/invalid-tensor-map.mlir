// RUN: nvfp4-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{expected non-negative argument indices, got arg = -1, operand = 0}}
func.func @f() attributes {m = #nvfp4.tensor_map<arg = -1, operand = 0, box = [32, 128], swizzle = 32>} { return }

// -----

// The kernels' TMA operands are 2-D byte matrices.
// expected-error @+1 {{expected a 2-D box, got 3 extents}}
func.func @f() attributes {m = #nvfp4.tensor_map<arg = 1, operand = 0, box = [32, 8, 8], swizzle = 32>} { return }

// -----

// cuTensorMapEncodeTiled's limit on every box extent.
// expected-error @+1 {{expected box extents in [1, 256], got 512}}
func.func @f() attributes {m = #nvfp4.tensor_map<arg = 1, operand = 0, box = [32, 512], swizzle = 32>} { return }

// -----

// expected-error @+1 {{expected swizzle 0, 32, 64 or 128, got 16}}
func.func @f() attributes {m = #nvfp4.tensor_map<arg = 1, operand = 0, box = [16, 128], swizzle = 16>} { return }

// -----

// A swizzled box's rows must fit the swizzle span.
// expected-error @+1 {{expected the inner box extent to be at most the swizzle span 32, got 64}}
func.func @f() attributes {m = #nvfp4.tensor_map<arg = 1, operand = 0, box = [64, 128], swizzle = 32>} { return }

// -----

// TMA moves whole 16-byte units along the inner dimension.
// expected-error @+1 {{expected the inner box extent to be a multiple of 16 bytes, got 24}}
func.func @f() attributes {m = #nvfp4.tensor_map<arg = 1, operand = 0, box = [24, 128], swizzle = 0>} { return }
