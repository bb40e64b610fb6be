"""OCI hooks: order, the state JSON on stdin, where each runs (runtime or container
namespace), args and env, timeouts, and the failure semantics the runtime spec gives each:
prestart/createRuntime/createContainer/startContainer failures are errors that stop the
container; poststart/poststop failures are warnings and the lifecycle goes on."""
import json
import os
import subprocess
import time

import pytest

import bundle as B
from bundle import describe, leftovers, one_line_error

KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop"]
# Hooks that run in the container's namespaces; the others run in the runtime's.
IN_CONTAINER = {"createContainer", "startContainer"}
# The state each hook is given (runtime-spec lifecycle; runc gives the same).
STATUS = {"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
          "startContainer": "created", "poststart": "running", "poststop": "stopped"}

# $0 is the hook kind (args[1] after "sh -c SCRIPT"), $LOG the directory to write to.
RECORD = ('cat > "$LOG/$0.stdin"; echo "$0" >> "$LOG/order"; '
          'readlink /proc/self/ns/mnt > "$LOG/$0.mnt"; '
          'readlink /proc/self/ns/net > "$LOG/$0.net"; '
          'env > "$LOG/$0.env"; echo "$@" > "$LOG/$0.args"')


def add_recording_hook(bundle, kind, log_dir):
    """A hook that records its stdin, namespaces, env and args under log_dir (a host path,
    or for startContainer a path inside the container)."""
    bundle.add_hook(kind, "/bin/sh", ["sh", "-c", RECORD, kind, "extra-arg"],
                    env=["LOG=%s" % log_dir, "HOOKVAR=hook value", "PATH=/usr/bin:/bin"])


def read(path):
    with open(path) as f:
        return f.read()


def ns_link(pid, ns):
    return os.readlink("/proc/%s/ns/%s" % (pid, ns))


def test_hooks_order_state_namespaces_env(isola, bundle, new_id, tmp_path):
    cid = new_id()
    host_log = str(tmp_path / "hooklog")
    os.makedirs(host_log)
    os.makedirs(os.path.join(bundle.rootfs, "hooklog"))
    ctr_log = os.path.join(bundle.rootfs, "hooklog")
    bundle.config["annotations"] = {"org.example.hook": "yes"}
    for kind in KINDS:
        add_recording_hook(bundle, kind, "/hooklog" if kind == "startContainer" else host_log)
    bundle.sh("echo program >> /hooklog/order; exec sleep 1000")

    r = isola.detached("create", bundle, cid)
    assert r.returncode == 0, describe(r)
    pid = isola.state(cid)["pid"]
    assert read(os.path.join(host_log, "order")).split() == ["prestart", "createRuntime",
                                                             "createContainer"]
    assert not os.path.exists(os.path.join(ctr_log, "order"))

    r = isola("start", cid)
    assert r.returncode == 0, describe(r)
    assert read(os.path.join(host_log, "order")).split() == [
        "prestart", "createRuntime", "createContainer", "poststart"]
    assert B.wait_file(os.path.join(ctr_log, "order"), contains="program") is not None
    assert read(os.path.join(ctr_log, "order")).split() == ["startContainer", "program"]
    # Namespaces, while the container still runs.
    ctr_mnt, ctr_net = ns_link(pid, "mnt"), ns_link(pid, "net")
    host_mnt, host_net = ns_link("self", "mnt"), ns_link("self", "net")

    assert isola("kill", cid, "KILL").returncode == 0
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    assert isola("delete", cid).returncode == 0
    assert read(os.path.join(host_log, "order")).split() == [
        "prestart", "createRuntime", "createContainer", "poststart", "poststop"]

    for kind in KINDS:
        d = ctr_log if kind == "startContainer" else host_log
        st = json.loads(read(os.path.join(d, kind + ".stdin")))
        assert st["id"] == cid, kind
        assert st["bundle"] == bundle.path, kind
        assert st["ociVersion"], kind
        assert st["status"] == STATUS[kind], "%s hook got status %r" % (kind, st["status"])
        if kind != "poststop":
            assert st["pid"] == pid, "%s hook got pid %r, not %d" % (kind, st.get("pid"), pid)
        assert st.get("annotations", {}).get("org.example.hook") == "yes", kind

        mnt = read(os.path.join(d, kind + ".mnt")).strip()
        net = read(os.path.join(d, kind + ".net")).strip()
        if kind in IN_CONTAINER:
            assert (mnt, net) == (ctr_mnt, ctr_net), "%s ran outside the container" % kind
        else:
            assert (mnt, net) == (host_mnt, host_net), "%s ran inside the container" % kind

        env = read(os.path.join(d, kind + ".env")).splitlines()
        assert "HOOKVAR=hook value" in env, kind
        assert not [e for e in env if e.startswith(B.MARK_ENV)], \
            "%s hook inherited the runtime's environment" % kind
        assert read(os.path.join(d, kind + ".args")).strip() == "extra-arg", kind
    assert leftovers(isola.root, cid, bundle, pid) == []


def test_hooks_run_by_run(isola, bundle, new_id, tmp_path):
    cid = new_id()
    log = str(tmp_path / "log")
    os.makedirs(log)
    for kind in ("createRuntime", "poststart", "poststop"):
        add_recording_hook(bundle, kind, log)
    bundle.sh("exit 5")
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 5, describe(r)
    assert read(os.path.join(log, "order")).split() == ["createRuntime", "poststart",
                                                        "poststop"]
    assert leftovers(isola.root, cid, bundle) == []


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_create_hook_failure_fails_create(isola, bundle, new_id, tmp_path, kind):
    cid = new_id()
    log = str(tmp_path / "log")
    os.makedirs(log)
    bundle.add_hook(kind, "/bin/sh", ["sh", "-c", "exit 3"])
    bundle.sh("touch /program-ran")
    r = isola.detached("create", bundle, cid)
    assert r.returncode != 0, "create succeeded although the %s hook failed" % kind
    assert one_line_error(r), describe(r)
    assert kind.lower() in r.stderr.lower(), "the error does not name the hook: %r" % r.stderr
    assert isola("state", cid).returncode != 0
    assert leftovers(isola.root, cid, bundle) == []
    assert not os.path.exists(os.path.join(bundle.rootfs, "program-ran"))


@pytest.mark.parametrize("cmd", ["create", "run"])
def test_hook_that_does_not_exist(isola, bundle, new_id, tmp_path, cmd):
    cid = new_id()
    bundle.add_hook("createRuntime", str(tmp_path / "no-such-hook"))
    bundle.args("true")
    r = isola.detached(cmd, bundle, cid)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert "no-such-hook" in r.stderr
    assert leftovers(isola.root, cid, bundle) == []


def test_start_container_hook_failure_fails_start(isola, bundle, new_id):
    cid = new_id()
    bundle.add_hook("startContainer", "/bin/sh", ["sh", "-c", "exit 4"])
    bundle.sh("touch /program-ran; exec sleep 1000")
    assert isola.detached("create", bundle, cid).returncode == 0
    pid = isola.state(cid)["pid"]
    r = isola("start", cid)
    assert r.returncode != 0, "start succeeded although the startContainer hook failed"
    assert one_line_error(r), describe(r)
    assert "startcontainer" in r.stderr.lower()
    # The container was stopped; the program never ran.
    s = isola("state", cid)
    if s.returncode == 0:
        assert json.loads(s.stdout)["status"] == "stopped"
    assert not B.pid_alive(pid)
    assert not os.path.exists(os.path.join(bundle.rootfs, "program-ran"))
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle, pid) == []


def test_poststart_failure_is_a_warning(isola, bundle, new_id, tmp_path):
    cid = new_id()
    marker = str(tmp_path / "second-ran")
    bundle.add_hook("poststart", "/bin/sh", ["sh", "-c", "exit 6"])
    bundle.add_hook("poststart", "/bin/sh", ["sh", "-c", 'touch "$0"', marker])
    bundle.args("sleep", "1000")
    assert isola.detached("create", bundle, cid).returncode == 0
    r = isola("start", cid)
    assert r.returncode == 0, describe(r)
    assert "poststart" in r.stderr.lower(), "no warning: %r" % r.stderr
    assert os.path.exists(marker), "the next poststart hook did not run"
    assert isola.state(cid)["status"] == "running"
    assert isola("delete", "--force", cid).returncode == 0
    assert leftovers(isola.root, cid, bundle) == []


def test_poststop_failure_is_a_warning(isola, bundle, new_id, tmp_path):
    cid = new_id()
    marker = str(tmp_path / "second-ran")
    bundle.add_hook("poststop", "/bin/sh", ["sh", "-c", "exit 6"])
    bundle.add_hook("poststop", "/bin/sh", ["sh", "-c", 'touch "$0"', marker])
    bundle.args("true")
    assert isola.detached("run", bundle, cid).returncode == 0
    assert isola.wait_status(cid, "stopped")["status"] == "stopped"
    r = isola("delete", cid)
    assert r.returncode == 0, describe(r)
    assert "poststop" in r.stderr.lower(), "no warning: %r" % r.stderr
    assert os.path.exists(marker), "the next poststop hook did not run"
    assert leftovers(isola.root, cid, bundle) == []


@pytest.mark.parametrize("kind", ["createRuntime", "createContainer"])
def test_hook_timeout(isola, bundle, new_id, tmp_path, kind):
    cid = new_id()
    pidfile = str(tmp_path / "hook.pid")
    bundle.add_hook(kind, "/bin/sh", ["sh", "-c", 'echo $$ > "$0"; exec sleep 30', pidfile],
                    env=["%s=%s" % (B.MARK_ENV, cid)], timeout=1)
    bundle.args("true")
    t0 = time.monotonic()
    r = isola.detached("create", bundle, cid)
    took = time.monotonic() - t0
    assert r.returncode != 0, "create succeeded although the hook timed out"
    assert took < 10, "create took %.1fs with a 1s hook timeout" % took
    assert one_line_error(r), describe(r)
    assert "tim" in r.stderr.lower(), "the error does not say it timed out: %r" % r.stderr
    # The hook carries the leftover mark in its env: it must be gone too.
    assert read(pidfile).strip()
    assert B.wait_for(lambda: not [q for q in B.marked_processes(cid) if
                                   B.read_cmdline(q) == ["sleep", "30"]], 5), \
        "the timed-out hook still runs"
    assert leftovers(isola.root, cid, bundle) == []


def test_hook_within_timeout_succeeds(isola, bundle, new_id):
    cid = new_id()
    bundle.add_hook("createRuntime", "/bin/sh", ["sh", "-c", "sleep 0.2"], timeout=5)
    bundle.args("true")
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, describe(r)
    assert leftovers(isola.root, cid, bundle) == []


def test_hook_timeout_must_be_positive(isola, bundle, new_id):
    cid = new_id()
    bundle.add_hook("createRuntime", "/bin/true", timeout=0)
    bundle.args("true")
    r = isola.run(bundle, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert "hooks.createRuntime[0].timeout" in r.stderr
    assert leftovers(isola.root, cid, bundle) == []
