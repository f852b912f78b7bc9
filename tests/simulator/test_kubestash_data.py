"""The KubeStash model on real servers: a BackupSession dumps the real PostgreSQL (pg_dump)
or Redis (RDB) into the local storage, and a RestoreSession loads it into a new database
waiting for its initial restore, or back into the same one."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from simulator.client import Client
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.simulator import kubestash_kit as kit
from tests.simulator.test_dataplane import database, password, query, ready, real_url
from tests.support import eventually


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


async def configured(client: Client, tmp_path: Path, kind: str, name: str) -> None:
    await kit.setup_storage(client, tmp_path)
    await client.create(kit.policy(f"{name}-retention", maxRetentionPeriod="30d"))
    await client.create(kit.configuration(kind, name, "local"))

    async def bc_ready() -> bool:
        return await kit.phase_of(client, "backupconfigurations", f"{name}-backup") == "Ready"

    await eventually(bc_ready, timeout=20, message="the BackupConfiguration Ready")


async def backup_now(client: Client, name: str) -> dict[str, Any]:
    session = kit.on_demand(name, int(time.time()))
    await client.create(session)
    done = await kit.finished(client, "backupsessions", session["metadata"]["name"], timeout=30)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    return await client.get("snapshots", done["status"]["snapshots"][0]["name"])


def conditions(db: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in db["status"]["conditions"]}


async def test_a_postgres_backup_restores_into_a_new_database_and_in_place(
    client: Client, tmp_path: Path
) -> None:
    await client.create(database("Postgres"))
    url = await real_url(client)
    await ready(client, "postgreses")
    secret = await password(client)
    await query(url, secret, "create table notes (n int); insert into notes values (1), (2)")
    await configured(client, tmp_path, "Postgres", "db1")
    snapshot = await backup_now(client, "db1")
    dump = tmp_path / snapshot["status"]["components"]["dump"]["path"] / "dump.pgdump"
    assert dump.read_bytes().startswith(b"PGDMP")
    assert snapshot["metadata"]["annotations"][
        "kubestash.simulator.kubedb-dbaas.io/size-bytes"
    ] == str(dump.stat().st_size)
    await query(url, secret, "insert into notes values (3)")

    await client.create(database("Postgres", "db2", init={"waitForInitialRestore": True}))
    phases: set[str] = set()

    async def restoring() -> bool:
        found = await client.find("postgreses", "db2")
        phases.add(str(((found or {}).get("status") or {}).get("phase")))
        return "DataRestoring" in phases

    await eventually(restoring, timeout=30, interval=0.01, message="db2 DataRestoring")
    await client.create(
        kit.restore("db2-restore", "Postgres", "db2", "db1-manual", snapshot["metadata"]["name"])
    )
    await ready(client, "postgreses")  # db1 still
    await eventually(lambda: kit.phase_of(client, "postgreses", "db2"), timeout=30)

    async def db2_ready() -> bool:
        return await kit.phase_of(client, "postgreses", "db2") == "Ready"

    await eventually(db2_ready, timeout=30, message="db2 Ready after its restore")
    db2 = await client.get("postgreses", "db2")
    restored = conditions(db2)["DataRestored"]
    assert (restored["status"], restored["reason"]) == ("True", "SuccessfullyDataRestored")
    url2 = await real_url(client, "db2")
    assert await query(url2, await password(client, "db2"), "select n from notes order by n") == [
        (1,),
        (2,),
    ]

    await client.create(kit.restore("db1-restore-1", "Postgres", "db1", "db1-manual", "latest"))
    done = await kit.finished(client, "restoresessions", "db1-restore-1")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert await query(url, secret, "select n from notes order by n") == [(1,), (2,)]


async def test_a_redis_rdb_backup_restores_the_keys_it_held(client: Client, tmp_path: Path) -> None:
    await client.create(database("Redis"))
    url = await real_url(client)
    await ready(client, "redises")
    redis_db = aioredis.Redis.from_url(url, password=await password(client))
    try:
        await redis_db.set("kept", "1")
        await configured(client, tmp_path, "Redis", "db1")
        snapshot = await backup_now(client, "db1")
        rdb = tmp_path / snapshot["status"]["components"]["dump"]["path"] / "dump.rdb"
        assert rdb.read_bytes().startswith(b"REDIS")
        await redis_db.set("later", "2")
        await redis_db.delete("kept")
        await client.create(kit.restore("db1-restore-1", "Redis", "db1", "db1-manual"))
        done = await kit.finished(client, "restoresessions", "db1-restore-1")
        assert done["status"]["phase"] == "Succeeded", done["status"]
        assert await redis_db.get("kept") == b"1"
        assert await redis_db.get("later") is None
    finally:
        await redis_db.aclose()
