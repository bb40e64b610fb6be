"""Faults injected into the container engine's lifecycle, and what must hold after each:

- SIGKILL delivered to `isola create`, `isola start` and `isola delete` at random points
  (seeded; hooks that sleep a random while stretch every setup step so that the kill lands
  before, during and after each): `delete --force` recovers, `state` and `list` never report
  running a container whose process is not there, and nothing is left behind;
- a full disk under --root (a small tmpfs, full to different degrees, and one out of inodes),
  a missing rootfs, an unreadable config.json, a hook that hangs past its timeout, a hook that
  fails at each stage: a clear one-line error, and nothing left behind;
- the vm engine: QEMU killed mid-run, a guest that never answers, a guest that floods its
  output (skipped, saying why, while the vm engine or its guest image is missing).

ISOLA_FAULT_SEED picks the random points (default 8; the seed is printed with every trial so
that a failure can be replayed).

Run (as root):  /usr/bin/python3 -m pytest -q -s tests/integration/test_faults.py
"""
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import bundle as B
from bundle import describe, leftovers, one_line_error

SEED = int(os.environ.get("ISOLA_FAULT_SEED", "8"))
FAULTS = {"injected": 0}  # for the summary line


def wait_clean(root, cid, bundle, pid=None, timeout=5.0):
    """leftovers() once the dying is over (a killed process takes a moment to go)."""
    B.wait_for(lambda: leftovers(root, cid, bundle, pid) == [], timeout)
    return leftovers(root, cid, bundle, pid)


def state_or_none(isola, cid):
    r = isola("state", cid)
    if r.returncode != 0:
        assert one_line_error(r), describe(r)
        return None
    return json.loads(r.stdout)


def check_not_falsely_running(isola, cid, where):
    """`state` and `list` may report "created" or "running" only for a process that is
    there."""
    st = state_or_none(isola, cid)
    if st and st["status"] in ("created", "running") and not B.pid_alive(st.get("pid") or 0):
        # It may have died between `state` and our look (a SIGKILL takes a moment): ask again.
        time.sleep(0.05)
        st = state_or_none(isola, cid)
    if st and st["status"] in ("created", "running"):
        assert st.get("pid") and B.pid_alive(st["pid"]), \
            "%s: state says %s, but pid %s is gone: %s" % (where, st["status"], st.get("pid"),
                                                          st)
    if st and st["status"] == "created":
        # Parked before execve: still the runtime's binary, not the program.
        exe = os.readlink("/proc/%d/exe" % st["pid"])
        assert os.path.basename(exe).startswith("isola"), \
            "%s: state says created, but pid %d already runs %s" % (where, st["pid"], exe)
    r = isola("list", "--format", "json")
    if r.returncode == 0 and r.stdout.strip().startswith("["):
        for c in json.loads(r.stdout) or []:
            if c.get("id") == cid and c.get("status") == "running":
                assert c.get("pid") and B.pid_alive(c["pid"]), \
                    "%s: list says running, but pid %s is gone" % (where, c.get("pid"))
    return st


def force_delete(isola, cid, where):
    r = isola("delete", "--force", cid)
    # A container whose state was never written does not exist: that is a clean answer too.
    assert r.returncode == 0 or ("does not exist" in r.stderr and one_line_error(r)), \
        "%s: delete --force: %s" % (where, describe(r))


def sleeping_hooks(bundle, rng, kinds):
    """A hook of each kind that sleeps a random 0-80 ms (stretching that step); returns the
    time they sleep in all."""
    bundle.config.pop("hooks", None)
    total = 0.0
    for kind in kinds:
        t = rng.random() * 0.08
        total += t
        # createContainer and startContainer run in the container's namespaces; before the
        # pivot (createContainer) /bin/sleep is still the host's, after it busybox's.
        bundle.add_hook(kind, "/bin/sleep", ["sleep", "%.3f" % t])
    return total


# ---------------------------------------------------------------------------------------------
# SIGKILL at random points

def kill_after(proc, delay):
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        FAULTS["injected"] += 1
        return True
    return False


@pytest.mark.parametrize("trial", range(10))
def test_sigkill_during_create(isola, bundle, new_id, trial):
    rng = random.Random(SEED * 1000 + trial)
    cid = new_id("kc")
    hooks = sleeping_hooks(bundle, rng, ["prestart", "createRuntime", "createContainer"])
    bundle.args("sleep", "1000")
    bundle.mark(cid).write()
    # From before the runtime has done anything to a little after it should be done.
    delay = rng.random() * (hooks + 0.06)
    where = "seed %d trial %d: create killed after %.3f s" % (SEED, trial, delay)
    create_killed_after(isola, bundle, cid, delay, where)


def create_killed_after(isola, bundle, cid, delay, where):
    """`isola create` SIGKILLed after `delay` s: state and list tell no lie, a create that
    finished first left a created container, and `delete --force` leaves nothing."""
    with open(os.path.join(bundle.path, "out"), "w") as out:
        p = isola.popen("create", "--bundle", bundle.path, cid, cid=cid,
                        stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        killed = kill_after(p, delay)
        p.wait(timeout=30)
    st = check_not_falsely_running(isola, cid, where)
    print("\n%s: %s, state %s" % (where, "killed" if killed else "finished first",
                                  st and st["status"]), end="")
    if not killed:
        assert p.returncode == 0, where  # it finished first: a created container
        assert st and st["status"] == "created", where
    force_delete(isola, cid, where)
    assert check_not_falsely_running(isola, cid, where) is None
    assert wait_clean(isola.root, cid, bundle) == [], where


@pytest.mark.parametrize("trial", range(10))
def test_sigkill_during_start(isola, bundle, new_id, trial):
    rng = random.Random(SEED * 2000 + trial)
    cid = new_id("ks")
    hooks = sleeping_hooks(bundle, rng, ["startContainer", "poststart"])
    bundle.args("sleep", "1000")
    r = isola.detached("create", bundle, cid)
    assert r.returncode == 0, describe(r)
    pid = isola.state(cid)["pid"]
    delay = rng.random() * (hooks + 0.03)
    where = "seed %d trial %d: start killed after %.3f s" % (SEED, trial, delay)
    p = isola.popen("start", cid, cid=cid, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = kill_after(p, delay)
    p.wait(timeout=30)
    st = check_not_falsely_running(isola, cid, where)
    print("\n%s: %s, state %s" % (where, "killed" if killed else "finished first",
                                  st and st["status"]), end="")
    assert st is not None, where  # start never removes a container
    if not killed:
        assert st["status"] == "running", where
    force_delete(isola, cid, where)
    assert check_not_falsely_running(isola, cid, where) is None
    assert wait_clean(isola.root, cid, bundle, pid) == [], where


@pytest.mark.parametrize("trial", range(4))
def test_sigkill_during_delete(isola, bundle, new_id, trial):
    rng = random.Random(SEED * 3000 + trial)
    cid = new_id("kd")
    hooks = sleeping_hooks(bundle, rng, ["poststop"])
    bundle.args("sleep", "1000")
    r = isola.detached("run", bundle, cid)
    assert r.returncode == 0, describe(r)
    pid = isola.state(cid)["pid"]
    delay = rng.random() * (hooks + 0.02)
    where = "seed %d trial %d: delete --force killed after %.3f s" % (SEED, trial, delay)
    p = isola.popen("delete", "--force", cid, cid=cid, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = kill_after(p, delay)
    p.wait(timeout=30)
    st = check_not_falsely_running(isola, cid, where)
    print("\n%s: %s, state %s" % (where, "killed" if killed else "finished first",
                                  st and st["status"]), end="")
    force_delete(isola, cid, where)
    assert wait_clean(isola.root, cid, bundle, pid) == [], where


# ---------------------------------------------------------------------------------------------
# a full disk under --root

@pytest.fixture
def small_root(tmp_path):
    """small_root(options) -> a fresh tmpfs mounted for --root."""
    mounted = []

    def make(options):
        d = str(tmp_path / ("tmpfs%d" % len(mounted)))
        os.makedirs(d)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", d],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip("cannot mount a tmpfs: %s" % r.stderr.strip())
        mounted.append(d)
        return d
    yield make
    for d in mounted:
        subprocess.run(["umount", "-l", d], capture_output=True)


def fill(path, leave_pages):
    """Fills the filesystem at `path` but for `leave_pages` 4 KiB pages."""
    fd = os.open(os.path.join(path, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096) == 4096:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    size = os.path.getsize(os.path.join(path, "filler"))
    os.truncate(os.path.join(path, "filler"), max(0, size - leave_pages * 4096))


@pytest.mark.parametrize("leave_pages", [0, 1, 2, 3, 5, 8])
def test_full_disk_under_root(isola_bin, bundle, new_id, small_root, leave_pages):
    root = small_root("size=64k,mode=0700")
    runner = B.Isola(isola_bin, os.path.join(root, "state"))
    os.makedirs(runner.root)
    fill(root, leave_pages)
    cid = new_id("fd")
    bundle.args("sleep", "1000")
    r = runner.detached("create", bundle, cid)
    FAULTS["injected"] += 1
    if r.returncode == 0:
        # It fit: the container must then work and go away cleanly.
        assert runner("start", cid).returncode == 0
        assert runner("delete", "--force", cid).returncode == 0
    else:
        assert one_line_error(r), describe(r)
        assert "No space left on device" in r.stderr, describe(r)
    assert wait_clean(runner.root, cid, bundle) == []
    assert not [e for e in os.listdir(runner.root) if not e.startswith(".")]


def test_no_inodes_under_root(isola_bin, bundle, new_id, small_root):
    root = small_root("size=1m,nr_inodes=6,mode=0700")
    runner = B.Isola(isola_bin, os.path.join(root, "state"))
    os.makedirs(runner.root)
    n = 0
    try:
        while True:
            open(os.path.join(root, "f%d" % n), "w").close()
            n += 1
    except OSError:
        pass
    cid = new_id("fi")
    bundle.args("sleep", "1000")
    r = runner.detached("create", bundle, cid)
    FAULTS["injected"] += 1
    assert r.returncode != 0 and one_line_error(r), describe(r)
    assert "No space left on device" in r.stderr, describe(r)
    assert wait_clean(runner.root, cid, bundle) == []


# ---------------------------------------------------------------------------------------------
# bad bundles

def test_missing_rootfs(isola, bundle, new_id):
    cid = new_id("mr")
    bundle.config["root"]["path"] = "no-such-rootfs"
    r = isola.detached("create", bundle, cid)
    FAULTS["injected"] += 1
    assert r.returncode != 0 and one_line_error(r), describe(r)
    assert "no-such-rootfs" in r.stderr and "No such file or directory" in r.stderr, r.stderr
    assert wait_clean(isola.root, cid, bundle) == []


def test_config_that_is_a_directory(isola, bundle, new_id):
    cid = new_id("cd")
    os.makedirs(os.path.join(bundle.path, "config.json"))
    r = isola("create", "--bundle", bundle.path, cid, stdin=subprocess.DEVNULL)
    FAULTS["injected"] += 1
    assert r.returncode != 0 and one_line_error(r), describe(r)
    assert "config.json" in r.stderr, r.stderr
    assert wait_clean(isola.root, cid, bundle) == []


SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(not SETPRIV, reason="setpriv (util-linux) is missing")
def test_unreadable_config(isola_bin, make_bundle, new_id):
    """chmod 000 config.json, and the runtime as an unprivileged user (root reads anything)."""
    b = make_bundle("unreadable", traversable=True)
    cid = new_id("ur")
    b.mark(cid).write()
    os.chmod(os.path.join(b.path, "config.json"), 0)
    root = tempfile.mkdtemp(prefix="isola-fr", dir="/tmp")
    os.chown(root, 65534, 65534)
    try:
        r = subprocess.run([SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                            isola_bin, "--root", root, "create", "--bundle", b.path, cid],
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        FAULTS["injected"] += 1
        assert r.returncode != 0 and one_line_error(r), describe(r)
        assert "config.json" in r.stderr and "Permission denied" in r.stderr, r.stderr
        assert wait_clean(root, cid, b) == []
        assert os.listdir(root) == []
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# hooks that hang or fail

HANGING = {
    "sleep": ("/bin/sleep", ["sleep", "1000"]),
    # A script whose shell waits for a child: the child must go too, not only the shell.
    "script": ("/bin/sh", ["sh", "-c", "sleep 1000; true"]),
}


@pytest.mark.parametrize("kind,how", [("createRuntime", "sleep"), ("createRuntime", "script"),
                                      ("prestart", "script"), ("createContainer", "sleep")])
def test_hook_that_hangs_past_its_timeout(isola, bundle, new_id, kind, how):
    cid = new_id("hh")
    # The hook carries the container's mark, so leftovers() finds it (and what it started) if
    # it survives.
    path, args = HANGING[how]
    bundle.add_hook(kind, path, args, env=["%s=%s" % (B.MARK_ENV, cid)], timeout=1)
    bundle.args("sleep", "1000")
    t0 = time.monotonic()
    r = isola.detached("create", bundle, cid)
    elapsed = time.monotonic() - t0
    FAULTS["injected"] += 1
    assert r.returncode != 0 and one_line_error(r), describe(r)
    assert "timed out" in r.stderr and kind in r.stderr, r.stderr
    assert 0.9 <= elapsed < 10, elapsed
    assert wait_clean(isola.root, cid, bundle) == []


def test_start_container_hook_that_hangs(isola, bundle, new_id):
    cid = new_id("hs")
    bundle.add_hook("startContainer", "/bin/sleep", ["sleep", "1000"],
                    env=["%s=%s" % (B.MARK_ENV, cid)], timeout=1)
    bundle.args("sleep", "1000")
    r = isola.detached("create", bundle, cid)
    assert r.returncode == 0, describe(r)
    pid = isola.state(cid)["pid"]
    r = isola("start", cid)
    FAULTS["injected"] += 1
    assert r.returncode != 0 and one_line_error(r), describe(r)
    assert "timed out" in r.stderr, r.stderr
    check_not_falsely_running(isola, cid, "startContainer hook timed out")
    force_delete(isola, cid, "after a startContainer timeout")
    assert wait_clean(isola.root, cid, bundle, pid) == []


def test_poststop_hook_that_hangs_does_not_block_delete(isola, bundle, new_id):
    cid = new_id("hp")
    bundle.add_hook("poststop", "/bin/sleep", ["sleep", "1000"],
                    env=["%s=%s" % (B.MARK_ENV, cid)], timeout=1)
    bundle.args("sleep", "1000")
    r = isola.detached("run", bundle, cid)
    assert r.returncode == 0, describe(r)
    pid = isola.state(cid)["pid"]
    r = isola("delete", "--force", cid)
    FAULTS["injected"] += 1
    assert r.returncode == 0, describe(r)  # poststop failures are warnings (runtime spec)
    assert "timed out" in r.stderr, r.stderr
    assert wait_clean(isola.root, cid, bundle, pid) == []


@pytest.mark.parametrize("kind,fails", [
    ("prestart", "create"), ("createRuntime", "create"), ("createContainer", "create"),
    ("startContainer", "start"), ("poststart", None), ("poststop", None)])
def test_hook_that_fails(isola, bundle, new_id, kind, fails):
    cid = new_id("hf")
    bundle.add_hook(kind, "/bin/sh", ["sh", "-c", "exit 7"])
    bundle.args("sleep", "1000")
    r = isola.detached("create", bundle, cid)
    FAULTS["injected"] += 1
    if fails == "create":
        assert r.returncode != 0 and one_line_error(r), describe(r)
        assert kind in r.stderr and "status 7" in r.stderr, r.stderr
        assert wait_clean(isola.root, cid, bundle) == []
        return
    assert r.returncode == 0, describe(r)
    pid = isola.state(cid)["pid"]
    r = isola("start", cid)
    if fails == "start":
        assert r.returncode != 0 and one_line_error(r), describe(r)
        assert kind in r.stderr, r.stderr
    else:
        assert r.returncode == 0, describe(r)
    check_not_falsely_running(isola, cid, "%s hook failed" % kind)
    r = isola("delete", "--force", cid)
    assert r.returncode == 0, describe(r)
    assert wait_clean(isola.root, cid, bundle, pid) == []


# ---------------------------------------------------------------------------------------------
# the vm engine

VM = ("--isolation=vm",)


def vm_engine_problem(binary):
    """Why the vm engine cannot run here (None when it can), as `isola features` says."""
    try:
        r = subprocess.run([binary, "features"], capture_output=True, text=True, timeout=20)
        vm = json.loads(r.stdout).get("io.isola.engines", {}).get("vm")
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        return "`isola features` failed: %s" % e
    if not vm:
        return "the vm engine is not built into %s" % binary
    if not vm.get("runnable"):
        return "the vm engine cannot run here: %s" % (vm.get("reason") or vm)
    return None


@pytest.fixture(scope="module")
def vm_ready(isola_bin):
    why = vm_engine_problem(isola_bin)
    if why:
        pytest.skip(why)


@pytest.fixture
def vbundle(vm_ready, make_bundle, vmguest):
    """A bundle for a VM with /vmguest in its rootfs and the rights a hostile guest workload
    would have been given: Docker's capabilities plus SYS_ADMIN and SYS_NICE, no seccomp, and
    /proc/sys writable (inside the guest all of that is the guest kernel's business)."""
    b = make_bundle().hostile_guest(vmguest, "CAP_SYS_NICE")
    b.linux["readonlyPaths"] = [p for p in b.linux.get("readonlyPaths", []) if p != "/proc/sys"]
    return b


def qemu_processes(needle):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        cmd = B.read_cmdline(int(name)) or []
        if cmd and "qemu" in os.path.basename(cmd[0]) and any(needle in a for a in cmd) and \
                B.pid_alive(int(name)):
            out.append(int(name))
    return out


def vm_clean(isola, cid, bundle):
    B.wait_for(lambda: not leftovers(isola.root, cid, bundle) and
               not qemu_processes(bundle.rootfs), 10)
    return leftovers(isola.root, cid, bundle) + ["qemu %d" % p for p in
                                                 qemu_processes(bundle.rootfs)]


@pytest.mark.parametrize("victim", ["qemu", "monitor"])
def test_vm_qemu_killed_mid_run(isola, vbundle, new_id, victim):
    """QEMU (or the monitor that runs it, the container's pid) dies while `run` relays the
    guest's output: run ends, with a clear error for QEMU's death, and nothing is left."""
    cid = new_id("vq")
    vbundle.sh("i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.2; done")
    vbundle.mark(cid).write()
    p = isola.popen(*VM, "run", "--bundle", vbundle.path, cid, cid=cid,
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    text=True)
    with B.watchdog(p, 90):
        assert p.stdout.readline().startswith("tick"), "the guest never ran"
        if victim == "qemu":
            pids = B.wait_for(lambda: [q for q in B.descendants(p.pid) if "qemu-system" in
                                       os.path.basename((B.read_cmdline(q) or [""])[0])], 10)
            assert pids, "no QEMU under `isola run`"
        else:
            pids = [isola.state(cid)["pid"]]
        os.kill(pids[0], signal.SIGKILL)
        FAULTS["injected"] += 1
        p.stdout.read()
        err = p.stderr.read()
        rc = p.wait(timeout=30)
    if victim == "qemu":
        assert rc != 0
        assert len([l for l in err.splitlines() if l.startswith("isola: ")]) == 1, \
            "rc %d: %r" % (rc, err)
        assert "QEMU was killed by signal 9" in err, err
    else:
        assert rc == 128 + 9, "rc %d: %r" % (rc, err)  # the container's process was killed
    assert vm_clean(isola, cid, vbundle) == []


FAKE_QEMU = """#!/bin/sh
# A QEMU whose guest never says a word on the control channel.
exec sleep 1000
"""


def test_vm_guest_that_never_answers(isola, vm_ready, make_bundle, new_id, tmp_path):
    """No HELLO from the guest: create gives up at the boot timeout and leaves nothing (a
    stand-in for QEMU plays the silent guest: no need to boot one to be ignored)."""
    fake = tmp_path / "silent-qemu"
    fake.write_text(FAKE_QEMU)
    fake.chmod(0o755)
    b = make_bundle()
    cid = new_id("vs")
    env = dict(os.environ, ISOLA_QEMU=str(fake), ISOLA_VM_BOOT_TIMEOUT="2")
    t0 = time.monotonic()
    r = isola.detached("create", b, cid, global_args=VM, env=env)
    elapsed = time.monotonic() - t0
    FAULTS["injected"] += 1
    assert r.returncode != 0 and one_line_error(r), describe(r)
    assert "did not get ready within 2000 ms" in r.stderr, r.stderr
    assert elapsed < 15, elapsed
    assert vm_clean(isola, cid, b) == []
    assert not qemu_processes(str(fake)), "the silent QEMU was left running"


def test_vm_guest_that_stops_answering(isola, vbundle, new_id):
    """The guest starves its own agent (an RT task spinning at priority 99, throttling off):
    no heartbeat, and the host ends the VM after the hang timeout."""
    cid = new_id("vh")
    vbundle.args("/vmguest", "rt-spin")
    env = dict(os.environ, ISOLA_VM_HANG_TIMEOUT="3")
    t0 = time.monotonic()
    r = isola.run(vbundle, cid, global_args=VM, env=env, stdin=subprocess.DEVNULL, timeout=90)
    elapsed = time.monotonic() - t0
    FAULTS["injected"] += 1
    assert r.returncode != 0, describe(r)
    assert "the guest stopped responding" in r.stderr, describe(r)
    assert elapsed < 60, elapsed
    assert vm_clean(isola, cid, vbundle) == []


def vm_rss_kib(pid):
    """Peak resident memory (VmHWM) of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_vm_guest_that_floods_stdout(isola, vbundle, new_id):
    """The guest writes without end and nobody reads: the host side buffers a bounded amount
    (the guest is held back), and the container can still be killed and deleted."""
    cid = new_id("vf")
    vbundle.sh("cat /dev/zero")
    vbundle.mark(cid).write()
    p = isola.popen(*VM, "run", "--bundle", vbundle.path, cid, cid=cid,
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    with B.watchdog(p, 90):
        st = B.wait_for(lambda: isola("state", cid).returncode == 0 and
                        isola.state(cid)["status"] == "running", 60)
        assert st, "the VM never ran"
        monitor = isola.state(cid)["pid"]
        p.stdout.read(1 << 20)   # some of it, then nothing more
        time.sleep(3)            # the guest keeps writing into a full pipe
        FAULTS["injected"] += 1
        peak = vm_rss_kib(monitor)
        r = isola("kill", cid, "KILL")
        assert r.returncode == 0, describe(r)
        p.stdout.close()
        p.wait(timeout=30)
    assert peak < 64 * 1024, "the vm monitor grew to %d KiB while the guest flooded" % peak
    isola("delete", "--force", cid)
    assert vm_clean(isola, cid, vbundle) == []


def test_vm_guest_that_floods_its_console(isola, vbundle, new_id):
    """The guest writes to its serial port directly (root in the guest may): the console log
    that the host keeps in the state directory (/run/isola, often a tmpfs: host memory) must
    stay bounded whatever the guest writes."""
    cid = new_id("vc")
    vbundle.sh("/vmguest serial-flood 3072; sleep 1000")
    r = isola.detached("run", vbundle, cid, global_args=VM, timeout=90)
    assert r.returncode == 0, describe(r)
    assert B.wait_file(r.out, timeout=60, contains="wrote") is not None, "the flood never ended"
    FAULTS["injected"] += 1
    size = os.path.getsize(os.path.join(isola.root, cid, "console.log"))
    assert isola("delete", "--force", cid).returncode == 0
    assert vm_clean(isola, cid, vbundle) == []
    assert size <= 2 << 20, "console.log grew to %d bytes: the guest wrote 3 MiB into it" % size


def test_fault_summary():
    """Prints how many faults this module injected (run last; pytest keeps file order)."""
    print("\nfaults: %d injected (seed %d)" % (FAULTS["injected"], SEED))
