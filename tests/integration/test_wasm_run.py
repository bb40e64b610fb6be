"""`isola wasm run`: C programs compiled to wasm32-wasi, run by the real binary.

Checks what a user sees: stdout, stderr and the exit status, plus the WASI errno values a
program gets back for hostile or unsupported calls. The programs are in tests/integration/wasm/.
The binary is $ISOLA (default: build/isola under the repository root).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import wasmtools  # noqa: E402
from wasmtools import I32, call, i32_const, module  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).parent / "wasm"
ISOLA = Path(os.environ.get("ISOLA", ROOT / "build" / "isola"))

TRAP_STATUS = 134  # 128 + SIGABRT, as wasmtime's CLI exits on a trap

# WASI preview 1 errno values (witx `errno`)
EBADF, EFAULT, EINVAL, ENOSYS, ENOTCAPABLE = 8, 21, 28, 52, 76

pytestmark = pytest.mark.skipif(
    wasmtools.toolchain_problem() is not None,
    reason=f"cannot build wasm32-wasi test programs: {wasmtools.toolchain_problem()}")


@pytest.fixture(scope="session")
def isola():
    if not (ISOLA.is_file() and os.access(ISOLA, os.X_OK)):
        pytest.skip(f"no isola binary at {ISOLA} (run `make`, or set ISOLA)")
    return ISOLA


@pytest.fixture(scope="session")
def wasm(tmp_path_factory):
    """wasm("hello") -> path of tests/integration/wasm/hello.c built for wasm32-wasi (cached)."""
    out = tmp_path_factory.mktemp("wasm")
    built = {}

    def build(prog):
        if prog not in built:
            built[prog] = wasmtools.compile_wasm(PROGRAMS / f"{prog}.c", out / f"{prog}.wasm")
        return built[prog]

    return build


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
        "poll_oneoff": ENOSYS,        # not implemented yet: links, answers ENOSYS
        "sock_shutdown": ENOSYS,
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
        # path_open is a later issue: it answers ENOSYS.
        "fopen /sandbox/file.txt: Function not implemented",
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
])
def test_bad_command_lines(isola, args, message):
    r = run(isola, *args)
    assert r.returncode == 2
    assert message in r.stderr


def test_unknown_wasm_command(isola):
    r = subprocess.run([str(isola), "wasm", "frob"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown command `frob`" in r.stderr
