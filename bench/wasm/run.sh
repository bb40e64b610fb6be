#!/usr/bin/env bash
# The wasm benchmarks: CPU-bound C programs of our own, built natively (clang -O2) and for
# wasm32-wasi (clang -O2), run natively, under `isola wasm run` and under node 20's WASI (V8).
# Every wasm run must print exactly what the native build printed (its checksum line). Prints
# median wall times over BENCH_ROUNDS rounds with their ratio to native and the geometric mean
# of the ratios, then cold start (hello world, median of COLD_RUNS runs), then the same as a
# markdown table for a README.
#
# usage: bench/wasm/run.sh [PROGRAM...]      (default: every bench/wasm/*.c but hello)
# env:   ISOLA (default build/isola), BENCH_ROUNDS (5), COLD_RUNS (30), NODE (node), CLANG (clang)
# exit:  1 if any run printed the wrong checksum or failed; an engine that is missing (no isola
#        binary, no node >= 20) is reported as "n/a", not as a failure.
set -uo pipefail
export LC_ALL=C # EPOCHREALTIME and awk must agree on the decimal point

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
ISOLA=${ISOLA:-$top/build/isola}
NODE=${NODE:-node}
CLANG=${CLANG:-clang}
rounds=${BENCH_ROUNDS:-5}
cold_runs=${COLD_RUNS:-30}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ $# -gt 0 ]; then
  programs=("$@")
else
  programs=()
  for f in "$here"/*.c; do
    p=$(basename "$f" .c)
    [ "$p" = hello ] || programs+=("$p")
  done
fi

# ---- build ----------------------------------------------------------------------------------
mkdir -p "$work/sysroot/include" "$work/sysroot/lib"
ln -s /usr/include/wasm32-wasi "$work/sysroot/include/wasm32-wasi"
ln -s /usr/lib/wasm32-wasi "$work/sysroot/lib/wasm32-wasi"
for p in "${programs[@]}" hello; do
  src=$here/$p.c
  [ -f "$src" ] || { echo "run.sh: no program \`$src\`" >&2; exit 2; }
  "$CLANG" -O2 -Wall -Wextra -Werror "$src" -o "$work/$p.native" -lm ||
    { echo "run.sh: native build of $p failed" >&2; exit 2; }
  "$CLANG" --target=wasm32-wasi --sysroot="$work/sysroot" -O2 -Wall -Wextra -Werror \
    -Wl,--strip-debug "$src" -o "$work/$p.wasm" ||
    { echo "run.sh: wasm32-wasi build of $p failed (clang lld wasi-libc" \
        "libclang-rt-14-dev-wasm32 installed?)" >&2; exit 2; }
done

# ---- engines --------------------------------------------------------------------------------
# engine_cmd ENGINE PROGRAM: the command line that runs PROGRAM under ENGINE.
engine_cmd() {
  case $1 in
  native) echo "$work/$2.native" ;;
  isola) echo "$ISOLA wasm run $work/$2.wasm" ;;
  # --no-turbo-fast-api-calls: node 20's fast WASI calls segfault at random on exit
  # (nodejs/node#53087); the programs make a handful of WASI calls, so speed is unaffected.
  node) echo "$NODE --no-warnings --no-turbo-fast-api-calls $here/run-node.mjs $work/$2.wasm" ;;
  esac
}

engines=(native)
declare -A missing
if [ -x "$ISOLA" ] && [ "$($(engine_cmd isola hello) 2>/dev/null)" = "hello, world" ]; then
  engines+=(isola)
else
  missing[isola]="no working \`isola wasm run\` at $ISOLA"
fi
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -ge 20 ] && [ "$($(engine_cmd node hello) 2>/dev/null)" = "hello, world" ]; then
  engines+=(node)
  node_version=$("$NODE" --version)
else
  missing[node]="node >= 20 with node:wasi not found"
  node_version="node 20"
fi
for e in isola node; do
  [ -n "${missing[$e]:-}" ] && echo "note: $e not run: ${missing[$e]}"
done

# ---- measure --------------------------------------------------------------------------------
# time_run OUT CMD...: runs CMD (split on spaces) with stdout in OUT; prints the wall seconds.
time_run() {
  local out=$1 t0 t1 rc
  shift
  t0=$EPOCHREALTIME
  $@ >"$out" 2>"$out.err"
  rc=$?
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
  return $rc
}

median() {
  sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
          else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A times status med
failed=0
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
  "$(nproc) cpus; $rounds rounds; engines: ${engines[*]}"
for p in "${programs[@]}"; do
  "$work/$p.native" >"$work/$p.expected" 2>/dev/null
  for ((r = 1; r <= rounds; r++)); do
    for e in "${engines[@]}"; do # interleaved, so drift in machine load hits every engine
      [ "${status[$p,$e]:-ok}" = ok ] || continue
      t=$(time_run "$work/$p.$e.out" $(engine_cmd "$e" "$p"))
      rc=$?
      if [ $rc -ne 0 ] || ! cmp -s "$work/$p.expected" "$work/$p.$e.out"; then
        status[$p,$e]=FAIL
        failed=1
        echo "FAIL $p under $e (exit $rc): expected $(cat "$work/$p.expected"), got" \
          "$(head -c 300 "$work/$p.$e.out") $(head -c 300 "$work/$p.$e.out.err")" >&2
        continue
      fi
      times[$p,$e]+="$t "
    done
  done
  for e in "${engines[@]}"; do
    [ "${status[$p,$e]:-ok}" = ok ] && med[$p,$e]=$(tr ' ' '\n' <<<"${times[$p,$e]}" | median)
  done
  printf '  %-10s %s\n' "$p" "$(cat "$work/$p.expected")"
done

# ratio P E: "12.3" (E's median / native's), or "" when E did not run or failed.
ratio() {
  [ -n "${med[$1,$2]:-}" ] && [ -n "${med[$1,native]:-}" ] &&
    awk -v a="${med[$1,$2]}" -v b="${med[$1,native]}" 'BEGIN { printf "%.2f", a / b }'
}

geomean() { # the geometric mean of the ratios of engine $1 over every program it passed
  local e=$1 p r logs=""
  for p in "${programs[@]}"; do
    r=$(ratio "$p" "$e") && logs+="$r "
  done
  [ -n "$logs" ] && tr ' ' '\n' <<<"$logs" |
    awk 'NF { s += log($1); n++ } END { if (n) printf "%.2f", exp(s / n) }'
}

cell() { # "3.512 (14.0x)" for program $1 under engine $2
  if [ "${status[$1,$2]:-ok}" = FAIL ]; then echo FAIL
  elif [ -z "${med[$1,$2]:-}" ]; then echo "n/a"
  else printf '%.3f (%sx)' "${med[$1,$2]}" "$(ratio "$1" "$2")"
  fi
}

echo
printf '%-12s %10s   %-18s %-18s\n' program "native s" "isola s (ratio)" "node s (ratio)"
for p in "${programs[@]}"; do
  printf '%-12s %10.3f   %-18s %-18s\n' "$p" "${med[$p,native]:-0}" "$(cell "$p" isola)" \
    "$(cell "$p" node)"
done
gi=$(geomean isola)
gn=$(geomean node)
printf '%-12s %10s   %-18s %-18s\n' "geomean" "" "${gi:+(${gi}x)}" "${gn:+(${gn}x)}"

# ---- cold start -----------------------------------------------------------------------------
# Process start to exit for hello world; hyperfine runs the command without a shell (-N).
declare -A cold
echo
echo "cold start: hello world, median of $cold_runs runs"
for e in "${engines[@]}"; do
  cmd=$(engine_cmd "$e" hello)
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 3 --runs "$cold_runs" --export-json "$work/cold.$e.json" "$cmd" \
      >/dev/null 2>&1 &&
      cold[$e]=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/cold.$e.json")
  fi
  if [ -z "${cold[$e]:-}" ]; then # no hyperfine (or it failed): a plain loop
    for ((r = 1; r <= cold_runs; r++)); do
      time_run "$work/cold.out" $cmd
    done | median >"$work/cold.$e.txt"
    cold[$e]=$(cat "$work/cold.$e.txt")
  fi
  printf '  %-8s %8.2f ms\n' "$e" "$(awk -v s="${cold[$e]}" 'BEGIN { print s * 1000 }')"
done

# ---- markdown -------------------------------------------------------------------------------
ms() { [ -n "${cold[$1]:-}" ] && awk -v s="${cold[$1]}" 'BEGIN { printf "%.1f ms", s * 1000 }' ||
  echo "n/a"; }
md_cell() { # median and ratio columns for program $1, engine $2
  if [ "${status[$1,$2]:-ok}" = FAIL ]; then echo "FAIL | FAIL"
  elif [ -z "${med[$1,$2]:-}" ]; then echo "n/a | n/a"
  else printf '%.3f | %s×' "${med[$1,$2]}" "$(ratio "$1" "$2")"
  fi
}
echo
echo "Wall time, median of $rounds runs (clang -O2 for both native and wasm32-wasi;" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')):"
echo
echo "| program | native (s) | isola (s) | isola / native | $node_version (s) | node / native |"
echo "|---|---:|---:|---:|---:|---:|"
for p in "${programs[@]}"; do
  printf '| %s | %.3f | %s | %s |\n' "$p" "${med[$p,native]:-0}" "$(md_cell "$p" isola)" \
    "$(md_cell "$p" node)"
done
echo "| **geometric mean** | | | **${gi:-n/a}${gi:+×}** | | **${gn:-n/a}${gn:+×}** |"
echo
echo "| cold start (hello world, median of $cold_runs) | native | isola | $node_version |"
echo "|---|---:|---:|---:|"
echo "| process start to exit | $(ms native) | $(ms isola) | $(ms node) |"

exit $failed
