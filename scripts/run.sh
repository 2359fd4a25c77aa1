#!/usr/bin/env bash
# The main job: set up, build, lower a recipe example, and run it.
#
#   scripts/run.sh [examples/NAME.mlir]     (default: examples/per_token.mlir)
#
# Prints the recipe ops, their lowering by nvfp4-expand (SPEC.md math in
# loops; NVFP4_PRINT=llvm prints the LLVM dialect of nvfp4-to-cpu), the GPU
# kernels compiled to PTX and cubins for sm_90a and sm_100a, then quantizes
# a random 4096x4096 bf16 tensor with the same recipe on the host and, when
# a GPU is present, on the GPU too, checking that the bytes agree.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
example=${1:-$root/examples/per_token.mlir}
"$root/scripts/build.sh" nvfp4-opt nvfp4-quantize >&2
bin="$root/build/bin"

echo "== $example: verified recipe ops"
"$bin/nvfp4-opt" "$example"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ ${NVFP4_PRINT:-} == llvm ]]; then
  echo "== lowered for the host (nvfp4-to-cpu)"
  "$bin/nvfp4-opt" "$example" --nvfp4-to-cpu
else
  echo "== lowered to SPEC.md math over loops (nvfp4-expand, canonicalized)"
  "$bin/nvfp4-opt" "$example" --nvfp4-expand --canonicalize --cse
fi

for chip in sm_90a sm_100a; do
  echo "== GPU kernels for $chip (nvfp4-to-ptx)"
  "$bin/nvfp4-opt" "$example" --nvfp4-to-ptx="chip=$chip format=isa" \
    > "$work/$chip.mlir"
  "$root/.venv/bin/python" "$root/test/Target/extract-ptx.py" \
    < "$work/$chip.mlir" > "$work/$chip.ptx"
  grep -E '^\.(version|target)|\.entry' "$work/$chip.ptx" | sed 's/^/  /'
  if command -v ptxas >/dev/null || [[ -x /usr/local/cuda/bin/ptxas ]]; then
    ptxas=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
    "$ptxas" -arch="$chip" "$work/$chip.ptx" -o "$work/$chip.cubin"
    echo "  cubin: $(stat -c %s "$work/$chip.cubin") bytes (ptxas)"
  fi
done

"$root/.venv/bin/python" - "$work/x.npy" <<'PY'
import sys
import numpy as np
x = np.random.default_rng(0).standard_normal((4096, 4096)).astype(np.float32)
x[:, 7] *= 50  # an outlier channel
np.save(sys.argv[1], x)
PY
echo "== quantizing a 4096x4096 tensor (bf16 storage) with $(basename "$example") on the cpu"
start=$(date +%s.%N)
"$bin/nvfp4-quantize" --recipe="$example" --input-dtype=bf16 --dequant \
  --target=cpu "$work/x.npy" "$work/out"
end=$(date +%s.%N)
"$root/.venv/bin/python" - "$work" "$start" "$end" <<'PY'
import pathlib, sys
import numpy as np
work = pathlib.Path(sys.argv[1]); out = work / "out"
x = np.load(work / "x.npy")
for p in sorted(out.glob("*.npy")):
    a = np.load(p)
    print(f"  {p.name:14s} {str(a.dtype):8s} {a.shape}")
d = np.load(out / "dequant.npy")
rel = np.linalg.norm(d - x) / np.linalg.norm(x)
print(f"  relative error of the dequantized tensor: {rel:.4f}")
print(f"  wall time (JIT + quantize + dequantize + I/O): {float(sys.argv[3]) - float(sys.argv[2]):.2f} s")
PY

echo "== the same on the GPU (sm_90a)"
if "$bin/nvfp4-quantize" --recipe="$example" --input-dtype=bf16 \
     --target=sm_90a "$work/x.npy" "$work/gpu" 2> "$work/gpu.err"; then
  for f in "$work"/gpu/*.npy; do
    cmp -s "$f" "$work/out/$(basename "$f")" \
      && echo "  $(basename "$f"): identical to the CPU bytes" \
      || { echo "  $(basename "$f"): DIFFERS from the CPU bytes"; exit 1; }
  done
else
  echo "  skipped: $(cat "$work/gpu.err")"
fi
