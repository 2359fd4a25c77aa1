#!/usr/bin/env bash
# Packs the static GPU-side programs (stripped) and the Python package with
# its self-contained libnvfp4_capi.so for the device machine:
# build-static/dist/nvfp4-device.tar.xz, small enough to carry (64 MiB).
#
# The binaries each hold most of the same static MLIR/LLVM code, so they are
# packed as one xz stream whose dictionary spans several of them: every copy
# after the first compresses to a fraction of its size.
#
# On the device machine: tar -xJf nvfp4-device.tar.xz
#   bin/{nvfp4-quantize,nvfp4-matmul,nvfp4-bench,jit_quantize}, bin/{NVFP4GPUTests,NVFP4APITests},
#   python/nvfp4 (PYTHONPATH=python), test/python and examples/*.mlir (the
#   pytest suite: NVFP4_TOOLS_DIR=bin python3 -m pytest test/python),
#   examples/*.py and python/bench (the PyTorch example and benchmark).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-static"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/python/nvfp4" "$stage/test" "$build/dist"
strip=/usr/lib/llvm-22/bin/llvm-strip
for f in bin/nvfp4-quantize bin/nvfp4-matmul bin/nvfp4-bench bin/jit_quantize \
         unittests/NVFP4GPUTests unittests/NVFP4APITests; do
  $strip -o "$stage/bin/$(basename "$f")" "$build/$f"
done
$strip -o "$stage/python/nvfp4/libnvfp4_capi.so" "$build/lib/libnvfp4_capi.so"
cp "$root"/python/nvfp4/*.py "$stage/python/nvfp4/"
cp -r "$root/test/python" "$stage/test/python"
mkdir -p "$stage/examples" "$stage/python/bench"
cp "$root"/examples/*.mlir "$stage/examples/"
# The PyTorch example and the Python call-overhead benchmark.
for py in "$root"/examples/*.py "$root"/python/bench/*.py; do
  [[ -f $py ]] || continue
  dest=$stage/examples
  [[ $py == */python/bench/* ]] && dest=$stage/python/bench
  cp "$py" "$dest/"
done
rm -rf "$stage/test/python/__pycache__"
# Largest first so the later copies find the shared code in the window.
tar -C "$stage" -cf - bin python test examples |
  xz -T1 --lzma2=preset=3,dict=256MiB > "$build/dist/nvfp4-device.tar.xz"
ls -la "$build/dist/nvfp4-device.tar.xz"
