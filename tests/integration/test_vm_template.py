"""VM templates (src/vm/template.c), driven through the real binary.

The first VM of a machine shape builds a template (boots a guest, parks its agent, saves it)
inside its `create`; it and every later VM of that shape are restored from it. Covered here:
the template's files and what is left around them; `isola state` (io.isola.vm.start) and
monitor.log saying how a VM came up; fresh random numbers and the host's time in restored
guests; ISOLA_VM_TEMPLATES=off; one template per shape; a damaged template set aside (its VM
boots; later ones boot until the `.failed` note goes); the unused share slots (empty,
read-only) next to a used one; VMs started together waiting for one build; a build killed
half-way (no QEMU left; the next VM cleans up and builds).

Each test uses a templates directory of its own (ISOLA_VM_TEMPLATES in the env of `create`:
the monitor, forked from it, builds and restores). Skipped, saying why, like test_vm.py.

Run (as root):  /usr/bin/python3 -m pytest -q tests/integration/test_vm_template.py
"""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

import bundle as B
from test_vm import (VM, _kvm_usable, assert_clean, qemu_processes,  # noqa: F401 (fixtures)
                     vbundle, vm_ready)

HEX = set("0123456789abcdef")


@pytest.fixture(autouse=True)
def tcg_only():
    """Templates are used under TCG only for now (src/vm/template.c): with KVM a VM boots."""
    if _kvm_usable():
        pytest.skip("KVM is usable here: the vm engine boots its VMs (templates are TCG-only)")


def tpl_env(tpl, **more):
    return dict(os.environ, ISOLA_VM_TEMPLATES=str(tpl), **more)


def listing(tpl):
    """(template dirs, .build-* dirs, .failed notes) in the templates directory `tpl`."""
    names = sorted(os.listdir(str(tpl))) if os.path.isdir(str(tpl)) else []
    dirs = [n for n in names if len(n) == 16 and set(n) <= HEX and os.path.isdir(os.path.join(
        str(tpl), n))]
    return dirs, [n for n in names if n.startswith(".build-")], \
        [n for n in names if n.endswith(".failed")]


def read(path):
    with open(str(path), errors="replace") as f:
        return f.read()


def how_started(isola, cid):
    """How the VM came up, as `isola state` says (annotation io.isola.vm.start): "template"
    (restored from one) or "boot"; the same as the state.json the runtime keeps."""
    shown = isola.state(cid).get("annotations", {}).get("io.isola.vm.start")
    with open(os.path.join(isola.root, cid, "state.json")) as f:
        kept = json.load(f).get("extra", {}).get("start")
    assert shown == kept, (shown, kept)
    return shown


def vm(isola, b, cid, env, console=None):
    """create (with `env`), start, wait for the end, delete: (how it started, stdout,
    monitor.log); checks that the VM left nothing. `console`, a list, gets console.log."""
    r = isola.detached("create", b, cid, global_args=VM, env=env, timeout=120)
    assert r.returncode == 0, B.describe(r)
    st = isola.state(cid)
    start = how_started(isola, cid)
    log = os.path.join(isola.root, cid, "monitor.log")
    r2 = isola("start", cid)
    assert r2.returncode == 0, B.describe(r2) + "\nmonitor.log:\n" + read(log)
    assert isola.wait_status(cid, "stopped", timeout=60)["status"] == "stopped", read(log)
    out, mlog = read(r.out), read(log)
    if console is not None:
        console.append(read(os.path.join(isola.root, cid, "console.log")))
    r3 = isola("delete", cid)
    assert r3.returncode == 0, B.describe(r3)
    assert_clean(isola, cid, b, pid=st["pid"])
    return start, out, mlog


def test_first_vm_builds_the_template_later_ones_restore(isola, vbundle, new_id, tmp_path):
    tpl = tmp_path / "tpl"
    env = tpl_env(tpl)
    vbundle.sh("echo hello from $(uname -r)")
    start, out, log = vm(isola, vbundle, new_id("vt"), env)
    assert out.startswith("hello from ") and out.count("\n") == 1, out
    assert start == "template", "the first VM was not restored from the template it built:\n" + log
    dirs, builds, failed = listing(tpl)
    assert len(dirs) == 1 and not builds and not failed, os.listdir(str(tpl))
    d = tpl / dirs[0]
    assert sorted(n for n in os.listdir(str(d)) if n != "console.log") == \
        ["key", "ram", "release", "state"], os.listdir(str(d))
    assert "template: %s (" % d in log and "(restored)" in log, log
    assert read(d / "release").strip() == out.split()[-1], "release file vs the guest's uname -r"
    assert (tpl / (dirs[0] + ".lock")).exists()
    st = os.stat(str(d / "ram"))
    assert st.st_size >= 256 << 20, st
    assert st.st_blocks * 512 < st.st_size // 16, "ram is not sparse: %d of %d bytes allocated" % (
        st.st_blocks * 512, st.st_size)
    assert 0 < os.stat(str(d / "state")).st_size < 16 << 20
    empty = tpl / "empty"
    assert os.listdir(str(empty)) == [] and os.stat(str(empty)).st_mode & 0o777 == 0o555
    saved = os.stat(str(d / "state"))
    assert qemu_processes(str(tpl)) == [], "the build's QEMU (or the VM's) is left"

    start, out2, log = vm(isola, vbundle, new_id("vt"), env)
    assert out2 == out, (out, out2)
    assert start == "template" and "(restored)" in log and "template: %s (" % d in log, log
    now = os.stat(str(d / "state"))
    assert (now.st_ino, now.st_mtime_ns) == (saved.st_ino, saved.st_mtime_ns), "rebuilt"
    assert listing(tpl) == ([dirs[0]], [], [])
    assert qemu_processes(str(tpl)) == [], "a QEMU of the templates dir is left"


def _draws(out):
    lines = out.split()
    assert len(lines) == 3, out
    return lines[0], lines[1], int(lines[2])


def test_restored_vms_draw_different_random_numbers_and_have_the_time(isola, vbundle, new_id,
                                                                       tmp_path):
    """Two VMs restored from one template: the agent took RESUME (its trace says so; a clock
    or reseed that failed would have ended the VM with an error), their kernel's random
    numbers differ, and their clock is the host's (not the template's: it is made older than
    the tolerance before the second VM). Different numbers are what the kernel's own early
    reseeding from interrupt timing mostly gives too; RESUME's reseed makes them independent
    of timing, which no test here can tell apart."""
    tpl = tmp_path / "tpl"
    env = tpl_env(tpl, ISOLA_VM_TRACE="1")
    vbundle.sh("cat /proc/sys/kernel/random/uuid; "
               "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; date +%s")
    seen = []
    for i in range(2):
        if i == 1:  # the saved guest's clock would now be >= 8 s behind
            dirs = listing(tpl)[0]
            assert len(dirs) == 1, os.listdir(str(tpl))
            age = time.time() - os.stat(str(tpl / dirs[0] / "state")).st_mtime
            time.sleep(max(0.0, 8.0 - age))
        t0 = time.time()
        console = []
        start, out, log = vm(isola, vbundle, new_id("vt"), env, console)
        t1 = time.time()
        assert start == "template", log
        assert "isola-agent: resumed: clock set, random generator reseeded" in console[0], \
            console[0][-2000:]
        uuid_, rnd, date = _draws(out)
        assert len(uuid_) == 36 and len(rnd) == 32, out
        assert t0 - 5 <= date <= t1 + 5, "guest time %d, host %d..%d" % (date, t0, t1)
        seen.append((uuid_, rnd))
    assert seen[0][0] != seen[1][0], "same uuid in two restored VMs: %s" % seen
    assert seen[0][1] != seen[1][1], "same /dev/urandom bytes in two restored VMs: %s" % seen


def _features_templates(isola_bin, env):
    r = subprocess.run([isola_bin, "features"], capture_output=True, text=True, env=env, timeout=20)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["io.isola.engines"]["vm"]["templates"]


def test_templates_off_boots(isola, isola_bin, vbundle, new_id, tmp_path):
    assert _features_templates(isola_bin, tpl_env("off")) is None
    assert _features_templates(isola_bin, tpl_env(tmp_path / "tpl")) == str(tmp_path / "tpl")
    vbundle.sh("echo booted")
    start, out, log = vm(isola, vbundle, new_id("vt"), tpl_env("off"))
    assert out == "booted\n", out
    assert start == "boot", log
    assert "template: none: templates are off" in log and "(restored)" not in log, log


def test_the_annotation_turns_templates_off_for_one_container(isola, vbundle, new_id, tmp_path):
    tpl = tmp_path / "tpl"
    vbundle.sh("echo booted")
    vbundle.config.setdefault("annotations", {})["io.isola.vm.template"] = "off"
    start, out, log = vm(isola, vbundle, new_id("vt"), tpl_env(tpl))
    assert (start, out) == ("boot", "booted\n"), log
    assert "template: none: off for this container (io.isola.vm.template)" in log, log
    assert listing(tpl)[0] == [], "a template was built for a container that said off"
    vbundle.config["annotations"]["io.isola.vm.template"] = "maybe"
    cid = new_id("vt")
    r = isola.run(vbundle, cid, global_args=VM, env=tpl_env(tpl))
    assert r.returncode != 0 and B.one_line_error(r), B.describe(r)
    assert "annotations.io.isola.vm.template" in r.stderr and "maybe" in r.stderr, r.stderr
    assert_clean(isola, cid, vbundle)


def test_another_shape_gets_its_own_template(isola, vbundle, new_id, tmp_path):
    tpl = tmp_path / "tpl"
    env = tpl_env(tpl)
    vbundle.sh("awk '/MemTotal/ {print $2}' /proc/meminfo")
    start, out, log = vm(isola, vbundle, new_id("vt"), env)
    assert start == "template", log
    first = listing(tpl)[0]
    assert len(first) == 1, os.listdir(str(tpl))
    vbundle.config.setdefault("annotations", {})["io.isola.vm.memory_mib"] = "200"
    start, out200, log = vm(isola, vbundle, new_id("vt"), env)
    assert start == "template", log
    dirs, builds, failed = listing(tpl)
    assert len(dirs) == 2 and first[0] in dirs and not builds and not failed, os.listdir(str(tpl))
    other = [d for d in dirs if d != first[0]][0]
    assert "template: %s (" % (tpl / other) in log, log
    assert read(tpl / first[0] / "key") != read(tpl / other / "key")
    assert int(out200) <= 200 * 1024 < int(out), (out, out200)


def test_a_damaged_template_is_set_aside_and_the_vm_boots(isola, vbundle, new_id, tmp_path):
    tpl = tmp_path / "tpl"
    env = tpl_env(tpl)
    vbundle.sh("echo works")
    start, out, log = vm(isola, vbundle, new_id("vt"), env)
    assert (start, out) == ("template", "works\n"), log
    (hexname,) = listing(tpl)[0]
    with open(str(tpl / hexname / "state"), "r+b") as f:
        f.write(os.urandom(4096))
        f.truncate(4096)

    start, out, log = vm(isola, vbundle, new_id("vt"), env)
    assert out == "works\n", log
    assert start == "boot", "restoring a damaged template did not fall back to a boot:\n" + log
    note = tpl / (hexname + ".failed")
    assert note.exists() and read(note).strip(), os.listdir(str(tpl))
    assert not (tpl / hexname).exists(), "the damaged template is still there"
    assert "while restoring it" in log or "restore failed" in log, log

    start, out, log = vm(isola, vbundle, new_id("vt"), env)
    assert (start, out) == ("boot", "works\n"), log
    assert "template: none: building it failed before" in log, log
    assert listing(tpl)[0] == [], "a template was built despite the .failed note"

    os.unlink(str(note))
    start, out, log = vm(isola, vbundle, new_id("vt"), env)
    assert (start, out) == ("template", "works\n"), log
    assert listing(tpl) == ([hexname], [], [])


def test_unused_share_slots_are_empty_and_read_only(isola, vm_ready, vmguest, make_bundle, new_id,
                                                     tmp_path):
    """In a restored VM every share slot exists; the unused ones show the templates dir's
    empty directory, read-only; the container's own bind mount is a working rw share."""
    tpl = tmp_path / "tpl"
    b = make_bundle().hostile_guest(vmguest)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    (shared / "from-host").write_text("host data\n")
    b.add_mount("/shared", "bind", str(shared), ["rbind", "rw"])
    b.sh("/vmguest tags; /vmguest mount9p s7 /; mkdir -p /m7; "
         "mount -t 9p -o trans=virtio,version=9p2000.L s7 /m7 && echo mounted=ok; "
         "if touch /m7/planted 2>&1; then echo touch=ok; else echo touch=failed; fi; "
         "if mkdir /m7/d 2>&1; then echo mkdir=ok; else echo mkdir=failed; fi; "
         "umount /m7; cat /shared/from-host; echo from guest > /shared/from-guest")
    cid = new_id("vt")
    start, out, log = vm(isola, b, cid, tpl_env(tpl))
    assert start == "template", log
    lines = out.splitlines()
    tags = {l[4:] for l in lines if l.startswith("tag=")}
    assert {"s%d" % i for i in range(16)} <= tags, "share slots missing: %s" % sorted(tags)
    entries = [set(l[8:].split(",")) - {""} for l in lines if l.startswith("entries=")]
    assert "mount=ok" in lines and entries == [{".", ".."}], "s7 is not empty:\n" + out
    assert "mounted=ok" in lines, out
    assert "touch=failed" in lines and "mkdir=failed" in lines, "wrote to an unused slot:\n" + out
    assert out.count("Read-only file system") == 2, out
    assert os.listdir(str(tpl / "empty")) == [], os.listdir(str(tpl / "empty"))
    assert "host data" in lines, out
    assert (shared / "from-guest").read_text() == "from guest\n"


def test_vms_started_together_share_one_build(isola, vm_ready, make_bundle, new_id, tmp_path):
    tpl = tmp_path / "tpl"
    env = tpl_env(tpl)
    bundles = [make_bundle() for _ in range(3)]
    cids = [new_id("vt") for _ in bundles]
    results = [None] * 3

    def create(i):
        bundles[i].sh("echo vm %d" % i)
        results[i] = isola.detached("create", bundles[i], cids[i], global_args=VM, env=env,
                                    timeout=180)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(200)
    for r in results:
        assert r is not None, "a create did not finish"
        assert r.returncode == 0, B.describe(r)
    dirs, builds, failed = listing(tpl)
    assert len(dirs) == 1 and not builds and not failed, os.listdir(str(tpl))
    for i, (b, cid) in enumerate(zip(bundles, cids)):
        st = isola.state(cid)
        log = read(os.path.join(isola.root, cid, "monitor.log"))
        assert how_started(isola, cid) == "template", log
        assert "template: %s (" % (tpl / dirs[0]) in log, log
        r = isola("start", cid)
        assert r.returncode == 0, B.describe(r)
        assert isola.wait_status(cid, "stopped", timeout=60)["status"] == "stopped"
        assert read(results[i].out) == "vm %d\n" % i
        assert isola("delete", cid).returncode == 0
        assert_clean(isola, cid, b, pid=st["pid"])
    assert qemu_processes(str(tpl)) == []


def test_a_create_killed_while_building_leaves_nothing_running(isola, vbundle, new_id, tmp_path):
    tpl = tmp_path / "tpl"
    env = tpl_env(tpl)
    cid = new_id("vt")
    vbundle.sh("echo after")
    vbundle.mark(cid).write()
    with open(str(tmp_path / "create.err"), "wb") as err:
        p = isola.popen(*VM, "create", "--bundle", vbundle.path, cid, cid=cid, env=env,
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        build = B.wait_for(lambda: listing(tpl)[1], timeout=30)
        assert build, "no .build-* dir appeared: %s" % (os.listdir(str(tpl)) if tpl.exists()
                                                          else "no templates dir")
        build_dir = str(tpl / build[0])
        # Its QEMU runs (the build's files are on its command line): kill the monitor now.
        assert B.wait_for(lambda: qemu_processes(build_dir), timeout=30), "no build QEMU"
        monitor = int(build[0].rsplit("-", 1)[1])
        st = isola.state(cid)
        assert st["pid"] == monitor, (st, build)
        os.kill(monitor, signal.SIGKILL)
        rc = p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc != 0, "create succeeded although its monitor was killed: %s" % read(
        tmp_path / "create.err")
    left = B.wait_for(lambda: not qemu_processes(str(tpl)), timeout=10)
    assert left, "QEMU outlived its monitor: %s" % qemu_processes(str(tpl))
    r = isola("delete", "--force", cid)
    assert B.leftovers(isola.root, cid, vbundle, pid=monitor) == [], B.describe(r)
    assert listing(tpl)[:2] == ([], [build[0]]), "after the kill: %s" % os.listdir(str(tpl))

    start, out, log = vm(isola, vbundle, new_id("vt"), env)
    assert (start, out) == ("template", "after\n"), log
    dirs, builds, failed = listing(tpl)
    assert len(dirs) == 1 and not builds and not failed, os.listdir(str(tpl))
