"""The gauges sampled at scrape time, on a real Redis and a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis

from app.broker.streams import OperationQueue
from app.domain.backups import Backup, BackupStatus, BackupType
from app.domain.databases import Database
from app.observability.metrics import Metrics
from app.services.telemetry import GaugeSampler
from app.store.sqlite import SQLiteStore
from tests.support import scoped_key


async def test_a_sample_reads_the_queue_and_the_databases_and_keeps_emptied_states_at_zero(
    redis_client: aioredis.Redis,
    sqlite_store: SQLiteStore,
) -> None:
    metrics = Metrics()
    queue = OperationQueue(redis_client, prefix=scoped_key("telemetry"))
    await queue.ensure_group()
    await queue.enqueue("op-1")
    await queue.schedule("op-2", 60)
    made = await sqlite_store.databases.insert(
        Database(name="orders", domain="acme", project="shop", engine="postgres", version="16.4")
    )
    sampler = GaugeSampler(metrics, store=sqlite_store, queue=queue)

    await sampler.sample()
    first = metrics.registry.get_sample_value(
        "dbaas_databases", {"engine": "postgres", "status": "pending", "health": "unknown"}
    )
    await sqlite_store.databases.update_fields(made.id, {"status": "running"})
    await sampler.sample()

    def gauge(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert first == 1
    assert gauge("dbaas_databases", engine="postgres", status="pending", health="unknown") == 0
    assert gauge("dbaas_databases", engine="postgres", status="running", health="unknown") == 1
    assert (gauge("dbaas_queue_ready"), gauge("dbaas_queue_delayed")) == (1, 1)


async def test_a_failing_sample_is_counted_and_the_rest_is_still_sampled(
    redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    metrics = Metrics()
    queue = OperationQueue(redis_client, prefix=scoped_key("telemetry-broken"))
    await queue.ensure_group()
    await queue.enqueue("op-1")
    store = await SQLiteStore.open(tmp_path / "store.sqlite3")
    await store.close()  # every read fails from here on

    await GaugeSampler(metrics, store=store, queue=queue).sample()

    assert (
        metrics.registry.get_sample_value("dbaas_metrics_sample_errors_total", {"source": "store"})
        == 1
    )
    assert metrics.registry.get_sample_value("dbaas_queue_ready") == 1


async def test_a_sample_counts_the_backups_kept_and_their_bytes_by_storage_type_and_status(
    redis_client: aioredis.Redis,
    sqlite_store: SQLiteStore,
) -> None:
    metrics = Metrics()
    queue = OperationQueue(redis_client, prefix=scoped_key("telemetry-backups"))
    await queue.ensure_group()
    made = await sqlite_store.backups.insert(
        Backup(
            database_id="db-1",
            database_name="orders",
            domain="acme",
            project="shop",
            engine="postgres",
            provider_id="prv-1",
            namespace="acme-shop-123456",
            type=BackupType.MANUAL,
            status=BackupStatus.SUCCEEDED,
            storage="local",
            repository="orders-manual",
            snapshot_name="orders-manual-1",
            size_bytes=4096,
        )
    )
    sampler = GaugeSampler(metrics, store=sqlite_store, queue=queue)
    labels = {"storage": "local", "type": "manual", "status": "succeeded"}

    await sampler.sample()
    kept = (
        metrics.registry.get_sample_value("dbaas_backups", labels),
        metrics.registry.get_sample_value("dbaas_backup_bytes", labels),
    )
    await sqlite_store.backups.update_fields(made.id, {"removed_at": made.created_at})
    await sampler.sample()

    assert kept == (1, 4096)
    assert metrics.registry.get_sample_value("dbaas_backups", labels) == 0
    assert metrics.registry.get_sample_value("dbaas_backup_bytes", labels) == 0
