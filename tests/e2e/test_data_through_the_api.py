"""Data proven through the API (issue 15, deliverable 5): each lifecycle operation is asked
of the API, and a real client (psycopg 3, redis-py) at the address and with the credentials
the API hands out proves its effect on the data of the simulator's real servers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis.asyncio as aioredis
import redis.exceptions

from app.domain import namespaces
from simulator.server import Served
from tests.e2e.platform import BASE, Platform, create, finished
from tests.support import eventually

NAMESPACE = namespaces.namespace_for("acme", "shop")


def _sql(connection_string: str, *statements: str) -> list[Any]:
    with psycopg.connect(connection_string, connect_timeout=5, autocommit=True) as conn:
        rows: list[Any] = []
        for statement in statements:
            cursor = conn.execute(statement)
            rows = cursor.fetchall() if cursor.description else rows
        return rows


async def sql(connection_string: str, *statements: str) -> list[Any]:
    return await asyncio.to_thread(_sql, connection_string, *statements)


async def refused(connection_string: str) -> str:
    """The error a connection attempt gets ('' when the server answered)."""
    try:
        await sql(connection_string, "select 1")
    except psycopg.OperationalError as exc:
        return str(exc)
    return ""


async def succeeded(client: httpx.AsyncClient, response: httpx.Response) -> None:
    operation = await finished(client, response)
    assert operation["status"] == "succeeded", operation["error_message"]


async def real_database(client: httpx.AsyncClient, **body: Any) -> str:
    """Create through the API and wait until it is Ready on a real server; its path."""
    created = await create(client, **body)
    await succeeded(client, created)
    path = f"{BASE}/{created.json()['id']}"
    await ready_and_real(client, path)
    return path


async def ready_and_real(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(path)).json()
        wanted = (body["data_plane"], body["health_status"], body["endpoint"])
        return body if wanted == ("real", "healthy", "127.0.0.1") else None

    return await eventually(check, timeout=30, interval=0.05, message=f"{path} real and healthy")


async def credentials(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(f"{path}/credentials")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def answering(client: httpx.AsyncClient, path: str, statement: str) -> list[Any]:
    """The rows of `statement` once the handed-out address and credentials connect."""

    async def rows() -> list[Any] | None:
        connection_string = (await credentials(client, path))["connection_string"]
        try:
            return await sql(connection_string, statement)
        except psycopg.OperationalError:
            return None

    return await eventually(rows, timeout=30, interval=0.1, message=f"{path} answers")


def _folder_of(pvc_uid: str, name: str) -> Path:
    pattern = f"kubedb-sim-dataplane-*/{NAMESPACE}/data-{name}-0/meta.json"
    for meta in Path(tempfile.gettempdir()).glob(pattern):
        if json.loads(meta.read_text()).get("pvc") == pvc_uid:
            return meta.parent
    raise AssertionError(f"no server folder for {name}")


async def data_folder(served: Served, name: str) -> Path:
    """The server folder of the database's PVC (the PVC's uid is in its meta.json)."""
    client = served.client()
    pvc = await client.get("persistentvolumeclaims", f"data-{name}-0", namespace=NAMESPACE)
    return await asyncio.to_thread(_folder_of, str(pvc["metadata"]["uid"]), name)


async def test_rows_survive_a_pause_and_resume_through_the_api(platform: Platform) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 1})
    path = await real_database(client)
    before = (await credentials(client, path))["connection_string"]
    await sql(before, "create table notes (body text)", "insert into notes values ('kept')")

    await succeeded(client, await client.post(f"{path}/pause"))
    stopped = await eventually(
        lambda: refused(before), timeout=30, message="the paused server stops answering"
    )
    await succeeded(client, await client.post(f"{path}/resume"))
    await ready_and_real(client, path)

    assert "Connection refused" in stopped
    assert await answering(client, path, "select body from notes") == [("kept",)]


async def test_a_rotation_locks_out_the_old_password_and_the_new_one_reads_the_rows(
    platform: Platform,
) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 1})
    path = await real_database(client)
    old = await credentials(client, path)
    await sql(old["connection_string"], "create table t (n int)", "insert into t values (7)")

    await succeeded(client, await client.post(f"{path}/credentials/rotate"))
    new = await credentials(client, path)
    rows = await answering(client, path, "select n from t")

    assert new["password"] != old["password"]
    assert (new["host"], new["port"]) == (old["host"], old["port"])
    assert rows == [(7,)]
    assert "password authentication failed" in await refused(old["connection_string"])


async def test_a_restart_drops_the_open_connection_and_keeps_the_rows(platform: Platform) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 1})
    path = await real_database(client)
    connection_string = (await credentials(client, path))["connection_string"]
    await sql(connection_string, "create table t (n int)", "insert into t values (1)")
    held = await asyncio.to_thread(psycopg.connect, connection_string, autocommit=True)
    try:
        assert (await asyncio.to_thread(held.execute, "select 1")).fetchone() == (1,)
        await succeeded(client, await client.post(f"{path}/restart"))

        async def dropped() -> bool:
            try:
                await asyncio.to_thread(held.execute, "select 1")
            except psycopg.OperationalError:
                return True
            return False

        await eventually(dropped, timeout=30, interval=0.1, message="the connection dropped")
    finally:
        await asyncio.to_thread(held.close)

    assert await answering(client, path, "select n from t") == [(1,)]


async def test_delete_and_wipeout_stop_the_server_and_remove_its_data(
    platform: Platform,
) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 2})
    paths = {
        policy: await real_database(client, name=policy.lower(), deletion_policy=policy)
        for policy in ("Delete", "WipeOut")
    }
    addresses, folders = {}, {}
    for policy, path in paths.items():
        addresses[policy] = (await credentials(client, path))["connection_string"]
        await sql(addresses[policy], "create table t (n int)", "insert into t values (1)")
        folders[policy] = await data_folder(served, policy.lower())

    for path in paths.values():
        await succeeded(client, await client.delete(path))
    for policy in paths:
        await eventually(
            lambda policy=policy: refused(addresses[policy]),
            timeout=30,
            message=f"nothing answers at the old address after {policy}",
        )
        await eventually(
            lambda policy=policy: not folders[policy].exists(),
            timeout=30,
            message=f"{policy} removed the data folder",
        )

    errors = [await refused(address) for address in addresses.values()]
    assert all("Connection refused" in error for error in errors), errors


async def test_halt_stops_the_server_and_a_namesake_created_later_finds_its_rows(
    platform: Platform,
) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 1})
    path = await real_database(client, deletion_policy="Halt")
    before = (await credentials(client, path))["connection_string"]
    await sql(before, "create table t (n int)", "insert into t values (42)")
    folder = await data_folder(served, "orders")

    await succeeded(client, await client.delete(path))
    await eventually(lambda: refused(before), timeout=30, message="the halted server stopped")
    kept = await asyncio.to_thread((folder / "data" / "PG_VERSION").exists)
    again = await real_database(client, deletion_policy="WipeOut")

    assert kept
    assert again != path
    assert await answering(client, again, "select n from t") == [(42,)]


async def test_a_redis_database_sets_and_gets_and_a_rotation_refuses_the_old_password(
    platform: Platform,
) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 1})
    path = await real_database(client, engine="redis")
    old = await credentials(client, path)
    first = aioredis.Redis.from_url(old["connection_string"])
    try:
        await first.set("greeting", "hello")
        assert await first.get("greeting") == b"hello"
    finally:
        await first.aclose()

    await succeeded(client, await client.post(f"{path}/credentials/rotate"))
    new = await credentials(client, path)
    with_new = aioredis.Redis.from_url(new["connection_string"])
    with_old = aioredis.Redis.from_url(old["connection_string"])
    try:

        async def kept() -> Any:
            try:
                return await with_new.get("greeting")
            except redis.exceptions.AuthenticationError:
                return None

        assert await eventually(kept, timeout=30, message="the new password works") == b"hello"
        with pytest.raises(redis.exceptions.AuthenticationError):
            await with_old.ping()
    finally:
        await with_new.aclose()
        await with_old.aclose()
    assert new["password"] != old["password"]


async def test_a_killed_server_makes_the_database_unhealthy_in_the_api_then_it_recovers(
    platform: Platform,
) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 1})
    path = await real_database(client)
    await sql((await credentials(client, path))["connection_string"], "create table t (n int)")
    pid_file = (await data_folder(served, "orders")) / "data" / "postmaster.pid"
    pid = int((await asyncio.to_thread(pid_file.read_text)).split()[0])

    os.kill(pid, signal.SIGKILL)

    async def unhealthy() -> dict[str, Any] | None:
        status: dict[str, Any] = (await client.get(f"{path}/status")).json()
        return status if status["health_status"] in ("unhealthy", "degraded") else None

    seen = await eventually(unhealthy, timeout=30, interval=0.05, message="unhealthy")
    recovered = await ready_and_real(client, path)

    assert seen["phase"] in ("NotReady", "Critical") and seen["status"] == "running"
    assert recovered["status"] == "running"
    assert await answering(client, path, "select count(*) from t") == [(0,)]
