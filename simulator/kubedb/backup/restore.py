"""The RestoreSession controller: finds the target (`RestoreTargetFound`), waits for it to
accept connections, finds the snapshot (by name, or `latest`: the newest Succeeded one of
the repository, which may be in another namespace: `dataSource.namespace`), then loads it
(`movers.restore`) as a job of its own bounded by `restoreTimeout` (default 10 minutes):
Pending -> Running -> Succeeded | Failed. The KubeDB provisioner reads the outcome for a
database waiting for its initial restore (`DataRestored`). Knob: `restore_fail`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from simulator.kubedb.backup import backends, movers, retention, targets, timing
from simulator.kubedb.backup.settings import BackupSettings, matches
from simulator.kubedb.cluster import Cluster, ClusterError

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = 600.0
TERMINAL = ("Succeeded", "Failed", "Invalid")
ARCHIVER_RECOVERY = "kubedb.com/archiver-recovery"


class Restores:
    def __init__(
        self, cluster: Cluster, clock: timing.SimClock, settings: Callable[[], BackupSettings]
    ) -> None:
        self._cluster = cluster
        self._clock = clock
        self._settings = settings
        self._jobs: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._first_seen: dict[tuple[str, str], float] = {}

    async def reconcile(self, namespace: str, name: str) -> float | None:
        rs = await self._cluster.peek("restoresessions", namespace, name)
        key = (namespace, name)
        if rs is None:
            self._first_seen.pop(key, None)
            return None
        status: dict[str, Any] = dict(rs.get("status") or {})
        if status.get("phase") in TERMINAL or key in self._jobs:
            return None
        if (rs["metadata"].get("labels") or {}).get(ARCHIVER_RECOVERY) == "true":
            return None  # KubeDB's point-in-time recovery: simulator.kubedb.archiver decides it
        loop = asyncio.get_running_loop()
        spec = rs.get("spec") or {}
        timeout = timing.parse_duration(spec.get("restoreTimeout"), DEFAULT_TIMEOUT)
        waited = loop.time() - self._first_seen.setdefault(key, loop.time())
        now = self._clock.now()
        db = await targets.database(self._cluster, spec.get("target") or {}, namespace)
        status["targetFound"] = db is not None
        conds = [
            _cond(
                "RestoreTargetFound",
                db is not None,
                "TargetFound" if db else "TargetNotFound",
                "restore target found" if db else "restore target not found",
                now,
            )
        ]
        status["conditions"] = conds
        if db is None or not targets.accepting(db) or not await targets.settled(self._cluster, db):
            if waited > timeout:
                what = "was not found" if db is None else "did not accept connections"
                _failed(status, f"the restore target {what} within {timeout:g}s", now)
            else:
                status.setdefault("phase", "Pending")
            await self._write(namespace, name, status)
            return None if status["phase"] == "Failed" else 0.5
        status["phase"] = "Running"
        await self._write(namespace, name, status)
        task = loop.create_task(
            self._job(namespace, name, db, timeout), name=f"kubestash-restore:{namespace}/{name}"
        )
        self._jobs[key] = task
        task.add_done_callback(_log_failure)
        return None

    async def close(self) -> None:
        """Stop the jobs still running (the simulator stops): their sessions stay Running
        and are started again by the next process."""
        jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)

    async def _write(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        try:
            await self._cluster.replace_status("restoresessions", namespace, name, status)
        except ClusterError:
            return

    async def _job(self, namespace: str, name: str, db: dict[str, Any], timeout: float) -> None:
        started = asyncio.get_running_loop().time()
        try:
            error = await self._outcome(namespace, name, db, timeout)
            await self._finish(namespace, name, error, asyncio.get_running_loop().time() - started)
        finally:  # only once the final status is written: a reconcile must not start it again
            self._jobs.pop((namespace, name), None)
            self._first_seen.pop((namespace, name), None)

    async def _outcome(self, namespace: str, name: str, db: dict[str, Any], timeout: float) -> str:
        try:
            return await asyncio.wait_for(self._restore(namespace, name, db), timeout)
        except TimeoutError:
            return f"restore did not finish within restoreTimeout {timeout:g}s"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a job that broke: the session says so, never hangs
            log.exception("restore_job_failed", session=f"{namespace}/{name}")
            return f"restore job failed: {exc}"

    async def _finish(self, namespace: str, name: str, error: str, seconds: float) -> None:
        rs = await self._cluster.peek("restoresessions", namespace, name)
        if rs is None:
            return
        now = self._clock.now()
        duration = f"{seconds:.3f}s"
        status = dict(rs.get("status") or {})
        component: dict[str, Any] = {
            "phase": "Failed" if error else "Succeeded",
            "duration": duration,
        }
        if error:
            component["error"] = error
            _failed(status, error, now)
        else:
            status["phase"] = "Succeeded"
        status.update(duration=duration, totalComponents=1, components={"dump": component})
        await self._write(namespace, name, status)
        log.info("restore_session_done", session=f"{namespace}/{name}", phase=status["phase"])

    async def _restore(self, namespace: str, name: str, db: dict[str, Any]) -> str:
        """Load the snapshot into the target; the error, or ""."""
        settings = self._settings()
        rs = await self._cluster.get("restoresessions", namespace, name)
        source = ((rs or {}).get("spec") or {}).get("dataSource") or {}
        source_ns = str(source.get("namespace") or namespace)
        if matches(settings.restore_fail, namespace, name):
            return "restore failed: injected by the restore_fail knob"
        if source.get("pitr"):
            return (
                "a RestoreSession's dataSource.pitr is not emulated: point-in-time recovery "
                "is a new database with spec.init.archiver"
            )
        repo_name = str(source.get("repository"))
        repo = await self._cluster.peek("repositories", source_ns, repo_name)
        if repo is None:
            return f'Repository "{repo_name}" not found in namespace {source_ns}'
        snapshot = await self._snapshot(
            source_ns, repo_name, str(source.get("snapshot") or "latest")
        )
        if snapshot is None:
            return f'Snapshot "{source.get("snapshot")}" of repository {repo_name} not found'
        ref = (repo.get("spec") or {}).get("storageRef") or {}
        store = await self._cluster.peek(
            "backupstorages", str(ref.get("namespace") or source_ns), str(ref.get("name"))
        )
        component = ((snapshot.get("status") or {}).get("components") or {}).get("dump") or {}
        target = await targets.resolve(self._cluster, db)
        try:
            async with backends.reading(
                self._cluster, store, str(component.get("path") or "")
            ) as folder:
                await movers.restore(target, folder, timeout=DEFAULT_TIMEOUT)
        except (movers.MoverError, backends.Unavailable) as exc:
            return exc.reason
        if target.url is None:
            await asyncio.sleep(settings.modelled_seconds)
        return ""

    async def _snapshot(
        self, namespace: str, repository: str, wanted: str
    ) -> dict[str, Any] | None:
        if wanted != "latest":
            found = await self._cluster.peek("snapshots", namespace, wanted)
            labels = ((found or {}).get("metadata") or {}).get("labels") or {}
            return found if labels.get(retention.REPO_LABEL) == repository else None
        for snap in await retention.snapshots_of(self._cluster, namespace, repository):
            if (snap.get("status") or {}).get("phase") == "Succeeded":
                return snap
        return None


def _cond(kind: str, ok: bool, reason: str, message: str, now: float) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": timing.stamp(now),
    }


def _failed(status: dict[str, Any], error: str, now: float) -> None:
    conds = [c for c in status.get("conditions") or () if c.get("type") != "RestoreIncomplete"]
    conds.append(_cond("RestoreIncomplete", True, "RestoreFailed", error, now))
    status.update(phase="Failed", error=error, conditions=conds)


def target_key(obj: dict[str, Any]) -> tuple[str, str, str] | None:
    """The database a RestoreSession targets, as the provisioner's work-queue key."""
    target = (obj.get("spec") or {}).get("target") or {}
    if not target.get("kind") or not target.get("name"):
        return None
    namespace = target.get("namespace") or (obj.get("metadata") or {}).get("namespace")
    return str(target["kind"]), str(namespace), str(target["name"])


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("restore_task_crashed", task=task.get_name(), error=str(task.exception()))
