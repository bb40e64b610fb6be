"""Escape attempts from inside a VM: reaching the host's filesystem beyond what is shared.

The guest's root is the bundle's rootfs, shared by QEMU over 9p (virtio); a bind mount in the
config becomes one more share. From inside, a root workload with wide capabilities tries to see
past them: `..` above the share roots, absolute and relative symlinks (made on the host and in
the guest) that point at host paths, and a second attach of the 9p device with another aname.
Host files carrying a secret sit right next to the shared directories; the test passes when the
secret never shows and nothing appears on the host outside the shares.

Skipped, saying why, while the vm engine or its guest image is missing (`isola features`).

Run (as root):  /usr/bin/python3 -m pytest -q tests/integration/test_escape_vm.py
"""
import json
import os
import shutil
import stat
import subprocess
import uuid

import pytest

import bundle as B
from bundle import describe

VM = ("--isolation=vm",)


@pytest.fixture(scope="module")
def vm_ready(isola_bin):
    try:
        r = subprocess.run([isola_bin, "features"], capture_output=True, text=True, timeout=20)
        vm = json.loads(r.stdout).get("io.isola.engines", {}).get("vm")
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        pytest.skip("`isola features` failed: %s" % e)
    if not vm:
        pytest.skip("the vm engine is not built into %s" % isola_bin)
    if not vm.get("runnable"):
        pytest.skip("the vm engine cannot run here: %s" % (vm.get("reason") or vm))


def test_guest_sees_only_its_shares(isola, vm_ready, vmguest, make_bundle, new_id, tmp_path):
    cid = new_id("ve")
    b = make_bundle().hostile_guest(vmguest)
    secret = "HOSTSECRET%s" % uuid.uuid4().hex
    tag = uuid.uuid4().hex[:10]
    # The secret right next to each share: beside the rootfs (in the bundle), beside the bound
    # directory, and in a file whose name is the secret (found by listing).
    with open(os.path.join(b.path, "host-secret.txt"), "w") as f:
        f.write(secret + "\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "inside.txt").write_text("shared file\n")
    (tmp_path / "beside-share.txt").write_text(secret + "\n")
    (tmp_path / secret).write_text("x\n")
    b.add_mount("/shared", "bind", str(shared), ["rbind", "rw"])
    # Symlinks made on the host that point out of the rootfs; the guest resolves them itself.
    os.symlink("/", os.path.join(b.rootfs, "evil_abs"))
    os.symlink("../../../../../../../..", os.path.join(b.rootfs, "evil_rel"))
    os.symlink(b.path, os.path.join(b.rootfs, "evil_bundle"))
    os.symlink(str(tmp_path), os.path.join(b.rootfs, "evil_tmp"))
    host_target = "/tmp/isola-vm-escape-%s" % tag
    paths = ["/", "/..", "/../..", "/evil_abs", "/evil_rel", "/evil_bundle",
             "/evil_bundle/host-secret.txt", "/evil_tmp", "/evil_tmp/beside-share.txt",
             "/shared", "/shared/..", "/shared/../..", "/proc/1/root", "/proc/self/cwd/.."]
    b.sh("/vmguest find %s %s; "
         # A symlink made in the guest to a host path, then written through.
         "ln -s %s /made_link && echo written > /made_link; echo made_link_rc=$?; "
         # The bound share is let go first, so that its 9p channel is free for a new attach.
         "umount /shared; "
         "for t in $(/vmguest tags | sed 's/tag=//'); do for a in / .. /.. %s; do "
         "echo \"aname[$t:$a]\"; /vmguest mount9p $t $a; done; done"
         % (secret, " ".join(paths), host_target, b.path))
    try:
        r = isola.run(b, cid, global_args=VM, stdin=subprocess.DEVNULL, timeout=120)
        escaped = os.path.lexists(host_target)
    finally:
        if os.path.lexists(host_target):
            os.unlink(host_target)
    assert r.returncode == 0, describe(r)
    assert secret not in r.stdout.replace("find %s" % secret, ""), \
        "the guest read a host secret:\n%s" % r.stdout
    seen = [l for l in r.stdout.splitlines() if l.endswith("=seen")]
    assert not seen, seen
    assert "/shared=absent" in r.stdout, "the share itself did not work:\n%s" % r.stdout
    assert not escaped, "the guest created %s on the host" % host_target
    # Written through its own link, the file landed inside the rootfs.
    assert "made_link_rc=0" in r.stdout, r.stdout
    with open(os.path.join(b.rootfs, host_target.lstrip("/"))) as f:
        assert f.read() == "written\n"
    # Another attach of a 9p share, whatever the aname, shows nothing of the host beyond it
    # (the root's channel is busy with the root; the bound share's is free once unmounted).
    entries = [l for l in r.stdout.splitlines() if l.startswith("entries=")]
    assert entries, "no second attach of a share worked: the test proved nothing\n%s" % r.stdout
    # A VM restored from a template has every share slot; those the container does not use
    # show an empty directory.
    listed = [set(l[len("entries="):].split(",")) - {"", ".", ".."} for l in entries]
    for line, names in zip(entries, listed):
        assert names in ({"inside.txt"}, set()), "a 9p attach showed more than the share: %s" % line
    assert {"inside.txt"} in listed, "the bound share was never attached again:\n%s" % r.stdout
    assert B.leftovers(isola.root, cid, b) == []


def test_guest_cannot_plant_setuid_or_device_files_on_the_host(isola, vm_ready, vmguest,
                                                               make_bundle, new_id):
    """What the guest writes into its shared rootfs lands in the host's filesystem. Root in the
    guest (the workload's to have: the VM is the boundary) must not be able to leave there a
    setuid- or setgid-root program, a device node or a file capability, which any host user who
    can reach the bundle could use against the host; nor put new code in a setuid-root program
    the image already holds. QEMU serves the rootfs as root with 9p `security_model=passthrough`
    (files keep the guest's owners and modes); src/vm/confine.c takes that power from it."""
    cid = new_id("vs")
    b = make_bundle().hostile_guest(vmguest)
    # A setuid-root program already in the image, and a plain file to arm with a capability.
    present = os.path.join(b.rootfs, "present_suid")
    shutil.copy2(os.path.join(b.rootfs, "bin", "busybox"), present)
    os.chmod(present, 0o4755)
    with open(os.path.join(b.rootfs, "capfile"), "w") as f:
        f.write("#!/bin/sh\n")
    made = {"suid": "cp /bin/busybox /suid && chmod 4755 /suid",
            "sgid": "cp /bin/busybox /sgid && chmod 2755 /sgid",
            "chown_suid": "cp /bin/busybox /chown_suid && chmod 4755 /chown_suid; "
                          "chown 0:0 /chown_suid",
            "chardev": "mknod -m 666 /chardev c 1 1",
            "blockdev": "mknod -m 666 /blockdev b 7 0",
            "present_suid": "echo evil >> /present_suid"}
    b.sh("; ".join("%s; echo %s=$?" % (cmd, name) for name, cmd in made.items())
         + "; /vmguest arm /")
    names = list(made) + ["open_suid", "mknod_suid", "capfile"]
    try:
        r = isola.run(b, cid, global_args=VM, stdin=subprocess.DEVNULL, timeout=120)
        found, fcaps = {}, {}
        for name in names:
            p = os.path.join(b.rootfs, name)
            if os.path.lexists(p):
                st = os.lstat(p)
                found[name] = (st.st_uid, st.st_mode)
                try:
                    fcaps[name] = os.getxattr(p, "security.capability", follow_symlinks=False)
                except OSError:
                    pass
    finally:
        for name in names:
            p = os.path.join(b.rootfs, name)
            if os.path.lexists(p):
                os.unlink(p)
    assert r.returncode == 0, describe(r)
    out = r.stdout.split()
    bad = {}
    for name, (uid, mode) in found.items():
        if stat_is_device(mode) or (uid == 0 and mode & 0o6000):
            bad[name] = "uid %d mode %o" % (uid, mode)
    assert not bad, "the guest left on the host: %s (guest said: %s)" % (bad, out)
    assert not fcaps, "the guest set file capabilities on the host: %s" % fcaps
    # Each attempt was refused, not lost: the guest was told (chown of a non-setuid file, the
    # append and the plain file do succeed; only what arms a file is refused).
    for refused in ("suid", "sgid", "chardev", "blockdev"):
        assert "%s=0" % refused not in out, out
    for refused in ("open_suid", "mknod_suid", "setcap"):
        assert "%s=ok" % refused not in out, out
    assert "present_suid=0" in out, out
    assert B.leftovers(isola.root, cid, b) == []


def stat_is_device(mode):
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
