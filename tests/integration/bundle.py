"""Helpers for the integration tests: busybox bundles, config.json generation, the `isola`
command wrapper, and leftovers() — the check that a container left nothing behind.

Nothing here asserts; tests do. Nothing here swallows a failure either: helpers return what
they saw (CompletedProcess, dicts, lists of leftovers) and the test decides.
"""
import copy
import errno
import json
import os
import shutil
import signal
import subprocess
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BUSYBOX = shutil.which("busybox", path="/bin:/usr/bin:/sbin:/usr/sbin") or "/bin/busybox"
CGROUP_ROOT = "/sys/fs/cgroup"
# Every container the tests create carries this in process.env, so a leftover process can be
# found by its environment even when its pid was never reported.
MARK_ENV = "ISOLA_TEST_CID"

DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

CAP_NUMBERS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}


def cap_mask(names):
    m = 0
    for n in names:
        m |= 1 << CAP_NUMBERS[n]
    return m


def default_config():
    """A runc-like default config.json (what `runc spec` writes, with docker's default
    capabilities and the usual masked/readonly paths), used when `isola spec` is unavailable."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: list(DEFAULT_CAPS)
                             for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "isola",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
            ],
        },
    }


def normalize_config(cfg):
    """Makes a generated config fit the tests: no terminal, rootfs next to config.json and
    writable, a placeholder program. Everything else stays as generated."""
    cfg = copy.deepcopy(cfg)
    p = cfg.setdefault("process", {})
    p["terminal"] = False
    p.pop("consoleSize", None)
    p["args"] = ["true"]
    p.setdefault("cwd", "/")
    p.setdefault("user", {"uid": 0, "gid": 0})
    env = [e for e in p.get("env", []) if not e.startswith("PATH=")]
    env.insert(0, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    p["env"] = env
    cfg["root"] = {"path": "rootfs", "readonly": False}
    return cfg


def spec_config(isola, workdir):
    """config.json as `isola spec` writes it, or None (with the reason) when that fails."""
    os.makedirs(workdir, exist_ok=True)
    try:
        r = subprocess.run([isola, "spec", "--bundle", workdir], capture_output=True,
                           text=True, timeout=20)
    except OSError as e:
        return None, "cannot run %s: %s" % (isola, e)
    except subprocess.TimeoutExpired:
        return None, "`isola spec` timed out"
    path = os.path.join(workdir, "config.json")
    if r.returncode != 0 or not os.path.exists(path):
        return None, "`isola spec` exited %d: %s" % (r.returncode, r.stderr.strip())
    try:
        with open(path) as f:
            cfg = json.load(f)
    except ValueError as e:
        return None, "`isola spec` wrote invalid JSON: %s" % e
    if not isinstance(cfg, dict) or not all(k in cfg for k in ("process", "root", "linux")):
        return None, "`isola spec` output lacks process/root/linux"
    return cfg, "isola spec"


# ---------------------------------------------------------------------------------------------
# root filesystems

def make_rootfs_template(dest, probe=None):
    """A busybox root filesystem: /bin/busybox plus a symlink per applet, /etc/passwd and
    /etc/group, the usual empty directories, and the probe helper at /probe."""
    for d in ("bin", "sbin", "etc", "tmp", "proc", "sys", "dev", "root", "home/user", "var",
              "run", "mnt"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    os.chmod(os.path.join(dest, "tmp"), 0o1777)
    shutil.copy2(BUSYBOX, os.path.join(dest, "bin", "busybox"))
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a == "busybox" or "/" in a:
            continue
        link = os.path.join(dest, "bin", a)
        if not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(dest, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n"
                "user:x:1000:1000:user:/home/user:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(os.path.join(dest, "etc", "group"), "w") as f:
        f.write("root:x:0:\nwheel:x:10:\ntty:x:5:\ndialout:x:20:\nuser:x:1000:\n"
                "nogroup:x:65534:\n")
    with open(os.path.join(dest, "etc", "hostname"), "w") as f:
        f.write("template\n")
    if probe:
        shutil.copy2(probe, os.path.join(dest, "probe"))
        os.chmod(os.path.join(dest, "probe"), 0o755)
    return dest


def copy_rootfs(template, dest, own_copy=False):
    """A private copy of the template. Regular files are hard links unless own_copy (needed
    when a test chowns or writes into the files themselves, e.g. for a user namespace)."""
    shutil.copytree(template, dest, symlinks=True,
                    copy_function=shutil.copy2 if own_copy else os.link)
    return dest


class Bundle:
    """An OCI bundle on disk: `path`/config.json and `path`/rootfs."""

    def __init__(self, path, rootfs, config):
        self.path = path
        self.rootfs = rootfs
        self.config = config

    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config.setdefault("linux", {})

    def args(self, *args):
        self.config["process"]["args"] = list(args)
        return self

    def sh(self, script):
        return self.args("sh", "-c", script)

    def namespaces(self):
        return [n["type"] for n in self.linux.get("namespaces", [])]

    def set_namespaces(self, types):
        self.linux["namespaces"] = [{"type": t} for t in types]

    def drop_namespace(self, t):
        self.linux["namespaces"] = [n for n in self.linux.get("namespaces", [])
                                    if n["type"] != t]

    def add_namespace(self, t, path=None):
        self.drop_namespace(t)
        ns = {"type": t}
        if path:
            ns["path"] = path
        self.linux["namespaces"].append(ns)

    def add_mount(self, destination, type_, source, options=None):
        m = {"destination": destination, "type": type_, "source": source}
        if options is not None:
            m["options"] = options
        self.config.setdefault("mounts", []).append(m)

    def add_hook(self, kind, path, args=None, env=None, timeout=None):
        h = {"path": path}
        if args is not None:
            h["args"] = args
        if env is not None:
            h["env"] = env
        if timeout is not None:
            h["timeout"] = timeout
        self.config.setdefault("hooks", {}).setdefault(kind, []).append(h)

    def hostile_guest(self, vmguest, *extra_caps):
        """For a VM's escape and fault tests: /vmguest (the static hostile guest) in the rootfs,
        Docker's capabilities plus SYS_ADMIN (and `extra_caps`), no seccomp: inside the guest
        that is the guest kernel's business."""
        shutil.copy2(vmguest, os.path.join(self.rootfs, "vmguest"))
        caps = DEFAULT_CAPS + ["CAP_SYS_ADMIN"] + list(extra_caps)
        self.process["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}
        self.linux.pop("seccomp", None)
        return self

    def mark(self, cid):
        """Puts the leftover mark for `cid` in the process env (see MARK_ENV)."""
        env = [e for e in self.process.get("env", []) if not e.startswith(MARK_ENV + "=")]
        env.append("%s=%s" % (MARK_ENV, cid))
        self.process["env"] = env
        return self

    def write(self, raw=None):
        """Writes config.json: the model, or `raw` text as is (for malformed input)."""
        with open(os.path.join(self.path, "config.json"), "w") as f:
            if raw is not None:
                f.write(raw)
            else:
                json.dump(self.config, f, indent=2)
        return self


# ---------------------------------------------------------------------------------------------
# running isola

class Isola:
    """Runs the binary with a private --root. Every call has a timeout so that a hang fails
    the test instead of the suite."""

    def __init__(self, binary, root, timeout=30):
        self.binary = binary
        self.root = root
        self.timeout = timeout
        self.ids = set()          # every id handed to a command, for the finalizer
        self.pids = set()         # container pids seen, for the finalizer

    def argv(self, *args, global_args=()):
        return [self.binary, "--root", self.root, *global_args, *map(str, args)]

    @staticmethod
    def marked_env(cid, env=None):
        """The environment for a runtime command on `cid`: the runtime's own processes (and
        the container's, until it execs) then carry the leftover mark too."""
        env = dict(os.environ if env is None else env)
        if cid:
            env[MARK_ENV] = cid
        return env

    def __call__(self, *args, global_args=(), timeout=None, input=None, env=None, cid=None,
                 **kw):
        """Runs `isola --root R ARGS...`, returns the CompletedProcess (text)."""
        kw.setdefault("capture_output", not ("stdout" in kw or "stderr" in kw))
        return subprocess.run(self.argv(*args, global_args=global_args), text=True,
                              timeout=timeout or self.timeout, input=input,
                              env=self.marked_env(cid, env), **kw)

    def popen(self, *args, global_args=(), cid=None, env=None, **kw):
        if cid:
            self.track(cid)
        return subprocess.Popen(self.argv(*args, global_args=global_args),
                                env=self.marked_env(cid, env), **kw)

    def track(self, cid):
        self.ids.add(cid)
        return cid

    def create(self, bundle, cid, *flags, write=True, **kw):
        """`create --bundle B FLAGS ID`; writes config.json first (with the leftover mark)
        unless write=False."""
        self.track(cid)
        if write:
            bundle.mark(cid).write()
        return self("create", "--bundle", bundle.path, *flags, cid, cid=cid, **kw)

    def run(self, bundle, cid, *flags, write=True, **kw):
        """`run --bundle B FLAGS ID` (foreground unless FLAGS has -d)."""
        self.track(cid)
        if write:
            bundle.mark(cid).write()
        return self("run", "--bundle", bundle.path, *flags, cid, cid=cid, **kw)

    def detached(self, cmd, bundle, cid, *flags, write=True, name=None, **kw):
        """`create` or `run -d` with the container's stdio on files (a pipe would stay open
        as long as the container runs). Returns the CompletedProcess with .stderr holding what
        the runtime itself printed, and .out / .err the paths the container writes to."""
        self.track(cid)
        if write:
            bundle.mark(cid).write()
        out = os.path.join(bundle.path, "%s.out" % (name or cid))
        err = os.path.join(bundle.path, "%s.err" % (name or cid))
        argv = ["create"] if cmd == "create" else ["run", "--detach"]
        with open(out, "wb") as o, open(err, "wb") as e:
            r = self(*argv, "--bundle", bundle.path, *flags, cid, stdin=subprocess.DEVNULL,
                     stdout=o, stderr=e, cid=cid, **kw)
        with open(err, errors="replace") as f:
            r.stderr = f.read()
        r.stdout = ""
        r.out, r.err = out, err
        return r

    def state(self, cid):
        """The state JSON of `cid` (dict); raises AssertionError with stderr when it fails."""
        r = self("state", cid)
        assert r.returncode == 0, "isola state %s exited %d: %s" % (cid, r.returncode,
                                                                    r.stderr.strip())
        st = json.loads(r.stdout)
        if st.get("pid"):
            self.pids.add(st["pid"])
        return st

    def wait_status(self, cid, status, timeout=10.0):
        """Polls `state` until it reports `status`; returns the last state (the caller
        asserts on it)."""
        deadline = time.monotonic() + timeout
        st = self.state(cid)
        while st.get("status") != status and time.monotonic() < deadline:
            time.sleep(0.02)
            st = self.state(cid)
        return st

    def cleanup(self):
        """Best effort: force-deletes every container this test touched and kills their
        processes. Used by the finalizer only; tests check leftovers() themselves."""
        ids = set(self.ids)
        if os.path.isdir(self.root):
            ids.update(os.listdir(self.root))
        for cid in ids:
            if not cid or "/" in cid or cid in (".", ".."):
                continue
            try:
                subprocess.run(self.argv("delete", "--force", cid), capture_output=True,
                               timeout=15)
            except (subprocess.TimeoutExpired, OSError):
                pass
        for cid in self.ids:
            for pid in marked_processes(cid):
                kill_quietly(pid)
        for pid in self.pids:
            if pid_alive(pid) and MARK_ENV.encode() in read_environ(pid):
                kill_quietly(pid)


def kill_quietly(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def unique_id(prefix="it"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


# ---------------------------------------------------------------------------------------------
# processes, mounts, cgroups

def proc_state(pid):
    """One-letter state of a process, or None when it does not exist."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return data[data.rindex(")") + 2]


def pid_alive(pid):
    """True when the process exists and is not a zombie (a zombie has released everything
    but its pid; on this host PID 1 does not reap, so zombies of exited containers linger)."""
    s = proc_state(pid)
    return s is not None and s not in ("Z", "X")


def read_environ(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return f.read()
    except OSError:
        return b""


def read_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return None


def marked_processes(cid):
    """Live processes whose environment carries MARK_ENV=cid (the container's processes)."""
    needle = ("%s=%s" % (MARK_ENV, cid)).encode()
    out = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        env = read_environ(int(name)).split(b"\0")
        if needle in env and pid_alive(int(name)):
            out.append(int(name))
    return out


def descendants(pid):
    """All live descendants of `pid` (by PPid), for tests that kill a runtime half-way."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def mountinfo(pid="self"):
    """Parsed /proc/PID/mountinfo: list of dicts (mount_point, root, fstype, source, options
    as a set, super_options as a set, optional fields as a list)."""
    out = []
    with open("/proc/%s/mountinfo" % pid) as f:
        for line in f:
            out.append(parse_mountinfo_line(line))
    return out


def parse_mountinfo_line(line):
    left, right = line.rstrip("\n").split(" - ", 1)
    lf = left.split(" ")
    rf = right.split(" ")
    unesc = lambda s: s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n") \
        .replace("\\134", "\\")
    return {
        "id": int(lf[0]), "parent": int(lf[1]), "dev": lf[2], "root": unesc(lf[3]),
        "mount_point": unesc(lf[4]), "options": set(lf[5].split(",")),
        "optional": lf[6:], "fstype": rf[0], "source": unesc(rf[1]) if len(rf) > 1 else "",
        "super_options": set(rf[2].split(",")) if len(rf) > 2 else set(),
    }


def parse_mountinfo_text(text):
    return [parse_mountinfo_line(l) for l in text.splitlines() if " - " in l]


def cgroup_hierarchies():
    """Mounted cgroup hierarchies of this host: list of (mount dir, key in /proc/PID/cgroup).
    The key is the controller list for v1 ("memory", "name=systemd") and "" for v2."""
    out = []
    for m in mountinfo():
        if m["fstype"] == "cgroup2":
            out.append((m["mount_point"], ""))
        elif m["fstype"] == "cgroup":
            ctrls = sorted(o for o in m["super_options"]
                           if o not in ("rw", "ro", "relatime", "noexec", "nosuid", "nodev",
                                        "clone_children", "noprefix", "xattr")
                           and not o.startswith("release_agent"))
            out.append((m["mount_point"], ",".join(ctrls)))
    return out


def proc_cgroups(pid):
    """{hierarchy key: path} from /proc/PID/cgroup."""
    out = {}
    with open("/proc/%s/cgroup" % pid) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            out[",".join(sorted(ctrls.split(","))) if ctrls else ""] = path
    return out


def find_cgroup_dirs(name, max_depth=4):
    """Directories called `name` anywhere (up to max_depth) under each cgroup hierarchy."""
    found = []
    for mnt, _ in cgroup_hierarchies():
        base_depth = mnt.rstrip("/").count("/")
        for dirpath, dirnames, _ in os.walk(mnt):
            depth = dirpath.rstrip("/").count("/") - base_depth
            if depth >= max_depth:
                dirnames[:] = []
            if name in dirnames:
                found.append(os.path.join(dirpath, name))
    return found


def sanitized(binary):
    """True when `binary` is an ASan build (make SANITIZE=1): it names libasan among its
    libraries (the normal build is static and names none)."""
    try:
        with open(binary, "rb") as f:
            return b"libasan.so" in f.read(1 << 16)
    except OSError:
        return False


def leftovers(root, cid, bundle=None, pid=None, cgroups_path=None):
    """Everything container `cid` left behind, as readable strings; [] when clean:
    its state dir under --root, mounts mentioning the bundle (or the id) in this mount
    namespace, cgroup directories (cgroupsPath under every hierarchy, and any directory named
    after the id), its processes (the given pid, and any process carrying the container's
    environment mark)."""
    found = []
    if root and os.path.lexists(os.path.join(root, cid)):
        found.append("state dir %s" % os.path.join(root, cid))
    bpath = getattr(bundle, "path", bundle)
    for m in mountinfo():
        for needle in filter(None, [bpath, cid]):
            if needle in m["mount_point"] or needle in m["root"]:
                found.append("mount %s (%s)" % (m["mount_point"], m["fstype"]))
                break
    if cgroups_path is None and bundle is not None and hasattr(bundle, "config"):
        cgroups_path = bundle.config.get("linux", {}).get("cgroupsPath")
    if cgroups_path:
        rel = cgroups_path.strip("/")
        if ":" in rel:  # systemd-style slice:prefix:name — look for the name only
            rel = ""
        for mnt, _ in cgroup_hierarchies():
            if rel and os.path.isdir(os.path.join(mnt, rel)):
                found.append("cgroup %s" % os.path.join(mnt, rel))
    for d in find_cgroup_dirs(cid):
        s = "cgroup %s" % d
        if s not in found:
            found.append(s)
    if pid and pid_alive(pid):
        found.append("process %d (%s)" % (pid, " ".join(read_cmdline(pid) or [])))
    for p in marked_processes(cid):
        if p != pid:
            found.append("process %d (%s)" % (p, " ".join(read_cmdline(p) or [])))
    return found


class watchdog:
    """with watchdog(popen, seconds): kills the process if the block takes longer, so a
    blocking read from a hung runtime fails the test instead of hanging the suite."""

    def __init__(self, proc, seconds=30.0):
        import threading
        self.timer = threading.Timer(seconds, self._fire, (proc,))
        self.fired = False

    def _fire(self, proc):
        self.fired = True
        try:
            proc.kill()
        except OSError:
            pass

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        return False


def wait_for(pred, timeout=10.0, interval=0.02):
    """Polls pred() until it returns a true value or the timeout passes; returns the last
    value."""
    deadline = time.monotonic() + timeout
    v = pred()
    while not v and time.monotonic() < deadline:
        time.sleep(interval)
        v = pred()
    return v


def wait_file(path, timeout=10.0, contains=None):
    """Waits until `path` exists (and contains `contains`); returns its text or None."""
    def check():
        try:
            with open(path) as f:
                t = f.read()
        except FileNotFoundError:
            return None
        if contains is not None and contains not in t:
            return None
        return t
    return wait_for(check, timeout)


# The documented error format is one line starting "isola: ". ISOLA_TEST_ERROR_PREFIX
# changes the prefix, to point the suite at another runtime and so check the tests themselves
# (runc's lines start with `time=`).
ERROR_PREFIX = os.environ.get("ISOLA_TEST_ERROR_PREFIX", "isola: ")


def one_line_error(r):
    """True when a failed command printed exactly one non-empty line on stderr, starting with
    the error prefix."""
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    return len(lines) == 1 and lines[0].startswith(ERROR_PREFIX)


def describe(r):
    return "exit %s\nstdout: %s\nstderr: %s" % (r.returncode, r.stdout, r.stderr)


def ns_inode(pid, ns):
    try:
        return os.stat("/proc/%s/ns/%s" % (pid, ns)).st_ino
    except FileNotFoundError:
        return None


def host_has_ns(ns):
    return os.path.exists("/proc/self/ns/%s" % ns)


def errno_name(e):
    return errno.errorcode.get(e, str(e))
