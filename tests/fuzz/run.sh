#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS on its corpus, one after the other, and prints a line
# per target with the executions libFuzzer reports. Exits non-zero when any target found a crash,
# a leak, a hang or an out-of-memory input; the input is kept in WORK/crashes and the line says
# how to make it a regression input. The repository's seeds are only read: what libFuzzer
# adds goes to WORK/corpus/TARGET, which later runs start from too.
# usage: tests/fuzz/run.sh SECONDS WORK TARGET...   (binaries in WORK/bin; see the Makefile)
set -u
secs=$1 work=$2
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work/crashes" "$work/logs"
# The fault handler of the wasm engine chains to ASan's (see the Makefile's SANITIZE block).
export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-allow_user_segv_handler=1:detect_leaks=1}
export UBSAN_OPTIONS=${FUZZ_UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Leaks in libraries that are not ours, each with its reason (lsan.supp).
export LSAN_OPTIONS=suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0

status=0 total=0
printf '%-18s %12s %9s %7s  %s\n' target executions "exec/s" corpus result
for t in "$@"; do
  seeds=$top/tests/fuzz/corpus/$t
  out=$work/corpus/$t
  log=$work/logs/$t.log
  mkdir -p "$out"
  dict=()
  [ -f "$top/tests/fuzz/$t.dict" ] && dict=(-dict="$top/tests/fuzz/$t.dict")
  "$work/bin/$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$work/crashes/$t-" "${dict[@]}" "$out" "$seeds" >"$log" 2>&1
  rc=$?
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  [ -n "$execs" ] || execs=$(grep -oE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -n 1)
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  units=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1 | grep -oE 'corp: [0-9]+' | grep -oE '[0-9]+')
  execs=${execs:-0} rate=${rate:-0} units=${units:-?}
  total=$((total + execs))
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    status=1
    artifact=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -n 1 | sed 's/Test unit written to //')
    what=$(grep -m1 -oE 'ERROR: [A-Za-z]+: [a-z -]+|runtime error: .*|fuzz invariant broken: .*' "$log")
    result="FAILED (exit $rc): ${what:-see $log}; input ${artifact:-none}"
    [ -n "$artifact" ] && result="$result -> keep it: cp $artifact tests/fuzz/corpus/$t/regress-<name>"
  fi
  printf '%-18s %12s %9s %7s  %s\n' "$t" "$execs" "$rate" "$units" "$result"
done
echo "fuzz: $total executions in $# targets, ${secs}s each; logs in $work/logs"
exit $status
