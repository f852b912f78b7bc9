"""The status sync on a real Redis, a real SQLite store and the simulator on loopback: health
follows the cluster within one interval, one batched listing per pass whatever the number of
databases, and the work shared among live instances."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from app.broker.streams import OperationQueue
from app.cluster.config import ClusterConnection
from app.cluster.gateway import KubeGateway
from app.domain import engines, namespaces, sizes
from app.domain import operation_kinds as kinds
from app.domain.databases import Database, DatabaseStatus, HealthStatus
from app.domain.manifests import database_cr
from app.runtime import tasks
from app.services.catalog import CatalogService
from app.services.cluster_view import ClusterView
from app.services.drift_repair import DriftRepair
from app.services.handlers.desired_spec import desired_for
from app.services.operations import OperationDefaults, OperationService
from app.services.status_sync import StatusSync
from app.store.sqlite import SQLiteStore
from app.workers.membership import Membership
from app.workers.status_sync_worker import StatusSyncWorker
from simulator.server import Served, Simulator, run_simulator
from tests.integration.test_database_handlers import world
from tests.support import eventually, redis_keys, scoped_key

NAMESPACE = namespaces.namespace_for("acme", "shop")
VERSIONS = {
    "postgres": "16.13",
    "mysql": "8.4.8",
    "mariadb": "11.8.5",
    "mongodb": "8.0.17",
    "redis": "8.2.2",
}
TABLE = sizes.default_size_table()


@dataclass
class Fleet:
    workers: dict[str, StatusSyncWorker]
    tasks: dict[str, asyncio.Task[None]]
    stops: dict[str, asyncio.Event]

    async def kill(self, name: str) -> None:
        """Gone without a word: cancelled, so it never leaves the member set cleanly."""
        assert await tasks.cancel_and_wait(self.tasks[name], timeout=5)


@contextlib.asynccontextmanager
async def syncing(
    store: SQLiteStore,
    redis: aioredis.Redis,
    gateway: KubeGateway,
    *names: str,
    interval: float = 0.3,
    key: str | None = None,
) -> AsyncIterator[Fleet]:
    """Status sync workers named `names`, each in its own task."""
    fleet = Fleet({}, {}, {})
    for name in names:
        worker = StatusSyncWorker(
            StatusSync(store, ClusterView(gateway)),
            Membership(redis, name, ttl=interval, key=key or redis_keys().members),
            interval=interval,
        )
        fleet.workers[name] = worker
        fleet.stops[name] = asyncio.Event()
        fleet.tasks[name] = tasks.spawn(f"test-sync-{name}", worker.run(fleet.stops[name]))
    try:
        yield fleet
    finally:
        for name, task in fleet.tasks.items():
            fleet.stops[name].set()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)


async def test_health_follows_a_database_the_cluster_turns_critical_or_not_ready_and_back(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.created("orders", "postgres", high_availability=True, replicas=3)
        interval = 0.3
        async with syncing(
            sqlite_store,
            redis_client,
            w.gateway,
            "one",
            interval=interval,
            key=scoped_key("members"),
        ):

            async def health_is(wanted: HealthStatus) -> Database | None:
                record = await w.record(db.id)
                return record if record.health_status is wanted else None

            await w.configure(degraded=[f"{NAMESPACE}/orders"])
            degraded = await eventually(
                lambda: health_is(HealthStatus.DEGRADED), timeout=interval * 4, message="degraded"
            )
            await w.configure(degraded=[], unhealthy=[f"{NAMESPACE}/orders"])
            unhealthy = await eventually(
                lambda: health_is(HealthStatus.UNHEALTHY), timeout=interval * 4, message="unhealthy"
            )
            await w.configure(unhealthy=[])
            healthy = await eventually(
                lambda: health_is(HealthStatus.HEALTHY),
                timeout=interval * 4,
                message="healthy again",
            )

        assert (degraded.phase, degraded.status) == ("Critical", DatabaseStatus.RUNNING)
        assert "One or more replicas are not ready" in (degraded.message or "")
        assert "not accepting client requests" in (unhealthy.message or "")
        assert healthy.message == "the cluster reports phase Ready"
        assert any(
            c["type"] == "ReplicaReady" and c["status"] == "False" for c in degraded.conditions
        )
        assert (unhealthy.phase, unhealthy.ready_replicas) == ("NotReady", 0)
        assert (healthy.phase, healthy.ready_replicas) == ("Ready", 3)
        assert healthy.synced_at is not None


async def seeded(store: SQLiteStore, served: Served, count: int) -> list[Database]:
    """`count` running databases of mixed engines, in the store and (Ready) in the cluster."""
    served.simulator.seed(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    )
    client = served.client()
    made = []
    for i in range(count):
        engine = sorted(VERSIONS)[i % len(VERSIONS)]
        database = await store.databases.insert(
            Database(
                name=f"db-{i:05d}",
                domain="acme",
                project="shop",
                engine=engine,
                version=VERSIONS[engine],
                storage_gb=10,
                status=DatabaseStatus.RUNNING,
                namespace=NAMESPACE,
                kubedb_resource_name=f"db-{i:05d}",
            )
        )
        manifest: dict[str, Any] = database_cr.database_manifest(desired_for(database, TABLE))
        manifest["metadata"]["namespace"] = NAMESPACE
        created = served.simulator.seed(manifest)
        created["status"] = {"phase": "Ready", "conditions": []}
        await client.update_status(created, admission=False)
        made.append(database)
    return made


@pytest.mark.parametrize("count", [100, 2000])
async def test_one_pass_of_each_worker_lists_each_engine_once_per_page_whatever_the_count(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis, count: int
) -> None:
    async with (
        run_simulator(simulator=Simulator()) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers) as admin,
    ):
        databases = await seeded(sqlite_store, served, count)
        gateway = KubeGateway.connect(
            ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=10
        )
        queue = OperationQueue(redis_client, prefix=scoped_key("ops"))
        operations = OperationService(sqlite_store, queue, OperationDefaults(deadline=60))
        repair = DriftRepair(
            sqlite_store, ClusterView(gateway), operations, CatalogService(gateway, TABLE), TABLE
        )
        try:
            await admin.post("/_sim/stats/reset")
            synced = await StatusSync(sqlite_store, ClusterView(gateway)).run_pass(lambda _: True)
            sync_stats = (await admin.get("/_sim/stats")).json()
            await admin.post("/_sim/stats/reset")
            repaired = await repair.run_pass(lambda: None)
            repair_stats = (await admin.get("/_sim/stats")).json()
        finally:
            await gateway.close()

    per_engine = Counter(d.engine for d in databases)
    pages = sum(max(1, math.ceil(per_engine[e] / 500)) for e in engines.Engine)
    # The sync also asks for the AppBindings, once: this simulator has no KubeDB plugin, so
    # the kind is not served (404, counted by path), which the sync takes as "none".
    bindings = "get /apis/appcatalog.appscode.com/v1alpha1/appbindings"
    engine_lists = {key: n for key, n in sync_stats["requests"].items() if key != bindings}
    assert sync_stats["total"] == synced.cluster_calls == pages + 1
    assert sync_stats["requests"][bindings] == 1
    assert repair_stats["total"] == repaired.cluster_calls == pages
    assert all(key.startswith("list ") for key in [*engine_lists, *repair_stats["requests"]])
    assert (synced.seen, synced.synced, synced.written, synced.missing) == (count, count, count, 0)
    assert (repaired.checked, repaired.drift, repaired.fixes, repaired.vanished) == (
        count,
        {},
        0,
        0,
    )


async def test_two_instances_share_every_database_once_and_one_takes_all_when_the_other_dies(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with run_simulator(simulator=Simulator()) as served:
        databases = await seeded(sqlite_store, served, 200)
        everyone = {d.id for d in databases}
        gateway = KubeGateway.connect(
            ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=10
        )
        interval = 0.4
        try:
            async with syncing(
                sqlite_store,
                redis_client,
                gateway,
                "alpha",
                "beta",
                interval=interval,
                key=scoped_key("members"),
            ) as fleet:
                alpha, beta = fleet.workers["alpha"], fleet.workers["beta"]

                async def both_see_both() -> bool:
                    return alpha.members == beta.members == ["alpha", "beta"]

                await eventually(both_see_both, timeout=5, message="two members")
                shared_a = await alpha.run_pass()
                shared_b = await beta.run_pass()
                assert shared_a is not None and shared_b is not None
                # beta dies: no clean leave, its heartbeat entry simply expires.
                await fleet.kill("beta")

                async def alpha_alone() -> bool:
                    return alpha.members == ["alpha"]

                await eventually(alpha_alone, timeout=interval * 4, message="beta expired")
                alone = await alpha.run_pass()
        finally:
            await gateway.close()

    assert alone is not None
    assert shared_a.synced_ids.isdisjoint(shared_b.synced_ids)
    assert shared_a.synced_ids | shared_b.synced_ids == everyone
    assert 40 < len(shared_a.synced_ids) < 160  # both take a real share
    assert alone.synced_ids == everyone


async def test_a_status_an_operation_took_after_the_pass_listed_them_is_not_overwritten(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with run_simulator(simulator=Simulator()) as served:
        (database,) = await seeded(sqlite_store, served, 1)
        # An operation became active after the pass read the active ones, and left the
        # record `scaling`; the CR says Ready.
        scaling = await sqlite_store.databases.update_fields(
            database.id, {"status": DatabaseStatus.SCALING}
        )
        queue = OperationQueue(redis_client, prefix=scoped_key("ops"))
        operations = OperationService(sqlite_store, queue, OperationDefaults(deadline=60))
        await operations.submit(
            kinds.SCALE_HORIZONTAL,
            kinds.ScaleHorizontalInput(replicas=1),
            database_id=database.id,
            domain="acme",
            project="shop",
        )
        gateway = KubeGateway.connect(
            ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=10
        )
        try:
            sync = StatusSync(sqlite_store, ClusterView(gateway))
            snapshot = await ClusterView(gateway).snapshot()
            written = await sync._sync_one(  # as the pass would, with its stale list
                scaling, snapshot.databases[database.id].observed, operation_active=False
            )
        finally:
            await gateway.close()
        record = await sqlite_store.databases.get(database.id)

    assert written == 0
    assert record is not None and record.status is DatabaseStatus.SCALING


async def test_a_record_or_a_cr_changed_after_a_pass_that_wrote_nothing_is_synced_again(
    sqlite_store: SQLiteStore,
) -> None:
    async with run_simulator(simulator=Simulator()) as served:
        first, second, _ = await seeded(sqlite_store, served, 3)
        gateway = KubeGateway.connect(
            ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=10
        )
        try:
            sync = StatusSync(sqlite_store, ClusterView(gateway))
            settled = await sync.run_pass(lambda _: True)
            steady = await sync.run_pass(lambda _: True)  # nothing to write: remembered
            # The record changed behind the pass (its revision moves), then the CR.
            await sqlite_store.databases.update_fields(
                first.id, {"health_status": HealthStatus.UNKNOWN, "phase": None}
            )
            record_changed = await sync.run_pass(lambda _: True)
            cr = await gateway.get(
                engines.spec(second.engine).database_resource, second.name, namespace=NAMESPACE
            )
            cr["status"] = {"phase": "NotReady", "conditions": []}
            await served.client().update_status(cr, admission=False)
            cr_changed = await sync.run_pass(lambda _: True)
            again = await sync.run_pass(lambda _: True)
        finally:
            await gateway.close()
        records = {i: await sqlite_store.databases.get(i) for i in (first.id, second.id)}

    assert settled.written == 3 and settled.synced == 3
    assert (steady.written, steady.synced, again.written, again.synced) == (0, 3, 0, 3)
    assert (record_changed.written, cr_changed.written) == (1, 1)
    first_now, second_now = records[first.id], records[second.id]
    assert first_now is not None and first_now.health_status is HealthStatus.HEALTHY
    assert second_now is not None and second_now.health_status is HealthStatus.UNHEALTHY
