#!/usr/bin/env bash
# Every GPU check of a session in one run on the lent GPU machine (device
# tool). Build here first, then carry the static binaries:
#
#   NVFP4_STATIC=ON scripts/build.sh nvfp4-quantize nvfp4-bench NVFP4GPUTests
#   scripts/package-device.sh          # -> build-static/dist/nvfp4-device.tar.xz
#   (device) bash scripts/device-check.sh      carry: build-static/dist
#
# Writes summary.txt, device.txt and logs.tar.gz (every log) under $OUT
# (the device tool returns at most 8 files). Checks:
#  1. GPU bytes == CPU bytes for every recipe, shapes M in {1,17,130,4096,8192}
#     x K in {64,4096}, random and adversarial inputs (NVFP4GPUTests);
#  2. compute-sanitizer memcheck and racecheck on each kernel family;
#  3. nvfp4-quantize --target=sm_90a writes the files --target=cpu writes;
#  4. nvfp4-bench: bandwidth per recipe and shape vs a device copy
#     (bench.md);
#  5. GEMMs: every operand recipe pair vs a float64 reference (in 1.),
#     compute-sanitizer on both GEMM kernels, and nvfp4-bench --suite=gemm
#     next to cuBLAS bf16 (bench-gemm.md).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$root/device-out}
mkdir -p "$OUT"
summary="$OUT/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }

work=$(mktemp -d)
tar -xJf "$root/build-static/dist/nvfp4-device.tar.xz" -C "$work"
bin="$work/bin"
logs="$work/logs"
mkdir -p "$logs"
{ nvidia-smi; date -u; uname -a; } > "$OUT/device.txt" 2>&1
note "device: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | head -1)"
note "date: $(date -u +%Y-%m-%dT%H:%MZ)"

# 1. GPU vs CPU, every recipe.
start=$SECONDS
"$bin/NVFP4GPUTests" --gtest_output="json:$logs/gpu-vs-cpu.json" \
  > "$logs/gpu-vs-cpu.log" 2>&1
note "gpu-vs-cpu: exit $? in $((SECONDS - start)) s; $(grep -E '^\[(==========|  PASSED  |  FAILED  |  SKIPPED )\] [0-9]+ test' "$logs/gpu-vs-cpu.log" | tr '\n' ' ')"

# 2. Sanitizers on each kernel family (small shapes keep them quick).
python3 - "$work" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(5)
x = rng.standard_normal((64, 192)).astype(np.float32)
x[3, 5] = np.nan; x[7, 9] = np.inf; x[0, :16] = 0
np.save(f"{sys.argv[1]}/small.npy", x)
y = rng.standard_normal((1024, 4096)).astype(np.float32)
y[:, 17] *= 300
np.save(f"{sys.argv[1]}/big.npy", y)
PY
families=(
  "--recipe=per_tensor"                                   # amax_init/amax/encode
  "--recipe=per_token --sf-layout=128x4"                  # fused + zero
  "--recipe=local_1x64 --sf-layout=8x4"                   # windows
  "--recipe=per_tensor_2d --rowwise --columnwise"         # 16x16 tiles
  "--recipe=four_over_six --outer=row"                    # 4over6
  "--recipe=per_token --rounding=stochastic --seed=9"     # Philox SR
  "--recipe=per_tensor_rht --sf-layout=128x4"             # RHT columnwise
)
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck; do
  clean=0; total=0
  for flags in "${families[@]}"; do
    total=$((total + 1))
    log="$logs/sanitizer-$tool-$total.log"
    # shellcheck disable=SC2086
    "$sanitizer" --tool "$tool" --error-exitcode 3 "$bin/nvfp4-quantize" \
      $flags --input-dtype=bf16 --target=sm_90a "$work/small.npy" \
      "$work/san-$tool-$total" > "$log" 2>&1 && clean=$((clean + 1))
    echo "$flags: $(tail -1 "$log")" >> "$logs/sanitizer-$tool.txt"
  done
  note "compute-sanitizer $tool: $clean/$total kernel families clean"
done

# 3. The CLI on both targets writes the same files, for each input dtype.
same=0; total=0
for flags in "${families[@]}"; do
  for case in small:bf16 small:fp16 small:fp32 big:bf16; do
    input=${case%%:*}; dtype=${case##*:}
    total=$((total + 1))
    # shellcheck disable=SC2086
    "$bin/nvfp4-quantize" $flags --input-dtype=$dtype --target=cpu \
      "$work/$input.npy" "$work/cli-cpu-$total" > "$logs/cli-$total.log" 2>&1
    # shellcheck disable=SC2086
    "$bin/nvfp4-quantize" $flags --input-dtype=$dtype --target=sm_90a \
      "$work/$input.npy" "$work/cli-gpu-$total" >> "$logs/cli-$total.log" 2>&1
    if diff -r "$work/cli-cpu-$total" "$work/cli-gpu-$total" >> "$logs/cli-$total.log" 2>&1 \
       && [ -n "$(ls "$work/cli-gpu-$total" 2>/dev/null)" ]; then
      same=$((same + 1))
    else
      echo "differs: $flags $case" >> "$summary"
    fi
  done
done
note "nvfp4-quantize --target=sm_90a == --target=cpu: $same/$total runs (bf16, fp16, fp32 inputs)"

# 4. Bandwidth.
"$bin/nvfp4-bench" --iters=20 > "$OUT/bench.md" 2> "$logs/bench.err"
note "nvfp4-bench: exit $? ($(grep -c '^| `' "$OUT/bench.md") cases, bench.md)"

# GEMM kernels under the sanitizers (M = 7 and 200: both configurations).
for tool in memcheck racecheck; do
  "$sanitizer" --tool "$tool" --error-exitcode 3 "$bin/nvfp4-bench" --suite=gemm \
    --gemm-m=7,200 --gemm-n=256 --gemm-k=320 --iters=1 \
    > "$logs/sanitizer-$tool-gemm.log" 2>&1
  note "compute-sanitizer $tool GEMM kernels: exit $? ($(tail -1 "$logs/sanitizer-$tool-gemm.log"))"
done
"$bin/nvfp4-bench" --suite=gemm --iters=20 > "$OUT/bench-gemm.md" 2> "$logs/bench-gemm.err"
note "nvfp4-bench --suite=gemm: exit $? ($(grep -c '^| `' "$OUT/bench-gemm.md") cases, bench-gemm.md)"

# 6. Where the time goes: Nsight Compute's speed-of-light of one encode.
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
"$ncu" --kernel-name regex:encode --launch-count 1 --section SpeedOfLight \
  --section LaunchStats "$bin/nvfp4-bench" --recipe=per_token --m=32768 \
  --k=8192 --iters=1 > "$logs/ncu-per-token-encode.txt" 2>&1
note "ncu: exit $? (logs/ncu-per-token-encode.txt)"

grep -E "FAILED|Failure|mismatch|differs|rowwise|columnwise" "$logs/gpu-vs-cpu.log" | head -40 >> "$summary"
tar -czf "$OUT/logs.tar.gz" -C "$work" logs
rm -rf "$work"
