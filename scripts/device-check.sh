#!/usr/bin/env bash
# Every GPU check of a session in one run on the lent GPU machine (device
# tool). Build here first, then carry the static binaries:
#
#   NVFP4_STATIC=ON scripts/build.sh nvfp4_capi jit_quantize nvfp4-quantize \
#     nvfp4-matmul nvfp4-bench NVFP4GPUTests NVFP4APITests
#   scripts/package-device.sh          # -> build-static/dist/nvfp4-device.tar.xz
#   (device) bash scripts/device-check.sh      carry: build-static/dist
#
# Writes summary.txt, device.txt and logs.tar.gz (every log) under $OUT
# (the device tool returns at most 8 files). Checks:
#  1. GPU bytes == CPU bytes for every recipe, shapes M in {1,17,130,4096,8192}
#     x K in {64,4096}, random and adversarial inputs, grouped (MoE) and
#     dequantize kernels; GEMMs vs float64 (NVFP4GPUTests);
#  2. compute-sanitizer memcheck and racecheck on each kernel family;
#  3. nvfp4-quantize --target=sm_90a writes the files --target=cpu writes;
#  4. nvfp4-bench: bandwidth per recipe and shape vs a device copy
#     (bench.md);
#  5. GEMMs: every operand recipe pair vs a float64 reference (in 1.),
#     compute-sanitizer on the GEMM kernels, nvfp4-matmul --target=sm_90a
#     vs --target=cpu, and nvfp4-bench --suite=gemm next to cuBLAS bf16
#     (bench-gemm.md);
#  6. the C++ runtime (jit_quantize, NVFP4APITests) and the Python package
#     (pytest with PyTorch/CuPy tensors on the GPU).
#
# One device call may run 10 minutes, so the checks come in six parts:
#   scripts/device-check.sh quantize # 1 (NVFP4GPUTests Recipes/GPUvsCPU)
#   scripts/device-check.sh tests    # 1 (grouped, dequantize, 64-bit offsets, ...)
#   scripts/device-check.sh gemm     # 5 (NVFP4GPUTests GEMMs vs float64)
#   scripts/device-check.sh checks   # 2, 3, 5 (sanitizers, CLIs), 6
#   scripts/device-check.sh speed    # 4, 5 (bench), 7
#   scripts/device-check.sh step     # 8 (device GEMMs, graphs, Python, calls)
#   scripts/device-check.sh pipeline # 9 (the warp-specialized large-M GEMM, TMA producer)
#   scripts/device-check.sh quick    # 10 (one call: a sample of each family)
#   scripts/device-check.sh producers # 11 (fused producers: bytes, sanitizers, bench)
#   scripts/device-check.sh pdl      # 12 (programmatic dependent launch: bytes, graphs, speed)
#   scripts/device-check.sh training # 13 (NVFP4 training: tests, example, step bench)
#   scripts/device-check.sh profile  # 14 (Nsight Compute of the GEMMs, PDL share, decode/MoE quantize)
#   scripts/device-check.sh final | final-tests  # 15 (a session's last checks in one call)
#   scripts/device-check.sh predecoded # 16 (the predecoded large-M GEMM: tests, memcheck, bench)
#   scripts/device-check.sh large-m  # 17 (after a change to the large-M GEMM: its tests, device API, Python, table)
# (no argument: all). Each part writes summary-<part>.txt.
set -u
part=${1:-all}
root=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$root/device-out}
mkdir -p "$OUT"
summary="$OUT/summary-$part.txt"
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

checks() { [[ $part == all || $part == "$1" ]]; }
# Sanitizer runs are bounded so a slow one cannot eat the call.
bounded() { timeout 150 "$@"; }
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)

# 1. GPU vs CPU, every recipe (quantize), then grouped, dequantize, 64-bit
# offsets and the GEMMs (tests).
gpuTests() { # name gtest-filter
  local start=$SECONDS
  # NVFP4_TEST_LIMIT (seconds) stops a run that would outlast the device
  # call, so the summary and logs still come back (exit 124).
  timeout "${NVFP4_TEST_LIMIT:-0}" "$bin/NVFP4GPUTests" --gtest_filter="$2" \
    --gtest_output="json:$logs/$1.json" > "$logs/$1.log" 2>&1
  note "$1: exit $? in $((SECONDS - start)) s; $(grep -E '^\[(==========|  PASSED  |  FAILED  |  SKIPPED )\] [0-9]+ test' "$logs/$1.log" | tr '\n' ' ')"
  grep -E "FAILED|Failure|mismatch|differs|Which is" "$logs/$1.log" | head -40 >> "$summary"
  grep -E "^\[       OK \]" "$logs/$1.log" | sed 's/^/  /' >> "$summary"
}
if checks quantize; then
gpuTests gpu-vs-cpu 'Recipes/GPUvsCPU.*'
fi
if checks tests; then
gpuTests gpu-tests '-Recipes/GPUvsCPU.*:*Matmul*'
fi
if checks gemm; then
gpuTests gpu-gemm '*Matmul*'
fi

if checks checks; then
# Dequantize GPU vs CPU again (quick; it is also part of 1.).
"$bin/NVFP4GPUTests" --gtest_filter='Recipes/DequantizeGPUvsCPU*:*GPUErrors*' \
  > "$logs/dequantize.log" 2>&1
note "dequantize gpu-vs-cpu: exit $? $(grep -E '^\[  (PASSED|FAILED) ' "$logs/dequantize.log" | tr '\n' ' ')"

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
  "--recipe=per_tensor_rht --sf-layout=128x4"             # RHT, both-direction tiles
  "--recipe=per_token --rowwise --columnwise"             # tiles, per-row amaxes
  "--recipe=local_1x64 --rowwise --columnwise --sf-layout=8x4"  # tiles, windows
)
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
fi

if checks speed; then
# 4. Bandwidth.
"$bin/nvfp4-bench" --iters=20 > "$OUT/bench.md" 2> "$logs/bench.err"
note "nvfp4-bench: exit $? ($(grep -c '^| `' "$OUT/bench.md") cases, bench.md)"
"$bin/nvfp4-bench" --suite=gemm --iters=20 > "$OUT/bench-gemm.md" 2> "$logs/bench-gemm.err"
note "nvfp4-bench --suite=gemm: exit $? ($(grep -c '^| `' "$OUT/bench-gemm.md") cases, bench-gemm.md)"
fi

if checks checks; then
# Grouped quantize and dequantize kernels under the sanitizers.
bounded "$sanitizer" --tool memcheck --error-exitcode 3 "$bin/NVFP4GPUTests" \
  --gtest_filter='Recipes/GroupedGPUvsCPU.BytesMatch/1:Recipes/GroupedGPUvsCPU.BytesMatch/4:Recipes/GroupedGPUvsCPU.BytesMatch/12:Recipes/DequantizeGPUvsCPU.BytesMatch/2' \
  > "$logs/sanitizer-memcheck-grouped.log" 2>&1
note "compute-sanitizer memcheck grouped/dequantize: exit $?"
bounded "$sanitizer" --tool racecheck --error-exitcode 3 "$bin/NVFP4GPUTests" \
  --gtest_filter='Recipes/GroupedGPUvsCPU.BytesMatch/2' \
  > "$logs/sanitizer-racecheck-grouped.log" 2>&1
note "compute-sanitizer racecheck grouped per_token: exit $?"

# GEMM kernels under the sanitizers: M = 7, 13, 20 reach small_m8/16/32,
# 200 medium_m, 300 and 513 the large (wgmma) kernel with ragged tiles;
# 1x64 operands the staged one. N = 300 and K = 320 leave partial tiles.
for tool in memcheck racecheck; do
  timeout 240 "$sanitizer" --tool "$tool" --error-exitcode 3 "$bin/nvfp4-bench" --suite=gemm \
    --gemm-m=7,13,20,200,300,513 --gemm-n=300 --gemm-k=320 --iters=1 \
    > "$logs/sanitizer-$tool-gemm.log" 2>&1
  note "compute-sanitizer $tool GEMM kernels: exit $? ($(tail -1 "$logs/sanitizer-$tool-gemm.log"))"
done

# nvfp4-matmul on the GPU agrees with the CPU (SPEC.md section 12 tolerance).
python3 - "$work" > "$logs/matmul-cli.log" 2>&1 <<'PY'
import subprocess, sys, numpy as np
w = sys.argv[1]; b = f"{w}/bin"
rng = np.random.default_rng(4)
ok = 0; total = 0
for ar, br, m, out in (("per_token", "per_tensor", 1, "bf16"), ("per_token", "per_tensor", 300, "f32"),
                       ("local_1x64", "local_1x64", 77, "f32"), ("four_over_six", "per_token", 1000, "bf16")):
    total += 1
    for name, rows, rec in (("a", m, ar), ("b", 384, br)):
        np.save(f"{w}/mm-{name}.npy", rng.standard_normal((rows, 512)).astype(np.float32))
        subprocess.run([f"{b}/nvfp4-quantize", f"--recipe={rec}", "--sf-layout=128x4", "--dequant",
                        f"{w}/mm-{name}.npy", f"{w}/mm-{name}"], check=True)
    d = {}
    for t in ("cpu", "sm_90a"):
        subprocess.run([f"{b}/nvfp4-matmul", f"--a-recipe={ar}, sf_layout = 128x4", f"--b-recipe={br}, sf_layout = 128x4",
                        f"--out-dtype={out}", f"--target={t}", f"{w}/mm-a", f"{w}/mm-b", f"{w}/mm-{t}.npy"], check=True)
        d[t] = np.load(f"{w}/mm-{t}.npy").astype(np.float64)
    ref = np.load(f"{w}/mm-a/dequant.npy").astype(np.float64) @ np.load(f"{w}/mm-b/dequant.npy").astype(np.float64).T
    errs = [np.linalg.norm(d[t] - ref) / np.linalg.norm(ref) for t in d]
    good = all(e <= (1e-5 if out == "f32" else 4e-3) for e in errs)
    ok += good
    print(ar, br, m, out, errs, "ok" if good else "FAIL")
print(f"{ok}/{total}")
PY
note "nvfp4-matmul --target=sm_90a vs cpu vs float64: exit $? ($(tail -1 "$logs/matmul-cli.log") cases within tolerance)"

# 6. C++ runtime: JIT example (GPU bytes == CPU bytes), disk cache, API tests.
export NVFP4_CACHE_DIR="$work/kernel-cache"
for r in per_token per_tensor_rht "per_token, directions = [rowwise, columnwise], sf_layout = 128x4"; do
  "$bin/jit_quantize" "$r" 4096 8192 >> "$logs/jit_quantize.log" 2>&1
  note "jit_quantize '$r': exit $?"
done
"$bin/jit_quantize" per_token 4096 8192 >> "$logs/jit_quantize.log" 2>&1
note "jit_quantize again: exit $?, $(grep -c 'disk cache' "$logs/jit_quantize.log") disk-cache hit(s)"
"$bin/NVFP4APITests" > "$logs/api.log" 2>&1
note "NVFP4APITests: exit $? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)  \]' "$logs/api.log" | tr '\n' ' ')"
"$bin/nvfp4-bench" --suite=compile --iters=5 > "$logs/bench-compile.md" 2>&1
note "nvfp4-bench --suite=compile: exit $?"
# The Python package with the packaged libnvfp4_capi.so (PyTorch, CuPy).
(cd "$work" && NVFP4_TOOLS_DIR="$bin" PYTHONPATH="$work/python" python3 -m pytest -q -rs test/python) > "$logs/pytest.log" 2>&1
note "pytest: exit $? $(tail -1 "$logs/pytest.log")"
grep -E "^(SKIPPED|FAILED)" "$logs/pytest.log" | head -20 >> "$summary"
fi

if checks speed; then
# 7. Where the time goes: Nsight Compute's speed-of-light of one encode.
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
"$ncu" --kernel-name regex:encode --launch-count 1 --section SpeedOfLight \
  --section LaunchStats "$bin/nvfp4-bench" --recipe=per_token --m=32768 \
  --k=8192 --iters=1 > "$logs/ncu-per-token-encode.txt" 2>&1
note "ncu: exit $? (logs/ncu-per-token-encode.txt)"
"$ncu" --kernel-name regex:both_encode --launch-count 1 --section SpeedOfLight \
  --section LaunchStats --section Occupancy "$bin/nvfp4-bench" \
  --recipe="local_1x64, directions = [rowwise, columnwise]" --m=32768 \
  --k=8192 --iters=1 > "$logs/ncu-tile-encode.txt" 2>&1
note "ncu tile encode: exit $? (logs/ncu-tile-encode.txt)"
"$ncu" --kernel-name regex:gemm --launch-count 2 --section SpeedOfLight \
  --section LaunchStats --section Occupancy "$bin/nvfp4-bench" --suite=gemm \
  --gemm-m=16,8192 --gemm-n=8192 --gemm-k=8192 --iters=1 > "$logs/ncu-gemm.txt" 2>&1
note "ncu gemm: exit $? (logs/ncu-gemm.txt)"
fi

if checks step; then
# 8. The model step, most telling first (one device call): device GEMMs and
# grouped forms from C++ (byte-equal to the host conveniences, captured
# into a CUDA graph and replayed), from Python (PyTorch and CuPy tensors,
# graphs, torch.compile, export, Linear), the call overhead, the grouped
# GEMM kernels against float64, and the sanitizer on the new paths.
export NVFP4_CACHE_DIR="$work/kernel-cache"
timeout 150 "$bin/NVFP4APITests" --gtest_filter='*APIDevice*' > "$logs/api-device.log" 2>&1
note "NVFP4APITests *APIDevice*: exit $? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)  \]' "$logs/api-device.log" | tr '\n' ' ')"
grep -E "Failure|FAILED|Which is|error|Expected|actual" "$logs/api-device.log" | head -30 >> "$summary"
(cd "$work" && NVFP4_TOOLS_DIR="$bin" PYTHONPATH="$work/python" timeout 200 python3 -m pytest -q -rs -x \
  test/python/test_gpu.py test/python/test_gpu_device.py test/python/test_torch_integration.py \
  test/python/test_matmul_package.py) > "$logs/pytest-step.log" 2>&1
note "pytest (GPU files): exit $? $(tail -1 "$logs/pytest-step.log")"
grep -E "^(SKIPPED|FAILED|ERROR)|Error|assert" "$logs/pytest-step.log" | head -40 >> "$summary"
timeout 90 "$bin/nvfp4-bench" --suite=calls > "$OUT/bench-calls.md" 2> "$logs/bench-calls.err"
note "nvfp4-bench --suite=calls: exit $? (bench-calls.md) $(head -c 300 "$logs/bench-calls.err")"
if [[ -f "$work/python/bench/call_overhead.py" ]]; then
  (cd "$work" && PYTHONPATH="$work/python" timeout 90 python3 python/bench/call_overhead.py --calls 1000) \
    > "$OUT/bench-python-calls.md" 2> "$logs/bench-python-calls.err"
  note "python/bench/call_overhead.py: exit $? (bench-python-calls.md) $(tail -c 300 "$logs/bench-python-calls.err")"
fi
if [[ -f "$work/examples/torch_linear.py" ]]; then
  (cd "$work" && PYTHONPATH="$work/python" timeout 60 python3 examples/torch_linear.py) \
    > "$OUT/torch-linear.txt" 2>&1
  note "examples/torch_linear.py: exit $? (torch-linear.txt)"
fi
timeout 120 "$bin/NVFP4GPUTests" --gtest_filter='*Grouped*Matmul*:*MatmulGrouped*' \
  > "$logs/gpu-grouped-gemm.log" 2>&1
note "NVFP4GPUTests grouped GEMM: exit $? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)  \]' "$logs/gpu-grouped-gemm.log" | tr '\n' ' ')"
grep -E "Failure|FAILED|Which is" "$logs/gpu-grouped-gemm.log" | head -20 >> "$summary"
bounded "$sanitizer" --tool memcheck --error-exitcode 3 "$bin/NVFP4APITests" \
  --gtest_filter='APIDeviceGroupedMatmul.*:APIDeviceGraph.*' > "$logs/sanitizer-memcheck-step.log" 2>&1
note "compute-sanitizer memcheck device GEMM/grouped/graph: exit $? ($(tail -1 "$logs/sanitizer-memcheck-step.log"))"
fi

if checks pipeline; then
# 9. The warp-specialized large-M GEMM (GemmPipeline with the TMA producer
# sm_100a shares; opt-in: --gemm-warp-specialized): every operand pair
# against float64, the sanitizers on ragged shapes and on a grid where
# persistent blocks loop over several tiles (M = 4096, N = 2048: 256 tiles
# on 132 SMs), then its speed next to the default kernel, cuBLAS and a
# profile.
gpuTests gpu-gemm 'Pairs/GPUMatmul.WarpSpecializedKernel/*'
for tool in memcheck racecheck synccheck; do
  timeout 150 "$sanitizer" --tool "$tool" --error-exitcode 3 "$bin/nvfp4-bench" --suite=gemm \
    --gemm-warp-specialized --gemm-m=300,1000 --gemm-n=300 --gemm-k=320 --iters=1 \
    > "$logs/sanitizer-$tool-pipeline.log" 2>&1
  note "compute-sanitizer $tool warp-specialized GEMM (ragged): exit $? ($(tail -1 "$logs/sanitizer-$tool-pipeline.log"))"
done
timeout 150 "$sanitizer" --tool memcheck --error-exitcode 3 "$bin/nvfp4-bench" --suite=gemm \
  --gemm-warp-specialized --gemm-m=4096 --gemm-n=2048 --gemm-k=128 --iters=1 \
  > "$logs/sanitizer-memcheck-persistent.log" 2>&1
note "compute-sanitizer memcheck persistent GEMM (256 tiles): exit $? ($(tail -1 "$logs/sanitizer-memcheck-persistent.log"))"
for ws in "" --gemm-warp-specialized; do
  timeout 120 "$bin/nvfp4-bench" --suite=gemm $ws --iters=10 --gemm-m=4096,8192 --gemm-moe=false \
    > "$OUT/bench-gemm${ws:+-ws}.md" 2> "$logs/bench-gemm${ws:+-ws}.err"
  note "nvfp4-bench --suite=gemm $ws: exit $? (bench-gemm${ws:+-ws}.md) $(tail -c 300 "$logs/bench-gemm${ws:+-ws}.err")"
done
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
timeout 120 "$ncu" --kernel-name regex:large_m --launch-count 1 --section SpeedOfLight \
  --section LaunchStats --section Occupancy --section WarpStateStats "$bin/nvfp4-bench" \
  --suite=gemm --gemm-warp-specialized --gemm-m=4096 --gemm-n=8192 --gemm-k=8192 --iters=1 \
  > "$OUT/ncu-pipeline.txt" 2>&1
note "ncu warp-specialized large-M GEMM: exit $? (ncu-pipeline.txt)"
fi

if checks producers; then
# 11. Producers fused into a quantize (SPEC.md section 15), sized for one
# device call: GPU bytes == CPU bytes for every preset, both producers,
# residual and y on and off, rows of any length; the fused-vs-unfused
# benchmark; the device API against the host forms; the sanitizers on the
# fused per-row kernel (shared-memory tree and row cache); the Python
# producers on GPU tensors.
export NVFP4_CACHE_DIR="$work/kernel-cache"
NVFP4_TEST_LIMIT=${NVFP4_TEST_LIMIT:-200} gpuTests gpu-producers '*Producer*:*ProducersAlone*'
timeout 100 "$bin/nvfp4-bench" --suite=producers --iters=10 \
  > "$OUT/bench-producers.md" 2> "$logs/bench-producers.err"
note "nvfp4-bench --suite=producers: exit $? (bench-producers.md) $(tail -c 300 "$logs/bench-producers.err")"
timeout 60 "$bin/NVFP4APITests" --gtest_filter='*APIDeviceProducer*' > "$logs/api-producers.log" 2>&1
note "NVFP4APITests *APIDeviceProducer*: exit $? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)  \]' "$logs/api-producers.log" | tr '\n' ' ')"
grep -E "Failure|FAILED" "$logs/api-producers.log" | head -20 >> "$summary"
for tool in memcheck racecheck; do
  timeout 75 "$sanitizer" --tool "$tool" --error-exitcode 3 "$bin/NVFP4GPUTests" \
    --gtest_filter='Recipes/ProducerGPUvsCPU.BytesMatch/per_token' \
    > "$logs/sanitizer-$tool-producers.log" 2>&1
  note "compute-sanitizer $tool producers (per_token row kernel): exit $? ($(tail -1 "$logs/sanitizer-$tool-producers.log"))"
done
if [ -f "$work/test/python/test_producers.py" ]; then
  (cd "$work" && NVFP4_TOOLS_DIR="$bin" PYTHONPATH="$work/python" timeout 120 python3 -m pytest -q -rs \
    -k "cuda or cupy" test/python/test_producers.py) > "$logs/pytest-producers.log" 2>&1
  note "pytest test_producers.py (GPU): exit $? $(tail -1 "$logs/pytest-producers.log")"
  grep -E "^(FAILED|ERROR)|Error|assert" "$logs/pytest-producers.log" | head -20 >> "$summary"
fi
fi

if checks pdl; then
# 12. Programmatic dependent launch (docs/Rationale.md): chains of dependent
# kernels back to back with it off and on, eagerly and from captured CUDA
# graphs (byte-equal); the whole device API suite once more with it off
# (NVFP4_PDL=0; part 8 runs it with PDL on, the default); racecheck on the chains;
# the decode-shape table of --suite=calls (off and on in one process).
export NVFP4_CACHE_DIR="$work/kernel-cache"
timeout 120 "$bin/NVFP4APITests" --gtest_filter='*DependentLaunch*' > "$logs/api-pdl.log" 2>&1
note "NVFP4APITests *DependentLaunch*: exit $? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)  \]' "$logs/api-pdl.log" | tr '\n' ' ')"
grep -E "Failure|FAILED|Which is|Skipped|error" "$logs/api-pdl.log" | head -30 >> "$summary"
NVFP4_PDL=0 timeout 150 "$bin/NVFP4APITests" --gtest_filter='*APIDevice*' > "$logs/api-device-nopdl.log" 2>&1
note "NVFP4_PDL=0 NVFP4APITests *APIDevice*: exit $? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)  \]' "$logs/api-device-nopdl.log" | tr '\n' ' ')"
grep -E "Failure|FAILED|Which is" "$logs/api-device-nopdl.log" | head -20 >> "$summary"
bounded "$sanitizer" --tool racecheck --error-exitcode 3 "$bin/NVFP4APITests" \
  --gtest_filter='Shapes/APIDeviceDependentLaunchSteps.SameBytesWithAndWithout/m16' \
  > "$logs/sanitizer-racecheck-pdl.log" 2>&1
note "compute-sanitizer racecheck PDL steps (M = 16): exit $? ($(tail -1 "$logs/sanitizer-racecheck-pdl.log"))"
timeout 120 "$bin/nvfp4-bench" --suite=calls > "$OUT/bench-calls-pdl.md" 2> "$logs/bench-calls-pdl.err"
note "nvfp4-bench --suite=calls: exit $? (bench-calls-pdl.md) $(head -c 300 "$logs/bench-calls-pdl.err")"
fi

if checks training; then
# 13. Training with NVFP4 recipes (docs/Training.md): the recipe tests and
# the PyTorch TrainingLinear tests on the GPU (each GEMM vs float64,
# gradients vs a fake-quant reference, reproducibility, torch.compile), the
# Linear step benchmark (bf16 vs NVFP4 vs the PyTorch emulation at
# M = N = K = 4096) and the MLP example (loss curves of bf16 and two
# recipes: train-mlp.txt, train_mlp_loss.png; then te_default with the
# first and last Linear kept in bf16, in the logs). Bounds add up to 9 min.
export NVFP4_CACHE_DIR="$work/kernel-cache"
(cd "$work" && NVFP4_TOOLS_DIR="$bin" PYTHONPATH="$work/python" timeout 200 python3 -m pytest -q -rs \
  test/python/test_training.py test/python/test_training_torch.py) > "$logs/pytest-training.log" 2>&1
note "pytest test_training*.py: exit $? $(tail -1 "$logs/pytest-training.log")"
grep -E "^(SKIPPED|FAILED|ERROR)|Error|assert" "$logs/pytest-training.log" | head -30 >> "$summary"
(cd "$work" && PYTHONPATH="$work/python" timeout 90 python3 python/bench/train_step.py) \
  > "$OUT/bench-train-step.md" 2> "$logs/bench-train-step.err"
note "python/bench/train_step.py: exit $? (bench-train-step.md) $(tail -c 300 "$logs/bench-train-step.err")"
(cd "$work" && PYTHONPATH="$work/python" timeout 150 python3 examples/train_mlp.py \
  --steps "${NVFP4_TRAIN_STEPS:-400}" --png "$OUT/train_mlp_loss.png" \
  --losses "$logs/train-mlp-losses.json") > "$OUT/train-mlp.txt" 2>&1
note "examples/train_mlp.py: exit $? (train-mlp.txt, train_mlp_loss.png) $(grep -E '^\| (bf16|te_default|per_token_4over6) ' "$OUT/train-mlp.txt" | tr '\n' ' ')"
(cd "$work" && PYTHONPATH="$work/python" timeout 100 python3 examples/train_mlp.py \
  --steps "${NVFP4_TRAIN_STEPS:-400}" --recipes te_default --high-precision 0,6 \
  --png "$logs/train_mlp_loss_hp.png") > "$logs/train-mlp-hp.txt" 2>&1
note "examples/train_mlp.py --high-precision 0,6: exit $? $(grep -E '^\| (bf16|te_default) ' "$logs/train-mlp-hp.txt" | tr '\n' ' ')"
fi

if checks predecoded; then
# 16. sm_90a's predecoded large-M GEMM (the default; GPURunner::create's
# predecodedGemm, NVFP4_GEMM_PREDECODE=0 or 1 for any runner): gemm_decode(A) and gemm_decode(B)
# fill 16-bit workspaces that the runtime allocates and frees
# stream-ordered, then the workspace kernel multiplies them. Every
# `*Predecoded*` test (operand pairs and W4A16 against float64, NaN/Inf
# against the CPU lowering, a CUDA graph capture and its replays),
# memcheck on the graph case (stream-ordered workspaces as graph nodes)
# and on ragged large-M shapes, then the GEMM table with it and, for
# comparison, the in-loop kernel (NVFP4_GEMM_PREDECODE=0) at M = 4096. The grouped (MoE) table is
# left out: the grouped GEMM has no predecoded form. Then the warp-specialized
# predecoded kernel's table (its tests are among `*Predecoded*`). Bounds
# add up to 390 s.
export NVFP4_CACHE_DIR="$work/kernel-cache"
NVFP4_TEST_LIMIT=${NVFP4_TEST_LIMIT:-140} gpuTests gpu-predecoded '*Predecoded*'
timeout 55 "$sanitizer" --tool memcheck --error-exitcode 3 "$bin/NVFP4GPUTests" \
  --gtest_filter='GPUMatmulPredecoded.CapturedInAGraph' \
  > "$logs/sanitizer-memcheck-predecoded.log" 2>&1
note "compute-sanitizer memcheck predecoded GEMM in a graph (513 x 392 x 320): exit $? ($(tail -1 "$logs/sanitizer-memcheck-predecoded.log"))"
NVFP4_GEMM_PREDECODE=1 timeout 40 "$sanitizer" --tool memcheck --error-exitcode 3 \
  "$bin/nvfp4-bench" --suite=gemm --gemm-m=300,1000 --gemm-n=300 --gemm-k=336 \
  --iters=1 > "$logs/sanitizer-memcheck-predecoded-ragged.log" 2>&1
note "compute-sanitizer memcheck predecoded GEMM (ragged, K = 336): exit $? ($(tail -1 "$logs/sanitizer-memcheck-predecoded-ragged.log"))"
NVFP4_GEMM_PREDECODE=1 timeout 80 "$bin/nvfp4-bench" --suite=gemm --iters=20 \
  --gemm-m=128,4096,8192 --gemm-moe=false \
  > "$OUT/bench-gemm-predecoded.md" 2> "$logs/bench-gemm-predecoded.err"
note "NVFP4_GEMM_PREDECODE=1 nvfp4-bench --suite=gemm: exit $? (bench-gemm-predecoded.md) $(tail -c 300 "$logs/bench-gemm-predecoded.err")"
NVFP4_GEMM_PREDECODE=1 timeout 40 "$bin/nvfp4-bench" --suite=gemm --iters=20 \
  --gemm-warp-specialized --gemm-m=4096,8192 --gemm-moe=false \
  > "$OUT/bench-gemm-predecoded-ws.md" 2> "$logs/bench-gemm-predecoded-ws.err"
note "NVFP4_GEMM_PREDECODE=1 nvfp4-bench --suite=gemm --gemm-warp-specialized (the warp-specialized predecoded kernel): exit $? (bench-gemm-predecoded-ws.md) $(tail -c 300 "$logs/bench-gemm-predecoded-ws.err")"
NVFP4_GEMM_PREDECODE=0 timeout 35 "$bin/nvfp4-bench" --suite=gemm --iters=20 --gemm-m=4096 --gemm-moe=false \
  > "$OUT/bench-gemm-in-loop.md" 2> "$logs/bench-gemm-in-loop.err"
note "NVFP4_GEMM_PREDECODE=0 nvfp4-bench --suite=gemm (the in-loop large-M kernel): exit $? (bench-gemm-in-loop.md) $(tail -c 300 "$logs/bench-gemm-in-loop.err")"
# M = 4096 side by side: NVFP4 microseconds, predecoded then in-loop.
for n_k in "8192, K = 8192" "4096, K = 4096"; do
  for f in predecoded in-loop; do
    awk -v shape="N = $n_k," '/^NVFP4 GEMM/ { on = index($0, shape) > 0 }
      on && /^\| `/ && $0 ~ /\| 4096 \|/ { split($0, c, "|"); printf "%s x%s %s us;", c[2], c[3], c[5] }' \
      "$OUT/bench-gemm-$f.md" > "$logs/m4096-$f.txt"
    note "M = 4096, N = $n_k, $f: $(cat "$logs/m4096-$f.txt")"
  done
done
fi

if [[ $part == quick ]]; then
# 10. A sample of every family in one device call (about 8 minutes), for a
# session whose device time is short: quantize GPU == CPU for per-tensor,
# per-token and stochastic recipes and given amaxes, the GEMMs against
# float64 (W4A16 and two W4A4 pairs, large M included), the device API,
# the Python GPU paths, the sanitizers on the large-M GEMM and the GEMM
# tables next to cuBLAS.
export NVFP4_CACHE_DIR="$work/kernel-cache"
NVFP4_TEST_LIMIT=150 gpuTests quick-quantize \
  'Recipes/GPUvsCPU.BytesMatch/0:Recipes/GPUvsCPU.BytesMatch/3:Recipes/GPUvsCPU.BytesMatch/22:Recipes/GivenAmaxGPUvsCPU.*:GPUTestVectors.*:GPUAmax.*'
NVFP4_TEST_LIMIT=150 gpuTests quick-gemm \
  'GPUMatmulW4A16*:Pairs/GPUMatmul.MatchesFloat64Reference/0:Pairs/GPUMatmul.MatchesFloat64Reference/1'
timeout 60 "$bin/NVFP4APITests" --gtest_filter='*APIDevice*' > "$logs/api-device.log" 2>&1
note "NVFP4APITests *APIDevice*: exit $? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)  \]' "$logs/api-device.log" | tr '\n' ' ')"
grep -E "Failure|FAILED" "$logs/api-device.log" | head -20 >> "$summary"
(cd "$work" && NVFP4_TOOLS_DIR="$bin" PYTHONPATH="$work/python" timeout 90 python3 -m pytest -q -rs -x \
  test/python/test_gpu_device.py test/python/test_given_amax.py test/python/test_matmul_w4a16.py) \
  > "$logs/pytest-quick.log" 2>&1
note "pytest (device, given amax, W4A16): exit $? $(tail -1 "$logs/pytest-quick.log")"
grep -E "^(FAILED|ERROR)|Error|assert" "$logs/pytest-quick.log" | head -20 >> "$summary"
timeout 60 "$sanitizer" --tool racecheck --error-exitcode 3 "$bin/nvfp4-bench" --suite=gemm \
  --gemm-m=300,1000 --gemm-n=300 --gemm-k=320 --iters=1 > "$logs/sanitizer-racecheck-quick.log" 2>&1
note "compute-sanitizer racecheck large-M GEMM: exit $? ($(tail -1 "$logs/sanitizer-racecheck-quick.log"))"
timeout 150 "$bin/nvfp4-bench" --suite=gemm --iters=10 --gemm-m=1,16,128,4096,8192 \
  > "$OUT/bench-gemm.md" 2> "$logs/bench-gemm.err"
note "nvfp4-bench --suite=gemm: exit $? (bench-gemm.md) $(tail -c 300 "$logs/bench-gemm.err")"
fi

# The Nsight Compute sections of the GEMM profiles (parts 14, 15).
sections=(--section SpeedOfLight --section Occupancy --section LaunchStats
          --section SchedulerStats --section WarpStateStats
          --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis)
if [[ $part == profile ]]; then
# 14. Why the GEMMs miss their targets, measured: Nsight Compute on every
# GEMM kernel launch of the bench's pairs at M = 1 and 16 (direct kernels)
# and M = 8192 (the wgmma software pipeline), N = K = 8192; the small-M
# table with programmatic dependent launch off and on (its share of the
# small-M times, with NVFP4_PROFILE_PDL=1); the quantize suite's decode-time
# shapes and the grouped (MoE) table for two recipes. Text reports come back as ncu-*.txt.
export NVFP4_CACHE_DIR="$work/kernel-cache"
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
timeout 240 "$ncu" --kernel-name regex:gemm_ "${sections[@]}" "$bin/nvfp4-bench" --suite=gemm \
  --gemm-m=1,16 --gemm-n=8192 --gemm-k=8192 --iters=1 > "$OUT/ncu-gemm-small-m.txt" 2>&1
note "ncu GEMM M = 1, 16: exit $? ($(grep -c 'Duration' "$OUT/ncu-gemm-small-m.txt") kernels)"
timeout 150 "$ncu" --kernel-name regex:gemm_ "${sections[@]}" "$bin/nvfp4-bench" --suite=gemm \
  --gemm-m=8192 --gemm-n=8192 --gemm-k=8192 --iters=1 > "$OUT/ncu-gemm-large-m.txt" 2>&1
note "ncu GEMM M = 8192: exit $? ($(grep -c 'Duration' "$OUT/ncu-gemm-large-m.txt") kernels)"
if [[ -n ${NVFP4_PROFILE_PDL:-} ]]; then
for pdl in 0 1; do
  NVFP4_PDL=$pdl timeout 100 "$bin/nvfp4-bench" --suite=gemm --iters=20 --gemm-m=1,16 \
    --gemm-n=8192,4096 --gemm-k=8192,4096 > "$OUT/bench-gemm-pdl$pdl.md" 2> "$logs/bench-gemm-pdl$pdl.err"
  note "GEMM bench M = 1, 16, NVFP4_PDL=$pdl: exit $? (bench-gemm-pdl$pdl.md)"
done
fi
timeout 200 "$bin/nvfp4-bench" --iters=20 --recipe=per_token --recipe=local_1x64 --m=1,16 \
  --k=4096,8192 > "$OUT/bench-decode-moe.md" \
  2> "$logs/bench-decode-moe.err"
note "quantize bench decode shapes + grouped (MoE): exit $? (bench-decode-moe.md) $(tail -c 300 "$logs/bench-decode-moe.err")"
fi

# 15. A session's final checks in one device call (`final`), or only its
# correctness suites (`final-tests`).
sharded() { # name gtest-filter limit [shards]: in parallel, own caches
  local start=$SECONDS i n=${4:-4}
  for ((i = 0; i < n; ++i)); do
    GTEST_TOTAL_SHARDS=$n GTEST_SHARD_INDEX=$i NVFP4_CACHE_DIR="$work/kc$i" \
      timeout "$3" "$bin/NVFP4GPUTests" --gtest_filter="$2" \
      > "$logs/$1-$i.log" 2>&1 &
  done
  wait
  for ((i = 0; i < n; ++i)); do
    note "$1 shard $i: $(grep -E '^\[(==========|  PASSED  |  FAILED  |  SKIPPED )\] [0-9]+ test' "$logs/$1-$i.log" | tr '\n' ' ') $(tail -1 "$logs/$1-$i.log" | head -c 120)"
    grep -E "FAILED|Failure|mismatch|differs|Which is" "$logs/$1-$i.log" | head -20 >> "$summary"
  done
  note "$1: $((SECONDS - start)) s"
}
# The quantize and GEMM suites at once (4 + 10 processes on the 16 cores:
# the GEMM tests spend most of their time compiling kernels): quantize-filter
# gemm-filter limit.
bothSuites() {
  sharded quantize "$1" "$3" 4 &
  sharded gemm "$2" "$3" 10 &
  wait
}
if [[ $part == final-tests ]]; then
# Only the two correctness suites, for a call with little device time left.
# Then, if the call's time allows, the GEMM table.
bothSuites 'Recipes/GPUvsCPU.*:GPUvsCPURHT.*:GPUTestVectors.*:Recipes/GivenAmaxGPUvsCPU.*' \
  '*EveryClusterSplit*:Pairs/GPUMatmul.*:*W4A16*' 150
tar -czf "$OUT/logs-tests.tar.gz" -C "$work" logs
export NVFP4_CACHE_DIR="$work/kc0"
timeout 70 "$bin/nvfp4-bench" --suite=gemm --iters=5 --gemm-m=1,16,128,4096,8192 \
  > "$OUT/bench-gemm.md" 2> "$logs/bench-gemm.err"
note "nvfp4-bench --suite=gemm: exit $? (bench-gemm.md) $(tail -c 200 "$logs/bench-gemm.err")"
fi
if [[ $part == final ]]; then
# Everything of a session's last run in one call, most important first
# (a call cut short by the device budget keeps what finished): quantize
# GPU == CPU and the GEMMs against float64 at once (eight processes),
# memcheck of the predecoded GEMM in a graph and of the cluster-split
# GEMMs, the GEMM table next to cuBLAS (default kernels, then the
# predecoded large-M kernel), the quantize table (issue shapes, decode shapes, grouped) and Nsight Compute
# of the large-M kernel.
bothSuites 'Recipes/GPUvsCPU.*:Recipes/GivenAmaxGPUvsCPU.*:Recipes/GroupedGPUvsCPU.*:Recipes/DequantizeGPUvsCPU.*:GPUTestVectors.*:GPUvsCPURHT.*:GPUAmax.*' \
  '*Matmul*:*W4A16*:*Predecoded*:Recipes/ProducerGPUvsCPU.*' 200
tar -czf "$OUT/logs-tests.tar.gz" -C "$work" logs
export NVFP4_CACHE_DIR="$work/kc0"
timeout 45 "$sanitizer" --tool memcheck --error-exitcode 3 "$bin/NVFP4GPUTests" \
  --gtest_filter='GPUMatmulPredecoded.CapturedInAGraph' \
  > "$logs/sanitizer-memcheck-predecoded.log" 2>&1
note "compute-sanitizer memcheck predecoded GEMM in a graph: exit $? ($(tail -1 "$logs/sanitizer-memcheck-predecoded.log"))"
NVFP4_GEMM_SPLIT_K=4 timeout 30 "$sanitizer" --tool memcheck --error-exitcode 3 "$bin/nvfp4-bench" --suite=gemm \
  --gemm-m=1,13,200 --gemm-n=300 --gemm-k=1040 --iters=1 > "$logs/sanitizer-memcheck-split.log" 2>&1
note "compute-sanitizer memcheck direct GEMMs, clusters of 4: exit $? ($(tail -1 "$logs/sanitizer-memcheck-split.log"))"
timeout 75 "$bin/nvfp4-bench" --suite=gemm --iters=5 --gemm-m=1,16,128,4096,8192 \
  > "$OUT/bench-gemm.md" 2> "$logs/bench-gemm.err"
note "nvfp4-bench --suite=gemm: exit $? (bench-gemm.md) $(tail -c 200 "$logs/bench-gemm.err")"
NVFP4_GEMM_PREDECODE=0 timeout 60 "$bin/nvfp4-bench" --suite=gemm --iters=5 \
  --gemm-m=4096,8192 --gemm-moe=false \
  > "$logs/bench-gemm-in-loop.md" 2> "$logs/bench-gemm-in-loop.err"
note "NVFP4_GEMM_PREDECODE=0 nvfp4-bench --suite=gemm (the in-loop large-M kernel): exit $? (logs/bench-gemm-in-loop.md) $(tail -c 200 "$logs/bench-gemm-in-loop.err")"
timeout 90 "$bin/nvfp4-bench" --iters=10 --m=1,16,8192,32768 --k=8192 > "$OUT/bench.md" \
  2> "$logs/bench.err"
note "nvfp4-bench (quantize): exit $? ($(grep -c '^| `' "$OUT/bench.md") cases, bench.md) $(tail -c 200 "$logs/bench.err")"
timeout 25 "$bin/nvfp4-bench" --iters=20 --m=1,16 --k=4096 --moe-groups=0 > "$logs/bench-decode-4096.md" \
  2> "$logs/bench-decode-4096.err"
note "nvfp4-bench (quantize, decode shapes at K = 4096): exit $? (logs/bench-decode-4096.md)"
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
# The predecoded GEMM's three kernels (decode A, decode B, the GEMM) of
# the bench's first pair at M = 8192, and the direct kernel at M = 16.
timeout 45 "$ncu" --kernel-name regex:gemm_ --launch-skip 0 --launch-count 3 "${sections[@]}" \
  "$bin/nvfp4-bench" --suite=gemm --gemm-m=8192 --gemm-n=8192 --gemm-k=8192 --iters=1 \
  > "$OUT/ncu-gemm-large-m.txt" 2>&1
note "ncu GEMM M = 8192 (per_tensor pair, predecoded): exit $? ($(grep -c 'Duration' "$OUT/ncu-gemm-large-m.txt") kernels)"
timeout 30 "$ncu" --kernel-name regex:gemm_ --launch-skip 0 --launch-count 1 "${sections[@]}" \
  "$bin/nvfp4-bench" --suite=gemm --gemm-m=16 --gemm-n=8192 --gemm-k=8192 --iters=1 \
  > "$logs/ncu-gemm-m16.txt" 2>&1
note "ncu GEMM M = 16 (per_tensor pair): exit $? ($(grep -c 'Duration' "$logs/ncu-gemm-m16.txt") kernels)"
fi
if [[ $part == large-m ]]; then
# 17. The default large-M GEMM after a change to it, in one call: its GPU
# tests and those of the in-loop kernels (12 shards) while the device API
# tests and the Python GPU files run beside them (they reach the default
# kernel through their own runners), then the large-M table with the
# default kernel and with the in-loop one (NVFP4_GEMM_PREDECODE=0).
export NVFP4_CACHE_DIR="$work/kernel-cache"
sharded large-m '*Predecoded*:Pairs/GPUMatmul.MatchesFloat64Reference/*:Pairs/GPUMatmul.WarpSpecializedKernel/*:GPUMatmulW4A16.*:GPUCompileMatmul*' 200 12 &
timeout 200 "$bin/NVFP4APITests" --gtest_filter='*APIDevice*' > "$logs/api-device.log" 2>&1
note "NVFP4APITests *APIDevice*: exit $? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)  \]' "$logs/api-device.log" | tr '\n' ' ')"
grep -E "Failure|FAILED|Which is" "$logs/api-device.log" | head -20 >> "$summary"
(cd "$work" && NVFP4_TOOLS_DIR="$bin" PYTHONPATH="$work/python" timeout 200 python3 -m pytest -q -rs \
  test/python/test_gpu_device.py test/python/test_torch_integration.py \
  test/python/test_matmul_package.py test/python/test_matmul_w4a16.py) > "$logs/pytest-large-m.log" 2>&1
note "pytest (device GEMMs, torch ops, W4A16): exit $? $(tail -1 "$logs/pytest-large-m.log")"
grep -E "^(FAILED|ERROR)|Error|assert" "$logs/pytest-large-m.log" | head -20 >> "$summary"
wait
timeout 60 "$bin/nvfp4-bench" --suite=gemm --iters=10 --gemm-m=4096,8192 --gemm-moe=false \
  > "$OUT/bench-gemm-large-m.md" 2> "$logs/bench-gemm-large-m.err"
note "nvfp4-bench --suite=gemm (default large-M kernel): exit $? (bench-gemm-large-m.md) $(tail -c 200 "$logs/bench-gemm-large-m.err")"
timeout 40 "$bin/nvfp4-bench" --suite=gemm --iters=10 --gemm-m=4096,8192 --gemm-moe=false \
  --gemm-warp-specialized > "$logs/bench-gemm-large-m-ws.md" 2> "$logs/bench-gemm-large-m-ws.err"
note "nvfp4-bench --suite=gemm --gemm-warp-specialized (warp-specialized predecoded): exit $?"
NVFP4_GEMM_PREDECODE=0 timeout 40 "$bin/nvfp4-bench" --suite=gemm --iters=10 --gemm-m=4096,8192 \
  --gemm-moe=false > "$logs/bench-gemm-in-loop.md" 2> "$logs/bench-gemm-in-loop.err"
note "NVFP4_GEMM_PREDECODE=0 nvfp4-bench --suite=gemm (in-loop): exit $?"
for f in "$OUT/bench-gemm-large-m.md" "$logs/bench-gemm-large-m-ws.md" "$logs/bench-gemm-in-loop.md"; do
  note "$(basename "$f"): $(grep -E '^\| `per_tensor` \| `per_tensor` \||^\| `bf16` \| `per_tensor` \|' "$f" | awk -F'|' '{printf "%s x%s M=%s %s us %s;", $2, $3, $4, $5, $9}')"
done
fi

tar -czf "$OUT/logs-$part.tar.gz" -C "$work" logs
rm -rf "$work"
