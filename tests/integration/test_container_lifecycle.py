"""Lifecycle: create -> created -> start -> running -> stopped -> delete; run (foreground and
detached) and its exit status; kill with names and numbers; list; pid files; concurrent
commands on one id; a runtime killed half-way."""
import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import bundle as B
from bundle import describe, leftovers, one_line_error


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


# ---------------------------------------------------------------------------------------------
# create / start / state / delete

def test_create_leaves_process_paused_before_exec(isola, bundle, new_id):
    cid = new_id()
    bundle.args("sleep", "1000")
    r = isola.detached("create", bundle, cid)
    assert r.returncode == 0, describe(r)

    st = isola.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert st["bundle"] == bundle.path
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert "ociVersion" in st
    pid = st["pid"]
    assert B.pid_alive(pid), "created container's process %d does not exist" % pid
    # Paused before execve of the user program: its command line is not the program's yet.
    assert B.read_cmdline(pid) != ["sleep", "1000"]

    r = isola("start", cid)
    assert r.returncode == 0, describe(r)
    st = isola.state(cid)
    assert st["status"] == "running"
    assert st["pid"] == pid
    assert B.wait_for(lambda: B.read_cmdline(pid) == ["sleep", "1000"], 5), \
        "after start, pid %d runs %r, not the user program" % (pid, B.read_cmdline(pid))

    r = isola("kill", cid, "KILL")
    assert r.returncode == 0, describe(r)
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"

    r = isola("delete", cid)
    assert r.returncode == 0, describe(r)
    assert isola("state", cid).returncode != 0
    assert leftovers(isola.root, cid, bundle, pid) == []


def test_program_output_goes_to_create_stdio_and_exit_means_stopped(isola, bundle, new_id):
    cid = new_id()
    bundle.sh("echo to-stdout; echo to-stderr >&2; exit 3")
    r = isola.detached("create", bundle, cid)
    assert r.returncode == 0, describe(r)
    assert read(r.out) == "", "the program ran before start"
    pid = isola.state(cid)["pid"]

    r2 = isola("start", cid)
    assert r2.returncode == 0, describe(r2)
    st = isola.wait_status(cid, "stopped")
    assert st["status"] == "stopped"
    assert read(r.out) == "to-stdout\n"
    assert "to-stderr\n" in read(r.err)

    assert isola("delete", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid) == []


def test_start_releases_the_user_program_exactly_once(isola, bundle, new_id):
    cid = new_id()
    bundle.sh("echo ran >> /ran; exec sleep 1000")
    assert isola.detached("create", bundle, cid).returncode == 0
    assert not os.path.exists(os.path.join(bundle.rootfs, "ran"))
    assert isola("start", cid).returncode == 0
    assert B.wait_file(os.path.join(bundle.rootfs, "ran")) == "ran\n"

    r = isola("start", cid)
    assert r.returncode != 0, "start on a running container succeeded"
    assert one_line_error(r), describe(r)
    assert isola.state(cid)["status"] == "running"
    time.sleep(0.1)
    assert read(os.path.join(bundle.rootfs, "ran")) == "ran\n"

    pid = isola.state(cid)["pid"]
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid) == []


def test_start_on_stopped_fails(isola, bundle, new_id):
    cid = new_id()
    bundle.args("true")
    assert isola.detached("create", bundle, cid).returncode == 0
    assert isola("start", cid).returncode == 0
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    r = isola("start", cid)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert isola.state(cid)["status"] == "stopped"
    assert isola("delete", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle) == []


def test_delete_created_container_with_force(isola, bundle, new_id):
    cid = new_id()
    bundle.args("sleep", "1000")
    assert isola.detached("create", bundle, cid).returncode == 0
    pid = isola.state(cid)["pid"]
    r = isola("delete", "--force", cid)
    assert r.returncode == 0, describe(r)
    assert isola("state", cid).returncode != 0
    assert leftovers(isola.root, cid, bundle, pid) == []


@pytest.mark.parametrize("flag", ["--force", "-f"])
def test_delete_force_running(isola, bundle, new_id, flag):
    cid = new_id()
    bundle.args("sleep", "1000")
    assert isola.detached("run", bundle, cid).returncode == 0
    pid = isola.state(cid)["pid"]
    assert B.pid_alive(pid)
    r = isola("delete", flag, cid)
    assert r.returncode == 0, describe(r)
    assert not B.pid_alive(pid)
    assert leftovers(isola.root, cid, bundle, pid) == []


def test_delete_running_without_force_fails_and_changes_nothing(isola, bundle, new_id):
    cid = new_id()
    bundle.args("sleep", "1000")
    assert isola.detached("run", bundle, cid).returncode == 0
    pid = isola.state(cid)["pid"]
    r = isola("delete", cid)
    assert r.returncode != 0, "delete of a running container without --force succeeded"
    assert one_line_error(r), describe(r)
    st = isola.state(cid)
    assert st["status"] == "running" and st["pid"] == pid and B.pid_alive(pid)
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid) == []


def test_delete_twice_fails_the_second_time(isola, bundle, new_id):
    cid = new_id()
    bundle.args("true")
    assert isola.detached("run", bundle, cid).returncode == 0
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    assert isola("delete", cid).returncode == 0
    r = isola("delete", cid)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert leftovers(isola.root, cid, bundle) == []


# ---------------------------------------------------------------------------------------------
# run

@pytest.mark.parametrize("code", [0, 1, 7, 255])
def test_run_exits_with_program_status(isola, bundle, new_id, code):
    cid = new_id()
    bundle.sh("echo hello; exit %d" % code)
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == code, describe(r)
    assert r.stdout == "hello\n"
    # run deletes the container after it exits, as runc run does.
    assert isola("state", cid).returncode != 0
    assert leftovers(isola.root, cid, bundle) == []


@pytest.mark.parametrize("pidns,sig,expect", [
    (True, "KILL", 137), (True, "9", 137), (True, "SIGKILL", 137),
    (False, "TERM", 143), (False, "15", 143), (False, "SIGINT", 130),
])
def test_run_exit_status_after_signal(isola, bundle, new_id, pidns, sig, expect):
    """An init in its own pid namespace ignores signals it has no handler for (except
    SIGKILL), so the catchable signals are checked without a pid namespace."""
    cid = new_id()
    if not pidns:
        bundle.drop_namespace("pid")
    bundle.sh("echo ready; exec sleep 1000")
    bundle.mark(cid).write()
    p = isola.popen("run", "--bundle", bundle.path, cid, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cid=cid)
    try:
        with B.watchdog(p):
            assert p.stdout.readline() == "ready\n"
        assert B.wait_for(lambda: B.read_cmdline(isola.state(cid)["pid"]) ==
                          ["sleep", "1000"], 5)
        r = isola("kill", cid, sig)
        assert r.returncode == 0, describe(r)
        rc = p.wait(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == expect, "run exited %d after kill %s: %s" % (rc, sig, p.stderr.read())
    assert leftovers(isola.root, cid, bundle) == []


@pytest.mark.parametrize("sig,name", [(signal.SIGTERM, "TERM"), (signal.SIGHUP, "HUP"),
                                      (signal.SIGUSR1, "USR1")])
def test_run_forwards_signals_to_the_container(isola, bundle, new_id, sig, name):
    cid = new_id()
    bundle.sh('trap "echo got-%s; exit 3" %s; echo ready; '
              'while :; do sleep 1 & wait $!; done' % (name, name))
    bundle.mark(cid).write()
    p = isola.popen("run", "--bundle", bundle.path, cid, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cid=cid)
    try:
        with B.watchdog(p):
            assert p.stdout.readline() == "ready\n"
            p.send_signal(sig)
            rc = p.wait(timeout=15)
            out = p.stdout.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "got-%s" % name in out, "the container did not get SIG%s: %r" % (name, out)
    assert rc == 3
    assert leftovers(isola.root, cid, bundle) == []


def test_run_detach(isola, bundle, new_id):
    cid = new_id()
    bundle.sh("echo detached-out; exec sleep 1000")
    t0 = time.monotonic()
    r = isola.detached("run", bundle, cid)
    assert r.returncode == 0, describe(r)
    assert time.monotonic() - t0 < 10
    st = isola.state(cid)
    assert st["status"] == "running"
    assert B.pid_alive(st["pid"])
    assert B.wait_file(r.out, contains="detached-out") is not None
    assert isola("kill", cid, "KILL").returncode == 0
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    assert isola("delete", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, st["pid"]) == []


def test_run_of_missing_program_fails(isola, bundle, new_id):
    cid = new_id()
    bundle.args("no-such-program")
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "no-such-program" in r.stderr, describe(r)
    assert leftovers(isola.root, cid, bundle) == []


# ---------------------------------------------------------------------------------------------
# kill

TRAPS = ('for s in HUP USR1 USR2 TERM; do trap "echo got-$s" $s; done; '
         'trap "echo got-TERM; exit 0" TERM; echo ready; '
         'while :; do sleep 1 & wait $!; done')


def test_kill_with_names_and_numbers(isola, bundle, new_id):
    cid = new_id()
    bundle.sh(TRAPS)
    r = isola.detached("run", bundle, cid)
    assert r.returncode == 0, describe(r)
    assert B.wait_file(r.out, contains="ready") is not None
    pid = isola.state(cid)["pid"]
    expected = []
    for sig, name in [("USR1", "USR1"), ("SIGUSR2", "USR2"), ("1", "HUP"), ("SIGHUP", "HUP"),
                      ("10", "USR1"), ("usr2", "USR2")]:
        expected.append("got-" + name)
        k = isola("kill", cid, sig)
        assert k.returncode == 0, "kill %s: %s" % (sig, describe(k))
        want = "\n".join(["ready"] + expected) + "\n"
        got = B.wait_for(lambda: read(r.out) == want and read(r.out), 5)
        assert got == want, "after kill %s the container printed %r" % (sig, read(r.out))
    # No signal: SIGTERM, as runc.
    k = isola("kill", cid)
    assert k.returncode == 0, describe(k)
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    assert read(r.out).endswith("got-TERM\n")
    assert isola("delete", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid) == []


@pytest.mark.parametrize("sig", ["NOSUCHSIG", "SIGFOO", "65", "-1", "1.5"])
def test_kill_with_invalid_signal_fails(isola, bundle, new_id, sig):
    cid = new_id()
    bundle.args("sleep", "1000")
    assert isola.detached("run", bundle, cid).returncode == 0
    r = isola("kill", cid, sig)
    assert r.returncode != 0, "kill %r succeeded" % sig
    assert one_line_error(r), describe(r)
    assert isola.state(cid)["status"] == "running"
    assert isola("delete", "--force", cid).returncode == 0


def test_kill_created_container(isola, bundle, new_id):
    cid = new_id()
    bundle.args("sleep", "1000")
    assert isola.detached("create", bundle, cid).returncode == 0
    pid = isola.state(cid)["pid"]
    r = isola("kill", cid, "KILL")
    assert r.returncode == 0, describe(r)
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    assert not B.pid_alive(pid)
    assert isola("delete", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid) == []


def test_kill_stopped_container_fails(isola, bundle, new_id):
    cid = new_id()
    bundle.args("true")
    assert isola.detached("run", bundle, cid).returncode == 0
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    r = isola("kill", cid, "KILL")
    assert r.returncode != 0, "kill of a stopped container succeeded"
    assert one_line_error(r), describe(r)
    assert isola("delete", cid).returncode == 0


def cgroup_procs(pid):
    """The pids in the first v1 (or else v2) cgroup of `pid`."""
    hier = dict((key, mnt) for mnt, key in B.cgroup_hierarchies())
    cg = B.proc_cgroups(pid)
    for key, path in sorted(cg.items(), key=lambda kv: kv[0] == ""):
        if key in hier:
            with open(os.path.join(hier[key], path.lstrip("/"), "cgroup.procs")) as f:
                return [int(x) for x in f.read().split()]
    return []


def test_kill_all_reaches_every_process_in_the_container(isola, bundle, new_id):
    """Without a pid namespace, killing init does not take its children down: --all must find
    them (in the container's cgroup)."""
    cid = new_id()
    bundle.drop_namespace("pid")
    bundle.linux["cgroupsPath"] = "/isola-it/" + cid
    bundle.sh("sleep 1000 & sleep 1000 & echo ready; wait")
    r = isola.detached("run", bundle, cid)
    assert r.returncode == 0, describe(r)
    assert B.wait_file(r.out, contains="ready") is not None
    pid = isola.state(cid)["pid"]
    procs = B.wait_for(lambda: len(cgroup_procs(pid)) >= 3 and cgroup_procs(pid), 5)
    assert procs and pid in procs, "container cgroup holds %r" % cgroup_procs(pid)

    k = isola("kill", "--all", cid, "KILL")
    assert k.returncode == 0, describe(k)
    assert B.wait_for(lambda: not any(B.pid_alive(p) for p in procs), 5), \
        "still alive after kill --all: %r" % [p for p in procs if B.pid_alive(p)]
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    assert isola("delete", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid) == []


# ---------------------------------------------------------------------------------------------
# list

def test_list_formats(isola, make_bundle, new_id):
    b1, b2 = make_bundle(), make_bundle()
    c1, c2 = new_id(), new_id()
    b1.args("sleep", "1000")
    b2.args("sleep", "1000")
    assert isola.detached("create", b1, c1).returncode == 0
    assert isola.detached("run", b2, c2).returncode == 0

    r = isola("list")
    assert r.returncode == 0, describe(r)
    lines = r.stdout.splitlines()
    header = lines[0].split()
    assert "ID" in header and "STATUS" in header and "PID" in header, lines[0]
    rows = {l.split()[0]: l.split() for l in lines[1:] if l.strip()}
    assert set(rows) == {c1, c2}
    assert "created" in rows[c1] and "running" in rows[c2]

    r = isola("list", "--format", "json")
    assert r.returncode == 0, describe(r)
    items = {c["id"]: c for c in json.loads(r.stdout)}
    assert set(items) == {c1, c2}
    assert items[c1]["status"] == "created" and items[c2]["status"] == "running"
    assert items[c1]["pid"] == isola.state(c1)["pid"]
    assert items[c2]["bundle"] == b2.path

    r = isola("list", "-q")
    assert r.returncode == 0, describe(r)
    assert sorted(r.stdout.split()) == sorted([c1, c2])

    for c, b in ((c1, b1), (c2, b2)):
        assert isola("delete", "--force", c).returncode == 0
        assert leftovers(isola.root, c, b) == []
    r = isola("list", "-q")
    assert r.returncode == 0 and r.stdout.strip() == ""


def test_list_empty_root(isola):
    r = isola("list", "--format", "json")
    assert r.returncode == 0, describe(r)
    assert json.loads(r.stdout) in ([], None)
    r = isola("list")
    assert r.returncode == 0, describe(r)
    assert len([l for l in r.stdout.splitlines() if l.strip()]) <= 1


# ---------------------------------------------------------------------------------------------
# pid file

@pytest.mark.parametrize("cmd", ["create", "run"])
def test_pid_file(isola, bundle, new_id, tmp_path, cmd):
    cid = new_id()
    bundle.args("sleep", "1000")
    pidfile = str(tmp_path / "sub" / "c.pid")
    os.makedirs(os.path.dirname(pidfile))
    r = isola.detached(cmd, bundle, cid, "--pid-file", pidfile)
    assert r.returncode == 0, describe(r)
    pid = isola.state(cid)["pid"]
    assert read(pidfile).strip() == str(pid)
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid) == []


def test_pid_file_relative_to_cwd(isola, bundle, new_id, tmp_path):
    cid = new_id()
    bundle.args("sleep", "1000")
    r = isola.detached("create", bundle, cid, "--pid-file", "rel.pid", cwd=str(tmp_path))
    assert r.returncode == 0, describe(r)
    assert read(str(tmp_path / "rel.pid")).strip() == str(isola.state(cid)["pid"])
    assert isola("delete", "--force", cid).returncode == 0


# ---------------------------------------------------------------------------------------------
# concurrency

def parallel(n, fn):
    with ThreadPoolExecutor(max_workers=n) as ex:
        return list(ex.map(lambda i: fn(i), range(n)))


def state_json_files(root, cid):
    out = []
    d = os.path.join(root, cid)
    if os.path.isdir(d):
        for name in os.listdir(d):
            if name.endswith(".json"):
                out.append(os.path.join(d, name))
    return out


def test_concurrent_state_kill_delete_on_one_id(isola, bundle, new_id):
    cid = new_id()
    bundle.args("sleep", "1000")
    assert isola.detached("create", bundle, cid).returncode == 0
    assert isola("start", cid).returncode == 0
    pid = isola.state(cid)["pid"]

    # 8 readers at once, mixed with kill of a harmless signal.
    def mixed(i):
        return isola("state", cid) if i % 2 == 0 else isola("kill", cid, "CONT")
    for r in parallel(8, mixed):
        assert r.returncode == 0, describe(r)
        if r.args[3] == "state":
            st = json.loads(r.stdout)
            assert st["status"] == "running" and st["pid"] == pid
    for f in state_json_files(isola.root, cid):
        json.load(open(f))  # never a torn file

    # 8 kills at once: the container stops, every kill either succeeds or fails cleanly.
    results = parallel(8, lambda i: isola("kill", cid, "KILL"))
    assert any(r.returncode == 0 for r in results)
    for r in results:
        assert r.returncode == 0 or one_line_error(r), describe(r)
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    for f in state_json_files(isola.root, cid):
        json.load(open(f))

    # 4 deletes and 12 states at once: exactly one delete wins, the rest fail cleanly, and a
    # state sees the stopped container or none at all.
    def deleter(i):
        return isola("delete", cid) if i % 4 == 0 else isola("state", cid)
    results = parallel(16, deleter)
    deletes = [r for r in results if r.args[3] == "delete"]
    assert sum(r.returncode == 0 for r in deletes) == 1, \
        "\n".join(describe(r) for r in deletes)
    for r in results:
        assert r.returncode == 0 or one_line_error(r), describe(r)
        if r.returncode == 0 and r.args[3] == "state":
            assert json.loads(r.stdout)["status"] == "stopped"
    assert leftovers(isola.root, cid, bundle, pid) == []


def test_concurrent_delete_and_state_rounds(isola, bundle, new_id):
    """A state that races a delete sees the stopped container or none — never a half-deleted
    one. Several rounds, as the window is small."""
    bundle.args("true")
    for _ in range(8):
        cid = new_id()
        assert isola.detached("run", bundle, cid).returncode == 0
        assert isola.wait_status(cid, "stopped")["status"] == "stopped"
        results = parallel(12, lambda i: isola("delete", cid) if i == 0 else
                           isola("state", cid))
        assert results[0].returncode == 0, describe(results[0])
        for r in results[1:]:
            if r.returncode == 0:
                assert json.loads(r.stdout)["status"] == "stopped", r.stdout
            else:
                assert one_line_error(r) and cid in r.stderr, describe(r)
        assert leftovers(isola.root, cid, bundle) == []


def test_concurrent_create_of_one_id(isola, bundle, new_id):
    cid = new_id()
    bundle.args("sleep", "1000")
    bundle.mark(cid).write()
    results = parallel(8, lambda i: isola.detached("create", bundle, cid, write=False,
                                                   name="%s.%d" % (cid, i)))
    ok = [r for r in results if r.returncode == 0]
    assert len(ok) == 1, "\n".join(describe(r) for r in results)
    for r in results:
        assert r.returncode == 0 or one_line_error(r), describe(r)
    st = isola.state(cid)
    assert st["status"] == "created"
    # The losers left no process behind: the only one marked with the id is the winner's.
    assert set(B.marked_processes(cid)) <= {st["pid"]}, B.marked_processes(cid)
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, st["pid"]) == []


# ---------------------------------------------------------------------------------------------
# a runtime killed half-way

@pytest.mark.parametrize("hook", ["createRuntime", "createContainer"])
def test_sigkill_during_create_then_delete_force_cleans(isola, bundle, new_id, tmp_path, hook):
    cid = new_id()
    marker = str(tmp_path / "hook.pid")
    bundle.args("sleep", "1000")
    bundle.linux["cgroupsPath"] = "/isola-it/" + cid
    bundle.add_hook(hook, "/bin/sh", ["sh", "-c", 'echo $$ > "$0"; exec sleep 60', marker])
    bundle.mark(cid).write()
    out = open(str(tmp_path / "create.out"), "wb")
    p = isola.popen("create", "--bundle", bundle.path, cid, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=out, cid=cid)
    out.close()
    hook_pid = None
    try:
        # The hook's $$ may be a pid in the container's pid namespace: find its host pid
        # among the runtime's descendants.
        assert B.wait_file(marker, contains="\n") is not None, \
            "the %s hook never ran; create output: %s" % (hook, read(str(tmp_path /
                                                                            "create.out")))
        hooks = B.wait_for(lambda: [q for q in B.descendants(p.pid)
                                    if B.read_cmdline(q) == ["sleep", "60"]], 5)
        assert len(hooks) == 1, hooks
        hook_pid = hooks[0]
        family = B.descendants(p.pid)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if hook_pid:
            B.kill_quietly(hook_pid)
    r = isola("delete", "--force", cid)
    assert r.returncode == 0, describe(r)
    assert isola("state", cid).returncode != 0
    left = leftovers(isola.root, cid, bundle)
    alive = [q for q in family if q != hook_pid and B.pid_alive(q)]
    assert left == [] and alive == [], "leftovers %r, live processes of the killed create: %r" % (
        left, [(q, B.read_cmdline(q)) for q in alive])
