"""A bounded schemathesis run over the OpenAPI document of the running app (started by
`make run`, with the embedded simulator as its cluster): no answer is a 5xx, and every
status code an answer carries is documented for its route."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT
from tests.support import free_port

pytestmark = pytest.mark.timeout(300)


def test_generated_requests_find_no_server_error_and_no_undocumented_status(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    port = str(free_port())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))},
        "DATA_DIR": str(data_dir), "PORT": port, "PY": sys.executable,
        # Fuzz the handlers, not the rate limiter (its 429 is documented on every route).
        "RATE_LIMIT_PER_MINUTE": "0",
    }
    env.pop("CLUSTER_KUBECONFIG", None)

    def make(target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    try:
        started = make("run")
        assert started.returncode == 0, started.stdout + started.stderr
        key = (data_dir / "admin-api-key").read_text().strip()
        result = subprocess.run(
            [str(Path(sys.executable).parent / "st"), "run",
             f"http://127.0.0.1:{port}/openapi.json", "-H", f"Authorization: Bearer {key}",
             "--checks", "not_a_server_error,status_code_conformance",
             "--max-examples", "5", "--workers", "1", "--seed", "20261129",
             "--phases", "coverage,fuzzing"],
            capture_output=True, text=True, timeout=240, cwd=tmp_path,
        )
    finally:
        make("stop")

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested" in result.stdout
