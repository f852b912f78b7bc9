"""The leader's safety net: operations whose wake-up was lost are woken again."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from app.domain import clock
from app.domain.operations import Operation, OperationStatus
from app.engine import steps
from app.engine.context import StepContext
from app.store.sqlite import SQLiteStore
from app.workers.leader_election import Leadership, LeadershipLost
from app.workers.reconciliation_worker import ReconciliationWorker
from tests.integration.engine_harness import running_engine


def leadership(valid_for: float) -> Leadership:
    loop = asyncio.get_running_loop()
    return Leadership(
        epoch=7, instance_id="me", _deadline=loop.time() + valid_for, _clock=loop.time
    )


def lost_operation(database_id: str, **fields: object) -> Operation:
    values: dict[str, object] = {
        "database_id": database_id,
        "domain": "acme",
        "project": "shop",
        "type": "test",
        "next_run_at": clock.utcnow() - timedelta(seconds=30),
    }
    values.update(fields)
    return Operation.model_validate(values)


async def test_an_operation_whose_wakeup_was_lost_is_woken_and_finishes(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async def step(ctx: StepContext) -> steps.StepResult:
        return steps.Done()

    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register("test", step)
        # Stored, but never enqueued: as if Redis lost the message.
        lost = await sqlite_store.operations.create_active(lost_operation("db-1"))
        dead_worker = await sqlite_store.operations.create_active(
            lost_operation(
                "db-2",
                status="running",
                lease_owner="gone/0",
                lease_expires_at=clock.utcnow() - timedelta(seconds=10),
            )
        )
        fresh = await sqlite_store.operations.create_active(
            lost_operation("db-3", next_run_at=clock.utcnow() + timedelta(minutes=5))
        )
        reconciler = ReconciliationWorker(
            store=sqlite_store, queue=engine.queue, interval=60, stall_grace=1
        )

        result = await reconciler.run_pass(leadership(60))

        assert result.resent == 2
        assert (await engine.wait_terminal(lost.id)).status is OperationStatus.SUCCEEDED
        assert (await engine.wait_terminal(dead_worker.id)).status is OperationStatus.SUCCEEDED
        still = await sqlite_store.operations.get(fresh.id)
        assert still is not None and still.status is OperationStatus.QUEUED


async def test_a_pass_without_a_valid_lease_wakes_nothing(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with running_engine(sqlite_store, redis_client, workers=0) as engine:
        await sqlite_store.operations.create_active(lost_operation("db-1"))
        reconciler = ReconciliationWorker(
            store=sqlite_store, queue=engine.queue, interval=60, stall_grace=1
        )

        with pytest.raises(LeadershipLost):
            await reconciler.run_pass(leadership(-1))

        depth = await engine.queue.depth()
    assert depth.ready == 0 and reconciler.passes == 0


async def test_an_operation_waiting_long_past_its_deadline_is_failed_with_a_reason(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async def step(ctx: StepContext) -> steps.StepResult:
        return steps.Wait(3600, message="OpsRequest Progressing")

    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register("test", step)
        # Its next wake-up is an hour away, its deadline is already behind it.
        late = await sqlite_store.operations.create_active(
            lost_operation(
                "db-1",
                status="waiting",
                message="OpsRequest Progressing",
                next_run_at=clock.utcnow() + timedelta(hours=1),
                deadline_at=clock.utcnow() - timedelta(seconds=5),
            )
        )
        reconciler = ReconciliationWorker(
            store=sqlite_store, queue=engine.queue, interval=60, stall_grace=1
        )

        result = await reconciler.run_pass(leadership(60))
        ended = await engine.wait_terminal(late.id)

    assert result.resent == 1
    assert ended.status is OperationStatus.FAILED
    assert "did not finish by its deadline" in (ended.error_message or "")
    assert "OpsRequest Progressing" in (ended.error_message or "")
