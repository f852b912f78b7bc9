"""One operation worker in a process of its own, so a test can SIGKILL it mid-step.

    python -m tests.integration.worker_process SQLITE_PATH REDIS_URL QUEUE_PREFIX CONSUMER [wait]

Its handler for type "test" prints `entered <op id>` and then hangs, as a worker does when
it dies in the middle of a step; with `wait`, it returns `Wait(1)` instead (the operation
then waits for its next wake-up, as one does while an OpsRequest runs).
"""

from __future__ import annotations

import asyncio
import sys

from app.broker.client import make_client
from app.broker.streams import OperationQueue
from app.config.settings import LogFormat, LogLevel
from app.engine import steps
from app.engine.context import StepContext
from app.engine.registry import HandlerRegistry
from app.engine.retry import RetryPolicy
from app.engine.runner import EngineConfig
from app.observability.log import configure_logging
from app.store.sqlite import SQLiteStore
from app.workers.operation_worker import OperationWorker

VISIBILITY, STEP = 3.0, 2.0


async def main(
    sqlite_path: str, redis_url: str, prefix: str, consumer: str, mode: str = "hang"
) -> None:
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE, stream=sys.stderr)
    store = await SQLiteStore.open(sqlite_path)
    queue = OperationQueue(make_client(redis_url), prefix=prefix)
    handlers = HandlerRegistry()

    async def hang(ctx: StepContext) -> steps.StepResult:
        print(f"entered {ctx.operation.id}", flush=True)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def wait(ctx: StepContext) -> steps.StepResult:
        print(f"entered {ctx.operation.id}", flush=True)
        return steps.Wait(1.0, message="OpsRequest Progressing")

    handlers.register("test", wait if mode == "wait" else hang)
    worker = OperationWorker(
        consumer=consumer,
        store=store,
        queue=queue,
        handlers=handlers,
        config=EngineConfig(
            visibility_timeout=VISIBILITY, step_timeout=STEP, retry=RetryPolicy(), read_block=0.1
        ),
    )
    await worker.run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
