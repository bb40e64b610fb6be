"""linux.seccomp, observed from inside the container.

A static helper (/sc, built here) makes raw syscalls and prints one `name=ok` or `name=ERRNO`
line per call, so the tests see exactly what the filter answered, not what a shell made of it.
The notify tests play the listener: they receive the notify fd with the OCI seccomp state over
SCM_RIGHTS and answer the container's syscall with the seccomp ioctls.
"""
import array
import ctypes
import errno
import fcntl
import json
import os
import select
import socket
import struct
import subprocess
import threading

import pytest

import bundle as B
from bundle import describe, leftovers, one_line_error

HELPER_SRC = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *name(int e) {
  static char buf[16];
  switch (e) {
  case EPERM: return "EPERM";
  case ENOSYS: return "ENOSYS";
  case EXDEV: return "EXDEV";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case EACCES: return "EACCES";
  case EINVAL: return "EINVAL";
  case ENOSPC: return "ENOSPC";
  case EEXIST: return "EEXIST";
  }
  snprintf(buf, sizeof buf, "E%d", e);
  return buf;
}

static unsigned long num(const char *s) { return strtoul(s, NULL, 0); }

/* sc CALL [ARGS]... : each call is a raw syscall; the line says what the kernel answered. */
int main(int argc, char **argv) {
  for (int i = 1; i < argc;) {
    const char *c = argv[i++];
    long r;
    if (!strcmp(c, "personality")) r = syscall(SYS_personality, num(argv[i++]));
    else if (!strcmp(c, "umask")) r = syscall(SYS_umask, num(argv[i++]));
    else if (!strcmp(c, "socket")) {
      r = syscall(SYS_socket, num(argv[i]), num(argv[i + 1]), 0);
      i += 2;
      if (r >= 0) close((int)r);
    } else if (!strcmp(c, "clone")) {
      r = syscall(SYS_clone, num(argv[i++]) | SIGCHLD, 0, 0, 0, 0);
      if (r == 0) _exit(0);
      if (r > 0) waitpid((pid_t)r, NULL, 0);
    } else if (!strcmp(c, "clone3")) {
      struct clone_args ca = {.exit_signal = SIGCHLD};
      r = syscall(SYS_clone3, &ca, sizeof ca);
      if (r == 0) _exit(0);
      if (r > 0) waitpid((pid_t)r, NULL, 0);
    } else if (!strcmp(c, "keyctl")) r = syscall(SYS_keyctl, 0, -3, 0);
    else if (!strcmp(c, "mkdir")) r = syscall(SYS_mkdir, argv[i++], 0755);
    else if (!strcmp(c, "getppid")) r = syscall(SYS_getppid);
    else { fprintf(stderr, "sc: unknown call %s\n", c); return 2; }
    printf("%s=%s\n", c, r < 0 ? name(errno) : "ok");
  }
  return 0;
}
"""

# x86_64 numbers, for checking what a notification carries.
NR_MKDIR, NR_MKDIRAT = 83, 258

# SECCOMP_IOCTL_NOTIF_RECV / _SEND: _IOWR('!', 0, struct seccomp_notif) (80 bytes) and
# _IOWR('!', 1, struct seccomp_notif_resp) (24 bytes).
NOTIF_RECV, NOTIF_SEND = 0xC0502100, 0xC0182101


@pytest.fixture(scope="session")
def sc_helper(tmp_path_factory):
    d = tmp_path_factory.mktemp("sc")
    src, exe = d / "sc.c", d / "sc"
    src.write_text(HELPER_SRC)
    r = subprocess.run([os.environ.get("CC", "cc"), "-static", "-O2", "-Wall", "-o", str(exe),
                        str(src)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail("cannot build the syscall helper: %s" % r.stderr, pytrace=False)
    return str(exe)


@pytest.fixture
def sbundle(bundle, sc_helper):
    """The default bundle with /sc in its rootfs."""
    dest = os.path.join(bundle.rootfs, "sc")
    with open(sc_helper, "rb") as src, open(dest, "wb") as out:
        out.write(src.read())
    os.chmod(dest, 0o755)
    return bundle


def spec_profile(isola_bin, tmp_path):
    """linux.seccomp as `isola spec` writes it."""
    d = tmp_path / "spec"
    d.mkdir()
    r = subprocess.run([isola_bin, "spec", "--bundle", str(d)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cfg = json.loads((d / "config.json").read_text())
    assert "seccomp" in cfg["linux"], "isola spec wrote no seccomp profile"
    return cfg["linux"]["seccomp"]


def allow_all_but(*rules, **extra):
    p = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
         "syscalls": list(rules)}
    p.update(extra)
    return p


def rule(names, action, **kw):
    r = {"names": list(names), "action": action}
    r.update(kw)
    return r


def run_ok(isola, bundle, cid, *flags, **kw):
    r = isola.run(bundle, cid, *flags, stdin=subprocess.DEVNULL, **kw)
    assert r.returncode == 0, describe(r)
    assert leftovers(isola.root, cid, bundle) == []
    return r


def calls(isola, bundle, cid, *args, **kw):
    """Runs /sc ARGS; returns {call: result} (the last result when a call repeats)."""
    bundle.args("/sc", *map(str, args))
    out = run_ok(isola, bundle, cid, **kw).stdout
    return dict(line.split("=", 1) for line in out.split())


def status_field(text, field):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


def create_fails(isola, bundle, cid, *needles):
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0, describe(r)
    assert one_line_error(r), describe(r)
    for n in needles:
        assert n in r.stderr, describe(r)
    assert leftovers(isola.root, cid, bundle) == []
    return r


# ---------------------------------------------------------------------------------------------
# the default profile of `isola spec`

def test_spec_profile_shape(isola_bin, tmp_path):
    p = spec_profile(isola_bin, tmp_path)
    assert p["defaultAction"] == "SCMP_ACT_ERRNO" and p["defaultErrnoRet"] == errno.EPERM
    assert p["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    allowed = {n for r in p["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args")
               for n in r["names"]}
    for must in ("read", "write", "execve", "openat", "mmap", "exit_group", "wait4", "fork"):
        assert must in allowed
    for never in ("mount", "unshare", "setns", "keyctl", "ptrace", "reboot", "bpf",
                  "io_uring_setup", "clone", "clone3", "socket", "personality"):
        assert never not in allowed, "%s allowed without conditions" % never
    by_name = {}
    for r in p["syscalls"]:
        for n in r["names"]:
            by_name.setdefault(n, []).append(r)
    assert all(r["args"] for r in by_name["personality"])
    assert by_name["clone"][0]["args"][0]["op"] == "SCMP_CMP_MASKED_EQ"
    assert by_name["clone3"][0]["action"] == "SCMP_ACT_ERRNO"
    assert by_name["clone3"][0]["errnoRet"] == errno.ENOSYS


def test_spec_profile_runs_busybox(isola, sbundle, new_id, isola_bin, tmp_path):
    sbundle.linux["seccomp"] = spec_profile(isola_bin, tmp_path)
    sbundle.sh("ls / >/dev/null && cat /etc/passwd | head -n 1 && echo hi | wc -c && "
               "ps >/dev/null && date >/dev/null && mkdir /tmp/d && touch /tmp/d/f && "
               "rm -r /tmp/d && cat /proc/self/status")
    out = run_ok(isola, sbundle, new_id()).stdout
    assert out.startswith("root:x:0:0:root:/root:/bin/sh\n3\n"), out
    assert status_field(out, "Seccomp") == "2"
    assert status_field(out, "Seccomp_filters") == "1"


def test_spec_profile_denies_and_filters_arguments(isola, sbundle, new_id, isola_bin, tmp_path):
    sbundle.linux["seccomp"] = spec_profile(isola_bin, tmp_path)
    CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
    r = calls(isola, sbundle, new_id(),
              "personality", 0xffffffff, "personality", 0,
              "keyctl", "getppid", "clone3", "clone", 0)
    assert r == {"personality": "ok", "keyctl": "EPERM", "getppid": "ok", "clone3": "ENOSYS",
                 "clone": "ok"}
    r = calls(isola, sbundle, new_id(), "personality", 0x0040000, "clone", CLONE_NEWUSER)
    assert r == {"personality": "EPERM", "clone": "EPERM"}
    r = calls(isola, sbundle, new_id(), "clone", CLONE_NEWNS, "socket", 1, 1)
    assert r == {"clone": "EPERM", "socket": "ok"}
    r = calls(isola, sbundle, new_id(), "socket", 40, 1)  # AF_VSOCK
    assert r == {"socket": "EPERM"}


# ---------------------------------------------------------------------------------------------
# actions and errno values

def test_denied_syscall_returns_eperm_by_default(isola, sbundle, new_id):
    sbundle.linux["seccomp"] = allow_all_but(rule(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO"))
    assert calls(isola, sbundle, new_id(), "mkdir", "/tmp/x", "getppid") == \
        {"mkdir": "EPERM", "getppid": "ok"}
    sbundle.sh("mkdir /tmp/x; echo rc=$?")
    r = run_ok(isola, sbundle, new_id())
    assert "Operation not permitted" in r.stderr and "rc=1" in r.stdout, describe(r)


def test_errno_ret_per_syscall(isola, sbundle, new_id):
    sbundle.linux["seccomp"] = allow_all_but(
        rule(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO", errnoRet=errno.EXDEV),
        rule(["keyctl"], "SCMP_ACT_ERRNO", errnoRet=errno.ENOSPC))
    assert calls(isola, sbundle, new_id(), "mkdir", "/tmp/x", "keyctl") == \
        {"mkdir": "EXDEV", "keyctl": "ENOSPC"}


def test_default_errno_ret(isola, sbundle, new_id, isola_bin, tmp_path):
    """defaultErrnoRet answers what no rule allows; per-rule errnoRet stays per rule."""
    p = spec_profile(isola_bin, tmp_path)
    for r in p["syscalls"]:
        r["names"] = [n for n in r["names"] if n not in ("mkdir", "mkdirat")] or ["getppid"]
    p["defaultErrnoRet"] = errno.EOPNOTSUPP
    sbundle.linux["seccomp"] = p
    assert calls(isola, sbundle, new_id(), "mkdir", "/tmp/x", "clone3", "keyctl") == \
        {"mkdir": "EOPNOTSUPP", "clone3": "ENOSYS", "keyctl": "EOPNOTSUPP"}


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                                    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"])
def test_kill_actions_end_the_process_with_sigsys(isola, sbundle, new_id, action):
    sbundle.linux["seccomp"] = allow_all_but(rule(["mkdir", "mkdirat"], action))
    sbundle.args("/sc", "getppid", "mkdir", "/tmp/x", "getppid")
    cid = new_id()
    r = isola.run(sbundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 128 + 31, describe(r)  # SIGSYS
    assert r.stdout in ("", "getppid=ok\n"), describe(r)  # stdout may be lost with the process
    assert leftovers(isola.root, cid, sbundle) == []


def test_log_action_allows(isola, sbundle, new_id):
    sbundle.linux["seccomp"] = allow_all_but(rule(["mkdir", "mkdirat"], "SCMP_ACT_LOG"))
    assert calls(isola, sbundle, new_id(), "mkdir", "/tmp/x") == {"mkdir": "ok"}


def test_trace_action_without_tracer_is_enosys(isola, sbundle, new_id):
    sbundle.linux["seccomp"] = allow_all_but(rule(["mkdir", "mkdirat"], "SCMP_ACT_TRACE"))
    assert calls(isola, sbundle, new_id(), "mkdir", "/tmp/x") == {"mkdir": "ENOSYS"}


# ---------------------------------------------------------------------------------------------
# argument conditions

@pytest.mark.parametrize("op,value,denied", [
    ("SCMP_CMP_EQ", 0o22, {0o22}),
    ("SCMP_CMP_NE", 0o22, {0o0, 0o7, 0o21, 0o23, 0o77}),
    ("SCMP_CMP_LT", 0o22, {0o0, 0o7, 0o21}),
    ("SCMP_CMP_LE", 0o22, {0o0, 0o7, 0o21, 0o22}),
    ("SCMP_CMP_GT", 0o22, {0o23, 0o77}),
    ("SCMP_CMP_GE", 0o22, {0o22, 0o23, 0o77}),
])
def test_argument_operators(isola, sbundle, new_id, op, value, denied):
    values = [0o0, 0o7, 0o21, 0o22, 0o23, 0o77]
    sbundle.linux["seccomp"] = allow_all_but(rule(
        ["umask"], "SCMP_ACT_ERRNO", errnoRet=errno.EXDEV,
        args=[{"index": 0, "value": value, "op": op}]))
    args = []
    for v in values:
        args += ["umask", v]
    sbundle.args("/sc", *map(str, args))
    out = run_ok(isola, sbundle, new_id()).stdout.split()
    got = {v for v, line in zip(values, out) if line == "umask=EXDEV"}
    assert got == denied, out
    assert all(line in ("umask=ok", "umask=EXDEV") for line in out), out


def test_masked_equal(isola, sbundle, new_id):
    """socket() is denied when its type has SOCK_NONBLOCK set, whatever else it has."""
    SOCK_NONBLOCK = 0o4000
    sbundle.linux["seccomp"] = allow_all_but(rule(
        ["socket"], "SCMP_ACT_ERRNO",
        args=[{"index": 1, "value": SOCK_NONBLOCK, "valueTwo": SOCK_NONBLOCK,
               "op": "SCMP_CMP_MASKED_EQ"}]))
    sbundle.args("/sc", *map(str, ["socket", 1, 1, "socket", 1, 1 | SOCK_NONBLOCK,
                                   "socket", 1, 2, "socket", 1, 2 | SOCK_NONBLOCK]))
    out = run_ok(isola, sbundle, new_id()).stdout.split()
    assert out == ["socket=ok", "socket=EPERM", "socket=ok", "socket=EPERM"]


def test_conditions_on_two_arguments_must_all_hold(isola, sbundle, new_id):
    AF_UNIX, AF_INET, STREAM, DGRAM = 1, 2, 1, 2
    sbundle.linux["seccomp"] = allow_all_but(rule(
        ["socket"], "SCMP_ACT_ERRNO",
        args=[{"index": 0, "value": AF_INET, "op": "SCMP_CMP_EQ"},
              {"index": 1, "value": DGRAM, "op": "SCMP_CMP_EQ"}]))
    sbundle.args("/sc", *map(str, ["socket", AF_INET, STREAM, "socket", AF_INET, DGRAM,
                                   "socket", AF_UNIX, DGRAM, "socket", AF_UNIX, STREAM]))
    out = run_ok(isola, sbundle, new_id()).stdout.split()
    assert out == ["socket=ok", "socket=EPERM", "socket=ok", "socket=ok"]


def test_conditions_on_one_argument_are_alternatives(isola, sbundle, new_id):
    """As runc: libseccomp cannot AND two conditions on one argument, each becomes a rule."""
    sbundle.linux["seccomp"] = allow_all_but(rule(
        ["umask"], "SCMP_ACT_ERRNO",
        args=[{"index": 0, "value": 0o1, "op": "SCMP_CMP_EQ"},
              {"index": 0, "value": 0o2, "op": "SCMP_CMP_EQ"}]))
    sbundle.args("/sc", "umask", "1", "umask", "2", "umask", "3")
    out = run_ok(isola, sbundle, new_id()).stdout.split()
    assert out == ["umask=EPERM", "umask=EPERM", "umask=ok"]


# ---------------------------------------------------------------------------------------------
# flags, architectures, unknown names, load order

@pytest.mark.parametrize("flags", [["SECCOMP_FILTER_FLAG_LOG"],
                                   ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                                   ["SECCOMP_FILTER_FLAG_TSYNC"],
                                   ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC",
                                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]])
def test_flags(isola, sbundle, new_id, flags):
    sbundle.linux["seccomp"] = allow_all_but(rule(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO"),
                                             flags=flags)
    sbundle.sh("/sc mkdir /tmp/x; cat /proc/self/status")
    cid = new_id()
    r = run_ok(isola, sbundle, cid, global_args=("--debug",))
    assert "mkdir=EPERM" in r.stdout
    assert status_field(r.stdout, "Seccomp") == "2"
    want = 0
    for f in flags:
        want |= {"SECCOMP_FILTER_FLAG_TSYNC": 1, "SECCOMP_FILTER_FLAG_LOG": 2,
                 "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4}[f]
    assert "flags 0x%x" % want in r.stderr, describe(r)
    if flags == ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]:
        # Without the flag a filter forces the SSB mitigation on (where the CPU has one).
        ssb = status_field(r.stdout, "Speculation_Store_Bypass")
        assert ssb is None or "force" not in ssb, ssb


def test_wait_killable_recv_needs_a_listener(isola, sbundle, new_id):
    sbundle.linux["seccomp"] = allow_all_but(flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])
    create_fails(isola, sbundle, new_id(), "WAIT_KILLABLE_RECV", "listenerPath")


def test_unknown_syscall_names_are_skipped_with_a_debug_note(isola, sbundle, new_id):
    sbundle.linux["seccomp"] = allow_all_but(
        rule(["no_such_syscall_1", "mkdir", "mkdirat", "no_such_syscall_2"], "SCMP_ACT_ERRNO"))
    sbundle.args("/sc", "mkdir", "/tmp/x")
    r = run_ok(isola, sbundle, new_id(), global_args=("--debug",))
    assert r.stdout == "mkdir=EPERM\n"
    notes = [l for l in r.stderr.splitlines() if "unknown to libseccomp" in l]
    assert len(notes) == 1 and "no_such_syscall_1, no_such_syscall_2" in notes[0], describe(r)
    assert "debug" in notes[0]
    # Without --debug the runtime says nothing.
    r = run_ok(isola, sbundle, new_id())
    assert r.stderr == "" and r.stdout == "mkdir=EPERM\n", describe(r)


def test_debug_note_goes_to_the_log_file(isola, sbundle, new_id, tmp_path):
    sbundle.linux["seccomp"] = allow_all_but(rule(["no_such_syscall"], "SCMP_ACT_ERRNO"))
    sbundle.args("true")
    log = tmp_path / "log.json"
    r = run_ok(isola, sbundle, new_id(),
               global_args=("--debug", "--log", str(log), "--log-format", "json"))
    lines = [json.loads(l) for l in log.read_text().splitlines()]
    assert any(l["level"] == "debug" and "no_such_syscall" in l["msg"] for l in lines), lines


def test_architectures(isola, sbundle, new_id):
    sbundle.linux["seccomp"] = allow_all_but(
        rule(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO"),
        architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"])
    assert calls(isola, sbundle, new_id(), "mkdir", "/tmp/x") == {"mkdir": "EPERM"}


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges_is_left_as_configured(isola, sbundle, new_id, nnp):
    """Without noNewPrivileges the filter loads while the process still has CAP_SYS_ADMIN,
    and the runtime does not set no_new_privs behind the config's back."""
    sbundle.process["noNewPrivileges"] = nnp
    sbundle.linux["seccomp"] = allow_all_but(rule(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO"))
    sbundle.sh("/sc mkdir /tmp/x; cat /proc/self/status")
    out = run_ok(isola, sbundle, new_id()).stdout
    assert "mkdir=EPERM" in out
    assert status_field(out, "NoNewPrivs") == ("1" if nnp else "0")
    assert status_field(out, "Seccomp") == "2"


# ---------------------------------------------------------------------------------------------
# the compiled-filter cache

def test_cache_is_used_and_checked(isola, sbundle, new_id):
    sbundle.linux["seccomp"] = allow_all_but(rule(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO"))
    sbundle.args("/sc", "mkdir", "/tmp/x")
    r = run_ok(isola, sbundle, new_id(), global_args=("--debug",))
    assert "(compiled)" in r.stderr and r.stdout == "mkdir=EPERM\n", describe(r)
    cache = os.path.join(isola.root, ".seccomp")
    files = os.listdir(cache)
    assert len(files) == 1 and os.stat(cache).st_mode & 0o777 == 0o700
    r = run_ok(isola, sbundle, new_id(), global_args=("--debug",))
    assert "(cached)" in r.stderr and r.stdout == "mkdir=EPERM\n", describe(r)
    # Another profile gets its own entry.
    sbundle.linux["seccomp"]["syscalls"][0]["errnoRet"] = errno.EXDEV
    r = run_ok(isola, sbundle, new_id(), global_args=("--debug",))
    assert "(compiled)" in r.stderr and r.stdout == "mkdir=EXDEV\n", describe(r)
    assert len(os.listdir(cache)) == 2
    # A damaged entry is not trusted: the profile is compiled again.
    for name in os.listdir(cache):
        path = os.path.join(cache, name)
        data = bytearray(open(path, "rb").read())
        data[-3] ^= 0xff
        data[30] ^= 0xff  # inside the key text
        open(path, "wb").write(bytes(data))
    r = run_ok(isola, sbundle, new_id(), global_args=("--debug",))
    assert "(compiled)" in r.stderr and r.stdout == "mkdir=EXDEV\n", describe(r)
    # A cache directory others may write is ignored.
    os.chmod(cache, 0o777)
    try:
        r = run_ok(isola, sbundle, new_id(), global_args=("--debug",))
        assert "(compiled)" in r.stderr and r.stdout == "mkdir=EXDEV\n", describe(r)
    finally:
        os.chmod(cache, 0o700)


# ---------------------------------------------------------------------------------------------
# bad profiles: one clear line, nothing left

@pytest.mark.parametrize("mutate,needles", [
    (lambda p: p.update(defaultAction="SCMP_ACT_NOPE"), ["defaultAction", "SCMP_ACT_NOPE"]),
    (lambda p: p.update(defaultAction="SCMP_ACT_NOTIFY", listenerPath="/x"),
     ["defaultAction", "SCMP_ACT_NOTIFY"]),
    (lambda p: p["syscalls"].append(rule(["mkdir"], "SCMP_ACT_BOGUS")),
     ["syscalls[1].action", "SCMP_ACT_BOGUS"]),
    (lambda p: p["syscalls"].append(rule(["mkdir"], "SCMP_ACT_ALLOW", errnoRet=1)),
     ["syscalls[1].action", "errnoRet"]),
    (lambda p: p["syscalls"].append(rule(["mkdir"], "SCMP_ACT_ERRNO", errnoRet=70000)),
     ["syscalls[1].action", "errnoRet"]),
    (lambda p: p["syscalls"].append(rule(["mkdir"], "SCMP_ACT_ERRNO", args=[
        {"index": 0, "value": 1, "op": "SCMP_CMP_SOMETIMES"}])), ["args[0].op"]),
    (lambda p: p["syscalls"].append(rule(["mkdir"], "SCMP_ACT_ERRNO", args=[
        {"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}])), ["args[0].index"]),
    (lambda p: p["syscalls"].append(rule(["mkdir"], "SCMP_ACT_ERRNO", args=[
        {"index": 0, "op": "SCMP_CMP_EQ"}])), ["args[0].value"]),
    (lambda p: p["syscalls"].append(rule([], "SCMP_ACT_ERRNO")), ["syscalls[1].names"]),
    (lambda p: p["syscalls"].append(rule([7], "SCMP_ACT_ERRNO")), ["syscalls[1].names[0]"]),
    (lambda p: p["syscalls"].append(rule(["mkdir"], "SCMP_ACT_NOTIFY")),
     ["SCMP_ACT_NOTIFY", "listenerPath"]),
    (lambda p: p.update(architectures=["SCMP_ARCH_VAX"]), ["architectures[0]", "SCMP_ARCH_VAX"]),
    (lambda p: p.update(flags=["SECCOMP_FILTER_FLAG_SOMETHING"]),
     ["flags[0]", "SECCOMP_FILTER_FLAG_SOMETHING"]),
    (lambda p: p.update(listenerPath="/nonexistent/isola-listener.sock"),
     ["listenerPath", "/nonexistent/isola-listener.sock", "No such file"]),
])
def test_bad_profiles_fail_create_clearly(isola, sbundle, new_id, mutate, needles):
    p = allow_all_but(rule(["mkdirat"], "SCMP_ACT_ERRNO"))
    mutate(p)
    sbundle.linux["seccomp"] = p
    sbundle.args("true")
    create_fails(isola, sbundle, new_id(), "linux.seccomp", *needles)


def test_notify_on_sendmsg_is_refused(isola, sbundle, new_id, short_tmp):
    srv, path = listener_socket(short_tmp)
    with srv:
        sbundle.linux["seccomp"] = allow_all_but(rule(["sendmsg"], "SCMP_ACT_NOTIFY"),
                                                 listenerPath=path)
        sbundle.args("true")
        create_fails(isola, sbundle, new_id(), "sendmsg")


# ---------------------------------------------------------------------------------------------
# SCMP_ACT_NOTIFY: the listener gets the fd and the state, and answers

def listener_socket(d):
    path = os.path.join(d, "listener.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    srv.settimeout(20)
    return srv, path


class Listener(threading.Thread):
    """Accepts one connection, takes the seccomp state and the notify fd, then answers each
    notification with `error` (a positive errno; 0 lets the call return `val`)."""

    def __init__(self, srv, error=errno.EXDEV, answers=1):
        super().__init__(daemon=True)
        self.srv, self.error, self.answers = srv, error, answers
        self.state, self.fd_link, self.notes, self.exc = None, None, [], None

    def run(self):
        try:
            conn, _ = self.srv.accept()
            with conn:
                conn.settimeout(20)
                data, fds, _, _ = socket.recv_fds(conn, 65536, 4)
                while True:  # a stream: the state may come in more than one piece
                    try:
                        self.state = json.loads(data)
                        break
                    except ValueError:
                        more = conn.recv(65536)
                        if not more:
                            raise
                        data += more
                assert len(fds) == 1, fds
                fd = fds[0]
                self.fd_link = os.readlink("/proc/self/fd/%d" % fd)
                try:
                    for _ in range(self.answers):
                        self.answer(fd)
                finally:
                    os.close(fd)
        except Exception as e:  # reported by the test
            self.exc = e

    def answer(self, fd):
        if not select.select([fd], [], [], 20)[0]:
            raise TimeoutError("no notification")
        req = bytearray(80)
        fcntl.ioctl(fd, NOTIF_RECV, req, True)
        nid, pid, _flags, nr = struct.unpack_from("=QIIi", req, 0)
        self.notes.append({"pid": pid, "nr": nr})
        resp = struct.pack("=QqiI", nid, 0, -self.error, 0)
        fcntl.ioctl(fd, NOTIF_SEND, bytearray(resp), True)


@pytest.mark.parametrize("nnp", [True, False])
def test_notify_delivers_fd_and_state_and_listener_answers(isola, sbundle, new_id, short_tmp,
                                                            nnp):
    srv, path = listener_socket(short_tmp)
    with srv:
        lst = Listener(srv)
        lst.start()
        sbundle.process["noNewPrivileges"] = nnp
        sbundle.linux["seccomp"] = allow_all_but(
            rule(["mkdir", "mkdirat"], "SCMP_ACT_NOTIFY"),
            listenerPath=path, listenerMetadata="answer=EXDEV;who=test")
        sbundle.args("/sc", "getppid", "mkdir", "/tmp/x")
        cid = new_id()
        r = isola.detached("run", sbundle, cid)
        assert r.returncode == 0, describe(r)
        lst.join(25)
        assert not lst.is_alive(), "the listener got nothing"
        assert lst.exc is None, repr(lst.exc)
        assert B.wait_file(r.out, contains="mkdir=") == "getppid=ok\nmkdir=EXDEV\n"
        st = lst.state
        assert st["ociVersion"].startswith("1.") and st["fds"] == ["seccompFd"]
        assert st["metadata"] == "answer=EXDEV;who=test"
        assert st["state"]["id"] == cid and st["state"]["bundle"] == sbundle.path
        assert st["state"]["status"] == ("created" if nnp else "creating")
        assert st["pid"] > 0 and st["state"]["pid"] == st["pid"]
        assert lst.fd_link == "anon_inode:seccomp notify"
        assert len(lst.notes) == 1 and lst.notes[0]["nr"] in (NR_MKDIR, NR_MKDIRAT)
        assert isola.wait_status(cid, "stopped")["status"] == "stopped"
        assert isola("delete", cid).returncode == 0
        assert leftovers(isola.root, cid, sbundle) == []


def test_notify_with_wait_killable_recv(isola, sbundle, new_id, short_tmp):
    srv, path = listener_socket(short_tmp)
    with srv:
        lst = Listener(srv, error=errno.ENOSPC)
        lst.start()
        sbundle.linux["seccomp"] = allow_all_but(
            rule(["mkdir", "mkdirat"], "SCMP_ACT_NOTIFY"), listenerPath=path,
            flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"])
        sbundle.args("/sc", "mkdir", "/tmp/x")
        r = run_ok(isola, sbundle, new_id(), global_args=("--debug",))
        lst.join(25)
        assert lst.exc is None, repr(lst.exc)
        assert r.stdout == "mkdir=ENOSPC\n", describe(r)
        # NEW_LISTENER (8), TSYNC_ESRCH (16) with TSYNC (1), WAIT_KILLABLE_RECV (32).
        assert "flags 0x39" in r.stderr, describe(r)


def test_notify_listener_gone_before_start(isola, sbundle, new_id, short_tmp):
    """The runtime connected at create; a listener that closed by the time the filter loads
    makes `start` fail clearly, and nothing is left after delete."""
    srv, path = listener_socket(short_tmp)
    sbundle.linux["seccomp"] = allow_all_but(rule(["mkdirat"], "SCMP_ACT_NOTIFY"),
                                             listenerPath=path)
    sbundle.args("true")
    cid = new_id()
    r = isola.detached("create", sbundle, cid)
    assert r.returncode == 0, describe(r)
    conn, _ = srv.accept()
    conn.close()
    srv.close()
    r = isola("start", cid)
    # Sending on a connection the peer closed: EPIPE (or ECONNRESET).
    assert r.returncode != 0 and one_line_error(r), describe(r)
    assert "listenerPath" in r.stderr, describe(r)
    isola("delete", "--force", cid)
    assert leftovers(isola.root, cid, sbundle) == []


# ---------------------------------------------------------------------------------------------
# exec: the container's filter applies to every process started in it

def test_exec_gets_the_containers_filter(isola, sbundle, new_id):
    sbundle.linux["seccomp"] = allow_all_but(
        rule(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO", errnoRet=errno.EXDEV))
    sbundle.args("sleep", "1000")
    cid = new_id()
    assert isola.detached("run", sbundle, cid).returncode == 0
    r = isola("exec", cid, "/sc", "mkdir", "/tmp/x", "getppid", cid=cid)
    assert r.returncode == 0 and r.stdout == "mkdir=EXDEV\ngetppid=ok\n", describe(r)
    r = isola("exec", cid, "sh", "-c", "grep Seccomp: /proc/self/status", cid=cid)
    assert r.stdout.split() == ["Seccomp:", "2"], describe(r)
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, sbundle) == []


def test_exec_notify_reaches_the_listener(isola, sbundle, new_id, short_tmp):
    srv, path = listener_socket(short_tmp)
    with srv:
        sbundle.linux["seccomp"] = allow_all_but(
            rule(["mkdir", "mkdirat"], "SCMP_ACT_NOTIFY"), listenerPath=path)
        sbundle.args("sleep", "1000")
        cid = new_id()
        first = Listener(srv, answers=0)  # the container's own process: no notification
        first.start()
        assert isola.detached("run", sbundle, cid).returncode == 0
        first.join(25)
        assert first.exc is None and first.state["state"]["id"] == cid, repr(first.exc)
        lst = Listener(srv, error=errno.ENOSPC)
        lst.start()
        r = isola("exec", cid, "/sc", "mkdir", "/tmp/x", cid=cid)
        lst.join(25)
        assert lst.exc is None, repr(lst.exc)
        assert r.returncode == 0 and r.stdout == "mkdir=ENOSPC\n", describe(r)
        assert lst.state["state"]["id"] == cid and lst.state["state"]["status"] == "running"
        assert lst.fd_link == "anon_inode:seccomp notify"
        assert isola("delete", "--force", cid).returncode == 0
        assert leftovers(isola.root, cid, sbundle) == []
