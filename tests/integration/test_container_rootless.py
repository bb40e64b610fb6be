"""isola run by an unprivileged user.

The module creates a real user (useradd -m), runs the runtime as that user through setpriv
(which drops every capability with the uid change, so the runtime is as unprivileged as a login
shell's), and removes the user, its state directories and anything it ran at the end.
"""
import json
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
import uuid

import pytest

import bundle as B
from bundle import describe, leftovers, one_line_error

SETPRIV = shutil.which("setpriv")
USERADD = shutil.which("useradd") or "/usr/sbin/useradd"
USERDEL = shutil.which("userdel") or "/usr/sbin/userdel"
USERMOD = shutil.which("usermod") or "/usr/sbin/usermod"
NEWUIDMAP = shutil.which("newuidmap")


class User:
    def __init__(self, name):
        pw = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, pw.pw_uid, pw.pw_gid

    def argv(self, *args):
        """ARGS run as this user: real and effective ids changed, no supplementary groups, no
        capabilities left."""
        return [SETPRIV, "--reuid=%d" % self.uid, "--regid=%d" % self.gid, "--clear-groups",
                "--", *args]

    def sub_range(self, kind):
        """(start, count) of the user's first range in /etc/sub{u,g}id, or None."""
        try:
            with open("/etc/sub%sid" % kind) as f:
                for line in f:
                    name, start, count = line.strip().split(":")
                    if name in (self.name, str(self.uid)):
                        return int(start), int(count)
        except (OSError, ValueError):
            pass
        return None


def own_processes(uid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/status" % name) as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            out.append(int(name))
                        break
        except OSError:
            pass
    return out


@pytest.fixture(scope="module")
def user():
    if os.geteuid() != 0:
        pytest.skip("creating a user needs root")
    if not SETPRIV or not os.path.exists(USERADD):
        pytest.skip("setpriv or useradd is missing (util-linux, passwd)")
    name = "isolart%s" % uuid.uuid4().hex[:6]
    r = subprocess.run([USERADD, "-m", "-s", "/bin/sh", name], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("useradd failed: %s" % r.stderr.strip())
    u = User(name)
    try:
        yield u
    finally:
        # Only what this user runs: found by uid, killed by pid.
        for pid in own_processes(u.uid):
            B.kill_quietly(pid)
        subprocess.run([USERDEL, "-r", "-f", name], capture_output=True)
        shutil.rmtree("/tmp/isola-%d" % u.uid, ignore_errors=True)


class RootlessIsola(B.Isola):
    """B.Isola whose commands run as `user` (and, with `cgroup_procs`, from a cgroup the user
    was delegated: the command first moves itself there, as a login session would be)."""

    def __init__(self, binary, root, user, cgroup_procs=()):
        super().__init__(binary, root)
        self.user = user
        self.cgroup_procs = list(cgroup_procs)

    def argv(self, *args, global_args=()):
        inner = self.user.argv(self.binary, *(["--root", self.root] if self.root else []),
                               *global_args, *map(str, args))
        if not self.cgroup_procs:
            return inner
        script = 'for f in %s; do echo $$ > "$f" || exit 125; done; exec "$@"' % \
            " ".join(shlex.quote(p) for p in self.cgroup_procs)
        return ["sh", "-c", script, "sh", *inner]


@pytest.fixture
def rl_dir(user):
    """A directory the user owns and everyone may traverse: state roots and bundles go here
    (pytest's tmp_path is root's and 0700)."""
    d = tempfile.mkdtemp(prefix="isola-rl", dir="/tmp")
    os.chmod(d, 0o755)
    os.chown(d, user.uid, user.gid)
    yield d
    for m in sorted((m["mount_point"] for m in B.mountinfo() if m["mount_point"].startswith(d)),
                    key=len, reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def rl(isola_bin, user, rl_dir):
    root = os.path.join(rl_dir, "root")
    runner = RootlessIsola(isola_bin, root, user)
    yield runner
    runner.cleanup()
    for pid in own_processes(user.uid):
        B.kill_quietly(pid)


@pytest.fixture
def rl_bundle(rl_dir, rootfs_template, user, isola_bin):
    """A bundle made from `isola spec --rootless` run as the user, normalized for the tests."""
    path = os.path.join(rl_dir, "bundle")
    os.makedirs(path)
    os.chown(path, user.uid, user.gid)
    r = subprocess.run(user.argv(isola_bin, "spec", "--rootless", "--bundle", path),
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, describe(r)
    with open(os.path.join(path, "config.json")) as f:
        spec = json.load(f)
    rootfs = B.copy_rootfs(rootfs_template, os.path.join(path, "rootfs"))
    b = B.Bundle(path, rootfs, B.normalize_config(spec))
    b.spec = spec
    return b


def host_status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].split()
    return None


# ---------------------------------------------------------------------------------------------
# spec --rootless

def test_spec_rootless_maps_the_callers_ids(rl_bundle, user):
    spec = rl_bundle.spec
    lx = spec["linux"]
    types = [n["type"] for n in lx["namespaces"]]
    assert "user" in types and "network" not in types and "mount" in types
    assert lx["uidMappings"] == [{"containerID": 0, "hostID": user.uid, "size": 1}]
    assert lx["gidMappings"] == [{"containerID": 0, "hostID": user.gid, "size": 1}]
    assert "resources" not in lx
    mounts = {m["destination"]: m for m in spec["mounts"]}
    assert mounts["/sys"]["source"] == "/sys" and "rbind" in mounts["/sys"]["options"]
    assert not any(o.startswith(("gid=", "uid=")) for m in spec["mounts"]
                   for o in m.get("options", []))
    assert lx["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert spec["process"]["noNewPrivileges"] is True


# ---------------------------------------------------------------------------------------------
# running

def test_rootless_run(rl, rl_bundle, new_id, user):
    cid = rl.track(new_id())
    rl_bundle.sh("id; cat /proc/self/uid_map /proc/self/gid_map; grep Seccomp: /proc/self/status;"
                 " ls /proc/self/ns/ | tr '\\n' ' '; echo; touch /tmp/w && echo writable")
    r = rl.run(rl_bundle, cid, global_args=("--debug",), stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("uid=0(root) gid=0(root)"), r.stdout
    assert lines[1].split() == ["0", str(user.uid), "1"]
    assert lines[2].split() == ["0", str(user.gid), "1"]
    assert lines[3].split() == ["Seccomp:", "2"]
    assert "writable" in r.stdout  # /tmp of the rootfs is 1777
    # No cgroup, and a note that says so (only with --debug).
    assert "rootless: no cgroup" in r.stderr, describe(r)
    assert leftovers(rl.root, cid, rl_bundle) == []


def test_rootless_lifecycle_and_host_view(rl, rl_bundle, new_id, user):
    cid = rl.track(new_id())
    rl_bundle.args("sleep", "1000")
    r = rl.detached("create", rl_bundle, cid)
    assert r.returncode == 0, describe(r)
    st = rl.state(cid)
    assert st["status"] == "created" and st["pid"] > 0
    pid = st["pid"]
    # Seen from the host, the container's root is the user.
    assert host_status(pid, "Uid")[:2] == [str(user.uid)] * 2
    assert host_status(pid, "CapEff") is not None
    assert os.stat(rl.root).st_uid == user.uid
    assert os.stat(os.path.join(rl.root, cid)).st_uid == user.uid
    assert rl("start", cid).returncode == 0
    assert rl.wait_status(cid, "running")["status"] == "running"
    ls = rl("list", "-q")
    assert ls.returncode == 0 and cid in ls.stdout.split(), describe(ls)
    assert rl("kill", cid, "KILL").returncode == 0
    assert rl.wait_status(cid, "stopped")["status"] == "stopped"
    r = rl("delete", cid)
    assert r.returncode == 0, describe(r)
    assert leftovers(rl.root, cid, rl_bundle, pid) == []


def test_rootless_default_state_root(isola_bin, user, rl_bundle, new_id):
    """No --root: $XDG_RUNTIME_DIR/isola when set, else /tmp/isola-UID (the user's own)."""
    cid = new_id()
    rl_bundle.args("true")
    rl_bundle.mark(cid).write()
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env[B.MARK_ENV] = cid
    fallback = "/tmp/isola-%d" % user.uid
    shutil.rmtree(fallback, ignore_errors=True)
    try:
        r = subprocess.run(user.argv(isola_bin, "run", "--bundle", rl_bundle.path, cid),
                           env=env, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, describe(r)
        sb = os.stat(fallback)
        assert sb.st_uid == user.uid and sb.st_mode & 0o777 == 0o700
        assert leftovers(fallback, cid, rl_bundle) == []

        xdg = os.path.join(rl_bundle.path, "xdg")
        os.mkdir(xdg, 0o700)
        os.chown(xdg, user.uid, user.gid)
        env["XDG_RUNTIME_DIR"] = xdg
        rl_bundle.args("sleep", "1000")
        rl_bundle.write()
        with open(os.path.join(rl_bundle.path, "d.err"), "w+") as err:
            # The container's stdio are files: a pipe would stay open while it runs.
            r = subprocess.run(user.argv(isola_bin, "run", "-d", "--bundle", rl_bundle.path,
                                         cid), env=env, stdout=err, stderr=err, text=True,
                               timeout=30, stdin=subprocess.DEVNULL)
            err.seek(0)
            assert r.returncode == 0, err.read()
        assert os.path.isdir(os.path.join(xdg, "isola", cid))
        r = subprocess.run(user.argv(isola_bin, "delete", "-f", cid), env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, describe(r)
        assert leftovers(os.path.join(xdg, "isola"), cid, rl_bundle) == []
    finally:
        shutil.rmtree(fallback, ignore_errors=True)


def test_rootless_refuses_a_foreign_tmp_root(isola_bin, user, rl_bundle):
    fallback = "/tmp/isola-%d" % user.uid
    shutil.rmtree(fallback, ignore_errors=True)
    os.mkdir(fallback, 0o777)  # root's: someone else could have made it
    try:
        env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
        r = subprocess.run(user.argv(isola_bin, "list"), env=env, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode != 0 and one_line_error(r), describe(r)
        assert fallback in r.stderr and "--root" in r.stderr
    finally:
        os.rmdir(fallback)


# ---------------------------------------------------------------------------------------------
# subordinate ids: newuidmap / newgidmap

@pytest.fixture
def sub_ids(user):
    if not NEWUIDMAP or not shutil.which("newgidmap"):
        pytest.skip("newuidmap/newgidmap are not installed (package uidmap)")
    ranges = {k: user.sub_range(k) for k in ("u", "g")}
    added = []
    for k, flag in (("u", "--add-subuids"), ("g", "--add-subgids")):
        if not ranges[k] or ranges[k][1] < 65536:
            r = subprocess.run([USERMOD, flag, "3000000-3065535", user.name], capture_output=True,
                               text=True)
            assert r.returncode == 0, describe(r)
            added.append((k, flag.replace("add", "del")))
            ranges[k] = (3000000, 65536)
    yield ranges
    for _, flag in added:
        subprocess.run([USERMOD, flag, "3000000-3065535", user.name], capture_output=True)


def test_rootless_subordinate_ids_through_newuidmap(rl, rl_bundle, new_id, user, sub_ids):
    su, sg = sub_ids["u"][0], sub_ids["g"][0]
    rl_bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": user.uid, "size": 1},
                                      {"containerID": 1, "hostID": su, "size": 65536}]
    rl_bundle.linux["gidMappings"] = [{"containerID": 0, "hostID": user.gid, "size": 1},
                                      {"containerID": 1, "hostID": sg, "size": 65536}]
    rl_bundle.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10]}
    rl_bundle.sh("id; cat /proc/self/setgroups; sleep 1000")
    cid = rl.track(new_id())
    r = rl.detached("run", rl_bundle, cid, global_args=("--debug",))
    assert r.returncode == 0, describe(r)
    assert "newuidmap newgidmap" in r.stderr, r.stderr
    out = B.wait_file(r.out, contains="allow")
    assert out is not None, open(r.out).read()
    assert out.splitlines()[0].startswith("uid=1000(user) gid=1000(user) groups=10(wheel)"), out
    assert out.splitlines()[1] == "allow"  # newgidmap leaves setgroups allowed
    pid = rl.state(cid)["pid"]
    # Inside uid 1000 is subordinate id su + 999 outside.
    assert host_status(pid, "Uid")[0] == str(su + 999)
    assert host_status(pid, "Gid")[0] == str(sg + 999)
    assert rl("delete", "-f", cid).returncode == 0
    assert leftovers(rl.root, cid, rl_bundle, pid) == []


def test_rootless_ids_outside_subuid_fail_clearly(rl, rl_bundle, new_id, user, sub_ids):
    rl_bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": user.uid, "size": 1},
                                      {"containerID": 1, "hostID": 4100000, "size": 100}]
    rl_bundle.args("true")
    cid = rl.track(new_id())
    r = rl.run(rl_bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and one_line_error(r), describe(r)
    assert "linux.uidMappings" in r.stderr and "newuidmap" in r.stderr, describe(r)
    assert "/etc/subuid" in r.stderr
    assert leftovers(rl.root, cid, rl_bundle) == []


def test_rootless_cannot_map_foreign_ids_without_helper(rl, rl_bundle, new_id, user):
    """Mapping root's id (not ours, not subordinate): refused by the kernel or the helper, with
    a message that names the mapping; nothing left."""
    rl_bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    rl_bundle.args("true")
    cid = rl.track(new_id())
    r = rl.run(rl_bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and one_line_error(r), describe(r)
    assert "linux.uidMappings" in r.stderr, describe(r)
    assert leftovers(rl.root, cid, rl_bundle) == []


# ---------------------------------------------------------------------------------------------
# cgroups: skipped, refused, or delegated

def test_rootless_devices_only_resources_run_without_cgroup(rl, rl_bundle, new_id):
    rl_bundle.linux["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    rl_bundle.args("true")
    cid = rl.track(new_id())
    r = rl.run(rl_bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    assert leftovers(rl.root, cid, rl_bundle) == []


def test_rootless_resources_without_a_writable_cgroup_fail_clearly(rl, rl_bundle, new_id, user):
    rl_bundle.linux["resources"] = {"pids": {"limit": 50}}
    rl_bundle.args("true")
    cid = rl.track(new_id())
    r = rl.run(rl_bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and one_line_error(r), describe(r)
    assert "linux.resources.pids" in r.stderr and "uid %d" % user.uid in r.stderr, describe(r)
    assert leftovers(rl.root, cid, rl_bundle) == []


@pytest.fixture
def delegated(user):
    """A cgroup the user owns below this process's own cgroup in every hierarchy (as systemd
    delegates one to a user session): (cgroup.procs files to enter, dirs)."""
    name = "isola-deleg-%s" % uuid.uuid4().hex[:8]
    dirs, procs = [], []
    own = B.proc_cgroups("self")
    try:
        for mnt, key in B.cgroup_hierarchies():
            if key not in own:
                continue
            d = os.path.join(mnt, own[key].lstrip("/"), name)
            os.mkdir(d)
            dirs.append(d)
            if "cpuset" in key.split(","):
                parent = os.path.dirname(d)
                for f in ("cpuset.cpus", "cpuset.mems"):
                    with open(os.path.join(parent, f)) as src:
                        val = src.read().strip()
                    with open(os.path.join(d, f), "w") as dst:
                        dst.write(val)
            os.chown(d, user.uid, user.gid)
            for f in ("cgroup.procs", "tasks", "cgroup.subtree_control", "cgroup.threads"):
                p = os.path.join(d, f)
                if os.path.exists(p):
                    os.chown(p, user.uid, user.gid)
            procs.append(os.path.join(d, "cgroup.procs"))
    except OSError as e:
        for d in reversed(dirs):
            os.rmdir(d)
        pytest.skip("cannot delegate a cgroup here: %s" % e)
    yield procs, dirs
    for d in reversed(dirs):
        for sub, _, _ in sorted(os.walk(d), key=lambda t: -len(t[0])):
            try:
                os.rmdir(sub)
            except OSError:
                pass


def test_rootless_delegated_cgroup_holds_limits(isola_bin, user, rl_dir, rl_bundle, new_id,
                                                delegated):
    procs, dirs = delegated
    rl = RootlessIsola(isola_bin, os.path.join(rl_dir, "root"), user, cgroup_procs=procs)
    cid = rl.track(new_id())
    try:
        rl_bundle.linux["cgroupsPath"] = "ctr-" + cid  # relative: below the delegated cgroup
        rl_bundle.linux["resources"] = {"pids": {"limit": 50}}
        rl_bundle.args("sleep", "1000")
        r = rl.detached("run", rl_bundle, cid)
        assert r.returncode == 0, describe(r)
        pid = rl.state(cid)["pid"]
        mine = B.proc_cgroups(pid)
        pids_dir = [d for d in dirs if "/pids/" in d]
        for key, path in mine.items():
            assert path.endswith("/ctr-" + cid), (key, path)
        if pids_dir:
            with open(os.path.join(pids_dir[0], "ctr-" + cid, "pids.max")) as f:
                assert f.read().strip() == "50"
        r = rl("delete", "-f", cid)
        assert r.returncode == 0, describe(r)
        assert leftovers(rl.root, cid, rl_bundle, pid) == []
        for d in dirs:
            assert not os.path.exists(os.path.join(d, "ctr-" + cid))
    finally:
        rl.cleanup()
