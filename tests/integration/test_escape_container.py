"""Escape attempts from inside a container. Each test runs a static helper (escape/attack.c)
inside a container and asks the kernel for something a contained process must not get: host
pids, writes to masked or read-only kernel files, mounts, kernel modules, devices outside the
allowlist, the host's hostname, a mount that lands outside the rootfs through a symlink, and
CVE-2019-5736's technique (a handle on the runtime's own binary through /proc/PID/exe, then a
write to it). A test passes when the attack is stopped, and checks the host side too.

The containers use the base config (`isola spec`: seccomp, masked and read-only paths) with
Docker's default capability set, which is wider than `isola spec`'s (CAP_MKNOD,
CAP_DAC_OVERRIDE, CAP_SETUID...): the attacks get every right a typical container has.

Run (as root):  /usr/bin/python3 -m pytest -q tests/integration/test_escape_container.py
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import uuid

import pytest

import bundle as B
from bundle import describe, leftovers

ESCAPE_DIR = os.path.join(B.HERE, "escape")
DENIED = {"EPERM", "EACCES", "EROFS"}


@pytest.fixture(scope="module")
def attack_bin(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("escape") / "attack")
    cc = os.environ.get("CC", "cc")
    r = subprocess.run([cc, "-static", "-O2", "-Wall", "-Wextra", "-o", out,
                        os.path.join(ESCAPE_DIR, "attack.c")], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail("cannot build escape/attack.c: %s" % r.stderr, pytrace=False)
    return out


@pytest.fixture
def attacker(make_bundle, attack_bin):
    """attacker(**kw) -> a bundle with /attack in its rootfs, Docker's default capabilities
    in every set, and ISOLA_ATTACK_OK in the environment."""
    def make(**kw):
        b = make_bundle(**kw)
        shutil.copy2(attack_bin, os.path.join(b.rootfs, "attack"))
        caps = list(B.DEFAULT_CAPS)
        b.process["capabilities"] = {k: list(caps) for k in
                                     ("bounding", "effective", "permitted")}
        b.process["env"] = b.process.get("env", []) + ["ISOLA_ATTACK_OK=1"]
        return b
    return make


def run_attack(isola, bundle, cid, *args):
    """Runs `/attack ARGS` as the container's program (foreground) and returns its report."""
    bundle.args("/attack", *map(str, args))
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    try:
        return json.loads(r.stdout)
    except ValueError:
        pytest.fail("attack printed no report: %s" % describe(r), pytrace=False)


def not_granted(report, keys):
    """The keys of `report` (among `keys`) whose attempt succeeded."""
    return {k: report[k] for k in keys if report.get(k) == "ok"}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------------------------------------
# pids

def test_host_pids_are_not_visible(isola, attacker, new_id):
    cid = new_id()
    b = attacker()
    rep = run_attack(isola, b, cid, "pids", os.getpid())
    assert rep["self"] == 1, rep
    assert rep["pids"] == [1], "the container sees more than itself: %s" % rep["pids"]
    # Our pid means nothing in the container's pid namespace (or is another process there).
    assert rep["host_proc"] == "ENOENT" and rep["host_kill"] == "ESRCH", rep
    assert leftovers(isola.root, cid, b) == []


def test_ps_shows_only_the_containers_processes(isola, attacker, new_id):
    cid = new_id()
    b = attacker()
    b.sh("sleep 30 & sleep 31 & sleep 0.3; exec ps -o pid,comm")
    r = isola.run(b, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    rows = sorted((int(p), c) for p, c in (l.split() for l in r.stdout.strip().splitlines()[1:]))
    assert rows == [(1, "ps"), (2, "sleep"), (3, "sleep")], \
        "ps shows more than the container's processes:\n%s" % r.stdout
    assert leftovers(isola.root, cid, b) == []


# ---------------------------------------------------------------------------------------------
# masked and read-only paths

# Files whose write would reach the host: the kernel's core pattern and module helper, the
# uevent helper, sysrq, cgroup v1's release agent (CVE-2022-0492), and sysfs as a whole.
READONLY_WRITES = [
    "/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe", "/proc/sys/vm/drop_caches",
    "/proc/sysrq-trigger", "/proc/sys", "/proc/irq", "/proc/bus", "/proc/fs",
    "/sys/kernel/uevent_helper", "/sys/kernel", "/sys/firmware", "/sys/fs/cgroup",
    "/sys/power/state",
]
MASKED_FILES = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
                "/proc/latency_stats", "/proc/timer_stats"]
MASKED_DIRS = ["/sys/firmware", "/proc/acpi", "/proc/scsi", "/proc/asound"]


def test_writes_to_readonly_and_masked_paths_fail(isola, attacker, new_id):
    cid = new_id()
    b = attacker()
    # cgroup v1 release_agent files of the hierarchies the container sees.
    agents = ["/sys/fs/cgroup/%s/release_agent" % os.path.basename(m)
              for m, key in B.cgroup_hierarchies() if key and
              os.path.exists(os.path.join(m, "release_agent"))]
    paths = [p for p in READONLY_WRITES + agents]
    rep = run_attack(isola, b, cid, "write", *paths)
    # ENOENT is fine when the file does not exist here (no such knob on this kernel).
    bad = {p: v for p, v in rep.items() if v not in DENIED | {"ENOENT"}}
    assert not bad, "writable from inside the container: %s" % bad
    assert leftovers(isola.root, cid, b) == []


def test_masked_paths_read_empty(isola, attacker, new_id):
    cid = new_id()
    b = attacker()
    rep = run_attack(isola, b, cid, "read", *(MASKED_FILES + MASKED_DIRS))
    # A masked file reads as /dev/null; a masked directory is an empty read-only tmpfs.
    leaked = {p: v for p, v in rep.items() if v not in (0, "ENOENT")}
    assert not leaked, "masked paths show host data: %s" % leaked
    # Unmasked, some of them do show data here (so the zeros above mean something).
    with open("/proc/keys") as f:
        assert f.read(), "/proc/keys is empty on the host too"
    assert leftovers(isola.root, cid, b) == []


# ---------------------------------------------------------------------------------------------
# mounts and kernel modules

MOUNT_CALLS = ["mount_tmpfs", "mount_proc", "mount_sysfs", "bind_root", "remount_proc_sys_rw",
               "umount_kcore", "umount_proc_sys", "fsopen", "open_tree_clone"]
# In a user namespace of its own the container may mount what is private to it (a tmpfs, a
# bind of its own files); it must not take masks off, remount read-only paths, or mount a
# fresh proc or sysfs that shows what is masked.
USERNS_MUST_FAIL = ["userns_mount_proc", "userns_mount_sysfs", "userns_remount_proc_sys_rw",
                    "userns_umount_kcore", "userns_umount_proc_sys"]


def test_mount_is_refused(isola, attacker, new_id):
    cid = new_id()
    b = attacker()
    rep = run_attack(isola, b, cid, "mount")
    assert not not_granted(rep, MOUNT_CALLS), "mount calls that worked: %s" % \
        not_granted(rep, MOUNT_CALLS)
    assert all(rep[k] in ("EPERM", "ENOSYS") for k in MOUNT_CALLS), rep
    if rep["unshare_user_mnt"] == "ok":
        assert not not_granted(rep, USERNS_MUST_FAIL), \
            "from a new user namespace: %s" % not_granted(rep, USERNS_MUST_FAIL)
    assert leftovers(isola.root, cid, b) == []


def test_kernel_modules_cannot_be_loaded(isola, attacker, new_id):
    cid = new_id()
    b = attacker()
    rep = run_attack(isola, b, cid, "module")
    assert rep == {"init_module": "EPERM", "finit_module": "EPERM",
                   "delete_module": "EPERM"}, rep


# ---------------------------------------------------------------------------------------------
# devices

def host_block_device():
    """(major, minor) of a real block device of this host (the first in /proc/partitions)."""
    with open("/proc/partitions") as f:
        for line in f.read().splitlines()[2:]:
            parts = line.split()
            if len(parts) == 4:
                return int(parts[0]), int(parts[1])
    return 7, 0  # loop0


def test_devices_outside_the_allowlist_cannot_be_opened(isola, attacker, new_id):
    cid = new_id()
    b = attacker()
    maj, mnr = host_block_device()
    nodes = [("b", maj, mnr),   # the host's disk
             ("c", 1, 1),       # /dev/mem
             ("c", 1, 11),      # /dev/kmsg
             ("c", 10, 232),    # /dev/kvm
             ("c", 10, 237),    # /dev/loop-control
             ("c", 1, 3)]       # /dev/null: allowed, so the test can tell
    args = [str(x) for n in nodes for x in n]
    rep = run_attack(isola, b, cid, "mknod", *args)
    for t, ma, mi in nodes:
        got = rep["open %s %d:%d" % (t, ma, mi)]
        if (t, ma, mi) == ("c", 1, 3):
            assert got == "ok", "the allowed /dev/null could not be opened: %s" % rep
        else:
            # mknod may be allowed (runc's rules allow "m" on everything); open must not be.
            assert got in ("EPERM", "no node"), \
                "device %s %d:%d opened from inside the container: %s" % (t, ma, mi, rep)
    assert leftovers(isola.root, cid, b) == []


ALLOWED_DEVICES = {(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2)}


def test_dev_holds_only_allowed_devices(isola, attacker, new_id):
    cid = new_id()
    b = attacker()
    b.sh("for f in $(find /dev -type c -o -type b); do "
         "stat -c '%n %F %t %T' $f; done")
    r = isola.run(b, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    found = []
    for line in r.stdout.splitlines():
        name, rest = line.split(" ", 1)
        kind, ma, mi = rest.rsplit(" ", 2)
        found.append((name, kind, int(ma, 16), int(mi, 16)))
    extra = [f for f in found if "block" in f[1] or
             ((f[2], f[3]) not in ALLOWED_DEVICES and f[2] != 136)]
    assert not extra, "devices beyond the default set in /dev: %s" % extra


# ---------------------------------------------------------------------------------------------
# hostname

def test_sethostname_changes_only_the_container(isola, attacker, new_id):
    """Even with CAP_SYS_ADMIN (which sethostname needs) and no seccomp filter, the
    container's uts namespace is its own."""
    cid = new_id()
    b = attacker()
    for k in ("bounding", "effective", "permitted"):
        b.process["capabilities"][k].append("CAP_SYS_ADMIN")
    b.linux.pop("seccomp", None)  # the default profile refuses sethostname outright
    before = socket.gethostname()
    with open("/proc/sys/kernel/domainname") as f:
        domain_before = f.read().strip()
    name = "evil-%s" % uuid.uuid4().hex[:8]
    try:
        rep = run_attack(isola, b, cid, "hostname", name)
    finally:
        after = socket.gethostname()
        with open("/proc/sys/kernel/domainname") as f:
            domain_after = f.read().strip()
        if after != before:
            socket.sethostname(before)
    assert after == before, "the container changed the host's hostname to %r" % after
    assert domain_after == domain_before, "the container changed the host's domainname"
    assert rep["sethostname"] == "ok" and rep["nodename"] == name, rep


def test_sethostname_without_uts_namespace_is_refused(isola, attacker, new_id):
    """Without its own uts namespace the container shares the host's names: only
    CAP_SYS_ADMIN could change them, and the container has none."""
    cid = new_id()
    b = attacker()
    b.drop_namespace("uts")
    b.config.pop("hostname", None)
    b.config.pop("domainname", None)
    before = socket.gethostname()
    try:
        rep = run_attack(isola, b, cid, "hostname", "evil-%s" % uuid.uuid4().hex[:8])
    finally:
        after = socket.gethostname()
        if after != before:
            socket.sethostname(before)
    assert after == before, "the container changed the host's hostname to %r" % after
    assert rep["sethostname"] == "EPERM" and rep["setdomainname"] == "EPERM", rep


# ---------------------------------------------------------------------------------------------
# a symlink in the rootfs under a mount destination

@pytest.mark.parametrize("link", ["/etc", "../../../../../../../../etc"])
def test_mount_destination_symlink_stays_in_rootfs(isola, attacker, new_id, tmp_path, link):
    cid = new_id()
    b = attacker()
    tag = uuid.uuid4().hex[:10]
    host_target = os.path.join("/etc", "isola-escape-%s" % tag)
    os.symlink(link, os.path.join(b.rootfs, "evil"))
    src = tmp_path / "src"
    src.mkdir()
    (src / "file").write_text("bind source\n")
    b.add_mount("/evil/isola-escape-%s" % tag, "tmpfs", "tmpfs", ["size=64k"])
    b.add_mount("/evil/isola-escape-%s/bound" % tag, "bind", str(src), ["bind", "ro"])
    b.sh("grep isola-escape /proc/self/mountinfo | cut -d' ' -f5; "
         "cat /etc/isola-escape-%s/bound/file" % tag)
    try:
        r = isola.run(b, cid, stdin=subprocess.DEVNULL)
        escaped = os.path.lexists(host_target)
        host_mounts = [m["mount_point"] for m in B.mountinfo()
                       if "isola-escape-%s" % tag in m["mount_point"]]
    finally:
        for m in sorted((m["mount_point"] for m in B.mountinfo()
                         if m["mount_point"].startswith(host_target)), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        if os.path.isdir(host_target):
            shutil.rmtree(host_target, ignore_errors=True)
    assert not escaped, "the runtime created %s on the host" % host_target
    assert not host_mounts, "mounts outside the container: %s" % host_mounts
    # Either the mounts landed inside the rootfs (as runc does), or the runtime refused.
    if r.returncode == 0:
        assert r.stdout.split() == ["/etc/isola-escape-%s" % tag,
                                    "/etc/isola-escape-%s/bound" % tag, "bind", "source"], \
            describe(r)
        assert os.path.isdir(os.path.join(b.rootfs, "etc", "isola-escape-%s" % tag))
    else:
        assert B.one_line_error(r), describe(r)
    assert leftovers(isola.root, cid, b) == []


def test_mount_destination_that_is_a_symlink_stays_in_rootfs(isola, attacker, new_id):
    """The destination itself is a symlink to a host path: it resolves in the rootfs."""
    cid = new_id()
    b = attacker()
    tag = uuid.uuid4().hex[:10]
    host_target = "/tmp/isola-escape-%s" % tag
    os.symlink(host_target, os.path.join(b.rootfs, "evil"))
    b.add_mount("/evil", "tmpfs", "tmpfs", ["size=64k"])
    b.sh("grep isola-escape /proc/self/mountinfo | cut -d' ' -f5")
    try:
        r = isola.run(b, cid, stdin=subprocess.DEVNULL)
        escaped = os.path.lexists(host_target)
    finally:
        subprocess.run(["umount", "-l", host_target], capture_output=True)
        shutil.rmtree(host_target, ignore_errors=True)
    assert not escaped, "the runtime created %s on the host" % host_target
    if r.returncode == 0:
        assert r.stdout.split() == [host_target], describe(r)
        assert os.path.isdir(os.path.join(b.rootfs, host_target.lstrip("/")))
    else:
        assert B.one_line_error(r), describe(r)
    assert leftovers(isola.root, cid, b) == []


# ---------------------------------------------------------------------------------------------
# /proc/PID/exe of a runtime process (CVE-2019-5736's technique)
#
# runc re-executed itself inside the container; a process there could open /proc/PID/exe of
# that runc and, once runc exec'd the container's program, reopen the handle for writing and
# replace the host's runc. runc answered by running from a sealed memfd copy of itself. isola
# never re-executes itself, but its own processes do enter the container's namespaces: the
# container's init between `create` and `start` (parked before execve) and the child of
# `isola exec` (from fork to execve). Those must be non-dumpable so that /proc/PID/exe, mem and
# ptrace are closed to the container (it has no CAP_SYS_PTRACE). The attacks here run against
# a private copy of the binary, so a successful one damages only the copy.

@pytest.fixture
def runtime_copy(isola, tmp_path):
    """(Isola runner on a copy of the binary sharing the test's --root, path of the copy)."""
    path = str(tmp_path / "isola-copy")
    shutil.copy2(isola.binary, path)
    runner = B.Isola(path, isola.root)
    runner.ids = isola.ids  # the finalizer deletes them
    runner.pids = isola.pids
    return runner, path


def assert_binary_safe(report, prefix, copy_path, digest_before):
    st = os.stat(copy_path)
    got_handle = [k for k in ("open_exe", "opath_exe") if report.get(prefix + k) == "ok"]
    same_file = (report.get(prefix + "exe_dev"), report.get(prefix + "exe_ino")) == \
        (st.st_dev, st.st_ino)
    assert not (got_handle and same_file), \
        "the container got a handle on the runtime binary through /proc/PID/exe: %s" % report
    assert report.get(prefix + "open_mem") != "ok" or not same_file, report
    assert report.get(prefix + "ptrace") != "ok" or not same_file, report
    assert sha256(copy_path) == digest_before, "the runtime binary was modified: %s" % report


def test_exe_of_created_init_is_closed(isola, attacker, new_id, runtime_copy):
    """Between create and start the container's init is isola, parked before execve; a
    process exec'd into the created container attacks it."""
    runner, copy = runtime_copy
    digest = sha256(copy)
    cid = new_id()
    b = attacker(own_copy=True)
    b.args("sleep", "6")
    r = runner.detached("create", b, cid)
    assert r.returncode == 0, describe(r)
    init = runner.state(cid)["pid"]
    # -d with stdio on files: a pipe would keep the call waiting for the attacker to finish.
    errf = os.path.join(b.path, "exec.err")
    with open(errf, "w") as e:
        r = runner("exec", "-d", cid, "/attack", "-o", "/tmp/exe.json", "exe", "1", "5",
                   cid=cid, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=e)
    assert r.returncode == 0, open(errf).read()
    report_path = os.path.join(b.rootfs, "tmp", "exe.json")
    # Once the attacker has its handle (or not), `start` makes the init exec its program,
    # and the binary is no longer busy.
    assert B.wait_file(os.path.join(b.rootfs, "tmp", "attack-ready"), timeout=10) is not None
    r = runner("start", cid)
    assert r.returncode == 0, describe(r)
    text = B.wait_file(report_path, timeout=15, contains="}")
    assert text, "the attacker wrote no report"
    rep = json.loads(text)
    assert rep["pid"] == 1
    assert_binary_safe(rep, "", copy, digest)
    assert rep["open_exe"] in ("EACCES", "EPERM"), rep
    assert rep["ptrace"] == "EPERM", rep
    assert runner("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, b, init) == []


def test_exe_of_exec_process_is_closed(isola, attacker, new_id, runtime_copy):
    """The child of `isola exec` is isola from fork to execve, inside the container's pid
    namespace: the container's init stops it the moment its pid exists and attacks it."""
    runner, copy = runtime_copy
    digest = sha256(copy)
    cid = new_id()
    b = attacker(own_copy=True)
    rounds = 6
    b.args("/attack", "-o", "/tmp/exe-next.json", "exe-next", str(rounds), "20")
    r = runner.detached("run", b, cid)
    assert r.returncode == 0, describe(r)
    assert B.wait_file(os.path.join(b.rootfs, "tmp", "attack-ready"), timeout=10) is not None
    # A long PATH makes the exec child search for `true` for a while after it has dropped to
    # the container's capabilities: the stretch where only non-dumpability protects it. (The
    # attacker steps it with SIGSTOP/SIGCONT; a wide stretch makes the race deterministic.)
    path = ":".join("/n/%d" % i for i in range(14000)) + ":/bin"
    for _ in range(rounds):
        r = runner("exec", "-e", "PATH=" + path, cid, "true", cid=cid,
                   stdin=subprocess.DEVNULL, timeout=30)
        assert r.returncode == 0, describe(r)
    text = B.wait_file(os.path.join(b.rootfs, "tmp", "exe-next.json"), timeout=20,
                       contains="}")
    assert text, "the attacker wrote no report"
    rep = json.loads(text)
    caught = [i for i in range(rounds) if "t%d_pid" % i in rep]
    assert caught, "the attacker never caught an exec'd process: %s" % rep
    for i in caught:
        assert_binary_safe(rep, "t%d_" % i, copy, digest)
    # At least one was attacked after it had dropped to the container's capabilities and
    # before its execve (its exe not yet the program's): otherwise the test proved nothing.
    early = [i for i in caught if rep.get("t%d_caps_dropped" % i) == 1 and
             rep.get("t%d_readlink" % i) != "/bin/busybox"]
    assert early, "no exec'd process was caught between its capability drop and its " \
        "execve: %s" % rep
    for k, v in rep.items():
        assert not (k.endswith("open_exe_for_write") and v == "ok"), rep
    assert runner("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, b) == []
