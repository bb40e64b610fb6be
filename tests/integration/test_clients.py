"""isola driven by the clients people use: podman (through conmon) and containerd 1.6 (through
its runc shim, which calls create/start/state/kill/delete/exec/ps with --root, --log and
--log-format json, and gives the container fifos as stdio).

Everything is private to the test module: podman gets its own storage (vfs), run root and tmp
dir; containerd is a daemon of its own (clients/containerd.toml) started and stopped here. The
image is a busybox root filesystem imported offline. Containers go below a cgroup parent of
their own, which is removed at the end, as are the daemon, the directories and every mount.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

import bundle as B
import containerd_daemon
from bundle import describe

PODMAN = shutil.which("podman")
IMAGE = "localhost/isola-busybox:test"
# podman's own limits are the ceiling without CAP_SYS_RESOURCE (design/container.md).
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
T = 60  # seconds: the bound of every client command


def make_image_tar(dest_dir):
    """A busybox root filesystem as a tar (for `podman import`)."""
    fs = os.path.join(dest_dir, "fs")
    for d in ("bin", "etc", "tmp", "root", "proc", "sys", "dev"):
        os.makedirs(os.path.join(fs, d), exist_ok=True)
    os.chmod(os.path.join(fs, "tmp"), 0o1777)
    shutil.copy2(B.BUSYBOX, os.path.join(fs, "bin", "busybox"))
    applets = subprocess.run([B.BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox" and "/" not in a:  # the list names busybox itself
            os.symlink("busybox", os.path.join(fs, "bin", a))
    with open(os.path.join(fs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(fs, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    tar = os.path.join(dest_dir, "busybox.tar")
    subprocess.run(["tar", "-C", fs, "-cf", tar, "."], check=True, timeout=T)
    shutil.rmtree(fs)
    return tar


def cgroup_parent_dirs(name):
    return [os.path.join(mnt, name) for mnt, _ in B.cgroup_hierarchies()]


def remove_cgroup_tree(name):
    for top in cgroup_parent_dirs(name):
        for d, _, _ in sorted(os.walk(top), key=lambda t: -len(t[0])):
            try:
                os.rmdir(d)
            except OSError:
                pass


def cgroup_dirs_below(name):
    """Container cgroups still under our parent (the parent itself aside)."""
    out = []
    for top in cgroup_parent_dirs(name):
        for d, subs, _ in os.walk(top):
            out += [os.path.join(d, s) for s in subs]
    return out


def unmount_under(prefix):
    for m in sorted((m["mount_point"] for m in B.mountinfo()
                     if m["mount_point"].startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)


def state_dirs(root):
    return [n for n in os.listdir(root) if not n.startswith(".")] if os.path.isdir(root) else []


def wait_until(pred, timeout=20.0):
    return B.wait_for(pred, timeout, 0.05)


# ---------------------------------------------------------------------------------------------
# podman

# podman gives a runtime of its own no --root when it deletes (its --runtime-flag options are
# left out there), so under podman isola keeps its state in the default root.
DEFAULT_ROOT = "/run/isola"


class Podman:
    def __init__(self, isola, base):
        self.base = base
        self.root = DEFAULT_ROOT
        self.before = set(state_dirs(self.root))  # other users' containers are not ours
        self.cache_existed = os.path.exists(os.path.join(self.root, ".seccomp"))
        self.cgroup_parent = "isola-podman-%s" % uuid.uuid4().hex[:8]
        self.env = dict(os.environ, TMPDIR=os.path.join(base, "tmp"))
        os.makedirs(self.env["TMPDIR"])
        self.prefix = [PODMAN, "--root", os.path.join(base, "storage"),
                       "--runroot", os.path.join(base, "run"),
                       "--tmpdir", os.path.join(base, "libpod"),
                       "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                       "--events-backend", "file", "--runtime", isola]

    def __call__(self, *args, timeout=T, **kw):
        kw.setdefault("capture_output", True)
        return subprocess.run(self.prefix + list(args), text=True, timeout=timeout,
                              env=self.env, stdin=subprocess.DEVNULL, **kw)

    def run_args(self, name):
        """Options for `podman run`: no network, ulimits within ours, our cgroup parent, and
        the leftover mark in the environment."""
        return ["--network", "none", *ULIMITS, "--cgroup-parent", "/" + self.cgroup_parent,
                "--name", name, "-e", "%s=%s" % (B.MARK_ENV, name)]

    def leftovers(self, name):
        found = ["state dir %s" % d for d in set(state_dirs(self.root)) - self.before]
        # podman keeps its conmons in <parent>/conmon, shared by all its containers there.
        found += ["cgroup %s" % d for d in cgroup_dirs_below(self.cgroup_parent)
                  if os.path.basename(d) != "conmon"]
        found += ["process %d" % p for p in B.marked_processes(name)]
        found += ["mount %s" % m["mount_point"] for m in B.mountinfo()
                  if m["mount_point"].startswith(self.base)]
        return found


@pytest.fixture(scope="module")
def podman(isola_bin):
    if not PODMAN:
        pytest.skip("podman is not installed")
    if not os.path.exists(B.BUSYBOX):
        pytest.skip("busybox-static is not installed")
    base = tempfile.mkdtemp(prefix="isola-pm", dir="/tmp")
    pm = Podman(isola_bin, base)
    try:
        tar = make_image_tar(base)
        r = pm("import", tar, IMAGE)
        assert r.returncode == 0, describe(r)
        yield pm
    finally:
        subprocess.run(pm.prefix + ["rm", "-a", "-f", "-t", "0"], capture_output=True,
                       timeout=T, env=pm.env)
        unmount_under(base)
        remove_cgroup_tree(pm.cgroup_parent)
        shutil.rmtree(base, ignore_errors=True)
        if not pm.cache_existed:  # the seccomp filters isola cached for podman's profile
            shutil.rmtree(os.path.join(pm.root, ".seccomp"), ignore_errors=True)


@pytest.fixture
def pname(podman):
    """A container name; the container is removed after the test, whatever happened."""
    names = []

    def make():
        names.append("it-%s" % uuid.uuid4().hex[:10])
        return names[-1]
    yield make
    for n in names:
        podman("rm", "-f", "-t", "0", n)
        for pid in B.marked_processes(n):
            B.kill_quietly(pid)


def test_podman_run_echo_and_exit_code(podman, pname):
    n = pname()
    r = podman("run", "--rm", *podman.run_args(n), IMAGE, "sh", "-c",
               "echo hello; echo oops >&2; exit 3")
    assert r.returncode == 3, describe(r)
    assert r.stdout == "hello\n" and "oops" in r.stderr, describe(r)
    assert podman.leftovers(n) == []


def test_podman_environment_user_and_cwd(podman, pname):
    n = pname()
    r = podman("run", "--rm", *podman.run_args(n), "-e", "FOO=bar baz", "-w", "/tmp",
               "-u", "65534:65534", IMAGE, "sh", "-c", 'echo "$FOO"; pwd; id -u; id -g; '
               'echo $PATH; grep Seccomp: /proc/self/status')
    assert r.returncode == 0, describe(r)
    lines = r.stdout.splitlines()
    assert lines[:4] == ["bar baz", "/tmp", "65534", "65534"], r.stdout
    assert "/bin" in lines[4].split(":")
    assert lines[5].split() == ["Seccomp:", "2"]  # podman's default profile is applied
    assert podman.leftovers(n) == []


def test_podman_memory_and_pids_limits(podman, pname):
    n = pname()
    r = podman("run", "-d", *podman.run_args(n), "--memory", "64m", "--pids-limit", "40",
               IMAGE, "sleep", "1000")
    assert r.returncode == 0, describe(r)
    pid = int(podman("inspect", "--format", "{{.State.Pid}}", n).stdout)
    cg = B.proc_cgroups(pid)
    limits = {}
    for mnt, key in B.cgroup_hierarchies():
        d = os.path.join(mnt, cg.get(key, "/").lstrip("/"))
        for f in ("memory.limit_in_bytes", "memory.max", "pids.max"):
            if os.path.exists(os.path.join(d, f)):
                limits[f] = open(os.path.join(d, f)).read().strip()
    assert podman.cgroup_parent in cg.get("pids", ""), cg
    assert limits.get("pids.max") == "40", limits
    assert str(64 << 20) in (limits.get("memory.limit_in_bytes"), limits.get("memory.max")), limits
    # The limit holds: 60 more processes cannot all start.
    r = podman("exec", n, "sh", "-c", "for i in $(seq 60); do sleep 5 & done; echo started")
    assert r.returncode != 0 and "can't fork" in r.stderr, describe(r)
    r = podman("rm", "-f", "-t", "0", n)
    assert r.returncode == 0, describe(r)
    assert podman.leftovers(n) == []


def test_podman_detached_ps_exec_stop(podman, pname):
    n = pname()
    r = podman("run", "-d", *podman.run_args(n), IMAGE, "sh", "-c",
               'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done')
    assert r.returncode == 0, describe(r)
    cid = r.stdout.strip()
    assert wait_until(lambda: "ready" in podman("logs", n).stdout)
    ps = podman("ps", "--format", "{{.Names}} {{.Status}}")
    assert any(l.startswith(n + " Up") for l in ps.stdout.splitlines()), describe(ps)
    assert os.path.isdir(os.path.join(podman.root, cid))  # isola's state
    r = podman("exec", n, "sh", "-c", "echo from-exec $$; exit 5")
    assert r.returncode == 5 and r.stdout.startswith("from-exec "), describe(r)
    r = podman("exec", "-e", "X=1", "-w", "/tmp", n, "sh", "-c", "echo $X; pwd")
    assert r.returncode == 0 and r.stdout == "1\n/tmp\n", describe(r)
    t0 = time.monotonic()
    r = podman("stop", "-t", "10", n)
    assert r.returncode == 0, describe(r)
    assert time.monotonic() - t0 < 8, "SIGTERM was not delivered"
    code = podman("inspect", "--format", "{{.State.ExitCode}}", n).stdout.strip()
    assert code == "7", code
    assert "got-term" in podman("logs", n).stdout
    r = podman("rm", n)
    assert r.returncode == 0, describe(r)
    assert podman.leftovers(n) == []


def test_podman_stop_escalates_to_kill(podman, pname):
    """sleep as PID 1 ignores SIGTERM: stop sends SIGKILL after the timeout."""
    n = pname()
    r = podman("run", "-d", *podman.run_args(n), IMAGE, "sleep", "1000")
    assert r.returncode == 0, describe(r)
    t0 = time.monotonic()
    r = podman("stop", "-t", "1", n)
    assert r.returncode == 0, describe(r)
    assert time.monotonic() - t0 < 20
    assert podman("inspect", "--format", "{{.State.ExitCode}}", n).stdout.strip() == "137"
    assert podman("rm", n).returncode == 0
    assert podman.leftovers(n) == []


def test_podman_kill_and_rm(podman, pname):
    n = pname()
    r = podman("run", "-d", *podman.run_args(n), IMAGE, "sh", "-c",
               'trap "exit 9" USR1; while :; do sleep 0.1; done')
    assert r.returncode == 0, describe(r)
    r = podman("kill", "-s", "USR1", n)
    assert r.returncode == 0, describe(r)
    assert wait_until(lambda: podman("inspect", "--format", "{{.State.Status}}",
                                     n).stdout.strip() == "exited")
    assert podman("inspect", "--format", "{{.State.ExitCode}}", n).stdout.strip() == "9"
    assert podman("rm", n).returncode == 0
    # rm -f of a running container: killed and removed.
    n2 = pname()
    r = podman("run", "-d", *podman.run_args(n2), IMAGE, "sleep", "1000")
    assert r.returncode == 0, describe(r)
    r = podman("rm", "-f", "-t", "0", n2)
    assert r.returncode == 0, describe(r)
    assert podman.leftovers(n) == [] and podman.leftovers(n2) == []


# ---------------------------------------------------------------------------------------------
# containerd

class Containerd(containerd_daemon.Containerd):
    def __init__(self, isola):
        super().__init__("isola-ctr", timeout=T)
        self.isola = isola

    def run_args(self, cid):
        return ["--runc-binary", self.isola, "--runc-root", self.runc_root,
                "--cgroup", "/%s/%s" % (self.cgroup_parent, cid),
                "--env", "%s=%s" % (B.MARK_ENV, cid)]


@pytest.fixture(scope="module")
def containerd(isola_bin, podman):
    """A private containerd with the busybox image imported (from `podman save`)."""
    if containerd_daemon.missing():
        pytest.skip(containerd_daemon.missing())
    cd = Containerd(isola_bin)
    try:
        cd.start()
        archive = os.path.join(cd.base, "busybox-oci.tar")
        r = podman("save", "--format", "oci-archive", "-o", archive, IMAGE)
        assert r.returncode == 0, describe(r)
        r = cd.ctr("image", "import", "--base-name", IMAGE.rsplit(":", 1)[0], archive)
        assert r.returncode == 0, describe(r)
        assert IMAGE in cd.ctr("image", "ls", "-q").stdout
        yield cd
    finally:
        cd.shutdown(images=[IMAGE])


@pytest.fixture
def cid(containerd):
    made = []

    def make():
        made.append("it-%s" % uuid.uuid4().hex[:10])
        return made[-1]
    yield make
    for c in made:
        containerd.ctr("task", "kill", "-s", "KILL", c)
        containerd.ctr("task", "delete", "-f", c)
        containerd.ctr("container", "rm", c)
        for pid in B.marked_processes(c):
            B.kill_quietly(pid)


def test_containerd_run_echo_env_and_exit_code(containerd, cid):
    c = cid()
    r = containerd.ctr("run", "--rm", *containerd.run_args(c), "--env", "FOO=bar", IMAGE, c,
                       "sh", "-c", 'echo "hello $FOO"; echo oops >&2; exit 3')
    assert r.returncode == 3, describe(r)
    assert r.stdout == "hello bar\n" and "oops" in r.stderr, describe(r)
    assert containerd.leftovers(c) == []


def test_containerd_memory_limit(containerd, cid):
    c = cid()
    r = containerd.ctr("run", "--rm", *containerd.run_args(c), "--memory-limit",
                       str(64 << 20), IMAGE, c, "sh", "-c", "cat /proc/self/cgroup")
    assert r.returncode == 0, describe(r)
    mem = [l.split(":", 2)[2] for l in r.stdout.splitlines() if ":memory:" in l]
    assert mem and mem[0].endswith("/%s/%s" % (containerd.cgroup_parent, c)), r.stdout
    # The cgroup is gone now; run a detached one to read the limit from the host.
    c2 = cid()
    r = containerd.ctr("run", "-d", *containerd.run_args(c2), "--memory-limit", str(64 << 20),
                       IMAGE, c2, "sleep", "1000")
    assert r.returncode == 0, describe(r)
    d = os.path.join(B.CGROUP_ROOT, "memory", containerd.cgroup_parent, c2)
    with open(os.path.join(d, "memory.limit_in_bytes")) as f:
        assert int(f.read()) == 64 << 20
    containerd.ctr("task", "kill", "-s", "KILL", c2)
    assert wait_until(lambda: "STOPPED" in containerd.ctr("task", "ls").stdout)
    assert containerd.ctr("task", "delete", c2).returncode == 0
    assert containerd.ctr("container", "rm", c2).returncode == 0
    assert containerd.leftovers(c) == [] and containerd.leftovers(c2) == []


def test_containerd_detached_exec_ps_kill_delete(containerd, cid):
    c = cid()
    r = containerd.ctr("run", "-d", *containerd.run_args(c), IMAGE, c, "sh", "-c",
                       'trap "exit 7" TERM; while :; do sleep 0.1; done')
    assert r.returncode == 0, describe(r)
    tasks = containerd.ctr("task", "ls").stdout
    assert any(l.split()[0] == c and "RUNNING" in l for l in tasks.splitlines()[1:]), tasks
    # The shim's runtime state lives under --runc-root.
    assert os.path.isdir(os.path.join(containerd.runc_root, containerd.ns, c))
    r = containerd.ctr("task", "exec", "--exec-id", "e1", c, "sh", "-c",
                       "echo from-exec; exit 5")
    assert r.returncode == 5 and r.stdout == "from-exec\n", describe(r)
    ps = containerd.ctr("task", "ps", c)
    assert ps.returncode == 0 and len(ps.stdout.splitlines()) >= 2, describe(ps)
    r = containerd.ctr("task", "kill", c)  # SIGTERM
    assert r.returncode == 0, describe(r)
    assert wait_until(lambda: any(l.split()[0] == c and "STOPPED" in l for l in
                                  containerd.ctr("task", "ls").stdout.splitlines()[1:]))
    r = containerd.ctr("task", "delete", c)
    assert r.returncode == 0, describe(r)
    assert containerd.ctr("container", "rm", c).returncode == 0
    assert containerd.leftovers(c) == []


def test_containerd_kill_escalation_and_forced_delete(containerd, cid):
    c = cid()
    r = containerd.ctr("run", "-d", *containerd.run_args(c), IMAGE, c, "sleep", "1000")
    assert r.returncode == 0, describe(r)
    containerd.ctr("task", "kill", c)  # PID 1 without a handler ignores SIGTERM
    time.sleep(0.5)
    assert "RUNNING" in containerd.ctr("task", "ls").stdout
    r = containerd.ctr("task", "delete", "-f", c)
    assert r.returncode == 0, describe(r)
    assert containerd.ctr("container", "rm", c).returncode == 0
    assert containerd.leftovers(c) == []


def test_containerd_reports_runtime_errors_from_the_json_log(containerd, cid):
    """A failing create reaches ctr through the shim, which reads --log (--log-format json)."""
    c = cid()
    r = containerd.ctr("run", "--rm", *containerd.run_args(c), IMAGE, c, "no-such-program")
    assert r.returncode != 0, describe(r)
    assert "no-such-program" in r.stderr and "not found" in r.stderr, describe(r)
    containerd.ctr("container", "rm", c)
    assert containerd.leftovers(c) == []
