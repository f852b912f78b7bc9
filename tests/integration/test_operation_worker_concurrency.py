"""One worker loop running several steps at once (`OPERATION_CONCURRENCY`), on a real Redis
and a real SQLite store: steps of different operations overlap, never more than the bound,
never two of one operation, and a stop or a cancel leaves no step behind."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from app.domain.operations import OperationStatus
from app.engine import steps
from app.engine.context import StepContext
from app.store.sqlite import SQLiteStore
from app.workers.operation_worker import OperationWorker
from tests.integration.engine_harness import Engine, running_engine
from tests.support import eventually


class Gate:
    """A step that waits until the test opens the gate, counting who is inside."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.inside: Counter[str] = Counter()
        self.most_inside = 0
        self.most_of_one = 0
        self.calls: list[str] = []

    async def step(self, ctx: StepContext) -> steps.StepResult:
        op_id = ctx.operation.id
        self.calls.append(op_id)
        self.inside[op_id] += 1
        self.most_inside = max(self.most_inside, sum(self.inside.values()))
        self.most_of_one = max(self.most_of_one, self.inside[op_id])
        try:
            await self.opened.wait()
        finally:
            self.inside[op_id] -= 1
        return steps.Done()

    @property
    def waiting(self) -> int:
        return sum(self.inside.values())


@contextlib.asynccontextmanager
async def gated_engine(
    store: SQLiteStore, redis: aioredis.Redis
) -> AsyncIterator[tuple[Engine, Gate]]:
    """An engine with no workers of its own whose "test" operations step through a `Gate`."""
    gate = Gate()
    async with running_engine(store, redis, workers=0, step_timeout=10) as engine:
        engine.handlers.register("test", gate.step)
        yield engine, gate


def step_tasks(worker: OperationWorker) -> list[asyncio.Task[object]]:
    prefix = f"{worker.consumer}/step/"
    return [t for t in asyncio.all_tasks() if t.get_name().startswith(prefix) and not t.done()]


def own_worker(engine: Engine, *, concurrency: int) -> OperationWorker:
    """A worker the test runs itself (its own stop event), not under the supervisor."""
    return OperationWorker(
        consumer="solo",
        store=engine.store,
        queue=engine.queue,
        handlers=engine.handlers,
        config=engine.config,
        concurrency=concurrency,
    )


@pytest.mark.every_redis
async def test_steps_of_different_operations_overlap_in_one_worker_up_to_its_bound(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with gated_engine(sqlite_store, redis_client) as (engine, gate):
        worker = engine.add_worker("solo", concurrency=3)
        ops = [await engine.submit(f"db-{i}") for i in range(5)]
        await eventually(lambda: gate.waiting == 3, message="three steps inside at once")
        await eventually(lambda: worker.in_flight == 3, message="three slots taken")
        pending = await engine.queue.depth()
        gate.opened.set()
        ended = [await engine.wait_terminal(op.id) for op in ops]

    assert pending.ready == 2  # the two beyond the bound were left in the stream
    assert gate.most_inside == 3
    assert [op.status for op in ended] == [OperationStatus.SUCCEEDED] * 5
    assert sorted(gate.calls) == sorted(op.id for op in ops)


@pytest.mark.every_redis
async def test_two_wakeups_of_one_operation_never_run_at_once_in_a_worker(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with gated_engine(sqlite_store, redis_client) as (engine, gate):
        worker = engine.add_worker("solo", concurrency=4)
        op = await engine.submit("db-1")
        await eventually(lambda: gate.waiting == 1, message="the first step inside")
        await engine.queue.enqueue(op.id)  # duplicate wake-ups, read while it runs
        await engine.queue.enqueue(op.id)
        await eventually(lambda: worker.in_flight == 3, message="both duplicates taken")
        assert gate.waiting == 1
        gate.opened.set()
        ended = await engine.wait_terminal(op.id)
        settled = await eventually(lambda: _settled(engine), message="every wake-up acknowledged")

    assert gate.most_of_one == 1
    assert gate.calls == [op.id]  # the duplicates found it finished: no second step
    assert ended.status is OperationStatus.SUCCEEDED
    assert settled


async def _settled(engine: Engine) -> bool:
    depth = await engine.queue.depth()
    return depth.ready == 0 and depth.pending == 0


@pytest.mark.every_redis
async def test_a_stopped_worker_lets_its_steps_finish_and_leaves_no_task_behind(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with gated_engine(sqlite_store, redis_client) as (engine, gate):
        worker = own_worker(engine, concurrency=3)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop), name="solo")
        ops = [await engine.submit(f"db-{i}") for i in range(3)]
        await eventually(lambda: gate.waiting == 3, message="three steps inside")
        stop.set()
        await eventually(lambda: not worker.taking, message="the stop seen")
        assert not running.done() and worker.in_flight == 3  # it waits for its steps
        late = await engine.submit("db-late")
        gate.opened.set()
        await asyncio.wait_for(running, 10)
        ended = [await sqlite_store.operations.get(op.id) for op in ops]
        left = await sqlite_store.operations.get(late.id)
        leaked = step_tasks(worker)

    assert [op.status if op else None for op in ended] == [OperationStatus.SUCCEEDED] * 3
    assert left is not None and left.status is OperationStatus.QUEUED  # nothing new taken
    assert leaked == []


@pytest.mark.every_redis
async def test_a_cancelled_worker_hands_back_every_step_in_flight_before_it_ends(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with gated_engine(sqlite_store, redis_client) as (engine, gate):
        worker = own_worker(engine, concurrency=4)
        running = asyncio.create_task(worker.run(asyncio.Event()), name="solo")
        ops = [await engine.submit(f"db-{i}") for i in range(3)]
        await eventually(lambda: gate.waiting == 3, message="three steps inside")
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        leaked = step_tasks(worker)
        handed_back = [await sqlite_store.operations.get(op.id) for op in ops]
        depth = await engine.queue.depth()

    assert running.cancelled()
    assert leaked == []
    assert gate.waiting == 0
    assert [(op.status, op.lease_owner) if op else None for op in handed_back] == [
        (OperationStatus.QUEUED, None)
    ] * 3
    assert (depth.ready, depth.pending) == (3, 0)  # new wake-ups sent, the old ones acked


@pytest.mark.every_redis
async def test_a_worker_at_its_bound_takes_the_next_wakeup_as_soon_as_a_step_ends(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    first, rest = asyncio.Event(), asyncio.Event()
    entered: list[str] = []

    async def step(ctx: StepContext) -> steps.StepResult:
        entered.append(ctx.operation.database_id)
        await (first if ctx.operation.database_id == "db-0" else rest).wait()
        return steps.Done()

    async with running_engine(sqlite_store, redis_client, workers=0, step_timeout=10) as engine:
        engine.handlers.register("test", step)
        engine.add_worker("solo", concurrency=2)
        first_op = await engine.submit("db-0")
        await eventually(lambda: entered == ["db-0"], message="db-0 inside")
        await engine.submit("db-1")
        await engine.submit("db-2")
        await eventually(lambda: len(entered) == 2, message="db-1 inside")
        assert entered == ["db-0", "db-1"]
        first.set()
        await engine.wait_terminal(first_op.id)
        await eventually(lambda: len(entered) == 3, message="db-2 taken in db-0's slot")
        rest.set()

    assert entered == ["db-0", "db-1", "db-2"]


def test_a_worker_refuses_a_concurrency_below_one(sqlite_store: SQLiteStore) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        OperationWorker(
            consumer="w",
            store=sqlite_store,
            queue=None,  # type: ignore[arg-type]
            handlers=None,  # type: ignore[arg-type]
            config=None,  # type: ignore[arg-type]
            concurrency=0,
        )
