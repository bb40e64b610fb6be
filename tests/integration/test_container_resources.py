"""Resources: linux.resources limits hold (memory OOM-kills, pids stop a fork bomb, a CPU
quota throttles, a denied device cannot be opened), and the commands that act on a running
container's cgroups: update, pause/resume, ps, events.

Each controller is checked where this host has it (v1, v2 or hybrid: see
cgroup_hierarchies()); the static helper res_load makes the load inside the container and
probe reports what the kernel let it open.
"""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

import bundle as B
from bundle import describe, leftovers, one_line_error

MiB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# where this host keeps each controller

def _layout():
    """{controller: (mount, version)} for the mounted hierarchies of this host."""
    out, v2 = {}, None
    for mnt, key in B.cgroup_hierarchies():
        if key == "":
            v2 = mnt
            continue
        for c in key.split(","):
            out[c] = (mnt, 1)
    if v2:
        try:
            with open(os.path.join(v2, "cgroup.controllers")) as f:
                for c in f.read().split():
                    out.setdefault(c, (v2, 2))
        except OSError:
            pass
        out["unified"] = (v2, 2)
    return out


LAYOUT = _layout()


def version(ctrl):
    return LAYOUT.get(ctrl, (None, None))[1]


def cgdir(cid, ctrl):
    """The container's directory for `ctrl` (cgroupsPath /isola-it/<cid>)."""
    if ctrl not in LAYOUT:
        pytest.skip("this host has no %s controller" % ctrl)
    return os.path.join(LAYOUT[ctrl][0], "isola-it", cid)


def read_cg(cid, ctrl, name):
    with open(os.path.join(cgdir(cid, ctrl), name)) as f:
        return f.read().strip()


def keyed(text, key):
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            return int(v)
    return None


def mem_limit(cid):
    return int(read_cg(cid, "memory", "memory.limit_in_bytes" if version("memory") == 1
                       else "memory.max"))


# ---------------------------------------------------------------------------------------------
# fixtures

@pytest.fixture
def rbundle(make_bundle, helpers_dir):
    """A bundle with /res_load, its cgroupsPath under /isola-it (the session removes that
    parent)."""
    b = make_bundle()
    dst = os.path.join(b.rootfs, "res_load")
    shutil.copy2(os.path.join(helpers_dir, "res_load"), dst)
    os.chmod(dst, 0o755)
    return b


def configure(b, cid, resources, *args):
    b.linux["cgroupsPath"] = "/isola-it/" + cid
    b.linux["resources"] = resources
    if args:
        b.args(*args)
    return b


def start_detached(isola, b, cid):
    r = isola.detached("create", b, cid)
    assert r.returncode == 0, describe(r)
    r2 = isola("start", cid)
    assert r2.returncode == 0, describe(r2)
    return isola.state(cid)["pid"]


def delete_clean(isola, b, cid, pid=None):
    r = isola("delete", "--force", cid)
    assert r.returncode == 0, describe(r)
    assert leftovers(isola.root, cid, b, pid) == []


def json_lines(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def watching(pid):
    """True once process `pid` holds an eventfd or inotify fd (events is ready for OOMs)."""
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if "eventfd" in t or "inotify" in t:
            return True
    return False


# ---------------------------------------------------------------------------------------------
# limits hold

def test_memory_limit_oom_kills_with_137(isola, rbundle, new_id):
    cid = new_id("res")
    configure(rbundle, cid, {"memory": {"limit": 16 * MiB, "swap": 16 * MiB}},
              "/res_load", "mem", "64")
    r = isola.run(rbundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 137, describe(r)
    reached = json_lines(r.stdout)[-1]["mib"] if r.stdout.strip() else 0
    assert reached < 16, "allocated %d MiB under a 16 MiB limit" % reached
    # run deletes the container: its cgroups go too, although it was OOM-killed.
    assert leftovers(isola.root, cid, rbundle) == []


def test_oom_kill_is_an_event_and_delete_cleans_up(isola, rbundle, new_id):
    cid = new_id("res")
    configure(rbundle, cid, {"memory": {"limit": 16 * MiB, "swap": 16 * MiB}},
              "/res_load", "mem", "64")
    r = isola.detached("create", rbundle, cid)
    assert r.returncode == 0, describe(r)
    pid = isola.state(cid)["pid"]
    ev = isola.popen("events", cid, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert B.wait_for(lambda: watching(ev.pid) or ev.poll() is not None, 5), \
            "events never registered for OOM notifications"
        assert isola("start", cid).returncode == 0
        out, err = ev.communicate(timeout=15)
    finally:
        if ev.poll() is None:
            ev.kill()
            ev.wait()
    assert ev.returncode == 0, err
    events = json_lines(out)
    assert {"type": "oom", "id": cid} in events, out
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    stat = read_cg(cid, "memory", "memory.oom_control" if version("memory") == 1
                   else "memory.events")
    assert keyed(stat, "oom_kill") >= 1, stat
    delete_clean(isola, rbundle, cid, pid)


def test_fork_bomb_stops_at_pids_limit(isola, rbundle, new_id):
    cid = new_id("res")
    configure(rbundle, cid, {"pids": {"limit": 16}}, "/res_load", "fork", "200")
    r = isola.run(rbundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    out = json_lines(r.stdout)[-1]
    # res_load itself is one of the 16 tasks.
    assert out == {"forked": 15, "errno": "EAGAIN"}, out


def test_cpu_quota_throttles(isola, rbundle, new_id):
    cid = new_id("res")
    # 20% of one CPU in 10 ms periods.
    configure(rbundle, cid, {"cpu": {"quota": 2000, "period": 10000}},
              "sh", "-c", "/res_load spin 300; exec sleep 1000")
    pid = start_detached(isola, rbundle, cid)
    text = B.wait_file(os.path.join(rbundle.path, cid + ".out"), 10, contains="cpu_ms")
    assert text, "the spin did not finish"
    spin = json_lines(text)[-1]
    assert spin["cpu_ms"] < 0.5 * spin["wall_ms"], spin
    assert read_cg(cid, "cpu", "cpu.max" if version("cpu") == 2 else "cpu.cfs_quota_us") \
        in ("2000", "2000 10000")
    stat = read_cg(cid, "cpu", "cpu.stat")
    assert keyed(stat, "nr_throttled") > 0, stat
    r = isola("events", "--stats", cid)
    assert r.returncode == 0, describe(r)
    data = json.loads(r.stdout)["data"]
    assert data["cpu"]["throttling"]["throttled_periods"] > 0, data["cpu"]
    delete_clean(isola, rbundle, cid, pid)


@pytest.mark.parametrize("rules", [
    # deny all, the defaults come back, then one more deny
    [{"allow": False, "access": "rwm"},
     {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "r"}],
    # no deny-all: the cgroup still starts from one, with the default set
    [{"allow": False, "type": "c", "major": 1, "minor": 3, "access": "r"}],
], ids=["deny-all-first", "single-deny"])
def test_denied_device_cannot_be_opened(isola, rbundle, new_id, rules):
    cid = new_id("res")
    configure(rbundle, cid, {"devices": rules}, "sh", "-c",
              "/probe read /dev/null /dev/zero; /probe write /dev/null")
    r = isola.run(rbundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    reads, writes = json_lines(r.stdout)
    assert reads["/dev/null"] == "EPERM", reads
    assert reads["/dev/zero"] != "EPERM", reads      # a default device stays usable
    assert writes["/dev/null"] == "ok", writes       # only read was denied


def test_config_devices_are_allowed_and_others_are_not(isola, rbundle, new_id):
    """linux.devices get through a deny-all (as runc allows them); a node made for anything
    else cannot be opened, with or without linux.resources.devices."""
    cid = new_id("res")
    rbundle.linux["devices"] = [{"path": "/dev/loop-control", "type": "c", "major": 10,
                                 "minor": 237, "fileMode": 0o600}]
    caps = list(B.DEFAULT_CAPS)  # CAP_MKNOD, for the node made inside
    rbundle.process["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    script = "mknod /dev/kmem c 1 2 && /probe read /dev/loop-control /dev/kmem"
    configure(rbundle, cid, {"devices": [{"allow": False, "access": "rwm"}]}, "sh", "-c", script)
    r = isola.run(rbundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    out = json_lines(r.stdout)[-1]
    assert out["/dev/loop-control"] != "EPERM" and out["/dev/kmem"] == "EPERM", out
    # No linux.resources at all: the same default set.
    cid2 = new_id("res")
    configure(rbundle, cid2, None, "sh", "-c", script)
    del rbundle.linux["resources"]
    r = isola.run(rbundle, cid2, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    out = json_lines(r.stdout)[-1]
    assert out["/dev/loop-control"] != "EPERM" and out["/dev/kmem"] == "EPERM", out


def test_deny_all_keeps_the_standard_devices(isola, rbundle, new_id):
    """runc's default config (deny everything) still gives /dev/null, zero, urandom, tty."""
    cid = new_id("res")
    configure(rbundle, cid, {"devices": [{"allow": False, "access": "rwm"}]}, "sh", "-c",
              "/probe read /dev/null /dev/zero /dev/urandom; echo ok >/dev/null && echo wrote")
    r = isola.run(rbundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    lines = r.stdout.splitlines()
    reads = json.loads(lines[0])
    assert all(isinstance(v, int) for v in reads.values()), reads
    assert lines[1] == "wrote"


def test_knobs_without_effect_are_debug_notes(isola, rbundle, new_id):
    """memory.kernel (not enforced since Linux 5.16, absent on v2) and useHierarchy run, with a
    --debug note each: skipped, but never silently."""
    cid = new_id("res")
    configure(rbundle, cid, {"memory": {"limit": 64 * MiB, "kernel": 32 * MiB,
                                        "useHierarchy": True}}, "true")
    rbundle.mark(cid).write()
    isola.track(cid)
    r = isola("run", "--bundle", rbundle.path, cid, global_args=("--debug",), cid=cid,
              stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    kernel = tuple(int(x) for x in os.uname().release.split(".")[:2])
    if version("memory") == 2 or kernel >= (5, 16):
        assert "linux.resources.memory.kernel: ignored:" in r.stderr, r.stderr
    assert "linux.resources.memory.useHierarchy: ignored:" in r.stderr, r.stderr


# ---------------------------------------------------------------------------------------------
# errors name the JSON path; nothing is left behind

def test_missing_controller_is_a_clear_error(isola, rbundle, new_id):
    if "net_cls" in LAYOUT:
        pytest.skip("this host has net_cls")
    cid = new_id("res")
    configure(rbundle, cid, {"memory": {"limit": 64 * MiB}, "network": {"classID": 7}},
              "true")
    r = isola.create(rbundle, cid)
    assert r.returncode != 0
    assert one_line_error(r), r.stderr
    assert ("config.json: linux.resources.network.classID: the net_cls controller is not "
            "available on this host") in r.stderr
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, rbundle) == []


@pytest.mark.parametrize("resources,message", [
    ({"memory": {"limit": "16m"}}, "config.json: linux.resources.memory.limit: expected an integer"),
    ({"memory": {"limit": 32 * MiB, "swap": 16 * MiB}}, "linux.resources.memory.swap: 16777216 is below memory.limit"),
    ({"cpu": {"cpus": "0\n1"}}, "linux.resources.cpu.cpus"),
    ({"devices": [{"type": "c"}]}, "linux.resources.devices[0].allow: is required"),
    ({"hugepageLimits": [{"pageSize": "../x", "limit": 1}]}, "hugepageLimits[0].pageSize"),
])
def test_bad_values_name_their_path(isola, rbundle, new_id, resources, message):
    cid = new_id("res")
    configure(rbundle, cid, resources, "true")
    r = isola.create(rbundle, cid)
    assert r.returncode != 0
    assert one_line_error(r), r.stderr
    assert message in r.stderr
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, rbundle) == []


def test_unified_on_this_host(isola, rbundle, new_id):
    """unified values go to the v2 hierarchy; a key whose controller is v1 here is refused."""
    if "unified" not in LAYOUT:
        pytest.skip("no cgroup v2 hierarchy")
    cid = new_id("res")
    configure(rbundle, cid, {"unified": {"cgroup.max.depth": "3"}}, "sleep", "1000")
    pid = start_detached(isola, rbundle, cid)
    assert read_cg(cid, "unified", "cgroup.max.depth") == "3"
    if version("memory") == 1:
        r = isola("update", "-r", "-", cid, input='{"unified": {"memory.high": "1G"}}')
        assert r.returncode != 0 and one_line_error(r), describe(r)
        assert "resources.unified.memory.high: the memory controller is not available in " \
               "this host's cgroup v2 hierarchy" in r.stderr
    delete_clean(isola, rbundle, cid, pid)


def test_hugetlb_limit_lands_where_the_host_has_it(isola, rbundle, new_id):
    if "hugetlb" not in LAYOUT:
        pytest.skip("no hugetlb controller")
    sizes = [n for n in os.listdir("/sys/kernel/mm/hugepages")]
    if "hugepages-2048kB" not in sizes:
        pytest.skip("no 2MB huge pages")
    cid = new_id("res")
    configure(rbundle, cid, {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MiB}]},
              "sleep", "1000")
    pid = start_detached(isola, rbundle, cid)
    name = "hugetlb.2MB.limit_in_bytes" if version("hugetlb") == 1 else "hugetlb.2MB.max"
    assert read_cg(cid, "hugetlb", name) == str(4 * MiB)
    delete_clean(isola, rbundle, cid, pid)


# ---------------------------------------------------------------------------------------------
# update

def test_update_changes_limits_of_a_running_container(isola, rbundle, new_id, tmp_path):
    cid = new_id("res")
    configure(rbundle, cid, {"memory": {"limit": 16 * MiB, "swap": 32 * MiB},
                             "pids": {"limit": 20}}, "sleep", "1000")
    pid = start_detached(isola, rbundle, cid)
    assert mem_limit(cid) == 16 * MiB

    r = isola("update", "--memory", "24m", cid)
    assert r.returncode == 0, describe(r)
    assert mem_limit(cid) == 24 * MiB
    # Raising memory past the current memory+swap needs the swap written first.
    r = isola("update", "--memory", "64M", "--memory-swap", "128m", cid)
    assert r.returncode == 0, describe(r)
    assert mem_limit(cid) == 64 * MiB
    if version("memory") == 1:
        assert int(read_cg(cid, "memory", "memory.memsw.limit_in_bytes")) == 128 * MiB
        r = isola("update", "--memory", "256m", cid)
        assert r.returncode != 0 and one_line_error(r), describe(r)
        assert "resources.memory.limit: 268435456 is above the memory+swap limit 134217728" \
            in r.stderr
        assert mem_limit(cid) == 64 * MiB

    res = tmp_path / "res.json"
    res.write_text(json.dumps({"pids": {"limit": 7}, "cpu": {"shares": 512}}))
    r = isola("update", "-r", str(res), cid)
    assert r.returncode == 0, describe(r)
    assert read_cg(cid, "pids", "pids.max") == "7"
    if version("cpu") == 1:
        assert read_cg(cid, "cpu", "cpu.shares") == "512"
    else:
        assert read_cg(cid, "cpu", "cpu.weight") == "20"
    r = isola("update", "--pids-limit", "-1", "-r", "-", cid, input='{"pids": {"limit": 9}}')
    assert r.returncode == 0, describe(r)
    assert read_cg(cid, "pids", "pids.max") == "max"   # the flag wins over the file
    r = isola("update", "--cpu-quota", "20000", "--cpu-period", "100000", cid)
    assert r.returncode == 0, describe(r)
    assert read_cg(cid, "cpu", "cpu.max" if version("cpu") == 2 else "cpu.cfs_quota_us") \
        in ("20000", "20000 100000")
    assert isola.state(cid)["status"] == "running"
    delete_clean(isola, rbundle, cid, pid)


def test_update_errors(isola, rbundle, new_id):
    cid = new_id("res")
    configure(rbundle, cid, {}, "sleep", "1000")
    pid = start_detached(isola, rbundle, cid)
    cases = [
        (("update", "--memory", "lots", cid), "update: --memory: `lots` is not a size"),
        (("update", cid), "update: nothing to change"),
        (("update", "--memory", "1m"), "update: expected exactly one container id"),
        (("update", "--bogus", "1", cid), "update: unknown option `--bogus`"),
        (("update", "--memory", "1m", "no-such-container"), "container `no-such-container` does not exist"),
        (("update", "-r", "/nonexistent.json", cid), "update: -r `/nonexistent.json`"),
    ]
    if "net_cls" not in LAYOUT:
        cases.append((("update", "-r", "-", cid),
                      "update container `%s`: resources.network.classID: the net_cls "
                      "controller is not available on this host" % cid))
    for args, msg in cases:
        r = isola(*args, input='{"network": {"classID": 1}}')
        assert r.returncode != 0, args
        assert one_line_error(r), describe(r)
        assert msg in r.stderr, (args, r.stderr)
    assert isola("kill", cid, "KILL").returncode == 0
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    r = isola("update", "--memory", "32m", cid)
    assert r.returncode != 0 and one_line_error(r) and "is stopped" in r.stderr, describe(r)
    delete_clean(isola, rbundle, cid, pid)


# ---------------------------------------------------------------------------------------------
# pause / resume

def frozen(cid):
    if version("freezer") == 1:
        return read_cg(cid, "freezer", "freezer.state")
    return "FROZEN" if keyed(read_cg(cid, "unified", "cgroup.events"), "frozen") else "THAWED"


def test_pause_freezes_and_resume_thaws(isola, rbundle, new_id):
    cid = new_id("res")
    configure(rbundle, cid, {}, "sh", "-c", "sleep 1000 & exec sleep 1000")
    pid = start_detached(isola, rbundle, cid)
    r = isola("ps", "--format", "json", cid)
    assert B.wait_for(lambda: len(json.loads(isola("ps", "-f", "json", cid).stdout)) == 2, 5)
    pids = json.loads(isola("ps", "-f", "json", cid).stdout)

    r = isola("pause", cid)
    assert r.returncode == 0, describe(r)
    assert isola.state(cid)["status"] == "paused"
    assert frozen(cid) == "FROZEN"
    for p in pids:
        assert B.proc_state(p) in ("D", "T"), "pid %d is %s while frozen" % (p, B.proc_state(p))
    r = isola("pause", cid)
    assert r.returncode != 0 and one_line_error(r) and "it is paused" in r.stderr, describe(r)

    r = isola("resume", cid)
    assert r.returncode == 0, describe(r)
    assert isola.state(cid)["status"] == "running"
    assert frozen(cid) == "THAWED"
    assert B.wait_for(lambda: all(B.proc_state(p) == "S" for p in pids), 5)
    r = isola("resume", cid)
    assert r.returncode != 0 and one_line_error(r) and "not paused" in r.stderr, describe(r)
    delete_clean(isola, rbundle, cid, pid)


def test_delete_force_of_a_paused_container(isola, rbundle, new_id):
    cid = new_id("res")
    configure(rbundle, cid, {}, "sleep", "1000")
    pid = start_detached(isola, rbundle, cid)
    assert isola("pause", cid).returncode == 0
    try:
        r = isola("delete", "--force", cid, timeout=15)
        assert r.returncode == 0, describe(r)
        assert leftovers(isola.root, cid, rbundle, pid) == []
    finally:
        isola("resume", cid)


# ---------------------------------------------------------------------------------------------
# ps

def test_ps_lists_the_container_processes(isola, rbundle, new_id):
    cid = new_id("res")
    configure(rbundle, cid, {}, "sh", "-c", "sleep 1000 & exec sleep 1001")
    pid = start_detached(isola, rbundle, cid)
    assert B.wait_for(lambda: len(json.loads(isola("ps", "-f", "json", cid).stdout)) == 2, 5)
    r = isola("ps", "-f", "json", cid)
    assert r.returncode == 0, describe(r)
    pids = json.loads(r.stdout)
    assert pid in pids
    with open(os.path.join(cgdir(cid, "pids"), "cgroup.procs")) as f:
        assert sorted(pids) == sorted(int(x) for x in f.read().split())

    r = isola("ps", cid)
    assert r.returncode == 0, describe(r)
    lines = r.stdout.splitlines()
    assert "PID" in lines[0].split()
    col = lines[0].split().index("PID")
    assert sorted(int(l.split()[col]) for l in lines[1:]) == sorted(pids)

    r = isola("ps", cid, "-o", "pid,args")   # arguments after the id go to ps
    assert r.returncode == 0, describe(r)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["PID", "COMMAND"]
    assert sorted(l.split(None, 1)[1] for l in lines[1:]) == ["sleep 1000", "sleep 1001"]
    delete_clean(isola, rbundle, cid, pid)


# ---------------------------------------------------------------------------------------------
# events

def test_events_stats_is_one_runc_style_object(isola, rbundle, new_id):
    cid = new_id("res")
    configure(rbundle, cid, {"memory": {"limit": 64 * MiB}, "pids": {"limit": 50}},
              "sh", "-c", "sleep 1000 & exec sleep 1000")
    pid = start_detached(isola, rbundle, cid)
    assert B.wait_for(lambda: len(json.loads(isola("ps", "-f", "json", cid).stdout)) == 2, 5)
    r = isola("events", "--stats", cid)
    assert r.returncode == 0, describe(r)
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    ev = json.loads(lines[0])
    assert ev["type"] == "stats" and ev["id"] == cid
    d = ev["data"]
    for k in ("cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt",
              "network_interfaces"):
        assert k in d, k
    assert d["cpu"]["usage"]["total"] > 0
    assert d["memory"]["usage"]["limit"] == 64 * MiB
    assert d["memory"]["usage"]["usage"] > 0
    assert d["pids"] == {"current": 2, "limit": 50}
    delete_clean(isola, rbundle, cid, pid)


def test_events_streams_stats_until_the_container_stops(isola, rbundle, new_id):
    cid = new_id("res")
    configure(rbundle, cid, {}, "sleep", "1000")
    pid = start_detached(isola, rbundle, cid)
    ev = isola.popen("events", "--interval", "100ms", cid, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        assert ev.poll() is None, ev.stderr.read()
        assert isola("kill", cid, "KILL").returncode == 0
        out, err = ev.communicate(timeout=10)
    finally:
        if ev.poll() is None:
            ev.kill()
            ev.wait()
    assert ev.returncode == 0, err
    stats = json_lines(out)
    assert len(stats) >= 2, out
    assert all(s["type"] == "stats" and s["id"] == cid for s in stats)
    assert not any(s["type"] == "oom" for s in stats)
    delete_clean(isola, rbundle, cid, pid)


def test_events_matches_runc_keys(isola, runc, rbundle, new_id):
    """The stats document has runc's shape: same members at the top and in cpu and memory."""
    docs = {}
    for name, rt in (("isola", isola), ("runc", runc)):
        cid = new_id("res")
        configure(rbundle, cid, {"memory": {"limit": 64 * MiB}}, "sleep", "1000")
        r = rt.detached("run", rbundle, cid)
        assert r.returncode == 0, describe(r)
        r = rt("events", "--stats", cid)
        assert r.returncode == 0, describe(r)
        docs[name] = json.loads(r.stdout)
        assert rt("delete", "--force", cid).returncode == 0
    i, c = docs["isola"], docs["runc"]
    shown = json.dumps(docs)
    assert set(i) == set(c) and i["type"] == c["type"] == "stats", shown
    assert set(i["data"]) == set(c["data"]), shown
    assert set(i["data"]["cpu"]) == set(c["data"]["cpu"]), shown
    # Members runc always writes (the others are omitted when zero, in both).
    always = {"usage", "swap", "kernel", "kernelTCP"}
    assert always <= set(c["data"]["memory"]) and always <= set(i["data"]["memory"]), shown
    for k in always:
        assert {"limit", "failcnt"} <= set(i["data"]["memory"][k]), shown
    assert i["data"]["memory"]["usage"]["limit"] == c["data"]["memory"]["usage"]["limit"], shown


# ---------------------------------------------------------------------------------------------
# the command line

@pytest.mark.parametrize("cmd", ["update", "pause", "resume", "ps", "events"])
def test_help_and_usage_errors(isola, cmd):
    r = isola(cmd, "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: isola %s" % cmd), describe(r)
    r = isola(cmd)
    assert r.returncode != 0 and one_line_error(r), describe(r)
    r = isola(cmd, "no-such-container") if cmd != "update" else \
        isola(cmd, "--memory", "1m", "no-such-container")
    assert r.returncode != 0 and one_line_error(r), describe(r)
    assert "container `no-such-container` does not exist" in r.stderr


def test_events_interval_must_be_a_duration(isola):
    r = isola("events", "--interval", "soon", "x")
    assert r.returncode != 0 and one_line_error(r)
    assert "--interval: `soon` is not a duration" in r.stderr
