#!/usr/bin/env bash
# vm engine benchmark: `isola --isolation=vm run` of /bin/true, the bare-QEMU floor under it (the
# same QEMU command line, the agent powering off at once) and the container engine, in paired
# rounds (BENCH_ROUNDS, default 5); medians, vm/floor ratio, QEMU peak RSS, as a markdown table.
# See bench.py for how each figure is taken.
#   ISOLA=build/isola BENCH_ROUNDS=5 bench/vm/run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export ISOLA=${ISOLA:-$(cd "$here/../.." && pwd)/build/isola}
exec python3 "$here/bench.py" "$@"
