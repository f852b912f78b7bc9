"""The README's first-hour walkthrough, run as written against `make run`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.v1.operations import OperationOut
from tests.e2e.conftest import ROOT
from tests.e2e.platform import Platform
from tests.support import eventually, free_port, simulator_access

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


@dataclass
class MadeRun:
    """A copy of the app started by `make run`, with its own data directory and port."""

    data_dir: Path
    port: str
    env: dict[str, str]

    def make(self, target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", target],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self) -> None:
        started = self.make("run")
        assert started.returncode == 0, started.stdout + started.stderr
        # The embedded simulator's KubeDB at twenty times its pace (only the wait is shorter).
        kubeconfig = json.loads((self.data_dir / "kubeconfig").read_text())
        server = kubeconfig["clusters"][0]["cluster"]["server"]
        httpx.patch(
            f"{server}/_sim/config",
            json={"time_scale": 0.05},
            timeout=5,
            **simulator_access(kubeconfig),
        ).raise_for_status()

    def script(self, script: str, *, timeout: float) -> subprocess.CompletedProcess[str]:
        """The README `script` as written but for this copy's data directory and port."""
        script = script.replace("var/", f"{self.data_dir}/").replace(
            "127.0.0.1:8000", f"127.0.0.1:{self.port}"
        )
        result = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr
        return result


@contextmanager
def made_run(data_dir: Path, **settings: str) -> Iterator[MadeRun]:
    """`make run` with `settings`, then `make stop`."""
    port = str(free_port())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))},
        "DATA_DIR": str(data_dir),
        "PORT": port,
        "PY": sys.executable,
        "OPERATION_READ_BLOCK": "0.1",
        **settings,
    }
    env.pop("CLUSTER_KUBECONFIG", None)
    run = MadeRun(data_dir=data_dir, port=port, env=env)
    try:
        run.start()
        yield run
    finally:
        run.make("stop")


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MadeRun]:
    """One `make run` for the README blocks that can share it: the walkthrough first (it
    leaves nothing behind: its database is deleted), then the providers block (it sets a
    quota of one database on acme/shop, so it must come after); the backups block works
    in a project of its own (acme/finance)."""
    # Not under pytest's folder (closed to other users): the real database servers run as
    # an unprivileged user, who must reach their folders under DATA_DIR.
    home = Path(tempfile.mkdtemp(prefix="readme-"))
    os.chmod(home, 0o711)
    try:
        with made_run(home / "var", OPERATION_POLL_INTERVAL="0.5") as run:
            yield run
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_the_first_hour_walkthrough_works_as_written(shared_run: MadeRun) -> None:
    result = shared_run.script(readme_block("## Your first hour"), timeout=240)

    lines = result.stdout.splitlines()
    assert lines.count("succeeded") == 8, result.stdout
    assert lines[1] == "running" and "deleted" in lines
    # A real server: the table is made, its row read back after the pause, Redis answers.
    assert lines[2:4] == ["CREATE TABLE", "INSERT 0 1"], result.stdout
    assert "kept" in lines and "PONG" in lines, result.stdout
    assert "'17.6'" in next(line for line in lines if line.startswith("["))


def test_the_providers_quotas_and_audit_examples_work_as_written(shared_run: MadeRun) -> None:
    result = shared_run.script(readme_block(SECTION), timeout=120)

    lines = result.stdout.splitlines()
    assert lines[0] == (
        "{'total': 16.0, 'reservation_percent': 80.0, 'allocatable': 12.8, "
        "'allocated': 0.0, 'available': 12.8}"
    ), lines
    assert lines[1] == "kubeconfig"
    assert lines[2].startswith("prv-")
    assert lines[3] == "0.5"
    assert lines[4] == ("{'databases': 1, 'cpu_cores': 0.5, 'memory_gb': 1.0, 'storage_gb': 20.0}")
    assert lines[5] == "quota_exceeded"
    databases = "/api/v1/domain/{domain}/project/{project}/databases"
    assert lines[6:] == [
        f"429 POST {databases}",
        "200 PUT /api/v1/domains/{domain}/projects/{project}",
        f"202 POST {databases}",
    ]


def test_the_backup_storage_examples_work_as_written(shared_run: MadeRun) -> None:
    result = shared_run.script(readme_block("## Backup storages"), timeout=60)

    lines = result.stdout.splitlines()
    assert lines == [
        str((shared_run.data_dir / "backups" / "local").resolve()),
        "True",
        "offsite s3 True",
        "local local False",
        "{'credentials.service_account_json': 'required for a gcs storage'}",
        "backup_storage_is_default",
        "True",
        "204",
    ], result.stdout


def test_the_backup_and_restore_examples_work_as_written(shared_run: MadeRun) -> None:
    result = shared_run.script(readme_block("## Backups and restores"), timeout=240)

    lines = result.stdout.splitlines()
    assert lines == [
        "succeeded",
        "succeeded",
        "manual succeeded True",
        "succeeded",
        "1,2",
        "succeeded",
        "succeeded",
        "1,2,3",
        "succeeded",
        "2",
        "succeeded",
        "succeeded",
        "['final', 'manual']",
    ], result.stdout + result.stderr


def test_the_rate_limit_example_works_as_written(tmp_path: Path) -> None:
    # The README's settings: a token every 10 s, so a loaded machine taking a second or more
    # over the seven requests still sees the burst end (at 60 a minute it refilled one).
    with made_run(tmp_path / "var", RATE_LIMIT_PER_MINUTE="6", RATE_LIMIT_BURST="5") as run:
        result = run.script(readme_block(SECTION, 1), timeout=60)

    codes, retry = result.stdout.splitlines()
    assert codes.split() == ["200"] * 5 + ["429"] * 2
    assert retry.lower().startswith("retry-after: ")
    assert 1 <= int(retry.split(":")[1]) <= 10


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
    row = next(
        line for line in readme.splitlines() if line.startswith("| `GET /api/v1/operations/{id}` |")
    )
    described = re.sub(r"\([^)]*\)", "", row.split("|")[2])  # without the notes in brackets

    assert re.findall(r"`(\w+)`", described) == list(OperationOut.model_fields)
    assert "error_message" in readme and not re.search(
        r"\['error'\]\['message'\]|\.error\b", readme
    )


def test_a_shell_helper_means_the_same_in_every_readme_block() -> None:
    readme = (ROOT / "README.md").read_text()
    definitions: dict[str, set[str]] = {}
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        for name, body in re.findall(r"^(\w+)\(\) \{(.*?)$", block, re.M):
            definitions.setdefault(name, set()).add(body.strip())

    assert {name: bodies for name, bodies in definitions.items() if len(bodies) > 1} == {}
