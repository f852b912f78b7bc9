"""The reconciliation worker: the level-triggered safety net, run by the leader only.

Edge-triggered wake-ups (an API request enqueues its operation at once) can be lost: Redis
restarts without its data, an enqueue fails after the operation was stored, a delayed
wake-up vanishes. Each pass finds active operations that should have run by now (queued or
waiting past their `next_run_at`, or running with an expired lease) and sends them a new
wake-up. Duplicates are harmless: workers re-read the operation and claim it with
compare-and-set.

With a cluster, a drift-repair pass (`services.drift_repair.DriftRepair`) runs as well, every
`RECONCILE_INTERVAL` (the stalled-operation pass keeps its shorter cadence): each database's
CR compared with its record, drift fixed by an operation, adopted or reported, vanished CRs
and orphans reported. Its failures (cluster or store away) are logged and counted; losing
the lease ends it at the next side effect.

Each pass also rolls back creates that never got their operation (a `pending` record with
none, older than `ORPHAN_RECORD_GRACE`: `services.orphan_records`).

Between passes the leader looks at the queue every second (`OperationQueue.fingerprint`:
Redis's run id and a marker key): when Redis lost its data (a FLUSHALL, a restart without
persistence) or a worker here met `QueueLost`, the group is recreated and every active
operation's wake-up is sent again at once; otherwise they would wait for the stall pass.

It must only act while `Leadership.check()` passes, and its store writes carry the epoch that
check returns; a write the store refuses as fenced ends its leadership at once. It must
never change an operation itself:
it only wakes the workers that own that job, or opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.broker.errors import BrokerError
from app.broker.streams import OperationQueue
from app.cluster import errors as cluster_errors
from app.domain import clock
from app.observability.log import get_logger
from app.observability.metrics import Metrics
from app.services.backup_sync import BackupSync, BackupSyncPass
from app.services.drift_repair import DriftRepair, RepairPass
from app.services.orphan_records import OrphanRecords
from app.store import errors as store_errors
from app.store.protocols import Store
from app.workers import reports
from app.workers.leader_election import Leadership

log = get_logger(__name__)

# A `due_before` every active operation is due by: all of them.
_EVERYTHING = timedelta(days=365 * 100)


@dataclass(frozen=True, slots=True)
class PassResult:
    resent: int
    started_at: datetime | None = None
    duration: float = 0.0
    rolled_back: int = 0  # creates that never got their operation


class ReconciliationWorker:
    def __init__(
        self,
        *,
        store: Store,
        queue: OperationQueue,
        interval: float,
        stall_grace: float,
        repair: DriftRepair | None = None,
        repair_interval: float | None = None,
        metrics: Metrics | None = None,
        orphans: OrphanRecords | None = None,
        backups: BackupSync | None = None,
        backup_interval: float | None = None,
        queue_check_interval: float = 1.0,
    ) -> None:
        self._backups = backups
        self.backup_interval = backup_interval or interval
        self.last_backup_sync: BackupSyncPass | None = None
        self._queue_check_interval = queue_check_interval
        self._metrics = metrics or Metrics()
        self._orphans = orphans
        self._store = store
        self._queue = queue
        self.interval = interval
        self._stall_grace = stall_grace
        self._repair = repair
        self.repair_interval = repair_interval or interval
        self.passes = 0
        self.last_pass: PassResult | None = None
        self.repair_passes = 0
        self.repair_failures = 0
        self.last_repair: RepairPass | None = None
        self.last_repair_error: str | None = None

    def report(self) -> dict[str, Any]:
        """For `/health`: passes run while this instance led, and the last ones."""
        last, repair = self.last_pass, self.last_repair
        return {
            "passes": self.passes,
            "last": None
            if last is None or last.started_at is None
            else reports.last_pass(
                last.started_at,
                last.duration,
                wakeups_resent=last.resent,
                creates_rolled_back=last.rolled_back,
            ),
            "drift_passes": self.repair_passes,
            "drift_failures": self.repair_failures,
            "drift_last_error": self.last_repair_error,
            "drift_last": None
            if repair is None
            else reports.last_pass(
                repair.started_at,
                repair.duration,
                databases_seen=repair.seen,
                checked=repair.checked,
                drift_found=repair.drift,
                fixes_opened=repair.fixes,
                adopted=repair.adopted,
                vanished=repair.vanished,
                orphans=repair.orphans,
                skipped=repair.skipped,
                cluster_calls=repair.cluster_calls,
            ),
        }

    async def lead(self, leadership: Leadership) -> None:
        """The led coroutine: a pass every `interval` for as long as we lead."""
        log.info("reconciliation_worker_started", epoch=leadership.epoch, interval=self.interval)
        loop = asyncio.get_running_loop()
        next_repair = next_backup_sync = loop.time()
        fingerprint: str | None = None
        while leadership.valid:
            await self.run_pass(leadership)
            if self._repair is not None and loop.time() >= next_repair:
                await self.run_repair(leadership)
                next_repair = loop.time() + self.repair_interval
            if self._backups is not None and loop.time() >= next_backup_sync:
                await self.run_backup_sync(leadership)
                next_backup_sync = loop.time() + self.backup_interval
            wake = min(self.interval, max(0.0, next_backup_sync - loop.time()))
            fingerprint = await self._watch_queue(
                leadership,
                fingerprint,
                until=loop.time() + (wake if self._backups else self.interval),
            )

    async def _watch_queue(
        self, leadership: Leadership, fingerprint: str | None, *, until: float
    ) -> str | None:
        """Until the next pass, look at the queue every `queue_check_interval` (or at once
        when a worker here met `QueueLost`): when Redis lost its data, every active
        operation's wake-up is sent again now, not at the next stall pass."""
        loop = asyncio.get_running_loop()
        lost = self._queue.lost_seen
        while leadership.valid and (left := until - loop.time()) > 0:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel that
            # lands as its timeout fires, and the elector's cancel must end this loop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, self._queue_check_interval)):
                    await lost.wait()
            try:
                now, created = await self._queue.fingerprint()
            except BrokerError as exc:  # Redis away: look again at the next tick
                log.warning("operation_queue_check_failed", error=str(exc))
                continue
            if lost.is_set() or (now != fingerprint and (fingerprint or created)):
                lost.clear()
                await self.restore_queue(leadership)
            fingerprint = now
        return fingerprint

    async def restore_queue(self, leadership: Leadership) -> int:
        """The queue lost its data: recreate its group and re-send the wake-up of every
        active operation (the stall pass's re-send, with nothing left out). A waiting
        operation woken early is put back on its schedule by the worker."""
        try:
            await self._queue.ensure_group()
            resent = await self._resend(leadership, due_before=clock.utcnow() + _EVERYTHING)
        except (BrokerError, store_errors.StoreError) as exc:
            log.warning("operation_queue_restore_failed", error=f"{type(exc).__name__}: {exc}")
            self._queue.lost_seen.set()  # try again at the next tick
            return 0
        # A first start finds no marker either, and nothing to re-send: no cause for a warning.
        report = log.warning if resent else log.info
        report("operation_queue_restored", wakeups_resent=resent, epoch=leadership.epoch)
        return resent

    async def run_repair(self, leadership: Leadership) -> RepairPass | None:
        """One drift-repair pass; None when there is no repair or it failed (logged)."""
        if self._repair is None:
            return None
        leadership.check()
        try:
            result = await self._repair.run_pass(leadership.check)
        except store_errors.Fenced as exc:  # a newer leader exists: stop leading now
            raise leadership.fenced(exc) from exc
        except (cluster_errors.ClusterError, store_errors.StoreError) as exc:
            self.repair_failures += 1
            self.last_repair_error = f"{type(exc).__name__}: {exc}"
            log.warning("drift_pass_failed", error=self.last_repair_error)
            return None
        self.repair_passes += 1
        self.last_repair, self.last_repair_error = result, None
        self._metrics.reconcile_pass("drift", result.duration)
        for kind, count in result.drift.items():
            self._metrics.drift(kind, count)
        self._metrics.drift("vanished", result.vanished)
        self._metrics.drift("orphan", result.orphans)
        log.info(
            "drift_pass",
            seen=result.seen,
            checked=result.checked,
            fixes=result.fixes,
            adopted=result.adopted,
            vanished=result.vanished,
            orphans=result.orphans,
            cluster_calls=result.cluster_calls,
            duration_ms=round(result.duration * 1000, 1),
            epoch=leadership.epoch,
        )
        return result

    async def run_backup_sync(self, leadership: Leadership) -> BackupSyncPass | None:
        """One backup-sync pass (scheduled backups recorded, removed ones marked); None
        when there is none or it failed (logged: the next pass starts afresh)."""
        if self._backups is None:
            return None
        leadership.check()
        try:
            result = await self._backups.run_pass()
        except (cluster_errors.ClusterError, store_errors.StoreError) as exc:
            log.warning("backup_sync_failed", error=f"{type(exc).__name__}: {exc}")
            return None
        self.last_backup_sync = result
        self._metrics.reconcile_pass("backups", result.duration)
        if result.recorded or result.updated or result.removed:
            log.info(
                "backup_sync_pass",
                snapshots=result.snapshots,
                recorded=result.recorded,
                updated=result.updated,
                removed=result.removed,
                duration_ms=round(result.duration * 1000, 1),
            )
        return result

    async def run_pass(self, leadership: Leadership) -> PassResult:
        started_at, began = clock.utcnow(), time.perf_counter()
        due_before = clock.utcnow() - timedelta(seconds=self._stall_grace)
        resent = await self._resend(leadership, due_before=due_before)
        rolled_back = await self._roll_back_orphans(leadership)
        self.passes += 1
        self.last_pass = PassResult(
            resent, started_at, time.perf_counter() - began, rolled_back=rolled_back
        )
        self._metrics.reconcile_pass("stalled", self.last_pass.duration)
        return self.last_pass

    async def _roll_back_orphans(self, leadership: Leadership) -> int:
        if self._orphans is None:
            return 0
        try:
            return await self._orphans.roll_back(leadership.check)
        except store_errors.Fenced as exc:
            raise leadership.fenced(exc) from exc
        except (BrokerError, store_errors.StoreError) as exc:
            log.warning("orphan_record_pass_failed", error=f"{type(exc).__name__}: {exc}")
            return 0

    async def _resend(self, leadership: Leadership, *, due_before: datetime) -> int:
        """Wake every active operation that should have run by `due_before`."""
        stalled = await self._store.operations.list_stalled(due_before=due_before)
        for operation in stalled:
            leadership.check()
            await self._queue.enqueue(operation.id)
            log.info(
                "operation_wakeup_resent",
                op_id=operation.id,
                status=str(operation.status),
                epoch=leadership.epoch,
            )
        return len(stalled)
