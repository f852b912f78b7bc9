"""The reconciliation worker: the level-triggered safety net, run by the leader only.

Edge-triggered wake-ups (an API request enqueues its operation at once) can be lost: Redis
restarts without its data, an enqueue fails after the operation was stored, a delayed
wake-up vanishes. Each pass finds active operations that should have run by now (queued or
waiting past their `next_run_at`, or running with an expired lease) and sends them a new
wake-up. Duplicates are harmless: workers re-read the operation and claim it with
compare-and-set. Drift between desired and observed cluster state joins this pass with the
cluster gateway.

It must only act while `Leadership.check()` passes, and never change an operation itself:
it only wakes the workers that own that job.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain import clock
from app.log import get_logger
from app.queue.streams import OperationQueue
from app.store.protocols import Store
from app.workers.leader_election import Leadership

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PassResult:
    resent: int
    started_at: datetime | None = None
    duration: float = 0.0


class ReconciliationWorker:
    def __init__(
        self,
        *,
        store: Store,
        queue: OperationQueue,
        interval: float,
        stall_grace: float,
    ) -> None:
        self._store = store
        self._queue = queue
        self.interval = interval
        self._stall_grace = stall_grace
        self.passes = 0
        self.last_pass: PassResult | None = None

    def report(self) -> dict[str, Any]:
        """For `/health`: passes run while this instance led, and the last one."""
        last = self.last_pass
        return {
            "passes": self.passes,
            "last": None if last is None or last.started_at is None else {
                "at": clock.to_text(last.started_at),
                "duration_ms": round(last.duration * 1000, 1),
                "wakeups_resent": last.resent,
            },
        }

    async def lead(self, leadership: Leadership) -> None:
        """The led coroutine: a pass every `interval` for as long as we lead."""
        log.info("reconciliation_worker_started", epoch=leadership.epoch, interval=self.interval)
        while True:
            await self.run_pass(leadership)
            await asyncio.sleep(self.interval)

    async def run_pass(self, leadership: Leadership) -> PassResult:
        started_at, began = clock.utcnow(), time.perf_counter()
        due_before = clock.utcnow() - timedelta(seconds=self._stall_grace)
        stalled = await self._store.operations.list_stalled(due_before=due_before)
        resent = 0
        for operation in stalled:
            leadership.check()
            await self._queue.enqueue(operation.id)
            resent += 1
            log.info(
                "operation_wakeup_resent", op_id=operation.id, status=str(operation.status),
                epoch=leadership.epoch,
            )
        self.passes += 1
        self.last_pass = PassResult(resent, started_at, time.perf_counter() - began)
        return self.last_pass
