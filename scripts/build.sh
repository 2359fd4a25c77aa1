#!/usr/bin/env bash
# Set up (if needed), configure and build nvfp4-mlir into build/ (binaries in
# build/bin). Incremental: rerunning rebuilds only what changed.
#
#   scripts/build.sh [ninja targets...]
#   NVFP4_STATIC=ON scripts/build.sh   # self-contained binaries in build-static/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"

static=${NVFP4_STATIC:-OFF}
build="$root/build"
[[ $static == ON ]] && build="$root/build-static"

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DPython3_EXECUTABLE="$root/.venv/bin/python" \
    -DNVFP4_STATIC="$static"
fi
# Two jobs: MLIR headers peak near 2 GB per compile.
ninja -C "$build" -j "${NVFP4_JOBS:-2}" "$@"
