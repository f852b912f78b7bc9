"""The gauges sampled when `/metrics` is scraped: the queue's depth and the databases by
engine, status and health.

These describe shared state (one queue, one store), so every instance reports the same
figures; a dashboard takes `max()` over instances. A sample that fails (Redis or the store
down) keeps the last values and counts the failure: a scrape never fails because of it.
"""

from __future__ import annotations

from app.broker.errors import BrokerError
from app.log import get_logger
from app.metrics import Metrics
from app.queue.streams import OperationQueue
from app.store.errors import StoreError
from app.store.protocols import Store

log = get_logger(__name__)


class GaugeSampler:
    def __init__(self, metrics: Metrics, *, store: Store, queue: OperationQueue) -> None:
        self._metrics = metrics
        self._store = store
        self._queue = queue
        # Every (engine, status, health) seen so far: one that empties is reported as 0,
        # not dropped, so that an alert on it resolves.
        self._seen: set[tuple[str, str, str]] = set()

    async def sample(self) -> None:
        await self._sample_queue()
        await self._sample_databases()

    async def _sample_queue(self) -> None:
        try:
            depth = await self._queue.depth()
        except BrokerError as exc:
            self._failed("queue", exc)
            return
        self._metrics.queue_ready.set(depth.ready)
        self._metrics.queue_pending.set(depth.pending)
        self._metrics.queue_delayed.set(depth.delayed)

    async def _sample_databases(self) -> None:
        try:
            counts = await self._store.databases.count_by_state()
        except StoreError as exc:
            self._failed("store", exc)
            return
        self._seen.update(counts)
        for labels in self._seen:
            self._metrics.databases.labels(*labels).set(counts.get(labels, 0))

    def _failed(self, source: str, exc: Exception) -> None:
        self._metrics.sample_errors.labels(source).inc()
        log.warning("metrics_sample_failed", source=source, error=str(exc))
