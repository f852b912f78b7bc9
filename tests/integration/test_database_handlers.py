"""The database handlers on the real engine: a SQLite store, a real Redis, the simulator with
the KubeDB operator model on loopback, and the cluster gateway in between."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from app.cluster import errors
from app.cluster.config import ClusterConnection
from app.cluster.gateway import KubeGateway
from app.domain import engines, namespaces, sizes
from app.domain import operation_kinds as kinds
from app.domain.databases import Database, DatabaseStatus, HealthStatus
from app.domain.manifests import labels
from app.domain.operations import Operation, OperationStatus
from app.engine.context import StepContext
from app.engine.retry import RetryPolicy
from app.main import WATCH_RETRY
from app.observability.log import get_logger
from app.services.handlers.opsrequests import OpsRequestOperations
from app.services.handlers.provisioning import Provisioning
from app.services.handlers.registry import (
    HandlerDeps,
    HandlerTiming,
    register_database_handlers,
)
from app.store.sqlite import SQLiteStore
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.integration.engine_harness import Engine, running_engine
from tests.support import eventually

pytestmark = pytest.mark.timeout(60)

NAMESPACE = namespaces.namespace_for("acme", "shop")
ACTOR = "key-test0000000000001"
VERSIONS = {
    "postgres": "16.13",
    "mysql": "8.4.8",
    "mariadb": "11.8.5",
    "mongodb": "8.0.17",
    "redis": "8.2.2",
}
FAST = HandlerTiming(
    provision_deadline=20, provision_poll=0.03, ops_poll=0.03, halt_poll=0.03, delete_poll=0.03
)
PATIENT_RETRY = RetryPolicy(initial=0.02, factor=2.0, cap=0.2, max_attempts=40, jitter=0.0)


@dataclass
class World:
    store: SQLiteStore
    engine: Engine
    gateway: KubeGateway
    admin: httpx.AsyncClient
    served: Served
    deps: HandlerDeps

    async def configure(self, **knobs: Any) -> None:
        answer = await self.admin.put("/_sim/config", json=knobs)
        assert answer.status_code == 200, answer.text

    async def database(self, name: str, engine: str = "postgres", **fields: Any) -> Database:
        values: dict[str, Any] = dict(
            name=name,
            domain="acme",
            project="shop",
            engine=engine,
            version=VERSIONS[engine],
            storage_gb=10,
        )
        values.update(fields)
        return await self.store.databases.insert(Database(**values))

    async def run(
        self,
        database: Database,
        op_type: str,
        desired_state: dict[str, Any] | None = None,
        *,
        timeout: float = 20,
    ) -> Operation:
        op = await self.engine.submit(
            database.id, op_type, desired_state=desired_state or {}, created_by=ACTOR
        )
        return await self.engine.wait_terminal(op.id, timeout=timeout)

    async def created(self, name: str, engine: str = "postgres", **fields: Any) -> Database:
        database = await self.database(name, engine, **fields)
        op = await self.run(database, "create")
        assert op.status is OperationStatus.SUCCEEDED, op.error_message
        return await self.record(database.id)

    async def record(self, database_id: str) -> Database:
        found = await self.store.databases.get(database_id)
        assert found is not None
        return found

    async def transitions(self, database_id: str, operation_id: str) -> list[tuple[str, str]]:
        page = await self.store.events.list_for_database(database_id, limit=100)
        return [
            (str(e.from_status), str(e.to_status))
            for e in reversed(page.items)
            if e.operation_id == operation_id
        ]

    async def reasons(self, database_id: str, operation_id: str) -> list[str]:
        page = await self.store.events.list_for_database(database_id, limit=100)
        return [e.reason for e in reversed(page.items) if e.operation_id == operation_id]

    async def cr(self, database: Database) -> dict[str, Any] | None:
        resource = engines.spec(database.engine).database_resource
        return await self.gateway.find(resource, database.name, namespace=NAMESPACE)

    async def ops_requests(self, database: Database) -> list[dict[str, Any]]:
        resource = engines.spec(database.engine).ops_resource
        return await self.gateway.list(
            resource, namespace=NAMESPACE, labels={labels.DATABASE_ID_KEY: database.id}
        )


@contextlib.asynccontextmanager
async def world(
    store: SQLiteStore,
    redis: aioredis.Redis,
    *,
    timing: HandlerTiming = FAST,
    retry: RetryPolicy = PATIENT_RETRY,
    **knobs: Any,
) -> AsyncIterator[World]:
    async with (
        run_simulator(simulator=Simulator(plugins=[install])) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=10) as admin,
    ):
        gateway = KubeGateway.connect(
            ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())),
            timeout=2,
            watch_retry=WATCH_RETRY,
        )
        try:
            async with running_engine(
                store, redis, retry=retry, step_timeout=5, visibility_timeout=10
            ) as engine:
                deps = HandlerDeps.single_cluster(
                    store=store,
                    cluster=gateway,
                    sizes=sizes.default_size_table(),
                    timing=timing,
                )
                register_database_handlers(engine.handlers, deps)
                here = World(store, engine, gateway, admin, served, deps)
                await here.configure(time_scale=0.01, **knobs)
                yield here
        finally:
            await gateway.close()


async def test_every_engine_is_created_and_runs_with_an_endpoint(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        shapes = {
            "postgres": dict(high_availability=True, replicas=2),
            "mysql": {},
            "mariadb": {},
            "mongodb": dict(high_availability=True, replicas=3),
            "redis": dict(high_availability=True, replicas=3),  # Sentinel: two CRs
        }
        created = await asyncio.gather(
            *(w.created(f"{engine}-one", engine, **shape) for engine, shape in shapes.items())
        )

        for database in created:
            spec = engines.spec(database.engine)
            assert database.status is DatabaseStatus.RUNNING
            assert database.endpoint == f"{database.name}.{NAMESPACE}.svc"
            assert database.port == spec.port
            assert database.namespace == NAMESPACE
            assert database.kubedb_resource_name == database.name
            assert database.phase == "Ready"
            assert database.health_status is HealthStatus.HEALTHY
            assert database.ready_replicas == database.replicas
            cr = await w.cr(database)
            assert cr is not None and cr["status"]["phase"] == "Ready"
            assert cr["metadata"]["labels"][labels.DATABASE_ID_KEY] == database.id
            assert database.operation_id is not None
            assert await w.transitions(database.id, database.operation_id) == [
                ("pending", "provisioning"),
                ("provisioning", "running"),
            ]
            events = (await w.store.events.list_for_database(database.id)).items
            assert {e.actor for e in events} == {ACTOR}
        sentinel = await w.gateway.find(
            engines.REDIS_SENTINEL, "redis-one-sentinel", namespace=NAMESPACE
        )
        assert sentinel is not None


async def test_each_opsrequest_type_changes_the_database_and_returns_it_to_running(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.created("orders", high_availability=True, replicas=2)
        secret_before = await w.gateway.read_credentials(NAMESPACE, "orders-auth")
        cases: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
            ("scale_horizontal", {"replicas": 3}, "scaling", {"replicas": 3}),
            ("scale_vertical", {"size": "db.t3.small"}, "scaling", {"size": "db.t3.small"}),
            ("expand_storage", {"storage_gb": 30}, "scaling", {"storage_gb": 30}),
            ("upgrade_version", {"target_version": "17.6"}, "updating", {"version": "17.6"}),
            ("restart", {}, "updating", {}),
            ("rotate_credentials", {}, "updating", {}),
        ]
        for op_type, wanted, during, fields in cases:
            op = await w.run(db, op_type, wanted)

            assert op.status is OperationStatus.SUCCEEDED, (op_type, op.error_message)
            assert op.ops_request_name is not None
            assert op.ops_request_name.startswith("orders-")
            assert op.ops_request_phase == "Successful"
            assert op.progress == 100
            record = await w.record(db.id)
            assert record.status is DatabaseStatus.RUNNING
            for key, value in fields.items():
                assert getattr(record, key) == value, (op_type, key)
            assert await w.transitions(db.id, op.id) == [
                ("running", during),
                (during, "running"),
            ]
            reason = "".join(p.capitalize() for p in op_type.split("_"))
            assert await w.reasons(db.id, op.id) == [f"{reason}Started", f"{reason}Succeeded"]

        cr = await w.cr(db)
        assert cr is not None
        assert cr["spec"]["replicas"] == 3
        assert cr["spec"]["version"] == "17.6"
        assert cr["spec"]["storage"]["resources"]["requests"]["storage"] == "30Gi"
        container = cr["spec"]["podTemplate"]["spec"]["containers"][0]
        assert container["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}
        secret_after = await w.gateway.read_credentials(NAMESPACE, "orders-auth")
        assert secret_after.password != secret_before.password
        # Six OpsRequests ran; the finished ones beyond the newest three were pruned.
        remaining = sorted(o["spec"]["type"] for o in await w.ops_requests(db))
        assert remaining == ["Restart", "RotateAuth", "UpdateVersion"]


async def test_pause_halts_the_database_and_resume_brings_it_back(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.created("cache", "redis")

        paused = await w.run(db, "pause")
        record = await w.record(db.id)
        cr = await w.cr(db)
        assert paused.status is OperationStatus.SUCCEEDED, paused.error_message
        assert record.status is DatabaseStatus.PAUSED and record.phase == "Halted"
        assert cr is not None and cr["spec"]["halted"] is True
        assert await w.transitions(db.id, paused.id) == [
            ("running", "pausing"),
            ("pausing", "paused"),
        ]
        refused = await w.run(db, "restart")
        assert refused.status is OperationStatus.FAILED
        assert "paused" in (refused.error_message or "")

        resumed = await w.run(db, "resume")
        record = await w.record(db.id)
        cr = await w.cr(db)
        assert resumed.status is OperationStatus.SUCCEEDED, resumed.error_message
        assert record.status is DatabaseStatus.RUNNING and record.phase == "Ready"
        assert cr is not None and cr["spec"]["halted"] is False
        assert cr["spec"]["deletionPolicy"] == "Delete"
        assert await w.transitions(db.id, resumed.id) == [
            ("paused", "resuming"),
            ("resuming", "running"),
        ]


async def test_a_failed_opsrequest_leaves_the_database_running_on_its_old_spec(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.created("ledger", "mongodb", high_availability=True, replicas=3)
        await w.configure(ops_failure_probability=1.0)

        op = await w.run(db, "scale_horizontal", {"replicas": 5})

        record = await w.record(db.id)
        cr = await w.cr(db)
        assert op.status is OperationStatus.FAILED
        assert "HorizontalScaling failed: the simulated cluster said no" in (op.error_message or "")
        assert op.ops_request_phase == "Failed"
        assert record.status is DatabaseStatus.RUNNING
        assert record.replicas == 3
        assert cr is not None and cr["spec"]["replicas"] == 3
        assert await w.transitions(db.id, op.id) == [
            ("running", "scaling"),
            ("scaling", "running"),
        ]
        assert await w.reasons(db.id, op.id) == [
            "ScaleHorizontalStarted",
            "ScaleHorizontalFailed",
        ]


async def test_a_database_stuck_in_provisioning_fails_at_its_deadline_with_the_clusters_reason(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    timing = HandlerTiming(
        provision_deadline=1.0, provision_poll=0.05, ops_poll=0.05, halt_poll=0.05, delete_poll=0.05
    )
    async with world(
        sqlite_store, redis_client, timing=timing, never_provision=[f"{NAMESPACE}/stuck"]
    ) as w:
        db = await w.database("stuck", "mariadb")

        op = await w.run(db, "create")

        record = await w.record(db.id)
        assert op.status is OperationStatus.FAILED
        reason = op.error_message or ""
        assert "did not become Ready within 1s (phase Provisioning)" in reason
        assert (
            "ProvisioningStarted=True (DatabaseProvisioningStartedSuccessfully: "
            "The KubeDB operator has started the provisioning"
        ) in reason
        assert "not reported yet: ReplicaReady" in reason
        assert record.status is DatabaseStatus.FAILED
        assert record.message == reason
        assert await w.transitions(db.id, op.id) == [
            ("pending", "provisioning"),
            ("provisioning", "failed"),
        ]


async def test_what_the_webhook_or_the_rules_refuse_fails_with_their_message(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        bogus = await w.database("bogus", "mongodb", version="9.9")
        standalone = await w.created("solo", "mysql")

        denied, refused = await asyncio.gather(
            w.run(bogus, "create"),
            w.run(standalone, "scale_horizontal", {"replicas": 3}),
        )

        assert denied.status is OperationStatus.FAILED
        assert 'admission webhook "mongodbwebhook.validators.kubedb.com" denied the request' in (
            denied.error_message or ""
        )
        assert (await w.record(bogus.id)).status is DatabaseStatus.FAILED
        assert await w.transitions(bogus.id, denied.id) == [
            ("pending", "provisioning"),
            ("provisioning", "failed"),
        ]
        assert refused.status is OperationStatus.FAILED
        assert "horizontal scaling is not available for a standalone MySQL" in (
            refused.error_message or ""
        )
        assert (await w.record(standalone.id)).status is DatabaseStatus.RUNNING
        assert await w.transitions(standalone.id, refused.id) == []
        assert await w.ops_requests(standalone) == []


class WorkerDied(Exception):
    pass


class DyingContext(StepContext[Any, Any]):
    """A step context whose worker dies at its n-th save: what it did before stays done,
    what it recorded before stays recorded, the rest is lost."""

    def __init__(self, store: SQLiteStore, operation: Operation, *, dies_at_save: int) -> None:
        kind = next(k for k in kinds.DATABASE_KINDS if k.type == operation.type)
        super().__init__(store, operation, get_logger("test"), holder="test", kind=kind)
        self._dies_at = dies_at_save
        self._saves = 0

    async def save(self, *, state: Any = None, **fields: Any) -> Operation:
        self._saves += 1
        if self._saves == self._dies_at:
            raise WorkerDied
        return await super().save(state=state, **fields)


async def test_a_step_run_again_after_its_worker_died_does_nothing_twice(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.database("twice", "postgres", high_availability=True, replicas=2)

        async def die_then_run(op_type: str, step: Any, dies_at: int, **wanted: Any) -> Operation:
            op = Operation(
                database_id=db.id,
                domain="acme",
                project="shop",
                type=op_type,
                desired_state=wanted,
                created_by=ACTOR,
            )
            await w.store.operations.create_active(op)  # stored, no wake-up yet
            with pytest.raises(WorkerDied):
                await step(DyingContext(w.store, op, dies_at_save=dies_at))
            await w.engine.queue.enqueue(op.id)  # the reclaimed message
            return await w.engine.wait_terminal(op.id)

        # create dies after making the CR, before recording that it did
        created = await die_then_run("create", Provisioning(w.deps).create, 1)
        # scale_horizontal dies after creating its OpsRequest, before recording its name
        scaled = await die_then_run(
            "scale_horizontal", OpsRequestOperations(w.deps).step, 2, replicas=3
        )

        assert created.status is OperationStatus.SUCCEEDED, created.error_message
        assert scaled.status is OperationStatus.SUCCEEDED, scaled.error_message
        assert await w.transitions(db.id, created.id) == [
            ("pending", "provisioning"),
            ("provisioning", "running"),
        ]
        assert await w.transitions(db.id, scaled.id) == [
            ("running", "scaling"),
            ("scaling", "running"),
        ]
        owners = [
            o["metadata"]["labels"][labels.OPERATION_ID_KEY] for o in await w.ops_requests(db)
        ]
        assert owners == [scaled.id]
        assert (await w.record(db.id)).replicas == 3


async def test_cluster_faults_delay_but_never_lose_or_duplicate_operations(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        await w.configure(
            error_rate=0.25,
            throttle_rate=0.25,
            throttle_retry_after_seconds=0,
            fault_targets=[
                "create postgres*",
                "get postgres*",
                "patch postgreses",
                "delete postgres*",
                "create namespaces",
                "list postgresopsrequests",
            ],
        )
        names = [f"shard-{i}" for i in range(3)]
        databases = await asyncio.gather(
            *(w.database(name, high_availability=True, replicas=2) for name in names)
        )

        async def lifecycle(db: Database) -> list[Operation]:
            done = [await w.run(db, "create", timeout=40)]
            for op_type, wanted in (
                ("scale_horizontal", {"replicas": 3}),
                ("restart", {}),
                ("scale_vertical", {"size": "db.t3.medium"}),
            ):
                done.append(await w.run(db, op_type, wanted, timeout=40))
            return done

        runs = await asyncio.gather(*(lifecycle(db) for db in databases))

        stats = (await w.admin.get("/_sim/stats")).json()
        await w.configure(error_rate=0.0, throttle_rate=0.0)  # to look at the result
        assert sum(stats["faults"].values()) > 10, stats  # the faults did happen
        for db, ops in zip(databases, runs, strict=True):
            assert [op.status for op in ops] == [OperationStatus.SUCCEEDED] * 4, [
                op.error_message for op in ops
            ]
            record = await w.record(db.id)
            assert (record.status, record.replicas, record.size) == (
                DatabaseStatus.RUNNING,
                3,
                "db.t3.medium",
            )
            by_operation = [
                o["metadata"]["labels"][labels.OPERATION_ID_KEY] for o in await w.ops_requests(db)
            ]
            assert sorted(by_operation) == sorted(op.id for op in ops[1:])  # one each
            for op in ops:
                transitions = await w.transitions(db.id, op.id)
                assert len(transitions) == len(set(transitions)) == 2, transitions


async def test_delete_carries_out_each_deletion_policy_and_frees_the_name(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        policies = ("Delete", "WipeOut", "Halt")
        databases = await asyncio.gather(
            *(w.created(f"app-{p.lower()}", "mysql", deletion_policy=p) for p in policies)
        )
        await w.run(databases[0], "restart")  # leaves an OpsRequest behind

        deletions = await asyncio.gather(*(w.run(db, "delete") for db in databases))

        for db, op, policy in zip(databases, deletions, policies, strict=True):
            record = await w.record(db.id)
            assert op.status is OperationStatus.SUCCEEDED, op.error_message
            assert record.status is DatabaseStatus.DELETED
            assert await w.cr(db) is None
            assert await w.ops_requests(db) == []
            assert await w.transitions(db.id, op.id) == [
                ("running", "deleting"),
                ("deleting", "deleted"),
            ]
            secret_kept = True
            try:
                await w.gateway.read_credentials(NAMESPACE, f"{db.name}-auth")
            except errors.NotFound:
                secret_kept = False
            assert secret_kept is (policy != "WipeOut"), policy

        again = await w.created("app-wipeout", "mysql")
        assert again.id != databases[1].id and again.status is DatabaseStatus.RUNNING


async def test_a_protected_database_is_never_deleted(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.created("precious", "postgres", deletion_protection=True)

        op = await w.run(db, "delete")

        assert op.status is OperationStatus.FAILED
        assert "deletion protection" in (op.error_message or "")
        assert (await w.record(db.id)).status is DatabaseStatus.RUNNING
        assert await w.cr(db) is not None


async def test_update_runs_its_changes_in_the_documented_order(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.created(
            "catalog",
            "postgres",
            high_availability=True,
            replicas=2,
            labels={"team": "blue", "tier": "gold"},
        )
        resource = engines.spec("postgres").ops_resource
        seen: list[str] = []

        async def watch() -> None:
            async for event in w.gateway.watch(resource, namespace=NAMESPACE):
                if event.type == "ADDED":
                    seen.append(event.object["spec"]["type"])

        watcher = asyncio.get_running_loop().create_task(watch(), name="test-watch-ops")
        try:
            op = await w.run(
                db,
                "update",
                {
                    "version": "17.6",
                    "replicas": 3,
                    "size": "db.t3.small",
                    "storage_gb": 25,
                    "labels": {"team": "red"},
                    "deletion_protection": True,
                    "monitoring_enabled": False,
                },
            )
            await eventually(lambda: len(seen) == 4, timeout=5, message="four OpsRequests")
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

        assert op.status is OperationStatus.SUCCEEDED, op.error_message
        assert seen == ["VolumeExpansion", "VerticalScaling", "HorizontalScaling", "UpdateVersion"]
        record = await w.record(db.id)
        assert (record.version, record.replicas, record.size, record.storage_gb) == (
            "17.6",
            3,
            "db.t3.small",
            25,
        )
        assert record.labels == {"team": "red"}
        assert record.deletion_protection is True and record.monitoring_enabled is False
        assert record.status is DatabaseStatus.RUNNING
        cr = await w.cr(db)
        assert cr is not None
        assert cr["metadata"]["labels"]["team"] == "red"
        assert "tier" not in cr["metadata"]["labels"]
        assert "monitor" not in cr["spec"]
        assert await w.transitions(db.id, op.id) == [
            ("running", "updating"),
            ("updating", "running"),
        ]
        # Four OpsRequests ran; the oldest finished one was pruned.
        assert sorted(o["spec"]["type"] for o in await w.ops_requests(db)) == [
            "HorizontalScaling",
            "UpdateVersion",
            "VerticalScaling",
        ]


async def test_an_update_that_fails_midway_keeps_what_was_applied(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.created("billing", "postgres")

        op = await w.run(db, "update", {"storage_gb": 40, "version": "13.22"})  # a downgrade

        record = await w.record(db.id)
        assert op.status is OperationStatus.FAILED
        message = op.error_message or ""
        assert "upgrade from version 16.13 to 13.22 is not supported" in message
        assert "applied: storage 10 GB -> 40 GB" in message
        assert "not applied: version 16.13 -> 13.22" in message
        assert (record.storage_gb, record.version, record.status) == (
            40,
            "16.13",
            DatabaseStatus.RUNNING,
        )


async def test_cancelling_an_operation_deletes_its_opsrequest_while_it_is_still_pending(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client, stuck_ops=[f"{NAMESPACE}/blocker"]) as w:
        db = await w.created("queue", "mariadb")
        resource = engines.spec("mariadb").ops_resource
        await w.gateway.create(
            resource,
            {
                "apiVersion": resource.api_version,
                "kind": resource.kind,
                "metadata": {"name": "blocker", "namespace": NAMESPACE},
                "spec": {"type": "Restart", "databaseRef": {"name": "queue"}, "apply": "Always"},
            },
        )
        await eventually(
            lambda: _phase_is(w, resource, "blocker", "Progressing"),
            timeout=5,
            message="the blocker is progressing",
        )
        op = await w.engine.submit(db.id, "restart", created_by=ACTOR)

        async def pending() -> bool:
            current = await w.store.operations.get(op.id)
            return current is not None and current.ops_request_phase == "Pending"

        await eventually(pending, timeout=10, message="the restart OpsRequest is Pending")
        name = (await w.store.operations.get(op.id)).ops_request_name  # type: ignore[union-attr]
        await w.engine.service.request_cancel(op.id)
        ended = await w.engine.wait_terminal(op.id)

        assert ended.status is OperationStatus.CANCELLED
        assert name is not None
        assert await w.gateway.find(resource, name, namespace=NAMESPACE) is None
        assert (await w.record(db.id)).status is DatabaseStatus.RUNNING
        assert await w.reasons(db.id, op.id) == ["RestartStarted", "RestartCancelled"]


async def _phase_is(w: World, resource: engines.Resource, name: str, phase: str) -> bool:
    found = await w.gateway.find(resource, name, namespace=NAMESPACE)
    return found is not None and (found.get("status") or {}).get("phase") == phase


async def test_an_operation_failed_by_its_deadline_withdraws_its_pending_opsrequest(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client, stuck_ops=[f"{NAMESPACE}/blocker"]) as w:
        db = await w.created("ledger", "postgres")
        resource = engines.spec("postgres").ops_resource
        await w.gateway.create(
            resource,
            {
                "apiVersion": resource.api_version,
                "kind": resource.kind,
                "metadata": {"name": "blocker", "namespace": NAMESPACE},
                "spec": {"type": "Restart", "databaseRef": {"name": "ledger"}, "apply": "Always"},
            },
        )
        await eventually(
            lambda: _phase_is(w, resource, "blocker", "Progressing"),
            timeout=5,
            message="the blocker is progressing",
        )
        op = await w.engine.submit(db.id, "restart", created_by=ACTOR, deadline=1.5)
        ended = await w.engine.wait_terminal(op.id)

        assert ended.status is OperationStatus.FAILED
        assert "did not finish by its deadline" in (ended.error_message or "")
        assert ended.ops_request_name is not None
        assert await w.gateway.find(resource, ended.ops_request_name, namespace=NAMESPACE) is None
        record = await w.record(db.id)
        assert record.status is DatabaseStatus.RUNNING
        assert "did not finish by its deadline" in (record.message or "")
        assert await w.reasons(db.id, op.id) == ["RestartStarted", "RestartFailed"]


async def test_a_database_that_comes_up_critical_runs_degraded_and_resumes_so(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client, degraded=[f"{NAMESPACE}/limping"]) as w:
        db = await w.created("limping", "mysql", high_availability=True, replicas=3)
        assert (db.status, db.phase, db.health_status) == (
            DatabaseStatus.RUNNING,
            "Critical",
            HealthStatus.DEGRADED,
        )
        assert db.endpoint is not None

        assert (await w.run(db, "pause")).status is OperationStatus.SUCCEEDED
        resumed = await w.run(db, "resume")
        record = await w.record(db.id)
        assert resumed.status is OperationStatus.SUCCEEDED, resumed.error_message
        assert (record.status, record.phase, record.health_status) == (
            DatabaseStatus.RUNNING,
            "Critical",
            HealthStatus.DEGRADED,
        )


async def test_an_update_with_a_setting_that_breaks_a_rule_fails_before_anything_moves(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.created("orders", "mariadb", labels={"team": "blue"})

        op = await w.run(
            db,
            "update",
            {
                "storage_gb": 30,
                "labels": {"team": "red"},
                "backup_retention_days": 0,
            },
        )

        assert op.status is OperationStatus.FAILED
        assert "backup_retention_days must be from 1 to 365" in (op.error_message or "")
        record = await w.record(db.id)
        assert (record.storage_gb, record.labels, record.backup_retention_days) == (
            10,
            {"team": "blue"},
            db.backup_retention_days,
        )
        assert record.status is DatabaseStatus.RUNNING
        assert await w.ops_requests(db) == []
        assert await w.transitions(db.id, op.id) == []


async def _delete_namespace(w: World) -> None:
    answer = await w.admin.delete(f"/api/v1/namespaces/{NAMESPACE}")
    assert answer.status_code == 200, answer.text

    async def gone() -> bool:
        return (await w.admin.get(f"/api/v1/namespaces/{NAMESPACE}")).status_code == 404

    await eventually(gone, timeout=10)


async def test_a_create_in_a_project_whose_namespace_was_deleted_makes_it_again(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        await w.created("first")
        await _delete_namespace(w)

        second = await w.created("second")

        assert second.status is DatabaseStatus.RUNNING and second.namespace == NAMESPACE
        found = await w.admin.get(f"/api/v1/namespaces/{NAMESPACE}")
        assert found.status_code == 200, found.text


@pytest.mark.parametrize("op_type", ["restart", "scale_horizontal", "rotate_credentials"])
async def test_an_action_on_a_database_whose_namespace_is_gone_fails_at_once_naming_it(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis, op_type: str
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.created("orphaned", high_availability=True, replicas=2)
        await _delete_namespace(w)

        wanted = {"replicas": 3} if op_type == "scale_horizontal" else {}
        op = await w.run(db, op_type, wanted, timeout=10)

        assert op.status is OperationStatus.FAILED
        assert op.error_message is not None
        assert f"namespace {NAMESPACE}" in op.error_message
        assert "gone" in op.error_message
        assert op.attempts <= 1, op.attempts


async def test_a_pause_of_a_database_whose_namespace_is_gone_fails_at_once_naming_the_object(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with world(sqlite_store, redis_client) as w:
        db = await w.created("orphaned")
        await _delete_namespace(w)

        op = await w.run(db, "pause", timeout=10)

        assert op.status is OperationStatus.FAILED and op.attempts <= 1
        assert op.error_message is not None and NAMESPACE in op.error_message


@pytest.mark.parametrize("policy", ["Delete", "Halt"])
async def test_a_recreated_name_gets_fresh_credentials_not_the_deleted_databases(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis, policy: str
) -> None:
    async with world(sqlite_store, redis_client) as w:
        first = await w.created("reborn", "mysql", deletion_policy=policy)
        before = await w.gateway.read_credentials(NAMESPACE, "reborn-auth")
        deleted = await w.run(first, "delete")
        assert deleted.status is OperationStatus.SUCCEEDED, deleted.error_message
        await w.gateway.read_credentials(NAMESPACE, "reborn-auth")  # the policy kept it

        second = await w.created("reborn", "mysql")
        after = await w.gateway.read_credentials(NAMESPACE, "reborn-auth")

        assert second.id != first.id
        assert after.password != before.password
