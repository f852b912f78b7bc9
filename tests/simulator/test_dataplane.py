"""The data plane: real PostgreSQL and Redis servers behind the KubeDB model, reached with
real clients (psycopg 3, redis-py) at the address the AppBinding publishes."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis.asyncio as aioredis
import redis.exceptions

from simulator.client import Client
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.support import eventually

MODE = "dataplane.simulator.kubedb-dbaas.io/mode"
VERSIONS = {"Postgres": "16.13", "Redis": "8.2.2"}


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with run_simulator(simulator=Simulator(plugins=[install], seed=5)) as served:
        served.simulator.config.update(
            {"time_scale": 0.01, "provisioning_step_seconds": 1, "real_databases": 2}
        )
        yield served


@pytest.fixture
def client(served: Served) -> Client:
    return served.client()


def database(kind: str, name: str = "db1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kubedb.com/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "version": VERSIONS[kind],
            "storage": {"resources": {"requests": {"storage": "1Gi"}}},
            **spec,
        },
    }


async def phase(client: Client, plural: str, name: str = "db1") -> str | None:
    found = await client.find(plural, name)
    return None if found is None else (found.get("status") or {}).get("phase")


async def real_url(client: Client, name: str = "db1") -> str:
    async def published() -> str | None:
        binding = await client.find("appbindings", name)
        if binding is None or binding["metadata"]["annotations"].get(MODE) != "real":
            return None
        return str(binding["spec"]["clientConfig"]["url"])

    return await eventually(published, timeout=30, message="a real server's url")


async def password(client: Client, name: str = "db1") -> str:
    secret = await client.get("secrets", f"{name}-auth")
    return base64.b64decode(secret["data"]["password"]).decode()


def sql(url: str, secret: str, statement: str) -> list[Any]:
    with psycopg.connect(url, user="postgres", password=secret, connect_timeout=5) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


async def query(url: str, secret: str, statement: str) -> list[Any]:
    return await asyncio.to_thread(sql, url, secret, statement)


async def ready(client: Client, plural: str) -> None:
    async def is_ready() -> bool:
        return await phase(client, plural) == "Ready"

    await eventually(is_ready, timeout=30, message=f"{plural} Ready")


def _folder_of(name: str, uid: str) -> Path:
    pattern = f"kubedb-sim-dataplane-*/default/data-{name}-0/meta.json"
    for meta in Path(tempfile.gettempdir()).glob(pattern):
        if json.loads(meta.read_text()).get("pvc") == uid:
            return meta.parent
    raise AssertionError(f"no server folder for {name}")


async def data_folder(client: Client, name: str = "db1") -> Path:
    """The server folder of the database's PVC (its uid is in the folder's meta.json)."""
    uid = (await client.get("persistentvolumeclaims", f"data-{name}-0"))["metadata"]["uid"]
    return await asyncio.to_thread(_folder_of, name, str(uid))


async def test_a_postgres_database_gets_a_real_server_whose_rows_survive_halt_and_resume(
    client: Client,
) -> None:
    await client.create(database("Postgres"))
    url = await real_url(client)
    await ready(client, "postgreses")
    secret = await password(client)
    await query(url, secret, "create table notes (body text); insert into notes values ('kept')")

    await client.patch("postgreses", "db1", {"spec": {"halted": True}})
    await eventually(lambda: phase(client, "postgreses"), timeout=30)

    async def halted_and_refusing() -> bool:
        if await phase(client, "postgreses") != "Halted":
            return False
        try:
            await query(url, secret, "select 1")
        except psycopg.OperationalError:
            return True
        return False

    await eventually(halted_and_refusing, timeout=30, message="halted, server stopped")
    await client.patch("postgreses", "db1", {"spec": {"halted": False}})
    url = await real_url(client)
    await ready(client, "postgreses")
    assert await query(url, secret, "select body from notes") == [("kept",)]


async def test_a_rotation_refuses_the_old_password_and_the_new_one_reads_the_rows(
    client: Client,
) -> None:
    await client.create(database("Postgres"))
    url = await real_url(client)
    await ready(client, "postgreses")
    old = await password(client)
    await query(url, old, "create table t (n int); insert into t values (7)")
    await client.create(
        {
            "apiVersion": "ops.kubedb.com/v1alpha1",
            "kind": "PostgresOpsRequest",
            "metadata": {"name": "rotate", "namespace": "default"},
            "spec": {"type": "RotateAuth", "databaseRef": {"name": "db1"}},
        }
    )

    async def rotated() -> bool:
        new = await password(client)
        if new == old:
            return False
        try:
            return await query(url, new, "select n from t") == [(7,)]
        except psycopg.OperationalError:
            return False

    await eventually(rotated, timeout=30, message="the new password works")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        await query(url, old, "select 1")


async def test_a_killed_server_makes_the_database_unhealthy_then_the_model_restarts_it(
    client: Client,
) -> None:
    await client.create(database("Postgres"))
    url = await real_url(client)
    await ready(client, "postgreses")
    pid = int(((await data_folder(client)) / "data" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)

    async def unhealthy() -> bool:
        return await phase(client, "postgreses") in ("NotReady", "Critical")

    await eventually(unhealthy, timeout=30, interval=0.01, message="NotReady or Critical")
    await ready(client, "postgreses")
    assert await query(url, await password(client), "select 1") == [(1,)]


async def pod_ready(client: Client, name: str = "db1") -> bool:
    pod = await client.get("pods", f"{name}-0")
    conditions = (pod.get("status") or {}).get("conditions") or ()
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def aof_rewritten(server: aioredis.Redis) -> bool:
    persistence = await server.info("persistence")
    return not (
        persistence["aof_rewrite_in_progress"] or persistence["aof_rewrite_scheduled"]
    ) and (persistence["aof_last_bgrewrite_status"] == "ok")


async def test_a_killed_redis_server_makes_the_database_unhealthy_then_it_comes_back_with_its_keys(
    client: Client,
) -> None:
    await client.create(database("Redis"))
    url = await real_url(client)
    await ready(client, "redises")
    before = aioredis.Redis.from_url(url, password=await password(client))
    try:
        await before.set("kept", "before the crash")
        await before.bgrewriteaof()  # the key is in the append-only file, not only in memory
        await eventually(lambda: aof_rewritten(before), timeout=10, message="the AOF rewritten")
    finally:
        await before.aclose()
    pid = int(((await data_folder(client)) / "redis.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    seen: set[str] = set()

    async def pod_and_database_unhealthy() -> bool:
        if not await pod_ready(client):
            seen.add("pod not ready")
        if await phase(client, "redises") in ("NotReady", "Critical"):
            seen.add("database unhealthy")
        return len(seen) == 2

    await eventually(
        pod_and_database_unhealthy, timeout=30, interval=0.01, message="NotReady or Critical"
    )
    await ready(client, "redises")
    assert await pod_ready(client)
    after = aioredis.Redis.from_url(await real_url(client), password=await password(client))
    try:
        assert await after.get("kept") == b"before the crash"
        new_pid = int(((await data_folder(client)) / "redis.pid").read_text().split()[0])
    finally:
        await after.aclose()
    assert new_pid != pid


async def test_wipeout_removes_the_data_folder_and_halt_keeps_it(client: Client) -> None:
    await client.create(database("Postgres", "kept", deletionPolicy="Halt"))
    await client.create(database("Postgres", "gone", deletionPolicy="WipeOut"))
    await real_url(client, "kept")
    await real_url(client, "gone")
    kept, gone = await data_folder(client, "kept"), await data_folder(client, "gone")
    assert (kept / "data" / "PG_VERSION").exists() and (gone / "data" / "PG_VERSION").exists()
    await client.delete("postgreses", "kept")
    await client.delete("postgreses", "gone")
    await eventually(lambda: not gone.exists(), timeout=30, message="WipeOut removed the data")
    assert (kept / "data" / "PG_VERSION").exists()


async def test_a_redis_database_answers_its_secret_password_and_refuses_none(
    client: Client,
) -> None:
    await client.create(database("Redis"))
    url = await real_url(client)
    await ready(client, "redises")
    assert url.startswith("redis://127.0.0.1:")
    with_password = aioredis.Redis.from_url(url, password=await password(client))
    without = aioredis.Redis.from_url(url)
    try:
        assert await with_password.ping()
        await with_password.set("k", "v")
        assert await with_password.get("k") == b"v"
        with pytest.raises(redis.exceptions.AuthenticationError):
            await without.ping()
    finally:
        await with_password.aclose()
        await without.aclose()


async def test_beyond_the_bound_a_database_stays_modelled_and_its_appbinding_says_so(
    client: Client, served: Served
) -> None:
    served.simulator.config.update({"real_databases": 1})
    await client.create(database("Redis", "first"))
    await real_url(client, "first")
    await client.create(database("Redis", "second"))

    async def second_ready() -> bool:
        return await phase(client, "redises", "second") == "Ready"

    await eventually(second_ready, timeout=30, message="the modelled database Ready")
    binding = await client.get("appbindings", "second")
    assert binding["metadata"]["annotations"][MODE] == "modelled"
    assert "url" not in binding["spec"]["clientConfig"]


async def test_with_a_state_file_a_restarted_simulator_brings_the_server_back_on_its_data() -> None:
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="dataplane-state-"))
    try:
        await asyncio.to_thread(folder.chmod, 0o711)  # the servers' user walks through it
        urls = []
        for first in (True, False):
            sim = Simulator(plugins=[install], seed=5, state=folder / "state.db")
            async with run_simulator(simulator=sim) as served:
                sim.config.update({"time_scale": 0.01, "real_databases": 1})
                client = served.client()
                if first:
                    await client.create(database("Postgres"))
                await ready(client, "postgreses")
                secret = await password(client)
                if first:
                    url = await real_url(client)
                    await query(url, secret, "create table t (n int); insert into t values (42)")

                async def rows(client: Client = client, secret: str = secret) -> list[Any]:
                    try:  # the AppBinding's url, once the restarted server answers
                        return await query(await real_url(client), secret, "select n from t")
                    except psycopg.OperationalError:
                        return []

                assert await eventually(rows, timeout=30, message="the rows") == [(42,)]
                urls.append(await real_url(client))
        assert urls[0] == urls[1]  # the port was free: the same address
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def test_at_time_scale_zero_a_database_created_at_once_still_gets_its_real_server() -> None:
    # The pod comes up before the plane has found its user and folder: it is held not ready.
    sim = Simulator(plugins=[install], seed=5)
    sim.config.update({"time_scale": 0.0, "real_databases": 1})
    async with run_simulator(simulator=sim) as served:
        client = served.client()
        await client.create(database("Postgres"))
        url = await real_url(client)
        await ready(client, "postgreses")

        assert await query(url, await password(client), "select 1") == [(1,)]


async def test_where_no_server_can_run_a_held_database_is_modelled_and_becomes_ready(
    tmp_path: Path,
) -> None:
    # pytest's tmp_path is closed to other users: the servers' user could not reach it.
    sim = Simulator(plugins=[install], seed=5, state=tmp_path / "state.db")
    sim.config.update({"time_scale": 0.0, "real_databases": 1})
    async with run_simulator(simulator=sim) as served:
        client = served.client()
        await client.create(database("Postgres"))
        await ready(client, "postgreses")
        binding = await client.get("appbindings", "db1")

    assert binding["metadata"]["annotations"][MODE] == "modelled"
    assert "url" not in binding["spec"]["clientConfig"]
