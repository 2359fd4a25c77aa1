#!/usr/bin/env bash
# Packs the static GPU-side binaries (stripped, xz) for the device machine:
# build-static/dist/nvfp4-device.tar.xz, small enough to carry.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$root/build-static/dist"
for f in bin/nvfp4-quantize bin/nvfp4-bench unittests/NVFP4GPUTests; do
  /usr/lib/llvm-22/bin/llvm-strip -o "$stage/bin/$(basename "$f")" "$root/build-static/$f"
done
tar -C "$stage" -cJf "$root/build-static/dist/nvfp4-device.tar.xz" bin
ls -la "$root/build-static/dist/nvfp4-device.tar.xz"
