"""Backups as users ask for them: list and read a database's backups, take one now, remove
a manual one, restore one in place, and resolve a `restore_from` for a new database.

The API authorizes first (the database is the caller's to read or write) and hands the
database here. A backup on demand is a record (status pending) and a `backup` operation
that fills it; a restore in place is a `restore` operation; a restore into a new database
is a create whose input names the source Snapshot (`CreateInput.restore`). What a request
gets wrong is a 4xx naming it: a backup of another database, not finished, of another
engine, removed by retention; a point in time while point-in-time recovery is off or
outside the source's restore window.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from app.cluster import errors as cluster_errors
from app.domain import operation_kinds as kinds
from app.domain import pitr
from app.domain.backups import Backup, BackupStatus, BackupType
from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import backups as manifests
from app.domain.manifests import pitr as pitr_manifests
from app.domain.operation_kinds import RestoreSource
from app.domain.operations import Operation
from app.services import backup_cluster, pitr_cluster
from app.services.backup_cluster import StorageResolver
from app.services.database_creation import GatewayFor
from app.services.database_errors import Conflict, NotFound, RuleViolated, Unavailable
from app.services.databases import DatabaseService
from app.store import errors as store_errors
from app.store.protocols import BackupFilter, Page, Store

# The statuses a backup (on demand or final, before a delete) is taken from, and a
# restore in place started from.
BACKUP_FROM = frozenset({DatabaseStatus.RUNNING})
RESTORE_FROM = frozenset({DatabaseStatus.RUNNING})


@dataclass(frozen=True, slots=True)
class RestoreRequest:
    """A user's `restore_from`: exactly one of `backup_id`, `point_in_time`, `latest`."""

    database_id: str
    backup_id: str | None = None
    point_in_time: datetime | None = None
    latest: bool = False


class BackupService:
    def __init__(
        self,
        store: Store,
        databases: DatabaseService,
        storages: StorageResolver | None,
        gateway_for: GatewayFor,
    ) -> None:
        self._store = store
        self._databases = databases
        self._storages = storages
        self._gateway_for = gateway_for

    async def list(self, database: Database, *, offset: int, limit: int) -> Page[Backup]:
        return await self._store.backups.list(
            BackupFilter(database_id=database.id), offset=offset, limit=limit
        )

    async def list_for_project(
        self, domain: str, project: str, *, database_id: str | None, offset: int, limit: int
    ) -> Page[Backup]:
        """A project's backups, those of deleted databases included."""
        where = BackupFilter(domain=domain, project=project, database_id=database_id)
        return await self._store.backups.list(where, offset=offset, limit=limit)

    async def get(self, database: Database, backup_id: str) -> Backup:
        backup = await self._store.backups.get(backup_id)
        if backup is None or backup.database_id != database.id or backup.removed_at is not None:
            raise NotFound(
                f"backup {backup_id} of database {database.id} not found", code="not_found"
            )
        return backup

    async def take(self, database: Database, *, actor: str) -> tuple[Database, Operation, Backup]:
        """A backup now: its record (pending) and the operation that takes it."""
        backup = await self._new_record(database, BackupType.MANUAL)

        async def submit() -> tuple[Database, Operation]:
            return await self._databases.mutate(
                database,
                kinds.BACKUP,
                kinds.BackupInput(backup_id=backup.id),
                actor=actor,
                allowed_from=BACKUP_FROM,
            )

        database, operation = await self._submitted(backup, submit)
        return database, operation, backup

    async def delete_after_final_backup(
        self, database: Database, *, actor: str
    ) -> tuple[Database, Operation, Backup]:
        """A delete that first takes a `final` backup (exempt from retention, kept after
        the database); a failed final backup leaves the database as it was."""
        if database.status not in BACKUP_FROM:
            raise Conflict(
                f"a final backup needs a running database; this one is {database.status.value} "
                "(delete without final_backup)",
                code="invalid_state",
            )
        backup = await self._new_record(database, BackupType.FINAL)

        async def submit() -> tuple[Database, Operation]:
            return await self._databases.delete(database, actor=actor, final_backup_id=backup.id)

        database, operation = await self._submitted(backup, submit)
        return database, operation, backup

    async def _new_record(self, database: Database, backup_type: BackupType) -> Backup:
        await self._databases.check_idle(database)
        storage = await self._storage_name(database)
        backup = Backup(
            database_id=database.id,
            database_name=database.name,
            domain=database.domain,
            project=database.project,
            engine=database.engine,
            provider_id=database.provider_id or "",
            namespace=database.namespace or "",
            type=backup_type,
            storage=storage,
            repository=manifests.repository_name(
                backup_cluster.target_of(database), manifests.MANUAL, storage=storage
            ),
        )
        return await self._store.backups.insert(backup)

    async def _submitted(
        self, backup: Backup, submit: Callable[[], Awaitable[tuple[Database, Operation]]]
    ) -> tuple[Database, Operation]:
        try:
            return await submit()
        except BaseException as exc:
            # Nothing half-written: a backup that was never submitted is not listed.
            await self._store.backups.update_fields(
                backup.id,
                {
                    "status": BackupStatus.FAILED,
                    "error": f"not started: {exc}",
                    "removed_at": backup.created_at,
                },
            )
            raise

    async def remove(self, database: Database, backup_id: str) -> Backup:
        """Delete a manual or final backup: its Snapshot (KubeStash's cleanup finalizer
        removes the data), then the record is marked removed. Scheduled ones belong to
        retention."""
        backup = await self.get(database, backup_id)
        if backup.type is BackupType.SCHEDULED:
            raise Conflict(
                f"backup {backup_id} is scheduled; retention removes scheduled backups "
                f"({database.backup_retention_days} days)",
                code="backup_scheduled",
            )
        if not backup.status.is_terminal:
            raise Conflict(f"backup {backup_id} is still {backup.status}", code="backup_running")
        if backup.snapshot_name is not None:
            gateway = await self._gateway_for(database)
            try:
                await backup_cluster.delete_snapshot(
                    gateway, backup.namespace, backup.snapshot_name
                )
            except cluster_errors.ClusterError as exc:
                raise Unavailable(
                    f"the cluster refused to delete snapshot {backup.snapshot_name}: {exc}",
                    code="cluster_unavailable",
                ) from exc
        try:
            return await self._store.backups.update_fields(
                backup.id,
                {"removed_at": datetime.now(tz=backup.created_at.tzinfo)},
                expected_revision=backup.revision,
            )
        except store_errors.RevisionConflict as exc:
            raise Conflict(f"backup {backup_id} changed; try again", code="conflict") from exc

    async def restore_in_place(
        self, database: Database, backup_id: str, *, actor: str
    ) -> tuple[Database, Operation]:
        source = await self._source_of(database, backup_id, engine=database.engine)
        return await self._databases.mutate(
            database,
            kinds.RESTORE,
            kinds.RestoreInput(source=source),
            actor=actor,
            allowed_from=RESTORE_FROM,
        )

    async def resolve(
        self, domain: str, project: str, request: RestoreRequest, *, engine: str
    ) -> RestoreSource:
        """The Snapshot a new database starts from. The source database is one of the
        same project (deleted ones too: their backups outlive them)."""
        source = await self._store.databases.get(request.database_id)
        if source is None or (source.domain, source.project) != (domain, project):
            raise RuleViolated(
                "restore_from.database_id",
                f"database {request.database_id} not found in project {domain}/{project}",
                code="restore_source_not_found",
            )
        if source.engine != engine:
            raise RuleViolated(
                "restore_from.database_id",
                f"database {source.id} is {source.engine}; a {engine} database cannot be "
                "restored from it",
                code="restore_engine_mismatch",
            )
        if request.point_in_time is not None:
            return await self._point_in_time(source, request.point_in_time)
        if request.backup_id is not None:
            return await self._source_of(source, request.backup_id, engine=engine)
        newest = await self._store.backups.list(
            BackupFilter(database_id=source.id, status=BackupStatus.SUCCEEDED.value), limit=1
        )
        if not newest.items:
            raise Conflict(
                f"database {source.id} has no successful backup to restore yet",
                code="no_backup",
            )
        return _source(newest.items[0])

    async def restore_window(self, database: Database) -> pitr.RestoreWindow:
        """The span a point-in-time restore of `database` may target: 409 naming why when
        it has none (PITR off, or nothing archived yet)."""
        if not database.pitr_enabled:
            raise Conflict(
                f"database {database.id} has no point-in-time recovery (pitr_enabled is off); "
                "turn it on with PATCH pitr_enabled=true",
                code="pitr_not_enabled",
            )
        window = await self._window_of(database)
        if window is None:
            raise Conflict(
                f"database {database.id} has no restore window yet: its first full backup "
                "and archived log are not in the storage yet; try again shortly",
                code="no_restore_window",
            )
        return window

    async def _window_of(self, database: Database) -> pitr.RestoreWindow | None:
        if database.namespace is None:
            return None
        gateway = await self._gateway_for(database)
        try:
            return await pitr_cluster.read_window(gateway, database)
        except cluster_errors.ClusterError as exc:
            raise Unavailable(
                f"the cluster did not answer for the restore window: {exc}",
                code="cluster_unavailable",
            ) from exc

    async def _point_in_time(self, source: Database, moment: datetime) -> RestoreSource:
        """A new database recovered from `source`'s archive to `moment`: the source must
        have (had) PITR on and `moment` must lie in its window."""
        field = "restore_from.point_in_time"
        if not source.pitr_enabled:
            raise RuleViolated(
                field,
                f"database {source.id} has no point-in-time recovery (pitr_enabled is off); "
                "restore a backup_id or latest instead",
                code="pitr_not_enabled",
            )
        window = await self._window_of(source)
        if window is None:
            raise Conflict(
                f"database {source.id} has no restore window yet (nothing archived)",
                code="no_restore_window",
            )
        if not window.covers(moment):
            raise RuleViolated(
                field,
                f"{pitr_manifests.rfc3339(moment)} is outside the restore window of database "
                f"{source.id}: {pitr.describe(window)}",
                code="outside_restore_window",
            )
        name = backup_cluster.target_of(source).name
        return RestoreSource(
            database_id=source.id,
            namespace=source.namespace or "",
            repository=pitr_manifests.full_repository(name),
            manifest_repository=pitr_manifests.manifest_repository(name),
            snapshot=pitr_manifests.incremental_snapshot_name(name),
            point_in_time=pitr.as_utc(moment),
        )

    async def _source_of(self, database: Database, backup_id: str, *, engine: str) -> RestoreSource:
        backup = await self._store.backups.get(backup_id)
        field = "backup_id"
        if backup is None or backup.database_id != database.id:
            raise RuleViolated(
                field,
                f"backup {backup_id} of database {database.id} not found",
                code="backup_not_found",
            )
        if backup.removed_at is not None:
            raise RuleViolated(
                field, f"backup {backup_id} was removed (retention or a delete)", code="backup_gone"
            )
        if backup.engine != engine:
            raise RuleViolated(
                field, f"backup {backup_id} is of {backup.engine}, not {engine}", code="engine"
            )
        if backup.status is not BackupStatus.SUCCEEDED or backup.snapshot_name is None:
            raise RuleViolated(
                field,
                f"backup {backup_id} is {backup.status}; only a succeeded backup can be restored",
                code="backup_not_restorable",
            )
        return _source(backup)

    async def check_storage(self, name: str) -> None:
        """A storage a database may name: 422 naming it when there is none such."""
        if self._storages is None:
            raise RuleViolated("backup_storage", "no backup storage is configured on this platform")
        try:
            await self._storages.resolve_storage(name)
        except LookupError as exc:
            raise RuleViolated("backup_storage", str(exc), code="unknown_storage") from exc

    async def _storage_name(self, database: Database) -> str:
        if self._storages is None:
            raise Conflict("no backup storage is configured on this platform", code="no_storage")
        try:
            resolved = await self._storages.resolve_storage(database.backup_storage)
        except LookupError as exc:
            raise Conflict(str(exc), code="no_storage") from exc
        return resolved.target.name


def _source(backup: Backup) -> RestoreSource:
    assert backup.snapshot_name is not None
    return RestoreSource(
        database_id=backup.database_id,
        namespace=backup.namespace,
        repository=backup.repository,
        snapshot=backup.snapshot_name,
        backup_id=backup.id,
    )
