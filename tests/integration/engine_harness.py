"""An operation engine wired for tests: a real store, a real Redis, N workers, the pump."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from app.broker.streams import OperationQueue
from app.domain import operation_kinds as kinds
from app.domain.operations import Operation
from app.engine.context import untyped
from app.engine.registry import HandlerRegistry
from app.engine.retry import RetryPolicy
from app.engine.runner import EngineConfig
from app.runtime.supervisor import Supervisor
from app.services.operations import OperationDefaults, OperationService
from app.store.protocols import Store
from app.workers.delayed_pump import DelayedPump
from app.workers.operation_worker import OperationWorker
from tests.support import eventually, scoped_key

FAST_RETRY = RetryPolicy(initial=0.05, factor=2.0, cap=1.0, max_attempts=4, jitter=0.0)


@dataclass
class Engine:
    store: Store
    queue: OperationQueue
    handlers: HandlerRegistry
    config: EngineConfig
    service: OperationService
    supervisor: Supervisor
    concurrency: int = 1

    def add_worker(self, name: str, *, concurrency: int | None = None) -> OperationWorker:
        worker = OperationWorker(
            consumer=name,
            store=self.store,
            queue=self.queue,
            handlers=self.handlers,
            config=self.config,
            concurrency=concurrency or self.concurrency,
        )
        self.supervisor.start(name, worker.run, group="workers")
        return worker

    async def submit(
        self,
        database_id: str,
        op_type: str = "test",
        *,
        desired_state: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Operation:
        """A database type's input is read from `desired_state` by its kind; another type
        (the engine tests' own) is submitted without models."""
        kind = next((k for k in kinds.DATABASE_KINDS if k.type == op_type), None)
        typed: kinds.OperationKind[Any, Any] = kind or untyped(op_type)
        return await self.service.submit(
            typed,
            typed.read_input(desired_state or {}),
            database_id=database_id,
            domain="acme",
            project="shop",
            **kwargs,
        )

    async def wait_terminal(self, operation_id: str, *, timeout: float = 20) -> Operation:
        async def ended() -> Operation | None:
            op = await self.store.operations.get(operation_id)
            return op if op is not None and not op.is_active else None

        return await eventually(ended, timeout=timeout, message=f"{operation_id} ended")


@asynccontextmanager
async def running_engine(
    store: Store,
    redis: aioredis.Redis,
    *,
    workers: int = 3,
    retry: RetryPolicy = FAST_RETRY,
    visibility_timeout: float = 1.0,
    step_timeout: float = 0.5,
    deadline: float = 60.0,
    concurrency: int = 8,
) -> AsyncIterator[Engine]:
    """Workers run `concurrency` steps at once each (the app's default)."""
    queue = OperationQueue(redis, prefix=scoped_key("ops"))
    await queue.ensure_group()
    config = EngineConfig(
        visibility_timeout=visibility_timeout,
        step_timeout=step_timeout,
        retry=retry,
        read_block=0.1,
    )
    supervisor = Supervisor()
    engine = Engine(
        store=store,
        queue=queue,
        handlers=HandlerRegistry(),
        config=config,
        service=OperationService(store, queue, OperationDefaults(deadline=deadline)),
        supervisor=supervisor,
        concurrency=concurrency,
    )
    supervisor.start("pump", DelayedPump(queue, max_sleep=0.05).run)
    for i in range(workers):
        engine.add_worker(f"worker-{i}")
    try:
        yield engine
    finally:
        await supervisor.shutdown(grace=5)
        await asyncio.sleep(0)
