"""Operation workers: the supervised loop that feeds the operation engine.

A worker reads wake-ups from the queue (and, every half visibility timeout, reclaims those a
dead worker left unacknowledged) and hands each to its `app.engine.runner.OperationEngine`,
which claims the operation, runs one step and records the outcome. A step mostly waits (on
the cluster, the store, Redis), so one worker loop runs up to `concurrency` steps at once,
each a task it owns: it reads as many wake-ups as it has free slots, never more.

Two wake-ups for the same operation never run at once in one worker: the lease keeps other
workers out, but this worker's own name is the lease's holder, so a second wake-up that
arrives while a step of its operation runs waits for that step and then runs (a duplicate
wake-up is then settled by the engine as it would be anyway).

When Redis has lost the queue's group the worker recreates it (the leader re-sends the
wake-ups). When stopped it takes nothing new, lets the steps in flight finish, and removes
itself from the consumer group; when cancelled (the stop's grace ran out) it cancels its
steps, each of which hands its operation back (`OperationEngine.process`), and waits for
them before it ends: no step outlives its worker. A step that fails unexpectedly (the store
or Redis gone) stops the loop once the others have finished, and the supervisor restarts it
with backoff.

The engine itself (step contract, registry, retry policy, state machine) is `app.engine`.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque

from app.broker.errors import BrokerError, QueueLost
from app.broker.streams import Delivery, OperationQueue
from app.engine.registry import EndFn, HandlerRegistry
from app.engine.runner import EngineConfig, OperationEngine
from app.observability.log import get_logger
from app.observability.metrics import Metrics
from app.runtime import tasks
from app.store.protocols import Store

log = get_logger(__name__)

# A reclaim takes at most this many messages at once (and never more than the free slots).
_RECLAIM_BATCH = 10


class OperationWorker:
    def __init__(
        self,
        *,
        consumer: str,
        store: Store,
        queue: OperationQueue,
        handlers: HandlerRegistry,
        config: EngineConfig,
        concurrency: int = 1,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        on_end: EndFn | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.consumer = consumer
        self.concurrency = concurrency
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
        # The step in flight per operation, and the wake-ups waiting behind it.
        self._running: dict[str, asyncio.Task[None]] = {}
        self._waiting: dict[str, deque[Delivery]] = {}
        self._held: set[str] = set()  # message ids in flight or waiting
        self._failure: Exception | None = None
        self._stopping = False
        self.taking = False  # reading wake-ups now (not stopped, not draining)

    @property
    def in_flight(self) -> int:
        """Steps running now plus wake-ups waiting behind one: the slots taken."""
        return len(self._held)

    async def run(self, stop: asyncio.Event) -> None:
        """Take and run wake-ups until `stop` is set; the steps in flight finish first."""
        await self._queue.ensure_group()
        self._failure, self._stopping = None, False
        try:
            self.taking = True
            await self._take_until(stop)
            self.taking, self._stopping = False, True
            await self._drain()
        except BaseException:
            self.taking, self._stopping = False, True
            await self._cancel_all()
            raise
        finally:
            if stop.is_set():
                await self._forget_self()
        if self._failure is not None:
            raise self._failure

    async def _take_until(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        reclaim_every = min(self._config.visibility_timeout / 2, 5.0)
        next_reclaim = loop.time()
        while not stop.is_set() and self._failure is None:
            free = self.concurrency - self.in_flight
            if free <= 0:
                await self._wait_for_a_slot(stop)
                continue
            try:
                deliveries: list[Delivery] = []
                if loop.time() >= next_reclaim:
                    deliveries = await self._reclaim(free)
                    next_reclaim = loop.time() + reclaim_every
                if not deliveries:
                    deliveries = await self._queue.read(
                        self.consumer, block=self._config.read_block, count=free
                    )
            except QueueLost as exc:  # Redis lost its data: the leader re-sends
                self._log.warning("operation_queue_lost", error=str(exc))
                await self._queue.recreate_group()
                continue
            for delivery in deliveries:
                self._admit(delivery)

    async def _reclaim(self, free: int) -> list[Delivery]:
        deliveries = await self._queue.reclaim(
            self.consumer,
            min_idle=self._config.visibility_timeout,
            count=min(free, _RECLAIM_BATCH),
        )
        self._metrics.reclaimed(len(deliveries))
        for delivery in deliveries:
            self._log.info("operation_reclaimed", op_id=delivery.operation_id)
        return deliveries

    def _admit(self, delivery: Delivery) -> None:
        if delivery.message_id in self._held:
            return  # reclaimed from ourselves: it is in hand already
        self._held.add(delivery.message_id)
        if delivery.operation_id in self._running:
            self._waiting.setdefault(delivery.operation_id, deque()).append(delivery)
        else:
            self._start(delivery)

    def _start(self, delivery: Delivery) -> None:
        task = tasks.spawn(f"{self.consumer}/step/{delivery.operation_id}", self._step(delivery))
        self._running[delivery.operation_id] = task
        task.add_done_callback(lambda done: self._step_ended(delivery, done))

    async def _step(self, delivery: Delivery) -> None:
        try:
            await self.engine.process(delivery)
        except QueueLost as exc:  # recreated by the loop's next read, which meets it too
            self._log.warning("operation_queue_lost", error=str(exc))
        except Exception as exc:  # raised by the loop once the others finish (supervisor)
            if self._failure is None:
                self._failure = exc

    def _step_ended(self, delivery: Delivery, task: asyncio.Task[None]) -> None:
        self._held.discard(delivery.message_id)
        op_id = delivery.operation_id
        if self._running.get(op_id) is task:
            del self._running[op_id]
        waiting = self._waiting.get(op_id)
        if not waiting:
            self._waiting.pop(op_id, None)
            return
        following = waiting.popleft()
        if not waiting:
            del self._waiting[op_id]
        if self._stopping or self._failure is not None or task.cancelled():
            # Not started: left unacknowledged, reclaimed after the visibility timeout.
            self._held.discard(following.message_id)
            return
        self._start(following)

    async def _wait_for_a_slot(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait(
                [stopping, *self._running.values()], return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopping.cancel()
            await asyncio.gather(stopping, return_exceptions=True)

    async def _drain(self) -> None:
        """Let the steps in flight (and those waiting behind them) finish."""
        while self._running:
            await asyncio.wait(list(self._running.values()))
        self._forget_waiting()

    async def _cancel_all(self) -> None:
        """Cancel the steps in flight (each hands its operation back) and wait for them."""
        self._forget_waiting()
        running = list(self._running.values())
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)

    def _forget_waiting(self) -> None:
        # Wake-ups not started are left unacknowledged: reclaimed after the visibility timeout.
        for waiting in self._waiting.values():
            for delivery in waiting:
                self._held.discard(delivery.message_id)
        self._waiting.clear()

    async def process(self, delivery: Delivery) -> None:
        """One wake-up, through the engine (for tools and tests that drive a worker)."""
        await self.engine.process(delivery)

    async def _forget_self(self) -> None:
        try:
            await self._queue.forget_consumer(self.consumer)
        except BrokerError as exc:
            self._log.warning("consumer_cleanup_failed", error=str(exc))
