#!/usr/bin/env bash
# Installs the Debian packages isola needs to build, test and benchmark, if any are missing.
# Idempotent and quiet when everything is there; needs root (or sudo) only when it installs.
set -eu
pkgs=(
  build-essential pkg-config libseccomp-dev libjansson-dev libcap-dev  # build
  busybox-static python3-pytest iproute2 procps util-linux              # tests
  crun runc hyperfine                                                   # peers, benchmarks
  uidmap podman containerd                                              # rootless, real clients
  wabt clang lld wasi-libc libclang-rt-14-dev-wasm32 nodejs             # wasm tests and benches
  qemu-system-x86 zlib1g-dev xz-utils kmod binutils                     # vm engine, make vm-image
  libclang-rt-14-dev                                                    # make fuzz (libFuzzer)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
# nodejs may come from elsewhere on a developer machine: only ask apt when no node is on PATH.
if command -v node >/dev/null; then
  missing=("${missing[@]/nodejs}")
fi
read -ra missing <<<"${missing[*]}"
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
