#!/usr/bin/env python3
"""vm engine benchmark: `isola --isolation=vm run` of /bin/true from a busybox bundle, side by
side with the floor under it and with the container engine, in paired rounds.

The four, each round in a rotated order:
  vm         `isola --isolation=vm run --bundle B ID`, as isola runs it by default: the VM is
             restored from the machine shape's template (src/vm/template.c; the bench's own
             template directory, built by the warm-up run, whose time is reported apart), then
             agent, container, /bin/true, exit.
  vm-boot    the same with ISOLA_VM_TEMPLATES=off: the VM boots its kernel.
  floor      the QEMU command line isola boots that bundle's VM with (read from the live QEMU of
             a `create`d probe container, templates off: same machine, devices, kernel,
             initramfs, RAM, accel options and kernel command line), plus `isola_poweroff` on
             the kernel command line: the agent (PID 1) powers the VM off as the first thing it
             does. Its control port is one end of a socketpair nobody speaks on. This is what
             booting this kernel and initramfs costs in QEMU, with nothing of isola's on top.
  container  `isola run --bundle B ID` (the container engine), for scale.

Wall time: from just before the process is spawned to wait4() returning. Peak RSS: wait4()'s
ru_maxrss, the largest resident set among the process and the descendants it reaped itself; for
`isola run` under the vm engine that is QEMU's (the monitor reaps QEMU, `run` reaps the
monitor), for the floor QEMU's own. The guest's power-down time (the kernel's own clock, from
its console) is reported for the floor as a cross-check.

Environment: ISOLA (default build/isola), BENCH_ROUNDS (default 5), ISOLA_VM_DIR / ISOLA_QEMU as
for isola itself.
"""
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ISOLA = os.environ.get("ISOLA") or os.path.join(TOP, "build", "isola")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
BUSYBOX = shutil.which("busybox", path="/bin:/usr/bin:/sbin:/usr/sbin") or "/bin/busybox"
COMMAND = "BENCH_ROUNDS=%d bench/vm/run.sh" % ROUNDS
TARGET_RATIO, TARGET_WALL, TARGET_RSS_MIB = 1.15, 2.0, 160


def log(msg):
    sys.stdout.flush()
    print("bench/vm: " + msg, file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def make_bundle(d):
    rootfs = os.path.join(d, "rootfs")
    for sub in ("bin", "etc", "tmp", "proc", "sys", "dev"):
        os.makedirs(os.path.join(rootfs, sub), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(rootfs, "bin", "busybox"))
    for applet in ("true", "sh", "sleep"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(rootfs, "etc", "group"), "w") as f:
        f.write("root:x:0:\n")
    subprocess.run([ISOLA, "spec", "--bundle", d], check=True, capture_output=True)
    path = os.path.join(d, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    cfg["root"] = {"path": "rootfs", "readonly": True}
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return d


def children(pid):
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
            out += [int(x) for x in f.read().split()]
    return out


def qemu_argv(root, bundle):
    """The QEMU command line isola runs for `bundle`: from a probe container, created (so its
    VM is up, waiting for `start`), then deleted."""
    cid = "bench-probe-%d" % os.getpid()
    # The VM's monitor keeps create's stdio (they are the workload's): files, not pipes.
    with tempfile.TemporaryFile() as err:
        r = subprocess.run([ISOLA, "--root", root, "--isolation=vm", "create", "--bundle", bundle,
                            cid], stdout=subprocess.DEVNULL, stderr=err, timeout=120,
                           stdin=subprocess.DEVNULL, env=dict(os.environ, ISOLA_VM_TEMPLATES="off"))
        err.seek(0)
        text = err.read().decode(errors="replace")
    try:
        if r.returncode != 0:
            raise RuntimeError("isola create (vm) failed: %s" % text.strip())
        st = json.loads(subprocess.run([ISOLA, "--root", root, "state", cid], capture_output=True,
                                       text=True, timeout=20, check=True).stdout)
        for pid in children(st["pid"]):
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = [a.decode() for a in f.read().split(b"\0")[:-1]]
            if argv and "qemu-system" in os.path.basename(argv[0]):
                return argv
        raise RuntimeError("no QEMU under the vm monitor %d" % st["pid"])
    finally:
        subprocess.run([ISOLA, "--root", root, "delete", "--force", cid], capture_output=True,
                       timeout=30)


def floor_argv(argv, console):
    a = list(argv)
    i = a.index("-append") + 1
    a[i] += " isola_poweroff"
    # The serial console goes to QEMU's stdout under isola; here to a file, to read it back.
    a[a.index("-serial") + 1] = "file:" + console
    return a


def spawn_measured(argv, fd3=None, env=None):
    """(wall seconds, wait status, ru_maxrss KiB, stderr text) of one run of argv."""
    err = tempfile.TemporaryFile()
    kw = {}
    if fd3 is not None:
        kw = {"pass_fds": (fd3, 3), "preexec_fn": lambda: os.dup2(fd3, 3)}
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                         env=env, **kw)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = 0  # reaped above
    err.seek(0)
    return wall, status, ru.ru_maxrss, err.read().decode(errors="replace")


class Column:
    def __init__(self, name, label):
        self.name, self.label = name, label
        self.walls, self.rss, self.extra = [], [], []
        self.error = None


def main():
    if os.geteuid() != 0:
        log("needs root")
        return 2
    if not os.access(ISOLA, os.X_OK):
        log("no isola binary at %s (build it with `make`)" % ISOLA)
        return 2
    work = tempfile.mkdtemp(prefix="bench-vm-")
    root = os.path.join(work, "root")
    try:
        bundle = make_bundle(os.path.join(work, "bundle"))
        try:
            qemu = qemu_argv(root, bundle)
        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
            log("cannot run the vm engine here: %s" % e)
            return 2
        console = os.path.join(work, "floor-console.log")
        floor = floor_argv(qemu, console)
        accel = qemu[qemu.index("-accel") + 1]
        mem = qemu[qemu.index("-m") + 1]
        cols = [Column("vm", "isola --isolation=vm run (restored from the template)"),
                Column("vm-boot", "isola --isolation=vm run, templates off (boots)"),
                Column("floor", "bare QEMU boot, agent powers off at once (floor)"),
                Column("container", "isola run (container engine)")]
        envs = {"vm": dict(os.environ, ISOLA_VM_TEMPLATES=os.path.join(work, "templates")),
                "vm-boot": dict(os.environ, ISOLA_VM_TEMPLATES="off")}

        def run(col, r):
            if col.name == "floor":
                a, b = socket.socketpair()
                try:
                    wall, status, rss, err = spawn_measured(floor, fd3=b.fileno())
                finally:
                    a.close(), b.close()
                with open(console, errors="replace") as f:
                    m = re.search(r"\[\s*([0-9.]+)\] reboot: Power down", f.read())
                if status != 0 or not m:
                    raise RuntimeError("QEMU status %d, no power-down on the console: %s" %
                                       (status, err.strip()[-300:]))
                col.extra.append(float(m.group(1)))
                return wall, rss
            cid = "bench-%s-%d-%d" % (col.name, os.getpid(), r)
            glob = ["--isolation=vm"] if col.name.startswith("vm") else []
            wall, status, rss, err = spawn_measured(
                [ISOLA, "--root", root] + glob + ["run", "--bundle", bundle, cid],
                env=envs.get(col.name))
            if status != 0:
                raise RuntimeError("exit status %d: %s" % (status >> 8, err.strip()[-300:]))
            return wall, rss

        log("load average %s; warm-up, then %d paired rounds" % (loadavg(), ROUNDS))
        build = None
        for col in cols:
            try:
                wall, _ = run(col, -1)
                if col.name == "vm":
                    build = wall  # the first VM of its shape: builds the template, then restores
            except RuntimeError as e:
                col.error = str(e)
                log("%s fails, left out: %s" % (col.name, e))
        live = [c for c in cols if c.error is None]
        load0 = loadavg()
        for r in range(ROUNDS):
            k = r % len(live) if live else 0
            for col in live[k:] + live[:k]:
                try:
                    wall, rss = run(col, r)
                except RuntimeError as e:
                    col.error = "round %d: %s" % (r, e)
                    log("%s failed in %s" % (col.name, col.error))
                    continue
                col.walls.append(wall)
                col.rss.append(rss)
        load1 = loadavg()

        med = {c.name: statistics.median(c.walls) for c in cols if c.walls}
        print()
        print("vm engine start-up: `run` of /bin/true from one busybox bundle (config.json from "
              "`isola spec`, read-only root), %d paired rounds, order rotated; median wall time; "
              "peak RSS = median of wait4() ru_maxrss (QEMU's, for the first three rows). QEMU: "
              "`-accel %s`, `-m %s`. Load average %s before the rounds, %s after." %
              (ROUNDS, accel, mem, load0, load1))
        print()
        print("| run | wall (median) | p25–p75 | vs floor | peak RSS |")
        print("| --- | --- | --- | --- | --- |")
        for c in cols:
            if not c.walls:
                print("| %s | failed: %s | | | |" % (c.label, c.error))
                continue
            q = statistics.quantiles(c.walls, n=4) if len(c.walls) > 1 else c.walls * 3
            ratio = "%.2f" % (med[c.name] / med["floor"]) if "floor" in med else "n/a"
            print("| %s | %.2f s | %.2f–%.2f s | %s | %.1f MiB |" % (
                c.label, med[c.name], q[0], q[2], ratio, statistics.median(c.rss) / 1024))
        print()
        vm = next(c for c in cols if c.name == "vm")
        boot = next(c for c in cols if c.name == "vm-boot")
        fl = next(c for c in cols if c.name == "floor")
        if build is not None:
            print("The warm-up `run` that built the template (a VM booted, parked and saved), "
                  "then ran restored: %.2f s." % build)
        if boot.walls and fl.walls:
            print("vm-boot/floor = %.2f (ratio of medians; median of the per-round ratios %.2f)."
                  % (med["vm-boot"] / med["floor"],
                     statistics.median(a / b for a, b in zip(boot.walls, fl.walls))))
        if vm.walls and fl.walls:
            paired = statistics.median(a / b for a, b in zip(vm.walls, fl.walls))
            rss = statistics.median(vm.rss) / 1024
            print("vm/floor = %.2f (ratio of medians; median of the per-round ratios %.2f); the "
                  "floor's guest powered down %.2f s (median) after its kernel started." % (
                      med["vm"] / med["floor"], paired, statistics.median(fl.extra)))
            print("Targets under TCG: vm/floor <= %.2f: %s; vm median <= %.1f s: %s; QEMU peak "
                  "RSS <= %d MiB: %s." % (
                      TARGET_RATIO, "met" if med["vm"] / med["floor"] <= TARGET_RATIO else "NOT met",
                      TARGET_WALL, "met" if med["vm"] <= TARGET_WALL else "NOT met",
                      TARGET_RSS_MIB, "met" if rss <= TARGET_RSS_MIB else "NOT met"))
        print()
        print("Produced by: `%s` on Linux %s, %d CPUs, %s." % (
            COMMAND, platform.release(), os.cpu_count(), time.strftime("%Y-%m-%d")))
        return 0 if all(c.error is None for c in cols) else 1
    finally:
        try:
            ids = subprocess.run([ISOLA, "--root", root, "list", "-q"], capture_output=True,
                                 text=True, timeout=20).stdout.split()
            for cid in ids:
                subprocess.run([ISOLA, "--root", root, "delete", "--force", cid],
                               capture_output=True, timeout=30)
                log("left container %s behind (deleted)" % cid)
        except (OSError, subprocess.SubprocessError):
            pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
