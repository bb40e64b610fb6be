#!/usr/bin/env bash
# isola demo: prepares a busybox bundle under build/demo (once; later runs reuse it), then runs
# containers with it and shows the OCI lifecycle: run, run -d, state, list, kill, delete.
#
#   scripts/demo.sh            (or: make demo)
#   ISOLA=/path/to/isola scripts/demo.sh
#
# One function per engine (demo_container, demo_wasm, demo_vm), then `isola compare` of one
# program built natively and for wasm32-wasi under all three. The engines this isola has are
# read from `isola features`; an engine that is missing or cannot run here is reported.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
ISOLA=${ISOLA:-$top/build/isola}
DEMO=$top/build/demo          # bundles and root filesystem
STATE=$DEMO/state             # --root: the demo's containers live here, not in /run/isola
BUSYBOX=${BUSYBOX:-/bin/busybox}

if [ -t 1 ]; then B=$'\033[1m' D=$'\033[2m' N=$'\033[0m'; else B="" D="" N=""; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
note() { printf '%s%s%s\n' "$D" "$*" "$N"; }
# Shows a command, then runs it.
show() { printf '%s$ %s%s\n' "$B" "$*" "$N"; "$@"; }
isola() { "$ISOLA" --root "$STATE" "$@"; }

die() { echo "demo: $*" >&2; exit 1; }
[ -x "$ISOLA" ] || die "no isola binary at $ISOLA (build it with \`make\`)"
[ "$(id -u)" -eq 0 ] || die "containers need root here: run as root (or with sudo)"

# ---- the bundle ------------------------------------------------------------------------------

# A root filesystem with busybox and a link per applet, plus /etc/passwd and /etc/group.
prepare_rootfs() {
  local rootfs=$DEMO/rootfs
  if [ -x "$rootfs/bin/busybox" ]; then
    note "reusing $rootfs"
    return
  fi
  [ -x "$BUSYBOX" ] || die "busybox-static is missing (scripts/deps.sh installs it)"
  note "creating $rootfs from $BUSYBOX"
  mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,root,home/user}
  chmod 1777 "$rootfs/tmp"
  cp "$BUSYBOX" "$rootfs/bin/busybox"
  local applet
  for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' \
    >"$rootfs/etc/passwd"
  printf 'root:x:0:\nuser:x:1000:\n' >"$rootfs/etc/group"
}

# make_bundle NAME ARGS...: a bundle whose config.json is `isola spec`'s default, with the
# program set to ARGS, no terminal, and the shared read-only rootfs.
make_bundle() {
  local name=$1; shift
  local dir=$DEMO/$name
  mkdir -p "$dir"
  rm -f "$dir/config.json"
  isola spec --bundle "$dir"
  python3 - "$dir/config.json" "$DEMO/rootfs" "$@" <<'EOF'
import json, sys
path, rootfs, args = sys.argv[1], sys.argv[2], sys.argv[3:]
cfg = json.load(open(path))
cfg["process"]["terminal"] = False
cfg["process"]["args"] = args
cfg["root"] = {"path": rootfs, "readonly": True}
cfg["hostname"] = "isola-demo"
json.dump(cfg, open(path, "w"), indent=2)
EOF
}

# ---- engines ---------------------------------------------------------------------------------

engines_available() {
  isola features | python3 -c '
import json, sys
ann = json.load(sys.stdin).get("annotations", {})
print(" ".join(json.loads(ann.get("io.isola.engines", "[]"))))'
}

demo_container() {
  step "container engine: a busybox bundle"
  prepare_rootfs
  # shellcheck disable=SC2016  # $(...) and $$ are for the container's shell
  make_bundle hello sh -c 'echo "hello from isola"
    echo "hostname: $(hostname)"
    id
    grep -E "^(CapEff|NoNewPrivs)" /proc/self/status
    echo "pid inside the container: $$"
    echo "files in /:" $(ls /)'
  make_bundle sleeper sleep 3600
  make_bundle exit3 sh -c 'exit 3'
  note "bundles: $DEMO/{hello,sleeper,exit3} (config.json from \`isola spec\`)"

  step "run a container in the foreground"
  note "It gets its own hostname, is pid 1 in its own pid namespace, sees only the bundle's"
  note "root filesystem, and keeps 3 capabilities (CapEff) with no_new_privs set."
  show isola run --bundle "$DEMO/hello" demo-hello

  step "the exit status of the program is run's exit status"
  set +e
  isola run --bundle "$DEMO/exit3" demo-exit3
  rc=$?
  set -e
  printf '%s$ isola run --bundle %s demo-exit3; echo $?%s\n%s\n' "$B" "$DEMO/exit3" "$N" "$rc"

  step "run a container in the background, look at it, stop it, delete it"
  note "This is how containerd and podman drive a runtime (they use create + start)."
  # The detached container's stdio goes to a log file (it would otherwise hold this
  # terminal, or a pipe, open for as long as it runs).
  printf '%s$ isola run --detach --bundle %s demo-sleeper%s\n' "$B" "$DEMO/sleeper" "$N"
  isola run --detach --bundle "$DEMO/sleeper" demo-sleeper </dev/null >"$DEMO/sleeper.log" 2>&1
  show isola state demo-sleeper
  show isola list
  show isola kill demo-sleeper KILL
  local tries=50
  while ! isola state demo-sleeper | grep -q '"stopped"' && [ $((tries -= 1)) -gt 0 ]; do
    sleep 0.1
  done
  show isola list --format json
  show isola delete demo-sleeper
  show isola list -q
  note "(empty: nothing left)"
}

# wasm32-wasi and native builds of one C file: build_both SRC OUTDIR NAME
WASI_SYSROOT=$DEMO/wasi-sysroot
build_both() {
  local src=$1 out=$2 name=$3
  mkdir -p "$WASI_SYSROOT/include" "$WASI_SYSROOT/lib" "$out"
  ln -sfn /usr/include/wasm32-wasi "$WASI_SYSROOT/include/wasm32-wasi"
  ln -sfn /usr/lib/wasm32-wasi "$WASI_SYSROOT/lib/wasm32-wasi"
  gcc -O2 -static -o "$out/$name" "$src"
  clang --target=wasm32-wasi --sysroot="$WASI_SYSROOT" -O2 -o "$out/$name.wasm" "$src"
}

# edit_config FILE PYTHON: runs PYTHON with `cfg` bound to the parsed config, then saves it.
edit_config() {
  python3 -c "import json, sys
cfg = json.load(open(sys.argv[1]))
$2
json.dump(cfg, open(sys.argv[1], 'w'), indent=2)" "$1"
}

demo_wasm() {
  step "wasm engine: the same kind of bundle, but the program is a WebAssembly module"
  note "isola runs it in its own interpreter; the boundary is WASI: the module sees its args,"
  note "its env, the bundle's rootfs as a preopened / and nothing else of the host."
  local dir=$DEMO/wasm
  mkdir -p "$dir/rootfs"
  printf '%s\n' '#include <stdio.h>' '#include <stdlib.h>' \
    'int main(int argc, char **argv) {' \
    '  printf("hello from a wasm module: argv[1]=%s GREETING=%s\n", argc > 1 ? argv[1] : "-",' \
    '         getenv("GREETING") ? getenv("GREETING") : "-");' \
    '  return 0;' '}' >"$dir/hello.c"
  build_both "$dir/hello.c" "$dir/rootfs" hello
  rm -f "$dir/config.json"
  isola spec --bundle "$dir"
  edit_config "$dir/config.json" \
    'cfg["process"].update(terminal=False, args=["/hello.wasm", "world"]); cfg["process"]["env"].append("GREETING=hi")'
  note "The engine is chosen per bundle; here because the entrypoint is a wasm module:"
  show isola create --bundle "$dir" demo-wasm
  isola state demo-wasm | grep -E '"status"|io.isola.isolation'
  show isola start demo-wasm
  sleep 0.2
  show isola delete demo-wasm
}

demo_vm() {
  step "vm engine: the busybox bundle in a microVM with its own kernel"
  if ! isola features | python3 -c '
import json, sys
vm = json.load(sys.stdin)["io.isola.engines"]["vm"]
sys.exit(0 if vm.get("runnable") else 1)'; then
    note "the vm engine cannot run here (no QEMU or guest image: \`make vm-image\`); skipped"
    return
  fi
  # shellcheck disable=SC2016  # for the guest's shell
  make_bundle vmhello sh -c 'echo "hello from a VM: kernel $(uname -r), $(nproc) vCPU"; exit 5'
  note "host kernel: $(uname -r). Under TCG (no usable KVM) a VM takes about 2 s to boot."
  set +e
  show isola --isolation=vm run --bundle "$DEMO/vmhello" demo-vm
  rc=$?
  set -e
  note "exit status: $rc (the workload's)"
}

demo_compare() {
  step "isola compare: one workload, built natively and for wasm32-wasi, under every engine"
  note "The question isola answers: which isolation should this workload use, on this machine?"
  local dir=$DEMO/compare
  rm -rf "$dir" && mkdir -p "$dir"
  cp -a "$DEMO/rootfs" "$dir/rootfs"
  build_both "$top/tests/integration/compare/workload.c" "$dir/rootfs" workload
  rm -f "$dir/config.json"
  isola spec --bundle "$dir"
  edit_config "$dir/config.json" \
    'cfg["process"].update(terminal=False, args=["/workload", "200000"]); cfg["annotations"] = {"io.isola.compare.native": "/workload", "io.isola.compare.wasm": "/workload.wasm"}'
  show isola compare --runs "${DEMO_RUNS:-3}" --svg "$DEMO/compare.svg" "$dir"
  note "bar chart: $DEMO/compare.svg"
}

cleanup() {
  local id
  for id in demo-hello demo-exit3 demo-sleeper demo-wasm demo-vm; do
    "$ISOLA" --root "$STATE" delete --force "$id" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

mkdir -p "$DEMO"
printf '%s%s%s  (%s)\n' "$B" "$("$ISOLA" --version | head -n 1)" "$N" "$ISOLA"
note "containers of this demo live under --root $STATE"
available=" $(engines_available) "
for engine in container wasm vm; do
  if [[ $available != *" $engine "* ]]; then
    step "$engine engine: not yet built"
  elif declare -F "demo_$engine" >/dev/null; then
    "demo_$engine"
  else
    step "$engine engine: available, no demo yet"
  fi
done
demo_compare
echo
