"""The status sync worker: on every instance, every `STATUS_SYNC_INTERVAL`, the cluster's
view of this instance's share of the databases written to their records.

    heartbeat  every interval/3: this instance in the live set (`membership.Membership`,
               ttl = one interval), so a dead instance drops out within one interval
    pass       every interval: `services.status_sync.StatusSync.run_pass`, owning the
               databases that rendezvous hashing (`membership.owner_of`) gives this
               instance among the live members read just before the pass

With every instance running this, each database is synced by one live instance per
interval; when one dies, its share moves to the others at their next pass after its entry
expires. A pass that fails (cluster or store away) is logged and counted; the next one
starts afresh. The last pass is kept for `/health`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis import exceptions as redis_errors

from app.cluster import errors as cluster_errors
from app.observability.log import get_logger
from app.observability.metrics import Metrics
from app.services.status_sync import StatusSync, SyncPass
from app.store import errors as store_errors
from app.workers import reports
from app.workers.membership import Membership, owner_of

log = get_logger(__name__)


class StatusSyncWorker:
    def __init__(
        self,
        sync: StatusSync,
        membership: Membership,
        *,
        interval: float,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._sync = sync
        self._membership = membership
        self.interval = interval
        self.members: list[str] = []
        self.last_pass: SyncPass | None = None
        self.last_error: str | None = None
        self.passes = 0
        self.failures = 0

    async def run(self, stop: asyncio.Event) -> None:
        log.info("status_sync_started", interval=self.interval, member=self._membership.member)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._beat(stop), name="status-sync-heartbeat")
                group.create_task(self._passes(stop), name="status-sync-passes")
        finally:
            if stop.is_set():
                with contextlib.suppress(redis_errors.RedisError, OSError):
                    await self._membership.leave()

    async def _beat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._heartbeat()
            await _wait(stop, self.interval / 3)

    async def _heartbeat(self) -> None:
        try:
            self.members = await self._membership.heartbeat()
        except (redis_errors.RedisError, OSError) as exc:
            # Keep the last known members: an overlap repeats a read, never a wrong write.
            log.warning("status_sync_heartbeat_failed", error=str(exc))

    async def _passes(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.run_pass()
            await _wait(stop, self.interval)

    async def run_pass(self) -> SyncPass | None:
        await self._heartbeat()
        me, members = self._membership.member, list(self.members) or [self._membership.member]
        try:
            result = await self._sync.run_pass(lambda key: owner_of(key, members) == me)
        except (cluster_errors.ClusterError, store_errors.StoreError) as exc:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("status_sync_pass_failed", error=self.last_error)
            return None
        self.passes += 1
        self.last_pass, self.last_error = result, None
        self._metrics.status_sync_pass(
            result.duration, synced=result.synced, written=result.written
        )
        log.info(
            "status_sync_pass",
            seen=result.seen,
            synced=result.synced,
            written=result.written,
            missing=result.missing,
            cluster_calls=result.cluster_calls,
            members=len(members),
            duration_ms=round(result.duration * 1000, 1),
        )
        return result

    def report(self) -> dict[str, Any]:
        """For `/health`: passes run on this instance, the failures, and the last pass."""
        last = self.last_pass
        return {
            "passes": self.passes,
            "failures": self.failures,
            "last_error": self.last_error,
            "members": len(self.members),
            "last": None
            if last is None
            else reports.last_pass(
                last.started_at,
                last.duration,
                databases_seen=last.seen,
                synced=last.synced,
                written=last.written,
                missing=last.missing,
                cluster_calls=last.cluster_calls,
                errors=last.errors,
            ),
        }


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
