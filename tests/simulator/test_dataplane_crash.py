"""A simulator killed hard (SIGKILL: no shutdown) leaves its real servers running; the next
one started on the same `--state` must stop them before it starts its own: no stray server,
no port clash, the same address, the data kept. Real processes (`python -m simulator`,
PostgreSQL, Redis) and real clients (psycopg 3, redis-py)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis.asyncio as aioredis

from tests.simulator.test_dataplane import VERSIONS, aof_rewritten
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[2]
MODE = "dataplane.simulator.kubedb-dbaas.io/mode"
PLURALS = {"Postgres": "postgreses", "Redis": "redises"}


async def serve(state: Path) -> tuple[asyncio.subprocess.Process, httpx.AsyncClient]:
    """`python -m simulator --state STATE` with two real databases; an admin client."""
    kubeconfig = state.with_suffix(".kubeconfig")
    with (state.parent / "simulator.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "simulator",
            "--state",
            str(state),
            "--kubeconfig-out",
            str(kubeconfig),
            "--time-scale",
            "0.01",
            "--real-databases",
            "2",
            "--set",
            "provisioning_step_seconds=1",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
        await asyncio.wait_for(process.stdout.readline(), timeout=20)  # "kubeconfig written"
    except BaseException:
        await halt(process)
        raise
    url = line.decode().strip().removeprefix("simulator listening on ")
    token = json.loads(kubeconfig.read_text())["users"][0]["user"]["token"]
    headers = {"Authorization": f"Bearer {token}"}
    return process, httpx.AsyncClient(base_url=url, headers=headers, timeout=10)


async def halt(process: asyncio.subprocess.Process) -> None:
    """SIGKILL: the simulator gets no chance to stop its servers."""
    if process.returncode is None:
        process.kill()
    await process.wait()


def path(kind: str, name: str) -> str:
    if kind == "AppBinding":
        return f"/apis/appcatalog.appscode.com/v1alpha1/namespaces/default/appbindings/{name}"
    if kind == "Secret":
        return f"/api/v1/namespaces/default/secrets/{name}"
    return f"/apis/kubedb.com/v1/namespaces/default/{PLURALS[kind]}/{name}"


async def create(http: httpx.AsyncClient, kind: str, name: str) -> None:
    body = {
        "apiVersion": "kubedb.com/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "version": VERSIONS[kind],
            "storage": {"resources": {"requests": {"storage": "1Gi"}}},
        },
    }
    created = await http.post(path(kind, "").rstrip("/"), json=body)
    assert created.status_code == 201, created.text


async def ready_and_real(http: httpx.AsyncClient, kind: str, name: str) -> tuple[str, str]:
    """Once the database is Ready on a real server: its url and password."""

    async def check() -> tuple[str, str] | None:
        db = (await http.get(path(kind, name))).json()
        binding = (await http.get(path("AppBinding", name))).json()
        annotations = binding.get("metadata", {}).get("annotations") or {}
        if (db.get("status") or {}).get("phase") != "Ready" or annotations.get(MODE) != "real":
            return None
        secret = (await http.get(path("Secret", f"{name}-auth"))).json()
        password = base64.b64decode(secret["data"]["password"]).decode()
        return str(binding["spec"]["clientConfig"]["url"]), password

    return await eventually(check, timeout=30, interval=0.05, message=f"{name} Ready and real")


def _sql(url: str, password: str, statement: str) -> list[Any]:
    with psycopg.connect(url, user="postgres", password=password, connect_timeout=5) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


async def sql(url: str, password: str, statement: str) -> list[Any]:
    return await asyncio.to_thread(_sql, url, password, statement)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return not stat.rsplit(") ", 1)[1].startswith("Z")


def servers_in(folder: Path) -> list[int]:
    """Live processes working in `folder` (PostgreSQL and Redis run in their data folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if Path(os.readlink(proc / "cwd")).is_relative_to(folder) and alive(int(proc.name)):
                found.append(int(proc.name))
    return found


def postmasters_on(data: Path) -> list[int]:
    """PostgreSQL servers on `data` (only the postmaster's command line names it)."""
    return [
        pid
        for pid in servers_in(data)
        if f" {data} " in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    ]


def pid_in(file: Path) -> int:
    return int(file.read_text().split()[0])


@pytest.fixture
async def home() -> AsyncIterator[Path]:
    """A folder the servers' unprivileged user can reach; every process working in it is
    killed at the end, whatever the test did."""
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="dataplane-crash-"))
    await asyncio.to_thread(folder.chmod, 0o711)
    try:
        yield folder
    finally:
        for pid in servers_in(folder):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def test_servers_left_by_a_hard_kill_are_shut_down_and_the_next_simulator_serves_their_data(
    home: Path,
) -> None:
    state = home / "state.db"
    servers = home / "state-dataplane" / "default"
    first, http = await serve(state)
    try:
        async with http:
            await create(http, "Postgres", "pg")
            await create(http, "Redis", "cache")
            pg_url, pg_password = await ready_and_real(http, "Postgres", "pg")
            redis_url, redis_password = await ready_and_real(http, "Redis", "cache")
            await sql(pg_url, pg_password, "create table t (n int); insert into t values (42)")
            cache = aioredis.Redis.from_url(redis_url, password=redis_password)
            try:
                await cache.set("kept", "yes")
                await cache.bgrewriteaof()
                await eventually(lambda: aof_rewritten(cache), timeout=10, message="AOF written")
            finally:
                await cache.aclose()
    finally:
        await halt(first)
    orphans = {
        "pg": pid_in(servers / "data-pg-0" / "data" / "postmaster.pid"),
        "cache": pid_in(servers / "data-cache-0" / "redis.pid"),
    }
    assert all(alive(pid) for pid in orphans.values())  # the crash left them running
    # A client session still open on the orphan (a user's psql): it must not hold it up.
    session = await asyncio.to_thread(
        psycopg.connect, pg_url, user="postgres", password=pg_password, autocommit=True
    )
    try:
        second, http = await serve(state)
        try:
            async with http:
                again = await ready_and_real(http, "Postgres", "pg")
                redis_again = await ready_and_real(http, "Redis", "cache")
                rows = await eventually(
                    lambda: sql(again[0], again[1], "select n from t"), timeout=10
                )
                cache = aioredis.Redis.from_url(redis_again[0], password=redis_again[1])
                try:
                    kept = await cache.get("kept")
                finally:
                    await cache.aclose()
            pg_servers = postmasters_on(servers / "data-pg-0" / "data")
            redis_servers = servers_in(servers / "data-cache-0")
            pg_log = (servers / "data-pg-0" / "server.log").read_text()
        finally:
            await halt(second)
    finally:
        await asyncio.to_thread(session.close)

    assert not alive(orphans["pg"]) and not alive(orphans["cache"])
    assert pg_servers == [pid_in(servers / "data-pg-0" / "data" / "postmaster.pid")]
    assert redis_servers == [pid_in(servers / "data-cache-0" / "redis.pid")]
    assert (again[0], redis_again[0]) == (pg_url, redis_url)  # the same ports: no clash
    assert rows == [(42,)] and kept == b"yes"
    # The orphan was shut down, not killed: the new server needed no crash recovery.
    assert "not properly shut down" not in pg_log
