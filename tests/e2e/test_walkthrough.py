"""The README's first-hour walkthrough, run as written against `make run`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.api.v1.operations import OperationOut
from tests.e2e.conftest import ROOT
from tests.e2e.platform import Platform
from tests.support import eventually, free_port

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough uses curl"),
]


SECTION = "## Providers, placement, quotas, audit and limits"


def readme_block(heading: str, index: int = 0) -> str:
    """The `index`-th shell block of the README's section under `heading`."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(heading, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return str(blocks[index])


def run_against_make_run(
    tmp_path: Path, script: str, *, timeout: float = 240, **settings: str
) -> subprocess.CompletedProcess[str]:
    """`make run` with its own data directory and port (and `settings`), the README
    `script` as written but for those, then `make stop`."""
    data_dir = tmp_path / "var"
    port = str(free_port())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))},
        "DATA_DIR": str(data_dir), "PORT": port, "PY": sys.executable, **settings,
    }
    env.pop("CLUSTER_KUBECONFIG", None)
    script = script.replace("var/", f"{data_dir}/").replace("127.0.0.1:8000",
                                                            f"127.0.0.1:{port}")

    def make(target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    try:
        started = make("run")
        assert started.returncode == 0, started.stdout + started.stderr
        result = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=timeout)
    finally:
        make("stop")
    assert result.returncode == 0, result.stderr
    return result


def test_the_first_hour_walkthrough_works_as_written(tmp_path: Path) -> None:
    result = run_against_make_run(tmp_path, readme_block("## Your first hour"),
                                  OPERATION_POLL_INTERVAL="0.5")

    lines = result.stdout.splitlines()
    assert lines.count("succeeded") == 6, result.stdout
    assert lines[1] == "running" and lines[-1] == "deleted"
    assert any(line.startswith("postgresql://postgres:") for line in lines)
    assert "'17.6'" in next(line for line in lines if line.startswith("["))


def test_the_providers_quotas_and_audit_examples_work_as_written(tmp_path: Path) -> None:
    result = run_against_make_run(tmp_path, readme_block(SECTION), timeout=120)

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
    result = run_against_make_run(tmp_path, readme_block(SECTION, 1), timeout=60,
                                  RATE_LIMIT_PER_MINUTE="60", RATE_LIMIT_BURST="5")

    codes, retry = result.stdout.splitlines()
    assert codes.split() == ["200"] * 5 + ["429"] * 2
    assert retry.lower().startswith("retry-after: ")
    assert int(retry.split(":")[1]) >= 1


def shape(value: Any) -> Any:
    """A JSON value with every leaf replaced by its kind: two answers of one shape compare
    equal whatever their numbers and times."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, bool) or value is None:
        return value if value is None else "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


async def test_the_readme_health_example_has_the_fields_health_answers(
    platform: Platform,
) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Health and metrics\n", 1)[1].split("\n## ", 1)[0]
    example = json.loads(re.findall(r"```json\n(.*?)```", section, re.S)[0])
    _runtime, client, _served = platform

    async def after_the_first_passes() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get("/health")).json()
        passes = body["passes"]
        done = passes["reconciliation"]["drift_last"] and passes["status_sync"]["last"]
        return body if done and body["leader"]["is_leader"] else None

    body = await eventually(after_the_first_passes, timeout=30)

    assert list(body) == list(example)
    assert shape(body) == shape(example)


def test_the_readme_names_every_operation_field_as_the_api_does() -> None:
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines()
               if line.startswith("| `GET /api/v1/operations/{id}` |"))
    described = re.sub(r"\([^)]*\)", "", row.split("|")[2])  # without the notes in brackets

    assert re.findall(r"`(\w+)`", described) == list(OperationOut.model_fields)
    assert "error_message" in readme and not re.search(r"\['error'\]\['message'\]|\.error\b",
                                                       readme)


def test_a_shell_helper_means_the_same_in_every_readme_block() -> None:
    readme = (ROOT / "README.md").read_text()
    definitions: dict[str, set[str]] = {}
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        for name, body in re.findall(r"^(\w+)\(\) \{(.*?)$", block, re.M):
            definitions.setdefault(name, set()).add(body.strip())

    assert {name: bodies for name, bodies in definitions.items() if len(bodies) > 1} == {}
