"""Compiling C test programs to wasm32-wasi (and natively) for the integration tests.

Debian's wasi-libc puts its headers in /usr/include/wasm32-wasi and its libraries in
/usr/lib/wasm32-wasi; there is no /usr/share/wasi-sysroot. A sysroot directory holding just those
two as symlinks keeps the host's own headers out of the build. libclang-rt-14-dev-wasm32 provides
the compiler builtins the link needs.

    from wasmtools import compile_wasm, toolchain_problem
    reason = toolchain_problem()          # None when clang can build wasm32-wasi programs
    wasm = compile_wasm("tests/integration/wasm/hello.c", tmpdir / "hello.wasm")
"""

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

WASI_INCLUDE = Path("/usr/include/wasm32-wasi")
WASI_LIB = Path("/usr/lib/wasm32-wasi")
WASM_CFLAGS = ["-O2", "-Wall", "-Wextra", "-Werror"]
# Keep the "name" section (trap messages name functions) but drop wasi-libc's DWARF.
WASM_LDFLAGS = ["-Wl,--strip-debug"]


def clang() -> str | None:
    """The clang to use: $CLANG, else clang, else clang-14."""
    for name in (os.environ.get("CLANG"), "clang", "clang-14"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@functools.cache
def sysroot() -> Path:
    """A temporary sysroot of symlinks to Debian's wasi-libc (removed at interpreter exit)."""
    root = Path(tempfile.mkdtemp(prefix="isola-wasi-sysroot-"))
    (root / "include").mkdir()
    (root / "lib").mkdir()
    (root / "include" / "wasm32-wasi").symlink_to(WASI_INCLUDE)
    (root / "lib" / "wasm32-wasi").symlink_to(WASI_LIB)
    atexit.register(shutil.rmtree, root, True)
    return root


@functools.cache
def toolchain_problem() -> str | None:
    """Why C cannot be compiled to wasm32-wasi here, or None when it can."""
    cc = clang()
    if not cc:
        return "clang not found (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)"
    if not (WASI_INCLUDE / "stdio.h").exists() or not (WASI_LIB / "libc.a").exists():
        return f"wasi-libc not found in {WASI_INCLUDE} and {WASI_LIB} (apt-get install wasi-libc)"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text('#include <stdio.h>\nint main(void) { puts("probe"); return 0; }\n')
        r = subprocess.run(
            [cc, "--target=wasm32-wasi", f"--sysroot={sysroot()}", "-O2", str(src), "-o",
             str(Path(tmp) / "probe.wasm")],
            capture_output=True, text=True)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["no output"])[-1]
            return (f"clang cannot target wasm32-wasi ({last}); "
                    "apt-get install lld wasi-libc libclang-rt-14-dev-wasm32")
    return None


def compile_wasm(src, out, cflags=(), opt=None) -> Path:
    """Compiles one C file to a wasm32-wasi command module; raises with clang's output."""
    flags = list(WASM_CFLAGS)
    if opt:
        flags = [opt if f.startswith("-O") else f for f in flags]
    cmd = [clang(), "--target=wasm32-wasi", f"--sysroot={sysroot()}", *flags, *cflags,
           *WASM_LDFLAGS, str(src), "-o", str(out)]
    _run(cmd)
    return Path(out)


def compile_native(src, out, cflags=(), opt="-O2") -> Path:
    """The same program built for the host, for comparisons."""
    cc = clang() or shutil.which("cc")
    _run([cc, opt, "-Wall", "-Wextra", "-Werror", *cflags, str(src), "-o", str(out), "-lm"])
    return Path(out)


def _run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"compile failed: {' '.join(cmd)}\n{r.stderr}")


# ---- hand-made modules, for what C cannot express (odd imports, broken binaries) ----------

WASM_HEADER = b"\0asm\x01\0\0\0"
I32, I64 = 0x7F, 0x7E


def leb(n: int) -> bytes:
    """Unsigned LEB128."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def vec(items) -> bytes:
    items = list(items)
    return leb(len(items)) + b"".join(items)


def name(s: str) -> bytes:
    return vec(bytes([b]) for b in s.encode())


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + leb(len(payload)) + payload


def module(types=(), imports=(), funcs=(), exports=(), memory=None) -> bytes:
    """A module from parts. types: [(params, results)] of valtype bytes; imports: [(module,
    name, typeidx)] (functions only); funcs: [(typeidx, body bytes without the final `end`)];
    exports: [(name, funcidx)]; memory: min pages, exported as "memory"."""
    out = WASM_HEADER
    if types:
        out += section(1, vec(b"\x60" + vec(bytes([p]) for p in ps) + vec(bytes([r]) for r in rs)
                              for ps, rs in types))
    if imports:
        out += section(2, vec(name(m) + name(n) + b"\x00" + leb(t) for m, n, t in imports))
    if funcs:
        out += section(3, vec(leb(t) for t, _ in funcs))
    if memory is not None:
        out += section(5, vec([b"\x00" + leb(memory)]))
    exps = [name(n) + b"\x00" + leb(i) for n, i in exports]
    if memory is not None:
        exps.append(name("memory") + b"\x02" + leb(0))
    if exps:
        out += section(7, vec(exps))
    if funcs:
        # Each body: its size, no locals (a zero-length vector), the code, `end`.
        bodies = (b"\x00" + body + b"\x0b" for _, body in funcs)
        out += section(10, vec(leb(len(b)) + b for b in bodies))
    return out


def call(funcidx: int) -> bytes:
    return b"\x10" + leb(funcidx)


def i32_const(v: int) -> bytes:
    """i32.const with a signed LEB128 immediate."""
    out = bytearray()
    while True:
        byte, v = v & 0x7F, v >> 7
        done = (v == 0 and not byte & 0x40) or (v == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return b"\x41" + bytes(out)
