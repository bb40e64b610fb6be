#!/usr/bin/env bash
# Container start-up benchmark: `run` of /bin/true from one busybox bundle under isola, runc
# and crun, paired rounds (BENCH_ROUNDS, default 20), median wall time, ratios to crun and peak
# RSS, printed as a markdown table for the README. See bench.py for how each figure is taken.
#   ISOLA=build/isola BENCH_ROUNDS=20 bench/container/run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export ISOLA=${ISOLA:-$(cd "$here/../.." && pwd)/build/isola}
exec python3 "$here/bench.py" "$@"
