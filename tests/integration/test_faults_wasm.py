"""SIGKILL at random points of `isola create` for a wasm bundle (the wasm engine's own create:
fork, state, cgroup, hooks, instantiate), in both sandboxes, with a cgroupsPath so that the
cgroup step runs: afterwards `delete --force` recovers, `state` and `list` never report
running a container whose process is gone, and nothing is left behind (state dir, cgroups,
processes). test_faults.py does the same for the container engine; its helpers are shared.

ISOLA_FAULT_SEED picks the random points (default 8; printed with every trial).

Run (as root):  /usr/bin/python3 -m pytest -q -s tests/integration/test_faults_wasm.py
"""
import random
import shutil

import pytest

import bundle as B
import wasmtools
from test_faults import SEED, create_killed_after, sleeping_hooks

pytestmark = pytest.mark.skipif(
    wasmtools.toolchain_problem() is not None,
    reason=f"cannot build wasm32-wasi test programs: {wasmtools.toolchain_problem()}")



@pytest.mark.parametrize("sandbox", ["wasm", "container"])
@pytest.mark.parametrize("trial", range(5))
def test_sigkill_during_wasm_create(isola, new_id, tmp_path, wasm, sandbox, trial):
    rng = random.Random(SEED * 1000 + trial + (100 if sandbox == "container" else 0))
    cid = new_id("kw")
    rootfs = tmp_path / "b" / "rootfs"
    rootfs.mkdir(parents=True)
    shutil.copy(wasm("sleep"), rootfs / "sleep.wasm")
    cfg = B.default_config()
    cfg["process"]["args"] = ["/sleep.wasm", "forever"]
    cfg["annotations"] = {"io.isola.isolation": "wasm", "io.isola.wasm.sandbox": sandbox}
    cfg["linux"]["cgroupsPath"] = "/isola-it/" + cid
    b = B.Bundle(str(tmp_path / "b"), str(rootfs), cfg)
    hooks = sleeping_hooks(b, rng, ["prestart", "createRuntime"])
    b.mark(cid).write()
    delay = rng.random() * (hooks + 0.03)
    where = "seed %d trial %d (%s): wasm create killed after %.3f s" % (SEED, trial, sandbox,
                                                                        delay)
    create_killed_after(isola, b, cid, delay, where)
