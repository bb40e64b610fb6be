"""The command line: global flags, --help/--version, spec, features, logging, and bad input —
each bad input gives one line on stderr starting `isola: `, a non-zero exit, and leaves
nothing behind."""
import json
import os
import subprocess

import pytest

import bundle as B
from bundle import describe, leftovers, one_line_error

COMMANDS = ["create", "start", "run", "state", "kill", "delete", "list", "spec", "features"]


def test_version(isola):
    r = isola("--version")
    assert r.returncode == 0, describe(r)
    assert "isola" in r.stdout.lower()
    assert any(ch.isdigit() for ch in r.stdout)


def test_help_lists_every_command(isola):
    r = isola("--help")
    assert r.returncode == 0, describe(r)
    for c in COMMANDS:
        assert c in r.stdout, "--help does not mention %s" % c


@pytest.mark.parametrize("cmd", COMMANDS)
def test_each_command_has_help(isola, cmd):
    r = isola(cmd, "--help")
    assert r.returncode == 0, describe(r)
    assert cmd in r.stdout
    if cmd in ("create", "run"):
        for flag in ("--bundle", "--pid-file", "--console-socket", "--no-pivot",
                     "--no-new-keyring", "--preserve-fds"):
            assert flag in r.stdout, "%s --help does not mention %s" % (cmd, flag)


def test_unknown_command(isola):
    r = isola("frobnicate")
    assert r.returncode != 0
    assert one_line_error(r), describe(r)


def test_unknown_flag(isola):
    r = isola("create", "--no-such-flag", "x")
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert not os.path.exists(os.path.join(isola.root, "x"))


@pytest.mark.parametrize("cmd", ["create", "start", "state", "kill", "delete"])
def test_missing_container_id(isola, cmd):
    r = isola(cmd)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)


@pytest.mark.parametrize("cmd", [["state"], ["start"], ["kill"], ["delete"]])
def test_command_on_nonexistent_container(isola, new_id, cmd):
    cid = new_id()
    r = isola(*cmd, cid)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert cid in r.stderr, "the message does not name the container: %r" % r.stderr
    assert not os.path.exists(os.path.join(isola.root, cid))


# ---------------------------------------------------------------------------------------------
# features, spec

def test_features_document(isola):
    r = isola("features")
    assert r.returncode == 0, describe(r)
    f = json.loads(r.stdout)
    assert f["ociVersionMin"].startswith("1.")
    assert f["ociVersionMax"].startswith("1.")
    assert set(f["hooks"]) >= {"prestart", "createRuntime", "createContainer", "startContainer",
                               "poststart", "poststop"}
    assert {"bind", "rbind", "ro", "nosuid", "nodev", "noexec", "rprivate", "rshared",
            "rslave"} <= set(f["mountOptions"])
    ns = set(f["linux"]["namespaces"])
    want = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup"}
    if B.host_has_ns("time"):
        want.add("time")
    assert want <= ns
    caps = set(f["linux"]["capabilities"])
    assert {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_KILL"} <= caps
    assert isinstance(f.get("annotations", {}), dict)


def test_features_names_the_container_engine(isola):
    """DESIGN.md: `isola features` lists the engines this build and host support, in the
    annotation io.isola.engines (a JSON array as a string: annotation values are strings)."""
    r = isola("features")
    assert r.returncode == 0, describe(r)
    engines = json.loads(json.loads(r.stdout)["annotations"]["io.isola.engines"])
    assert "container" in engines


def test_state_names_the_engine(isola, bundle, new_id):
    """DESIGN.md: `isola state` reports the chosen engine in its annotations."""
    cid = new_id()
    bundle.args("sleep", "1000")
    assert isola.detached("create", bundle, cid).returncode == 0
    assert isola.state(cid)["annotations"].get("io.isola.isolation") == "container"
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle) == []


def test_spec_writes_a_usable_config(isola, tmp_path, rootfs_template, new_id):
    d = str(tmp_path / "b")
    os.makedirs(d)
    r = isola("spec", "--bundle", d)
    assert r.returncode == 0, describe(r)
    cfg = json.load(open(os.path.join(d, "config.json")))
    for k in ("ociVersion", "process", "root", "hostname", "mounts", "linux"):
        assert k in cfg, "spec output lacks %s" % k
    assert cfg["root"]["path"] == "rootfs"
    assert {"pid", "network", "ipc", "uts", "mount"} <= {n["type"] for n in
                                                          cfg["linux"]["namespaces"]}
    assert {"/proc", "/dev", "/dev/pts", "/sys"} <= {m["destination"] for m in cfg["mounts"]}
    assert cfg["linux"].get("maskedPaths") and cfg["linux"].get("readonlyPaths")
    assert cfg["process"]["noNewPrivileges"] is True

    # It runs as written (only the program and the terminal changed).
    B.copy_rootfs(rootfs_template, os.path.join(d, "rootfs"))
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["sh", "-c", "echo spec-ok"]
    b = B.Bundle(d, os.path.join(d, "rootfs"), cfg)
    cid = new_id()
    r = isola.run(b, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    assert r.stdout == "spec-ok\n"
    assert leftovers(isola.root, cid, b) == []


def test_spec_in_current_directory(isola, tmp_path):
    r = isola("spec", cwd=str(tmp_path))
    assert r.returncode == 0, describe(r)
    json.load(open(str(tmp_path / "config.json")))


def test_spec_refuses_to_overwrite(isola, tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{}")
    r = isola("spec", "--bundle", str(tmp_path))
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert path.read_text() == "{}"


def test_spec_rootless(isola, tmp_path):
    r = isola("spec", "--rootless", "--bundle", str(tmp_path))
    assert r.returncode == 0, describe(r)
    cfg = json.load(open(str(tmp_path / "config.json")))
    assert "user" in {n["type"] for n in cfg["linux"]["namespaces"]}
    for k in ("uidMappings", "gidMappings"):
        m = cfg["linux"][k]
        assert m and m[0]["containerID"] == 0 and m[0]["size"] >= 1
    assert cfg["linux"]["uidMappings"][0]["hostID"] == os.getuid()
    assert cfg["linux"]["gidMappings"][0]["hostID"] == os.getgid()


# ---------------------------------------------------------------------------------------------
# logging

def test_log_json_receives_errors(isola, tmp_path, new_id):
    log = str(tmp_path / "log.json")
    cid = new_id()
    r = isola("create", "--bundle", str(tmp_path / "nowhere"), cid,
              global_args=("--log", log, "--log-format", "json"))
    assert r.returncode != 0
    lines = [l for l in open(log).read().splitlines() if l.strip()]
    assert lines, "nothing logged; stderr: %r" % r.stderr
    entries = [json.loads(l) for l in lines]
    errors = [e for e in entries if e.get("level") == "error"]
    assert errors, entries
    assert "nowhere" in errors[-1]["msg"]
    assert "time" in errors[-1]
    assert leftovers(isola.root, cid) == []


def test_log_text_receives_errors(isola, tmp_path, new_id):
    log = str(tmp_path / "log.txt")
    cid = new_id()
    r = isola("create", "--bundle", str(tmp_path / "nowhere"), cid,
              global_args=("--log", log, "--log-format", "text"))
    assert r.returncode != 0
    text = open(log).read()
    assert "nowhere" in text
    with pytest.raises(ValueError):
        json.loads(text.splitlines()[-1])


def test_bad_log_format(isola):
    r = isola("list", global_args=("--log-format", "xml"))
    assert r.returncode != 0
    assert one_line_error(r), describe(r)


def test_debug_flag_accepted(isola, bundle, new_id):
    cid = new_id()
    bundle.args("true")
    r = isola.run(bundle, cid, global_args=("--debug",), stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    assert leftovers(isola.root, cid, bundle) == []


def test_default_root_is_used_without_flag(isola_bin, tmp_path):
    """Without --root, list reads /run/isola (it may not exist yet): no error."""
    r = subprocess.run([isola_bin, "list", "-q"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, describe(r)


# ---------------------------------------------------------------------------------------------
# bad input: (name, how to break the bundle, text the one-line error must contain)

def _set(path, value):
    """A mutation that sets a dotted/indexed JSON path in the config."""
    def mutate(b):
        obj = b.config
        parts = []
        for p in path.split("."):
            while "[" in p:
                head, rest = p.split("[", 1)
                if head:
                    parts.append(head)
                idx, p = rest.split("]", 1)
                parts.append(int(idx))
            if p:
                parts.append(p)
        for k in parts[:-1]:
            obj = obj[k]
        obj[parts[-1]] = value
    return mutate


def _raw(text):
    def mutate(b):
        b.raw = text
    return mutate


def _remove_config(b):
    b.raw = None
    b.no_config = True


def _unknown_ns(b):
    b.set_namespaces(["pid", "network", "ipc", "uts", "mount", "foo"])


def _dup_ns(b):
    b.set_namespaces(["pid", "network", "ipc", "uts", "mount", "pid"])


def _missing_rootfs(b):
    b.config["root"]["path"] = "no-such-rootfs"


def _no_uts_hostname(b):
    b.drop_namespace("uts")
    b.config["hostname"] = "needs-uts"


def _ns_path_missing(b):
    b.add_namespace("network", path="/proc/self/ns/no-such-ns-file")


def _no_args(b):
    del b.process["args"]


def _empty_args(b):
    b.process["args"] = []


BAD = [
    ("missing config.json", _remove_config, ["config.json"]),
    ("malformed JSON", _raw('{"ociVersion": "1.0.2", "process": {'), ["config.json"]),
    ("not an object", _raw('[1, 2, 3]'), ["config.json"]),
    ("args[0] not a string", _set("process.args[0]", 5), ["process.args[0]"]),
    ("args not an array", _set("process.args", "sh"), ["process.args"]),
    ("no args", _no_args, ["process.args"]),
    ("empty args", _empty_args, ["process.args"]),
    ("env entry not a string", _set("process.env[0]", 1), ["process.env[0]"]),
    ("uid not a number", _set("process.user.uid", "0"), ["process.user.uid"]),
    ("negative uid", _set("process.user.uid", -1), ["process.user.uid"]),
    ("cwd not a string", _set("process.cwd", 7), ["process.cwd"]),
    ("relative cwd", _set("process.cwd", "tmp"), ["process.cwd"]),
    ("terminal not a bool", _set("process.terminal", "yes"), ["process.terminal"]),
    ("root.path not a string", _set("root.path", True), ["root.path"]),
    ("hostname not a string", _set("hostname", 1), ["hostname"]),
    ("mount destination not a string", _set("mounts[0].destination", []),
     ["mounts[0].destination"]),
    ("namespace type not a string", _set("linux.namespaces[1].type", 3),
     ["linux.namespaces[1].type"]),
    ("unknown namespace", _unknown_ns, ["linux.namespaces[5]", "foo"]),
    ("duplicate namespace", _dup_ns, ["linux.namespaces"]),
    ("capabilities not an array", _set("process.capabilities.bounding", "CAP_KILL"),
     ["process.capabilities.bounding"]),
    ("rlimit hard not a number", _set("process.rlimits", [{"type": "RLIMIT_NOFILE",
                                                          "soft": 1, "hard": "x"}]),
     ["process.rlimits[0].hard"]),
    ("unknown rlimit", _set("process.rlimits", [{"type": "RLIMIT_FOO", "soft": 1,
                                                 "hard": 1}]),
     ["RLIMIT_FOO"]),
    ("hooks not an object", _set("hooks", []), ["hooks"]),
    ("hook path not a string", _set("hooks", {"prestart": [{"path": 1}]}),
     ["hooks.prestart[0].path"]),
    ("missing rootfs", _missing_rootfs, ["no-such-rootfs"]),
    ("hostname without uts namespace", _no_uts_hostname, ["hostname"]),
    ("namespace path missing", _ns_path_missing, ["no-such-ns-file"]),
]


@pytest.mark.parametrize("name,mutate,needles", BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("cmd", ["create", "run"])
def test_bad_config(isola, bundle, new_id, name, mutate, needles, cmd):
    cid = new_id()
    bundle.args("true")
    bundle.raw = None
    bundle.mark(cid)
    mutate(bundle)
    if not getattr(bundle, "no_config", False):
        bundle.write(raw=bundle.raw)
    r = isola(cmd, "--bundle", bundle.path, cid, stdin=subprocess.DEVNULL, cid=cid)
    assert r.returncode != 0, "%s accepted: %s" % (name, describe(r))
    assert one_line_error(r), describe(r)
    for n in needles:
        assert n in r.stderr, "the error for %s does not name %r: %r" % (name, n, r.stderr)
    assert isola("state", cid).returncode != 0
    assert leftovers(isola.root, cid, bundle) == []


@pytest.mark.parametrize("cmd", ["create", "run --detach"])
def test_terminal_without_console_socket(isola, bundle, new_id, cmd):
    """A detached container with a terminal needs --console-socket to hand the pty to."""
    cid = new_id()
    bundle.args("true")
    bundle.process["terminal"] = True
    bundle.mark(cid).write()
    r = isola(*cmd.split(), "--bundle", bundle.path, cid, stdin=subprocess.DEVNULL, cid=cid)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert "console" in r.stderr
    assert leftovers(isola.root, cid, bundle) == []


def test_missing_bundle_directory(isola, tmp_path, new_id):
    cid = new_id()
    r = isola("create", "--bundle", str(tmp_path / "no-such-bundle"), cid, cid=cid)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert "no-such-bundle" in r.stderr
    assert leftovers(isola.root, cid) == []


def test_duplicate_id(isola, make_bundle, new_id):
    b1, b2 = make_bundle(), make_bundle()
    cid = new_id()
    b1.args("sleep", "1000")
    b2.args("true")
    assert isola.detached("create", b1, cid).returncode == 0
    st = isola.state(cid)
    r = isola.detached("create", b2, cid, name=cid + ".second")
    assert r.returncode != 0, "a second container with the same id was created"
    assert one_line_error(r), describe(r)
    assert cid in r.stderr
    # The first container is untouched.
    st2 = isola.state(cid)
    assert st2["pid"] == st["pid"] and st2["bundle"] == b1.path and st2["status"] == "created"
    # The second attempt mounted nothing and started no process of its own.
    assert not [m for m in B.mountinfo() if b2.path in m["mount_point"]]
    assert set(B.marked_processes(cid)) <= {st["pid"]}
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, b1, st["pid"]) == []


@pytest.mark.parametrize("bad_id", ["", "../escape", "a/b", ".", "..", "with space",
                                    "x" * 1100, "semi;colon", "new\nline"])
def test_invalid_id(isola, bundle, tmp_path, bad_id):
    bundle.args("true")
    bundle.mark("invalid").write()
    before = set(os.listdir(str(tmp_path)))
    r = isola("create", "--bundle", bundle.path, bad_id)
    assert r.returncode != 0, "id %r accepted" % bad_id
    assert one_line_error(r), describe(r)
    # Nothing created under --root, nor next to it ("../escape").
    assert not os.path.isdir(isola.root) or os.listdir(isola.root) == []
    assert set(os.listdir(str(tmp_path))) - before <= {"root"}
    assert B.marked_processes("invalid") == []


# ---------------------------------------------------------------------------------------------
# host restrictions

def _has_cap(n):
    for line in open("/proc/self/status"):
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> n & 1)
    return False


@pytest.mark.skipif(_has_cap(24), reason="the runtime has CAP_SYS_RESOURCE here")
def test_rlimit_above_hard_limit_fails_clearly(isola, bundle, new_id):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("RLIMIT_NOFILE hard limit is unlimited")
    cid = new_id()
    bundle.args("true")
    bundle.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard + 1000,
                                  "hard": hard + 1000}]
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert "RLIMIT_NOFILE" in r.stderr
    assert leftovers(isola.root, cid, bundle) == []


@pytest.mark.skipif(os.path.exists("/sys/kernel/security/apparmor"),
                    reason="this host has AppArmor")
def test_apparmor_profile_is_a_clear_error(isola, bundle, new_id):
    cid = new_id()
    bundle.args("true")
    bundle.process["apparmorProfile"] = "some-profile"
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert "apparmor" in r.stderr.lower()
    assert leftovers(isola.root, cid, bundle) == []


@pytest.mark.skipif(os.path.exists("/sys/fs/selinux/enforce"), reason="this host has SELinux")
def test_selinux_label_is_a_clear_error(isola, bundle, new_id):
    cid = new_id()
    bundle.args("true")
    bundle.process["selinuxLabel"] = "system_u:system_r:container_t:s0"
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert "selinux" in r.stderr.lower()
    assert leftovers(isola.root, cid, bundle) == []
