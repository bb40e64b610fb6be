#!/usr/bin/env python3
"""Container start-up benchmark: `RUNTIME run` of /bin/true from one busybox bundle under
isola, runc and crun, paired (each round runs every runtime once, in a shuffled order), and
prints the median wall time of each, the ratios to crun, and each one's peak RSS.

Measurement. Each run goes through launch.c (compiled here, static): it forks, execs the
runtime, and reports the wall time from just before fork() to wait4() returning, and wait4()'s
ru_maxrss: the largest resident set reached by the runtime process or by any descendant it
reaped itself (its re-exec'd init, the container process) — a maximum over that process tree,
not a sum. (A tiny launcher, because ru_maxrss also counts the child's resident set before
execve, which forked from Python would be ~10 MiB.)

crun 1.8.1 refuses this host's hybrid cgroup layout, so it runs (as design/container.md says)
in a private mount namespace where /sys/fs/cgroup/unified is unmounted: a holder process keeps
that namespace, and the launcher's child joins it with setns() before execve (no extra exec in
the measured path). isola and runc run in the host's mount namespace.

Environment: ISOLA (binary, default build/isola), BENCH_ROUNDS (default 20).
"""
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ISOLA = os.environ.get("ISOLA") or os.path.join(TOP, "build", "isola")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))
BUSYBOX = "/bin/busybox"
CLONE_NEWNS = 0x00020000
COMMAND = "BENCH_ROUNDS=%d make bench" % ROUNDS


def log(msg):
    sys.stdout.flush()
    print(msg, file=sys.stderr, flush=True)


def version(binary):
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except OSError:
        return "?"
    for word in out.split():
        if word[:1].isdigit():
            return word.rstrip(",")
    return "?"


def make_bundle(d):
    rootfs = os.path.join(d, "rootfs")
    for sub in ("bin", "etc", "tmp", "proc", "sys", "dev"):
        os.makedirs(os.path.join(rootfs, sub), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(rootfs, "bin", "busybox"))
    for applet in ("true", "sh"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(rootfs, "etc", "group"), "w") as f:
        f.write("root:x:0:\n")
    # The same config.json for everyone: runc's default (the de facto reference), else isola's.
    gen = shutil.which("runc") or ISOLA
    subprocess.run([gen, "spec", "--bundle", d], check=True, capture_output=True)
    path = os.path.join(d, "config.json")
    cfg = json.load(open(path))
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    cfg["root"] = {"path": "rootfs", "readonly": True}
    json.dump(cfg, open(path, "w"), indent=2)
    return d, os.path.basename(gen)


class Runtime:
    def __init__(self, name, binary, label, mntns=None):
        self.name, self.binary, self.label, self.mntns = name, binary, label, mntns
        self.root = tempfile.mkdtemp(prefix="bench-%s-" % name)
        self.walls, self.rss = [], []
        self.error = None

    def argv(self, bundle, cid):
        return [self.binary, "--root", self.root, "run", "--bundle", bundle, cid]


def build_launcher(work):
    exe = os.path.join(work, "launch")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch.c")
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-static", "-O2", "-o", exe, src], check=True)
    return exe


def run_once(launcher, rt, bundle, cid, errfile):
    """(wall seconds, exit code, ru_maxrss KiB, stderr text) of one `run`."""
    argv = [launcher, "-e", errfile]
    if rt.mntns:
        argv += ["-n", rt.mntns]
    out = subprocess.run(argv + ["--"] + rt.argv(bundle, cid), capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("launch: %s" % out.stderr.strip())
    wall_ns, rss, code = (int(x) for x in out.stdout.split())
    with open(errfile, errors="replace") as f:
        err = f.read()
    return wall_ns / 1e9, code, rss, err


def start_crun_namespace():
    """A holder process in a private mount namespace without the cgroup v2 mount."""
    holder = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         "if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi "
         "&& echo ready && exec sleep 100000"],
        stdout=subprocess.PIPE, text=True)
    if holder.stdout.readline().strip() != "ready":
        holder.kill()
        holder.wait()
        raise RuntimeError("cannot prepare crun's mount namespace")
    return holder


def fmt_ms(s):
    return "%.1f ms" % (s * 1000)


def fmt_mib(kib):
    return "%.1f MiB" % (kib / 1024)


def main():
    if os.geteuid() != 0:
        log("bench: needs root")
        return 2
    if ROUNDS < 20:
        log("bench: BENCH_ROUNDS=%d (fewer than the 20 the README figures use)" % ROUNDS)
    if not os.access(ISOLA, os.X_OK):
        log("bench: no isola binary at %s (build it with `make`)" % ISOLA)
        return 2

    work = tempfile.mkdtemp(prefix="bench-container-")
    holder = None
    runtimes = []
    try:
        bundle, generator = make_bundle(os.path.join(work, "bundle"))
        launcher = build_launcher(work)
        errfile = os.path.join(work, "stderr")
        runtimes.append(Runtime("isola", ISOLA, "isola %s" % version(ISOLA)))
        if shutil.which("crun"):
            holder = start_crun_namespace()
            runtimes.append(Runtime("crun", shutil.which("crun"),
                                    "crun %s (private mount ns, v2 mount removed)" %
                                    version(shutil.which("crun")),
                                    "/proc/%d/ns/mnt" % holder.pid))
        else:
            log("bench: crun not installed: no crun column, ratios against crun omitted")
        if shutil.which("runc"):
            runtimes.append(Runtime("runc", shutil.which("runc"),
                                    "runc %s" % version(shutil.which("runc"))))
        else:
            log("bench: runc not installed")

        # Warm-up: one run each (page cache, binaries); a runtime that fails is left out.
        for rt in runtimes:
            wall, code, rss, err = run_once(launcher, rt, bundle,
                                            "warm-%s-%d" % (rt.name, os.getpid()), errfile)
            if code != 0:
                rt.error = "exit %d: %s" % (code, err.strip().splitlines()[-1:] or "")
                log("bench: %s fails, left out: %s" % (rt.name, rt.error))
        live = [rt for rt in runtimes if rt.error is None]

        log("bench: %d rounds of `run /bin/true`, order shuffled: %s" %
            (ROUNDS, ", ".join(rt.name for rt in live)))
        # Shuffled, not rotated: in a rotation each runtime always follows the same one, and
        # what a runtime leaves behind (exiting processes, freed pages) slows the next.
        rng = random.Random(1)
        for r in range(ROUNDS):
            for rt in rng.sample(live, len(live)):
                cid = "bench-%s-%d-%d" % (rt.name, os.getpid(), r)
                wall, code, rss, err = run_once(launcher, rt, bundle, cid, errfile)
                if code != 0:
                    rt.error = "round %d: exit %d: %s" % (r, code, err.strip())
                    log("bench: %s failed in %s" % (rt.name, rt.error))
                rt.walls.append(wall)
                rt.rss.append(rss)

        # Report.
        med = {rt.name: statistics.median(rt.walls) for rt in live if rt.walls}
        base = med.get("crun")
        print()
        print("Container start-up: `run` of /bin/true from one busybox bundle (config.json "
              "from `%s spec`), %d paired rounds, order shuffled; median wall time; peak RSS = "
              "median over runs of wait4() ru_maxrss (the runtime process and the "
              "descendants it reaped, as a maximum)." % (generator, ROUNDS))
        print()
        print("| runtime | wall per container (median) | p25–p75 | vs crun | peak RSS |")
        print("| --- | --- | --- | --- | --- |")
        for rt in live:
            ratio = "%.2f" % (med[rt.name] / base) if base else "n/a"
            q = statistics.quantiles(rt.walls, n=4) if len(rt.walls) > 1 else rt.walls * 3
            print("| %s | %s | %.1f–%.1f ms | %s | %s |" % (
                rt.label, fmt_ms(med[rt.name]), q[0] * 1000, q[2] * 1000, ratio,
                fmt_mib(statistics.median(rt.rss))))
        for rt in runtimes:
            if rt not in live:
                print("| %s | failed: %s | | | |" % (rt.label, rt.error))
        print()
        crun = next((rt for rt in live if rt.name == "crun"), None)
        if base:
            for rt in live:
                if rt is crun:
                    continue
                paired = statistics.median(a / b for a, b in zip(rt.walls, crun.walls))
                print("%s/crun = %.2f (ratio of medians; median of the per-round ratios: "
                      "%.2f)" % (rt.name, med[rt.name] / base, paired))
        print()
        print("Produced by: `%s` on Linux %s, %d CPUs, %s." % (
            COMMAND, platform.release(), os.cpu_count(), time.strftime("%Y-%m-%d")))
        return 0 if all(rt.error is None for rt in runtimes) else 1
    finally:
        for rt in runtimes:
            # crun is cleaned up from inside its mount namespace, like it ran.
            pre = ["nsenter", "--mount=" + rt.mntns] if rt.mntns else []
            try:
                ids = subprocess.run(pre + [rt.binary, "--root", rt.root, "list", "-q"],
                                     capture_output=True, text=True, timeout=20).stdout.split()
                for cid in ids:
                    subprocess.run(pre + [rt.binary, "--root", rt.root, "delete", "--force",
                                          cid], capture_output=True, timeout=20)
                    log("bench: %s left container %s behind (deleted)" % (rt.name, cid))
            except (OSError, subprocess.TimeoutExpired):
                pass
            shutil.rmtree(rt.root, ignore_errors=True)
        if holder:
            holder.send_signal(signal.SIGKILL)
            holder.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
