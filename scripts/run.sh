#!/usr/bin/env bash
# The main job: set up, build, and lower a recipe example with the most
# complete pipeline this checkout has, printing the result.
#
#   scripts/run.sh [examples/NAME.mlir]     (default: examples/per_token.mlir)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
example=${1:-$root/examples/per_token.mlir}
"$root/scripts/build.sh" nvfp4-opt >&2
opt="$root/build/bin/nvfp4-opt"

# Verify the recipe and ops, then print the canonical form. Later stages
# (CPU loops, PTX/cubin, a GPU run) are added here as their passes land.
"$opt" "$example"
