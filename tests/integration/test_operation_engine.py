"""The operation engine on a real Redis and a real SQLite store.

The tests of the queue's semantics (delivery, reclaim after a lease, hand-back, duplicate
wake-ups) are marked `every_redis`: they run on the local Redis as well as the embedded one.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from app.broker.streams import Delivery, OperationQueue
from app.domain import clock
from app.domain.operations import Operation, OperationStatus
from app.engine import steps
from app.engine.context import LeaseLost, StepContext
from app.engine.registry import HandlerRegistry
from app.engine.retry import RetryPolicy
from app.engine.runner import EngineConfig
from app.services.operations import OperationNotCancellable, OperationNotFound
from app.store import errors
from app.store.protocols import OperationFilter
from app.store.sqlite import SQLiteStore
from app.workers.operation_worker import OperationWorker
from tests.integration import worker_process
from tests.integration.engine_harness import running_engine
from tests.support import eventually, scoped_key


@pytest.mark.every_redis
async def test_operations_over_many_databases_each_take_effect_exactly_once(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    effects: Counter[str] = Counter()
    final_steps: Counter[str] = Counter()
    in_step: set[str] = set()
    overlaps: list[str] = []
    refused = 0

    async def step(ctx: StepContext) -> steps.StepResult:
        db = ctx.operation.database_id
        if db in in_step:
            overlaps.append(db)
        in_step.add(db)
        try:
            await asyncio.sleep(0.001)
            if not ctx.operation.state.get("applied"):
                effects[ctx.operation.id] += 1
                await ctx.save(state={"applied": True}, progress=50)
                return steps.Wait(0.01, message="applied")
            final_steps[ctx.operation.id] += 1
            return steps.Done("finished")
        finally:
            in_step.discard(db)

    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register("test", step)

        async def drive(database_id: str, count: int) -> list[str]:
            nonlocal refused
            done = []
            for _ in range(count):
                op = await engine.submit(database_id)
                with pytest.raises(errors.OperationInProgress):
                    await engine.submit(database_id)
                refused += 1
                ended = await engine.wait_terminal(op.id)
                assert ended.status is OperationStatus.SUCCEEDED, ended.error_message
                done.append(op.id)
            return done

        batches = await asyncio.gather(*(drive(f"db-{m}", 6) for m in range(10)))

    all_ids = [op_id for batch in batches for op_id in batch]
    assert len(all_ids) == 60 and refused == 60
    assert all(effects[i] == 1 for i in all_ids) and sum(effects.values()) == 60
    assert all(final_steps[i] == 1 for i in all_ids)
    assert overlaps == []


@pytest.mark.every_redis
async def test_a_worker_killed_mid_step_has_its_operation_finished_by_another(
    tmp_path: Path, sqlite_store: SQLiteStore, redis_client: aioredis.Redis, redis_url: str
) -> None:
    store = sqlite_store  # the fixture's file, tmp_path / "store.sqlite3", shared with the child
    calls: list[str] = []

    async def step(ctx: StepContext) -> steps.StepResult:
        calls.append(str(ctx.operation.lease_owner))
        return steps.Done()

    async with running_engine(
        store,
        redis_client,
        workers=0,
        visibility_timeout=worker_process.VISIBILITY,
        step_timeout=worker_process.STEP,
    ) as engine:
        engine.handlers.register("test", step)
        prefix = engine.queue.stream.removesuffix(":stream")
        doomed = subprocess.Popen(  # noqa: ASYNC220 - started once, read in a thread
            [
                sys.executable,
                "-m",
                "tests.integration.worker_process",
                str(tmp_path / "store.sqlite3"),
                redis_url,
                prefix,
                "doomed",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            op = await engine.submit("db-1")
            line = await asyncio.wait_for(asyncio.to_thread(doomed.stdout.readline), 20)  # type: ignore[union-attr]
            assert line.strip() == f"entered {op.id}"
            doomed.kill()  # dies mid-step: no ack, no outcome, its lease left to expire
            doomed.wait()
            killed_at = time.monotonic()
        finally:
            doomed.kill()
            doomed.wait()
            doomed.stdout.close()  # type: ignore[union-attr]

        stuck = await store.operations.get(op.id)
        assert stuck is not None and stuck.status is OperationStatus.RUNNING
        assert stuck.lease_owner == "doomed"
        engine.add_worker("rescuer")
        ended = await engine.wait_terminal(op.id)
        waited = time.monotonic() - killed_at

    assert ended.status is OperationStatus.SUCCEEDED
    assert calls == ["rescuer"]
    assert ended.attempts == 2
    assert waited >= worker_process.VISIBILITY * 0.5  # it waited for the reclaim


@pytest.mark.every_redis
async def test_operations_waiting_on_an_instance_that_is_killed_finish_on_another(
    tmp_path: Path, sqlite_store: SQLiteStore, redis_client: aioredis.Redis, redis_url: str
) -> None:
    store = sqlite_store
    calls: list[str] = []

    async def step(ctx: StepContext) -> steps.StepResult:
        calls.append(str(ctx.operation.lease_owner))
        return steps.Done("OpsRequest Successful")

    async with running_engine(
        store,
        redis_client,
        workers=0,
        visibility_timeout=worker_process.VISIBILITY,
        step_timeout=worker_process.STEP,
    ) as engine:
        engine.handlers.register("test", step)
        prefix = engine.queue.stream.removesuffix(":stream")
        doomed = subprocess.Popen(  # noqa: ASYNC220 - started once, read in a thread
            [
                sys.executable,
                "-m",
                "tests.integration.worker_process",
                str(tmp_path / "store.sqlite3"),
                redis_url,
                prefix,
                "doomed",
                "wait",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            ops = [await engine.submit(f"db-{i}") for i in range(3)]
            for _ in ops:
                await asyncio.wait_for(asyncio.to_thread(doomed.stdout.readline), 20)  # type: ignore[union-attr]

            async def all_waiting() -> bool:
                current = [await store.operations.get(op.id) for op in ops]
                return all(o is not None and o.status is OperationStatus.WAITING for o in current)

            await eventually(all_waiting, timeout=10, message="three waiting operations")
            doomed.kill()  # the instance dies while its operations wait
            doomed.wait()
        finally:
            doomed.kill()
            doomed.wait()
            doomed.stdout.close()  # type: ignore[union-attr]

        engine.add_worker("survivor")
        ended = [await engine.wait_terminal(op.id) for op in ops]

    assert [e.status for e in ended] == [OperationStatus.SUCCEEDED] * 3
    assert calls == ["survivor"] * 3


@pytest.mark.every_redis
async def test_a_worker_stopped_mid_step_hands_its_operation_back_at_once(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    entered = asyncio.Event()
    calls: list[str] = []

    async def step(ctx: StepContext) -> steps.StepResult:
        calls.append(str(ctx.operation.lease_owner))
        if len(calls) == 1:
            entered.set()
            await asyncio.Event().wait()  # still working when its worker is stopped
        return steps.Done()

    async with running_engine(
        sqlite_store, redis_client, workers=0, visibility_timeout=30, step_timeout=10
    ) as engine:
        engine.handlers.register("test", step)
        engine.add_worker("leaving")
        op = await engine.submit("db-1")
        await asyncio.wait_for(entered.wait(), 10)
        leaving = next(t for t in asyncio.all_tasks() if t.get_name() == "leaving")
        leaving.cancel()
        await asyncio.gather(leaving, return_exceptions=True)
        handed_back = await sqlite_store.operations.get(op.id)
        engine.add_worker("staying")
        ended = await engine.wait_terminal(op.id, timeout=5)  # well inside the visibility timeout

    assert handed_back is not None
    assert (handed_back.status, handed_back.lease_owner) == (OperationStatus.QUEUED, None)
    assert ended.status is OperationStatus.SUCCEEDED
    assert calls == ["leaving", "staying"]


@pytest.mark.every_redis
async def test_a_worker_that_stalled_past_its_lease_cannot_overwrite_the_new_holder(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    config = EngineConfig(visibility_timeout=0.2, step_timeout=0.1, retry=RetryPolicy())
    queue = OperationQueue(redis_client, prefix=scoped_key("stall"))

    def worker(name: str) -> OperationWorker:
        return OperationWorker(
            consumer=name,
            store=sqlite_store,
            queue=queue,
            handlers=HandlerRegistry(),
            config=config,
        )

    a, b = worker("A"), worker("B")
    op = await sqlite_store.operations.create_active(
        Operation(database_id="db", domain="d", project="p", type="t")
    )
    wakeup = Delivery("1-0", op.id)
    claimed_by_a = await a.engine._claim(wakeup)
    assert claimed_by_a is not None
    ctx_a = StepContext(sqlite_store, claimed_by_a, None, holder="A")
    await eventually(lambda: clock.utcnow() > claimed_by_a.lease_expires_at)  # type: ignore[operator]
    claimed_by_b = await b.engine._claim(wakeup)
    assert claimed_by_b is not None
    ctx_b = StepContext(sqlite_store, claimed_by_b, None, holder="B")
    await ctx_b.save(state={"by": "B"})

    with pytest.raises(LeaseLost):
        await ctx_a.save(state={"by": "A"})

    current = await sqlite_store.operations.get(op.id)
    assert current is not None
    assert (current.lease_owner, current.state) == ("B", {"by": "B"})


@pytest.mark.every_redis
async def test_a_cancel_hook_runs_once_even_when_step_and_hook_outlast_the_lease(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    hooks = 0
    running_hooks = 0
    most_at_once = 0

    async with running_engine(
        sqlite_store, redis_client, visibility_timeout=0.6, step_timeout=0.5
    ) as engine:

        async def step(ctx: StepContext) -> steps.StepResult:
            await engine.service.request_cancel(ctx.operation.id)
            await asyncio.sleep(0.45)  # nearly the whole step timeout
            return steps.Wait(5)

        async def on_cancel(ctx: StepContext) -> None:
            nonlocal hooks, running_hooks, most_at_once
            hooks += 1
            running_hooks += 1
            most_at_once = max(most_at_once, running_hooks)
            try:
                await asyncio.sleep(0.45)
            finally:
                running_hooks -= 1

        engine.handlers.register("test", step, on_cancel=on_cancel)
        op = await engine.submit("db-1")
        ended = await engine.wait_terminal(op.id, timeout=10)
        # Give a would-be second hook (after a reclaim) the time to show up.
        await asyncio.sleep(engine.config.visibility_timeout * 2)

    assert ended.status is OperationStatus.CANCELLED
    assert (hooks, most_at_once) == (1, 1)


async def test_a_failing_handler_retries_with_growing_delays_then_fails_with_its_error(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    calls: list[float] = []

    async def step(ctx: StepContext) -> steps.StepResult:
        calls.append(time.monotonic())
        raise steps.TemporaryError("cluster answered 503")

    policy = RetryPolicy(initial=0.1, factor=2.0, cap=5.0, max_attempts=4, jitter=0.0)
    async with running_engine(sqlite_store, redis_client, retry=policy) as engine:
        engine.handlers.register("test", step)
        op = await engine.submit("db-1")
        ended = await engine.wait_terminal(op.id)

    assert ended.status is OperationStatus.FAILED
    assert ended.error_message == "cluster answered 503 (gave up after 4 attempts)"
    assert ended.attempts == 4 and len(calls) == 4
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19 and gaps[2] >= 0.39
    assert gaps[0] < gaps[1] < gaps[2]


async def test_an_unexpected_exception_is_retried_and_recorded_with_its_type(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async def step(ctx: StepContext) -> steps.StepResult:
        raise KeyError("spec")

    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register("test", step)
        ended = await engine.wait_terminal((await engine.submit("db-1")).id)

    assert ended.status is OperationStatus.FAILED
    assert ended.error_message is not None and ended.error_message.startswith("KeyError: 'spec'")
    assert ended.attempts == 4


async def test_a_permanent_error_fails_at_once_with_its_reason(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    calls = 0

    async def step(ctx: StepContext) -> steps.StepResult:
        nonlocal calls
        calls += 1
        raise steps.PermanentError("version 9.9 is not in the catalog")

    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register("test", step)
        ended = await engine.wait_terminal((await engine.submit("db-1")).id)

    assert (ended.status, ended.error_message, calls) == (
        OperationStatus.FAILED,
        "version 9.9 is not in the catalog",
        1,
    )
    assert ended.completed_at is not None


async def test_waiting_operations_do_not_occupy_the_workers(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    """300 operations each wait two seconds on "the cluster"; 3 workers drive them all."""
    waiting = 0
    most_waiting = 0

    async def step(ctx: StepContext) -> steps.StepResult:
        nonlocal waiting, most_waiting
        if not ctx.operation.state.get("asked"):
            await ctx.save(state={"asked": True})
            waiting += 1
            most_waiting = max(most_waiting, waiting)
            return steps.Wait(2.0, message="cluster is working")
        waiting -= 1
        return steps.Done()

    async with running_engine(
        sqlite_store, redis_client, step_timeout=5, visibility_timeout=30
    ) as engine:
        engine.handlers.register("test", step)
        ops = [await engine.submit(f"db-{i}") for i in range(300)]

        async def all_succeeded() -> bool:
            page = await sqlite_store.operations.list(OperationFilter(status="succeeded"), limit=1)
            return page.total == len(ops)

        await eventually(all_succeeded, timeout=120, interval=0.2, message="all 300 succeeded")

    # Were a waiting operation to hold a worker, at most 3 could wait at once.
    assert most_waiting >= 100
    assert waiting == 0


async def test_a_cancelled_waiting_operation_ends_cancelled_after_its_cancel_hook(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    hooked: list[str] = []

    async def step(ctx: StepContext) -> steps.StepResult:
        return steps.Wait(30, message="waiting for the OpsRequest")

    async def on_cancel(ctx: StepContext) -> None:
        hooked.append(ctx.operation.id)

    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register("test", step, on_cancel=on_cancel)
        op = await engine.submit("db-1")

        async def is_waiting() -> bool:
            current = await sqlite_store.operations.get(op.id)
            return current is not None and current.status is OperationStatus.WAITING

        await eventually(is_waiting)
        await engine.service.request_cancel(op.id)
        ended = await engine.wait_terminal(op.id, timeout=5)
        follow_up = await engine.submit("db-1")  # the database is free again

    assert ended.status is OperationStatus.CANCELLED
    assert hooked == [op.id]
    assert follow_up.database_id == "db-1"


async def test_cancelling_an_ended_operation_is_refused(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async def step(ctx: StepContext) -> steps.StepResult:
        return steps.Done()

    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register("test", step)
        op = await engine.submit("db-1")
        await engine.wait_terminal(op.id)
        with pytest.raises(OperationNotCancellable):
            await engine.service.request_cancel(op.id)
        with pytest.raises(OperationNotFound):
            await engine.service.request_cancel("op-missing")


async def test_an_operation_past_its_deadline_fails_with_a_reason(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async def step(ctx: StepContext) -> steps.StepResult:
        return steps.Wait(0.1, message="still Provisioning")

    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register("test", step)
        op = await engine.submit("db-1", deadline=0.5)
        ended = await engine.wait_terminal(op.id, timeout=10)

    assert ended.status is OperationStatus.FAILED
    assert ended.error_message is not None
    assert "did not finish by its deadline" in ended.error_message
    assert "still Provisioning" in ended.error_message


async def test_the_failure_hook_runs_with_the_reason_when_the_deadline_passes(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    seen: list[tuple[str, str | None]] = []

    async def step(ctx: StepContext) -> steps.StepResult:
        return steps.Wait(0.1, message="OpsRequest still Pending")

    async def on_fail(ctx: StepContext, reason: str) -> None:
        seen.append((reason, ctx.operation.lease_owner))

    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register("test", step, on_fail=on_fail)
        op = await engine.submit("db-1", deadline=0.5)
        ended = await engine.wait_terminal(op.id, timeout=10)

    assert ended.status is OperationStatus.FAILED
    assert len(seen) == 1
    reason, holder = seen[0]
    assert reason == ended.error_message and "did not finish by its deadline" in reason
    assert holder is not None  # the hook ran under a renewed lease, before the release
    assert ended.lease_owner is None


async def test_the_failure_hook_runs_once_after_the_retry_limit_and_after_a_permanent_error(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    reasons: list[str] = []

    async def flaky(ctx: StepContext) -> steps.StepResult:
        raise steps.TemporaryError("cluster answered 503")

    async def refused(ctx: StepContext) -> steps.StepResult:
        raise steps.PermanentError("denied by the webhook")

    async def on_fail(ctx: StepContext, reason: str) -> None:
        reasons.append(reason)

    policy = RetryPolicy(initial=0.05, factor=1.0, cap=0.05, max_attempts=3, jitter=0.0)
    async with running_engine(sqlite_store, redis_client, retry=policy) as engine:
        engine.handlers.register("flaky", flaky, on_fail=on_fail)
        engine.handlers.register("refused", refused, on_fail=on_fail)
        first = await engine.wait_terminal((await engine.submit("db-1", "flaky")).id)
        second = await engine.wait_terminal((await engine.submit("db-2", "refused")).id)

    assert (first.status, second.status) == (OperationStatus.FAILED, OperationStatus.FAILED)
    assert reasons == [
        "cluster answered 503 (gave up after 3 attempts)",
        "denied by the webhook",
    ]


async def test_a_failure_hook_that_raises_is_logged_and_the_operation_still_fails(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async def step(ctx: StepContext) -> steps.StepResult:
        raise steps.PermanentError("version 9.9 is not in the catalog")

    async def on_fail(ctx: StepContext, reason: str) -> None:
        raise ConnectionError("cluster unreachable")

    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register("test", step, on_fail=on_fail)
        ended = await engine.wait_terminal((await engine.submit("db-1")).id)

    assert (ended.status, ended.error_message) == (
        OperationStatus.FAILED,
        "version 9.9 is not in the catalog",
    )
    assert ended.lease_owner is None and ended.completed_at is not None


async def test_an_operation_of_a_type_without_a_handler_fails_clearly(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    async with running_engine(sqlite_store, redis_client) as engine:
        ended = await engine.wait_terminal((await engine.submit("db-1", "teleport")).id)

    assert ended.status is OperationStatus.FAILED
    assert ended.error_message == "no handler for operation type 'teleport'"


@pytest.mark.every_redis
async def test_a_duplicate_wakeup_for_a_finished_operation_changes_nothing(
    sqlite_store: SQLiteStore, redis_client: aioredis.Redis
) -> None:
    calls: defaultdict[str, int] = defaultdict(int)

    async def step(ctx: StepContext) -> steps.StepResult:
        calls[ctx.operation.id] += 1
        return steps.Done()

    async with running_engine(sqlite_store, redis_client) as engine:
        engine.handlers.register("test", step)
        op = await engine.submit("db-1")
        ended = await engine.wait_terminal(op.id)
        for _ in range(3):
            await engine.queue.enqueue(op.id)

        async def drained() -> bool:
            depth = await engine.queue.depth()
            return depth.ready == 0 and depth.pending == 0

        await eventually(drained)
        again = await sqlite_store.operations.get(op.id)

    assert calls[op.id] == 1
    assert again == ended
