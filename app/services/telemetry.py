"""The gauges sampled when `/metrics` is scraped: the queue's depth, the databases by
engine, status and health, and the backups kept (count and bytes) by storage, type and
status.

These describe shared state (one queue, one store), so every instance reports the same
figures; a dashboard takes `max()` over instances. The two samples run side by side, each
bounded by `SAMPLE_TIMEOUT`: one that fails or takes longer (Redis or the store down) keeps
the last values and counts the failure, so a scrape answers in time and never fails
because of it (the leader's and the HTTP series matter most during an outage).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from app.observability.log import get_logger
from app.observability.metrics import Metrics
from app.services.ports import OperationQueue
from app.store.protocols import Store

log = get_logger(__name__)

# Seconds one sample may take; Prometheus's default scrape timeout is 10 s.
SAMPLE_TIMEOUT = 2.0


class GaugeSampler:
    def __init__(self, metrics: Metrics, *, store: Store, queue: OperationQueue) -> None:
        self._metrics = metrics
        self._store = store
        self._queue = queue
        # Every (engine, status, health) seen so far: one that empties is reported as 0,
        # not dropped, so that an alert on it resolves.
        self._seen: set[tuple[str, str, str]] = set()
        self._seen_backups: set[tuple[str, str, str]] = set()

    async def sample(self) -> None:
        await asyncio.gather(
            self._bounded("queue", self._sample_queue()),
            self._bounded("store", self._sample_databases()),
            self._bounded("backups", self._sample_backups()),
        )

    async def _bounded(self, source: str, sample: Awaitable[None]) -> None:
        # Any failure, not only the adapters' error trees: this is the scrape's boundary,
        # and a gauge left at its last value is better than no answer.
        try:
            await asyncio.wait_for(sample, SAMPLE_TIMEOUT)
        except Exception as exc:
            self._metrics.sample_errors.labels(source).inc()
            log.warning(
                "metrics_sample_failed", source=source, error=f"{type(exc).__name__}: {exc}"
            )

    async def _sample_queue(self) -> None:
        depth = await self._queue.depth()
        self._metrics.queue_ready.set(depth.ready)
        self._metrics.queue_pending.set(depth.pending)
        self._metrics.queue_delayed.set(depth.delayed)

    async def _sample_databases(self) -> None:
        counts = await self._store.databases.count_by_state()
        self._seen.update(counts)
        for labels in self._seen:
            self._metrics.databases.labels(*labels).set(counts.get(labels, 0))

    async def _sample_backups(self) -> None:
        totals = await self._store.backups.totals()
        self._seen_backups.update(totals)
        for labels in self._seen_backups:
            count, size = totals.get(labels, (0, 0))
            self._metrics.backups.labels(*labels).set(count)
            self._metrics.backup_bytes.labels(*labels).set(size)
