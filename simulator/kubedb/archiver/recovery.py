"""Point-in-time recovery into a new database (`spec.init.archiver`, KubeDB's
ArchiverRecovery): the operator makes the RestoreSession `<db>-restoresession` (dataSource
`pitr.targetTime`; the KubeStash restore controller leaves it alone) and decides it:
- `recoveryTimestamp` outside the source's window (its incremental Snapshot's logStats), or
  no archive: Failed, naming the time and the window;
- a real source and a real new PostgreSQL: this module is the data plane's `Seeder`: before
  the new server's first start, its folder is recovered from the newest base backup taken
  before the time, replaying the shipped WAL to it (`pgrecover`); Succeeded or Failed;
- otherwise modelled: Succeeded once the new database's pod runs.
The provisioner turns the RestoreSession's outcome into `DataRestoreStarted`/`DataRestored`
(`restore_gate`): a failed recovery leaves the database not Ready, and its server unstarted.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import structlog

from simulator.kubedb.archiver import pgrecover, window
from simulator.kubedb.backup import restore, retention, storage, timing
from simulator.kubedb.cluster import Cluster, ClusterError
from simulator.kubedb.dataplane.plane import DataPlane
from simulator.kubedb.dataplane.port import Account, Mode
from simulator.kubedb.dataplane.seeding import Seed
from simulator.kubedb.engines import BY_KIND

log = structlog.get_logger(__name__)

Key = tuple[str, str, str]
RECOVERY_LABEL = restore.ARCHIVER_RECOVERY
DEADLINE = 300.0
TERMINAL = ("Succeeded", "Failed")
ADDONS = {"Postgres": "postgres", "MySQL": "mysql", "MariaDB": "mariadb", "MongoDB": "mongodb"}


def session_name(db: str) -> str:
    return f"{db}-restoresession"


def recovery_of(db: dict[str, Any] | None) -> dict[str, Any] | None:
    init = ((db or {}).get("spec") or {}).get("init") or {}
    archiver = init.get("archiver")
    return archiver if isinstance(archiver, dict) and archiver.get("recoveryTimestamp") else None


class Source:
    """What a recovery reads: the repository, its storage's root, the window, realness."""

    def __init__(self, repo: dict[str, Any], root: Path | None, snap: dict[str, Any] | None):
        self.repo, self.root, self.snapshot = repo, root, snap
        self.window = window.bounds(snap)
        annotations = ((snap or {}).get("metadata") or {}).get("annotations") or {}
        self.real = annotations.get(window.REAL_ANNOTATION) == "real"


class Recoveries:
    def __init__(self, cluster: Cluster, plane: DataPlane) -> None:
        self._cluster = cluster
        self._plane = plane
        self._jobs: dict[Key, asyncio.Task[None]] = {}

    # --- the controller -----------------------------------------------------------------

    async def reconcile(self, kind: str, namespace: str, name: str) -> float | None:
        db = await self._cluster.peek(BY_KIND[kind].plural, namespace, name)
        wanted = recovery_of(db)
        if db is None or wanted is None or db["metadata"].get("deletionTimestamp"):
            return None
        rs_name = session_name(name)
        rs = await self._cluster.peek("restoresessions", namespace, rs_name)
        if rs is None:
            await self._cluster.create("restoresessions", namespace, _session(db, wanted))
            return 0.1
        status = rs.get("status") or {}
        if status.get("phase") in TERMINAL:
            return None
        source, problem = await self._source(db, wanted)
        if problem:
            await self._finish(namespace, rs_name, problem)
            return None
        assert source is not None
        if status.get("phase") != "Running":
            await self._write(namespace, rs_name, {"phase": "Running", "conditions": []})
        key = (kind, namespace, name)
        if source.real and kind == "Postgres" and self._plane.mode(key) == Mode.REAL:
            return None  # the data plane asks `prepare` before the server's first start
        pod = await self._cluster.peek("pods", namespace, f"{name}-0")
        if ((pod or {}).get("status") or {}).get("phase") != "Running":
            return 0.5
        await self._finish(namespace, rs_name, "")
        return None

    async def _source(
        self, db: dict[str, Any], wanted: dict[str, Any]
    ) -> tuple[Source | None, str]:
        """The recovery's source, or why there is none to recover from."""
        text = str(wanted.get("recoveryTimestamp"))
        try:
            at = window.parse(text)
        except ValueError:
            return None, f"recoveryTimestamp {text} is not an RFC3339 time"
        ref = wanted.get("fullDBRepository") or {}
        namespace = str(ref.get("namespace") or db["metadata"]["namespace"])
        repo = await self._cluster.peek("repositories", namespace, str(ref.get("name")))
        if repo is None:
            return None, (
                f"cannot recover to {text}: repository {namespace}/{ref.get('name')} not found"
            )
        source_name = str(((repo.get("spec") or {}).get("appRef") or {}).get("name", ""))
        snap = await self._cluster.peek("snapshots", namespace, window.snapshot(source_name))
        store_ref = (repo.get("spec") or {}).get("storageRef") or {}
        store = await self._cluster.peek(
            "backupstorages", str(store_ref.get("namespace")), str(store_ref.get("name"))
        )
        source = Source(repo, storage.root(store) if store else None, snap)
        if source.window is None:
            return None, f"cannot recover to {text}: {source_name} has no archived WAL window"
        start, end = source.window
        if not start <= at <= end:
            return None, (
                f"recoveryTimestamp {text} is outside the restorable window "
                f"[{window.stamp_up(start)}, {window.stamp_down(end)}] of "
                f"{namespace}/{source_name}"
            )
        return source, ""

    async def _write(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        try:
            await self._cluster.replace_status("restoresessions", namespace, name, status)
        except ClusterError:
            return

    async def _finish(self, namespace: str, name: str, error: str) -> None:
        stamp = timing.stamp(time.time())
        status: dict[str, Any] = {
            "phase": "Failed" if error else "Succeeded",
            "conditions": [
                {
                    "type": "RestoreCompleted",
                    "status": "True",
                    "reason": "FailedToCompleteRestore" if error else "RestoreCompleted",
                    "message": error or "point-in-time recovery completed",
                    "lastTransitionTime": stamp,
                }
            ],
        }
        if error:
            status["error"] = error
        await self._write(namespace, name, status)
        log.info("archiver_recovery_done", rs=f"{namespace}/{name}", error=error or None)

    async def close(self) -> None:
        jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)

    # --- the data plane's seeder ----------------------------------------------------------

    async def prepare(
        self, cluster: Cluster, key: Key, db: dict[str, Any], folder: Path, account: Account
    ) -> Seed:
        wanted = recovery_of(db)
        if wanted is None or key[0] != "Postgres":
            return Seed.NONE
        if key in self._jobs:
            return Seed.WAIT
        rs = await cluster.peek("restoresessions", key[1], session_name(key[2]))
        phase = ((rs or {}).get("status") or {}).get("phase")
        if phase == "Succeeded":
            return Seed.SEEDED if await asyncio.to_thread(_recovered, folder) else Seed.NONE
        if phase != "Running":
            return Seed.WAIT  # not decided yet, or failed: the server never starts
        source, problem = await self._source(db, wanted)
        if problem or source is None or not source.real:
            return Seed.WAIT if problem else Seed.NONE
        task = asyncio.get_running_loop().create_task(
            self._recover(key, source, str(wanted["recoveryTimestamp"]), folder, account),
            name=f"archiver-recovery:{'/'.join(key)}",
        )
        self._jobs[key] = task
        task.add_done_callback(lambda _t: self._jobs.pop(key, None))
        return Seed.WAIT

    async def _recover(
        self, key: Key, source: Source, text: str, folder: Path, account: Account
    ) -> None:
        rs_name = session_name(key[2])
        error = ""
        try:
            at = window.parse(text)
            base = await self._base(source, at)
            deadline = asyncio.get_running_loop().time() + DEADLINE
            wal = _wal_folder(source)
            superuser = await asyncio.to_thread(pgrecover.prepare, base, wal, folder, account, at)
            await pgrecover.replay(folder, account, superuser, deadline=deadline)
            await asyncio.to_thread(pgrecover.finish, folder)
        except pgrecover.RecoveryError as exc:
            error = f"cannot recover to {text}: {exc.reason}"
        except (OSError, ValueError, KeyError) as exc:
            error = f"cannot recover to {text}: {exc}"
        except Exception as exc:  # a job that broke: the recovery fails, never hangs
            log.exception("archiver_recovery_crashed", db="/".join(key))
            error = f"cannot recover to {text}: the recovery job failed: {exc}"
        await self._finish(key[1], rs_name, error)

    async def _base(self, source: Source, at: float) -> Path:
        """The folder of the newest base backup that ended before `at`."""
        meta = source.repo["metadata"]
        best: tuple[float, Path] | None = None
        for snap in await retention.snapshots_of(self._cluster, meta["namespace"], meta["name"]):
            status = snap.get("status") or {}
            dump = (status.get("components") or {}).get("dump") or {}
            if status.get("phase") != "Succeeded" or not dump.get("path") or source.root is None:
                continue
            folder = source.root / str(dump["path"])
            try:
                details = await asyncio.to_thread(pgrecover.info, folder)
            except (OSError, ValueError):
                continue
            ended = float(str(details.get("end")))
            if ended <= at and (best is None or ended > best[0]):
                best = (ended, folder)
        if best is None:
            raise pgrecover.RecoveryError("no base backup was taken before that time")
        return best[1]


def _wal_folder(source: Source) -> Path:
    components = ((source.snapshot or {}).get("status") or {}).get("components") or {}
    path = (components.get("wal") or {}).get("path")
    if source.root is None or not path:
        raise pgrecover.RecoveryError("the archive's storage is not readable here")
    return source.root / str(path)


def _recovered(folder: Path) -> bool:
    return (folder / "data" / "PG_VERSION").exists() and not (
        folder / "data" / "recovery.signal"
    ).exists()


def _session(db: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    meta = db["metadata"]
    repo = wanted.get("fullDBRepository") or {}
    kind = str(db["kind"])
    return {
        "apiVersion": "core.kubestash.com/v1alpha1",
        "kind": "RestoreSession",
        "metadata": {
            "name": session_name(str(meta["name"])),
            "namespace": meta["namespace"],
            "labels": {RECOVERY_LABEL: "true", "app.kubernetes.io/managed-by": "kubedb.com"},
            "ownerReferences": [
                {
                    "apiVersion": str(db["apiVersion"]),
                    "kind": kind,
                    "name": str(meta["name"]),
                    "uid": str(meta["uid"]),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "target": {
                "apiGroup": "kubedb.com",
                "kind": kind,
                "namespace": meta["namespace"],
                "name": meta["name"],
            },
            "dataSource": {
                "repository": repo.get("name"),
                "namespace": repo.get("namespace") or meta["namespace"],
                "pitr": {"targetTime": wanted["recoveryTimestamp"]},
                **(
                    {"encryptionSecret": wanted["encryptionSecret"]}
                    if wanted.get("encryptionSecret")
                    else {}
                ),
            },
            "addon": {
                "name": f"{ADDONS.get(kind, kind.lower())}-addon",
                "tasks": [{"name": "physical-backup-restore"}],
            },
        },
    }
