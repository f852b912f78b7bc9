"""Nothing hangs, nothing lies (issue 16, deliverable 5): a backup or a restore the
cluster fails, or that never finishes, ends `failed` with the cluster's reason, and a
restored database counts against quotas like a created one. Modelled databases: the
simulator's KubeStash model with its fault knobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config.settings import Settings
from tests.e2e.platform import BASE, Platform, create, finished, running

PROJECT_QUOTA = "/api/v1/domains/acme/projects/shop"


@pytest.fixture
async def platform(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    """The platform, operations given 6 s: a backup stuck in the cluster fails in time."""
    async with running(settings, embedded_redis_url, tmp_path, operation_deadline=6) as started:
        yield started


async def running_database(client: httpx.AsyncClient, **body: Any) -> str:
    created = await create(client, **body)
    operation = await finished(client, created)
    assert operation["status"] == "succeeded", operation["error_message"]
    return f"{BASE}/{created.json()['id']}"


async def failed_backup(client: httpx.AsyncClient, path: str) -> tuple[dict[str, Any], Any]:
    """A backup asked for through the API, followed to its end (the operation, the backup)."""
    response = await client.post(f"{path}/backups")
    operation = await finished(client, response)
    backup = (await client.get(f"{path}/backups/{response.json()['backup_id']}")).json()
    return operation, backup


async def test_a_backup_the_cluster_fails_is_failed_with_the_clusters_reason(
    platform: Platform,
) -> None:
    _, client, served = platform
    path = await running_database(client, backup_enabled=False)
    served.simulator.config.update({"backup_session_fail": ["*/*-manual-*"]})

    operation, backup = await failed_backup(client, path)

    assert operation["status"] == "failed"
    assert "backup_session_fail" in operation["error_message"]
    assert backup["status"] == "failed" and "backup_session_fail" in backup["error"]
    assert (await client.get(path)).json()["status"] == "running"


async def test_a_backup_that_never_finishes_fails_at_its_deadline(platform: Platform) -> None:
    _, client, served = platform
    path = await running_database(client, backup_enabled=False)
    served.simulator.config.update({"backup_session_stuck": ["*/*"]})

    operation, backup = await failed_backup(client, path)

    assert operation["status"] == "failed", operation
    assert "deadline" in operation["error_message"]
    assert backup["status"] == "failed" and backup["completed_at"] is not None


async def test_a_backup_to_a_storage_that_is_not_ready_fails_naming_it(
    platform: Platform,
) -> None:
    _, client, _ = platform
    storage = {
        "name": "cold",
        "provider": "gcs",
        "bucket": "b",
        "credentials": {"project_id": "p", "service_account_json": "{}"},
    }
    assert (await client.post("/api/v1/backup-storages", json=storage)).status_code == 201
    path = await running_database(client, backup_enabled=False, backup_storage="cold")

    operation, backup = await failed_backup(client, path)

    assert operation["status"] == "failed"
    assert "NotReady" in operation["error_message"], operation["error_message"]
    assert backup["storage"] == "cold" and backup["status"] == "failed"


async def test_a_restore_the_cluster_fails_fails_the_create_with_its_reason(
    platform: Platform,
) -> None:
    _, client, served = platform
    path = await running_database(client, backup_enabled=False)
    taken = await client.post(f"{path}/backups")
    assert (await finished(client, taken))["status"] == "succeeded"
    served.simulator.config.update({"restore_fail": ["*/*"]})

    copy = await create(
        client,
        name="orders-copy",
        restore_from={
            "database_id": path.rsplit("/", 1)[1],
            "backup_id": taken.json()["backup_id"],
        },
    )
    operation = await finished(client, copy)

    assert operation["status"] == "failed"
    assert "restore failed" in operation["error_message"], operation["error_message"]
    assert (await client.get(f"{BASE}/{copy.json()['id']}")).json()["status"] == "failed"


async def test_a_restored_database_counts_against_the_quota_like_a_created_one(
    platform: Platform,
) -> None:
    _, client, _ = platform
    path = await running_database(client, backup_enabled=False)
    taken = await client.post(f"{path}/backups")
    assert (await finished(client, taken))["status"] == "succeeded"
    assert (await client.put(PROJECT_QUOTA, json={"quota": {"max_databases": 1}})).is_success

    copy = await create(
        client,
        name="orders-copy",
        restore_from={"database_id": path.rsplit("/", 1)[1], "latest": True},
    )

    assert copy.status_code == 429, copy.text
    assert copy.json()["error"]["code"] == "quota_exceeded"


async def test_the_older_clients_backup_path_takes_a_backup_like_backups(
    platform: Platform,
) -> None:
    _, client, _ = platform
    path = await running_database(client, backup_enabled=False)

    response = await client.post(f"{path}/backup")
    operation = await finished(client, response)
    backup = (await client.get(f"{path}/backups/{response.json()['backup_id']}")).json()

    assert operation["status"] == "succeeded", operation["error_message"]
    assert (backup["type"], backup["status"]) == ("manual", "succeeded")
