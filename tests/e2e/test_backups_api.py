"""Backups proven on rows through the API (issue 16, deliverable 6): rows written through
the connection string the API hands out, a backup taken through the API, then a restore
into a new database and a restore in place read back with a real client (psycopg 3), on
the simulator's real PostgreSQL servers and its KubeStash model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from app.config.settings import Settings
from tests.e2e.platform import BASE, Platform, create, running
from tests.e2e.test_data_through_the_api import (
    credentials,
    real_database,
    sql,
    succeeded,
)
from tests.support import eventually

pytestmark = pytest.mark.slow


@pytest.fixture
async def platform(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    """The platform, its leader syncing backups every half second (the scheduled ones)."""
    async with running(settings, embedded_redis_url, tmp_path, backup_sync_interval=0.5) as started:
        yield started


async def rows_of(client: httpx.AsyncClient, path: str, statement: str) -> list[Any]:
    return await sql((await credentials(client, path))["connection_string"], statement)


async def backed_up(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    """A manual backup through the API, followed to its end; its body."""
    response = await client.post(f"{path}/backups")
    assert response.status_code == 202, response.text
    backup_id = response.json()["backup_id"]
    await succeeded(client, response)
    found = await client.get(f"{path}/backups/{backup_id}")
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def test_a_backup_restored_into_a_new_database_holds_the_rows_written_before_it(
    platform: Platform,
) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 2})
    path = await real_database(client)
    await rows_of(client, path, "create table orders (n int)")
    await rows_of(client, path, "insert into orders values (1), (2)")

    backup = await backed_up(client, path)
    await rows_of(client, path, "insert into orders values (3)")
    source_id = path.rsplit("/", 1)[1]
    created = await create(
        client,
        name="orders-copy",
        restore_from={"database_id": source_id, "backup_id": backup["id"]},
    )
    await succeeded(client, created)
    copy = f"{BASE}/{created.json()['id']}"

    assert backup["status"] == "succeeded" and backup["type"] == "manual"
    assert backup["size_bytes"] > 0 and backup["completed_at"] is not None
    assert await rows_of(client, copy, "select n from orders order by n") == [(1,), (2,)]
    assert await rows_of(client, path, "select n from orders order by n") == [(1,), (2,), (3,)]


async def test_a_restore_in_place_brings_back_a_dropped_table(platform: Platform) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 1})
    path = await real_database(client)
    await rows_of(client, path, "create table notes (body text)")
    await rows_of(client, path, "insert into notes values ('kept')")
    backup = await backed_up(client, path)
    await rows_of(client, path, "drop table notes")

    restored = await client.post(f"{path}/restore", json={"backup_id": backup["id"]})
    await succeeded(client, restored)

    assert (await client.get(path)).json()["status"] == "running"
    assert await rows_of(client, path, "select body from notes") == [("kept",)]


async def test_a_scheduled_backup_is_listed_beside_the_manual_ones(platform: Platform) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 1})
    path = await real_database(client)
    await backed_up(client, path)

    async def both() -> list[dict[str, Any]] | None:
        listed: list[dict[str, Any]] = (await client.get(f"{path}/backups")).json()["backups"]
        kinds = {b["type"] for b in listed if b["status"] == "succeeded"}
        return listed if kinds == {"scheduled", "manual"} else None

    listed = await eventually(both, timeout=30, interval=0.2, message="a scheduled backup")

    assert all(b["size_bytes"] > 0 for b in listed)
    assert [b["created_at"] for b in listed] == sorted(
        (b["created_at"] for b in listed), reverse=True
    )


async def test_restores_that_cannot_be_done_are_refused_naming_why(platform: Platform) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 1})
    # Backups off: no scheduled backup is taken, so `latest` has none to find.
    path = await real_database(client, backup_enabled=False)
    source_id = path.rsplit("/", 1)[1]

    no_backup = await create(
        client, name="copy-1", restore_from={"database_id": source_id, "latest": True}
    )
    unknown = await create(
        client, name="copy-2", restore_from={"database_id": source_id, "backup_id": "bkp-nope"}
    )
    other_engine = await create(
        client,
        name="copy-3",
        engine="redis",
        restore_from={"database_id": source_id, "latest": True},
    )
    two_sources = await create(
        client,
        name="copy-4",
        restore_from={"database_id": source_id, "latest": True, "backup_id": "x"},
    )
    in_time = await create(
        client,
        name="copy-5",
        restore_from={"database_id": source_id, "point_in_time": "2026-01-01T00:00:00Z"},
    )
    in_place = await client.post(f"{path}/restore", json={"backup_id": "bkp-nope"})

    assert no_backup.status_code == 409, no_backup.text
    assert "no successful backup" in no_backup.text
    assert unknown.status_code == 422 and "bkp-nope" in unknown.text
    assert other_engine.status_code == 422 and "postgres" in other_engine.text
    assert two_sources.status_code == 422, two_sources.text
    assert in_time.status_code == 422 and "pitr_enabled" in in_time.text
    assert in_place.status_code == 422 and "bkp-nope" in in_place.text
    listed = (await client.get(BASE)).json()
    assert {d["name"] for d in listed["databases"]} == {"orders"}


async def test_a_final_backup_is_taken_before_a_delete_and_outlives_the_database(
    platform: Platform,
) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 2})
    path = await real_database(client)
    database_id = path.rsplit("/", 1)[1]
    await rows_of(client, path, "create table t (n int)")
    await rows_of(client, path, "insert into t values (42)")
    first = await backed_up(client, path)
    second = await backed_up(client, path)

    removed = await client.delete(f"{path}/backups/{first['id']}")
    deleted = await client.delete(path, params={"final_backup": "true"})
    await succeeded(client, deleted)
    final_id = deleted.json()["backup_id"]
    project = f"/api/v1/domain/acme/project/shop/backups?database_id={database_id}"
    listed = (await client.get(project)).json()["backups"]
    kept = [b for b in listed if b["type"] != "scheduled"]
    restored = await create(
        client, name="revived", restore_from={"database_id": database_id, "backup_id": final_id}
    )
    await succeeded(client, restored)

    assert removed.status_code == 202, removed.text
    assert (await client.get(f"{path}/backups/{first['id']}")).status_code == 404
    assert [(b["id"], b["type"], b["status"]) for b in kept] == [
        (final_id, "final", "succeeded"),
        (second["id"], "manual", "succeeded"),
    ]
    assert (await client.get(path)).json()["status"] == "deleted"
    revived = f"{BASE}/{restored.json()['id']}"
    assert await rows_of(client, revived, "select n from t") == [(42,)]


async def test_scheduled_backups_come_on_the_schedule_and_retention_removes_the_oldest(
    platform: Platform,
) -> None:
    """A minutely schedule on the simulator's clock (time scale 0.005: a minute is 0.3 s),
    two kept: new scheduled backups keep appearing, the oldest go (404), manual ones stay."""
    _, client, _ = platform
    created = await create(
        client,
        name="ticker",
        backup_schedule="* * * * *",
        backup_retention_count=2,
    )
    await succeeded(client, created)
    path = f"{BASE}/{created.json()['id']}"
    manual = await backed_up(client, path)
    seen: list[str] = []

    async def pruned() -> bool:
        listed = (await client.get(f"{path}/backups", params={"page_size": 100})).json()
        scheduled = [b for b in listed["backups"] if b["type"] == "scheduled"]
        seen.extend(b["id"] for b in scheduled if b["id"] not in seen)
        done = [b for b in scheduled if b["status"] == "succeeded"]
        return len(seen) >= 5 and len(done) <= 2

    await eventually(pruned, timeout=40, interval=0.3, message="scheduled backups pruned to 2")

    assert (await client.get(f"{path}/backups/{seen[0]}")).status_code == 404
    assert (await client.get(f"{path}/backups/{manual['id']}")).json()["status"] == "succeeded"
    body = (await client.get(path)).json()
    assert body["backup_retention_count"] == 2 and body["backup_schedule"] == "* * * * *"


async def redis_get(client: httpx.AsyncClient, path: str, key: str) -> bytes | None:
    connection = aioredis.Redis.from_url((await credentials(client, path))["connection_string"])
    try:
        value: bytes | None = await connection.get(key)
        return value
    finally:
        await connection.aclose()


async def test_a_redis_backup_restored_into_a_new_database_holds_the_keys_set_before_it(
    platform: Platform,
) -> None:
    _, client, served = platform
    served.simulator.config.update({"real_databases": 2})
    path = await real_database(client, engine="redis", name="cache")
    connection = aioredis.Redis.from_url((await credentials(client, path))["connection_string"])
    try:
        await connection.set("kept", "before")
        backup = await backed_up(client, path)
        await connection.set("later", "after")
    finally:
        await connection.aclose()
    created = await create(
        client,
        name="cache-copy",
        engine="redis",
        restore_from={"database_id": path.rsplit("/", 1)[1], "backup_id": backup["id"]},
    )
    await succeeded(client, created)
    copy = f"{BASE}/{created.json()['id']}"

    assert backup["size_bytes"] > 0
    assert await redis_get(client, copy, "kept") == b"before"
    assert await redis_get(client, copy, "later") is None
