"""Fixtures for the container engine's integration tests.

The binary under test is $ISOLA (default <repo>/build/isola). Each test gets its own --root
directory, fresh bundles built from a busybox root filesystem, and unique container ids; a
finalizer force-deletes whatever a test left (tests assert on leftovers() themselves — the
finalizer only keeps one failing test from spoiling the next).

The base config.json comes from `isola spec` when that works (normalized: no terminal, a
writable rootfs next to config.json), else from bundle.default_config(); set
ISOLA_TEST_CONFIG=python to force the latter. Static helpers in helpers/*.c are compiled once
per session (`cc -static`) and /probe is in every rootfs.

Run (as root):  /usr/bin/python3 -m pytest -q tests/integration -k container
Check the tests themselves against runc (runc fails where it differs from the spec or lacks a
feature, and its error lines start differently):
    ISOLA=/usr/sbin/runc ISOLA_TEST_ERROR_PREFIX=time= /usr/bin/python3 -m pytest ...
"""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import bundle as B
import wasmtools

ISOLA = os.environ.get("ISOLA") or os.path.join(B.REPO, "build", "isola")


def pytest_report_header(config):
    return "isola binary: %s" % ISOLA


# Parent cgroups the tests name in cgroupsPath ("/isola-it/<id>", "isola-it-rel/<id>"): a
# runtime removes the leaf it created, not the parents (runc neither), so the session does.
TEST_CGROUP_PARENTS = ("isola-it", "isola-it-rel")


@pytest.fixture(scope="session", autouse=True)
def remove_test_cgroup_parents():
    yield
    for name in TEST_CGROUP_PARENTS:
        for d in sorted(B.find_cgroup_dirs(name), key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass


@pytest.fixture(scope="session", autouse=True)
def vm_templates(tmp_path_factory):
    """The vm engine's templates (src/vm/template.c) in a directory of this session's: the
    session's first VM builds one, whatever a host cache holds. ISOLA_VM_TEMPLATES set by
    the caller is kept."""
    if "ISOLA_VM_TEMPLATES" not in os.environ:
        os.environ["ISOLA_VM_TEMPLATES"] = str(tmp_path_factory.mktemp("vm-templates"))
    return os.environ["ISOLA_VM_TEMPLATES"]


@pytest.fixture(scope="session")
def isola_bin():
    if not (os.path.isfile(ISOLA) and os.access(ISOLA, os.X_OK)):
        pytest.fail("isola binary not found at %s (build it with `make`, or set ISOLA)" % ISOLA,
                    pytrace=False)
    return ISOLA


@pytest.fixture(scope="session")
def helpers_dir(tmp_path_factory):
    """Static helper programs from tests/integration/helpers, compiled once per session."""
    out = tmp_path_factory.mktemp("helpers")
    src_dir = os.path.join(B.HERE, "helpers")
    cc = os.environ.get("CC", "cc")
    for name in sorted(os.listdir(src_dir)):
        if not name.endswith(".c"):
            continue
        exe = os.path.join(str(out), name[:-2])
        r = subprocess.run([cc, "-static", "-O2", "-Wall", "-o", exe,
                            os.path.join(src_dir, name)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.fail("cannot build helper %s: %s" % (name, r.stderr), pytrace=False)
    return str(out)


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory, helpers_dir):
    if not os.path.exists(B.BUSYBOX):
        pytest.skip("busybox-static is not installed (%s)" % B.BUSYBOX)
    dest = str(tmp_path_factory.mktemp("template") / "rootfs")
    return B.make_rootfs_template(dest, probe=os.path.join(helpers_dir, "probe"))


@pytest.fixture(scope="session")
def base_config(isola_bin, tmp_path_factory):
    """(config dict, where it came from)."""
    if os.environ.get("ISOLA_TEST_CONFIG") != "python":
        cfg, how = B.spec_config(isola_bin, str(tmp_path_factory.mktemp("spec")))
        if cfg is not None:
            return B.normalize_config(cfg), how
    return B.normalize_config(B.default_config()), "python default"


@pytest.fixture
def isola(isola_bin, tmp_path):
    """An Isola runner with a private --root; the finalizer force-deletes what the test
    left, unmounts anything left under the test's directory and removes its cgroups."""
    root = str(tmp_path / "root")
    runner = B.Isola(isola_bin, root)
    runner.extra_dirs = []
    yield runner
    runner.cleanup()
    _unmount_under(str(tmp_path))
    _remove_cgroups(runner.ids)
    for d in runner.extra_dirs:
        _unmount_under(d)
        shutil.rmtree(d, ignore_errors=True)


def _unmount_under(prefix):
    mounts = [m["mount_point"] for m in B.mountinfo() if m["mount_point"].startswith(prefix)]
    for mp in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


def _remove_cgroups(ids):
    for cid in ids:
        for d in sorted(B.find_cgroup_dirs(cid), key=len, reverse=True):
            for dirpath, _, _ in sorted(os.walk(d), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(dirpath)
                except OSError:
                    pass


@pytest.fixture
def new_id(isola):
    """new_id() -> a fresh container id, tracked for cleanup."""
    def make(prefix="it"):
        return isola.track(B.unique_id(prefix))
    return make


@pytest.fixture
def make_bundle(tmp_path, rootfs_template, base_config, isola):
    """make_bundle(name=None, own_copy=False, traversable=False) -> Bundle with a fresh rootfs
    and the base config (Isola.create/run write config.json with the leftover mark).
    traversable: the bundle lives in a directory every uid can traverse (pytest's tmp_path is
    0700), as a user namespace's mapped root needs; it is removed after the test."""
    made = []

    def make(name=None, own_copy=False, traversable=False):
        if traversable:
            base = tempfile.mkdtemp(prefix="isola-b", dir="/tmp")
            os.chmod(base, 0o755)
            isola.extra_dirs.append(base)
            path = os.path.join(base, name or "bundle")
        else:
            path = str(tmp_path / (name or "bundle%d" % len(made)))
        os.makedirs(path)
        rootfs = B.copy_rootfs(rootfs_template, os.path.join(path, "rootfs"), own_copy)
        cfg = json.loads(json.dumps(base_config[0]))
        b = B.Bundle(path, rootfs, cfg)
        made.append(b)
        return b
    return make


@pytest.fixture
def bundle(make_bundle):
    return make_bundle("bundle")


@pytest.fixture
def short_tmp():
    """A short directory path (unix socket paths are limited to 108 bytes)."""
    d = tempfile.mkdtemp(prefix="isola-t", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


RUNC = shutil.which("runc", path="/usr/sbin:/usr/bin:/sbin:/bin")


@pytest.fixture
def runc(tmp_path):
    """runc with its own --root, for behaviour comparisons; skips when runc is missing."""
    if not RUNC:
        pytest.skip("runc is not installed")
    runner = B.Isola(RUNC, str(tmp_path / "runc-root"))
    yield runner
    runner.cleanup()
    _remove_cgroups(runner.ids)


@pytest.fixture(scope="session")
def wasm(tmp_path_factory):
    """wasm("hello") -> path of tests/integration/wasm/hello.c built for wasm32-wasi, once per
    session (tests that use it skip where wasmtools.toolchain_problem() says there is none)."""
    out = tmp_path_factory.mktemp("wasm")
    built = {}

    def build(prog):
        if prog not in built:
            built[prog] = wasmtools.compile_wasm(Path(B.HERE, "wasm", f"{prog}.c"),
                                                 out / f"{prog}.wasm")
        return built[prog]

    return build


@pytest.fixture(scope="session")
def vmguest(tmp_path_factory):
    """escape/vmguest.c built static: the hostile guest of the vm escape and fault tests."""
    out = str(tmp_path_factory.mktemp("vmguest") / "vmguest")
    r = subprocess.run([os.environ.get("CC", "cc"), "-static", "-O2", "-o", out,
                        os.path.join(B.HERE, "escape", "vmguest.c")], capture_output=True,
                       text=True)
    if r.returncode != 0:
        pytest.fail("cannot build escape/vmguest.c: %s" % r.stderr, pytrace=False)
    return out
