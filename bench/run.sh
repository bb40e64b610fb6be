#!/usr/bin/env bash
# Runs every benchmark suite there is: bench/*/run.sh (container now; wasm, vm later), in name
# order. Benchmarks are not tests: each prints its figures; the exit status is non-zero when a
# suite could not run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export ISOLA=${ISOLA:-$(cd "$here/.." && pwd)/build/isola}
rc=0
found=0
for suite in "$here"/*/run.sh; do
  [ -f "$suite" ] || continue
  found=1
  name=$(basename "$(dirname "$suite")")
  echo "== bench/$name"
  bash "$suite" || { echo "bench/$name: failed (exit $?)"; rc=1; }
  echo
done
[ "$found" -eq 1 ] || echo "no benchmarks found under $here"
exit $rc
