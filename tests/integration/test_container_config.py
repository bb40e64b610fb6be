"""config.json features, each observed from inside the container: the static /probe helper
reports what the kernel applied (ids, capabilities, rlimits, namespaces, fds, terminal...),
busybox and /proc/self/mountinfo show the rest."""
import ctypes
import json
import os
import select
import socket
import subprocess
import threading
import time

import pytest

import bundle as B
from bundle import describe, leftovers, one_line_error


def run_ok(isola, bundle, cid, *flags, **kw):
    """Runs the bundle in the foreground; asserts success; returns stdout."""
    r = isola.run(bundle, cid, *flags, stdin=subprocess.DEVNULL, **kw)
    assert r.returncode == 0, describe(r)
    assert leftovers(isola.root, cid, bundle) == []
    return r.stdout


def probe(isola, bundle, cid, *args, flags=()):
    """Runs /probe ARGS in the container and returns its JSON report."""
    bundle.args("/probe", *args)
    out = run_ok(isola, bundle, cid, *flags)
    return json.loads(out)


def host_status(field, pid="self"):
    for line in open("/proc/%s/status" % pid):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


def mounts_in(isola, bundle, cid, script=""):
    """The container's mountinfo, parsed (after running `script` first)."""
    bundle.sh(script + "cat /proc/self/mountinfo")
    return B.parse_mountinfo_text(run_ok(isola, bundle, cid))


def mount_at(mounts, path):
    """The topmost mount at `path` (the last one listed)."""
    found = [m for m in mounts if m["mount_point"] == path]
    return found[-1] if found else None


# ---------------------------------------------------------------------------------------------
# namespaces

ALL_NS = ["pid", "network", "ipc", "uts", "mount", "cgroup", "user", "time"]
PROC_NS = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt",
           "cgroup": "cgroup", "user": "user", "time": "time"}


def add_userns(bundle, host_base=100000):
    bundle.add_namespace("user")
    bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": host_base, "size": 65536}]
    bundle.linux["gidMappings"] = [{"containerID": 0, "hostID": host_base, "size": 65536}]


@pytest.mark.parametrize("extra", ALL_NS)
def test_namespaces_created(isola, bundle, make_bundle, new_id, extra):
    """The five usual namespaces plus one more: exactly those differ from the host's."""
    if not B.host_has_ns(PROC_NS[extra]):
        pytest.skip("this kernel has no %s namespace" % extra)
    wanted = {"pid", "network", "ipc", "uts", "mount", extra}
    if extra == "user":
        bundle = make_bundle(traversable=True)
    bundle.set_namespaces(sorted(wanted))
    if extra == "user":
        add_userns(bundle)
    p = probe(isola, bundle, new_id())
    for ns in ALL_NS:
        name = PROC_NS[ns]
        if not B.host_has_ns(name):
            continue
        host = B.ns_inode("self", name)
        if ns in wanted:
            assert p["ns"][name] != host, "%s namespace is the host's" % ns
        else:
            assert p["ns"][name] == host, "%s namespace was not asked for but differs" % ns
    if "pid" in wanted:
        assert p["pid"] == 1


def test_without_pid_namespace_the_process_sees_host_pids(isola, bundle, new_id):
    bundle.drop_namespace("pid")
    p = probe(isola, bundle, new_id())
    assert p["pid"] != 1
    assert p["ns"]["pid"] == B.ns_inode("self", "pid")


def test_join_namespaces_by_path(isola, bundle, new_id):
    sleeper = subprocess.Popen(["unshare", "--net", "--uts", "--ipc", "sh", "-c",
                                "hostname joined-uts && exec sleep 60"])
    try:
        assert B.wait_for(lambda: B.ns_inode(sleeper.pid, "uts") != B.ns_inode("self", "uts")
                          and B.read_cmdline(sleeper.pid) == ["sleep", "60"], 5)
        for t, n in (("network", "net"), ("uts", "uts"), ("ipc", "ipc")):
            bundle.add_namespace(t, path="/proc/%d/ns/%s" % (sleeper.pid, n))
        bundle.config.pop("hostname", None)
        p = probe(isola, bundle, new_id())
        assert p["ns"]["net"] == B.ns_inode(sleeper.pid, "net")
        assert p["ns"]["uts"] == B.ns_inode(sleeper.pid, "uts")
        assert p["ns"]["ipc"] == B.ns_inode(sleeper.pid, "ipc")
        assert p["hostname"] == "joined-uts"
        assert p["ns"]["pid"] != B.ns_inode("self", "pid")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_user_namespace_mappings(isola, make_bundle, new_id):
    bundle = make_bundle(traversable=True)
    add_userns(bundle, 200000)
    cid = new_id()
    bundle.sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; echo ready; "
              "exec sleep 1000")
    r = isola.detached("run", bundle, cid)
    assert r.returncode == 0, describe(r)
    out = B.wait_file(r.out, contains="ready")
    assert out is not None, open(r.err).read()
    lines = [l.split() for l in out.splitlines()]
    assert lines[0] == ["0", "200000", "65536"]
    assert lines[1] == ["0", "200000", "65536"]
    assert lines[2] == ["0"] and lines[3] == ["0"]
    pid = isola.state(cid)["pid"]
    # Seen from the host, container root is uid/gid 200000.
    assert host_status("Uid", pid).split() == ["200000"] * 4
    assert host_status("Gid", pid).split() == ["200000"] * 4
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid) == []


def test_user_namespace_default_devices(isola, make_bundle, new_id):
    """mknod is not allowed in a user namespace: default devices still work (bind mounts)."""
    bundle = make_bundle(traversable=True)
    add_userns(bundle)
    bundle.sh("echo x > /dev/null && head -c 4 /dev/zero | wc -c && ls /dev/pts/ptmx")
    out = run_ok(isola, bundle, new_id())
    assert out.split()[0] == "4"


@pytest.mark.skipif(not B.host_has_ns("time"), reason="this kernel has no time namespace")
def test_time_namespace_offsets(isola, bundle, new_id):
    bundle.add_namespace("time")
    day = 86400
    bundle.linux["timeOffsets"] = {"monotonic": {"secs": 1000 * day, "nanosecs": 0},
                                   "boottime": {"secs": 2000 * day, "nanosecs": 0}}
    before = time.clock_gettime(time.CLOCK_MONOTONIC)
    p = probe(isola, bundle, new_id())
    after = time.clock_gettime(time.CLOCK_MONOTONIC)
    assert before + 1000 * day - 1 <= p["monotonic"] <= after + 1000 * day + 1
    assert p["boottime"] >= 2000 * day
    assert p["ns"]["time"] != B.ns_inode("self", "time")


def test_cgroup_namespace_hides_the_path(isola, bundle, new_id):
    cid = new_id()
    bundle.add_namespace("cgroup")
    bundle.linux["cgroupsPath"] = "/isola-it/" + cid
    bundle.sh("cat /proc/self/cgroup")
    out = run_ok(isola, bundle, cid)
    paths = [l.split(":", 2)[2] for l in out.splitlines()]
    assert paths and all(p == "/" for p in paths), out


# ---------------------------------------------------------------------------------------------
# hostname, domainname, annotations

def test_hostname_and_domainname(isola, bundle, new_id):
    bundle.config["hostname"] = "box-1"
    bundle.config["domainname"] = "example.org"
    p = probe(isola, bundle, new_id())
    assert p["hostname"] == "box-1"
    assert p["domainname"] == "example.org"
    assert open("/proc/sys/kernel/hostname").read().strip() != "box-1"


def test_annotations_in_state(isola, bundle, new_id):
    cid = new_id()
    ann = {"org.example.a": "1", "io.example/b": "two words"}
    bundle.config["annotations"] = ann
    bundle.args("sleep", "1000")
    assert isola.detached("create", bundle, cid).returncode == 0
    st = isola.state(cid)
    assert {k: st["annotations"].get(k) for k in ann} == ann
    assert isola("delete", "--force", cid).returncode == 0


# ---------------------------------------------------------------------------------------------
# process

def test_user_groups(isola, bundle, new_id):
    bundle.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]}
    p = probe(isola, bundle, new_id())
    assert (p["uid"], p["euid"], p["gid"], p["egid"]) == (1000, 1000, 1000, 1000)
    assert sorted(p["groups"]) == [10, 20]


def test_user_without_additional_gids_has_no_groups(isola, bundle, new_id):
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    p = probe(isola, bundle, new_id())
    assert p["groups"] in ([], [1000])


def test_id_command(isola, bundle, new_id):
    bundle.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10]}
    bundle.sh("id -u; id -g; id -G")
    out = run_ok(isola, bundle, new_id()).split("\n")
    assert out[0] == "1000" and out[1] == "1000"
    assert sorted(out[2].split()) == ["10", "1000"] or sorted(out[2].split()) == ["10"]


@pytest.mark.parametrize("umask", [0o027, 0o077, 0o002])
def test_umask(isola, bundle, new_id, umask):
    bundle.process["user"]["umask"] = umask
    p = probe(isola, bundle, new_id())
    assert p["umask"] == umask


def test_cwd(isola, bundle, new_id):
    bundle.process["cwd"] = "/home/user"
    p = probe(isola, bundle, new_id())
    assert p["cwd"] == "/home/user"


def test_env_is_exactly_the_config_env(isola, bundle, new_id):
    cid = new_id()
    bundle.process["env"] = ["PATH=/bin", "FOO=bar baz", "EMPTY=", "UNICODE=caf\u00e9"]
    env = dict(os.environ, ISOLA_HOST_LEAK="leaked")
    bundle.args("/probe")
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL, env=env)
    assert r.returncode == 0, describe(r)
    p = json.loads(r.stdout)
    assert {"PATH=/bin", "FOO=bar baz", "EMPTY=", "UNICODE=caf\u00e9"} <= set(p["env"])
    assert not [e for e in p["env"] if "ISOLA_HOST_LEAK" in e], p["env"]


def test_args_are_passed_verbatim(isola, bundle, new_id):
    args = ["/probe", "a b", "", "--flag", "$HOME", "'quoted'"]
    bundle.args(*args)
    p = json.loads(run_ok(isola, bundle, new_id()))
    assert p["argv"] == args


def test_program_found_through_path(isola, bundle, new_id):
    os.makedirs(os.path.join(bundle.rootfs, "opt", "tools"))
    os.link(os.path.join(bundle.rootfs, "probe"), os.path.join(bundle.rootfs, "opt", "tools",
                                                               "myprobe"))
    bundle.process["env"] = ["PATH=/nowhere:/opt/tools:/bin"]
    bundle.args("myprobe")
    p = json.loads(run_ok(isola, bundle, new_id()))
    assert p["argv"] == ["myprobe"]


def test_no_fds_leak_into_the_container(isola, bundle, new_id, tmp_path):
    """Only 0, 1, 2 — even when the runtime itself was started with more open."""
    cid = new_id()
    bundle.args("/probe")
    bundle.mark(cid).write()
    extra = str(tmp_path / "extra")
    r = subprocess.run(["sh", "-c", 'exec 3>"$0" 7>"$0"; exec "$@"', extra,
                        *isola.argv("run", "--bundle", bundle.path, cid)],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                       env=isola.marked_env(cid))
    isola.track(cid)
    assert r.returncode == 0, describe(r)
    assert json.loads(r.stdout)["fds"] == [0, 1, 2]


def test_preserve_fds(isola, bundle, new_id, tmp_path):
    cid = new_id()
    f3, f4 = str(tmp_path / "fd3"), str(tmp_path / "fd4")
    bundle.sh("echo three >&3; echo four >&4; exec /probe")
    bundle.mark(cid).write()
    r = subprocess.run(["sh", "-c", 'exec 3>"$0" 4>"$1" 5>/dev/null; shift; exec "$@"', f3,
                        f4, *isola.argv("run", "--preserve-fds", "2", "--bundle", bundle.path,
                                        cid)],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                       env=isola.marked_env(cid))
    isola.track(cid)
    assert r.returncode == 0, describe(r)
    assert json.loads(r.stdout)["fds"] == [0, 1, 2, 3, 4]
    assert open(f3).read() == "three\n"
    assert open(f4).read() == "four\n"
    assert leftovers(isola.root, cid, bundle) == []


def test_oom_score_adj(isola, bundle, new_id):
    bundle.process["oomScoreAdj"] = 500
    p = probe(isola, bundle, new_id())
    assert p["oom_score_adj"] == "500"


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(isola, bundle, new_id, nnp):
    bundle.process["noNewPrivileges"] = nnp
    p = probe(isola, bundle, new_id())
    assert p["NoNewPrivs"] == ("1" if nnp else "0")
    assert p["nnp_prctl"] == (1 if nnp else 0)


def test_rlimits(isola, bundle, new_id):
    limits = {"RLIMIT_NOFILE": (512, 1024), "RLIMIT_CORE": (1000, 2000),
              "RLIMIT_MSGQUEUE": (4096, 8192), "RLIMIT_NICE": (0, 0)}
    bundle.process["rlimits"] = [{"type": k, "soft": s, "hard": h}
                                 for k, (s, h) in limits.items()]
    p = probe(isola, bundle, new_id())
    for k, v in limits.items():
        assert tuple(p["rlimits"][k]) == v, k


def test_ulimit_from_the_shell(isola, bundle, new_id):
    bundle.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 333, "hard": 444}]
    bundle.sh("ulimit -n; ulimit -Hn")
    assert run_ok(isola, bundle, new_id()).split() == ["333", "444"]


# ---------------------------------------------------------------------------------------------
# capabilities

def caps_hex(names):
    return "%016x" % B.cap_mask(names)


def test_capabilities_root(isola, bundle, new_id):
    caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"]
    bundle.process["capabilities"] = {"bounding": caps, "effective": caps,
                                      "permitted": caps, "inheritable": [], "ambient": []}
    p = probe(isola, bundle, new_id())
    assert p["CapBnd"] == caps_hex(caps)
    assert p["CapEff"] == caps_hex(caps)
    assert p["CapPrm"] == caps_hex(caps)
    assert p["CapInh"] == caps_hex([])
    assert p["CapAmb"] == caps_hex([])


def test_capabilities_all_five_sets_for_a_non_root_user(isola, bundle, new_id):
    """After execve by uid 1000 of a file without file capabilities: permitted and effective
    are the ambient set; inheritable, ambient and bounding are as configured."""
    bnd = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETUID"]
    prm = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    eff = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    inh = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    amb = ["CAP_NET_BIND_SERVICE"]
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    bundle.process["capabilities"] = {"bounding": bnd, "permitted": prm, "effective": eff,
                                      "inheritable": inh, "ambient": amb}
    p = probe(isola, bundle, new_id())
    assert p["uid"] == 1000
    assert p["CapBnd"] == caps_hex(bnd)
    assert p["CapInh"] == caps_hex(inh)
    assert p["CapAmb"] == caps_hex(amb)
    assert p["CapPrm"] == caps_hex(amb)
    assert p["CapEff"] == caps_hex(amb)


def test_no_capabilities(isola, bundle, new_id):
    bundle.process["capabilities"] = {k: [] for k in ("bounding", "effective", "permitted",
                                                      "inheritable", "ambient")}
    p = probe(isola, bundle, new_id())
    for k in ("CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert p[k] == caps_hex([]), k


def test_every_capability_the_host_lacks_is_dropped_or_refused(isola, bundle, new_id):
    """design/container.md: CAP_SYS_RESOURCE is missing from this host's bounding set. A
    config asking for every capability either fails with a message naming what is missing,
    or runs with what the host has and a warning naming what it dropped."""
    host_bnd = int(host_status("CapBnd"), 16)
    every = sorted(B.CAP_NUMBERS, key=B.CAP_NUMBERS.get)
    last_cap = int(open("/proc/sys/kernel/cap_last_cap").read())
    every = [c for c in every if B.CAP_NUMBERS[c] <= last_cap]
    missing = [c for c in every if not host_bnd >> B.CAP_NUMBERS[c] & 1]
    if not missing:
        pytest.skip("this host's bounding set has every capability")
    cid = new_id()
    bundle.process["capabilities"] = {k: every for k in ("bounding", "effective",
                                                         "permitted")}
    bundle.args("/probe")
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        assert one_line_error(r), describe(r)
    else:
        p = json.loads(r.stdout)
        assert p["CapBnd"] == "%016x" % (B.cap_mask(every) & host_bnd)
        assert p["CapEff"] == "%016x" % (B.cap_mask(every) & host_bnd)
    assert all(m in r.stderr for m in missing), \
        "the message does not name %s: %r" % (missing, r.stderr)
    assert leftovers(isola.root, cid, bundle) == []


def test_default_capabilities_of_the_base_config(isola, bundle, new_id, base_config):
    caps = bundle.process.get("capabilities", {}).get("bounding", [])
    p = probe(isola, bundle, new_id())
    assert p["CapBnd"] == caps_hex(caps)
    assert p["CapEff"] == caps_hex(caps)


# ---------------------------------------------------------------------------------------------
# root, mounts

def test_rootfs_is_the_root(isola, bundle, new_id):
    open(os.path.join(bundle.rootfs, "marker-in-rootfs"), "w").close()
    bundle.sh("ls /")
    listing = run_ok(isola, bundle, new_id()).split()
    assert "marker-in-rootfs" in listing
    assert "work" not in listing and "usr" not in listing


def test_absolute_root_path(isola, bundle, new_id):
    bundle.config["root"]["path"] = bundle.rootfs
    open(os.path.join(bundle.rootfs, "abs-marker"), "w").close()
    bundle.sh("ls /abs-marker")
    assert run_ok(isola, bundle, new_id()).strip() == "/abs-marker"


def test_no_pivot(isola, bundle, new_id):
    open(os.path.join(bundle.rootfs, "marker-in-rootfs"), "w").close()
    bundle.sh("ls /; cat /proc/self/mountinfo")
    out = run_ok(isola, bundle, new_id(), "--no-pivot")
    assert "marker-in-rootfs" in out.split()
    assert "usr" not in out.split()


def test_readonly_rootfs(isola, bundle, new_id):
    bundle.config["root"]["readonly"] = True
    bundle.args("/probe", "write", "/newfile", "/tmp/newfile", "/dev/shm/ok")
    out = json.loads(run_ok(isola, bundle, new_id()))
    assert out["/newfile"] == "EROFS"
    assert out["/tmp/newfile"] == "EROFS"
    assert out["/dev/shm/ok"] == "ok"
    assert not os.path.exists(os.path.join(bundle.rootfs, "newfile"))


def test_readonly_root_in_mountinfo(isola, bundle, new_id):
    bundle.config["root"]["readonly"] = True
    m = mount_at(mounts_in(isola, bundle, new_id()), "/")
    assert m is not None and "ro" in m["options"]


def test_default_mounts(isola, bundle, new_id):
    mi = mounts_in(isola, bundle, new_id())
    want = {"/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs",
            "/dev/mqueue": "mqueue", "/sys": "sysfs"}
    for path, fstype in want.items():
        if path not in {m["destination"] for m in bundle.config["mounts"]}:
            continue
        m = mount_at(mi, path)
        assert m is not None, "nothing mounted at %s" % path
        assert m["fstype"] == fstype, (path, m)
    assert {"nosuid", "nodev", "noexec"} <= mount_at(mi, "/dev/shm")["options"]
    assert "ro" in mount_at(mi, "/sys")["options"]
    # The host's mounts are not visible.
    assert not [m for m in mi if m["mount_point"].startswith(("/work", "/usr"))]


def test_bind_mount_flags(isola, bundle, new_id, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello").write_text("hello from host\n")
    bundle.add_mount("/mnt/ro", "bind", str(src), ["bind", "ro"])
    bundle.add_mount("/mnt/rw", "none", str(src), ["rbind", "rw"])
    bundle.add_mount("/mnt/locked", "bind", str(src), ["bind", "nosuid", "nodev", "noexec"])
    bundle.add_mount("/mnt/file", "bind", str(src / "hello"), ["bind", "ro"])
    bundle.sh("/probe write /mnt/ro/x /mnt/rw/written; cat /mnt/ro/hello /mnt/file; "
              "cat /proc/self/mountinfo")
    out = run_ok(isola, bundle, new_id()).split("\n", 1)
    assert json.loads(out[0]) == {"/mnt/ro/x": "EROFS", "/mnt/rw/written": "ok"}
    rest = out[1]
    assert rest.startswith("hello from host\nhello from host\n")
    mi = B.parse_mountinfo_text(rest)
    assert "ro" in mount_at(mi, "/mnt/ro")["options"]
    assert "rw" in mount_at(mi, "/mnt/rw")["options"]
    assert {"nosuid", "nodev", "noexec"} <= mount_at(mi, "/mnt/locked")["options"]
    assert "ro" in mount_at(mi, "/mnt/file")["options"]
    assert (src / "written").exists()
    assert not (src / "x").exists()


# option on a bind mount -> what /proc/self/mountinfo shows for it (per-mount flags, or the
# propagation tag among the optional fields)
BIND_FLAGS = {
    "ro": "ro", "rw": "rw", "nosuid": "nosuid", "nodev": "nodev", "noexec": "noexec",
    "noatime": "noatime", "nodiratime": "nodiratime", "relatime": "relatime",
    "nosymfollow": "nosymfollow",
    "shared": "shared:", "rshared": "shared:", "unbindable": "unbindable",
    "runbindable": "unbindable",
}


def test_bind_mount_each_flag(isola, bundle, new_id, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for opt in BIND_FLAGS:
        bundle.add_mount("/mnt/" + opt, "bind", str(src), ["rbind", opt])
    bundle.add_mount("/mnt/strictatime", "bind", str(src), ["rbind", "strictatime"])
    mi = mounts_in(isola, bundle, new_id())
    for opt, shown in BIND_FLAGS.items():
        m = mount_at(mi, "/mnt/" + opt)
        assert m is not None, "no mount for option %s" % opt
        if shown.endswith(":") or shown == "unbindable":
            assert any(o.startswith(shown) for o in m["optional"]), (opt, m["optional"])
        else:
            assert shown in m["options"], (opt, m["options"])
    strict = mount_at(mi, "/mnt/strictatime")["options"]
    assert not strict & {"relatime", "noatime"}, strict


def test_rbind_brings_submounts_bind_does_not(isola, bundle, new_id, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(src / "sub")],
                   check=True)
    (src / "sub" / "in-submount").write_text("x")
    bundle.add_mount("/mnt/bind", "bind", str(src), ["bind"])
    bundle.add_mount("/mnt/rbind", "bind", str(src), ["rbind"])
    bundle.sh("ls /mnt/bind/sub; echo ---; ls /mnt/rbind/sub")
    out = run_ok(isola, bundle, new_id())
    bind, rbind = out.split("---\n")
    assert bind.split() == []
    assert rbind.split() == ["in-submount"]


@pytest.mark.parametrize("mode,sees_late_mount", [("rslave", True), ("rprivate", False),
                                                  ("rshared", True)])
def test_bind_propagation(isola, bundle, new_id, tmp_path, mode, sees_late_mount):
    """A host mount made under a shared source after the container started reaches the
    container through a slave or shared bind, not through a private one."""
    src = tmp_path / "shared-src"
    (src / "late").mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(src), str(src)], check=True)
    subprocess.run(["mount", "--make-shared", str(src)], check=True)
    cid = new_id()
    bundle.add_mount("/mnt/p", "bind", str(src), ["rbind", mode])
    bundle.sh("echo ready; i=0; while [ $i -lt 50 ] && [ ! -e /mnt/p/late/marker ]; do "
              "sleep 0.1; i=$((i+1)); done; ls /mnt/p/late; echo end")
    r = isola.detached("run", bundle, cid)
    assert r.returncode == 0, describe(r)
    assert B.wait_file(r.out, contains="ready") is not None
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(src / "late")], check=True)
    (src / "late" / "marker").write_text("x")
    out = B.wait_file(r.out, contains="end", timeout=15)
    assert out is not None
    seen = out.split("ready\n", 1)[1].split()
    assert (seen == ["marker", "end"]) == sees_late_mount, out
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    assert isola("delete", cid).returncode == 0


def test_filesystem_mounts(isola, bundle, new_id):
    bundle.add_mount("/mnt/tmp", "tmpfs", "tmpfs", ["size=1m", "mode=700", "nosuid"])
    bundle.add_mount("/mnt/proc2", "proc", "proc", [])
    bundle.add_mount("/mnt/mq", "mqueue", "mqueue", ["nodev"])
    bundle.add_mount("/mnt/sys2", "sysfs", "sysfs", ["ro", "nosuid"])
    bundle.add_mount("/mnt/pts2", "devpts", "devpts", ["newinstance", "ptmxmode=0666"])
    mi = mounts_in(isola, bundle, new_id())
    t = mount_at(mi, "/mnt/tmp")
    assert t["fstype"] == "tmpfs" and "nosuid" in t["options"]
    assert "size=1024k" in t["super_options"] and "mode=700" in t["super_options"]
    assert mount_at(mi, "/mnt/proc2")["fstype"] == "proc"
    assert mount_at(mi, "/mnt/mq")["fstype"] == "mqueue"
    s = mount_at(mi, "/mnt/sys2")
    assert s["fstype"] == "sysfs" and "ro" in s["options"]
    assert mount_at(mi, "/mnt/pts2")["fstype"] == "devpts"


def test_cgroup_mount(isola, bundle, new_id):
    cid = new_id()
    bundle.linux["cgroupsPath"] = "/isola-it/" + cid
    bundle.add_mount("/sys/fs/cgroup", "cgroup", "cgroup",
                     ["nosuid", "noexec", "nodev", "relatime", "ro"])
    bundle.sh("ls /sys/fs/cgroup; echo ---; /probe write /sys/fs/cgroup/x; echo ---; "
              "cat /proc/self/mountinfo")
    listing, write, mi = run_ok(isola, bundle, cid).split("---\n")
    assert listing.split(), "nothing under /sys/fs/cgroup"
    assert json.loads(write)["/sys/fs/cgroup/x"] != "ok"
    mi = B.parse_mountinfo_text(mi)
    cg = [m for m in mi if m["mount_point"].startswith("/sys/fs/cgroup")
          and m["fstype"] in ("cgroup", "cgroup2")]
    assert cg, "no cgroup filesystem under /sys/fs/cgroup"
    assert all("ro" in m["options"] for m in cg)


def test_mount_destinations_are_created(isola, bundle, new_id, tmp_path):
    f = tmp_path / "file.conf"
    f.write_text("conf\n")
    bundle.add_mount("/a/b/c", "tmpfs", "tmpfs", [])
    bundle.add_mount("/etc/new.d/file.conf", "bind", str(f), ["bind", "ro"])
    bundle.sh("cat /etc/new.d/file.conf; cat /proc/self/mountinfo")
    out = run_ok(isola, bundle, new_id())
    assert out.startswith("conf\n")
    mi = B.parse_mountinfo_text(out)
    assert mount_at(mi, "/a/b/c")["fstype"] == "tmpfs"
    assert mount_at(mi, "/etc/new.d/file.conf") is not None


@pytest.mark.parametrize("style", ["absolute", "dotdot"])
def test_symlink_in_rootfs_cannot_redirect_a_mount_outside(isola, bundle, new_id, tmp_path,
                                                           style):
    host_dir = tmp_path / "host-target"
    host_dir.mkdir()
    src = tmp_path / "src"
    src.mkdir()
    (src / "content").write_text("bound\n")
    target = str(host_dir) if style == "absolute" else "../" * 20 + str(host_dir).lstrip("/")
    os.symlink(target, os.path.join(bundle.rootfs, "evil"))
    cid = new_id()
    bundle.add_mount("/evil/t", "tmpfs", "tmpfs", [])
    bundle.add_mount("/evil/b", "bind", str(src), ["bind"])
    bundle.sh("cat /evil/b/content; cat /proc/self/mountinfo")
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    # Whatever the outcome, nothing was created or mounted on the host outside the rootfs.
    assert os.listdir(str(host_dir)) == [], "a mount destination escaped the rootfs"
    assert not [m for m in B.mountinfo() if m["mount_point"].startswith(str(host_dir))]
    if r.returncode != 0:
        assert one_line_error(r), describe(r)
    else:
        assert r.stdout.startswith("bound\n")
        mi = B.parse_mountinfo_text(r.stdout)
        inside = "/" + str(host_dir).lstrip("/")
        assert mount_at(mi, inside + "/t") is not None
        assert mount_at(mi, inside + "/b") is not None
    assert leftovers(isola.root, cid, bundle) == []


@pytest.mark.parametrize("prop,tag", [("shared", "shared:"), ("private", None),
                                      ("rprivate", None)])
def test_rootfs_propagation(isola, bundle, new_id, prop, tag):
    bundle.linux["rootfsPropagation"] = prop
    m = mount_at(mounts_in(isola, bundle, new_id()), "/")
    tags = [o for o in m["optional"] if o.startswith(("shared:", "master:"))]
    if tag:
        assert any(t.startswith(tag) for t in tags), m
    else:
        assert tags == [], m


# ---------------------------------------------------------------------------------------------
# masked and read-only paths

def test_masked_paths(isola, bundle, new_id):
    os.makedirs(os.path.join(bundle.rootfs, "srv", "secretdir"))
    with open(os.path.join(bundle.rootfs, "srv", "secretdir", "f"), "w") as f:
        f.write("secret")
    with open(os.path.join(bundle.rootfs, "srv", "secret"), "w") as f:
        f.write("secret")
    defaults = [p for p in bundle.linux.get("maskedPaths", []) if os.path.exists(p)]
    custom = ["/srv/secret", "/srv/secretdir", "/srv/does-not-exist"]
    bundle.linux["maskedPaths"] = defaults + custom
    bundle.args("/probe", "read", *(defaults + custom[:2]))
    out = json.loads(run_ok(isola, bundle, new_id()))
    for p in defaults + custom[:2]:
        assert out[p] in (0, "EACCES", "EPERM"), "%s is readable: %r" % (p, out[p])
    assert defaults, "the base config masks nothing that exists on this host"


def test_masked_paths_default_set_is_observed(isola, bundle, new_id):
    """Paths every runtime masks, when the host has them."""
    wanted = [p for p in ("/proc/keys", "/proc/timer_list", "/sys/firmware", "/proc/acpi",
                          "/proc/kcore") if os.path.exists(p)]
    bundle.linux["maskedPaths"] = wanted
    bundle.args("/probe", "read", *wanted)
    out = json.loads(run_ok(isola, bundle, new_id()))
    assert all(out[p] in (0, "EACCES", "EPERM") for p in wanted), out


def test_readonly_paths(isola, bundle, new_id):
    os.makedirs(os.path.join(bundle.rootfs, "data"))
    with open(os.path.join(bundle.rootfs, "data", "existing"), "w") as f:
        f.write("keep")
    assert "uts" in bundle.namespaces()  # the write below must not reach the host's name
    bundle.linux["readonlyPaths"] = ["/proc/sys", "/proc/sysrq-trigger", "/data",
                                     "/does/not/exist"]
    bundle.sh("/probe write /data/new /data/existing /proc/sys/kernel/domainname; "
              "cat /data/existing; echo; cat /proc/self/mountinfo")
    out = run_ok(isola, bundle, new_id()).split("\n", 2)
    w = json.loads(out[0])
    assert w["/data/new"] == "EROFS" and w["/data/existing"] == "EROFS"
    assert w["/proc/sys/kernel/domainname"] in ("EROFS", "EACCES")
    assert out[1] == "keep"
    mi = B.parse_mountinfo_text(out[2])
    for p in ["/data"] + [p for p in ("/proc/sys", "/proc/sysrq-trigger") if os.path.exists(p)]:
        m = mount_at(mi, p)
        assert m is not None and "ro" in m["options"], "%s is not read-only: %r" % (p, m)


# ---------------------------------------------------------------------------------------------
# devices

DEFAULT_DEVICES = {"/dev/null": (1, 3), "/dev/zero": (1, 5), "/dev/full": (1, 7),
                   "/dev/random": (1, 8), "/dev/urandom": (1, 9), "/dev/tty": (5, 0)}


def test_default_devices_and_symlinks(isola, bundle, new_id):
    paths = list(DEFAULT_DEVICES) + ["/dev/ptmx", "/dev/fd", "/dev/stdin", "/dev/stdout",
                                     "/dev/stderr", "/dev/pts", "/dev/shm"]
    bundle.args("/probe", "stat", *paths)
    st = json.loads(run_ok(isola, bundle, new_id()))
    for p, (ma, mi) in DEFAULT_DEVICES.items():
        assert st[p].get("type") == "c", (p, st[p])
        assert (st[p]["major"], st[p]["minor"]) == (ma, mi), (p, st[p])
        assert st[p]["mode"] == 0o666, (p, oct(st[p]["mode"]))
    ptmx = st["/dev/ptmx"]
    assert (ptmx.get("type") == "l" and ptmx["target"] in ("pts/ptmx", "/dev/pts/ptmx")) or \
        (ptmx.get("type") == "c" and (ptmx["major"], ptmx["minor"]) == (5, 2)), ptmx
    assert st["/dev/fd"] == dict(st["/dev/fd"], type="l", target="/proc/self/fd")
    for i, n in enumerate(("stdin", "stdout", "stderr")):
        assert st["/dev/" + n].get("target") == "/proc/self/fd/%d" % i, st["/dev/" + n]
    assert st["/dev/pts"]["type"] == "d" and st["/dev/shm"]["type"] == "d"


def test_default_devices_work(isola, bundle, new_id):
    bundle.sh("echo x > /dev/null && head -c 16 /dev/zero | wc -c && "
              "head -c 16 /dev/urandom | wc -c && (echo x > /dev/full) 2>/dev/null; echo $?")
    assert run_ok(isola, bundle, new_id()).split() == ["16", "16", "1"]


def test_custom_devices(isola, bundle, new_id):
    bundle.linux["devices"] = [
        {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640,
         "uid": 1000, "gid": 20},
        {"path": "/dev/myloop", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600,
         "uid": 0, "gid": 0},
        {"path": "/dev/sub/dir/myzero", "type": "c", "major": 1, "minor": 5,
         "fileMode": 0o666},
        {"path": "/dev/myfifo", "type": "p", "fileMode": 0o620},
    ]
    bundle.args("/probe", "stat", "/dev/mynull", "/dev/myloop", "/dev/sub/dir/myzero",
                "/dev/myfifo")
    st = json.loads(run_ok(isola, bundle, new_id()))
    assert st["/dev/mynull"] == dict(st["/dev/mynull"], type="c", major=1, minor=3,
                                     mode=0o640, uid=1000, gid=20)
    assert st["/dev/myloop"] == dict(st["/dev/myloop"], type="b", major=7, minor=200,
                                     mode=0o600, uid=0, gid=0)
    assert st["/dev/sub/dir/myzero"] == dict(st["/dev/sub/dir/myzero"], type="c", major=1,
                                             minor=5, mode=0o666)
    assert st["/dev/myfifo"] == dict(st["/dev/myfifo"], type="p", mode=0o620)


# ---------------------------------------------------------------------------------------------
# sysctl

def test_sysctl(isola, bundle, new_id):
    assert {"network", "ipc"} <= set(bundle.namespaces())
    host_fwd = open("/proc/sys/net/ipv4/ip_forward").read()
    host_msgmax = open("/proc/sys/kernel/msgmax").read()
    want_fwd = "0" if host_fwd.strip() == "1" else "1"
    bundle.linux["sysctl"] = {"net.ipv4.ip_forward": want_fwd, "kernel.msgmax": "4321"}
    bundle.sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax")
    assert run_ok(isola, bundle, new_id()).split() == [want_fwd, "4321"]
    assert open("/proc/sys/net/ipv4/ip_forward").read() == host_fwd
    assert open("/proc/sys/kernel/msgmax").read() == host_msgmax


# ---------------------------------------------------------------------------------------------
# seccomp

@pytest.mark.parametrize("nnp", [True, False])
def test_seccomp_filter(isola, bundle, new_id, nnp):
    bundle.process["noNewPrivileges"] = nnp
    bundle.linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 1}],
    }
    bundle.sh("grep Seccomp: /proc/self/status; mkdir /tmp/blocked 2>&1; echo rc=$?; "
              "touch /tmp/allowed && echo touched")
    out = run_ok(isola, bundle, new_id())
    assert "Seccomp:\t2" in out, out
    assert "Operation not permitted" in out and "rc=1" in out, out
    assert "touched" in out
    assert not os.path.exists(os.path.join(bundle.rootfs, "tmp", "blocked"))


# ---------------------------------------------------------------------------------------------
# cgroups

def test_cgroups_path_absolute(isola, bundle, new_id):
    cid = new_id()
    path = "/isola-it/" + cid
    bundle.linux["cgroupsPath"] = path
    bundle.args("sleep", "1000")
    assert isola.detached("create", bundle, cid).returncode == 0
    pid = isola.state(cid)["pid"]
    mine = B.proc_cgroups("self")
    theirs = B.proc_cgroups(pid)
    hier = dict((key, mnt) for mnt, key in B.cgroup_hierarchies())
    for key in mine:
        assert theirs.get(key) == path, "hierarchy %r: container in %r, not %r" % (
            key or "v2", theirs.get(key), path)
        if key in hier:
            procs = open(os.path.join(hier[key], path.lstrip("/"), "cgroup.procs")).read()
            assert str(pid) in procs.split()
    assert isola("start", cid).returncode == 0
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid) == []
    for mnt, _ in B.cgroup_hierarchies():
        assert not os.path.exists(os.path.join(mnt, path.lstrip("/")))


def test_cgroups_path_relative(isola, bundle, new_id):
    cid = new_id()
    rel = "isola-it-rel/" + cid
    bundle.linux["cgroupsPath"] = rel
    bundle.args("sleep", "1000")
    assert isola.detached("create", bundle, cid).returncode == 0
    pid = isola.state(cid)["pid"]
    theirs = B.proc_cgroups(pid)
    for key in B.proc_cgroups("self"):
        assert theirs[key].endswith("/" + rel), (key, theirs[key])
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid, cgroups_path=None) == []


def test_no_cgroups_path_leaves_nothing(isola, bundle, new_id):
    cid = new_id()
    bundle.linux.pop("cgroupsPath", None)
    bundle.args("sleep", "1000")
    assert isola.detached("run", bundle, cid).returncode == 0
    pid = isola.state(cid)["pid"]
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid) == []


# ---------------------------------------------------------------------------------------------
# keyring

def host_session_keyring():
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(250, 0, ctypes.c_long(-3), 0)  # keyctl(GET_KEYRING_ID, SESSION, 0)


def test_new_session_keyring(isola, bundle, new_id):
    bundle.linux.pop("seccomp", None)  # default profiles (Docker's) deny keyctl
    host = host_session_keyring()
    p = probe(isola, bundle, new_id())
    assert p["session_keyring"] > 0
    assert p["session_keyring"] != host


def test_no_new_keyring(isola, bundle, new_id):
    bundle.linux.pop("seccomp", None)  # default profiles (Docker's) deny keyctl
    host = host_session_keyring()
    if host <= 0:
        pytest.skip("this process has no session keyring")
    p = probe(isola, bundle, new_id(), flags=("--no-new-keyring",))
    assert p["session_keyring"] == host


# ---------------------------------------------------------------------------------------------
# terminal

class ConsoleReceiver:
    """The --console-socket end: accepts one connection and receives the pty master over
    SCM_RIGHTS, as a container engine (or `recvtty`) would."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(20)
        self.master = None
        self.error = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                msg, fds, _, _ = socket.recv_fds(conn, 1024, 4)
                self.master = fds[0] if fds else None
                for extra in fds[1:]:
                    os.close(extra)
        except OSError as e:
            self.error = e

    def wait(self):
        self.thread.join(25)
        return self.master

    def read_all(self, timeout=15, until=None):
        """Reads the master until every slave is closed (EIO), `until` appears in what was
        read, or the timeout."""
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until is not None and until.encode() in out:
                break
            r, _, _ = select.select([self.master], [], [], 0.2)
            if not r:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return out.decode(errors="replace")

    def close(self):
        self.sock.close()
        if self.master is not None:
            os.close(self.master)


def test_terminal_through_console_socket(isola, bundle, new_id, short_tmp):
    cid = new_id()
    rx = ConsoleReceiver(os.path.join(short_tmp, "console.sock"))
    try:
        bundle.process["terminal"] = True
        bundle.process["consoleSize"] = {"height": 30, "width": 100}
        bundle.sh('/probe; /probe stat /dev/console $(tty); read line; echo "got:$line"')
        r = isola.detached("create", bundle, cid, "--console-socket", rx.path)
        assert r.returncode == 0, describe(r)
        master = rx.wait()
        assert master is not None, "no pty master received (%r)" % rx.error
        assert os.isatty(master)
        assert isola("start", cid).returncode == 0
        # Type only once the probes printed, so the echo cannot interleave with them.
        out = rx.read_all(until="/dev/console")
        out += rx.read_all(until="\n") if not out.endswith("\n") else ""
        os.write(master, b"hello\n")
        out += rx.read_all()
    finally:
        rx.close()
    assert "got:hello" in out, out
    lines = [l for l in out.replace("\r", "").split("\n") if l.startswith("{")]
    p = json.loads(lines[0])
    assert p["tty"] == [True, True, True]
    assert p["winsize"] == [30, 100]
    assert p["ttyname"].startswith("/dev/pts/")
    assert p["ctty_sid"] == p["sid"], "the pty is not the controlling terminal"
    st = json.loads(lines[1])
    console, tty = st["/dev/console"], st[p["ttyname"]]
    assert console.get("type") == "c", console
    assert (console["major"], console["minor"]) == (tty["major"], tty["minor"])
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    assert isola("delete", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle) == []


def test_no_terminal_means_no_tty(isola, bundle, new_id):
    p = probe(isola, bundle, new_id())
    assert p["tty"] == [False, False, False]
