"""Real clients run a wasm image with isola: podman and containerd (ctr).

The image is a FROM-scratch-style root filesystem holding only wasm modules (built here from
tests/integration/wasm/*.c), imported into a private podman storage with `podman import`, and
into a private containerd daemon from an OCI archive made with `podman save --format
oci-archive`. Neither client knows anything about wasm: podman passes its usual config.json
(seccomp profile, proc/dev/sys mounts, /etc/hosts and friends bind-mounted as files, rlimits)
and containerd's runc shim drives create/start/state/kill/delete with --root, --log and
--log-format json. The engine is chosen the ways a user would choose it: the `isola-wasm`
program name, crun's `run.oci.handler=wasm` annotation, or the wasm magic of the entrypoint.

Everything lives under private directories in /tmp (short paths: conmon and containerd put
unix sockets there); the daemon and the storage go away at the end of the session.
"""
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import containerd_daemon  # noqa: E402
import wasmtools  # noqa: E402

PROGRAMS = Path(__file__).parent / "wasm"
IMAGE = "localhost/isola-wasm-test:1"
MODULES = ["hello", "echo", "exit_code", "sleep", "touch", "trap"]
PODMAN = shutil.which("podman")

pytestmark = pytest.mark.skipif(
    wasmtools.toolchain_problem() is not None,
    reason=f"cannot build wasm32-wasi test programs: {wasmtools.toolchain_problem()}")


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def isola_wasm(isola_bin):
    """The isola-wasm symlink next to the binary (the program name picks the engine)."""
    p = Path(isola_bin).with_name("isola-wasm")
    if not p.exists():
        pytest.fail(f"{p} is missing (make builds it)", pytrace=False)
    return str(p)


@pytest.fixture(scope="session")
def image_tar(tmp_path_factory):
    """A tarball of a root filesystem holding only the modules, /MODULE.wasm each."""
    out = tmp_path_factory.mktemp("wasm-image")
    rootfs = out / "rootfs"
    rootfs.mkdir()
    for m in MODULES:
        wasmtools.compile_wasm(PROGRAMS / f"{m}.c", rootfs / f"{m}.wasm")
    tar = out / "rootfs.tar"
    with tarfile.open(tar, "w") as t:
        for m in MODULES:
            t.add(rootfs / f"{m}.wasm", arcname=f"{m}.wasm")
    return tar


# ---- podman -------------------------------------------------------------------------------------

class Podman:
    """podman with a private storage, runroot and event log, cgroupfs, and isola as runtime."""

    def __init__(self, base, runtime):
        self.base = base
        self.runtime = runtime
        self.flags = ["--root", f"{base}/root", "--runroot", f"{base}/run", "--storage-driver",
                      "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                      "--tmpdir", f"{base}/tmp"]

    def __call__(self, *args, runtime=None, timeout=60, **kw):
        kw.setdefault("capture_output", True)
        return subprocess.run([PODMAN, *self.flags, "--runtime", runtime or self.runtime,
                               *map(str, args)], text=True, timeout=timeout, **kw)

    def run(self, *args, runtime=None, **kw):
        """`podman run --rm --network none ARGS`."""
        return self("run", "--rm", "--network", "none", *args, runtime=runtime, **kw)


@pytest.fixture(scope="session")
def podman(isola_bin, image_tar):
    if not PODMAN:
        pytest.skip("podman is not installed")
    base = tempfile.mkdtemp(prefix="isola-pm", dir="/tmp")
    pm = Podman(base, isola_bin)
    r = pm("import", "--change", 'CMD=["/hello.wasm"]', image_tar, IMAGE)
    if r.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"podman import: {r.stderr}", pytrace=False)
    yield pm
    pm("rm", "--all", "--force", timeout=120)
    pm("rmi", "--all", "--force", timeout=120)
    subprocess.run(["umount", "-R", base], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def test_podman_runs_a_wasm_image(podman):
    r = podman.run(IMAGE)
    assert (r.returncode, r.stdout) == (0, "hello, world\n"), r.stderr


def test_podman_args_env_and_exit_status(podman):
    r = podman.run("-e", "GREETING=hi", IMAGE, "/echo.wasm", "one", "two words")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:4] == ["argc=3", "argv[0]=/echo.wasm", "argv[1]=one", "argv[2]=two words"]
    assert "env:GREETING=hi" in lines and "env:container=podman" in lines
    assert "env:PWD=/" in lines
    r = podman.run(IMAGE, "/exit_code.wasm", "42")
    assert (r.returncode, r.stdout) == (42, "exiting with 42\n"), r.stderr


def test_podman_trap(podman):
    r = podman.run(IMAGE, "/trap.wasm", "unreachable")
    assert r.returncode == 134
    assert "isola: wasm trap: unreachable" in r.stderr


@pytest.mark.parametrize("how", ["isola-wasm", "annotation"])
def test_podman_engine_choice(podman, isola_wasm, how):
    # The entrypoint's magic already picks wasm; these are the explicit ways.
    extra = ["--annotation", "run.oci.handler=wasm"] if how == "annotation" else []
    r = podman.run(*extra, IMAGE, runtime=isola_wasm if how == "isola-wasm" else None)
    assert (r.returncode, r.stdout) == (0, "hello, world\n"), r.stderr


def test_podman_volumes(podman, tmp_path):
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir(), ro.mkdir()
    (ro / "in.txt").write_text("host data\n")
    r = podman.run("-v", f"{rw}:/data", "-v", f"{ro}:/input:ro", IMAGE, "/touch.wasm",
                   "w:/data/out.txt", "r:/input/in.txt", "w:/input/nope.txt", "r:/etc/hosts")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "w:/data/out.txt: ok", "r:/input/in.txt: ok host data",
        "w:/input/nope.txt: Capabilities insufficient",
        # podman bind-mounts /etc/hosts as a file: not exposed, and nothing breaks
        "r:/etc/hosts: No such file or directory"]
    assert (rw / "out.txt").read_text() == "written\n"
    assert os.listdir(ro) == ["in.txt"]


def test_podman_stop(podman):
    name = uid("stop")
    r = podman("run", "-d", "--name", name, "--network", "none", IMAGE, "/sleep.wasm", "forever")
    assert r.returncode == 0, r.stderr
    try:
        deadline = time.monotonic() + 10
        while "sleeping" not in podman("logs", name).stdout:
            assert time.monotonic() < deadline, "the module never started"
            time.sleep(0.05)
        t0 = time.monotonic()
        assert podman("stop", "-t", "10", name).returncode == 0
        assert time.monotonic() - t0 < 5  # SIGTERM ended it; no wait for the SIGKILL
        r = podman("inspect", name, "--format", "{{.State.Status}} {{.State.ExitCode}}")
        assert r.stdout.strip() == "exited 143"
    finally:
        podman("rm", "-f", name)
    assert name not in podman("ps", "-a", "--format", "{{.Names}}").stdout


def test_podman_sandbox_container(podman):
    # The module inside podman's container: namespaces, seccomp profile, rlimits and all.
    # CAP_SYS_RESOURCE is missing on this host: rlimits must not exceed the current ones.
    soft, hard = (int(x) for x in subprocess.run(
        ["sh", "-c", "ulimit -Sn; ulimit -Hn"], capture_output=True, text=True).stdout.split())
    r = podman.run("--annotation", "io.isola.wasm.sandbox=container", "--ulimit",
                   f"nofile={min(soft, 1024)}:{min(hard, 1024)}", "--ulimit", "nproc=1024:1024",
                   IMAGE, "/touch.wasm", "w:/made.txt", "r:/made.txt", "r:/etc/hosts")
    assert r.returncode == 0, r.stderr
    # openat2 passes podman's seccomp profile; /etc/hosts is podman's bind mount, seen
    # through "/" inside the container
    assert r.stdout.splitlines()[:2] == ["w:/made.txt: ok", "r:/made.txt: ok written"]
    assert r.stdout.splitlines()[2].startswith("r:/etc/hosts: ok")


# ---- containerd ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def containerd(podman):
    """A private containerd with the wasm image imported (from `podman save`)."""
    if containerd_daemon.missing():
        pytest.skip(containerd_daemon.missing())
    cd = containerd_daemon.Containerd("isola-wasm-ctr")
    try:
        cd.start()
        archive = Path(cd.base, "image.tar")
        r = podman("save", "--format", "oci-archive", "-o", archive, IMAGE)
        assert r.returncode == 0, r.stderr
        r = cd.ctr("image", "import", archive)
        assert r.returncode == 0, r.stderr
        yield cd
    finally:
        cd.shutdown(images=[IMAGE])


def ctr_run(cd, runtime, *args, timeout=60):
    return cd.ctr("run", "--rm", "--runc-binary", runtime, "--runc-root", cd.runc_root, *args,
                  timeout=timeout)


def test_containerd_runs_a_wasm_image(containerd, isola_wasm):
    r = ctr_run(containerd, isola_wasm, IMAGE, uid("hello"))
    assert (r.returncode, r.stdout) == (0, "hello, world\n"), r.stderr
    assert containerd.ctr("container", "ls", "-q").stdout == ""


def test_containerd_args_and_exit_status(containerd, isola_wasm):
    r = ctr_run(containerd, isola_wasm, "--env", "K=V", IMAGE, uid("echo"), "/echo.wasm", "x y")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["argc=2", "argv[0]=/echo.wasm", "argv[1]=x y"] and "env:K=V" in lines
    r = ctr_run(containerd, isola_wasm, IMAGE, uid("exit"), "/exit_code.wasm", "9")
    assert (r.returncode, r.stdout) == (9, "exiting with 9\n"), r.stderr


def test_containerd_annotation_and_sandbox_container(containerd, isola_bin):
    # The plain isola binary with crun's annotation; then the module inside a container with
    # containerd's default seccomp profile.
    r = ctr_run(containerd, isola_bin, "--annotation", "run.oci.handler=wasm", IMAGE, uid("ann"))
    assert (r.returncode, r.stdout) == (0, "hello, world\n"), r.stderr
    r = ctr_run(containerd, isola_bin, "--seccomp", "--annotation",
                "io.isola.wasm.sandbox=container", IMAGE, uid("ctr"), "/touch.wasm",
                "w:/made.txt", "r:/made.txt", "r:/proc/self/status")
    assert r.returncode == 0, r.stderr
    # openat2 passes containerd's default profile; proc is mounted but never opened
    assert r.stdout.splitlines() == ["w:/made.txt: ok", "r:/made.txt: ok written",
                                     "r:/proc/self/status: Permission denied"]


def test_containerd_task_kill(containerd, isola_wasm):
    cid = uid("kill")
    p = containerd.ctr_popen("run", "--rm", "--runc-binary", isola_wasm, "--runc-root",
                             containerd.runc_root, IMAGE, cid, "/sleep.wasm", "forever",
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline() == "sleeping\n"
        r = containerd.ctr("task", "ls")
        assert cid in r.stdout and "RUNNING" in r.stdout
        assert containerd.ctr("task", "kill", "-s", "SIGTERM", cid).returncode == 0
        assert p.wait(timeout=20) == 128 + signal.SIGTERM
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert cid not in containerd.ctr("container", "ls", "-q").stdout
