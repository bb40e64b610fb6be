"""`isola compare` and `isola features`, driven through the real binary ($ISOLA).

The bundle holds one workload twice: tests/integration/compare/workload.sh (busybox sh) as the
native entrypoint and tests/integration/compare/workload.c built for wasm32-wasi; both print the
same lines for the same arguments, so every engine must report the same exit status and the
same stdout checksum. A native static build of workload.c is compared with its wasm build too.
The vm engine runs where it can (QEMU and the guest image present); elsewhere it must be
reported as skipped with a reason. Every test checks that compare leaves nothing behind: no
state dir, no cgroup, no temporary file, no process.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import bundle as B  # noqa: E402
import wasmtools  # noqa: E402
from bundle import describe, one_line_error  # noqa: E402

HERE = Path(__file__).parent
WORKLOAD_C = HERE / "compare" / "workload.c"
WORKLOAD_SH = HERE / "compare" / "workload.sh"
METRICS = ("start_ms", "wall_ms", "cpu_ms", "peak_mib")
SVG_NS = "{http://www.w3.org/2000/svg}"


def expected_output(n, args):
    """What workload.c / workload.sh print for `workload N ARGS...` (args include N)."""
    acc = 1
    for i in range(1, n + 1):
        acc = (acc * 31 + i) % 1000003
    return "isola-compare: started\nresult=%d\nargs: %s\n" % (acc, " ".join(args))


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="session")
def workload_wasm(tmp_path_factory):
    problem = wasmtools.toolchain_problem()
    if problem:
        pytest.skip("cannot build wasm32-wasi programs: %s" % problem)
    out = tmp_path_factory.mktemp("cmpwasm") / "workload.wasm"
    return wasmtools.compile_wasm(WORKLOAD_C, out)


@pytest.fixture(scope="session")
def workload_native(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmpnative") / "workload"
    cc = os.environ.get("CC", "cc")
    r = subprocess.run([cc, "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(out),
                        str(WORKLOAD_C)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail("cannot build the native workload: %s" % r.stderr, pytrace=False)
    return out


@pytest.fixture
def private_tmp(tmp_path):
    """TMPDIR for compare: its temporary files must all be gone afterwards."""
    d = tmp_path / "tmpdir"
    d.mkdir()
    return d


@pytest.fixture
def cmp_bundle(make_bundle, workload_wasm, workload_native):
    """cmp_bundle(args, annotations=None) -> Bundle with the workloads in its rootfs; the
    container's processes carry a leftover mark (bundle.MARK_ENV) named `b.tag`."""
    def make(args, annotations=None):
        b = make_bundle()
        for src, dst in ((workload_wasm, "workload.wasm"), (workload_native, "workload"),
                         (WORKLOAD_SH, "workload.sh")):
            path = os.path.join(b.rootfs, dst)
            shutil.copyfile(src, path)
            os.chmod(path, 0o755)
        b.args(*args)
        if annotations:
            b.config.setdefault("annotations", {}).update(annotations)
        b.tag = B.unique_id("cmp")
        b.mark(b.tag).write()
        return b
    return make


def compare(isola, *args, tmpdir, env=None, timeout=240, **kw):
    e = dict(os.environ if env is None else env)
    e["TMPDIR"] = str(tmpdir)
    return isola("compare", *args, env=e, timeout=timeout, **kw)


def compare_cgroups():
    """Directories compare would create (/isola-compare/PID-N) on any hierarchy."""
    return B.find_cgroup_dirs("isola-compare", max_depth=2)


def assert_nothing_left(isola, bundle, tmpdir):
    left = []
    if os.path.isdir(isola.root):
        left += ["state dir %s" % n for n in os.listdir(isola.root) if not n.startswith(".")]
    left += ["temporary %s" % p for p in os.listdir(tmpdir)]
    left += ["cgroup %s" % d for d in compare_cgroups()]
    left += ["process %d" % p for p in B.marked_processes(bundle.tag)]
    assert left == [], left


def engines_by_name(doc):
    return {e["engine"]: e for e in doc["engines"]}


def vm_runnable(isola):
    f = json.loads(isola("features").stdout)
    return f["io.isola.engines"]["vm"]["runnable"]


# ---- measuring ------------------------------------------------------------------------------

def test_container_wasm_and_vm_agree_and_are_measured(isola, cmp_bundle, private_tmp, tmp_path):
    args = ["300", "3", "x y"]
    b = cmp_bundle(["/workload.sh"] + args, {"io.isola.compare.wasm": "/workload.wasm"})
    svg = tmp_path / "chart.svg"
    r = compare(isola, "--runs", "2", "--json", "--svg", svg, b.path, tmpdir=private_tmp)
    assert r.returncode == 0, describe(r)
    doc = json.loads(r.stdout)
    assert doc["runs"] == 2 and doc["bundle"] == os.path.realpath(b.path)
    assert doc["native"] == "/workload.sh" and doc["wasm"] == "/workload.wasm"
    assert [e["engine"] for e in doc["engines"]] == ["container", "vm", "wasm"]
    eng = engines_by_name(doc)
    want = sha256(expected_output(300, args))
    ran = []
    for name, e in eng.items():
        if name == "vm" and e["status"] == "skipped":
            assert e["reason"], e
            assert not vm_runnable(isola)
            continue
        assert e["status"] == "ok", e
        ran.append(name)
        assert e["exit"] == 3 and e["sha256"] == want and e["consistent"], e
        assert e["entrypoint"] == ("/workload.wasm" if name == "wasm" else "/workload.sh")
        for m in METRICS:
            assert isinstance(e[m], (int, float)) and e[m] > 0, (name, m, e)
            assert e["ratio"][m] >= 1.0, (name, m, e)
        assert e["start_ms"] <= e["wall_ms"], e
        assert "cgroup" in e["cpu_source"] and "cgroup" in e["memory_source"], e
        assert len(e["runs"]) == 2
        for run in e["runs"]:
            assert run["exit"] == 3 and run["sha256"] == want and run["stdout_bytes"] > 0
    assert {"container", "wasm"} <= set(ran)
    # Each metric's smallest value has ratio 1.
    for m in METRICS:
        assert min(eng[n]["ratio"][m] for n in ran) == pytest.approx(1.0)
    # Progress on stderr, one line per run.
    for name in ran:
        for i in (1, 2):
            assert "compare: %s run %d/2 ..." % (name, i) in r.stderr, r.stderr
    # The chart: well-formed SVG, one labelled bar per engine that ran, per metric.
    root = ET.parse(svg).getroot()
    assert root.tag == SVG_NS + "svg"
    bars = [el for el in root.iter(SVG_NS + "rect") if el.get("class") == "bar"]
    assert len(bars) == len(ran) * len(METRICS)
    assert all(float(el.get("height")) > 0 for el in bars)
    texts = " ".join(t.text or "" for t in root.iter(SVG_NS + "text"))
    for label in ("start ms", "wall ms", "cpu ms", "peak MiB") + tuple(ran):
        assert label in texts
    if "vm" not in ran:
        assert "vm skipped" in texts
    assert_nothing_left(isola, b, private_tmp)


def test_table_lists_every_engine_with_ratios(isola, cmp_bundle, private_tmp):
    b = cmp_bundle(["/workload.sh", "50"], {"io.isola.compare.wasm": "/workload.wasm"})
    r = compare(isola, "--runs", "1", b.path, tmpdir=private_tmp)
    assert r.returncode == 0, describe(r)
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["engine", "start", "ms"], r.stdout
    rows = {l.split()[0]: l for l in lines[1:4]}
    assert set(rows) == {"container", "vm", "wasm"}, r.stdout
    want = sha256(expected_output(50, ["50"]))[:12]
    for name in ("container", "wasm"):
        assert "x)" in rows[name] and want in rows[name], rows[name]
    assert ("skipped:" in rows["vm"]) != (want in rows["vm"]), rows["vm"]
    assert "medians of 1 run" in r.stdout
    assert_nothing_left(isola, b, private_tmp)


def test_native_c_build_against_its_wasm_build(isola, cmp_bundle, private_tmp):
    """The same C program, static native vs wasm32-wasi, named by flags rather than
    annotations; exit status 0."""
    b = cmp_bundle(["/bin/true", "20000"])
    r = compare(isola, "--runs", "1", "--json", "--engines", "wasm,container", "--native",
                "/workload", "--wasm", "/workload.wasm", b.path, tmpdir=private_tmp)
    assert r.returncode == 0, describe(r)
    doc = json.loads(r.stdout)
    assert [e["engine"] for e in doc["engines"]] == ["wasm", "container"]
    want = sha256(expected_output(20000, ["20000"]))
    for e in doc["engines"]:
        assert e["status"] == "ok" and e["exit"] == 0 and e["sha256"] == want, e
    assert_nothing_left(isola, b, private_tmp)


def test_engines_that_cannot_run_are_skipped_with_reasons(isola, cmp_bundle, private_tmp,
                                                         tmp_path):
    """No wasm build in the bundle, and a vm without its guest image: both skipped, with the
    reason; compare still succeeds with what ran."""
    b = cmp_bundle(["/workload.sh", "10"])
    empty = tmp_path / "no-vm-image"
    empty.mkdir()
    env = dict(os.environ, ISOLA_VM_DIR=str(empty))
    r = compare(isola, "--runs", "1", "--json", b.path, tmpdir=private_tmp, env=env)
    assert r.returncode == 0, describe(r)
    eng = engines_by_name(json.loads(r.stdout))
    assert eng["container"]["status"] == "ok"
    assert eng["wasm"]["status"] == "skipped"
    assert "no wasm build" in eng["wasm"]["reason"]
    assert eng["vm"]["status"] == "skipped"
    assert eng["vm"]["reason"], eng["vm"]
    feats = json.loads(isola("features", env=env).stdout)["io.isola.engines"]["vm"]
    if feats["built"]:
        assert str(empty) in eng["vm"]["reason"] or "qemu" in eng["vm"]["reason"].lower()
    assert "vm" not in {e for e in eng if eng[e]["status"] == "ok"}
    assert_nothing_left(isola, b, private_tmp)


def test_runtime_failure_is_reported_and_the_others_still_run(isola, cmp_bundle, private_tmp):
    """A wasm entrypoint with the magic but a broken body: the wasm engine's create fails; the
    engine is reported failed with the runtime's error, compare exits 1 with one error line
    after the report, and the container engine's results are there."""
    b = cmp_bundle(["/workload.sh", "10"], {"io.isola.compare.wasm": "/broken.wasm"})
    with open(os.path.join(b.rootfs, "broken.wasm"), "wb") as f:
        f.write(b"\0asm\x01\0\0\0\x01\xff\xff\xff")
    r = compare(isola, "--runs", "2", "--json", "--engines", "container,wasm", b.path,
                tmpdir=private_tmp)
    assert r.returncode == 1, describe(r)
    eng = engines_by_name(json.loads(r.stdout))
    assert eng["container"]["status"] == "ok"
    assert eng["wasm"]["status"] == "failed"
    assert "module" in eng["wasm"]["reason"], eng["wasm"]
    errors = [l for l in r.stderr.splitlines() if l.startswith("isola: ")]
    assert len(errors) == 1 and "engine wasm failed" in errors[0], r.stderr
    assert_nothing_left(isola, b, private_tmp)


def test_timeout_counts_as_failure_and_cleans_up(isola, cmp_bundle, private_tmp):
    b = cmp_bundle(["/bin/sleep", "60"])
    t0 = time.monotonic()
    r = compare(isola, "--runs", "1", "--timeout", "1", "--engines", "container", "--json",
                b.path, tmpdir=private_tmp, timeout=60)
    assert time.monotonic() - t0 < 30
    assert r.returncode == 1, describe(r)
    e = engines_by_name(json.loads(r.stdout))["container"]
    assert e["status"] == "failed" and "timed out" in e["reason"], e
    assert_nothing_left(isola, b, private_tmp)


def test_interrupt_stops_the_run_and_leaves_nothing(isola, cmp_bundle, private_tmp):
    b = cmp_bundle(["/bin/sh", "-c", "echo isola-compare: started; exec sleep 60"])
    env = dict(os.environ, TMPDIR=str(private_tmp))
    p = isola.popen("compare", "--runs", "1", "--engines", "container", b.path, env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with B.watchdog(p, 60):
        # Wait until the workload runs: its process carries the mark.
        assert B.wait_for(lambda: B.marked_processes(b.tag), timeout=30), "workload never ran"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate()
    assert p.returncode not in (0, None)
    lines = [l for l in err.splitlines() if l.startswith("isola: ")]
    assert len(lines) == 1 and "interrupted" in lines[0], err
    assert B.wait_for(lambda: not B.marked_processes(b.tag), timeout=10)
    assert_nothing_left(isola, b, private_tmp)


# ---- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--runs", "0"], "--runs"),
    (["--runs", "x"], "--runs"),
    (["--engines", "container,docker"], "unknown engine `docker`"),
    (["--engines", "wasm,wasm"], "named twice"),
    (["--wasm", "/workload.sh"], "is not a wasm module"),
    (["--native", "/workload.wasm"], "is a wasm module"),
    (["--wasm", "/nope.wasm"], "No such file"),
    (["--timeout", "-1"], "--timeout"),
    (["--svg", "/nonexistent-dir/chart.svg"], "--svg"),
    (["--bogus"], "unknown option"),
])
def test_bad_input_is_one_line_and_leaves_nothing(isola, cmp_bundle, private_tmp, args, message):
    b = cmp_bundle(["/workload.sh"])
    r = compare(isola, *args, b.path, tmpdir=private_tmp)
    assert r.returncode != 0
    assert one_line_error(r), describe(r)
    assert message in r.stderr, r.stderr
    assert r.stdout == ""
    assert_nothing_left(isola, b, private_tmp)


def test_missing_bundle_and_bad_config(isola, tmp_path, private_tmp):
    r = compare(isola, str(tmp_path / "nope"), tmpdir=private_tmp)
    assert r.returncode != 0 and one_line_error(r) and "nope" in r.stderr, describe(r)
    d = tmp_path / "bad"
    d.mkdir()
    (d / "config.json").write_text("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"}}")
    (d / "rootfs").mkdir()
    r = compare(isola, str(d), tmpdir=private_tmp)
    assert r.returncode != 0 and one_line_error(r) and "process" in r.stderr, describe(r)
    assert os.listdir(private_tmp) == [] and compare_cgroups() == []


def test_help(isola):
    r = isola("compare", "--help")
    assert r.returncode == 0
    for word in ("--runs", "--engines", "--json", "--svg", "io.isola.compare.native",
                 "io.isola.compare.wasm"):
        assert word in r.stdout
    assert "compare" in isola("--help").stdout


# ---- features -------------------------------------------------------------------------------

def test_features_lists_engines_and_annotations(isola, tmp_path):
    r = isola("features")
    assert r.returncode == 0, describe(r)
    f = json.loads(r.stdout)
    # The OCI-defined keys are still there, as they were.
    assert {"ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux",
            "annotations"} <= set(f)
    eng = f["io.isola.engines"]
    assert set(eng) == {"container", "vm", "wasm"}
    assert eng["container"]["runnable"] and eng["wasm"]["runnable"]
    for e in eng.values():
        assert isinstance(e["built"], bool) and isinstance(e["runnable"], bool)
        assert e["boundary"]
        if not e["runnable"]:
            assert e["reason"]
    vm = eng["vm"]
    assert vm["accelerator"] in ("kvm", "tcg")
    assert vm["accelerator"] == ("kvm" if vm["kvm"] else "tcg")
    assert ("qemu" in vm) and ("image" in vm)
    assert json.loads(f["annotations"]["io.isola.engines.runnable"]) == \
        [n for n in ("container", "vm", "wasm") if eng[n]["runnable"]]
    ann = f["io.isola.annotations"]
    for key in ("io.isola.isolation", "io.isola.isolation.reason", "run.oci.handler",
                "module.wasm.image/variant", "io.isola.wasm.fuel", "io.isola.wasm.timeout_ms",
                "io.isola.wasm.sandbox", "io.isola.vm.memory_mib", "io.isola.vm.cpus",
                "io.isola.compare.native", "io.isola.compare.wasm"):
        assert key in ann and ann[key]["doc"], key
    assert ann["io.isola.isolation.reason"]["use"] == "output"
    # A missing guest image is reported where the vm engine looks.
    empty = tmp_path / "empty"
    empty.mkdir()
    f2 = json.loads(isola("features", env=dict(os.environ, ISOLA_VM_DIR=str(empty))).stdout)
    vm2 = f2["io.isola.engines"]["vm"]
    assert not vm2["runnable"]
    if vm2["built"] and vm2["qemu"]:
        assert str(empty) in vm2["image"]["missing"]
