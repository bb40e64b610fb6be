#!/usr/bin/env bash
# Builds the vm engine's guest image: the kernel and the initramfs.
#
#   scripts/vm-image.sh OUTDIR AGENT MKINITRAMFS ELFPACK
#
# 1. Finds Debian's generic kernel package (the one linux-image-amd64 depends on; override with
#    ISOLA_VM_KERNEL_PKG) and fetches it with `apt-get download` into OUTDIR/cache (no install,
#    no root needed). The cloud flavour is no use: it has no 9P.
# 2. Unpacks it with `dpkg -x` and extracts the uncompressed ELF vmlinux from the bzImage, as
#    the kernel tree's scripts/extract-vmlinux does: QEMU boots it through PVH, which under TCG
#    saves more than half the boot time of the compressed image. ELFPACK (guest/elfpack.c) then
#    rewrites it so that QEMU maps and copies only the pages that hold data, with .BTF emptied
#    (docs/vm.md, "Memory"): QEMU's peak RSS drops by ~37 MiB. From that, ELFPACK --ram-image
#    lays the kernel out as guest RAM: vmlinux.ram, a sparse file of RAM_IMAGE_MIB with each
#    segment at its physical address, which QEMU maps privately as the guest's RAM instead of
#    copying the kernel into it, and vmlinux.pvh, the small ELF QEMU boots it from (its PVH
#    note and first page).
# 3. Computes module dependencies with `depmod -b` and copies the modules the guest needs
#    (virtio_mmio, virtio_console, 9pnet_virtio, 9p, and what they depend on) in load order,
#    without their .BTF sections (the guest kernel's own BTF is emptied, so theirs could not be
#    checked: the kernel would print a verifier log on the console for each), ORC unwind
#    tables and ftrace call sites (docs/vm.md, "Boot"). objcopy drops the appended signatures
#    too; the guest kernel does not enforce them.
# 4. Writes OUTDIR/initramfs.cpio.gz: /init (the static agent), /modules/*.ko, and the load
#    order in two lists: /modules/early (the control port's: virtio_mmio, virtio_console and
#    what they need) and /modules/late (9p's), which the agent loads after HELLO.
# Outputs: OUTDIR/vmlinux, OUTDIR/vmlinux.ram, OUTDIR/vmlinux.pvh, OUTDIR/initramfs.cpio.gz,
# OUTDIR/kernel-release.
# Exits 0 when the image is there (a second run with the same package does nothing but the
# initramfs), non-zero with the reason otherwise.
set -euo pipefail

out=${1:?usage: vm-image.sh OUTDIR AGENT MKINITRAMFS ELFPACK}
agent=${2:?agent binary}
mkinit=${3:?mkinitramfs binary}
elfpack=${4:?elfpack binary}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cache=$out/cache
mkdir -p "$cache"

need() {
  command -v "$1" >/dev/null || { echo "vm-image: \`$1\` is missing (Debian package $2)" >&2; exit 1; }
}
need apt-get apt
need dpkg dpkg
need depmod kmod
need xz xz-utils
need objcopy binutils

# 1. The package.
pkg=${ISOLA_VM_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9].*-amd64$/ {print $2; exit}')
fi
if [ -z "$pkg" ]; then
  # No package lists, or no network to read them: use what an earlier run fetched.
  deb=$(ls -t "$cache"/linux-image-*.deb 2>/dev/null | head -n 1 || true)
  [ -n "$deb" ] || {
    echo "vm-image: cannot find Debian's kernel package: \`apt-cache depends linux-image-amd64\`" \
         "names none (run \`apt-get update\`, or set ISOLA_VM_KERNEL_PKG)" >&2
    exit 1
  }
else
  deb=$(ls "$cache/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
  if [ -z "$deb" ]; then
    echo "vm-image: fetching $pkg with apt-get download" >&2
    rm -f "$cache"/linux-image-*.deb
    if ! (cd "$cache" && apt-get download -q "$pkg" >/dev/null 2>"$cache/download.log"); then
      echo "vm-image: \`apt-get download $pkg\` failed: $(tail -n 1 "$cache/download.log")" >&2
      exit 1
    fi
    deb=$(ls "$cache/${pkg}"_*.deb | head -n 1)
  fi
fi

# 2. Unpack and extract vmlinux (only when the package changed).
stamp=$cache/unpacked-from
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(basename "$deb")" ] || [ ! -f "$cache/vmlinux.elf" ]; then
  rm -rf "$cache/root"
  dpkg -x "$deb" "$cache/root"
  bz=$(ls "$cache"/root/boot/vmlinuz-* | head -n 1)
  # The bzImage holds the compressed ELF after its setup code: find the first offset where a
  # known compressor's magic starts a stream that decompresses to an ELF file.
  try() { # tool magic (as grep -P bytes)
    local tool=$1 magic=$2 pos
    for pos in $(LC_ALL=C grep -obUaP "$magic" "$bz" | cut -d: -f1); do
      # The compressors complain about the bytes after the stream but still write the image:
      # judge by what came out.
      tail -c +$((pos + 1)) "$bz" | $tool -dc 2>/dev/null >"$cache/vmlinux.tmp" || true
      [ "$(head -c 4 "$cache/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] && return 0
    done
    return 1
  }
  if ! { try xz '\xfd\x37\x7a\x58\x5a\x00' || try gzip '\x1f\x8b\x08' ||
         { command -v zstd >/dev/null && try zstd '\x28\xb5\x2f\xfd'; }; }; then
    echo "vm-image: no xz, gzip or zstd stream holding an ELF kernel in $bz" >&2
    exit 1
  fi
  mv "$cache/vmlinux.tmp" "$cache/vmlinux.elf"
  basename "$deb" >"$stamp"
fi
"$elfpack" --empty-btf "$cache/vmlinux.elf" "$out/vmlinux"
# 64 GiB of address space, 26 MiB of data: guest RAM up to 64 GiB boots from it (bigger VMs
# boot vmlinux). Copy it with `cp --sparse=always` (make install does).
RAM_IMAGE_MIB=65536
"$elfpack" --ram-image "$RAM_IMAGE_MIB" "$out/vmlinux" "$out/vmlinux.ram" "$out/vmlinux.pvh"
kver=$(ls "$cache/root/lib/modules" | head -n 1)
echo "$kver" >"$out/kernel-release"

# 3. Modules, dependencies first.
moddir=$cache/root/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || depmod -b "$cache/root" "$kver"
declare -A seen=()
order=()
add() { # module path relative to $moddir, as modules.dep names it
  local m=$1 deps d
  [ -n "${seen[$m]:-}" ] && return
  seen[$m]=1
  deps=$(awk -v m="$m:" '$1 == m { $1 = ""; print; exit }' "$moddir/modules.dep")
  for d in $deps; do add "$d"; done
  order+=("$m")
}
# Two stages: what the control port needs, then the 9p file system, which the agent loads
# after it said HELLO, while the host answers with CONFIG.
early=0
for want in virtio_mmio virtio_console 9pnet_virtio 9p; do
  if [ "$want" = 9pnet_virtio ]; then early=${#order[@]}; fi
  path=$(awk -F: -v w="$want" '{ n = $1; sub(".*/", "", n); sub("\\.ko.*", "", n);
                                  gsub("-", "_", n); if (n == w) { print $1; exit } }' "$moddir/modules.dep")
  if [ -z "$path" ]; then
    if grep -q "/$want.ko" "$moddir/modules.builtin" 2>/dev/null; then continue; fi
    echo "vm-image: module $want is neither in $kver's modules.dep nor built in" >&2
    exit 1
  fi
  add "$path"
done

# 4. The initramfs.
stage=$cache/initramfs
rm -rf "$stage"
mkdir -p "$stage/modules"
list=$cache/initramfs.list
{
  echo "dir /dev 0755"
  echo "nod /dev/console 0600 c 5 1"
  echo "dir /proc 0555"
  echo "dir /sys 0555"
  echo "dir /run 0755"
  echo "dir /newroot 0755"
  echo "dir /modules 0755"
  echo "file /init 0755 $(cd "$(dirname "$agent")" && pwd)/$(basename "$agent")"
  : >"$stage/modules/early"
  : >"$stage/modules/late"
  i=0
  for m in "${order[@]}"; do
    name=$(basename "$m")
    case $name in
      *.ko.xz) xz -dc "$moddir/$m" >"$stage/modules/${name%.xz}"; name=${name%.xz} ;;
      *.ko.zst) zstd -qdc "$moddir/$m" >"$stage/modules/${name%.zst}"; name=${name%.zst} ;;
      *.ko.gz) gzip -dc "$moddir/$m" >"$stage/modules/${name%.gz}"; name=${name%.gz} ;;
      *) cp "$moddir/$m" "$stage/modules/$name" ;;
    esac
    # .BTF (see above); the ORC unwind tables and the ftrace call sites, whose processing
    # at load (sorting, patching) costs ~10 ms under TCG for nothing the guest uses: an
    # oops trace through these modules is less exact, and ftrace cannot trace them.
    objcopy --remove-section=.BTF --remove-section=.orc_unwind --remove-section=.orc_unwind_ip \
            --remove-section=.rela.orc_unwind_ip --remove-section=__mcount_loc \
            --remove-section=.rela__mcount_loc "$stage/modules/$name"
    if [ "$i" -lt "$early" ]; then echo "$name" >>"$stage/modules/early"
    else echo "$name" >>"$stage/modules/late"; fi
    i=$((i + 1))
    echo "file /modules/$name 0644 $stage/modules/$name"
  done
  echo "file /modules/early 0644 $stage/modules/early"
  echo "file /modules/late 0644 $stage/modules/late"
} >"$list"
"$mkinit" "$out/.initramfs.tmp.cpio.gz" "$list"
mv "$out/.initramfs.tmp.cpio.gz" "$out/initramfs.cpio.gz"
echo "vm-image: $out/vmlinux ($kver, $(du -k "$out/vmlinux" | cut -f1) KiB), vmlinux.ram ($(du -k "$out/vmlinux.ram" | cut -f1) KiB used) and $out/initramfs.cpio.gz ($(du -k "$out/initramfs.cpio.gz" | cut -f1) KiB:" \
     "agent + $(cat "$stage/modules/early" "$stage/modules/late" | tr '\n' ' '))" >&2
