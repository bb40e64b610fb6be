"""The wasm engine through OCI bundles: `isola create/start/state/kill/delete/run` on a bundle whose
entrypoint is a wasm module, in both sandboxes (annotation io.isola.wasm.sandbox: `wasm`, the
default, and `container`).

Bundles start from a runc-like config.json (bundle.default_config(): namespaces, proc/dev/sys
mounts, capabilities, rlimits, seccomp-free) with the module as process.args[0] in an otherwise
empty rootfs, which is what podman and containerd hand a runtime. The programs are the C files
in tests/integration/wasm/, built for wasm32-wasi. Each test checks exact output and exit
status, and that nothing is left behind (bundle.leftovers()).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import bundle as B  # noqa: E402
import wasmtools  # noqa: E402

TRAP_STATUS = 134
EPERM, EACCES = 63, 2
SANDBOXES = ["wasm", "container"]

pytestmark = pytest.mark.skipif(
    wasmtools.toolchain_problem() is not None,
    reason=f"cannot build wasm32-wasi test programs: {wasmtools.toolchain_problem()}")


@pytest.fixture
def wbundle(tmp_path, wasm):
    """wbundle(prog, *args, sandbox="wasm") -> a Bundle whose rootfs holds only /prog.wasm."""
    made = []

    def make(prog, *args, sandbox="wasm", name=None):
        path = tmp_path / (name or f"b{len(made)}")
        rootfs = path / "rootfs"
        rootfs.mkdir(parents=True)
        shutil.copy(wasm(prog), rootfs / f"{prog}.wasm")
        cfg = B.default_config()
        cfg["process"]["args"] = [f"/{prog}.wasm", *map(str, args)]
        cfg["process"]["env"] = ["A=1"]
        cfg["annotations"] = {"io.isola.isolation": "wasm", "io.isola.wasm.sandbox": sandbox}
        b = B.Bundle(str(path), str(rootfs), cfg)
        made.append(b)
        return b

    return make


def guest_env(stdout):
    """The env: lines of echo.wasm, without the test's leftover mark."""
    return [line[4:] for line in stdout.splitlines()
            if line.startswith("env:") and not line[4:].startswith(B.MARK_ENV)]


def clean(isola, cid, b):
    return B.leftovers(isola.root, cid, b) == []


# ---- running -------------------------------------------------------------------------------

@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_run_hello(isola, new_id, wbundle, sandbox):
    b, cid = wbundle("hello", sandbox=sandbox), new_id()
    r = isola.run(b, cid)
    assert (r.returncode, r.stdout, r.stderr) == (0, "hello, world\n", "")
    assert clean(isola, cid, b)


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_args_and_env_map_to_wasi(isola, new_id, wbundle, sandbox):
    b, cid = wbundle("echo", "one", "two words", sandbox=sandbox), new_id()
    b.process["env"] = ["A=1", "B=x=y"]
    r = isola.run(b, cid)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:4] == ["argc=3", "argv[0]=/echo.wasm", "argv[1]=one", "argv[2]=two words"]
    # Only process.env reaches the module (never the runtime's), plus PWD for the cwd.
    assert guest_env(r.stdout) == ["A=1", "B=x=y", "PWD=/"]


@pytest.mark.parametrize("sandbox", SANDBOXES)
@pytest.mark.parametrize("code", [0, 3, 42, 255])
def test_exit_status_is_proc_exit_code(isola, new_id, wbundle, sandbox, code):
    b, cid = wbundle("exit_code", code, sandbox=sandbox), new_id()
    r = isola.run(b, cid)
    assert (r.returncode, r.stdout) == (code, f"exiting with {code}\n"), r.stderr


@pytest.mark.parametrize("sandbox", SANDBOXES)
@pytest.mark.parametrize("kind,message", [("div", "integer divide by zero in function "),
                                          ("oob", "out of bounds memory access\n")])
def test_trap_is_134_with_a_message(isola, isola_bin, new_id, wbundle, sandbox, kind, message):
    # oob: the engine's fault handler turns the access to a guard page into a trap; the
    # workload's signal reset must leave it in place (it once made this a SIGSEGV, 139).
    if kind == "oob" and sandbox == "container" and B.sanitized(isola_bin):
        pytest.skip("ASan: leaving the fault handler (on its alternate stack) by siglongjmp makes "
                    "ASan ask glibc for the stack's bounds, which fails in a process made by a "
                    "raw clone3 (glibc's cached thread id is the runtime's)")
    b, cid = wbundle("trap", kind, sandbox=sandbox), new_id()
    r = isola.run(b, cid)
    assert r.returncode == TRAP_STATUS, r.stderr
    assert r.stdout == "before\n"
    assert r.stderr.startswith(f"isola: wasm trap: {message}"), r.stderr
    assert clean(isola, cid, b)


def test_proc_raise_is_128_plus_signal(isola, new_id, wbundle):
    b, cid = wbundle("raise", 15), new_id()  # witx SIGTERM
    r = isola.run(b, cid)
    assert (r.returncode, r.stdout) == (143, "raising 15\n"), r.stderr


def test_engine_is_chosen_by_the_entrypoint(isola, new_id, wbundle):
    # No flag, no annotation that names an engine: the wasm magic picks the wasm engine.
    b, cid = wbundle("hello"), new_id()
    del b.config["annotations"]
    r = isola.detached("create", b, cid)
    assert r.returncode == 0, r.stderr
    ann = isola.state(cid)["annotations"]
    assert ann["io.isola.isolation"] == "wasm"
    assert ann["io.isola.isolation.reason"] == "entrypoint is a wasm module"
    assert isola("delete", cid).returncode == 0
    assert clean(isola, cid, b)


@pytest.mark.parametrize("annotation", [("run.oci.handler", "wasm"),
                                        ("module.wasm.image/variant", "compat-smart")])
def test_crun_annotations_choose_the_engine(isola, new_id, wbundle, annotation):
    b, cid = wbundle("hello"), new_id()
    b.config["annotations"] = dict([annotation])
    r = isola.run(b, cid)
    assert (r.returncode, r.stdout) == (0, "hello, world\n"), r.stderr


# ---- the lifecycle ---------------------------------------------------------------------------

@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_lifecycle_create_start_kill_delete(isola, new_id, wbundle, sandbox):
    b, cid = wbundle("sleep", "forever", sandbox=sandbox), new_id()
    r = isola.detached("create", b, cid)
    assert r.returncode == 0, r.stderr
    st = isola.state(cid)
    assert st["status"] == "created" and st["pid"] > 0
    pid = st["pid"]
    assert B.pid_alive(pid)
    assert open(r.out).read() == ""  # instantiated, but _start has not run
    assert isola("start", cid).returncode == 0
    assert isola.wait_status(cid, "running")["status"] == "running"
    B.wait_file(r.out, contains="sleeping")
    assert isola("kill", cid, "TERM").returncode == 0
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    assert isola("delete", cid).returncode == 0
    assert B.leftovers(isola.root, cid, b, pid=pid) == []


def test_state_dir_holds_the_parsed_config_and_one_state_file(isola, new_id, wbundle):
    """create saves config.json as the bytes it parsed; state.json is replaced without a
    temporary left beside it; `start` records the release by the gate's marker alone, and
    `state` from another process reads that as running."""
    b, cid = wbundle("sleep", "forever"), new_id()
    b.linux["cgroupsPath"] = f"/isola-it/{cid}"  # for pause
    r = isola.detached("create", b, cid)
    assert r.returncode == 0, r.stderr
    sdir = os.path.join(isola.root, cid)
    saved = open(os.path.join(sdir, "config.json"), "rb").read()
    assert saved == open(os.path.join(b.path, "config.json"), "rb").read()
    assert sorted(os.listdir(sdir)) == ["config.json", "exec.fifo", "result.fifo", "state.json"]
    assert isola.state(cid)["status"] == "created"
    assert isola("start", cid).returncode == 0
    assert sorted(os.listdir(sdir)) == ["config.json", "exec.fifo.opened", "state.json"]
    st = isola.state(cid)
    assert st["status"] == "running" and B.pid_alive(st["pid"])
    # pause and resume write the state again, over what the marker says
    assert isola("pause", cid).returncode == 0
    assert isola.state(cid)["status"] == "paused"
    assert isola("resume", cid).returncode == 0
    assert isola.state(cid)["status"] == "running"
    assert isola("kill", cid, "KILL").returncode == 0
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    assert isola("delete", cid).returncode == 0
    assert B.leftovers(isola.root, cid, b, pid=st["pid"]) == []


@pytest.mark.parametrize("cgroups_path", [None, "/isola-it/{cid}"])
def test_hooks_see_the_container_in_state_during_create(isola, new_id, wbundle, tmp_path,
                                                        cgroups_path):
    """The pid is on disk before the createRuntime hooks run (they may call `state`), whether
    the module is told to load before them (no cgroup, no hook) or after."""
    b, cid = wbundle("hello"), new_id()
    if cgroups_path:
        b.linux["cgroupsPath"] = cgroups_path.format(cid=cid)
    out = tmp_path / "state.json"
    b.add_hook("createRuntime", "/bin/sh",
               ["sh", "-c", f"'{isola.binary}' --root '{isola.root}' state {cid} > {out}"])
    r = isola.run(b, cid)
    assert (r.returncode, r.stdout) == (0, "hello, world\n"), r.stderr
    seen = json.loads(out.read_text())
    assert seen["status"] == "creating" and seen["pid"] > 0
    assert B.leftovers(isola.root, cid, b) == []


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_kill_ends_run_with_128_plus_signal(isola, new_id, wbundle, sandbox):
    b, cid = wbundle("sleep", "forever", sandbox=sandbox), new_id()
    b.mark(cid).write()
    p = isola.popen("run", "--bundle", b.path, cid, cid=cid, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "sleeping\n"
    assert isola("kill", cid, "TERM").returncode == 0
    assert p.wait(timeout=20) == 128 + signal.SIGTERM
    assert B.leftovers(isola.root, cid, b) == []


@pytest.mark.parametrize("cgroups_path", [None, "/isola-it/{cid}"])
def test_state_pid_is_the_process_running_the_module(isola, new_id, wbundle, cgroups_path):
    b, cid = wbundle("sleep", "forever"), new_id()
    if cgroups_path:
        b.linux["cgroupsPath"] = cgroups_path.format(cid=cid)
    assert isola.detached("create", b, cid).returncode == 0
    pid = isola.state(cid)["pid"]
    # sandbox=wasm: a plain process of the runtime, in the runtime's namespaces; in a cgroup of
    # its own only when one is asked for (cgroupsPath or a limit): see src/wasmrt/engine.c
    assert os.readlink(f"/proc/{pid}/ns/pid") == os.readlink("/proc/self/ns/pid")
    assert os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
    in_own = any(cid in line for line in open(f"/proc/{pid}/cgroup"))
    assert in_own == bool(cgroups_path)
    assert isola("delete", "--force", cid).returncode == 0
    assert B.leftovers(isola.root, cid, b, pid=pid) == []


def test_sandbox_container_runs_in_the_containers_namespaces(isola, new_id, wbundle):
    b, cid = wbundle("sleep", "forever", sandbox="container"), new_id()
    assert isola.detached("create", b, cid).returncode == 0
    pid = isola.state(cid)["pid"]
    for ns in ("pid", "mnt", "net", "uts", "ipc"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    status = open(f"/proc/{pid}/status").read()
    assert "NoNewPrivs:\t1" in status  # the container's process settings apply
    assert isola("delete", "--force", cid).returncode == 0
    assert B.leftovers(isola.root, cid, b, pid=pid) == []


def test_process_user_applies_in_sandbox_wasm(isola, new_id, wbundle, tmp_path):
    b, cid = wbundle("touch", "w:/data/mine.txt", "w:/data/locked/no.txt"), new_id()
    data = tmp_path / "data"
    (data / "locked").mkdir(parents=True)
    data.chmod(0o777)
    (data / "locked").chmod(0o700)  # root's: not for uid 1000
    b.add_mount("/data", "bind", str(data), ["rbind"])
    b.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1001]}
    r = isola.run(b, cid)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["w:/data/mine.txt: ok",
                                     "w:/data/locked/no.txt: Permission denied"]
    st = (data / "mine.txt").stat()
    assert (st.st_uid, st.st_gid) == (1000, 1000)
    b2, cid2 = wbundle("sleep", "forever"), new_id()
    b2.process["user"] = {"uid": 1000, "gid": 1000}
    assert isola.detached("create", b2, cid2).returncode == 0
    status = open(f"/proc/{isola.state(cid2)['pid']}/status").read()
    assert "Uid:\t1000\t1000\t1000\t1000" in status and "CapEff:\t0000000000000000" in status
    assert isola("delete", "--force", cid2).returncode == 0


def test_hooks_run_in_sandbox_wasm(isola, new_id, wbundle, tmp_path):
    b, cid = wbundle("hello"), new_id()
    for kind in ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                 "poststop"):
        b.add_hook(kind, "/bin/sh", ["sh", "-c", f"cat > {tmp_path}/{kind}.json"])
    r = isola.run(b, cid)
    assert (r.returncode, r.stdout) == (0, "hello, world\n"), r.stderr
    seen = {k: json.loads((tmp_path / f"{k}.json").read_text())
            for k in ("prestart", "createRuntime", "createContainer", "startContainer",
                      "poststart", "poststop")}
    assert {k: v["status"] for k, v in seen.items()} == {
        "prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
        "startContainer": "created", "poststart": "running", "poststop": "stopped"}
    assert all(v["id"] == cid for v in seen.values())
    assert seen["startContainer"]["pid"] == seen["createRuntime"]["pid"] > 0


# ---- bad modules fail `create`, not `start` ----------------------------------------------------

@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_bad_module_fails_create_and_leaves_nothing(isola, new_id, wbundle, sandbox):
    b, cid = wbundle("hello", sandbox=sandbox), new_id()
    Path(b.rootfs, "hello.wasm").write_bytes(b"\0asm\x01\0\0\0\x01\x05\x01")  # cut short
    r = isola.create(b, cid)
    assert r.returncode != 0
    assert "module `/hello.wasm`" in r.stderr and "offset" in r.stderr
    assert B.leftovers(isola.root, cid, b) == []


def test_unknown_import_fails_create(isola, new_id, wbundle):
    b, cid = wbundle("hello"), new_id()
    m = wasmtools.module(types=[([], [])], imports=[("env", "foo", 0)],
                         funcs=[(0, wasmtools.call(0))], exports=[("_start", 1)])
    Path(b.rootfs, "hello.wasm").write_bytes(m)
    r = isola.create(b, cid)
    assert r.returncode != 0 and "unknown import `env.foo`" in r.stderr
    assert B.leftovers(isola.root, cid, b) == []


def test_missing_module_and_cwd(isola, new_id, wbundle):
    b, cid = wbundle("hello"), new_id()
    b.process["args"] = ["/nope.wasm"]
    r = isola.create(b, cid)
    assert r.returncode != 0 and "process.args[0] `/nope.wasm`: No such file" in r.stderr
    b.process["args"] = ["/hello.wasm"]
    b.process["cwd"] = "/nowhere"
    r = isola.create(b, new_id())
    assert r.returncode != 0 and "process.cwd `/nowhere`: No such file" in r.stderr


def test_terminal_needs_sandbox_container(isola, new_id, wbundle):
    b, cid = wbundle("hello"), new_id()
    b.process["terminal"] = True
    r = isola.create(b, cid)
    assert r.returncode != 0 and "process.terminal" in r.stderr


def test_exec_is_refused_in_sandbox_wasm(isola, new_id, wbundle):
    b, cid = wbundle("sleep", "forever"), new_id()
    assert isola.detached("create", b, cid).returncode == 0
    r = isola("exec", cid, "/sleep.wasm")
    assert r.returncode != 0 and "cannot exec" in r.stderr
    assert isola("delete", "--force", cid).returncode == 0


@pytest.mark.parametrize("ann,value,message", [
    ("io.isola.wasm.fuel", "lots", "annotations.io.isola.wasm.fuel: `lots` is not a positive"),
    ("io.isola.wasm.timeout_ms", "-5", "annotations.io.isola.wasm.timeout_ms: `-5`"),
    ("io.isola.wasm.sandbox", "vm", "annotations.io.isola.wasm.sandbox: `vm` is not"),
    ("io.isola.wasm.listen", "8080", "annotations.io.isola.wasm.listen: `8080`: expected"),
])
def test_bad_annotations_fail_create(isola, new_id, wbundle, ann, value, message):
    b, cid = wbundle("hello"), new_id()
    b.config["annotations"][ann] = value
    r = isola.create(b, cid)
    assert r.returncode != 0 and message in r.stderr
    assert B.leftovers(isola.root, cid, b) == []


# ---- the filesystem: rootfs, mounts, cwd -----------------------------------------------------

@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_bind_mounts_become_preopens(isola, new_id, wbundle, tmp_path, sandbox):
    b, cid = wbundle("touch", sandbox=sandbox), new_id()
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir(), ro.mkdir()
    (ro / "in.txt").write_text("from the host\n")
    hostsfile = tmp_path / "hosts"
    hostsfile.write_text("127.0.0.1 localhost\n")
    b.add_mount("/data", "bind", str(rw), ["rbind", "rw"])
    b.add_mount("/ro", "bind", str(ro), ["rbind", "ro"])
    b.add_mount("/etc/hosts", "bind", str(hostsfile), ["rbind", "ro"])  # a file: not a preopen
    b.args("/touch.wasm", "w:/data/out.txt", "r:/data/out.txt", "r:/ro/in.txt", "w:/ro/x.txt",
           "w:/rootfile.txt", "l:/data", "r:/proc/self/status")
    r = isola.run(b, cid)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["w:/data/out.txt: ok", "r:/data/out.txt: ok written",
                         "r:/ro/in.txt: ok from the host"]
    # A read-only mount: a preopen without write rights (in a container, a read-only mount too).
    assert lines[3] == "w:/ro/x.txt: Capabilities insufficient"
    assert lines[4:6] == ["w:/rootfile.txt: ok", "l:/data: ok 1 entries"]
    # proc is not exposed in sandbox=wasm; in a container it is mounted but never opened.
    assert lines[6] == ("r:/proc/self/status: " +
                        ("No such file or directory" if sandbox == "wasm" else "Permission denied"))
    assert (rw / "out.txt").read_text() == "written\n"
    assert (Path(b.rootfs) / "rootfile.txt").exists()
    assert not (ro / "x.txt").exists()
    assert clean(isola, cid, b)


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_readonly_root(isola, new_id, wbundle, sandbox):
    b, cid = wbundle("touch", "w:/x.txt", "r:/touch.wasm", sandbox=sandbox), new_id()
    b.config["root"]["readonly"] = True
    r = isola.run(b, cid)
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.splitlines()
    # The preopen has no write rights: WASI says so before the kernel would (EROFS).
    assert first == "w:/x.txt: Capabilities insufficient"
    assert second.startswith("r:/touch.wasm: ok")
    assert not (Path(b.rootfs) / "x.txt").exists()


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_cwd_is_passed_as_pwd(isola, new_id, wbundle, sandbox):
    b, cid = wbundle("cwd", sandbox=sandbox), new_id()
    app = Path(b.rootfs) / "app"
    app.mkdir()
    shutil.move(str(Path(b.rootfs) / "cwd.wasm"), app / "cwd.wasm")
    (app / "data.txt").write_text("found it\n")
    b.process["cwd"] = "/app"
    b.args("cwd.wasm", "data.txt")  # relative: looked up from the cwd
    r = isola.run(b, cid)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["start cwd=/ PWD=/app", "after cwd=/app",
                                     "data.txt: found it"]


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_escapes_are_denied_in_a_bundle(isola, new_id, wbundle, sandbox):
    b, cid = wbundle("escape", sandbox=sandbox), new_id()
    root = Path(b.rootfs)
    (Path(b.path) / "outside.txt").write_text("secret\n")
    (root / "victim.txt").write_text("v\n")
    (root / "sub").mkdir()
    (root / "abs_link").symlink_to("/etc/passwd")
    (root / "rel_link").symlink_to("../outside.txt")
    (root / "up_link").symlink_to("..")
    # The program takes fd 3 as its sandbox: here that is the rootfs, preopened as "/".
    r = isola.run(b, cid)
    assert r.returncode == 0, r.stderr
    got = dict(line.split("=", 1) for line in r.stdout.splitlines())
    for name in ("open_dotdot", "open_absolute", "open_abs_symlink", "open_rel_symlink",
                 "open_mid_rel_symlink", "stat_dotdot", "rename_out", "link_in",
                 "symlink_absolute", "symlink_escape", "creat_dotdot"):
        assert int(got[name]) == EPERM, name
    assert int(got["open_inside"]) == 0
    assert (Path(b.path) / "outside.txt").read_text() == "secret\n"
    assert sorted(os.listdir(b.path)) == sorted(["config.json", "outside.txt", "rootfs"])


# ---- limits ---------------------------------------------------------------------------------

@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_memory_limit_caps_linear_memory(isola, new_id, wbundle, sandbox):
    b, cid = wbundle("alloc", 8, sandbox=sandbox), new_id()
    b.linux["resources"] = {"memory": {"limit": 2 << 20}}  # 32 pages
    r = isola.run(b, cid)
    assert (r.returncode, r.stdout) == (3, "malloc failed\n"), r.stderr
    b.linux["resources"] = {"memory": {"limit": 64 << 20}}
    assert isola.run(b, new_id()).returncode == 0


def test_memory_limit_below_one_page_is_an_error(isola, new_id, wbundle):
    b, cid = wbundle("hello"), new_id()
    b.linux["resources"] = {"memory": {"limit": 1000}}
    r = isola.create(b, cid)
    assert r.returncode != 0 and "less than one 64 KiB wasm page" in r.stderr


@pytest.mark.parametrize("prog,args", [("spin", ()), ("sleep", ("forever",))])
def test_timeout_annotation_stops_compute_and_sleep(isola, new_id, wbundle, prog, args):
    b, cid = wbundle(prog, *args), new_id()
    b.config["annotations"]["io.isola.wasm.timeout_ms"] = "300"
    t0 = time.monotonic()
    r = isola.run(b, cid)
    assert r.returncode == TRAP_STATUS
    assert "deadline exceeded (io.isola.wasm.timeout_ms)" in r.stderr
    assert 0.3 <= time.monotonic() - t0 < 10


def test_fuel_annotation(isola, new_id, wbundle):
    b, cid = wbundle("spin"), new_id()
    b.config["annotations"]["io.isola.wasm.fuel"] = "1000000"
    r = isola.run(b, cid)
    assert r.returncode == TRAP_STATUS and "out of fuel" in r.stderr


def test_cgroup_limits_apply_to_the_wasm_process(isola, new_id, wbundle):
    b, cid = wbundle("sleep", "forever"), new_id()
    b.linux["cgroupsPath"] = f"/isola-it/{cid}"
    b.linux["resources"] = {"pids": {"limit": 20}, "memory": {"limit": 64 << 20}}
    assert isola.detached("create", b, cid).returncode == 0
    pid = isola.state(cid)["pid"]
    dirs = [d for d in B.find_cgroup_dirs(cid) if os.path.exists(os.path.join(d, "pids.max"))]
    assert dirs, "no pids cgroup for the container"
    assert open(os.path.join(dirs[0], "pids.max")).read().strip() == "20"
    assert str(pid) in open(os.path.join(dirs[0], "cgroup.procs")).read().split()
    assert isola("delete", "--force", cid).returncode == 0
    assert B.leftovers(isola.root, cid, b, pid=pid) == []


# ---- sockets ----------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def echo_roundtrip(port, payload):
    deadline = time.monotonic() + 10
    while True:
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "the module never listened"
            time.sleep(0.05)
    with c:
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := c.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_listen_annotation_gives_a_socket(isola, new_id, wbundle, sandbox):
    b, cid = wbundle("sockecho", 1, sandbox=sandbox), new_id()
    port = free_port()
    b.config["annotations"]["io.isola.wasm.listen"] = f"127.0.0.1:{port}"
    b.drop_namespace("network")  # sandbox=container: reachable from the host's network
    b.mark(cid).write()
    p = isola.popen("run", "--bundle", b.path, cid, cid=cid, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True)
    try:
        assert echo_roundtrip(port, b"ping\n" * 1000) == b"PING\n" * 1000
        assert p.wait(timeout=20) == 0
    finally:
        if p.poll() is None:
            p.kill()
    assert p.stdout.read().splitlines()[-1] == "served 1 connections, 5000 bytes"


# ---- the same programs as `isola wasm run` --------------------------------------------------

@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_file_operations_on_a_mount(isola, new_id, wbundle, tmp_path, sandbox, wasm):
    b, cid = wbundle("fs", "/data", sandbox=sandbox), new_id()
    data = tmp_path / "data"
    data.mkdir()
    b.add_mount("/data", "bind", str(data), ["rbind"])
    r = isola.run(b, cid, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout and r.stdout.count("ok ") == 47
    # The same program through `isola wasm run` says exactly the same.
    direct = tmp_path / "direct"
    direct.mkdir()
    d = subprocess.run([isola.binary, "wasm", "run", "--dir", f"{direct}:/data", wasm("fs"),
                        "/data"], capture_output=True, text=True, timeout=60)
    assert d.stdout == r.stdout


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_clocks_and_random(isola, new_id, wbundle, sandbox):
    b, cid = wbundle("clock_random", sandbox=sandbox), new_id()
    r = isola.run(b, cid)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("ok ") == 6 and "FAIL" not in r.stdout
