"""`make run` / `make stop` / `make run`: the embedded cluster is kept in DATA_DIR
(`--state`), so every database stays `running` with the same credentials on the same
cluster address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from app.domain import clock
from tests.e2e.conftest import ROOT
from tests.e2e.platform import VERSIONS
from tests.support import free_port

BASE = "/api/v1/domain/acme/project/shop/databases"


def _until(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_make_stop_and_make_run_keep_every_database_running_with_its_credentials(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))},
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "PY": sys.executable,
        "STATUS_SYNC_INTERVAL": "1",
        "RECONCILE_INTERVAL": "2",
    }
    url = f"http://127.0.0.1:{port}"

    def make(target: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["make", "--no-print-directory", target],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def databases(api: httpx.Client) -> dict[str, dict[str, Any]]:
        listed = api.get(BASE, params={"page_size": 100}).json()
        return {d["name"]: d for d in listed["databases"]}

    def synced_since(api: httpx.Client, moment: str) -> bool:
        sync = api.get("/health").json()["passes"]["status_sync"]
        return sync["last"] is not None and sync["last"]["at"] > moment

    try:
        make("run")
        key = (data_dir / "admin-api-key").read_text().strip()
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10
        ) as api:
            for name, engine in (("orders", "postgres"), ("cache", "redis")):
                created = api.post(
                    BASE, json={"name": name, "engine": engine, "version": VERSIONS[engine]}
                )
                assert created.status_code == 202, created.text
            _until(
                lambda: all(d["status"] == "running" for d in databases(api).values()),
                timeout=90,
                what="the databases to run",
            )
            before = databases(api)
            secrets = {
                n: api.get(f"{BASE}/{d['id']}/credentials").json() for n, d in before.items()
            }
        server = json.loads((data_dir / "kubeconfig").read_text())["clusters"][0]["cluster"]

        make("stop")
        make("run")
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10
        ) as api:
            restarted = clock.to_text(clock.utcnow())
            _until(lambda: synced_since(api, restarted), timeout=30, what="a status sync")
            _until(lambda: synced_since(api, restarted), timeout=30, what="a second sync")
            after = databases(api)
            again = {n: api.get(f"{BASE}/{d['id']}/credentials").json() for n, d in after.items()}
            health = api.get("/health").json()
        server_again = json.loads((data_dir / "kubeconfig").read_text())["clusters"][0]["cluster"]
    finally:
        subprocess.run(["make", "--no-print-directory", "stop"], cwd=ROOT, env=env, timeout=120)

    assert {n: d["status"] for n, d in after.items()} == {"orders": "running", "cache": "running"}
    assert {n: d["id"] for n, d in after.items()} == {n: d["id"] for n, d in before.items()}
    assert again == secrets
    assert server_again == server  # the same address: the kubeconfig did not change
    assert health["components"]["cluster"] == "up"
