"""The README's simulator block, run as written (its folder moved into the test's own): the
kubectl session a platform engineer would try first works against the simulator."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## The Kubernetes + KubeDB simulator"

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]


def simulator_block() -> str:
    section = (ROOT / "README.md").read_text().split(HEADING, 1)[1].split("\n## ", 1)[0]
    return str(re.findall(r"```sh\n(.*?)```", section, re.S)[0])


def test_the_readme_kubectl_session_works_as_written(tmp_path: Path) -> None:
    script = simulator_block()
    assert "SIM=/tmp/dbaas-simulator" in script
    script = script.replace("SIM=/tmp/dbaas-simulator", f"SIM={tmp_path / 'sim'}")
    process = subprocess.Popen(
        ["bash", "-e", "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the simulator it starts is in this group: killed below
        env={**os.environ, "KUBECACHEDIR": str(tmp_path / "kube-cache")},
    )
    try:
        out, _ = process.communicate(timeout=200)
    finally:
        # The block kills its simulator at the end; after a failure midway it is still up.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    assert process.returncode == 0, out
    assert "namespace/demo created" in out
    assert "postgres.kubedb.com/pg condition met" in out
    for made in ("pod/pg-0", "pod/pg-1", "persistentvolumeclaim/data-pg-0", "petset."):
        assert made in out, out
    assert "create Pod pg-0 in PetSet pg successful" in out
    assert "KIND:       Postgres" in out
    assert "\nyes\n" in out
    assert 'namespace "demo" deleted' in out
