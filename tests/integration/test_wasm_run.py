"""`isola wasm run`: C programs compiled to wasm32-wasi, run by the real binary.

Checks what a user sees: stdout, stderr and the exit status, plus the WASI errno values a
program gets back for hostile or unsupported calls. The programs are in tests/integration/wasm/.
The binary is $ISOLA (default: build/isola under the repository root).
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import wasmtools  # noqa: E402
from wasmtools import I32, call, i32_const, module  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ISOLA = Path(os.environ.get("ISOLA", ROOT / "build" / "isola"))

TRAP_STATUS = 134  # 128 + SIGABRT, as wasmtime's CLI exits on a trap

# WASI preview 1 errno values (witx `errno`)
EACCES, EBADF, EEXIST, EFAULT, EINVAL, ELOOP, ENOENT, ENOSYS = 2, 8, 20, 21, 28, 32, 44, 52
ENOTSOCK, ENOTSUP, EPERM, ENOTCAPABLE = 57, 58, 63, 76

pytestmark = pytest.mark.skipif(
    wasmtools.toolchain_problem() is not None,
    reason=f"cannot build wasm32-wasi test programs: {wasmtools.toolchain_problem()}")


@pytest.fixture(scope="session")
def isola():
    if not (ISOLA.is_file() and os.access(ISOLA, os.X_OK)):
        pytest.skip(f"no isola binary at {ISOLA} (run `make`, or set ISOLA)")
    return ISOLA


def run(isola, *args, env=None, timeout=60):
    """Runs `isola wasm run ARGS...` with empty stdin; output comes back as text."""
    return subprocess.run([str(isola), "wasm", "run", *map(str, args)], input="",
                          capture_output=True, text=True, env=env, timeout=timeout)


def write_module(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return p


# ---- running programs -----------------------------------------------------------------------

def test_hello(isola, wasm):
    r = run(isola, wasm("hello"))
    assert (r.returncode, r.stdout, r.stderr) == (0, "hello, world\n", "")


def test_args_reach_the_module_and_options_stop_at_the_file(isola, wasm):
    r = run(isola, wasm("echo"), "one", "two words", "--env", "X=1", "")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "argc=6", "argv[0]=echo.wasm", "argv[1]=one", "argv[2]=two words", "argv[3]=--env",
        "argv[4]=X=1", "argv[5]="]  # and no env: lines: the environment is empty


def test_environment_is_only_what_is_given(isola, wasm):
    env = dict(os.environ, ISOLA_SECRET="leak", ISOLA_PASS="through")
    r = run(isola, "--env", "A=1", "--env=B=two=2", "--env", "ISOLA_PASS", "--env", "NOT_SET_X",
            wasm("echo"), env=env)
    assert r.returncode == 0, r.stderr
    envs = [line[4:] for line in r.stdout.splitlines() if line.startswith("env:")]
    assert envs == ["A=1", "B=two=2", "ISOLA_PASS=through"]
    assert "leak" not in r.stdout


@pytest.mark.parametrize("code", [0, 1, 7, 42, 125, 255])
def test_exit_status_is_proc_exit_code(isola, wasm, code):
    r = run(isola, wasm("exit_code"), code)
    assert r.returncode == code, r.stderr
    assert r.stdout == f"exiting with {code}\n"  # written before proc_exit, not lost


def test_proc_exit_code_keeps_low_8_bits(isola, wasm):
    assert run(isola, wasm("exit_code"), 256 + 3).returncode == 3


def test_stdin_is_copied_to_stdout(isola, wasm):
    data = os.urandom((1 << 20) + 123)
    r = subprocess.run([str(isola), "wasm", "run", str(wasm("cat"))], input=data,
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data
    assert r.stderr == f"copied {len(data)} bytes\n".encode()


def test_closed_stdout_is_epipe_not_sigpipe(isola, wasm, tmp_path):
    # The reader goes away after 10 bytes: the guest's fd_write gets EPIPE (cat.c exits 1 when a
    # write fails) instead of isola dying of SIGPIPE.
    data = tmp_path / "in.bin"
    data.write_bytes(os.urandom(4 << 20))
    with open(data, "rb") as stdin:
        p = subprocess.Popen([str(isola), "wasm", "run", str(wasm("cat"))], stdin=stdin,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert len(p.stdout.read(10)) == 10
        p.stdout.close()
        assert p.wait(timeout=60) == 1


def test_empty_stdin(isola, wasm):
    r = run(isola, wasm("cat"))
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "copied 0 bytes\n")


def test_clock_and_random(isola, wasm):
    r = run(isola, wasm("clock_random"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("ok ") == 6 and "FAIL" not in r.stdout


# ---- traps -------------------------------------------------------------------------------------

@pytest.mark.parametrize("how,trap,func", [
    ("div", "integer divide by zero", "divide"),
    ("unreachable", "unreachable", "crash"),
])
def test_trap(isola, wasm, how, trap, func):
    r = run(isola, wasm("trap"), how)
    assert r.returncode == TRAP_STATUS, r.stderr
    assert r.stdout == "before\n"
    assert r.stderr.startswith(f"isola: wasm trap: {trap} in function ")
    assert f"({func})" in r.stderr
    assert r.stderr.count("\n") == 1


def test_stack_exhaustion_is_a_trap(isola, wasm):
    r = run(isola, wasm("trap"), "stack")
    assert r.returncode == TRAP_STATUS, r.stderr
    assert r.stderr.startswith("isola: wasm trap: call stack exhausted")


# ---- limits ------------------------------------------------------------------------------------

def test_fuel_stops_an_endless_loop(isola, wasm):
    r = run(isola, "--fuel", "1000000", wasm("spin"), timeout=60)
    assert r.returncode == TRAP_STATUS
    assert r.stderr.startswith("isola: wasm trap: out of fuel")


def test_timeout_stops_an_endless_loop(isola, wasm):
    t0 = time.monotonic()
    r = run(isola, "--timeout-ms", "300", wasm("spin"), timeout=60)
    elapsed = time.monotonic() - t0
    assert r.returncode == TRAP_STATUS
    assert r.stderr.startswith("isola: wasm trap: deadline exceeded")
    assert 0.3 <= elapsed < 10


def test_memory_cap_makes_malloc_fail(isola, wasm):
    assert run(isola, wasm("alloc"), 8).returncode == 0
    r = run(isola, "--max-memory-pages", "32", wasm("alloc"), 8)  # 2 MiB of memory
    assert (r.returncode, r.stdout) == (3, "malloc failed\n"), r.stderr


# ---- the WASI layer ----------------------------------------------------------------------------

def test_wasi_errnos_for_hostile_and_unsupported_calls(isola, wasm):
    r = run(isola, wasm("wasi_calls"))
    assert r.returncode == 0, r.stderr
    got = dict(line.split("=") for line in r.stdout.splitlines())
    assert {k: int(v) for k, v in got.items()} == {
        "write_far_iovs": EFAULT,     # iovec array past the end of memory
        "write_far_buf": EFAULT,      # an iovec's buffer past the end
        "write_far_result": EFAULT,   # the result pointer past the end
        "write_bad_fd": EBADF,
        "write_stdin": ENOTCAPABLE,   # fd 0 has no write right
        "random_far": EFAULT,
        "clock_bad_id": EINVAL,
        "seek_bad_whence": EINVAL,
        "fdstat_bad_fd": EBADF,
        "prestat_stdout": EBADF,      # open, but not a preopen
        "prestat_past_end": EBADF,
        "dir_name_bad_fd": EBADF,
        "poll_oneoff": EINVAL,        # no subscriptions
        "sock_shutdown": ENOTSOCK,    # stdout is a pipe
        "sched_yield": 0,
        "close_bad_fd": EBADF,
    }


def test_preopened_dirs_are_reported(isola, wasm, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    r = run(isola, "--dir", f"{tmp_path / 'a'}:/sandbox", "--dir", tmp_path / "b",
            wasm("preopen"), "/sandbox/file.txt")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "preopen fd=3 name=/sandbox type=3 err=0",  # type 3: directory
        f"preopen fd=4 name={tmp_path / 'b'} type=3 err=0",
        "fopen /sandbox/file.txt: No such file or directory",
    ]


def test_no_preopens_without_dir(isola, wasm):
    r = run(isola, wasm("preopen"))
    assert (r.returncode, r.stdout) == (0, "")


def test_missing_dir_is_an_error(isola, wasm, tmp_path):
    missing = tmp_path / "nope"
    r = run(isola, "--dir", f"{missing}:/x", wasm("hello"))
    assert r.returncode == 1
    assert f"preopen `{missing}`: No such file or directory" in r.stderr
    assert r.stdout == ""


def test_unknown_wasi_function_links_and_answers_enosys(isola, tmp_path):
    # _start: proc_exit(made_up())
    m = module(types=[([], [I32]), ([I32], []), ([], [])],
               imports=[("wasi_snapshot_preview1", "made_up", 0),
                        ("wasi_snapshot_preview1", "proc_exit", 1)],
               funcs=[(2, call(0) + call(1))], exports=[("_start", 2)])
    r = run(isola, write_module(tmp_path, "stub.wasm", m))
    assert (r.returncode, r.stderr) == (ENOSYS, "")


def test_start_returning_normally_is_status_0(isola, tmp_path):
    m = module(types=[([], [])], funcs=[(0, i32_const(-5) + b"\x1a")], exports=[("_start", 0)])
    r = run(isola, write_module(tmp_path, "ret.wasm", m))
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


# ---- modules isola refuses ---------------------------------------------------------------------

def test_missing_file(isola, tmp_path):
    r = run(isola, tmp_path / "nope.wasm")
    assert r.returncode == 1
    assert r.stderr == f"isola: read `{tmp_path / 'nope.wasm'}`: No such file or directory\n"


def test_not_a_module(isola, tmp_path):
    r = run(isola, write_module(tmp_path, "text.wasm", b"#!/bin/sh\necho hi\n"))
    assert r.returncode == 1
    assert r.stderr.startswith(f"isola: {tmp_path / 'text.wasm'}: ")
    assert "offset" in r.stderr


def test_truncated_module_names_the_offset(isola, tmp_path):
    good = module(types=[([], [])], funcs=[(0, b"")], exports=[("_start", 0)])
    r = run(isola, write_module(tmp_path, "cut.wasm", good[:-3]))
    assert r.returncode == 1
    assert "offset" in r.stderr and r.stderr.count("\n") == 1


def test_import_from_another_module_is_unlinkable(isola, tmp_path):
    m = module(types=[([], [])], imports=[("env", "foo", 0)], funcs=[(0, call(0))],
               exports=[("_start", 1)])
    r = run(isola, write_module(tmp_path, "env.wasm", m))
    assert r.returncode == 1
    assert "unknown import `env.foo`" in r.stderr


def test_wasi_import_of_the_wrong_type_is_unlinkable(isola, tmp_path):
    m = module(types=[([], [])], imports=[("wasi_snapshot_preview1", "fd_write", 0)],
               funcs=[(0, b"")], exports=[("_start", 1)])
    r = run(isola, write_module(tmp_path, "badtype.wasm", m))
    assert r.returncode == 1
    assert "import `wasi_snapshot_preview1.fd_write`: type mismatch" in r.stderr


def test_module_without_start(isola, tmp_path):
    r = run(isola, write_module(tmp_path, "lib.wasm", wasmtools.WASM_HEADER))
    assert r.returncode == 1
    assert "no function `_start`" in r.stderr


# ---- the command line --------------------------------------------------------------------------

def test_help(isola):
    for args in (["wasm", "--help"], ["wasm", "run", "--help"]):
        r = subprocess.run([str(isola), *args], capture_output=True, text=True)
        assert r.returncode == 0 and "usage: isola wasm run" in r.stdout and r.stderr == ""


@pytest.mark.parametrize("args,message", [
    ([], "no module given"),
    (["--fuel", "abc", "x.wasm"], "--fuel: `abc` is not a number"),
    (["--max-memory-pages", "0", "x.wasm"], "--max-memory-pages: `0` is not a number in 1..65536"),
    (["--bogus", "x.wasm"], "unknown option `--bogus`"),
    (["--dir"], "missing value for `--dir`"),
    (["--dir", ":/x", "x.wasm"], "--dir `:/x`: expected HOST[:GUEST]"),
    (["--ro-dir", "/tmp:", "x.wasm"], "--ro-dir `/tmp:`: expected HOST[:GUEST]"),
    (["--listen", "8080", "x.wasm"], "--listen `8080`: expected IPV4:PORT"),
    (["--listen", "example.com:80", "x.wasm"], "--listen `example.com:80`: expected"),
    (["--listen", "[::1]:99999", "x.wasm"], "expected IPV4:PORT, [IPV6]:PORT or localhost:PORT"),
])
def test_bad_command_lines(isola, args, message):
    r = run(isola, *args)
    assert r.returncode == 2
    assert message in r.stderr


def test_unknown_wasm_command(isola):
    r = subprocess.run([str(isola), "wasm", "frob"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown command `frob`" in r.stderr


# ---- files and directories ---------------------------------------------------------------------

FS_STEPS = [
    "write", "read", "excl", "append", "trunc", "pwrite", "pread", "seek_end", "tell", "ftruncate",
    "fsync", "fadvise", "fallocate", "setfl", "utimens", "futimens", "mkdir", "mkdir_exists",
    "nested", "dotdot_inside", "rmdir_notempty", "rmdir_file", "unlink_dir", "open_dir_as_file",
    "o_directory", "enoent", "rename", "rename_dir", "rename_replace", "link", "symlink",
    "readlink", "readlink_short", "readlink_file", "lstat", "follow", "nofollow", "symlink_dir",
    "unlink_link", "unlink", "mkdir_many", "create_many", "readdir", "readdir_names",
    "rewinddir", "seekdir", "rmdir"]


@pytest.mark.parametrize("where", ["/sb", "/sb/sub/..", "."])
def test_file_operations(isola, wasm, tmp_path, where):
    # The preopen's name does not matter: "/sb" or ".", with ".." inside it.
    (tmp_path / "sub").mkdir()
    guest = "." if where == "." else "/sb"
    r = run(isola, "--dir", f"{tmp_path}:{guest}", wasm("fs"), where)
    assert r.stdout.splitlines() == [f"ok {step}" for step in FS_STEPS], r.stderr
    assert r.returncode == 0
    # What the program left, seen from the host.
    assert (tmp_path / "a.txt").stat().st_size == 8193
    assert (tmp_path / "sd").is_symlink() and os.readlink(tmp_path / "sd") == "e2"
    assert (tmp_path / "e2" / "through.txt").read_text() == "t"


def make_escape_tree(base):
    """The tree escape.c expects: a sandbox `sb` next to `outside.txt`."""
    sb = base / "sb"
    (sb / "sub").mkdir(parents=True)
    (base / "outside.txt").write_text("secret\n")
    (base / "outside_link").symlink_to("outside.txt")
    (sb / "victim.txt").write_text("v\n")
    (sb / "inside_link").symlink_to("victim.txt")
    (sb / "abs_link").symlink_to("/etc/passwd")
    (sb / "rel_link").symlink_to("../../../../../../../../etc/passwd")
    (sb / "dir_link").symlink_to("/etc")
    (sb / "up_link").symlink_to("..")
    (sb / "sub" / "deep_link").symlink_to("../../outside.txt")
    for name, kind, major, minor in (("null_dev", "c", 1, 3), ("mem_dev", "c", 1, 1),
                                     ("blk_dev", "b", 7, 0)):
        mode = 0o600 | (0o020000 if kind == "c" else 0o060000)
        os.mknod(sb / name, mode, os.makedev(major, minor))
    return sb


def snapshot(base):
    """Everything under `base` but the sandbox: names, and contents of files."""
    out = {}
    for p in sorted(base.rglob("*")):
        if p.is_relative_to(base / "sb"):
            continue
        out[str(p.relative_to(base))] = p.read_bytes() if p.is_file() and not p.is_symlink() \
            else os.readlink(p) if p.is_symlink() else "dir"
    return out


ESCAPES = {
    "open_inside": 0, "open_inside_dotdot": 0,
    "open_dotdot": EPERM, "open_dotdot_deep": EPERM, "open_absolute": EPERM,
    "open_abs_symlink": EPERM, "open_rel_symlink": EPERM, "open_mid_abs_symlink": EPERM,
    "open_mid_rel_symlink": EPERM, "open_deep_symlink": EPERM,
    "open_nofollow_link": ELOOP, "open_follow_link": 0,
    "creat_through_abs_link": EPERM, "creat_dotdot": EPERM,
    "open_trailing_nul": EINVAL, "open_empty": ENOENT,
    "stat_dotdot": EPERM, "stat_abs_link_follow": EPERM, "stat_abs_link_nofollow": 0,
    "utimes_dotdot": EPERM, "mkdir_dotdot": EPERM, "mkdir_through_link": EPERM,
    "rmdir_dotdot": EPERM, "unlink_dotdot": EPERM, "unlink_through_link": EPERM,
    "rename_out": EPERM, "rename_in": EPERM, "rename_abs": EPERM,
    "link_out": EPERM, "link_in": EPERM, "link_follow_abs": EPERM,
    "symlink_absolute": EPERM, "symlink_escape": EPERM, "symlink_escape_deep": EPERM,
    "symlink_from_sub_ok": 0, "symlink_from_sub_out": EPERM, "symlink_inside": 0,
    "read_new_inside": 0,
    "readlink_abs": 0, "readlink_dotdot": EPERM,
    "open_sub": 0, "sub_dotdot": EPERM,
    "open_victim": 0, "shrink_rights": 0, "read_without_right": ENOTCAPABLE,
    "grow_rights": ENOTCAPABLE, "open_more_than_inherited": ENOTCAPABLE,
    "dev_null": 0, "dev_mem": EACCES, "dev_block": EACCES,
}


def test_escapes_are_denied(isola, wasm, tmp_path):
    sb = make_escape_tree(tmp_path)
    before = snapshot(tmp_path)
    r = run(isola, "--dir", f"{sb}:/sb", wasm("escape"))
    assert r.returncode == 0, r.stderr
    got = dict(line.split("=", 1) for line in r.stdout.splitlines())
    assert got.pop("readlink_abs_text") == "/etc/passwd"  # the text of a link is no secret
    assert got.pop("host_fds_ebadf") == "10"  # host fd numbers mean nothing to the guest
    assert {k: int(v) for k, v in got.items()} == ESCAPES
    assert snapshot(tmp_path) == before  # nothing outside changed, nothing appeared
    assert sorted(os.listdir(sb / "sub")) == ["deep_link", "new_ok"]
    assert os.readlink(sb / "new_inside") == "sub/../victim.txt"


def test_readonly_dir(isola, wasm, tmp_path):
    sb = make_escape_tree(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "ro.txt").write_text("r\n")
    r = run(isola, "--dir", f"{sb}:/sb", "--ro-dir", f"{ro}:/ro", wasm("escape"), "ro")
    assert r.returncode == 0, r.stderr
    got = {k: int(v) for k, v in (line.split("=") for line in r.stdout.splitlines())}
    want = {k: ENOTCAPABLE for k in got}
    want.update(ro_fdstat=0, ro_has_write_rights=0, ro_read=0, ro_open_read=0)
    assert got == want
    assert os.listdir(ro) == ["ro.txt"] and (ro / "ro.txt").read_text() == "r\n"
    assert sorted(os.listdir(sb)) == sorted(["sub", "victim.txt", "inside_link", "abs_link",
                                             "rel_link", "dir_link", "up_link", "null_dev",
                                             "mem_dev", "blk_dev"])


def test_proc_files_are_never_opened(isola, wasm, tmp_path):
    # Even when a user hands the module /proc: no /proc/self/mem, no magic links.
    sb = make_escape_tree(tmp_path)
    r = run(isola, "--dir", f"{sb}:/sb", "--ro-dir", "/proc:/proc", wasm("escape"), "proc")
    assert r.returncode == 0, r.stderr
    got = {k: int(v) for k, v in (line.split("=") for line in r.stdout.splitlines())}
    assert got == {"proc_self_mem": EACCES, "proc_self_environ": EACCES,
                   "proc_root_magic": ELOOP, "proc_cwd_magic": ELOOP, "proc_fd_magic": ELOOP}


# ---- clocks and waiting ---------------------------------------------------------------------

def test_sleep(isola, wasm):
    r = run(isola, wasm("sleep"), "sleep", 150)
    assert (r.returncode, r.stdout) == (0, "nanosleep=0 ok\nusleep ok\n"), r.stderr


def test_poll_oneoff_cases(isola, wasm):
    r = run(isola, wasm("sleep"), "raw")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "abs_monotonic: errno=0 events=1 [ud=1 type=0 err=0] fast",
        "abs_realtime: errno=0 events=1 [ud=2 type=0 err=0] fast",
        "abs_past: errno=0 events=1 [ud=3 type=0 err=0] fast",
        "two_clocks: errno=0 events=1 [ud=4 type=0 err=0] fast",  # only the first is due
        f"bad_clock: errno=0 events=1 [ud=6 type=0 err={EINVAL}] fast",
        f"cputime_clock: errno=0 events=1 [ud=7 type=0 err={ENOTSUP}] fast",
        f"bad_fd: errno=0 events=1 [ud=8 type=1 err={EBADF}] fast",
        "stdout_writable: errno=0 events=1 [ud=10 type=2 err=0] fast",
        f"none: errno={EINVAL} events=0 fast",
    ]


def test_poll_on_stdin(isola, wasm):
    p = subprocess.Popen([str(isola), "wasm", "run", str(wasm("sleep")), "poll_stdin", "5000"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    time.sleep(0.2)
    p.stdin.write("line\n")
    p.stdin.flush()
    assert p.stdout.read() == "ready line\n"
    assert p.wait(timeout=10) == 0
    r = run(isola, wasm("sleep"), "poll_stdin", 100)  # stdin at EOF is readable at once
    assert r.stdout == "ready (eof)\n"
    rp, wp = os.pipe()
    try:
        q = subprocess.run([str(isola), "wasm", "run", str(wasm("sleep")), "poll_stdin", "100"],
                           stdin=rp, capture_output=True, text=True, timeout=10)
    finally:
        os.close(rp), os.close(wp)
    assert q.stdout == "timeout r=0\n"


def test_timeout_stops_a_sleeping_module(isola, wasm):
    t0 = time.monotonic()
    r = run(isola, "--timeout-ms", "300", wasm("sleep"), "forever")
    assert r.returncode == TRAP_STATUS
    assert r.stdout == "sleeping\n" and r.stderr.startswith("isola: wasm trap: deadline exceeded")
    assert 0.3 <= time.monotonic() - t0 < 10


def test_timeout_stops_a_blocked_read(isola, wasm):
    rp, wp = os.pipe()  # stdin that never has data
    try:
        r = subprocess.run([str(isola), "wasm", "run", "--timeout-ms", "300", str(wasm("cat"))],
                           stdin=rp, capture_output=True, text=True, timeout=30)
    finally:
        os.close(rp), os.close(wp)
    assert r.returncode == TRAP_STATUS and "deadline exceeded" in r.stderr


# ---- proc_raise ----------------------------------------------------------------------------------

@pytest.mark.parametrize("sig,status,output", [
    (0, 0, "proc_raise=0"),       # no signal
    (6, 134, None),               # SIGABRT ends the run: 128 + 6
    (9, 137, None),
    (15, 143, None),
    (16, 0, "proc_raise=0"),      # witx SIGCHLD (Linux 17): ignored
    (18, 0, f"proc_raise={ENOTSUP}"),  # SIGSTOP: a module cannot be stopped
    (27, 0, "proc_raise=0"),      # SIGWINCH: ignored
    (30, 159, None),              # witx SIGSYS is Linux 31
    (31, 0, f"proc_raise={EINVAL}"),
])
def test_proc_raise(isola, wasm, sig, status, output):
    r = run(isola, wasm("raise"), sig)
    assert r.returncode == status, r.stderr
    assert r.stdout.splitlines() == [f"raising {sig}"] + ([output] if output else [])


# ---- sockets ----------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(port):
    """Connects to the module's socket, waiting for isola to have started (it binds before
    the module runs, so once connected, nothing races)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "nothing listened"
            time.sleep(0.02)


def echo(port, payload):
    with connect(port) as c:
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := c.recv(65536):
            data += chunk
    return data


def test_socket_echo_server(isola, wasm, tmp_path):
    port = free_port()
    # The socket comes after the dirs: fd 4 here.
    p = subprocess.Popen([str(isola), "wasm", "run", "--dir", f"{tmp_path}:/t", "--listen",
                          f"127.0.0.1:{port}", str(wasm("sockecho")), "3"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert echo(port, b"hello\n") == b"HELLO\n"
        big = os.urandom(300000).hex().encode()
        assert echo(port, big) == big.upper()
        assert echo(port, b"") == b""
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert out.splitlines() == ["listening on fd 4",
                                f"served 3 connections, {6 + len(big)} bytes"]


def test_listen_on_a_busy_port(isola, wasm):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run(isola, "--listen", f"127.0.0.1:{port}", wasm("sockecho"))
    assert r.returncode == 1
    assert f"listen `127.0.0.1:{port}`: Address already in use" in r.stderr


def test_no_listener_without_listen(isola, wasm):
    r = run(isola, wasm("sockecho"))
    assert (r.returncode, r.stderr) == (3, "no listening socket\n")
