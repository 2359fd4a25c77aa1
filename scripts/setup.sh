#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test nvfp4-mlir.
# Idempotent and non-interactive: a second run checks and does nothing.
#
#   scripts/setup.sh            # system packages (root or sudo) + .venv
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# MLIR/LLVM 22 (Debian), the build tools, GoogleTest. clang-22 compiles MLIR
# headers ~25% faster and in half the memory of g++ 12; lld-22 links the
# static build.
packages=(libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools clang-22
          lld-22 cmake ninja-build ccache libgtest-dev python3-venv
          zlib1g-dev libzstd-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
# python3-venv is only needed when the interpreter cannot make a venv itself
# (a pyenv or other non-Debian python can).
if [[ " ${missing[*]} " == *" python3-venv "* ]] && python3 -m venv --help >/dev/null 2>&1; then
  missing=("${missing[@]/python3-venv}")
fi
read -r -a missing <<< "${missing[*]}"
if (( ${#missing[@]} )); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) != 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python packages for the lit suite, Python tests and tools, in .venv.
venv="$root/.venv"
req="$root/scripts/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
if [[ ! -f "$stamp" || $(cat "$stamp") != "$want" ]]; then
  echo "setup: installing Python packages into .venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
