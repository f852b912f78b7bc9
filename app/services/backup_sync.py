"""The backup sync: what KubeStash did on its own, written to the backup records.

Scheduled backups are taken by the BackupConfiguration's cron, not by an operation, and
retention removes Snapshots without asking: one pass per cluster reads both.

    1. LIST BackupConfigurations carrying our managed-by label (every namespace): which
       repository belongs to which database and session
    2. LIST Snapshots (every namespace)
    3. a Snapshot of a `scheduled` repository with no record: recorded (type scheduled);
       a recorded Snapshot not finished: its status, size and times brought up to date
       (a manual one is the backup operation's, the sync only completes what it missed)
    4. a record whose Snapshot is no longer listed, not written since the pass began (so
       a backup named after the LIST is not mistaken for a removed one): `removed_at`
    5. a scheduled backup of a deleted database past its retention days: its Snapshot
       deleted and `removed_at` (the database's BackupConfiguration, and so KubeStash's
       retention, went with the database)

Two LISTs per cluster and one store read per Snapshot that needs a write: the cost grows
with the Snapshots, never with a GET per database. The leader runs it (the
reconciliation worker), so two instances never record the same Snapshot twice (and the
store's unique Snapshot key refuses it anyway). It must not start or stop backups.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.cluster import errors as cluster_errors
from app.domain import clock
from app.domain.backups import Backup, BackupType
from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import backups as manifests
from app.domain.manifests import labels
from app.observability.log import get_logger
from app.services import backup_cluster
from app.services.clusters import ClusterFleet
from app.services.ports import ClusterGateway
from app.store import errors as store_errors
from app.store.protocols import Store

log = get_logger(__name__)
_REPO_LABEL = "kubestash.com/repo-name"


@dataclass(frozen=True, slots=True)
class _Repository:
    database_id: str
    session: str
    storage: str


@dataclass(frozen=True, slots=True)
class BackupSyncPass:
    snapshots: int = 0
    recorded: int = 0
    updated: int = 0
    removed: int = 0
    calls: int = 0
    duration: float = 0.0


class BackupSync:
    def __init__(self, store: Store, fleet: ClusterFleet) -> None:
        self._store = store
        self._fleet = fleet

    async def run_pass(self) -> BackupSyncPass:
        began, started = time.perf_counter(), clock.utcnow()
        totals = {"snapshots": 0, "recorded": 0, "updated": 0, "removed": 0, "calls": 0}
        clusters, _unreachable = await self._fleet.clusters()
        for providers, gateway in clusters:
            counts = await self._one_cluster(gateway, providers, started)
            for key, value in counts.items():
                totals[key] += value
        return BackupSyncPass(**totals, duration=time.perf_counter() - began)

    async def _one_cluster(
        self, gateway: ClusterGateway, providers: frozenset[str | None], started: datetime
    ) -> dict[str, int]:
        managed = {labels.MANAGED_BY_KEY: labels.MANAGED_BY}
        try:
            configurations = await gateway.list(
                backup_cluster.BACKUP_CONFIGURATION, labels=managed, all_namespaces=True
            )
            snapshots = await gateway.list(backup_cluster.SNAPSHOT, all_namespaces=True)
        except cluster_errors.NotFound:
            return {"calls": 1}  # KubeStash is not installed there: no backups to see
        repositories = _repositories(configurations)
        counts = {"snapshots": len(snapshots), "recorded": 0, "updated": 0, "removed": 0}
        counts["calls"] = 2
        listed: set[tuple[str, str]] = set()
        databases: dict[str, Database | None] = {}
        for snapshot in snapshots:
            metadata = snapshot.get("metadata") or {}
            namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
            listed.add((namespace, name))
            repository = repositories.get(
                (namespace, str((metadata.get("labels") or {}).get(_REPO_LABEL)))
            )
            if repository is None:
                continue
            if repository.database_id not in databases:
                databases[repository.database_id] = await self._store.databases.get(
                    repository.database_id
                )
            database = databases[repository.database_id]
            if database is None or database.provider_id not in providers:
                continue
            outcome = await self._sync_one(database, repository, snapshot)
            if outcome:
                counts[outcome] += 1
        for provider in providers:
            if provider is not None:
                counts["removed"] += await self._mark_removed(
                    provider, listed, started, gateway, databases
                )
        return counts

    async def _sync_one(
        self, database: Database, repository: _Repository, snapshot: dict[str, Any]
    ) -> str | None:
        metadata = snapshot["metadata"]
        namespace, name = str(metadata["namespace"]), str(metadata["name"])
        found = await self._store.backups.find_snapshot(database.provider_id or "", namespace, name)
        fields = backup_cluster.snapshot_fields(snapshot)
        if found is None:
            if repository.session != manifests.SCHEDULED:
                return None  # a manual backup: its operation records it
            backup = Backup(
                database_id=database.id,
                database_name=database.name,
                domain=database.domain,
                project=database.project,
                engine=database.engine,
                provider_id=database.provider_id or "",
                namespace=namespace,
                type=BackupType.SCHEDULED,
                storage=repository.storage,
                repository=str((metadata.get("labels") or {}).get(_REPO_LABEL)),
                snapshot_name=name,
                session_name=(snapshot.get("spec") or {}).get("backupSession"),
                **fields,
            )
            try:
                await self._store.backups.insert(backup)
            except store_errors.Conflict:
                return None  # recorded meanwhile
            return "recorded"
        if found.status.is_terminal:
            return None
        await self._store.backups.update_fields(found.id, fields)
        return "updated"

    async def _mark_removed(
        self,
        provider: str,
        listed: set[tuple[str, str]],
        started: datetime,
        gateway: ClusterGateway,
        databases: dict[str, Database | None],
    ) -> int:
        removed, after = 0, None
        while True:
            page = await self._store.backups.live(provider, after=after, limit=500)
            if not page:
                return removed
            for backup in page:
                gone = backup.snapshot_name is not None and (
                    (backup.namespace, backup.snapshot_name) not in listed
                )
                if gone and backup.updated_at < started:
                    removed += await self._removed(backup)
                elif await self._expired(backup, databases):
                    await self._delete_snapshot(gateway, backup)
                    removed += await self._removed(backup)
            after = page[-1].id

    async def _removed(self, backup: Backup) -> int:
        await self._store.backups.update_fields(backup.id, {"removed_at": clock.utcnow()})
        return 1

    async def _expired(self, backup: Backup, databases: dict[str, Database | None]) -> bool:
        """A scheduled backup of a deleted database past its retention: with the database
        went its BackupConfiguration and so KubeStash's retention, so the sync applies it
        (manual and final backups stay until a user deletes them)."""
        if backup.type is not BackupType.SCHEDULED or backup.snapshot_name is None:
            return False
        if backup.database_id not in databases:
            databases[backup.database_id] = await self._store.databases.get(backup.database_id)
        database = databases[backup.database_id]
        if database is None or database.status is not DatabaseStatus.DELETED:
            return False
        kept_until = backup.created_at + timedelta(days=database.backup_retention_days)
        return kept_until < clock.utcnow()

    async def _delete_snapshot(self, gateway: ClusterGateway, backup: Backup) -> None:
        assert backup.snapshot_name is not None
        await backup_cluster.delete_snapshot(gateway, backup.namespace, backup.snapshot_name)


def _repositories(configurations: list[dict[str, Any]]) -> dict[tuple[str, str], _Repository]:
    """(namespace, repository name) -> whose it is, from our BackupConfigurations."""
    found: dict[tuple[str, str], _Repository] = {}
    for configuration in configurations:
        metadata = configuration.get("metadata") or {}
        database_id = (metadata.get("labels") or {}).get(labels.DATABASE_ID_KEY)
        if not isinstance(database_id, str):
            continue
        spec = configuration.get("spec") or {}
        storages = {
            backend.get("name"): (backend.get("storageRef") or {}).get("name", "")
            for backend in spec.get("backends") or []
        }
        for session in spec.get("sessions") or []:
            for repository in session.get("repositories") or []:
                found[str(metadata.get("namespace")), str(repository.get("name"))] = _Repository(
                    database_id=database_id,
                    session=str(session.get("name")),
                    storage=str(storages.get(repository.get("backend"), "")),
                )
    return found
