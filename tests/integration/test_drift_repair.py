"""Drift made directly in the simulator, found by one repair pass and fixed (or adopted, or
reported), on the real engine, a real Redis, SQLite and the simulator on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from app.domain import engines, sizes
from app.domain.databases import Database, DatabaseStatus
from app.domain.events import Event
from app.domain.operations import Operation, OperationStatus
from app.services.catalog import CatalogService
from app.services.cluster_view import ClusterView
from app.services.drift_repair import DriftRepair, RepairPass
from app.store import errors as store_errors
from app.store.protocols import Fence, OperationFilter
from app.store.sqlite import SQLiteStore
from tests.integration.test_database_handlers import NAMESPACE, World, world
from tests.support import eventually


class Deposed(Exception):
    pass


@contextlib.asynccontextmanager
async def repairing(
    store: SQLiteStore, redis: aioredis.Redis, **knobs: Any
) -> AsyncIterator[tuple[World, DriftRepair]]:
    async with world(store, redis, **knobs) as w:
        table = sizes.default_size_table()
        repair = DriftRepair(
            store, ClusterView(w.gateway), w.engine.service, CatalogService(w.gateway, table), table
        )
        yield w, repair


def leading() -> None:
    return None


async def patch_cr(w: World, database: Database, patch: dict[str, Any]) -> None:
    resource = engines.spec(database.engine).database_resource
    await w.gateway.merge_patch(resource, database.name, patch, namespace=NAMESPACE)


async def fixes(w: World, database: Database) -> list[Operation]:
    page = await w.store.operations.list(OperationFilter(database_id=database.id), limit=50)
    return [op for op in page.items if op.created_by == "reconciler"]


async def drift_events(w: World, database: Database) -> list[Event]:
    page = await w.store.events.list_for_database(database.id, limit=100)
    return [e for e in page.items if e.reason == "DriftDetected"]


async def one_fix(w: World, database: Database, result: RepairPass) -> Operation:
    assert result.fixes == 1, result
    (fix,) = await fixes(w, database)
    return await w.engine.wait_terminal(fix.id, timeout=20)


@pytest.mark.parametrize(
    ("engine", "shape", "patch", "field", "op_type", "settled"),
    [
        (
            "postgres",
            {"high_availability": True, "replicas": 2},
            {"spec": {"replicas": 3}},
            "replicas",
            "scale_horizontal",
            lambda spec: spec["replicas"] == 2,
        ),
        (
            "mysql",
            {},
            {
                "spec": {
                    "podTemplate": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "mysql",
                                    "resources": {"requests": {"cpu": "2", "memory": "4Gi"}},
                                }
                            ]
                        }
                    }
                }
            },
            "resources",
            "scale_vertical",
            lambda spec: (
                spec["podTemplate"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
                == "500m"
            ),
        ),
        (
            "mariadb",
            {"storage_gb": 20},
            {"spec": {"storage": {"resources": {"requests": {"storage": "10Gi"}}}}},
            "storage",
            "expand_storage",
            lambda spec: spec["storage"]["resources"]["requests"]["storage"] == "20Gi",
        ),
        (
            "postgres",
            {},
            {"spec": {"version": "16.10"}},
            "version",
            "upgrade_version",
            lambda spec: spec["version"] == "16.13",
        ),
        (
            "redis",
            {},
            {"spec": {"halted": True}},
            "halted",
            "resume",
            lambda spec: spec["halted"] is False,
        ),
    ],
)
async def test_drift_made_in_the_cluster_is_found_by_one_pass_and_fixed_by_an_operation(
    sqlite_store: SQLiteStore,
    redis_client: aioredis.Redis,
    engine: str,
    shape: dict[str, Any],
    patch: dict[str, Any],
    field: str,
    op_type: str,
    settled: Any,
) -> None:
    async with repairing(sqlite_store, redis_client) as (w, repair):
        db = await w.created("drifty", engine, **shape)
        await patch_cr(w, db, patch)

        result = await repair.run_pass(leading)
        fix = await one_fix(w, db, result)

        assert fix.type == op_type
        assert fix.status is OperationStatus.SUCCEEDED, fix.error_message
        assert result.drift == {field: 1}
        (event,) = await drift_events(w, db)
        assert event.actor == "reconciler" and event.operation_id == fix.id
        assert event.details["drift"][0]["field"] == field
        cr = await w.cr(db)
        assert cr is not None and settled(cr["spec"]), cr["spec"]
        record = await w.record(db.id)
        assert record.status is DatabaseStatus.RUNNING
        again = await repair.run_pass(leading)
        assert (again.drift, again.fixes) == ({}, 0)


@pytest.mark.parametrize(
    ("patch", "field", "adopted"),
    [
        ({"spec": {"storage": {"resources": {"requests": {"storage": "50Gi"}}}}}, "storage_gb", 50),
        ({"spec": {"version": "17.6"}}, "version", "17.6"),
    ],
)
async def test_drift_that_cannot_be_undone_is_adopted_into_the_record(
    sqlite_store: SQLiteStore,
    redis_client: aioredis.Redis,
    patch: dict[str, Any],
    field: str,
    adopted: Any,
) -> None:
    async with repairing(sqlite_store, redis_client) as (w, repair):
        db = await w.created("grown", "postgres")
        await patch_cr(w, db, patch)

        result = await repair.run_pass(leading)
        record = await w.record(db.id)
        again = await repair.run_pass(leading)

        assert (result.fixes, result.adopted) == (0, 1)
        assert getattr(record, field) == adopted
        (event,) = await drift_events(w, db)
        assert "adopted from the cluster" in event.message
        assert (again.drift, again.adopted) == ({}, 0)


async def test_a_vanished_cr_fails_the_database_once_and_keeps_its_record(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with repairing(sqlite_store, redis_client) as (w, repair):
        db = await w.created("ghost", "mariadb")
        resource = engines.spec("mariadb").database_resource
        await w.gateway.delete(resource, "ghost", namespace=NAMESPACE)
        await eventually(lambda: _gone(w, db), timeout=10, message="the CR is gone")

        result = await repair.run_pass(leading)
        again = await repair.run_pass(leading)
        record = await w.record(db.id)
        page = await w.store.events.list_for_database(db.id, limit=50)

    assert (result.vanished, again.vanished) == (1, 0)
    assert record.status is DatabaseStatus.FAILED
    assert "MariaDB" in (record.message or "") and "gone from the cluster" in (record.message or "")
    missing = [e for e in page.items if e.reason == "ClusterResourceMissing"]
    assert len(missing) == 1 and (missing[0].from_status, missing[0].to_status) == (
        "running",
        "failed",
    )


async def test_an_orphan_cr_is_reported_once_and_left_alone(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with repairing(sqlite_store, redis_client) as (w, repair):
        await w.created("owned", "postgres")
        resource = engines.spec("postgres").database_resource
        await w.gateway.create(
            resource,
            {
                "apiVersion": resource.api_version,
                "kind": resource.kind,
                "metadata": {
                    "name": "stray",
                    "namespace": NAMESPACE,
                    "labels": {
                        "app.kubernetes.io/managed-by": "kubedb-dbaas",
                        "dbaas.io/database-id": "db-nobodyknowsme",
                        "dbaas.io/domain": "acme",
                        "dbaas.io/project": "shop",
                    },
                },
                "spec": {
                    "version": "16.13",
                    "storage": {"resources": {"requests": {"storage": "1Gi"}}},
                },
            },
        )

        first = await repair.run_pass(leading)
        second = await repair.run_pass(leading)
        events = await w.store.events.list_for_database("db-nobodyknowsme", limit=10)
        stray = await w.gateway.find(resource, "stray", namespace=NAMESPACE)

    assert (first.orphans, second.orphans) == (1, 1)
    assert [e.reason for e in events.items] == ["OrphanDetected"]
    assert stray is not None


async def test_a_deposed_leader_opens_no_fix(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with repairing(sqlite_store, redis_client) as (w, repair):
        db = await w.created("fenced", "postgres", high_availability=True, replicas=2)
        await patch_cr(w, db, {"spec": {"replicas": 3}})

        def deposed() -> None:
            raise Deposed("lease of epoch 7 expired")

        with pytest.raises(Deposed):
            await repair.run_pass(deposed)

        assert await fixes(w, db) == [] and await drift_events(w, db) == []


async def test_two_leaders_overlapping_open_one_fix_and_a_failed_fix_is_not_retried(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with repairing(sqlite_store, redis_client, ops_failure_probability=1.0) as (
        w,
        repair,
    ):
        db = await w.created("twice", "postgres", high_availability=True, replicas=2)
        await patch_cr(w, db, {"spec": {"replicas": 3}})
        table = sizes.default_size_table()
        other = DriftRepair(
            sqlite_store,
            ClusterView(w.gateway),
            w.engine.service,
            CatalogService(w.gateway, table),
            table,
        )

        first = await repair.run_pass(leading)
        overlapping = await other.run_pass(leading)
        (fix,) = await fixes(w, db)
        ended = await w.engine.wait_terminal(fix.id)
        after_failure = await repair.run_pass(leading)

    assert (first.fixes, overlapping.fixes) == (1, 0)
    assert ended.status is OperationStatus.FAILED
    assert (after_failure.fixes, after_failure.skipped) == (0, 1)
    assert len(await fixes(w, db)) == 1


async def _gone(w: World, db: Database) -> bool:
    return await w.cr(db) is None


async def test_a_replica_count_the_rules_refuse_set_by_hand_is_still_put_back(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with repairing(sqlite_store, redis_client) as (w, repair):
        db = await w.created("odd", "mongodb", high_availability=True, replicas=3)
        client = w.served.client()
        cr = await client.get("mongodbs", "odd", namespace=NAMESPACE)
        cr["spec"]["replicas"] = 2  # a replica set of 2: past the webhook, by hand
        await client.update(cr, admission=False)

        result = await repair.run_pass(leading)
        fix = await one_fix(w, db, result)

        assert fix.status is OperationStatus.SUCCEEDED, fix.error_message
        assert (await w.cr(db) or {})["spec"]["replicas"] == 3


async def test_a_version_nothing_can_undo_is_left_alone_and_reported_once(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with repairing(sqlite_store, redis_client) as (w, repair):
        db = await w.created("odd-version", "postgres")
        client = w.served.client()
        cr = await client.get("postgreses", "odd-version", namespace=NAMESPACE)
        cr["spec"]["version"] = "99.1"  # not in the catalog: set past the webhook, by hand
        await client.update(cr, admission=False)

        first = await repair.run_pass(leading)
        second = await repair.run_pass(leading)
        record = await w.record(db.id)

        assert (first.fixes, first.adopted, first.skipped) == (0, 0, 1)
        assert (second.fixes, second.adopted, second.skipped) == (0, 0, 1)
        assert record.version == "16.13"
        (event,) = await drift_events(w, db)
        assert "left alone" in event.message and "observed 99.1" in event.message


async def test_a_stale_leaders_adoption_is_refused_by_the_store_and_writes_nothing(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with repairing(sqlite_store, redis_client) as (w, repair):
        db = await w.created("stale", "postgres")
        await patch_cr(
            w, db, {"spec": {"storage": {"resources": {"requests": {"storage": "50Gi"}}}}}
        )
        held = Fence("leader", await sqlite_store.fences.advance("leader"))
        await sqlite_store.fences.advance("leader")  # a newer leader took the lease

        with pytest.raises(store_errors.Fenced):
            await repair.run_pass(lambda: held)

        assert (await w.record(db.id)).storage_gb == db.storage_gb
        assert await drift_events(w, db) == []


async def test_a_database_clean_in_one_pass_is_compared_again_once_its_cr_or_record_changes(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with repairing(sqlite_store, redis_client) as (w, repair):
        db = await w.created("steady", "postgres", high_availability=True, replicas=2)
        clean = await repair.run_pass(leading)
        still = await repair.run_pass(leading)  # same revision, same CR: not rebuilt, no drift
        await patch_cr(w, db, {"spec": {"replicas": 3}})
        cr_changed = await repair.run_pass(leading)
        await one_fix(w, db, cr_changed)
        settled = await repair.run_pass(leading)
        record = await w.record(db.id)
        await w.store.databases.update_fields(
            db.id, {"replicas": 3}, expected_revision=record.revision
        )
        record_changed = await repair.run_pass(leading)

    assert (clean.checked, clean.drift, still.checked, still.drift) == (1, {}, 1, {})
    assert cr_changed.drift == {"replicas": 1}
    assert settled.drift == {}
    assert record_changed.drift == {"replicas": 1}
