"""A private containerd for the client tests (test_clients.py, test_kubernetes.py,
test_wasm_clients.py): its own socket, root and state under a temporary directory, a namespace
and a cgroup parent of its own, started from a config text, and stopped with everything it made
(tasks, containers, images imported, shims, mounts, cgroups, the directory).
"""
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

import bundle as B

CONTAINERD = shutil.which("containerd")
CTR = shutil.which("ctr")
CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients", "containerd.toml")


def missing():
    """Why no private containerd can run here, or None."""
    if not (CONTAINERD and CTR):
        return "containerd / ctr are not installed (apt-get install containerd)"
    return None


class Containerd:
    """`base` is a fresh directory; `name` prefixes the namespace and the cgroup parent."""

    def __init__(self, name, timeout=60):
        self.base = tempfile.mkdtemp(prefix=name + "-", dir="/tmp")
        self.sock = os.path.join(self.base, "containerd.sock")
        self.ns = "%s-%s" % (name, uuid.uuid4().hex[:6])
        self.runc_root = os.path.join(self.base, "shim-root")  # the shim adds /<namespace>
        self.cgroup_parent = "%s-%s" % (name, uuid.uuid4().hex[:8])
        self.timeout = timeout
        self.proc = None
        self.log = None

    @property
    def state_root(self):
        """isola's --root for this namespace's containers (as the runc shim gives it)."""
        return os.path.join(self.runc_root, self.ns)

    def ctr(self, *args, timeout=None, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run([CTR, "--address", self.sock, "--namespace", self.ns,
                               *map(str, args)], text=True, timeout=timeout or self.timeout,
                              **kw)

    def ctr_popen(self, *args, **kw):
        return subprocess.Popen([CTR, "--address", self.sock, "--namespace", self.ns,
                                 *map(str, args)], text=True, **kw)

    def start(self, extra=""):
        """Starts the daemon on clients/containerd.toml plus `extra` (more TOML), @DIR@ being
        base in both; fails the test with the end of its log when it is not up in 30 s."""
        with open(CONFIG) as f:
            config = f.read() + "\n" + extra
        path = os.path.join(self.base, "config.toml")
        with open(path, "w") as f:
            f.write(config.replace("@DIR@", self.base))
        self.log = open(os.path.join(self.base, "containerd.log"), "w")
        self.proc = subprocess.Popen([CONTAINERD, "--config", path], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        up = B.wait_for(lambda: self.proc.poll() is not None or
                        self.ctr("version", timeout=5).returncode == 0, 30, 0.1)
        if not up or self.proc.poll() is not None:
            pytest.fail("containerd did not start: %s" % open(self.log.name).read()[-2000:],
                        pytrace=False)

    def shims(self):
        """Shim processes of our namespace (found by their arguments, ended by pid)."""
        out = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                argv = B.read_cmdline(int(name)) or []
                if argv and "containerd-shim" in argv[0] and self.ns in argv:
                    out.append(int(name))
        return out

    def cgroup_tops(self):
        """Our cgroup parent, and the namespace's (containerd's parent for a container run
        without --cgroup), in every hierarchy."""
        return [os.path.join(mnt, name) for mnt, _ in B.cgroup_hierarchies()
                for name in (self.cgroup_parent, self.ns)]

    def cgroups_below(self):
        """Container cgroups still under our parent (the parent itself aside)."""
        out = []
        for top in self.cgroup_tops():
            for d, subs, _ in os.walk(top):
                out += [os.path.join(d, s) for s in subs]
        return out

    def leftovers(self, cid):
        found = B.leftovers(self.state_root, cid)
        found += ["cgroup %s" % d for d in self.cgroups_below()]
        found += ["shim %d" % p for p in self.shims()]
        return found

    def shutdown(self, images=()):
        """Everything the daemon made goes, the daemon last but for what it leaves."""
        try:
            if self.proc and self.proc.poll() is None:
                for t in self.ctr("task", "ls", "-q").stdout.split():
                    self.ctr("task", "kill", "-s", "KILL", t)
                    self.ctr("task", "delete", "-f", t)
                for c in self.ctr("container", "ls", "-q").stdout.split():
                    self.ctr("container", "rm", c)
                for image in images:
                    self.ctr("image", "rm", image)
        except (subprocess.TimeoutExpired, OSError):
            pass
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        for pid in self.shims():
            B.kill_quietly(pid)
        if self.log:
            self.log.close()
        for m in sorted((m["mount_point"] for m in B.mountinfo()
                         if m["mount_point"].startswith(self.base)), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        for top in self.cgroup_tops():
            for d, _, _ in sorted(os.walk(top), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        shutil.rmtree(self.base, ignore_errors=True)
