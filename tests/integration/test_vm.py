"""The vm engine, driven through the real binary: `isola --isolation=vm ...` on busybox bundles.

Each VM costs about 2 s under TCG (no usable /dev/kvm on the project's machines), so the tests
are few and each checks several things of one VM. They skip, saying why, when QEMU or the guest
image (`make vm-image`) is missing; KVM-only checks skip where KVM is not usable.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

import bundle as B
from conftest import ISOLA

VM = ("--isolation=vm",)


def _image_dir():
    env = os.environ.get("ISOLA_VM_DIR")
    cands = [env] if env else [
        "/usr/local/lib/isola/vm",
        os.path.join(os.path.dirname(ISOLA), "..", "lib", "isola", "vm"),
        os.path.join(os.path.dirname(ISOLA), "vm"),
    ]
    for d in cands:
        if all(os.path.isfile(os.path.join(d, f)) for f in ("vmlinux", "initramfs.cpio.gz")):
            return d
    return None


def _kvm_usable():
    """As the engine decides: /dev/kvm opens read-write and the CPU has vmx/svm."""
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError:
        return False
    with open("/proc/cpuinfo") as f:
        flags = next((l for l in f if l.startswith("flags")), "")
    return " vmx" in flags or " svm" in flags


@pytest.fixture(scope="module")
def vm_ready():
    if not shutil.which("qemu-system-x86_64", path=os.environ.get("PATH", "/usr/bin:/bin")):
        pytest.skip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")
    if not _image_dir():
        pytest.skip("the VM image is not built (run `make vm-image`; it needs Debian's kernel "
                    "package from the network)")
    return True


@pytest.fixture
def vbundle(vm_ready, make_bundle):
    """A bundle whose /proc/sysrq-trigger is writable (the crash test needs it)."""
    b = make_bundle()
    ro = b.linux.get("readonlyPaths", [])
    b.linux["readonlyPaths"] = [p for p in ro if p != "/proc/sysrq-trigger"]
    return b


def qemu_processes(needle):
    """Live QEMU processes whose command line mentions `needle`."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        cmd = B.read_cmdline(int(name)) or []
        if cmd and "qemu-system" in os.path.basename(cmd[0]) and any(needle in a for a in cmd) \
                and B.pid_alive(int(name)):
            out.append(int(name))
    return out


def assert_clean(isola, cid, bundle, pid=None):
    left = B.leftovers(isola.root, cid, bundle, pid=pid)
    left += ["qemu %d" % p for p in qemu_processes(bundle.rootfs)]
    assert left == [], "left behind: %s" % left


def test_echo_exit_code_and_separate_streams(isola, vbundle, new_id):
    cid = new_id("vm")
    vbundle.sh("echo out; echo err >&2; echo out2; exit 7")
    r = isola.run(vbundle, cid, global_args=VM)
    assert r.returncode == 7, B.describe(r)
    assert r.stdout == "out\nout2\n", B.describe(r)
    assert r.stderr == "err\n", B.describe(r)
    assert_clean(isola, cid, vbundle)


def test_stdin_reaches_the_workload_with_eof(isola, vbundle, new_id):
    cid = new_id("vm")
    vbundle.sh("cat; echo after-eof")
    data = "".join("line %d\n" % i for i in range(2000))
    r = isola.run(vbundle, cid, global_args=VM, input=data)
    assert r.returncode == 0, B.describe(r)
    assert r.stdout == data + "after-eof\n"


def test_large_output_arrives_intact(isola, vbundle, new_id):
    """24 MiB of random bytes: the guest's md5 (on stderr) matches what arrived on stdout."""
    cid = new_id("vm")
    vbundle.sh("head -c 25165824 /dev/urandom > /dev/shm/d && md5sum /dev/shm/d >&2 && "
               "cat /dev/shm/d")
    vbundle.mark(cid).write()
    p = subprocess.run(isola.argv(*VM, "run", "--bundle", vbundle.path, cid), capture_output=True,
                       timeout=90, env=isola.marked_env(cid))
    isola.track(cid)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout) == 25165824
    assert p.stderr.split()[0].decode() == hashlib.md5(p.stdout).hexdigest()


def test_lifecycle_state_kill_and_delete(isola, vbundle, new_id):
    """create -> created; start -> running; SIGTERM is delivered (trapped); SIGKILL stops it;
    delete leaves no QEMU, no socket, no state dir."""
    cid = new_id("vm")
    vbundle.sh('trap "echo got-term" TERM; echo ready; while :; do sleep 0.05; done')
    r = isola.detached("create", vbundle, cid, global_args=VM)
    assert r.returncode == 0, r.stderr
    st = isola.state(cid)
    assert st["status"] == "created" and st["pid"] > 0
    monitor = st["pid"]
    assert qemu_processes(vbundle.rootfs), "no QEMU for a created VM"
    assert os.path.exists(os.path.join(isola.root, cid, "vm.sock"))
    r = isola("start", cid)
    assert r.returncode == 0, B.describe(r)
    assert isola.state(cid)["status"] == "running"
    r_out = os.path.join(vbundle.path, "%s.out" % cid)
    assert B.wait_file(r_out, contains="ready", timeout=15)
    r = isola("kill", cid, "TERM")
    assert r.returncode == 0, B.describe(r)
    assert B.wait_file(r_out, contains="got-term", timeout=15), open(r_out).read()
    assert isola.state(cid)["status"] == "running"  # trapped: it goes on
    r = isola("kill", cid, "KILL")
    assert r.returncode == 0, B.describe(r)
    st = isola.wait_status(cid, "stopped", timeout=15)
    assert st["status"] == "stopped"
    r = isola("kill", cid, "TERM")
    assert r.returncode != 0 and B.one_line_error(r), B.describe(r)
    r = isola("delete", cid)
    assert r.returncode == 0, B.describe(r)
    assert_clean(isola, cid, vbundle, pid=monitor)


def test_run_exit_status_after_signal(isola, vbundle, new_id):
    """`run` exits 128+N when the workload dies of signal N (sent with `isola kill`)."""
    cid = new_id("vm")
    vbundle.sh("echo up; exec sleep 60")
    vbundle.mark(cid).write()
    p = isola.popen(*VM, "run", "--bundle", vbundle.path, cid, cid=cid, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert p.stdout.readline() == b"up\n"
        r = isola("kill", cid, "KILL")
        assert r.returncode == 0, B.describe(r)
        assert p.wait(timeout=20) == 137
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert_clean(isola, cid, vbundle)


def test_delete_force_of_a_running_vm(isola, vbundle, new_id):
    cid = new_id("vm")
    vbundle.sh("sleep 60")
    r = isola.detached("run", vbundle, cid, global_args=VM)
    assert r.returncode == 0, r.stderr
    st = isola.state(cid)
    assert st["status"] == "running"
    r = isola("delete", cid)
    assert r.returncode != 0 and "--force" in r.stderr, B.describe(r)
    r = isola("delete", "--force", cid)
    assert r.returncode == 0, B.describe(r)
    assert_clean(isola, cid, vbundle, pid=st["pid"])


def test_inside_the_guest(isola, vm_ready, make_bundle, new_id, tmp_path):
    """hostname, env, cwd, uid/gid, rlimits; a kernel of its own; no host processes visible;
    files written in the guest appear in the rootfs; a bound host directory is shared and a
    bound host file copied; memory and vCPUs follow the annotations."""
    b = make_bundle()
    cid = new_id("vm")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "from-host").write_text("host data\n")
    os.chmod(str(shared), 0o777)
    hostfile = tmp_path / "hosts"
    hostfile.write_text("10.9.8.7 copied\n")
    b.config["hostname"] = "vmhost"
    b.process["env"].append("FOO=bar baz")
    b.process["cwd"] = "/tmp"
    b.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10]}
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 777, "soft": 555}]
    b.config.setdefault("annotations", {}).update(
        {"io.isola.vm.memory_mib": "200", "io.isola.vm.cpus": "1"})
    b.add_mount("/mnt/shared", "bind", str(shared), ["rbind", "rw"])
    b.add_mount("/etc/hosts", "bind", str(hostfile), ["rbind", "ro"])
    b.sh("hostname; echo \"$FOO\"; pwd; id -u; id -g; id -G; ulimit -n; ulimit -Hn; uname -r; "
         "ls /proc | grep -c '^[0-9]'; echo guest-data > /tmp/from-guest; "
         "cat /mnt/shared/from-host; echo back > /mnt/shared/from-guest; cat /etc/hosts; "
         "awk '/MemTotal/ {print $2}' /proc/meminfo; nproc")
    r = isola.run(b, cid, global_args=VM)
    assert r.returncode == 0, B.describe(r)
    lines = r.stdout.splitlines()
    assert lines[:8] == ["vmhost", "bar baz", "/tmp", "1000", "1000", "1000 10", "555", "777"], \
        B.describe(r)
    assert lines[8] != os.uname().release, "the guest runs the host's kernel"
    assert int(lines[9]) <= 3, "the guest sees %s processes" % lines[9]
    assert lines[10:12] == ["host data", "10.9.8.7 copied"]
    mem_kib = int(lines[12])
    assert 100 * 1024 < mem_kib <= 200 * 1024, "MemTotal %d KiB for 200 MiB" % mem_kib
    assert lines[13] == "1"
    written = os.path.join(b.rootfs, "tmp", "from-guest")
    with open(written) as f:
        assert f.read() == "guest-data\n"
    assert os.stat(written).st_uid == 1000
    assert (shared / "from-guest").read_text() == "back\n"
    assert_clean(isola, cid, b)


def _qemu_argv(isola, cid):
    """The command line of the QEMU under the monitor of `cid`."""
    monitor = isola.state(cid)["pid"]
    for p in B.descendants(monitor):
        argv = B.read_cmdline(p) or []
        if argv and "qemu-system" in os.path.basename(argv[0]):
            return argv
    raise AssertionError("no QEMU under the vm monitor %d" % monitor)


def _image_digest(path, head=128 << 20):
    """What would show that anything wrote to the RAM image: its metadata and its first
    128 MiB (the kernel sits at 16-80 MiB)."""
    st = os.stat(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(head))
    return (st.st_size, st.st_blocks, st.st_mtime_ns, h.hexdigest())


def test_guest_ram_is_the_shared_kernel_image(isola, vbundle, new_id):
    """Under TCG the guest's RAM is vmlinux.ram mapped privately (memory-backend-file,
    share=off) and QEMU boots vmlinux.pvh: the kernel is not copied. A guest that fills its
    memory leaves the image untouched. ISOLA_VM_TRACE=1 puts the agent's step times on the
    console."""
    d = _image_dir()
    ram = os.path.join(d, "vmlinux.ram")
    if not os.path.isfile(ram) or _kvm_usable():
        pytest.skip("no vmlinux.ram in %s (an image from before `make vm-image` made it), or "
                    "KVM (which boots vmlinux)" % d)
    before = _image_digest(ram)
    cid = new_id("vm")
    vbundle.sh("head -c 50000000 /dev/urandom > /dev/shm/fill && echo filled")
    # Booted (a VM restored from a template maps the template's copy of the image).
    env = dict(os.environ, ISOLA_VM_TRACE="1", ISOLA_VM_TEMPLATES="off")
    r = isola.detached("create", vbundle, cid, global_args=VM, env=env)
    assert r.returncode == 0, r.stderr
    argv = _qemu_argv(isola, cid)
    assert argv[argv.index("-M") + 1] == "microvm,memory-backend=ram", argv
    backend = argv[argv.index("-object") + 1].split(",")
    assert backend[0] == "memory-backend-file" and "share=off" in backend, backend
    assert "mem-path=%s" % os.path.realpath(ram) in [
        "mem-path=%s" % os.path.realpath(x.split("=", 1)[1]) for x in backend
        if x.startswith("mem-path=")], backend
    assert "size=256M" in backend, backend
    assert os.path.basename(argv[argv.index("-kernel") + 1]) == "vmlinux.pvh", argv
    assert "isola_trace" in argv[argv.index("-append") + 1]
    assert isola("start", cid).returncode == 0
    st = isola.wait_status(cid, "stopped", timeout=30)
    assert st["status"] == "stopped"
    with open(r.out) as f:
        assert f.read() == "filled\n"
    with open(os.path.join(isola.root, cid, "console.log"), errors="replace") as f:
        console = f.read()
    for step in ("isola-agent: init", "isola-agent: CONFIG", "isola-agent: READY",
                 "isola-agent: STARTED", "isola-agent: process 0 exited"):
        assert step in console, console[-2000:]
    assert isola("delete", cid).returncode == 0
    assert_clean(isola, cid, vbundle)
    assert _image_digest(ram) == before, "the guest wrote to the shared RAM image"


def test_without_a_usable_ram_image_the_kernel_is_copied(isola, vbundle, new_id, tmp_path):
    """An image directory whose vmlinux.ram is smaller than the guest's RAM (or has none):
    QEMU loads vmlinux into anonymous RAM as before, with the smaller code cache; a guest that
    fits uses the image."""
    d = _image_dir()
    if not os.path.isfile(os.path.join(d, "vmlinux.ram")) or _kvm_usable():
        pytest.skip("no vmlinux.ram in %s, or KVM" % d)
    small = tmp_path / "image"
    small.mkdir()
    for name in ("vmlinux", "vmlinux.pvh", "initramfs.cpio.gz", "kernel-release"):
        os.symlink(os.path.join(d, name), str(small / name))
    # The first 128 MiB of the real image: the whole kernel, room for a 128 MiB guest only.
    with open(os.path.join(d, "vmlinux.ram"), "rb") as src, \
            open(str(small / "vmlinux.ram"), "wb") as dst:
        dst.truncate(128 << 20)
        for off in range(0, 128 << 20, 1 << 20):
            chunk = src.read(1 << 20)
            if chunk.strip(b"\0"):
                dst.seek(off)
                dst.write(chunk)
    env = dict(os.environ, ISOLA_VM_DIR=str(small), ISOLA_VM_TEMPLATES="off")
    vbundle.sh("echo ok")
    for mib, uses_image in (("128", True), ("256", False)):
        cid = new_id("vm")
        vbundle.config.setdefault("annotations", {})["io.isola.vm.memory_mib"] = mib
        r = isola.detached("create", vbundle, cid, global_args=VM, env=env)
        assert r.returncode == 0, r.stderr
        argv = _qemu_argv(isola, cid)
        kernel = os.path.basename(argv[argv.index("-kernel") + 1])
        accel = argv[argv.index("-accel") + 1]
        if uses_image:
            assert kernel == "vmlinux.pvh" and "-object" in argv, argv
            assert accel != "tcg,tb-size=10", accel
        else:
            assert kernel == "vmlinux" and "-object" not in argv, argv
            assert argv[argv.index("-M") + 1] == "microvm", argv
            assert accel == "tcg,tb-size=10", accel
        assert isola("start", cid).returncode == 0
        assert isola.wait_status(cid, "stopped", timeout=30)["status"] == "stopped"
        with open(r.out) as f:
            assert f.read() == "ok\n", "%s MiB" % mib
        assert isola("delete", cid).returncode == 0
        assert_clean(isola, cid, vbundle)


def test_shared_directory_is_coherent_both_ways(isola, vm_ready, make_bundle, new_id, tmp_path):
    """9p shares are mounted cache=mmap: what the host changes while the container runs (a
    file rewritten in place, a new file) is what the container reads next, and what the
    container writes is on the host at once."""
    b = make_bundle()
    cid = new_id("vm")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    (shared / "f").write_text("first\n")
    b.add_mount("/mnt/s", "bind", str(shared), ["rbind", "rw"])
    b.sh("cat /mnt/s/f; echo written-by-guest > /mnt/s/ack; "
         "while [ ! -e /mnt/s/go ]; do sleep 0.05; done; "
         "cat /mnt/s/f; cat /mnt/s/new; wc -c < /mnt/s/f")
    r = isola.detached("run", b, cid, global_args=VM)
    assert r.returncode == 0, r.stderr
    assert B.wait_file(str(shared / "ack"), contains="written-by-guest", timeout=30)
    with open(str(shared / "f"), "r+") as f:  # same inode, new content and size
        f.truncate(0)
        f.write("second, longer\n")
    (shared / "new").write_text("made on the host\n")
    (shared / "go").write_text("")
    assert isola.wait_status(cid, "stopped", timeout=30)["status"] == "stopped"
    with open(r.out) as f:
        out = f.read().split("\n")
    assert out[:4] == ["first", "second, longer", "made on the host", "15"], out
    assert isola("delete", cid).returncode == 0
    assert_clean(isola, cid, b)


def test_terminal_through_a_guest_pty(isola, vbundle, new_id, short_tmp):
    """process.terminal with --console-socket: the master arrives on the socket, the program
    has a pty with the configured size."""
    cid = new_id("vm")
    vbundle.process["terminal"] = True
    vbundle.process["consoleSize"] = {"height": 33, "width": 101}
    vbundle.sh("test -t 0 && test -t 1 && echo is-a-tty; stty size; exit 5")
    path = os.path.join(short_tmp, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(60)
    r = isola.detached("create", vbundle, cid, "--console-socket", path, global_args=VM)
    assert r.returncode == 0, r.stderr
    conn, _ = srv.accept()
    msg, anc, _, _ = conn.recvmsg(1, socket.CMSG_SPACE(4))
    master = int.from_bytes(anc[0][2][:4], "little")
    assert isola("start", cid).returncode == 0
    out = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the slave side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    conn.close()
    srv.close()
    assert b"is-a-tty" in out and b"33 101" in out, out
    st = isola.wait_status(cid, "stopped", timeout=15)
    assert st["status"] == "stopped"
    assert isola("delete", cid).returncode == 0
    assert_clean(isola, cid, vbundle)


def test_guest_panic_is_reported_with_the_console_kept(isola, vbundle, new_id):
    cid = new_id("vm")
    vbundle.sh("echo c > /proc/sysrq-trigger; echo survived")
    r = isola.detached("run", vbundle, cid, global_args=VM)
    assert r.returncode == 0, r.stderr
    st = isola.wait_status(cid, "stopped", timeout=30)
    assert st["status"] == "stopped"
    with open(r.err) as f:
        err = f.read()
    assert "Kernel panic" in err and "console.log" in err, err
    with open(r.out) as f:
        assert "survived" not in f.read()
    console = os.path.join(isola.root, cid, "console.log")
    with open(console, errors="replace") as f:
        assert "sysrq" in f.read()
    assert isola("delete", cid).returncode == 0
    assert_clean(isola, cid, vbundle)


def test_qemu_killed_is_reported(isola, vbundle, new_id):
    cid = new_id("vm")
    vbundle.sh("sleep 60")
    r = isola.detached("create", vbundle, cid, global_args=VM)
    assert r.returncode == 0, r.stderr
    st = isola.state(cid)
    qemu = [p for p in B.descendants(st["pid"]) if "qemu-system" in
            " ".join(B.read_cmdline(p) or [])]
    assert len(qemu) == 1
    os.kill(qemu[0], signal.SIGKILL)
    st = isola.wait_status(cid, "stopped", timeout=15)
    assert st["status"] == "stopped"
    with open(r.err) as f:
        err = f.read()
    assert "QEMU was killed by signal 9" in err, err
    r = isola("start", cid)
    assert r.returncode != 0 and B.one_line_error(r), B.describe(r)
    assert isola("delete", "--force", cid).returncode == 0
    assert_clean(isola, cid, vbundle)


def test_boot_timeout_is_an_error_that_leaves_nothing(isola, vbundle, new_id):
    cid = new_id("vm")
    # Booted: a VM restored from a template is ready sooner.
    env = dict(os.environ, ISOLA_VM_BOOT_TIMEOUT="0.3", ISOLA_VM_TEMPLATES="off")
    r = isola.run(vbundle, cid, global_args=VM, env=env)
    assert r.returncode != 0 and B.one_line_error(r), B.describe(r)
    assert "did not get ready within 300 ms" in r.stderr
    assert_clean(isola, cid, vbundle)


def test_missing_image_says_what_and_how(isola, make_bundle, new_id, tmp_path):
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed")
    b = make_bundle()
    cid = new_id("vm")
    env = dict(os.environ, ISOLA_VM_DIR=str(tmp_path / "no-image"))
    r = isola.run(b, cid, global_args=VM, env=env)
    assert r.returncode != 0 and B.one_line_error(r), B.describe(r)
    for needle in ("vmlinux", "initramfs.cpio.gz", "no-image", "make vm-image"):
        assert needle in r.stderr, r.stderr
    assert_clean(isola, cid, b)


def test_exec_runs_in_the_guest_container(isola, vbundle, new_id, short_tmp):
    """`isola exec` in a running VM: output and exit status, stderr apart, stdin with EOF, env /
    cwd / user, the container's pid namespace (its process is pid 1), a missing program is a
    clear error, a signal sent to the exec's pid reaches the program, a terminal through
    --console-socket; nothing is left once the VM is deleted."""
    cid = new_id("vm")
    vbundle.sh("echo ready; while :; do sleep 1; done")
    r = isola.detached("run", vbundle, cid, global_args=VM)
    assert r.returncode == 0, r.stderr
    assert B.wait_file(r.out, contains="ready", timeout=20)

    r = isola("exec", cid, "sh", "-c", "echo in-vm; echo to-err >&2; exit 3", cid=cid,
              stdin=subprocess.DEVNULL)
    assert r.returncode == 3, B.describe(r)
    assert r.stdout == "in-vm\n" and r.stderr == "to-err\n", B.describe(r)

    r = isola("exec", cid, "no-such-program", cid=cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and B.one_line_error(r), B.describe(r)
    assert "no-such-program" in r.stderr and "not found" in r.stderr, r.stderr

    data = "".join("line %d\n" % i for i in range(500))
    r = isola("exec", cid, "sh", "-c", "cat; echo after-eof", input=data, cid=cid)
    assert r.returncode == 0 and r.stdout == data + "after-eof\n", B.describe(r)

    r = isola("exec", "-e", "FOO=bar baz", "--cwd", "/tmp", "-u", "1000:1000", cid, "sh", "-c",
              'echo "$FOO"; pwd; id -u; id -g; tr "\\0" " " < /proc/1/cmdline; echo; '
              "ls /proc | grep -c '^[0-9]'", cid=cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, B.describe(r)
    lines = r.stdout.splitlines()
    assert lines[:4] == ["bar baz", "/tmp", "1000", "1000"], r.stdout
    assert "while :" in lines[4], "pid 1 is not the container's process: %r" % lines[4]
    assert int(lines[5]) <= 6, "the exec sees %s processes" % lines[5]

    # A signal to the exec's process (the helper `isola exec` waits on) reaches the program.
    p = isola.popen("exec", cid, "sh", "-c", 'trap "echo got-term; exit 9" TERM; echo up; '
                    "while :; do sleep 0.1; done", cid=cid, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert p.stdout.readline() == b"up\n"
        p.send_signal(signal.SIGTERM)  # `isola exec` forwards it to the helper, and on
        assert p.wait(timeout=20) == 9
        assert p.stdout.read() == b"got-term\n"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()

    # A terminal: the pty master arrives on the console socket; the program has a tty.
    path = os.path.join(short_tmp, "exec.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(30)
    p = isola.popen("exec", "-t", "--console-socket", path, cid, "sh", "-c",
                    "test -t 0 && test -t 1 && echo is-a-tty; exit 4", cid=cid,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        conn, _ = srv.accept()
        _, anc, _, _ = conn.recvmsg(1, socket.CMSG_SPACE(4))
        master = int.from_bytes(anc[0][2][:4], "little")
        out = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and b"is-a-tty" not in out:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(timeout=20) == 4, p.stderr.read()
        assert b"is-a-tty" in out, out
        os.close(master)
        conn.close()
    finally:
        srv.close()
        if p.poll() is None:
            p.kill()
            p.wait()

    r = isola("delete", "--force", cid)
    assert r.returncode == 0, B.describe(r)
    assert_clean(isola, cid, vbundle)


def _hook(log, name):
    """A hook that appends `NAME STATUS PID` (from the state on its stdin) to `log`, on the
    host (the log is a host path)."""
    script = ('import json, sys; s = json.load(sys.stdin); '
              'open(%r, "a").write("%s %%s %%d\\n" %% (s["status"], s["pid"]))' % (log, name))
    return {"path": sys.executable, "args": ["python3", "-c", script]}


def test_hooks_run_on_the_host_at_their_moments(isola, vbundle, new_id, tmp_path):
    """prestart, createRuntime, createContainer at create (the VM is up: the state has the
    monitor's pid), startContainer then poststart at start, poststop at delete; a failing
    createRuntime hook fails create and leaves no VM."""
    cid = new_id("vm")
    log = str(tmp_path / "hooks.log")
    names = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
             "poststop"]
    vbundle.config["hooks"] = {n: [_hook(log, n)] for n in names}
    vbundle.sh("sleep 60")
    r = isola.detached("create", vbundle, cid, global_args=VM)
    assert r.returncode == 0, r.stderr
    pid = isola.state(cid)["pid"]
    with open(log) as f:
        created = f.read().split("\n")
    assert [l.split()[0] for l in created if l] == names[:3], created
    assert all(l.split()[1:] == ["creating", str(pid)] for l in created if l), created
    assert isola("start", cid).returncode == 0
    assert isola("delete", "--force", cid).returncode == 0
    with open(log) as f:
        lines = [l.split() for l in f.read().splitlines()]
    assert [l[0] for l in lines] == names, lines
    assert lines[3][1] == "created" and lines[4][1] == "running" and lines[5][1] == "stopped"
    assert_clean(isola, cid, vbundle)

    cid = new_id("vm")
    vbundle.config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    r = isola.detached("create", vbundle, cid, global_args=VM)
    assert r.returncode != 0 and "createRuntime" in r.stderr, r.stderr
    assert_clean(isola, cid, vbundle)


@pytest.fixture(scope="module")
def vm_podman(vm_ready, isola_bin):
    """podman with private storage (vfs), run root and tmp dir, `--runtime .../isola-vm`, and a
    busybox image imported offline; all of it removed afterwards."""
    from test_clients import PODMAN, Podman, make_image_tar, remove_cgroup_tree, unmount_under
    if not PODMAN:
        pytest.skip("podman is not installed")
    runtime = os.path.join(os.path.dirname(isola_bin), "isola-vm")
    if not os.path.exists(runtime):
        pytest.skip("no isola-vm next to %s (`make` links it)" % isola_bin)
    base = tempfile.mkdtemp(prefix="isola-pv", dir="/tmp")
    if os.environ.get("ISOLA_VM_DIR"):
        # conmon does not pass our environment on: a wrapper carries ISOLA_VM_DIR (and keeps
        # the isola-vm name, which selects the engine).
        wrapper = os.path.join(base, "isola-vm")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nISOLA_VM_DIR='%s' exec '%s' \"$@\"\n" %
                    (os.environ["ISOLA_VM_DIR"], runtime))
        os.chmod(wrapper, 0o755)
        runtime = wrapper
    pm = Podman(runtime, base)
    try:
        r = pm("import", make_image_tar(base), "localhost/isola-busybox:vm")
        assert r.returncode == 0, B.describe(r)
        yield pm
    finally:
        subprocess.run(pm.prefix + ["rm", "-a", "-f", "-t", "0"], capture_output=True,
                       timeout=120, env=pm.env)
        unmount_under(base)
        remove_cgroup_tree(pm.cgroup_parent)
        shutil.rmtree(base, ignore_errors=True)


def test_podman_runs_a_busybox_image_in_a_vm(vm_podman):
    """podman (through conmon) with `--runtime isola-vm`: its config.json (file binds for
    /etc/hosts and friends, a seccomp profile, rlimits, cgroupsPath) is accepted; the program
    runs in the VM's kernel with its exit status; `podman exec` works; nothing is left."""
    pm, image = vm_podman, "localhost/isola-busybox:vm"
    name = "it-%s" % uuid.uuid4().hex[:10]
    r = pm("run", "--rm", *pm.run_args(name), image, "sh", "-c",
           "echo hello; echo oops >&2; uname -r; grep -c . /etc/hosts; exit 3", timeout=120)
    assert r.returncode == 3, B.describe(r)
    lines = r.stdout.splitlines()
    assert lines[0] == "hello" and "oops" in r.stderr, B.describe(r)
    assert lines[1] != os.uname().release, "the container runs the host's kernel"
    assert int(lines[2]) >= 1, "/etc/hosts is empty in the guest"
    name2 = "it-%s" % uuid.uuid4().hex[:10]
    try:
        r = pm("run", "-d", *pm.run_args(name2), image, "sleep", "1000", timeout=120)
        assert r.returncode == 0, B.describe(r)
        r = pm("exec", name2, "sh", "-c", 'echo in-exec; tr "\\0" " " < /proc/1/cmdline; exit 5',
               timeout=60)
        assert r.returncode == 5, B.describe(r)
        assert r.stdout.split("\n") == ["in-exec", "sleep 1000 "], B.describe(r)
    finally:
        r = pm("rm", "-f", "-t", "0", name2, timeout=60)
    assert r.returncode == 0, B.describe(r)
    assert pm.leftovers(name) == [] and pm.leftovers(name2) == []
    assert qemu_processes(pm.base) == []


def test_kvm_boot_is_fast(isola, vbundle, new_id):
    if not _kvm_usable():
        pytest.skip("KVM is not usable here (/dev/kvm missing, not writable, or no vmx/svm): "
                    "the VMs run under TCG")
    cid = new_id("vm")
    vbundle.args("true")
    t0 = time.monotonic()
    r = isola.run(vbundle, cid, global_args=VM)
    took = time.monotonic() - t0
    assert r.returncode == 0, B.describe(r)
    assert took < 1.0, "isola run under KVM took %.2f s" % took


def _proto_version():
    with open(os.path.join(B.REPO, "guest", "proto.h")) as f:
        for line in f:
            if line.startswith("#define VM_PROTO_VERSION"):
                return int(line.split()[2])
    raise AssertionError("no VM_PROTO_VERSION in guest/proto.h")


FAKE_QEMU = r'''#!/usr/bin/env python3
# Stands in for QEMU: a hostile "guest" that says HELLO, then sends %(what)s on fd 3.
import os, struct, sys, time
os.write(3, struct.pack("<BI", 0x81, 6) + struct.pack("<I", %(version)d) + b"xx")
os.write(3, %(frame)s)
time.sleep(30)
'''


@pytest.mark.parametrize("what,frame,expect", [
    ("an over-long STDOUT", 'struct.pack("<BI", 0x84, 0xfffffff0)', "longer than its type allows"),
    ("an unknown type", 'struct.pack("<BI", 0x7e, 0)', "unknown frame type"),
    ("EXIT before READY", 'struct.pack("<BII", 0x87, 4, 0)', "EXIT out of turn"),
    ("an exec frame before READY", 'struct.pack("<BII", 0x8a, 4, 1)', "exec frame out of turn"),
    ("a fatal ERROR with escapes", 'struct.pack("<BI", 0x88, 7) + b"\\x1b[2Jbad"', "guest: ?[2Jbad"),
])
def test_hostile_guest_frames_are_rejected(isola, vm_ready, make_bundle, new_id, tmp_path,
                                           what, frame, expect):
    """A guest that breaks the protocol ends its VM with a clear error, and nothing remains
    (no VM is booted: a stand-in for QEMU plays the hostile guest)."""
    fake = tmp_path / "fake-qemu"
    fake.write_text(FAKE_QEMU % {"what": what, "frame": frame, "version": _proto_version()})
    fake.chmod(0o755)
    b = make_bundle()
    cid = new_id("vm")
    env = dict(os.environ, ISOLA_QEMU=str(fake))
    r = isola.run(b, cid, global_args=VM, env=env)
    assert r.returncode != 0 and B.one_line_error(r), B.describe(r)
    assert expect in r.stderr, r.stderr
    assert B.leftovers(isola.root, cid, b) == []
