#!/usr/bin/env bash
# Set up, build and run every test: the lit suite (IR, target and execution
# tests; those whose tools or devices are missing report UNSUPPORTED), the
# C++ unit tests and the Python tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
start=$SECONDS
"$root/scripts/build.sh" all

status=0
echo "== lit"
/usr/lib/llvm-22/bin/lit -sv "$root/build/test" || status=1
echo "== unit tests"
(cd "$root/build" && ctest --output-on-failure) || status=1
if compgen -G "$root/test/python/test_*.py" > /dev/null; then
  echo "== python"
  (cd "$root" && PYTHONPATH="$root/python" "$root/.venv/bin/python" -m pytest -q test/python) || status=1
fi
echo "test.sh: $(( SECONDS - start )) s, $([[ $status == 0 ]] && echo PASSED || echo FAILED)"
exit $status
