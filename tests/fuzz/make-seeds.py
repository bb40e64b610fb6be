#!/usr/bin/env python3
"""Writes the hand-made seeds of the fuzz corpora: tests/fuzz/corpus/<target>/seed-*.

Seeds are starting points, chosen to reach every part of each parser; the fuzzer takes it from
there. Regression inputs (regress-*, one per bug a fuzzer found) are never touched here.
Run from anywhere: tests/fuzz/make-seeds.py [--wasm-spec DIR]. The wasm seeds are copied from
the spec test suite's compiled modules (default /work/shared/wasm-spec/json).
The binary formats written here (fuzz_wasi, fuzz_vm_proto) are described in those targets.
"""
import argparse
import copy
import glob
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def clear(target):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for f in glob.glob(os.path.join(d, "seed-*")):
        os.remove(f)
    return d


def write(d, name, data):
    if isinstance(data, (dict, list)):
        data = json.dumps(data, indent=1)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- fuzz_config ------------------------------------------------------------------------------

CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]

BASE = {
    "ociVersion": "1.0.2",
    "process": {
        "terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["sh"],
        "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"], "cwd": "/",
        "capabilities": {k: CAPS for k in ("bounding", "effective", "permitted")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "isola",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
    ],
    "linux": {
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
        "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/sys", "/proc/sysrq-trigger"],
    },
}


def with_(path, value, base=BASE):
    c = copy.deepcopy(base)
    keys = path.split(".")
    o = c
    for k in keys[:-1]:
        o = o.setdefault(k, {})
    if value is None:
        o.pop(keys[-1], None)
    else:
        o[keys[-1]] = value
    return c


def config_seeds(seccomp_profile):
    d = clear("fuzz_config")
    write(d, "base.json", BASE)
    write(d, "minimal.json", {"ociVersion": "1.1.0", "root": {"path": "/"}})
    hook = {"path": "/usr/bin/true", "args": ["true", "x"], "env": ["A=1"], "timeout": 5}
    write(d, "hooks.json", with_("hooks", {k: [hook, {"path": "/bin/h"}] for k in (
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart",
        "poststop")}))
    write(d, "userns.json", with_("linux", dict(BASE["linux"], namespaces=[
        {"type": "user"}, {"type": "pid"}, {"type": "mount"}, {"type": "cgroup"},
        {"type": "time"}, {"type": "network", "path": "/proc/1/ns/net"}],
        uidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}],
        gidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536},
                     {"containerID": 70000, "hostID": 1, "size": 1}],
        timeOffsets={"monotonic": {"secs": 3600, "nanosecs": 5}, "boottime": {"secs": -7}})))
    write(d, "devices.json", with_("linux.devices", [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438,
         "uid": 0, "gid": 0},
        {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0},
        {"path": "/dev/p", "type": "p"}, {"path": "/dev/u", "type": "u", "major": 1,
                                            "minor": 3}]))
    write(d, "resources.json", with_("linux.resources", {
        "memory": {"limit": 536870912, "reservation": 1, "swap": -1, "disableOOMKiller": True},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
        "pids": {"limit": 64}, "blockIO": {"weight": 500},
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
        "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
        "unified": {"memory.high": "max"}}))
    write(d, "seccomp.json", with_("linux.seccomp", seccomp_profile))
    write(d, "sysctl.json", with_("linux.sysctl", {"net.ipv4.ip_forward": "1",
                                                   "kernel.shmmax": "4096"}))
    write(d, "personality.json", with_("linux.personality", {"domain": "LINUX32",
                                                              "flags": []}))
    write(d, "misc-linux.json", with_("linux", dict(
        BASE["linux"], cgroupsPath="/isola/web", rootfsPropagation="rslave",
        mountLabel="system_u:object_r:svirt_sandbox_file_t:s0:c1,c2",
        intelRdt={"closID": "x"})))
    p = copy.deepcopy(BASE["process"])
    p.update(terminal=True, consoleSize={"height": 25, "width": 80},
             user={"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 10, 4294967294]},
             capabilities={k: CAPS + ["CAP_SYS_ADMIN", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"]
                           for k in ("bounding", "effective", "inheritable", "permitted",
                                     "ambient")},
             rlimits=[{"type": "RLIMIT_" + r, "hard": 2 ** 63, "soft": 10} for r in (
                 "NOFILE", "NPROC", "CORE", "AS", "STACK", "MEMLOCK", "RTTIME")],
             oomScoreAdj=-1000, apparmorProfile="isola-default",
             selinuxLabel="system_u:system_r:container_t:s0", cwd="/home/user",
             env=["A=", "B==", "LONG=" + "x" * 300])
    write(d, "process-full.json", with_("process", p))
    write(d, "annotations.json", with_("annotations", {
        "io.isola.isolation": "wasm", "run.oci.handler": "krun",
        "module.wasm.image/variant": "compat-smart",
        "io.kubernetes.cri.container-type": "sandbox",
        "io.kubernetes.cri.sandbox-namespace": "default"}))
    mounts = copy.deepcopy(BASE["mounts"]) + [
        {"destination": "/data", "source": "/srv/data", "options": ["rbind", "ro", "rprivate"]},
        {"destination": "/x", "type": "bind", "source": "/x",
         "options": ["bind", "idmap", "nosymfollow", "rro", "recursive", "atime"]},
        {"destination": "rel/path", "type": "tmpfs"},
        {"destination": "/ovl", "type": "overlay", "source": "overlay",
         "options": ["lowerdir=/a:/b", "upperdir=/u", "workdir=/w"]}]
    write(d, "mounts.json", with_("mounts", mounts))
    write(d, "domainname.json", with_("domainname", "example.org"))
    write(d, "no-process.json", with_("process", None))
    write(d, "vm-annotations.json", with_("annotations", {"io.isola.isolation": "vm",
                                                          "io.isola.vm.memory": "512"}))
    # Bad documents: each fails at a different JSON path.
    write(d, "bad-args-type.json", with_("process.args", 1))
    write(d, "bad-args-elem.json", with_("process.args", ["sh", 2]))
    write(d, "bad-version.json", with_("ociVersion", "2.0.0"))
    write(d, "bad-no-version.json", with_("ociVersion", None))
    write(d, "bad-env.json", with_("process.env", ["NOEQUALS"]))
    write(d, "bad-cwd.json", with_("process.cwd", "relative"))
    write(d, "bad-uid.json", with_("process.user", {"uid": -1, "gid": 4294967296}))
    write(d, "bad-rlimit.json", with_("process.rlimits", [
        {"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2},
        {"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1}, {"type": "RLIMIT_BOGUS"}]))
    write(d, "bad-cap.json", with_("process.capabilities", {"bounding": ["CAP_NOPE"]}))
    write(d, "bad-ns.json", with_("linux.namespaces", [{"type": "pid"}, {"type": "pid"},
                                                       {"type": "nope"}]))
    write(d, "bad-idmap.json", with_("linux.uidMappings", [{"containerID": 0}]))
    write(d, "bad-device.json", with_("linux.devices", [{"path": "dev/x", "type": "z"}]))
    write(d, "bad-mount.json", with_("mounts", [{"type": "tmpfs"}, "string"]))
    write(d, "bad-hook.json", with_("hooks", {"prestart": [{"path": 7}], "bogus": []}))
    write(d, "top-array.json", [BASE])
    write(d, "deep.json", "[" * 200 + "]" * 200)
    write(d, "unicode.json", with_("hostname", "h\u00f6st\u4e2d\U0001f600"))


# ---- fuzz_json --------------------------------------------------------------------------------

def json_seeds():
    """Bytes for json_parse against jansson: every escape, surrogate pairs and lone halves,
    UTF-8 of every length and the invalid kinds, numbers at the integer and double limits,
    nesting at the depth limit, duplicate keys, and the whitespace and trailing-input cases."""
    d = clear("fuzz_json")
    write(d, "base.json", BASE)
    write(d, "compact.json", json.dumps(BASE, separators=(",", ":")))
    write(d, "escapes.json", r'["\"\\\/\b\f\n\r\t", "\u0041\u00e9\u20ac\ud83d\ude00", {"\u006b": 1}]')
    write(d, "surrogates.json", r'["\ud800", "\udc00", "\ud800\u0041", "\uDBFF\uDFFF"]')
    write(d, "nul.json", r'["\u0000", {"a\u0000": 1}]')
    write(d, "utf8.json", b'["\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"]')
    write(d, "numbers.json", "[0, -0, 1.5, -2.5e-3, 1E400, 1e-400, 9223372036854775807, "
          "9223372036854775808, -9223372036854775808, -9223372036854775809, 01, 1., .5, -, +1]")
    write(d, "literals.json", '[true, false, null, tru, nulll, True]')
    write(d, "duplicates.json", '{"a": 1, "b": {"a": 2, "a": 3}, "a": 4}')
    write(d, "deep.json", "[" * 2048 + "]" * 2048)
    write(d, "too-deep.json", "[" * 2048 + "1" + "]" * 2048)
    write(d, "trailing.json", '{"a": [1, 2,], "b": {"c": 1,}} x')
    write(d, "whitespace.json", ' \t\r\n{ "a" :\n[ 1 ,\t2 ] }\n ')
    write(d, "control.json", '["a\tb", "\x01"]')
    # each kind once more, in documents that parse
    write(d, "ok-strings.json", '["\\uDBFF\\uDFFF", "\u00e9\U0001f600", "\\"\\n"]')
    write(d, "ok-numbers.json", "[0, -0, 1.5, -2.5e-3, 1e-400, 9223372036854775807, "
          "-9223372036854775808, 1E+2]")


# ---- fuzz_seccomp -----------------------------------------------------------------------------

def seccomp_seeds(default):
    d = clear("fuzz_seccomp")
    write(d, "default.json", default)
    allow = lambda *names, **kw: dict({"names": list(names), "action": "SCMP_ACT_ALLOW"}, **kw)
    small = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
             "syscalls": [allow("read", "write", "exit_group", "futex")]}
    write(d, "small.json", small)
    write(d, "args.json", dict(small, syscalls=[
        allow("personality", args=[{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]),
        allow("personality", args=[{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]),
        allow("clone", args=[{"index": 0, "value": 2114060288, "valueTwo": 0,
                              "op": "SCMP_CMP_MASKED_EQ"}]),
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
         "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},
                  {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}]},
        allow("mmap", args=[{"index": 2, "value": 1, "op": "SCMP_CMP_GE"},
                            {"index": 2, "value": 7, "op": "SCMP_CMP_LE"}]),
        allow("kill", args=[{"index": i, "value": i, "op": op} for i, op in enumerate(
            ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT", "SCMP_CMP_GE",
             "SCMP_CMP_EQ"])])]))
    write(d, "notify.json", dict(small, listenerPath="/run/listener.sock",
                                 listenerMetadata="meta", syscalls=small["syscalls"] + [
        {"names": ["mount", "umount2"], "action": "SCMP_ACT_NOTIFY"}]))
    write(d, "listener-unused.json", dict(small, listenerPath="/run/l.sock"))
    write(d, "flags.json", dict(small, flags=["SECCOMP_FILTER_FLAG_TSYNC",
                                              "SECCOMP_FILTER_FLAG_LOG",
                                              "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]))
    write(d, "wait-killable.json", dict(small, listenerPath="/l",
                                        flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                                        syscalls=[{"names": ["mkdir"],
                                                   "action": "SCMP_ACT_NOTIFY"}]))
    write(d, "arches.json", dict(small, architectures=[
        "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_ARM", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390X", "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_MIPS64"]))
    for act in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                "SCMP_ACT_TRAP", "SCMP_ACT_LOG", "SCMP_ACT_ALLOW"):
        write(d, "default-%s.json" % act[9:].lower(), dict(small, defaultAction=act, syscalls=[
            {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            {"names": ["getpid"], "action": act}]))
    write(d, "trace.json", dict(small, defaultAction="SCMP_ACT_TRACE", defaultErrnoRet=4095))
    write(d, "unknown-names.json", dict(small, syscalls=[allow("read", "no_such_call", "x" * 70,
                                                             "write")]))
    write(d, "bad-errnoret.json", dict(small, syscalls=[allow("read", errnoRet=1)]))
    write(d, "bad-action.json", dict(small, syscalls=[{"names": ["read"], "action": "ALLOW"}]))
    write(d, "bad-names.json", dict(small, syscalls=[{"names": [], "action": "SCMP_ACT_LOG"},
                                                     {"names": [1]}]))
    write(d, "bad-sendmsg.json", dict(small, listenerPath="/l", syscalls=[
        {"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]))
    write(d, "bad-args.json", dict(small, syscalls=[allow("read", args=[
        {"index": 7, "value": 0, "op": "SCMP_CMP_EQ"}] * 7)]))
    write(d, "bad-op.json", dict(small, syscalls=[allow("read", args=[
        {"index": 0, "value": "1", "valueTwo": "x", "op": "SCMP_CMP_BOGUS"}])]))
    write(d, "bad-arch.json", dict(small, architectures=["SCMP_ARCH_" + "Z" * 80, 3]))
    write(d, "bad-flags.json", dict(small, flags=["SECCOMP_FILTER_FLAG_NOPE", 3]))
    write(d, "notify-default.json", dict(small, defaultAction="SCMP_ACT_NOTIFY"))
    write(d, "empty.json", {})


# ---- fuzz_policy ------------------------------------------------------------------------------

def policy_seeds():
    d = clear("fuzz_policy")
    write(d, "example.json", {
        "rules": [
            {"match": {"annotations": {"io.kubernetes.cri.sandbox-namespace": "untrusted"}},
             "engine": "vm"},
            {"match": {"entrypoint": "*.wasm"}, "engine": "wasm"},
            {"match": {"namespace": "batch-*", "pod": "etl-*"}, "engine": "container"}],
        "kvmFallback": "tcg", "sandboxEngine": "container"})
    write(d, "every-key.json", {"rules": [{"match": {
        "annotations": {"a": "[a-z]*", "b": "?"}, "entrypoint": "/pa[!x]se", "wasm": True,
        "bundle": "/run/*/etl-*", "namespace": "untrusted", "pod": "etl-\\*",
        "container": "web", "handler": "isola"}, "engine": "wasm"}],
        "kvmFallback": "refuse"})
    write(d, "fallback-container.json", {"rules": [{"match": {"wasm": False}, "engine": "vm"}],
                                         "kvmFallback": "container", "sandboxEngine": "vm"})
    write(d, "empty-match.json", {"rules": [{"match": {}, "engine": "vm"}]})
    write(d, "empty.json", {})
    write(d, "many-rules.json", {"rules": [{"match": {"pod": "p%d-*" % i},
                                            "engine": ["vm", "wasm", "container"][i % 3]}
                                           for i in range(40)]})
    write(d, "globs.json", {"rules": [{"match": {"bundle": p}, "engine": "vm"} for p in (
        "*", "**", "[", "[]", "[!]", "\\", "*[[:alpha:]]*", "/run/bundles/etl-7f9c")]})
    write(d, "bad-engine.json", {"rules": [{"match": {}, "engine": "krun"}]})
    write(d, "bad-match.json", {"rules": [{"match": []}, {"engine": "vm"}]})
    write(d, "bad-key.json", {"rules": [{"match": {"image": "x"}, "engine": "vm"}]})
    write(d, "bad-types.json", {"rules": [{"match": {"annotations": {"a": 1}, "wasm": "yes",
                                                     "pod": 3}, "engine": "vm"}]})
    write(d, "bad-fallback.json", {"kvmFallback": "qemu", "sandboxEngine": 1})
    write(d, "bad-rules.json", {"rules": {"match": {}}})
    write(d, "top-array.json", [])


# ---- fuzz_vm_proto ----------------------------------------------------------------------------

def frame(t, payload=b""):
    return bytes([t]) + struct.pack("<I", len(payload)) + payload


def rec(tag, value=b""):
    if isinstance(value, str):
        value = value.encode()
    return bytes([tag]) + struct.pack("<I", len(value)) + value


def mount(kind, dest, fstype, source, data, content=b"", flags=0, prop=0):
    v = bytes([kind]) + struct.pack("<QQ", flags, prop)
    for s in (dest, fstype, source, data):
        v += s.encode() + b"\0"
    return rec(14, v + content)


def vm_proto_seeds():
    d = clear("fuzz_vm_proto")
    to_guest, to_host, records = b"\x00", b"\x01", b"\x02"
    config = b"".join([
        rec(1, "/bin/sh"), rec(1, "-c"), rec(1, "echo hi"), rec(2, "PATH=/bin"), rec(3, "/"),
        rec(4, struct.pack("<I", 1000)), rec(5, struct.pack("<I", 1000)),
        rec(6, struct.pack("<I", 5)), rec(7, struct.pack("<I", 0o22)), rec(8, "vm"),
        rec(9, "example.org"), rec(10, struct.pack("<IQQ", 7, 1024, 4096)),
        rec(11, struct.pack("<HH", 25, 80)), rec(12), rec(13, struct.pack("<I", 0x40000000)),
        mount(1, "/proc", "proc", "proc", ""), mount(2, "/data", "", "share0", "", flags=1),
        mount(3, "/etc/resolv.conf", "", "", "", content=b"nameserver 10.0.2.3\n"),
        rec(15, "/proc/kcore"), rec(16, "/proc/sys"), rec(17, b"net.ipv4.ip_forward\x001"),
        rec(18)])
    write(d, "config.bin", to_guest + frame(0x01, config))
    write(d, "records.bin", records + config)
    write(d, "host-stream.bin", to_guest + frame(0x02) + frame(0x03, b"input\n") + frame(0x03) +
          frame(0x04, struct.pack("<IB", 15, 1)) + frame(0x05, struct.pack("<HH", 50, 132)) +
          frame(0x06))
    write(d, "guest-stream.bin", to_host + frame(0x81, struct.pack("<I", 1) + b"6.1.0-18-amd64") +
          frame(0x82) + frame(0x83) + frame(0x84, b"hello\n") + frame(0x85, b"oops\n") +
          frame(0x86, struct.pack("<I", 6)) + frame(0x89) + frame(0x84) + frame(0x85) +
          frame(0x87, struct.pack("<I", 0)))
    write(d, "guest-error.bin", to_host + frame(0x81, struct.pack("<I", 1)) +
          frame(0x88, b"mount /proc: Permission denied"))
    write(d, "wrong-direction.bin", to_host + frame(0x01, config))
    write(d, "unknown-type.bin", to_host + frame(0x7f, b"??"))
    write(d, "too-long.bin", to_host + bytes([0x84]) + struct.pack("<I", 0xffffffff))
    write(d, "fixed-size-wrong.bin", to_guest + frame(0x04, b"\x0f"))
    write(d, "truncated.bin", to_host + frame(0x84, b"hello")[:-2])
    write(d, "header-only.bin", to_guest + bytes([0x01, 0x10, 0, 0]))
    write(d, "bad-mount.bin", records + rec(14, b"\x09" + b"\0" * 16 + b"rel\0x\0y\0z\0") +
          mount(1, "/a", "tmpfs", "t", "size=1", content=b"trailing") +
          rec(14, b"\x01" + b"\0" * 16 + b"/unterminated"))
    write(d, "record-overrun.bin", records + rec(1, "a") + bytes([1]) + struct.pack("<I", 99) +
          b"short")
    write(d, "nul-string.bin", records + rec(1, b"a\0b") + rec(8, b"\0"))


# ---- fuzz_wasi --------------------------------------------------------------------------------

WASI_FNS = ["args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get",
            "clock_time_get", "fd_advise", "fd_allocate", "fd_close", "fd_datasync",
            "fd_fdstat_get", "fd_fdstat_set_flags", "fd_fdstat_set_rights", "fd_filestat_get",
            "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread", "fd_prestat_get",
            "fd_prestat_dir_name", "fd_pwrite", "fd_read", "fd_readdir", "fd_renumber",
            "fd_seek", "fd_sync", "fd_tell", "fd_write", "path_create_directory",
            "path_filestat_get", "path_filestat_set_times", "path_link", "path_open",
            "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
            "path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise", "sched_yield",
            "random_get", "sock_accept", "sock_recv", "sock_send", "sock_shutdown"]
WASI_SIGS = {"clock_time_get": "iIi", "fd_advise": "iIIi", "fd_allocate": "iII",
             "fd_fdstat_set_rights": "iII", "fd_filestat_set_size": "iI",
             "fd_filestat_set_times": "iIIi", "fd_pread": "iiiIi", "fd_pwrite": "iiiIi",
             "fd_readdir": "iiiIi", "fd_seek": "iIii", "path_filestat_set_times": "iiiiIIi",
             "path_open": "iiiiiIIii"}

ALL = object()  # an i64 of all ones (rights)


def enc_i32(v):
    if v < 256:
        return bytes([0, v])
    if v < 65536:
        return bytes([1, v & 255, v >> 8])
    return bytes([7]) + struct.pack("<I", v & 0xffffffff)


def enc_i64(v):
    if v is ALL:
        return bytes([1, 0])
    if 0 <= v < 256:
        return bytes([0, v])
    return bytes([3]) + struct.pack("<Q", v & 0xffffffffffffffff)


def call(name, *args):
    k = WASI_FNS.index(name)
    sig = WASI_SIGS.get(name, None)
    out = bytes([k])
    for i, a in enumerate(args):
        out += enc_i64(a) if sig and sig[i] == "I" else enc_i32(a)
    return out


class Mem:
    """The memory image: strings and iovecs at fixed addresses."""

    def __init__(self):
        self.b = bytearray(0x800)

    def put(self, addr, data):
        if isinstance(data, str):
            data = data.encode()
        self.b[addr:addr + len(data)] = data
        return addr, len(data)

    def image(self):
        return struct.pack("<H", len(self.b)) + bytes(self.b)


def wasi_input(mem, calls, flags=0):
    return bytes([flags]) + mem.image() + b"".join(calls)


O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8
OUT = 0x10  # where results land


def wasi_seeds():
    d = clear("fuzz_wasi")
    m = Mem()
    text = m.put(0x400, "hello from the guest\n")
    m.put(0x200, struct.pack("<II", *text))  # one iovec
    m.put(0x208, struct.pack("<II", 0x600, 64))  # a read buffer
    write(d, "stdio.bin", wasi_input(m, [
        call("fd_write", 1, 0x200, 1, OUT), call("fd_write", 2, 0x200, 1, OUT),
        call("fd_read", 0, 0x208, 1, OUT), call("fd_write", 9, 0x200, 1, OUT),
        call("fd_write", 1, 0x200, 1025, OUT), call("fd_write", 1, 0xfff8, 2, OUT)]))
    write(d, "args-env.bin", wasi_input(m, [
        call("args_sizes_get", OUT, OUT + 4), call("args_get", 0x100, 0x180),
        call("environ_sizes_get", OUT, OUT + 4), call("environ_get", 0x100, 0x180),
        call("args_get", 0xfffc, 0xfff0)]))
    write(d, "prestat.bin", wasi_input(m, [
        call("fd_prestat_get", 3, OUT), call("fd_prestat_dir_name", 3, 0x100, 16),
        call("fd_prestat_get", 4, OUT), call("fd_prestat_dir_name", 4, 0x100, 2),
        call("fd_prestat_get", 5, OUT), call("fd_prestat_get", 0, OUT)]))
    write(d, "fdstat.bin", wasi_input(m, [call("fd_fdstat_get", fd, 0x100) for fd in range(6)] +
                                      [call("fd_fdstat_set_flags", 1, 1),
                                       call("fd_fdstat_set_rights", 3, 0, 0)]))
    write(d, "clocks.bin", wasi_input(m, [call("clock_time_get", c, 1, OUT) for c in range(5)] +
                                      [call("clock_res_get", c, OUT) for c in (0, 1, 2, 3, 99)]))
    write(d, "random.bin", wasi_input(m, [call("random_get", 0x100, 64),
                                          call("random_get", 0xffc0, 0x40),
                                          call("random_get", 0xffc0, 0x41),
                                          call("random_get", 0, 0), call("sched_yield")]))
    write(d, "seek-close.bin", wasi_input(m, [
        call("fd_seek", 1, 0, 1, OUT), call("fd_seek", 3, 0, 0, OUT), call("fd_seek", 1, 5, 7, OUT),
        call("fd_tell", 1, OUT), call("fd_close", 3), call("fd_close", 3),
        call("fd_prestat_get", 3, OUT), call("fd_close", 0), call("fd_read", 0, 0x208, 1, OUT)]))
    write(d, "exit.bin", wasi_input(m, [call("fd_write", 1, 0x200, 1, OUT), call("proc_exit", 3),
                                        call("fd_write", 1, 0x200, 1, OUT)]))
    write(d, "no-memory.bin", wasi_input(m, [call("fd_close", 3), call("sched_yield"),
                                             call("fd_write", 1, 0x200, 1, OUT)], flags=0x80))
    write(d, "one-preopen.bin", wasi_input(m, [call("fd_prestat_get", 4, OUT),
                                               call("fd_write", 2, 0x200, 1, OUT)], flags=0x60))

    # Paths: open, read, write, and every way out of the preopen.
    def path_case(name, path, calls_after=(), oflags=0, fdflags=0, dirflags=1, dirfd=3):
        pm = Mem()
        p = pm.put(0x100, path)
        pm.put(0x200, struct.pack("<II", 0x600, 64))
        pm.put(0x208, struct.pack("<II", *pm.put(0x400, "written by the guest\n")))
        calls = [call("path_open", dirfd, dirflags, p[0], p[1], oflags, ALL, ALL, fdflags, OUT)]
        calls += [call("fd_read", 5, 0x200, 1, OUT + 4), call("fd_write", 5, 0x208, 1, OUT + 4)]
        calls += list(calls_after)
        write(d, name, wasi_input(pm, calls))

    path_case("open-file.bin", "hello.txt", [call("fd_filestat_get", 5, 0x100),
                                             call("fd_seek", 5, 0, 2, OUT + 8),
                                             call("fd_pread", 5, 0x200, 1, 2, OUT + 4),
                                             call("fd_pwrite", 5, 0x208, 1, 3, OUT + 4),
                                             call("fd_tell", 5, OUT + 8), call("fd_sync", 5),
                                             call("fd_datasync", 5), call("fd_close", 5)])
    path_case("open-sub.bin", "sub/inner.txt")
    path_case("open-create.bin", "new.txt", [call("fd_allocate", 5, 0, 4096),
                                             call("fd_filestat_set_size", 5, 10),
                                             call("fd_filestat_set_times", 5, 1, 2, 15),
                                             call("fd_advise", 5, 0, 10, 1)],
              oflags=O_CREAT | O_EXCL)
    path_case("open-trunc.bin", "hello.txt", oflags=O_TRUNC, fdflags=1)
    path_case("open-dir.bin", "sub", [call("fd_readdir", 5, 0x600, 0x200, 0, OUT + 8),
                                      call("fd_readdir", 3, 0x600, 0x40, 1, OUT + 8)],
              oflags=O_DIRECTORY)
    path_case("open-data.bin", "d.bin", dirfd=4)
    path_case("escape-dotdot.bin", "../outside/canary", oflags=O_TRUNC)
    path_case("escape-up.bin", "up/outside/canary", oflags=O_TRUNC)
    path_case("escape-abs-link.bin", "abs/canary", oflags=O_TRUNC)
    path_case("escape-file-link.bin", "out", oflags=O_TRUNC)
    path_case("escape-absolute.bin", "/etc/passwd")
    path_case("escape-nofollow.bin", "out", dirflags=0)
    path_case("loop.bin", "sub/loop")
    path_case("dot.bin", ".", [call("fd_readdir", 5, 0x600, 0x400, 0, OUT + 8)],
              oflags=O_DIRECTORY)
    path_case("empty-path.bin", "")
    path_case("nul-path.bin", "hello\0.txt")
    path_case("long-path.bin", "a/" * 300 + "b")

    pm = Mem()
    a = pm.put(0x100, "newdir")
    b = pm.put(0x120, "hello.txt")
    c = pm.put(0x140, "moved.txt")
    e = pm.put(0x160, "../outside")
    f = pm.put(0x180, "evil")
    g = pm.put(0x1a0, "evil/canary")
    h = pm.put(0x1c0, "up")
    write(d, "path-ops.bin", wasi_input(pm, [
        call("path_create_directory", 3, *a), call("path_create_directory", 3, *a),
        call("path_filestat_get", 3, 1, *a, 0x300), call("path_remove_directory", 3, *a),
        call("path_rename", 3, *b, 3, *c), call("path_link", 3, 0, *c, 3, *b),
        call("path_unlink_file", 3, *c), call("path_filestat_set_times", 3, 0, *b, 5, 6, 5),
        call("path_readlink", 3, *h, 0x300, 64, OUT), call("path_readlink", 3, *b, 0x300, 64, OUT),
        call("path_symlink", *e, 3, *f),
        call("path_open", 3, 1, *g, O_TRUNC, ALL, ALL, 0, OUT),
        call("path_filestat_get", 3, 1, *h, 0x300), call("path_unlink_file", 3, *f),
        call("path_rename", 3, *b, 4, *c), call("path_remove_directory", 3, *h)]))
    write(d, "path-ops-readonly.bin", wasi_input(pm, [
        call("path_create_directory", 3, *a), call("path_rename", 3, *b, 3, *c),
        call("path_unlink_file", 3, *b), call("path_open", 3, 1, *b, O_TRUNC, ALL, ALL, 0, OUT),
        call("path_open", 3, 1, *b, 0, ALL, ALL, 1, OUT), call("fd_write", 5, 0x200, 1, OUT),
        call("fd_fdstat_get", 3, 0x300), call("path_create_directory", 4, *a)], flags=0x10))
    pm = Mem()
    # poll_oneoff: a clock subscription (relative, 1 ms) and an fd_read on stdin.
    sub = struct.pack("<QB7xIxxxxQQH6x", 7, 0, 1, 1000000, 0, 0)
    sub += struct.pack("<QB7xI", 8, 1, 0) + b"\0" * 28
    pm.put(0x100, sub)
    write(d, "poll.bin", wasi_input(pm, [call("poll_oneoff", 0x100, 0x300, 2, OUT),
                                         call("poll_oneoff", 0x100, 0x300, 0, OUT),
                                         call("proc_raise", 0)]))
    write(d, "listen.bin", wasi_input(pm, [call("fd_fdstat_get", 5, 0x300),
                                           call("sock_accept", 5, 4, OUT),
                                           call("fd_fdstat_set_flags", 5, 4),
                                           call("sock_accept", 5, 0, OUT),
                                           call("sock_shutdown", 5, 2), call("fd_close", 5)],
                                      flags=0x08))
    write(d, "sock.bin", wasi_input(pm, [call("sock_accept", 3, 0, OUT),
                                         call("sock_recv", 1, 0x200, 1, 0, OUT, OUT + 4),
                                         call("sock_send", 1, 0x200, 1, 0, OUT),
                                         call("sock_shutdown", 1, 3),
                                         call("fd_renumber", 3, 4), call("fd_renumber", 0, 3),
                                         call("fd_fdstat_get", 4, 0x100)]))


# ---- wasm -------------------------------------------------------------------------------------

def wasm_seeds(spec):
    """A spread of the spec suite's modules: for decode, valid ones of every proposal and a
    handful of malformed and invalid ones; for run, valid ones whose exports compute, loop,
    trap, grow memory and call indirectly."""
    def modules(kind):
        out = []
        for js in sorted(glob.glob(os.path.join(spec, "*", "*.json"))):
            cmds = json.load(open(js))["commands"]
            for c in cmds:
                if c["type"] == kind and c.get("module_type", "binary") == "binary":
                    path = os.path.join(os.path.dirname(js), c["filename"])
                    if os.path.exists(path):
                        out.append(path)
        return out

    valid, malformed, invalid = modules("module"), modules("assert_malformed"), \
        modules("assert_invalid")
    run_dirs = ["i32", "i64", "f32", "f64", "loop", "br_table", "call_indirect", "memory_grow",
                "bulk", "memory_fill", "memory_copy", "table_grow", "table_fill", "ref_func",
                "select", "call", "fac", "local_tee", "if",
                "simd_i32x4_arith", "simd_load", "simd_lane", "memory_trap", "conversions",
                "stack", "unreachable", "global", "elem", "data", "start", "left-to-right",
                "endianness", "traps", "nop", "block", "switch", "float_exprs", "address"]
    decode_dirs = ["binary", "binary-leb128", "custom", "names", "simd_const", "simd_lane",
                   "ref_null", "table_copy", "table_init", "memory_init", "elem", "data",
                   "imports", "exports", "linking", "func", "type", "br_table", "utf8-import-field",
                   "global", "start", "align", "unreached-invalid", "select", "call_indirect",
                   "simd_store", "bulk", "return", "if", "loop"]

    def first_in(paths, dirname, limit_bytes):
        for p in paths:
            if os.path.basename(os.path.dirname(p)) == dirname and os.path.getsize(p) <= limit_bytes:
                yield p

    def pick(paths, dirs, per_dir, limit_bytes):
        chosen = []
        for dn in dirs:
            # The largest modules of a directory say the most; cap them at limit_bytes.
            cand = sorted(first_in(paths, dn, limit_bytes), key=os.path.getsize, reverse=True)
            chosen += cand[:per_dir]
        return chosen

    d = clear("fuzz_wasm_run")
    for p in pick(valid, run_dirs, 1, 24000):
        shutil.copy(p, os.path.join(d, "seed-" + os.path.basename(p)))
    d = clear("fuzz_wasm_decode")
    bad = pick(malformed, ["binary", "custom", "binary-leb128", "utf8-custom-section-id"], 3, 4000)
    bad += pick(invalid, ["unreached-invalid", "br_table", "func", "simd_lane"], 2, 4000)
    for p in pick(valid, decode_dirs, 1, 24000) + bad:
        shutil.copy(p, os.path.join(d, "seed-" + os.path.basename(p)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wasm-spec", default="/work/shared/wasm-spec/json")
    ap.add_argument("--seccomp-default", help="the default profile as JSON (isola spec's)")
    a = ap.parse_args()
    default = json.load(open(a.seccomp_default)) if a.seccomp_default else None
    if default is None:
        p = os.path.join(CORPUS, "fuzz_seccomp", "seed-default.json")
        default = json.load(open(p)) if os.path.exists(p) else {"defaultAction": "SCMP_ACT_ALLOW"}
    config_seeds(default)
    json_seeds()
    seccomp_seeds(default)
    policy_seeds()
    vm_proto_seeds()
    wasi_seeds()
    if os.path.isdir(a.wasm_spec):
        wasm_seeds(a.wasm_spec)
    else:
        print("no wasm spec modules at %s: wasm seeds left as they are" % a.wasm_spec)


if __name__ == "__main__":
    main()
