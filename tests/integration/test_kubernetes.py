"""docs/kubernetes.md, tested as far as this machine allows: a private containerd 1.6 (its own
root, state and socket under a temporary directory; the CRI plugin off, as there is no kubelet)
whose config carries the runtimes of the doc, and one container per runtime started as the CRI
plugin would start it — `ctr run --runtime io.containerd.runc.v2 --runc-binary <BinaryName>`
with the annotations containerd sets for a pod. The engine each container got is read back
with `isola --root <shim root> state ID`.

The TOML, YAML and JSON blocks of the doc are parsed here, so the doc cannot drift from what is
tested. vm cases run where the vm engine can run and skip with its reason elsewhere.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import bundle as B  # noqa: E402
import containerd_daemon  # noqa: E402
import wasmtools  # noqa: E402
from bundle import describe  # noqa: E402

HERE = Path(__file__).parent
DOC = HERE.parents[1] / "docs" / "kubernetes.md"
POLICY_DOC = HERE.parents[1] / "docs" / "policy.md"
CRI = 'plugins."io.containerd.grpc.v1.cri"'
T = 120  # seconds: the bound of every client command (a vm boots under TCG here)
HANDLERS = ("isola", "isola-vm", "isola-wasm")

def doc_blocks(path, lang):
    """The fenced code blocks of `lang` in a markdown file, in order."""
    text = Path(path).read_text()
    return re.findall(r"^```%s\n(.*?)^```" % re.escape(lang), text, re.S | re.M)


def doc_containerd_toml():
    blocks = [b for b in doc_blocks(DOC, "toml") if CRI in b]
    assert len(blocks) == 1, "docs/kubernetes.md: expected one containerd config.toml block"
    return blocks[0]


def expected_output(n, args):
    """What tests/integration/compare/workload.{sh,c} print (see test_compare.py)."""
    acc = 1
    for i in range(1, n + 1):
        acc = (acc * 31 + i) % 1000003
    return "isola-compare: started\nresult=%d\nargs: %s\n" % (acc, " ".join(args))


# ---- the doc itself -------------------------------------------------------------------------

def test_doc_containerd_config_names_three_runc_runtimes():
    cfg = tomllib.loads(doc_containerd_toml())
    runtimes = cfg["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
    assert set(runtimes) == set(HANDLERS)
    for name, rt in runtimes.items():
        assert rt["runtime_type"] == "io.containerd.runc.v2", name
        assert rt["options"]["BinaryName"] == "/usr/local/bin/" + name, name
        assert "io.isola.*" in rt.get("pod_annotations", []), name


def test_doc_runtimeclasses_and_crio_match_the_handlers():
    yaml = "\n".join(doc_blocks(DOC, "yaml"))
    handlers = re.findall(r"^handler: (\S+)$", yaml, re.M)
    assert sorted(handlers) == sorted(HANDLERS)
    classes = re.findall(r"^  runtimeClassName: (\S+)$", yaml, re.M)
    assert sorted(classes) == sorted(HANDLERS), "one pod per handler"
    crio = [b for b in doc_blocks(DOC, "toml") if "crio.runtime.runtimes" in b]
    assert len(crio) == 1
    rts = tomllib.loads(crio[0])["crio"]["runtime"]["runtimes"]
    assert set(rts) == set(HANDLERS)
    for name, rt in rts.items():
        assert rt["runtime_path"] == "/usr/local/bin/" + name and rt["runtime_type"] == "oci"


def policy_examples():
    out = []
    for path in (DOC, POLICY_DOC):
        for block in doc_blocks(path, "json"):
            try:
                doc = json.loads(block)
            except ValueError:
                continue  # a schema sketch or a fragment, not a policy
            if isinstance(doc, dict) and set(doc) <= {"rules", "kvmFallback", "sandboxEngine"}:
                out.append(doc)
    return out


def test_doc_policy_examples_are_accepted(isola, bundle, new_id, tmp_path):
    examples = policy_examples()
    assert len(examples) >= 5
    bundle.args("true")
    for i, doc in enumerate(examples):
        path = tmp_path / ("policy%d.json" % i)
        path.write_text(json.dumps(doc))
        cid = new_id()
        r = isola.run(bundle, cid, global_args=("--policy", str(path), "--isolation",
                                                "container"))
        assert r.returncode == 0, (doc, describe(r))
    # And a broken one is refused, naming the rule and the field.
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [{"match": {"image": "x"}, "engine": "vm"}]}))
    r = isola.run(bundle, new_id(), global_args=("--policy", str(bad)))
    assert r.returncode != 0 and "rules[0].match.image" in r.stderr, describe(r)


# ---- a private containerd -------------------------------------------------------------------

class Containerd(containerd_daemon.Containerd):
    def __init__(self):
        super().__init__("isola-k8s", timeout=T)
        self.binaries = {}  # handler -> BinaryName for this test

    def run(self, handler, rootfs, cid, args, annotations=(), detach=False, pod=None):
        """`ctr run` as the CRI plugin would run a container of `pod` (a dict: namespace,
        name) under `handler`: its BinaryName, and containerd's CRI annotations."""
        pod = pod or {"namespace": "default", "name": "pod-" + cid}
        ann = {"io.kubernetes.cri.container-type": "container",
               "io.kubernetes.cri.sandbox-id": "sb-" + cid,
               "io.kubernetes.cri.sandbox-namespace": pod["namespace"],
               "io.kubernetes.cri.sandbox-name": pod["name"],
               "io.kubernetes.cri.container-name": "app"}
        ann.update(dict(annotations))
        opts = ["--runtime", "io.containerd.runc.v2", "--runc-binary", self.binaries[handler],
                "--runc-root", self.runc_root, "--cgroup", "/%s/%s" % (self.cgroup_parent, cid),
                "--env", "%s=%s" % (B.MARK_ENV, cid), "--rootfs"]
        for k, v in ann.items():
            opts += ["--annotation", "%s=%s" % (k, v)]
        opts = (["-d"] if detach else ["--rm"]) + opts
        return self.ctr("run", *opts, rootfs, cid, *args)

    def stop(self, cid):
        self.ctr("task", "kill", "-s", "KILL", cid)
        B.wait_for(lambda: "RUNNING" not in self.ctr("task", "ls").stdout, 30, 0.05)
        self.ctr("task", "delete", "-f", cid)
        return self.ctr("container", "rm", cid)


@pytest.fixture(scope="module")
def vm_status(isola_bin):
    """(runnable, reason) of the vm engine as `isola features` reports it."""
    r = subprocess.run([isola_bin, "features"], capture_output=True, text=True, timeout=30)
    vm = json.loads(r.stdout)["io.isola.engines"]["vm"]
    return vm["runnable"], vm.get("reason", "")


POLICY = {
    "rules": [
        {"match": {"namespace": "untrusted"}, "engine": "vm"},
        {"match": {"wasm": True}, "engine": "wasm"},
        {"match": {"annotations": {"io.kubernetes.cri.image-name": "*/wasm/*"}},
         "engine": "wasm"},
    ],
    "kvmFallback": "tcg",
    "sandboxEngine": "container",
}


@pytest.fixture(scope="module")
def containerd(isola_bin, rootfs_template):
    if containerd_daemon.missing():
        pytest.skip(containerd_daemon.missing())
    cd = Containerd()
    cd.rootfs_template = rootfs_template
    try:
        # The binaries the doc names, here: the build's symlinks, and for the `isola` handler
        # a wrapper that adds the test's policy (the doc's way to give a handler its own).
        bindir = os.path.join(cd.base, "bin")
        os.makedirs(bindir)
        for name in ("isola-vm", "isola-wasm"):
            cd.binaries[name] = os.path.join(bindir, name)
            os.symlink(isola_bin, cd.binaries[name])
        policy = os.path.join(cd.base, "policy.json")
        with open(policy, "w") as f:
            json.dump(POLICY, f)
        cd.binaries["isola"] = os.path.join(bindir, "isola")
        with open(cd.binaries["isola"], "w") as f:
            f.write('#!/bin/sh\nexec %s --policy %s "$@"\n' % (isola_bin, policy))
        os.chmod(cd.binaries["isola"], 0o755)
        # The doc's runtimes, with this test's binaries (the CRI plugin is off: containerd
        # parses its section but nothing reads it; the tests pass the same BinaryName
        # through ctr).
        doc = doc_containerd_toml().replace("version = 2\n", "")
        for name, path in cd.binaries.items():
            doc = doc.replace('"/usr/local/bin/%s"' % name, '"%s"' % path)
        cd.start(doc)
        yield cd
    finally:
        cd.shutdown()


@pytest.fixture(scope="module")
def wasm_programs(tmp_path_factory):
    problem = wasmtools.toolchain_problem()
    if problem:
        pytest.skip("cannot build wasm32-wasi programs: %s" % problem)
    out = tmp_path_factory.mktemp("k8swasm")
    return {
        "workload.wasm": wasmtools.compile_wasm(HERE / "compare" / "workload.c",
                                                out / "workload.wasm"),
        "spin.wasm": wasmtools.compile_wasm(HERE / "wasm" / "spin.c", out / "spin.wasm"),
    }


@pytest.fixture
def rootfs(containerd, wasm_programs, tmp_path):
    """rootfs() -> a fresh busybox root filesystem with the workloads in it."""
    n = [0]

    def make():
        n[0] += 1
        dest = str(tmp_path / ("rootfs%d" % n[0]))
        B.copy_rootfs(containerd.rootfs_template, dest)
        for name, src in wasm_programs.items():
            shutil.copyfile(src, os.path.join(dest, name))
        shutil.copyfile(HERE / "compare" / "workload.sh", os.path.join(dest, "workload.sh"))
        os.chmod(os.path.join(dest, "workload.sh"), 0o755)
        return dest
    return make


@pytest.fixture
def cid(containerd):
    made = []

    def make():
        made.append("k8-%s" % uuid.uuid4().hex[:10])
        return made[-1]
    yield make
    for c in made:
        containerd.stop(c)
        for pid in B.marked_processes(c):
            B.kill_quietly(pid)


def isola_state(isola_bin, containerd, c):
    r = subprocess.run([isola_bin, "--root", containerd.state_root, "state", c],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, describe(r)
    return json.loads(r.stdout)["annotations"]


def need_vm(vm_status):
    runnable, reason = vm_status
    if not runnable:
        pytest.skip("the vm engine cannot run here: %s" % reason)


# ---- one container per runtime --------------------------------------------------------------

@pytest.mark.parametrize("handler", HANDLERS)
def test_each_runtime_runs_the_workload(containerd, rootfs, cid, handler, vm_status):
    """The same workload through each runtime's BinaryName: same output, same exit status."""
    if handler == "isola-vm":
        need_vm(vm_status)
    c = cid()
    entry = "/workload.wasm" if handler == "isola-wasm" else "/workload.sh"
    r = containerd.run(handler, rootfs(), c, [entry, "200", "7"])
    assert r.returncode == 7, describe(r)
    assert r.stdout.replace("\r\n", "\n") == expected_output(200, ["200", "7"]), describe(r)
    assert containerd.leftovers(c) == []


@pytest.mark.parametrize("handler, args, engine, reason", [
    ("isola", ["sleep", "1000"], "container", "default"),
    ("isola", ["/spin.wasm"], "wasm", "rule 1"),              # policy: {"wasm": true}
    ("isola-wasm", ["/spin.wasm"], "wasm", "program name isola-wasm"),
    ("isola-vm", ["sleep", "1000"], "vm", "program name isola-vm"),
])
def test_state_shows_the_engine_and_why(containerd, rootfs, cid, isola_bin, vm_status,
                                        handler, args, engine, reason):
    if engine == "vm":
        need_vm(vm_status)
    c = cid()
    # spin.wasm never ends on its own: the timeout annotation bounds it if the test dies.
    r = containerd.run(handler, rootfs(), c, args, detach=True,
                       annotations={"io.isola.wasm.timeout_ms": "60000"})
    assert r.returncode == 0, describe(r)
    ann = isola_state(isola_bin, containerd, c)
    assert ann["io.isola.isolation"] == engine, ann
    assert reason in ann["io.isola.isolation.reason"], ann
    assert containerd.stop(c).returncode == 0
    assert containerd.leftovers(c) == []


@pytest.mark.parametrize("handler", ["isola-wasm", "isola-vm"])
def test_pause_container_stays_a_container(containerd, rootfs, cid, isola_bin, handler):
    """containerd starts a pod's sandbox with the pod's handler: under isola-wasm and isola-vm
    it must still be a container (a pause binary is no wasm module, and needs no VM)."""
    c = cid()
    r = containerd.run(handler, rootfs(), c, ["sleep", "1000"], detach=True,
                       annotations={"io.kubernetes.cri.container-type": "sandbox"})
    assert r.returncode == 0, describe(r)
    ann = isola_state(isola_bin, containerd, c)
    assert ann["io.isola.isolation"] == "container", ann
    assert "sandbox" in ann["io.isola.isolation.reason"], ann
    assert containerd.stop(c).returncode == 0
    assert containerd.leftovers(c) == []


def test_policy_namespace_rule_and_pod_annotation(containerd, rootfs, cid, isola_bin,
                                                  vm_status):
    """Under the `isola` handler: a pod in namespace `untrusted` gets a VM by the policy; the
    same pod with the annotation io.isola.isolation=container (which containerd passes through
    pod_annotations) gets a container: the annotation comes before the policy."""
    pod = {"namespace": "untrusted", "name": "web"}
    c = cid()
    r = containerd.run("isola", rootfs(), c, ["sleep", "1000"], detach=True, pod=pod,
                       annotations={"io.isola.isolation": "container"})
    assert r.returncode == 0, describe(r)
    ann = isola_state(isola_bin, containerd, c)
    assert ann["io.isola.isolation"] == "container", ann
    assert "annotation io.isola.isolation" in ann["io.isola.isolation.reason"]
    assert containerd.stop(c).returncode == 0
    assert containerd.leftovers(c) == []

    need_vm(vm_status)
    c = cid()
    r = containerd.run("isola", rootfs(), c, ["sleep", "1000"], detach=True, pod=pod)
    assert r.returncode == 0, describe(r)
    ann = isola_state(isola_bin, containerd, c)
    assert ann["io.isola.isolation"] == "vm", ann
    assert "policy" in ann["io.isola.isolation.reason"] and "rule 0" in \
        ann["io.isola.isolation.reason"], ann
    assert containerd.stop(c).returncode == 0
    assert containerd.leftovers(c) == []
