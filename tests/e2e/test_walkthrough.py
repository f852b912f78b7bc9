"""The README's first-hour walkthrough, run as written against `make run`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT
from tests.support import free_port

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough uses curl"),
]


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Your first hour", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_first_hour_walkthrough_works_as_written(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    port = str(free_port())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))},
        "DATA_DIR": str(data_dir), "PORT": port, "PY": sys.executable,
        "OPERATION_POLL_INTERVAL": "0.5",
    }
    env.pop("CLUSTER_KUBECONFIG", None)
    script = walkthrough().replace("var/", f"{data_dir}/").replace(
        "127.0.0.1:8000", f"127.0.0.1:{port}"
    )

    def make(target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    try:
        started = make("run")
        assert started.returncode == 0, started.stdout + started.stderr
        result = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=240)
    finally:
        make("stop")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines.count("succeeded") == 6, result.stdout
    assert lines[1] == "running" and lines[-1] == "deleted"
    assert any(line.startswith("postgresql://postgres:") for line in lines)
    assert "'17.6'" in next(line for line in lines if line.startswith("["))


def section_script(heading: str, index: int = 0) -> str:
    """The `index`-th shell block of the README's section under `heading`."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(heading, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return str(blocks[index])


def test_the_providers_quotas_and_audit_examples_work_as_written(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    port = str(free_port())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))},
        "DATA_DIR": str(data_dir), "PORT": port, "PY": sys.executable,
    }
    env.pop("CLUSTER_KUBECONFIG", None)
    script = section_script("## Providers, placement, quotas, audit and limits").replace(
        "var/", f"{data_dir}/").replace("127.0.0.1:8000", f"127.0.0.1:{port}")

    def make(target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    try:
        started = make("run")
        assert started.returncode == 0, started.stdout + started.stderr
        result = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
    finally:
        make("stop")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("{'total': 16.0, 'reservation_percent': 80.0, 'allocatable': 12.8, "
                        "'allocated': 0.0, 'available': 12.8}"), lines
    assert lines[1] == "api_endpoint"
    assert lines[2].startswith("prv-")
    assert lines[3] == "0.5"
    assert lines[4] == ("{'databases': 1, 'cpu_cores': 0.5, 'memory_gb': 1.0, "
                        "'storage_gb': 20.0}")
    assert lines[5] == "quota_exceeded"
    databases = "/api/v1/domain/{domain}/project/{project}/databases"
    assert lines[6:] == [f"429 POST {databases}",
                         "200 PUT /api/v1/domains/{domain}/projects/{project}",
                         f"202 POST {databases}"]


def test_the_rate_limit_example_works_as_written(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    port = str(free_port())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))},
        "DATA_DIR": str(data_dir), "PORT": port, "PY": sys.executable,
        "RATE_LIMIT_PER_MINUTE": "60", "RATE_LIMIT_BURST": "5",
    }
    env.pop("CLUSTER_KUBECONFIG", None)
    script = section_script("## Providers, placement, quotas, audit and limits", 1).replace(
        "var/", f"{data_dir}/").replace("127.0.0.1:8000", f"127.0.0.1:{port}")

    def make(target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    try:
        started = make("run")
        assert started.returncode == 0, started.stdout + started.stderr
        result = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
    finally:
        make("stop")

    assert result.returncode == 0, result.stderr
    codes, retry = result.stdout.splitlines()
    assert codes.split() == ["200"] * 5 + ["429"] * 2
    assert retry.lower().startswith("retry-after: ")
    assert int(retry.split(":")[1]) >= 1
