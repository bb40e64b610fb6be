"""Side by side with runc on the same bundle (each runtime with its own --root and ids): where
runc behaves a certain way and clients (containerd's shim, podman) rely on it, isola must
behave the same."""
import json
import os
import subprocess

import pytest

import bundle as B
from bundle import describe, leftovers

OCI_STATE_KEYS = {"ociVersion", "id", "status", "pid", "bundle"}


def both(isola, runc):
    return (("isola", isola), ("runc", runc))


@pytest.mark.parametrize("script", ["exit 0", "exit 7", "exit 255", "kill -KILL $$", None])
def test_run_exit_status_matches_runc(isola, runc, bundle, new_id, script):
    """`sh -c 'kill -KILL $$'` without a pid namespace: the shell dies of SIGKILL; None: the
    program does not exist (the runtime's own failure)."""
    bundle.drop_namespace("pid")
    if script is None:
        bundle.args("no-such-program")
    else:
        bundle.sh(script)
    codes = {}
    for name, rt in both(isola, runc):
        cid = B.unique_id(name)
        r = rt.run(bundle, cid, stdin=subprocess.DEVNULL)
        codes[name] = r.returncode
        assert leftovers(rt.root, cid, bundle) == [], name
    assert codes["isola"] == codes["runc"], codes


@pytest.mark.parametrize("sig,pidns", [("KILL", True), ("TERM", False)])
def test_killed_run_exit_status_matches_runc(isola, runc, bundle, new_id, sig, pidns):
    if not pidns:
        bundle.drop_namespace("pid")
    bundle.sh("echo ready; exec sleep 1000")
    codes = {}
    for name, rt in both(isola, runc):
        cid = B.unique_id(name)
        bundle.mark(cid).write()
        p = rt.popen("run", "--bundle", bundle.path, cid, stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cid=cid)
        try:
            with B.watchdog(p):
                assert p.stdout.readline() == "ready\n", name
            assert B.wait_for(lambda: B.read_cmdline(rt.state(cid)["pid"]) ==
                              ["sleep", "1000"], 5), name
            assert rt("kill", cid, sig).returncode == 0, name
            codes[name] = p.wait(timeout=15)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert codes["isola"] == codes["runc"], codes


def test_state_through_the_lifecycle_matches_runc(isola, runc, bundle):
    bundle.args("sleep", "1000")
    seen = {}
    for name, rt in both(isola, runc):
        cid = B.unique_id(name)
        r = rt.detached("create", bundle, cid)
        assert r.returncode == 0, (name, describe(r))
        created = rt.state(cid)
        assert rt("start", cid).returncode == 0, name
        running = rt.state(cid)
        assert rt("kill", cid, "KILL").returncode == 0, name
        stopped = rt.wait_status(cid, "stopped")
        assert rt("delete", cid).returncode == 0, name
        seen[name] = (created, running, stopped)
        assert leftovers(rt.root, cid, bundle, created["pid"]) == [], name
    for i in range(3):
        i_st, r_st = seen["isola"][i], seen["runc"][i]
        # pid is required while created or running only (runc reports 0 once stopped).
        keys = OCI_STATE_KEYS if i < 2 else OCI_STATE_KEYS - {"pid"}
        assert keys <= set(i_st), "isola state lacks %s" % (keys - set(i_st))
        assert i_st["status"] == r_st["status"]
        assert i_st["bundle"] == r_st["bundle"]
        if i < 2:
            assert isinstance(i_st["pid"], int) and i_st["pid"] > 0


def test_error_exit_codes_match_runc(isola, runc, bundle, tmp_path):
    """containerd's shim and podman look at the exit status: runc exits 1 on errors."""
    bundle.args("sleep", "1000")
    for name, rt in both(isola, runc):
        cid = B.unique_id(name)
        codes = {
            "state missing": rt("state", "missing-" + cid).returncode,
            "no bundle": rt("create", "--bundle", str(tmp_path / "nowhere"),
                            cid).returncode,
        }
        assert rt.detached("create", bundle, cid).returncode == 0
        codes["duplicate"] = rt.detached("create", bundle, cid, name="dup").returncode
        assert rt("start", cid).returncode == 0
        codes["start running"] = rt("start", cid).returncode
        codes["delete running"] = rt("delete", cid).returncode
        codes["delete --force missing"] = rt("delete", "--force", "missing-" + cid).returncode
        assert rt("delete", "--force", cid).returncode == 0
        if name == "isola":
            got = codes
        else:
            assert got == codes, "isola %r, runc %r" % (got, codes)


def test_spec_matches_runc(isola, runc, tmp_path):
    specs = {}
    for name, rt in both(isola, runc):
        d = tmp_path / name
        d.mkdir()
        r = rt("spec", "--bundle", str(d))
        assert r.returncode == 0, (name, describe(r))
        specs[name] = json.load(open(str(d / "config.json")))
    i, r = specs["isola"], specs["runc"]
    assert set(i) == set(r), "top-level keys differ"
    assert set(i["process"]) == set(r["process"]), "process keys differ"
    assert i["root"] == r["root"]
    assert i["process"]["args"] == r["process"]["args"]
    assert set(i["process"]["capabilities"]) == set(r["process"]["capabilities"])
    assert {n["type"] for n in i["linux"]["namespaces"]} == \
        {n["type"] for n in r["linux"]["namespaces"]}
    assert [m["destination"] for m in i["mounts"]] == [m["destination"] for m in r["mounts"]]
    assert set(i["linux"]["maskedPaths"]) >= set(r["linux"]["maskedPaths"])
    assert set(i["linux"]["readonlyPaths"]) >= set(r["linux"]["readonlyPaths"])


def test_spec_rootless_matches_runc(isola, runc, tmp_path):
    specs = {}
    for name, rt in both(isola, runc):
        d = tmp_path / name
        d.mkdir()
        r = rt("spec", "--rootless", "--bundle", str(d))
        assert r.returncode == 0, (name, describe(r))
        specs[name] = json.load(open(str(d / "config.json")))
    i, r = specs["isola"], specs["runc"]
    assert {n["type"] for n in i["linux"]["namespaces"]} == \
        {n["type"] for n in r["linux"]["namespaces"]}
    assert i["linux"]["uidMappings"] == r["linux"]["uidMappings"]
    assert i["linux"]["gidMappings"] == r["linux"]["gidMappings"]
    assert [m["destination"] for m in i["mounts"]] == [m["destination"] for m in r["mounts"]]


def test_features_keys_cover_runc(isola, runc):
    feats = {}
    for name, rt in both(isola, runc):
        r = rt("features")
        assert r.returncode == 0, (name, describe(r))
        feats[name] = json.loads(r.stdout)
    assert set(feats["isola"]) >= set(feats["runc"]) - {"potentiallyUnsafeConfigAnnotations"}
    assert set(feats["isola"]["hooks"]) >= set(feats["runc"]["hooks"])
    assert set(feats["isola"]["linux"]) >= {"namespaces", "capabilities"}


def test_list_json_fields_cover_oci_state(isola, runc, bundle):
    bundle.args("sleep", "1000")
    for name, rt in both(isola, runc):
        cid = B.unique_id(name)
        assert rt.detached("create", bundle, cid).returncode == 0
        r = rt("list", "--format", "json")
        assert r.returncode == 0, name
        items = json.loads(r.stdout)
        assert [c["id"] for c in items] == [cid]
        assert {"id", "pid", "status", "bundle"} <= set(items[0]), name
        assert rt("delete", "--force", cid).returncode == 0


def test_hook_states_match_runc(isola, runc, bundle, tmp_path):
    """The status each hook reads on stdin, under both runtimes. Not poststart: runc 1.1 runs
    it during create, with status "created" (the spec puts it after the program started;
    test_container_hooks checks isola against the spec)."""
    os.makedirs(os.path.join(bundle.rootfs, "hooklog"))
    script = ('s=$(cat); echo "$0 $s" >> "$LOG/log"')
    bundle.sh("exit 0")
    results = {}
    for name, rt in both(isola, runc):
        log = str(tmp_path / ("log-" + name))
        os.makedirs(log)
        bundle.config["hooks"] = {}
        for kind in ("prestart", "createRuntime", "createContainer", "startContainer",
                     "poststop"):
            where = "/hooklog" if kind == "startContainer" else log
            bundle.add_hook(kind, "/bin/sh", ["sh", "-c", script, kind],
                            env=["LOG=" + where, "PATH=/usr/bin:/bin"])
        ctr_log = os.path.join(bundle.rootfs, "hooklog", "log")
        if os.path.exists(ctr_log):
            os.remove(ctr_log)
        cid = B.unique_id(name)
        r = rt.run(bundle, cid, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, (name, describe(r))
        lines = open(os.path.join(log, "log")).read().splitlines()
        lines += open(ctr_log).read().splitlines()
        got = {}
        for l in lines:
            kind, st = l.split(" ", 1)
            got.setdefault(kind, []).append(json.loads(st)["status"])
        results[name] = got
    assert results["isola"] == results["runc"]


def test_cgroup_placement_matches_runc(isola, runc, bundle):
    bundle.args("sleep", "1000")
    placed = {}
    for name, rt in both(isola, runc):
        cid = B.unique_id(name)
        path = "/isola-it/" + cid
        bundle.linux["cgroupsPath"] = path
        assert rt.detached("create", bundle, cid).returncode == 0, name
        pid = rt.state(cid)["pid"]
        placed[name] = sorted(k for k, v in B.proc_cgroups(pid).items() if v == path)
        assert rt("delete", "--force", cid).returncode == 0
        assert leftovers(rt.root, cid, bundle, pid, cgroups_path=path) == [], name
    assert placed["isola"] == placed["runc"]


def test_mount_table_matches_runc(isola, runc, bundle):
    """The container's mount table as runc builds it from the same config: for "/", each
    configured mount, masked and read-only path: the same mount points with the same types,
    and flags (ro/nosuid/nodev/noexec) at least as strict as runc's. (How the default devices
    are made — mknod or bind — may differ and is not compared.)"""
    bundle.sh("cat /proc/self/mountinfo")
    wanted = {"/"} | {m["destination"] for m in bundle.config.get("mounts", [])} | \
        set(bundle.linux.get("maskedPaths", [])) | set(bundle.linux.get("readonlyPaths", []))
    tables = {}
    for name, rt in both(isola, runc):
        cid = B.unique_id(name)
        r = rt.run(bundle, cid, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, (name, describe(r))
        flags = {"ro", "nosuid", "nodev", "noexec"}
        tables[name] = sorted((m["mount_point"], m["fstype"], tuple(sorted(m["options"] &
                                                                           flags)))
                              for m in B.parse_mountinfo_text(r.stdout)
                              if m["mount_point"] in wanted)
    i, r = tables["isola"], tables["runc"]
    assert [m[:2] for m in i] == [m[:2] for m in r], "mount points or types differ"
    for (point, fstype, i_flags), (_, _, r_flags) in zip(i, r):
        assert set(i_flags) >= set(r_flags), "%s: isola %s, runc %s" % (point, i_flags,
                                                                        r_flags)


def test_default_environment_matches_runc(isola, runc, bundle):
    """runc adds HOME when the config has none; clients' images rely on it."""
    bundle.process["env"] = ["PATH=/bin"]
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    bundle.args("/probe")
    envs = {}
    for name, rt in both(isola, runc):
        cid = B.unique_id(name)
        r = rt.run(bundle, cid, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, (name, describe(r))
        envs[name] = sorted(e for e in json.loads(r.stdout)["env"]
                            if not e.startswith(B.MARK_ENV))
    assert envs["isola"] == envs["runc"]
