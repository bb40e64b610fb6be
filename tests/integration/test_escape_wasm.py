"""Escape attempts from inside a wasm sandbox, through `isola wasm run`: paths out of the
preopened directories through WASI (`..`, absolute paths, symlinks that point out, links the
guest makes, a directory swapped for a symlink while the guest opens through it), reads past
the end of linear memory, memory exhaustion, and stack exhaustion. Each test passes when the
attack is stopped and the host is unharmed (a clean exit status, never a crash).

What the wasm sandbox is (docs/security.md): a language boundary in the same process as the
interpreter, plus WASI's capability model; there is no kernel boundary behind it unless the
bundle asks for the container sandbox. So every guest pointer, length and path is checked by
isola itself, and these tests check those checks.

Errno values follow WASI preview 1. For a path that leads out of its preopen the WASI test
suite (wasi-testsuite, `assert_errno!`) accepts ERRNO_PERM or ERRNO_NOTCAPABLE; so do we.

Run (as root):  /usr/bin/python3 -m pytest -q tests/integration/test_escape_wasm.py
"""
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import wasmtools  # noqa: E402
from wasmtools import I32, I64, WASM_HEADER, call, i32_const, leb, name, section, vec  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ESCAPE = Path(__file__).parent / "escape"
ISOLA = Path(os.environ.get("ISOLA", ROOT / "build" / "isola"))
TRAP_STATUS = 134

# WASI preview 1 errno values
ELOOP, ENOENT, EPERM, ENOTCAPABLE = 32, 44, 63, 76
DENIED = {EPERM, ENOTCAPABLE}

pytestmark = pytest.mark.skipif(
    wasmtools.toolchain_problem() is not None,
    reason=f"cannot build wasm32-wasi test programs: {wasmtools.toolchain_problem()}")


@pytest.fixture(scope="module")
def isola():
    if not (ISOLA.is_file() and os.access(ISOLA, os.X_OK)):
        pytest.skip(f"no isola binary at {ISOLA} (run `make`, or set ISOLA)")
    return ISOLA


@pytest.fixture(scope="module")
def prog(tmp_path_factory):
    out = tmp_path_factory.mktemp("escape-wasm")
    built = {}

    def build(name_):
        if name_ not in built:
            built[name_] = wasmtools.compile_wasm(ESCAPE / f"{name_}.c", out / f"{name_}.wasm")
        return built[name_]
    return build


def run(isola, *args, timeout=60):
    """`isola wasm run ARGS...`: (CompletedProcess, peak RSS of that isola process in KiB)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([str(isola), "wasm", "run", *map(str, args)],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True)
        fired = threading.Event()
        killer = threading.Timer(timeout, lambda: (fired.set(), p.kill()))
        killer.start()
        try:
            # wait4, not wait: the rusage of this child alone.
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        if fired.is_set():
            pytest.fail(f"isola wasm run {args} did not finish in {timeout} s", pytrace=False)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read()), \
            usage.ru_maxrss


def parse(stdout):
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


def describe(r):
    return f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"


# ---------------------------------------------------------------------------------------------
# paths

def make_tree(base):
    sb = base / "sb"
    (sb / "sub").mkdir(parents=True)
    (sb / "d").mkdir()
    (sb / "d" / "file").write_text("inside\n")
    (sb / "victim.txt").write_text("inside\n")
    (base / "secret.txt").write_text("SECRET\n")
    (base / "secret").mkdir()
    (base / "secret" / "file").write_text("SECRET\n")
    (sb / "abs_link").symlink_to(base / "secret.txt")
    (sb / "rel_link").symlink_to("../secret.txt")
    (sb / "chain1").symlink_to("chain2")
    (sb / "chain2").symlink_to("sub/up")
    (sb / "sub" / "up").symlink_to("../..")
    (sb / "loop1").symlink_to("loop2")
    (sb / "loop2").symlink_to("loop1")
    (sb / "self_link").symlink_to(".")
    return sb


def outside(base):
    """What exists outside the sandbox: names and contents."""
    out = {}
    for p in sorted(base.iterdir()):
        if p.name == "sb":
            continue
        out[p.name] = p.read_bytes() if p.is_file() else sorted(os.listdir(p))
    return out


ESCAPES = ["dotdot", "sub_dotdot_dotdot", "dots_and_slashes", "double_slashes", "absolute",
           "absolute_guest_name", "abs_symlink", "rel_symlink", "symlink_chain",
           "self_link_dotdot", "dir_in_secret", "open_parent_dir", "self_dir_dotdot",
           "hardlink_out", "hardlink_follow_out", "rename_in", "rename_out", "mkdir_out",
           "stat_out", "unlink_out"]


def test_paths_out_of_the_preopen_are_denied(isola, prog, tmp_path):
    sb = make_tree(tmp_path)
    before = outside(tmp_path)
    r, _ = run(isola, "--dir", f"{sb}:/sb", prog("wasi_paths"), "paths")
    assert r.returncode == 0, describe(r)
    got = parse(r.stdout)
    leaked = {k: v for k, v in got.items() if k.endswith(".read") and "SECRET" in v}
    assert not leaked, f"read from outside the sandbox: {leaked}"
    # The legitimate open works: a sandbox that refuses everything would pass the rest.
    assert (got.get("inside"), got.get("inside.read")) == ("0", "inside"), got
    assert got.get("open_self_dir") == "0", got
    wrong = {k: got.get(k) for k in ESCAPES if got.get(k) is None or int(got[k]) not in DENIED}
    assert not wrong, f"escapes not denied with EPERM/ENOTCAPABLE (63/76): {wrong}"
    assert int(got["symlink_loop"]) == ELOOP, got
    # A guest may create a symlink whose text points out (the text is just data), but it
    # must not be usable as a way out.
    for made in ("rel", "abs"):
        if got[f"make_{made}_symlink"] == "0":
            assert int(got[f"follow_made_{made}"]) in DENIED, got
        else:
            assert int(got[f"make_{made}_symlink"]) in DENIED, got
    assert outside(tmp_path) == before, "something outside the sandbox changed"
    assert not (tmp_path / "made_dir").exists() and not (tmp_path / "moved.txt").exists()


def test_directory_swapped_for_a_symlink_mid_open(isola, prog, tmp_path):
    """A TOCTOU race: the host keeps replacing sb/d with a symlink to the secret directory
    (as a second, cooperating process in the sandbox could) while the guest opens d/file. A
    runtime that checks a path and then opens it by name loses this race; one that resolves
    beneath the preopen in the kernel (openat2 RESOLVE_BENEATH) cannot."""
    sb = make_tree(tmp_path)
    d, real, link = sb / "d", sb / "d_real", sb / "d_link"
    link.symlink_to(tmp_path / "secret")
    stop = threading.Event()
    swaps = [0]

    def swapper():
        while not stop.is_set():
            os.rename(d, real)
            os.rename(link, d)        # d -> secret/ (a symlink)
            os.rename(d, link)
            os.rename(real, d)        # d is the real directory again
            swaps[0] += 1

    t = threading.Thread(target=swapper)
    t.start()
    try:
        r, _ = run(isola, "--dir", f"{sb}:/sb", prog("wasi_paths"), "race", "1.5")
    finally:
        stop.set()
        t.join()
    assert r.returncode == 0, describe(r)
    got = {k: int(v) for k, v in parse(r.stdout).items()}
    assert got["race_secret"] == 0, f"the guest read the secret through the swapped symlink: {got}"
    assert got["race_other"] == 0, got
    assert got["race_inside"] > 0 and swaps[0] > 0, f"the race did not happen: {got}, {swaps}"


# ---------------------------------------------------------------------------------------------
# linear memory

def body(code, locals_=()):
    """A function body: locals as [(count, type)], then the code and `end`."""
    return vec(leb(n) + bytes([t]) for n, t in locals_) + code + b"\x0b"


def module(types, funcs, imports=(), memory=None, tables=False):
    """A module: types [(params, results)], funcs [(typeidx, body bytes)], function imports
    [(module, name, typeidx)], memory (min pages) exported; with `tables`, a funcref table
    holding every function (for call_indirect). _start is the last function."""
    out = WASM_HEADER
    out += section(1, vec(b"\x60" + vec(bytes([p]) for p in ps) + vec(bytes([r]) for r in rs)
                          for ps, rs in types))
    if imports:
        out += section(2, vec(name(m) + name(n) + b"\x00" + leb(t) for m, n, t in imports))
    out += section(3, vec(leb(t) for t, _ in funcs))
    nfunc = len(imports) + len(funcs)
    if tables:
        out += section(4, vec([b"\x70\x00" + leb(nfunc)]))
    if memory is not None:
        out += section(5, vec([b"\x00" + leb(memory)]))
    exports = [name("_start") + b"\x00" + leb(nfunc - 1)]
    if memory is not None:
        exports.append(name("memory") + b"\x02" + leb(0))
    out += section(7, vec(exports))
    if tables:
        out += section(9, vec([b"\x00" + i32_const(0) + b"\x0b" +
                               vec(leb(i) for i in range(nfunc))]))
    out += section(10, vec(leb(len(b)) + b for _, b in funcs))
    return out


def write(tmp_path, name_, data):
    p = tmp_path / f"{name_}.wasm"
    p.write_bytes(data)
    return p


def load(addr, offset=0, op=b"\x28", align=2):
    """`addr` (i32.const) then a load with the given memarg, result dropped."""
    return i32_const(addr) + op + leb(align) + leb(offset) + b"\x1a"


OOB = {
    # i32.load that starts in bounds and ends 2 bytes past the only page
    "straddles_the_end": load(65536 - 2),
    # address + offset > 4 GiB: the effective address is 33 bits wide
    "offset_wraps_past_4g": load(1, offset=0xFFFFFFFF),
    "negative_address": load(-4),
    "i64_load_at_end": load(65536 - 7, op=b"\x29", align=3),
    "i64_store_far": i32_const(0x7FFFFFF8) + b"\x42\x00" + b"\x37" + leb(3) + leb(0),
    # memory.fill(dst=65000, value=0, n=1000): past the end, nothing may be written
    "memory_fill": i32_const(65000) + i32_const(0) + i32_const(1000) + b"\xfc" + leb(11) + b"\x00",
    # memory.copy(dst=0, src=65000, n=1000)
    "memory_copy": i32_const(0) + i32_const(65000) + i32_const(1000) + b"\xfc" + leb(10) +
    b"\x00\x00",
}


@pytest.mark.parametrize("case", sorted(OOB))
def test_out_of_bounds_memory_access_traps(isola, tmp_path, case):
    m = module(types=[([], [])], funcs=[(0, body(OOB[case]))], memory=1)
    r, _ = run(isola, write(tmp_path, case, m))
    assert r.returncode == TRAP_STATUS, describe(r)
    assert r.stderr.startswith("isola: wasm trap: out of bounds memory access"), describe(r)
    assert r.stderr.count("\n") == 1 and r.stdout == ""


def test_in_bounds_edge_is_fine(isola, tmp_path):
    """The last 4 bytes of the page can be read (so the traps above are about bounds)."""
    m = module(types=[([], [])], funcs=[(0, body(load(65536 - 4)))], memory=1)
    r, _ = run(isola, write(tmp_path, "edge", m))
    assert (r.returncode, r.stderr) == (0, ""), describe(r)


@pytest.mark.parametrize("addr", ["0xfffffff0", "0x7ffffff0", "0x10000000"])
def test_c_pointer_past_memory_traps(isola, prog, addr):
    r, _ = run(isola, prog("wasm_memory"), "oob", addr)
    assert r.returncode == TRAP_STATUS, describe(r)
    assert r.stdout == "before\n", "the read returned data: %s" % describe(r)
    assert r.stderr.startswith("isola: wasm trap: out of bounds memory access"), describe(r)


def grow_module(*pages):
    """_start: memory.grow each of `pages` in turn; proc_exit(1 + index of the first grow that
    returned -1), or 0 when none did. Memory starts at 1 page."""
    code = b""
    for i, n in enumerate(pages):
        # if (memory.grow(n) == -1) proc_exit(i + 1)
        code += (i32_const(n) + b"\x40\x00" + i32_const(-1) + b"\x46" + b"\x04\x40" +
                 i32_const(i + 1) + call(0) + b"\x0b")
    code += i32_const(0) + call(0)
    return module(types=[([I32], []), ([], [])], imports=[("wasi_snapshot_preview1",
                                                          "proc_exit", 0)],
                  funcs=[(1, body(code))], memory=1)


@pytest.mark.parametrize("pages,cap,status", [
    ((65536,), None, 1),              # 1 + 65536 pages is past 4 GiB: refused, not wrapped
    ((-1,), None, 1),                 # 0xffffffff pages
    ((0x10000000,), None, 1),
    ((15, 1), 16, 2),                 # up to the cap works, one page more does not
    ((16,), 16, 1),
    ((7, 7, 1, 1), 16, 4),
])
def test_memory_grow_stops_at_the_cap(isola, tmp_path, pages, cap, status):
    args = ["--max-memory-pages", cap] if cap else []
    r, _ = run(isola, *args, write(tmp_path, "grow", grow_module(*pages)))
    assert (r.returncode, r.stderr) == (status, ""), describe(r)


def test_exhausting_memory_stops_at_the_cap_and_the_host_is_fine(isola, prog):
    cap_pages = 512  # 32 MiB
    r, rss_kib = run(isola, "--max-memory-pages", cap_pages, prog("wasm_memory"), "exhaust")
    assert r.returncode == 0, describe(r)
    mib = int(r.stdout.split()[1])
    assert 16 <= mib < 32, r.stdout  # malloc failed at the cap, after most of it was used
    # The interpreter's own peak: the capped linear memory plus the runtime, not the host's.
    assert rss_kib < 96 * 1024, f"peak RSS {rss_kib} KiB"


def test_default_cap_refuses_4g(isola, prog):
    """Without --max-memory-pages, growing past 4 GiB of linear memory is refused."""
    r, _ = run(isola, prog("wasm_memory"), "grow", 65536)
    assert (r.returncode, r.stdout) == (0, "grow=-1\n"), describe(r)


# ---------------------------------------------------------------------------------------------
# the stack

def recursion(nlocals=0, indirect=False):
    """_start calls f, which calls itself forever (through the table when `indirect`), with
    `nlocals` i64 locals in each frame (a large frame per call)."""
    if indirect:
        # f: call_indirect (type 0) of table entry 0 (f itself)
        code = i32_const(0) + b"\x11" + leb(0) + b"\x00"
    else:
        code = call(0)
    f = (0, body(code, [(nlocals, I64)] if nlocals else []))
    start = (0, body(call(0)))
    return module(types=[([], [])], funcs=[f, start], tables=indirect)


@pytest.mark.parametrize("nlocals,indirect", [(0, False), (4000, False), (0, True),
                                              (50000, False)])
def test_deep_recursion_is_a_trap_not_a_crash(isola, tmp_path, nlocals, indirect):
    r, _ = run(isola, write(tmp_path, "rec", recursion(nlocals, indirect)), timeout=60)
    assert r.returncode == TRAP_STATUS, describe(r)  # not -SIGSEGV: the host survived
    assert r.stderr.startswith("isola: wasm trap: call stack exhausted"), describe(r)


def test_operand_stack_depth(isola, tmp_path):
    """A function that pushes a great many values before using them: validated and run
    within bounds (or refused cleanly), never a host crash."""
    n = 100000
    code = i32_const(1) * n + b"\x6a" * (n - 1) + b"\x1a"  # 1+1+...+1, dropped
    m = module(types=[([], [])], funcs=[(0, body(code))])
    r, _ = run(isola, write(tmp_path, "deep", m))
    assert r.returncode in (0, 1, TRAP_STATUS), describe(r)
    assert r.returncode >= 0, "the host process died of a signal"
    if r.returncode:
        assert r.stderr.startswith("isola: ") and r.stderr.count("\n") == 1, describe(r)
