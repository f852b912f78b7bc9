"""Redis losing its data mid-operation (issue 12, item 22): the queue's group is recreated
and every active operation's wake-up re-sent at once, not at the next stall pass.

The Redis is one this test starts (the embedded server, in its own directory), so flushing
it touches nobody else's data. The stall pass is set to 300 s: only the new path can
explain an operation that finishes within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from app.broker.client import make_client
from app.broker.embedded import EmbeddedRedis
from app.domain.operations import OperationStatus
from app.engine import steps
from app.engine.context import StepContext
from app.store.sqlite import SQLiteStore
from app.workers.leader_election import Leadership
from app.workers.reconciliation_worker import ReconciliationWorker
from tests.integration.engine_harness import running_engine
from tests.support import eventually

pytestmark = pytest.mark.timeout(60)

STALL_PASS = 300.0


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[aioredis.Redis]:
    server = EmbeddedRedis(tmp_path / "own-redis")
    client = make_client(await server.start())
    try:
        yield client
    finally:
        await client.aclose()
        await server.stop()


async def test_an_operation_waiting_when_redis_loses_its_data_finishes_long_before_the_stall_pass(
    sqlite_store: SQLiteStore, own_redis: aioredis.Redis
) -> None:
    steps_run: list[int] = []

    async def step(ctx: StepContext) -> steps.StepResult:
        steps_run.append(ctx.operation.attempts)
        if len(steps_run) == 1:
            return steps.Wait(2.0, message="OpsRequest Progressing")
        return steps.Done()

    async with running_engine(sqlite_store, own_redis) as engine:
        engine.handlers.register("test", step)
        reconciler = ReconciliationWorker(
            store=sqlite_store,
            queue=engine.queue,
            interval=STALL_PASS,
            stall_grace=STALL_PASS,
            queue_check_interval=0.2,
        )
        loop = asyncio.get_running_loop()
        leadership = Leadership(
            epoch=1, instance_id="me", _deadline=loop.time() + 120, _clock=loop.time
        )

        async def lead(stop: asyncio.Event) -> None:
            leading = asyncio.ensure_future(reconciler.lead(leadership))
            await stop.wait()
            leading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leading

        engine.supervisor.start("reconciler", lead)
        operation = await engine.submit("db-1")

        async def waiting_on_its_delayed_wakeup() -> bool:
            current = await sqlite_store.operations.get(operation.id)
            assert current is not None
            return (
                current.status is OperationStatus.WAITING
                and await own_redis.zcard(engine.queue.delayed) == 1
            )

        await eventually(waiting_on_its_delayed_wakeup, timeout=10)
        # The wake-up, the stream and its group are gone (own_redis: a server this test started).
        await own_redis.flushall()  # flushes: a server this test started
        lost_at = time.monotonic()

        ended = await engine.wait_terminal(operation.id, timeout=15)

        assert ended.status is OperationStatus.SUCCEEDED
        assert time.monotonic() - lost_at < 10  # the stall pass would take 300 s
        assert reconciler.passes == 1  # only the first pass ran: no stall pass explains it
        assert len(steps_run) == 2
