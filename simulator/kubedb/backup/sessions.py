"""The BackupSession controller: Pending -> Running -> Succeeded | Failed.

A session backs its target up into every repository of its BackupConfiguration session:
one Snapshot `<repo>-<bc>-<session>-<unixts>` each (labels, db-version annotation,
`status.size`, `components.dump`), then the repository's retention policy is applied and
the Repository's status refreshed. The job runs as a task of its own, bounded by the
session's `backupTimeout` (real seconds; default 10 minutes); a reconcile that finds a
Running session with no job (the simulator restarted, or the `backup_session_stuck` knob
was lifted) starts it again. Fault knobs: `backup_session_stuck`, `backup_session_fail`,
`repository_locked`, `retention_fail`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from simulator.kubedb.backup import (
    backends,
    movers,
    retention,
    snapshots,
    storage,
    targets,
    timing,
)
from simulator.kubedb.backup.settings import BackupSettings, matches
from simulator.kubedb.cluster import Cluster, ClusterError

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = 600.0
PENDING_GRACE = 60.0
"""Simulated seconds a session waits Pending for its BackupConfiguration to be Ready (5
real seconds at least: the configuration's controller looks again every 0.5 s)."""
TERMINAL = ("Succeeded", "Failed", "Skipped")
LOCKED = (
    "unable to create lock in backend: repository is already locked exclusively by PID 1 on "
    "kubestash-backup by root (UID 0, GID 0)"
)


def session_spec(bc: dict[str, Any], session: str) -> dict[str, Any] | None:
    for item in (bc.get("spec") or {}).get("sessions") or ():
        if item.get("name") == session:
            return dict(item)
    return None


def snapshot_name(repository: str, bc: str, session: str, unix: int) -> str:
    return f"{repository}-{bc}-{session}-{unix}"


def _condition(kind: str, ok: bool, reason: str, message: str, now: float) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": timing.stamp(now),
    }


class Sessions:
    def __init__(
        self, cluster: Cluster, clock: timing.SimClock, settings: Callable[[], BackupSettings]
    ) -> None:
        self._cluster = cluster
        self._clock = clock
        self._settings = settings
        self._jobs: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._pending: dict[tuple[str, str], float] = {}

    async def reconcile(self, namespace: str, name: str) -> float | None:
        bs = await self._cluster.peek("backupsessions", namespace, name)
        if bs is None:
            return None
        status = dict(bs.get("status") or {})
        if status.get("phase") in TERMINAL or (namespace, name) in self._jobs:
            return None
        now = self._clock.now()
        if not status.get("phase"):
            status = {"phase": "Pending", "conditions": []}
            await self._write(namespace, name, status)
            return 0.0
        if status.get("phase") == "Pending":
            waiting = await self._unready(bs)
            if waiting:
                loop = asyncio.get_running_loop()
                since = self._pending.setdefault((namespace, name), loop.time())
                if loop.time() - since < max(5.0, self._clock.real_seconds(PENDING_GRACE)):
                    return 0.25
                status.update(_failed(waiting, now))
                await self._write(namespace, name, status)
                self._pending.pop((namespace, name), None)
                return None
            self._pending.pop((namespace, name), None)
        if matches(self._settings().stuck, namespace, name):
            if status.get("phase") != "Running":
                status.update(phase="Running", startedAt=timing.stamp(now))
                await self._write(namespace, name, status)
            return None  # stays Running: the knob's change wakes it
        status.setdefault("startedAt", timing.stamp(now))
        status["phase"] = "Running"
        await self._write(namespace, name, status)
        task = asyncio.get_running_loop().create_task(
            self._job(namespace, name), name=f"kubestash-backup:{namespace}/{name}"
        )
        self._jobs[(namespace, name)] = task
        task.add_done_callback(_log_failure)
        return None

    async def _unready(self, bs: dict[str, Any]) -> str:
        """Why the session's BackupConfiguration cannot back up yet ("" when it can; a
        missing one is the job's to report)."""
        invoker = str(((bs.get("spec") or {}).get("invoker") or {}).get("name", ""))
        bc = await self._cluster.peek("backupconfigurations", bs["metadata"]["namespace"], invoker)
        status = (bc or {}).get("status") or {}
        if bc is None or status.get("phase") == "Ready":
            return ""
        reasons = []
        for b in status.get("backends") or ():
            if b.get("ready") or b.get("storage", {}).get("phase") == "Ready":
                continue
            ref = b["storage"].get("ref") or {}
            store = await self._cluster.peek(
                "backupstorages", str(ref.get("namespace")), str(ref.get("name"))
            )
            why = storage.explain(store) if store else b["storage"].get("reason", "")
            reasons.append(f"backend {b.get('name')}: storage {b['storage'].get('phase')} ({why})")
        reasons += [
            f"backend {b.get('name')}: {b['retentionPolicy'].get('reason')}"
            for b in status.get("backends") or ()
            if not (b.get("retentionPolicy") or {}).get("found", True)
        ]
        if status.get("targetFound") is False:
            reasons.append("the target database was not found")
        detail = "; ".join(reasons) or f"phase {status.get('phase') or 'unknown'}"
        return f"BackupConfiguration {invoker} is not Ready: {detail}"

    async def close(self) -> None:
        """Stop the jobs still running (the simulator stops): their sessions stay Running
        and are started again by the next process."""
        jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)

    async def _write(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        try:
            await self._cluster.replace_status("backupsessions", namespace, name, status)
        except ClusterError:
            return

    async def _job(self, namespace: str, name: str) -> None:
        try:
            await self._finish(namespace, name, await self._outcome(namespace, name))
        finally:  # only once the final status is written: a reconcile must not start it again
            self._jobs.pop((namespace, name), None)

    async def _outcome(self, namespace: str, name: str) -> dict[str, Any]:
        started = asyncio.get_running_loop().time()
        try:
            status = await self._run(namespace, name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a job that broke: the session says so, never hangs
            log.exception("backup_job_failed", session=f"{namespace}/{name}")
            status = {"phase": "Failed", "error": f"backup job failed: {exc}"}
        status["duration"] = f"{asyncio.get_running_loop().time() - started:.3f}s"
        return status

    async def _finish(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        bs = await self._cluster.peek("backupsessions", namespace, name)
        if bs is None:
            return
        final = {**(bs.get("status") or {}), **status}
        await self._write(namespace, name, final)
        log.info("backup_session_done", session=f"{namespace}/{name}", phase=final.get("phase"))

    async def _run(self, namespace: str, name: str) -> dict[str, Any]:
        bs = await self._cluster.get("backupsessions", namespace, name)
        if bs is None:
            return {}
        spec = bs.get("spec") or {}
        invoker = str((spec.get("invoker") or {}).get("name", ""))
        bc = await self._cluster.get("backupconfigurations", namespace, invoker)
        if bc is None:
            return _failed(f'BackupConfiguration "{invoker}" not found', self._clock.now())
        session = session_spec(bc, str(spec.get("session", "")))
        if session is None:
            return _failed(
                f'session "{spec.get("session")}" not found in {invoker}', self._clock.now()
            )
        timeout = timing.parse_duration(
            spec.get("backupTimeout") or session.get("backupTimeout"), DEFAULT_TIMEOUT
        )
        try:
            return await asyncio.wait_for(self._backup(bs, bc, session), timeout)
        except TimeoutError:
            return _failed(
                f"backup did not finish within backupTimeout {timeout:g}s", self._clock.now()
            )

    async def _backup(
        self, bs: dict[str, Any], bc: dict[str, Any], session: dict[str, Any]
    ) -> dict[str, Any]:
        settings = self._settings()
        meta = bs["metadata"]
        namespace, name = str(meta["namespace"]), str(meta["name"])
        target_ref = (bc.get("spec") or {}).get("target") or {}
        db = await targets.database(self._cluster, target_ref, namespace)
        now = self._clock.now()
        if db is None:
            return _failed(
                f"target {target_ref.get('kind')} {target_ref.get('name')} not found", now
            )
        if matches(settings.fail, namespace, name):
            return _failed("backup failed: injected by the backup_session_fail knob", now)
        target = await targets.resolve(self._cluster, db)
        unix = _unix_of(name, now)
        snapshots: list[dict[str, Any]] = []
        policies: list[dict[str, Any]] = []
        errors: list[str] = []
        backends = {b.get("name"): b for b in (bc.get("spec") or {}).get("backends") or ()}
        for repo_spec in session.get("repositories") or ():
            backend = backends.get(repo_spec.get("backend")) or {}
            repo_name = str(repo_spec.get("name"))
            snap = snapshot_name(repo_name, bc["metadata"]["name"], str(session["name"]), unix)
            tasks = (session.get("addon") or {}).get("tasks") or [{}]
            error = await self._snapshot(
                bs,
                bc,
                db,
                target,
                repo_spec,
                backend,
                snap,
                settings,
                task=str(tasks[0].get("name")),
            )
            snapshots.append(
                {
                    "name": snap,
                    "phase": "Failed" if error else "Succeeded",
                    "appRef": target_ref,
                    "repository": repo_name,
                }
            )
            if error:
                errors.append(f"{repo_name}: {error}")
            policies.append(await self._retention(namespace, repo_name, backend, settings))
        now = self._clock.now()
        failed_policies = [p for p in policies if p["phase"] == "FailedToApply"]
        conds = [
            _condition(
                "SnapshotsEnsured", True, "SuccessfullyEnsuredSnapshots", "Snapshots ensured", now
            ),
            _condition(
                "RetentionPolicyExecutorEnsured",
                not failed_policies,
                "SuccessfullyEnsuredRetentionPolicyExecutor"
                if not failed_policies
                else "FailedToApplyRetentionPolicy",
                "; ".join(str(p.get("error")) for p in failed_policies)
                or "retention policies applied",
                now,
            ),
        ]
        result: dict[str, Any] = {
            "phase": "Failed" if errors or failed_policies else "Succeeded",
            "totalSnapshots": len(snapshots),
            "snapshots": snapshots,
            "retentionPolicy": policies,
            "conditions": conds,
        }
        errors += [f"retention: {p.get('error')}" for p in failed_policies]
        if errors:
            result["error"] = "; ".join(errors)
        return result

    async def _snapshot(
        self,
        bs: dict[str, Any],
        bc: dict[str, Any],
        db: dict[str, Any],
        target: movers.Target,
        repo_spec: dict[str, Any],
        backend: dict[str, Any],
        name: str,
        settings: BackupSettings,
        *,
        task: str = "logical-backup",
    ) -> str:
        """Take one snapshot into one repository; the error, or ""."""
        namespace = str(bs["metadata"]["namespace"])
        repo_name = str(repo_spec.get("name"))
        ref = backend.get("storageRef") or {}
        store = await self._cluster.peek(
            "backupstorages", str(ref.get("namespace") or namespace), str(ref.get("name"))
        )
        started = self._clock.now()
        snapshot = _snapshot_object(bs, bc, db, repo_name, name, started)
        repo = await self._cluster.peek("repositories", namespace, repo_name)
        if repo is not None:
            snapshot["metadata"]["ownerReferences"] = [
                {
                    "apiVersion": repo["apiVersion"],
                    "kind": "Repository",
                    "name": repo_name,
                    "uid": repo["metadata"]["uid"],
                    "blockOwnerDeletion": True,
                }
            ]
        await self._cluster.create("snapshots", namespace, snapshot)
        ok = storage.ready(store)[0]
        error = ""
        size = 0
        path = f"{str(repo_spec.get('directory', '')).strip('/')}/{name}/dump"
        wall = asyncio.get_running_loop().time()
        if matches(settings.locked, namespace, repo_name):
            error = LOCKED
        elif not ok:
            error = f"backup storage {ref.get('name')} is not ready: {storage.explain(store)}"
        else:
            try:
                async with backends.writing(self._cluster, store, path) as folder:
                    size = await movers.backup(target, folder, timeout=DEFAULT_TIMEOUT, task=task)
                if target.url is None:
                    await asyncio.sleep(settings.modelled_seconds)
            except (movers.MoverError, backends.Unavailable) as exc:
                error = exc.reason
        now = self._clock.now()
        component = {
            "path": path,
            "phase": "Failed" if error else "Succeeded",
            "size": timing.human_size(size),
            "duration": f"{asyncio.get_running_loop().time() - wall:.3f}s",
            "driver": "Restic",
        }
        if error:
            component["error"] = error
        status = {
            "phase": "Failed" if error else "Succeeded",
            "snapshotTime": timing.stamp(started),
            "lastUpdateTime": timing.stamp(now),
            "size": timing.human_size(size),
            "integrity": not error,
            "totalComponents": 1,
            "components": {"dump": component},
        }
        annotations = {storage.SIZE_ANNOTATION: str(size)}
        try:
            await self._cluster.merge_patch(
                "snapshots", namespace, name, {"metadata": {"annotations": annotations}}
            )
            await self._cluster.replace_status("snapshots", namespace, name, status)
        except ClusterError:
            pass  # deleted meanwhile: the session still reports it
        return error

    async def _retention(
        self, namespace: str, repo_name: str, backend: dict[str, Any], settings: BackupSettings
    ) -> dict[str, Any]:
        ref = backend.get("retentionPolicy") or {}
        entry: dict[str, Any] = {
            "ref": {"name": ref.get("name"), "namespace": ref.get("namespace") or namespace},
            "repository": repo_name,
            "phase": "Applied",
        }
        now = self._clock.now()
        repo = await self._cluster.peek("repositories", namespace, repo_name)
        policy = await self._cluster.peek(
            "retentionpolicies", str(ref.get("namespace") or namespace), str(ref.get("name"))
        )
        if matches(settings.retention_fail, namespace, repo_name):
            entry.update(
                phase="FailedToApply", error="retention failed: injected by the retention_fail knob"
            )
        elif policy is None:
            entry.update(
                phase="FailedToApply", error=f'RetentionPolicy "{ref.get("name")}" not found'
            )
        elif repo is not None:
            store_ref = (repo.get("spec") or {}).get("storageRef") or {}
            store = await self._cluster.peek(
                "backupstorages",
                str(store_ref.get("namespace") or namespace),
                str(store_ref.get("name")),
            )
            try:
                await retention.apply(self._cluster, repo, policy, store=store, now=now)
            except ValueError as exc:
                entry.update(phase="FailedToApply", error=str(exc))
        await retention.refresh(self._cluster, namespace, repo_name, now)
        return entry


def _snapshot_object(
    bs: dict[str, Any], bc: dict[str, Any], db: dict[str, Any], repo: str, name: str, now: float
) -> dict[str, Any]:
    namespace = bs["metadata"]["namespace"]
    target = (bc.get("spec") or {}).get("target") or {}
    return {
        "apiVersion": "storage.kubestash.com/v1alpha1",
        "kind": "Snapshot",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                retention.REPO_LABEL: repo,
                "kubestash.com/app-ref-kind": str(db["kind"]),
                "kubestash.com/app-ref-name": str(db["metadata"]["name"]),
                "kubestash.com/app-ref-namespace": str(db["metadata"]["namespace"]),
                **{
                    k: v
                    for k, v in (bs["metadata"].get("labels") or {}).items()
                    if not k.startswith("kubestash.com/")
                },
            },
            "annotations": {"kubedb.com/db-version": targets.version(db)},
            "finalizers": [snapshots.FINALIZER],
        },
        "spec": {
            "type": "FullBackup",
            "repository": repo,
            "session": (bs.get("spec") or {}).get("session"),
            "backupSession": bs["metadata"]["name"],
            "version": "v1",
            "appRef": target,
            "deletionPolicy": "Delete",
        },
        "status": {"phase": "Running", "snapshotTime": timing.stamp(now)},
    }


def _failed(error: str, now: float) -> dict[str, Any]:
    return {
        "phase": "Failed",
        "error": error,
        "conditions": [
            _condition("BackupExecutorEnsured", False, "FailedToEnsureBackupExecutor", error, now)
        ],
    }


def _unix_of(name: str, now: float) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else int(now)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("backup_task_crashed", task=task.get_name(), error=str(task.exception()))
