// RUN: not nvfp4-opt %s -nvfp4-to-gpu="chip=gfx942" -split-input-file 2>&1 | FileCheck %s --check-prefix=CHIP

// CHIP: error: expected chip of the form sm_<N>[a], got 'gfx942'

// Every nvfp4 op has a GPU lowering (nvfp4.grouped_matmul in
// nvfp4-to-gpu-grouped-matmul.mlir); the chip is the one thing the pass
// can reject.
func.func @empty() {
  return
}
