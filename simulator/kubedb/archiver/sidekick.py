"""The WAL sidekick of an archived real PostgreSQL (KubeDB's `<db>-sidekick` pod, wal-g):
one task per database, owned by the archiving controller and stopped with it or when
archiving is turned off. It turns archiving on (ALTER SYSTEM, then a restart through the
data plane so the pod and the server stay consistent), then every `INTERVAL` real seconds
switches the WAL segment (`pg_switch_wal()`), ships the archived segments to
`<storage root>/<subDir>/<ns>/<db>/wal/` and publishes the window on the incremental
Snapshot: start = the oldest base backup taken while archiving, end = the time of the
newest switch whose segment has been shipped (everything committed before it is on the
storage). The shipped segments older than that base backup's start are deleted: retention
removed the base backups that could replay them, so without this the storage only grows
(a segment every `INTERVAL`). It never writes the database object.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import structlog

from simulator.kubedb.archiver import pgrecover, pgwal, window
from simulator.kubedb.backup import movers, retention, storage, targets
from simulator.kubedb.cluster import Cluster, ClusterError
from simulator.kubedb.dataplane.plane import DataPlane
from simulator.kubedb.dataplane.port import ServerSpec

log = structlog.get_logger(__name__)

Key = tuple[str, str, str]
INTERVAL = 2.0
ENABLE_DEADLINE = 90.0
RESTART_AGAIN = 20.0
"""Real seconds after which a restart that did not turn archiving on is asked again."""


class Sidekicks:
    def __init__(self, cluster: Cluster, plane: DataPlane) -> None:
        self._cluster = cluster
        self._plane = plane
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self._ready: set[Key] = set()

    def ready(self, key: Key) -> bool:
        """Archiving is on: a base backup taken now is restorable onwards."""
        return key in self._ready

    def running(self, key: Key) -> bool:
        return key in self._tasks

    def ensure(self, key: Key, *, root: Path, path: str) -> None:
        if key in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(
            self._run(key, root, path), name=f"archiver-sidekick:{'/'.join(key)}"
        )
        self._tasks[key] = task
        task.add_done_callback(lambda t: self._done(key, t))

    def _done(self, key: Key, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
            self._ready.discard(key)
        if not task.cancelled() and task.exception() is not None:
            log.error("archiver_sidekick_crashed", db="/".join(key), error=str(task.exception()))

    async def stop(self, key: Key) -> None:
        task = self._tasks.pop(key, None)
        self._ready.discard(key)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            log.info("archiver_sidekick_stopped", db="/".join(key))

    async def close(self) -> None:
        for key in list(self._tasks):
            await self.stop(key)

    async def _target(self, key: Key) -> tuple[dict[str, Any], movers.Target, ServerSpec] | None:
        _kind, namespace, name = key
        db = await self._cluster.peek("postgreses", namespace, name)
        server = self._plane.running(key)
        if db is None or server is None:
            return None
        target = await targets.resolve(self._cluster, db)
        return (db, target, server) if target.url else None

    async def _enable(self, key: Key) -> float:
        """Turn archiving on; the time from which WAL is archived (0: it already was)."""
        loop = asyncio.get_running_loop()
        deadline, asked_at = loop.time() + ENABLE_DEADLINE, None
        since = 0.0
        while loop.time() < deadline:
            found = await self._target(key)
            if found is not None:
                _db, target, server = found
                with contextlib.suppress(pgwal.WalError):
                    if await pgwal.archiving(target, server.folder):
                        return since
                    if asked_at is None or loop.time() - asked_at > RESTART_AGAIN:
                        await pgwal.configure(target, server.folder, server.account)
                        self._plane.restart(key)
                        asked_at, since = loop.time(), time.time()
                        log.info("archiver_wal_archiving_on", db="/".join(key))
            await asyncio.sleep(0.5)
        raise pgwal.WalError(f"archiving did not turn on within {ENABLE_DEADLINE:g}s")

    async def _run(self, key: Key, root: Path, path: str) -> None:
        since = await self._enable(key)
        self._ready.add(key)
        destination = root / path
        counts = {"succeeded": 0, "failed": 0}
        pending: list[tuple[float, str, str]] = []
        covered: tuple[float, str] | None = None
        while True:
            found = await self._target(key)
            if found is not None:
                db, target, server = found
                try:
                    at = time.time()
                    segment, lsn = await pgwal.switch(target)
                    pending.append((at, segment, lsn))
                    counts["succeeded"] += await asyncio.to_thread(
                        pgwal.ship, server.folder, destination
                    )
                except (pgwal.WalError, OSError) as exc:
                    counts["failed"] += 1
                    log.warning("archiver_wal_ship_failed", db="/".join(key), reason=str(exc))
                done = [p for p in pending if pgwal.shipped(destination, p[1])]
                if done:
                    covered = (done[-1][0], done[-1][2])
                    pending = [p for p in pending if p[0] > done[-1][0]]
                if covered is not None:
                    try:
                        await self._publish(db, root, path, since, covered, counts)
                    except Exception:  # a boundary: the archiving goes on, the window waits
                        log.exception("archiver_window_publish_failed", db="/".join(key))
            await asyncio.sleep(INTERVAL)

    async def _publish(
        self,
        db: dict[str, Any],
        root: Path,
        path: str,
        since: float,
        covered: tuple[float, str],
        counts: dict[str, int],
    ) -> None:
        oldest = await self._oldest_base(db, root, since)
        if oldest is None:
            return  # no base backup yet: nothing is restorable
        start, first_segment = oldest
        end, lsn = covered
        namespace, name = db["metadata"]["namespace"], db["metadata"]["name"]
        snap = window.incremental(
            db, real=True, path=f"{path}", start=start, end=end, lsn=lsn, counts=counts
        )
        try:
            await self._cluster.create("snapshots", namespace, snap)
            await self._cluster.replace_status(
                "snapshots", namespace, window.snapshot(name), snap["status"]
            )
        except ClusterError:
            return
        # Only once the window no longer reaches before that base backup.
        pruned = await asyncio.to_thread(pgwal.prune, root / path, first_segment)
        if pruned:
            log.info("archiver_wal_pruned", db=f"{namespace}/{name}", segments=pruned)

    async def _oldest_base(
        self, db: dict[str, Any], root: Path, since: float
    ) -> tuple[float, str] | None:
        """The end (real time) and start segment of the oldest base backup taken while
        archiving ("" for the segment when its record does not say)."""
        meta = db["metadata"]
        repo = window.full_repository(meta["name"])
        oldest: tuple[float, str] | None = None
        for snap in await retention.snapshots_of(self._cluster, meta["namespace"], repo):
            status = snap.get("status") or {}
            dump = (status.get("components") or {}).get("dump") or {}
            if status.get("phase") != "Succeeded" or not dump.get("path"):
                continue
            try:
                details = await asyncio.to_thread(pgrecover.info, root / str(dump["path"]))
            except (OSError, ValueError):
                continue
            begun, ended = float(str(details.get("start"))), float(str(details.get("end")))
            if begun >= since and (oldest is None or ended < oldest[0]):
                oldest = (ended, str(details.get("start_segment") or ""))
        return oldest


def storage_root(store: dict[str, Any] | None) -> Path | None:
    return storage.root(store) if store is not None else None
