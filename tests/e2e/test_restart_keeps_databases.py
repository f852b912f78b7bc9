"""`make run` / `make stop` / `make run`: the embedded cluster is kept in DATA_DIR
(`--state`), so every database stays `running` with the same credentials on the same
cluster address, and its real server (PostgreSQL, Redis) comes back on its data at the
same connection string (a row and a key written through it are read back)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
import redis.exceptions

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


def _rows(connection_string: str, *statements: str) -> list[Any]:
    with psycopg.connect(connection_string, connect_timeout=5, autocommit=True) as conn:
        rows: list[Any] = []
        for statement in statements:
            cursor = conn.execute(statement)
            rows = cursor.fetchall() if cursor.description else rows
        return rows


def _rows_once_up(connection_string: str, statement: str) -> list[Any] | None:
    try:
        return _rows(connection_string, statement)
    except psycopg.OperationalError:
        return None  # the server is still coming back


def _value_once_up(connection_string: str, key: str) -> bytes | None:
    client = redis.Redis.from_url(connection_string, socket_timeout=5)
    try:
        value = client.get(key)
    except redis.exceptions.ConnectionError:
        return None
    finally:
        client.close()
    return value if isinstance(value, bytes) else None


def test_make_stop_and_make_run_keep_every_database_running_with_its_credentials_and_rows() -> None:
    # Not under pytest's folder (closed to other users): the real database servers run as
    # an unprivileged user, who must reach their folders under DATA_DIR.
    home = Path(tempfile.mkdtemp(prefix="restart-"))
    home.chmod(0o711)
    data_dir = home / "var"
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
                lambda: all(
                    (d["status"], d["data_plane"]) == ("running", "real")
                    for d in databases(api).values()
                ),
                timeout=90,
                what="the databases to run on real servers",
            )
            before = databases(api)
            secrets = {
                n: api.get(f"{BASE}/{d['id']}/credentials").json() for n, d in before.items()
            }
            orders, cache = (secrets[n]["connection_string"] for n in ("orders", "cache"))
            _rows(orders, "create table kept (body text)", "insert into kept values ('row')")
            with redis.Redis.from_url(cache) as client:
                client.set("kept", "key")  # the SIGTERM of `make stop` saves it
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
        # The same connection strings (port, password) reach the servers back on their data.
        rows = _until(
            lambda: _rows_once_up(orders, "select body from kept"), timeout=30, what="the row"
        )
        value = _until(lambda: _value_once_up(cache, "kept"), timeout=30, what="the key")
    finally:
        subprocess.run(["make", "--no-print-directory", "stop"], cwd=ROOT, env=env, timeout=120)
        shutil.rmtree(home, ignore_errors=True)

    assert {n: d["status"] for n, d in after.items()} == {"orders": "running", "cache": "running"}
    assert {n: d["id"] for n, d in after.items()} == {n: d["id"] for n, d in before.items()}
    assert again == secrets
    assert server_again == server  # the same address: the kubeconfig did not change
    assert health["components"]["cluster"] == "up"
    assert {n: d["data_plane"] for n, d in after.items()} == {"orders": "real", "cache": "real"}
    assert rows == [("row",)] and value == b"key"
