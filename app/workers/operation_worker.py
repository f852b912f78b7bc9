"""Operation workers: the supervised loop that feeds the operation engine.

A worker reads wake-ups from the queue (and, every half visibility timeout, reclaims those a
dead worker left unacknowledged) and hands each to its `app.engine.runner.OperationEngine`,
which claims the operation, runs one step and records the outcome. When Redis has lost the
queue's group the worker recreates it (the leader re-sends the wake-ups); when stopped it
finishes the current step and removes itself from the consumer group.

The engine itself (step contract, registry, retry policy, state machine) is `app.engine`.
"""

from __future__ import annotations

import asyncio
import random

from app.broker.errors import BrokerError, QueueLost
from app.broker.streams import Delivery, OperationQueue
from app.engine.registry import EndFn, HandlerRegistry
from app.engine.runner import EngineConfig, OperationEngine
from app.observability.log import get_logger
from app.observability.metrics import Metrics
from app.store.protocols import Store

log = get_logger(__name__)


class OperationWorker:
    def __init__(
        self,
        *,
        consumer: str,
        store: Store,
        queue: OperationQueue,
        handlers: HandlerRegistry,
        config: EngineConfig,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        on_end: EndFn | None = None,
    ) -> None:
        self.consumer = consumer
        self._metrics = metrics or Metrics()
        self._queue = queue
        self._config = config
        self._log = log.bind(consumer=consumer)
        self.engine = OperationEngine(
            holder=consumer,
            store=store,
            queue=queue,
            handlers=handlers,
            config=config,
            logger=self._log,
            rng=rng,
            metrics=self._metrics,
            on_end=on_end,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Take and run wake-ups until `stop` is set; the current step is finished first."""
        await self._queue.ensure_group()
        loop = asyncio.get_running_loop()
        reclaim_every = min(self._config.visibility_timeout / 2, 5.0)
        next_reclaim = loop.time()
        try:
            while not stop.is_set():
                try:
                    deliveries: list[Delivery] = []
                    if loop.time() >= next_reclaim:
                        deliveries = await self._queue.reclaim(
                            self.consumer, min_idle=self._config.visibility_timeout
                        )
                        next_reclaim = loop.time() + reclaim_every
                        self._metrics.reclaimed(len(deliveries))
                        for delivery in deliveries:
                            self._log.info("operation_reclaimed", op_id=delivery.operation_id)
                    if not deliveries:
                        deliveries = await self._queue.read(
                            self.consumer, block=self._config.read_block
                        )
                    for delivery in deliveries:
                        await self.engine.process(delivery)
                except QueueLost as exc:  # Redis lost its data: the leader re-sends
                    self._log.warning("operation_queue_lost", error=str(exc))
                    await self._queue.recreate_group()
        finally:
            if stop.is_set():
                await self._forget_self()

    async def process(self, delivery: Delivery) -> None:
        """One wake-up, through the engine (for tools and tests that drive a worker)."""
        await self.engine.process(delivery)

    async def _forget_self(self) -> None:
        try:
            await self._queue.forget_consumer(self.consumer)
        except BrokerError as exc:
            self._log.warning("consumer_cleanup_failed", error=str(exc))
