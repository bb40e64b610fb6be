#!/usr/bin/env bash
# Runs test suites and adds up their counts. Each suite ends its output with a line
# "N passed, N failed[, N skipped]" (pytest's summary line is read too). The last line printed
# here is the total; the exit status is non-zero when any test failed or a suite crashed.
# usage: tests/run-suites.sh unit|spec|all BINARY...   (all = the binaries, then pytest)
set -u
mode=$1; shift
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0 skipped=0 broken=0

tally() { # name logfile exitcode
  local name=$1 log=$2 rc=$3 line p f s
  line=$(grep -E '([0-9]+ passed|[0-9]+ failed)' "$log" | tail -n 1)
  p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || true)
  f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || true)
  s=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || true)
  e=$(grep -oE '[0-9]+ errors?' <<<"$line" | grep -oE '[0-9]+' || true)
  p=${p:-0} f=${f:-0} s=${s:-0} e=${e:-0}
  f=$((f + e))
  if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
    echo "suite $name: exited $rc without a failure count: counted as 1 failed"
    f=$((f + 1)) broken=1
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  printf 'suite %-28s %5d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
}

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for bin in "$@"; do
  name=$(basename "$bin")
  echo "== $name"
  "$bin" >"$tmp/$name.log" 2>&1; rc=$?
  # Show failures and the summary, not thousands of passing lines.
  grep -E 'FAIL|fail|error|skip' "$tmp/$name.log" | grep -vE '^[0-9]+ passed' | head -n 60
  tally "$name" "$tmp/$name.log" "$rc"
done

if [ "$mode" = all ]; then
  echo "== integration (pytest)"
  (cd "$top" && /usr/bin/python3 -m pytest -q -rs tests/integration) 2>&1 | tee "$tmp/pytest.log" | tail -n 80
  rc=${PIPESTATUS[0]}
  [ "$rc" -eq 5 ] && rc=0 # no tests collected is counted, not crashed
  tally integration "$tmp/pytest.log" "$rc"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
