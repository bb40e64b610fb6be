"""Many containers at once: 200 containers created, started, killed and deleted by 8 clients
in parallel, each running the real binary on its own ids with one shared --root, the way
containerd's shims share a runtime root. Afterwards nothing may be left: no mount, no cgroup
directory in any hierarchy (v1 controllers, the named systemd one and the unified v2 mount), no
state directory, no fd of this process, no process carrying a container's environment mark;
and every command either succeeded or failed cleanly (one error line, non-zero exit).

ISOLA_STRESS_CONTAINERS and ISOLA_STRESS_CLIENTS change the size (defaults 200 and 8); the
figures of the last run are printed (pytest -s) and recorded in docs/security.md.

Run (as root):  /usr/bin/python3 -m pytest -q -s tests/integration/test_stress.py
"""
import gc
import os
import subprocess
import tempfile
import threading
import time
import uuid

import bundle as B
from bundle import one_line_error

CONTAINERS = int(os.environ.get("ISOLA_STRESS_CONTAINERS", "200"))
CLIENTS = int(os.environ.get("ISOLA_STRESS_CLIENTS", "8"))


def cgroup_dirs():
    """Every directory of every mounted cgroup hierarchy."""
    out = set()
    for mnt, _ in B.cgroup_hierarchies():
        for dirpath, _, _ in os.walk(mnt):
            out.add(dirpath)
    return out


def own_fds():
    return sorted(os.listdir("/proc/self/fd"))


def marked_with_prefix(prefix):
    """Live processes whose environment has MARK_ENV=<prefix>...: one scan of /proc."""
    needle = ("%s=%s" % (B.MARK_ENV, prefix)).encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        env = B.read_environ(int(name))
        if any(e.startswith(needle) for e in env.split(b"\0")) and B.pid_alive(int(name)):
            found.append("%s (%s)" % (name, " ".join(B.read_cmdline(int(name)) or [])))
    return found


class Client(threading.Thread):
    """One client: cycles its share of containers through create, start, state, kill,
    state until stopped, delete, and records every command it ran."""

    def __init__(self, runner, bundle, ids, parent):
        super().__init__()
        self.runner, self.bundle, self.ids, self.parent = runner, bundle, ids, parent
        self.results = []   # (cid, argv tail, returncode, stderr)
        self.cycled = 0
        self.error = None

    def cmd(self, cid, *args, **kw):
        r = self.runner(*args, **kw)
        self.results.append((cid, args[0], r.returncode, r.stderr))
        return r

    def run(self):
        try:
            for i, cid in enumerate(self.ids):
                self.one(cid, i)
        except Exception as e:  # reported by the test, with the commands seen so far
            self.error = e

    def one(self, cid, i):
        b = self.bundle
        # Half the containers name their cgroup, half take the runtime's default place.
        if i % 2:
            b.linux["cgroupsPath"] = "/%s/%s" % (self.parent, cid)
        else:
            b.linux.pop("cgroupsPath", None)
        # create's stdio are the container's: a file for stderr (a pipe would stay open as
        # long as the container runs).
        with tempfile.TemporaryFile("w+") as err:
            r = self.runner.create(b, cid, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=err)
            err.seek(0)
            r.stderr = err.read()
        self.results.append((cid, "create", r.returncode, r.stderr))
        if r.returncode != 0:
            return
        if self.cmd(cid, "start", cid).returncode != 0:
            self.cmd(cid, "delete", "--force", cid)
            return
        self.cmd(cid, "state", cid)
        self.cmd(cid, "kill", cid, "KILL")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = self.cmd(cid, "state", cid)
            if r.returncode != 0 or '"stopped"' in r.stdout:
                break
            time.sleep(0.01)
        if self.cmd(cid, "delete", cid).returncode == 0:
            self.cycled += 1


def test_parallel_lifecycles_leave_nothing(isola, make_bundle, tmp_path):
    tag = uuid.uuid4().hex[:8]
    prefix = "st%s-" % tag
    parent = "isola-stress-%s" % tag
    bundles = []
    for c in range(CLIENTS):
        b = make_bundle("client%d" % c)
        b.args("sleep", "1000")
        bundles.append(b)
    ids = ["%s%03d" % (prefix, i) for i in range(CONTAINERS)]
    for cid in ids:
        isola.track(cid)

    mounts_before = {(m["mount_point"], m["root"]) for m in B.mountinfo()}
    cgroups_before = cgroup_dirs()
    # Files that earlier tests left to the garbage collector are closed now, not during the run
    # (which would read as fds that went away).
    gc.collect()
    fds_before = own_fds()

    clients = [Client(isola, bundles[c], ids[c::CLIENTS], parent) for c in range(CLIENTS)]
    t0 = time.monotonic()
    for c in clients:
        c.start()
    for c in clients:
        c.join(timeout=240)
    elapsed = time.monotonic() - t0
    assert not any(c.is_alive() for c in clients), "a client hung"

    results = [r for c in clients for r in c.results]
    cycled = sum(c.cycled for c in clients)
    failed = [r for r in results if r[2] != 0]
    unclean = [r for r in failed if not one_line_error(subprocess.CompletedProcess(
        r[1], r[2], "", r[3]))]
    print("\nstress: %d containers cycled by %d clients in %.1f s (%d commands, %d failed)"
          % (cycled, CLIENTS, elapsed, len(results), len(failed)))

    # Leftovers, each kind on its own.
    mine = lambda s: parent in s or prefix in s or str(tmp_path) in s or isola.root in s
    new_mounts = [m for m in B.mountinfo() if (m["mount_point"], m["root"]) not in
                  mounts_before and (mine(m["mount_point"]) or mine(m["root"]))]
    new_cgroups = sorted(d for d in cgroup_dirs() - cgroups_before if mine(d))
    # The named parents are the test's (a runtime removes the leaf it made, not parents).
    parents = sorted((d for d in new_cgroups if d.endswith("/" + parent)), key=len,
                     reverse=True)
    leaked_cgroups = [d for d in new_cgroups if d not in parents]
    for d in parents:
        try:
            os.rmdir(d)
        except OSError:
            pass
    # Dot entries are the runtime's own caches (.seccomp: compiled filters by profile), not
    # containers; every container here had the same profile, so one entry at most.
    state_dirs = sorted(e for e in os.listdir(isola.root) if not e.startswith(".")) \
        if os.path.isdir(isola.root) else []
    cache = os.path.join(isola.root, ".seccomp")
    cached = os.listdir(cache) if os.path.isdir(cache) else []
    processes = marked_with_prefix(prefix)
    fds_after = own_fds()

    assert not [c.error for c in clients if c.error], [c.error for c in clients if c.error]
    assert not unclean, "commands that failed without a one-line error: %s" % unclean[:5]
    assert not failed, "commands that failed (cleanly): %s" % failed[:5]
    assert cycled == CONTAINERS
    assert not new_mounts, "mounts left: %s" % new_mounts[:5]
    assert not leaked_cgroups, "cgroups left: %s" % leaked_cgroups[:5]
    assert not state_dirs, "state directories left: %s" % state_dirs[:5]
    assert len(cached) <= 1, "seccomp cache entries for one profile: %s" % cached
    assert not processes, "processes left: %s" % processes[:5]
    new_fds = sorted(set(fds_after) - set(fds_before))
    assert not new_fds, "fds the test process gained: %s (%s -> %s)" % (new_fds, fds_before,
                                                                        fds_after)
