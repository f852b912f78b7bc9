"""`backup` and `restore` (in place): a KubeStash BackupSession or RestoreSession, followed
to its end, with the backup record and the database record following it.

backup (input: the backup record, made with the operation, status pending)
    submit  the storage and the database's BackupConfiguration converged (so a database
            whose policy was never applied can still be backed up); a BackupSession of the
            `manual` session created under a name derived from the record (a re-run meets
            AlreadyExists); record -> running
    wait    the session's phase: Succeeded -> the record takes its Snapshot's name, size
            and time (succeeded); Failed or Skipped -> the record fails with what the
            session says, and so does the operation. Still running at the operation's
            deadline: the engine fails it and `give_up` fails the record.
    give_up the record -> failed with the reason (never left pending or running)

restore (input: the source Snapshot, resolved by the API)
    submit  record -> updating; the BackupConfiguration paused (no backup of half-restored
            data); a RestoreSession targeting the database itself
    wait    the session's phase: Succeeded -> resume; Failed -> resume, then fail with it
    resume  the BackupConfiguration resumed, record -> the status it started from
    give_up the configuration resumed and the record back, whatever failed
"""

from __future__ import annotations

import contextlib
from typing import Any

from app.cluster import errors
from app.domain import backups, clock
from app.domain.backups import Backup, BackupStatus
from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import backups as manifests
from app.domain.operation_kinds import BackupInput, BackupState, RestoreInput, RestoreState
from app.engine import steps
from app.engine.context import StepContext
from app.observability.log import get_logger
from app.services import backup_cluster
from app.services.handlers import records
from app.services.handlers.cluster_errors import translated
from app.services.handlers.deps import HandlerDeps
from app.services.ports import ClusterGateway
from app.store import errors as store_errors

log = get_logger(__name__)

BackupContext = StepContext[BackupInput, BackupState]
RestoreContext = StepContext[RestoreInput, RestoreState]
_RUNNING_ON = frozenset({DatabaseStatus.RUNNING, DatabaseStatus.PAUSED, DatabaseStatus.UPDATING})


class BackupRun:
    """One backup record taken through a BackupSession of the manual session: `submit`,
    then `poll` until it ends. Used by the `backup` operation and by a delete's final
    backup; every method is safe to run twice."""

    def __init__(self, deps: HandlerDeps) -> None:
        self._deps = deps

    async def record(self, backup_id: str) -> Backup:
        backup: Backup | None = await _store_call(self._deps.store.backups.get(backup_id))
        if backup is None:
            raise steps.PermanentError(f"backup {backup_id} does not exist")
        return backup

    async def submit(self, database: Database, backup: Backup, gateway: ClusterGateway) -> str:
        """The policy converged and the BackupSession created; the record running. Returns
        the session's name."""
        storage = await self._storage(backup.storage)
        with translated(f"configuring backups of {database.name}"):
            await backup_cluster.converge_policy(gateway, database, storage)
        target = backup_cluster.target_of(database)
        name = backup.session_name or manifests.backup_session_name(
            target.name, unix_seconds=int(backup.created_at.timestamp()), backup_id=backup.id
        )
        manifest = manifests.backup_session(target, name=name, backup_type=backup.type.value)
        # AlreadyExists: made by an earlier run of this step.
        with (
            translated(f"creating BackupSession {target.namespace}/{name}"),
            contextlib.suppress(errors.AlreadyExists),
        ):
            await gateway.create(backup_cluster.BACKUP_SESSION, manifest)
        await _store_call(
            self._deps.store.backups.update_fields(
                backup.id,
                {
                    "status": BackupStatus.RUNNING,
                    "session_name": name,
                    "started_at": backup.started_at or clock.utcnow(),
                },
            )
        )
        return name

    async def poll(
        self, database: Database, backup: Backup, session_name: str, gateway: ClusterGateway
    ) -> int | None:
        """None while the session runs; its size in bytes (0 when not reported) once it
        succeeded and the record says so. A failed session fails the record, then raises
        `PermanentError` with the cluster's reason."""
        target = backup_cluster.target_of(database)
        with translated(f"reading BackupSession {target.namespace}/{session_name}"):
            session = await gateway.find(
                backup_cluster.BACKUP_SESSION, session_name, namespace=target.namespace
            )
        if session is None:
            log.warning("backup_session_missing", session=session_name, backup_id=backup.id)
            await self.submit(database, backup, gateway)
            return None
        outcome = backups.status_of_session((session.get("status") or {}).get("phase"))
        if outcome is BackupStatus.FAILED:
            reason = backup_cluster.condition_messages(session)
            await self.settle(backup, BackupStatus.FAILED, error=reason)
            raise steps.PermanentError(f"backup {backup.id} failed: {reason}")
        if outcome is not BackupStatus.SUCCEEDED:
            return None
        snapshot = await self._snapshot_of(session, target.namespace, gateway)
        fields: dict[str, Any] = {}
        if snapshot is not None:
            fields = backup_cluster.snapshot_fields(snapshot)
            fields.pop("status", None)
            fields.pop("error", None)
            fields["snapshot_name"] = snapshot["metadata"]["name"]
        await self.settle(backup, BackupStatus.SUCCEEDED, **fields)
        return int(fields.get("size_bytes") or 0)

    async def give_up(self, backup_id: str, reason: str) -> None:
        backup = await _store_call(self._deps.store.backups.get(backup_id))
        if backup is not None and not backup.status.is_terminal:
            await self.settle(backup, BackupStatus.FAILED, error=reason)

    async def _snapshot_of(
        self, session: dict[str, Any], namespace: str, gateway: ClusterGateway
    ) -> dict[str, Any] | None:
        listed = (session.get("status") or {}).get("snapshots") or []
        if not listed:
            return None
        name = str(listed[0].get("name"))
        with translated(f"reading Snapshot {namespace}/{name}"):
            found = await gateway.find(backup_cluster.SNAPSHOT, name, namespace=namespace)
        return found or {"metadata": {"name": name}}

    async def settle(self, backup: Backup, status: BackupStatus, **fields: Any) -> None:
        changes: dict[str, Any] = {"status": status, "completed_at": clock.utcnow()}
        changes.update(fields)
        if status is BackupStatus.FAILED:
            changes["error"] = fields.get("error") or "the backup failed"
        try:
            await _store_call(self._deps.store.backups.update_fields(backup.id, changes))
        except store_errors.Conflict:
            # The sync recorded this Snapshot first (a scheduled one cannot be ours, but a
            # rename race can): keep this record without the name.
            changes.pop("snapshot_name", None)
            await _store_call(self._deps.store.backups.update_fields(backup.id, changes))

    async def _storage(self, name: str) -> backup_cluster.ResolvedStorage:
        if self._deps.storages is None:
            raise steps.PermanentError("no backup storage is configured on this platform")
        try:
            return await self._deps.storages.resolve_storage(name)
        except LookupError as exc:
            raise steps.PermanentError(str(exc)) from exc


async def _store_call(awaitable: Any) -> Any:
    try:
        return await awaitable
    except store_errors.StoreUnavailable as exc:
        raise steps.TemporaryError(f"store: {exc}") from exc


class BackupOperations:
    def __init__(self, deps: HandlerDeps) -> None:
        self._deps = deps
        self.run = BackupRun(deps)

    # --- backup --------------------------------------------------------------------------

    async def backup(self, ctx: BackupContext) -> steps.StepResult:
        backup = await self.run.record(ctx.input.backup_id)
        if backup.status.is_terminal:
            return steps.Done(f"backup {backup.id} is {backup.status}")
        database = await records.load(self._deps.store, ctx.operation)
        gateway = await self._deps.cluster_for(database)
        if ctx.state.step != "wait":
            if database.status not in _RUNNING_ON:
                raise steps.PermanentError(f"cannot back up a database that is {database.status}")
            name = await self.run.submit(database, backup, gateway)
            await ctx.save(
                state=BackupState(step="wait", session_name=name),
                progress=20,
                message=f"BackupSession {name} created",
            )
            return steps.Wait(self._deps.timing.backup_poll, message="backing up")
        name = ctx.state.session_name or backup.session_name or ""
        size = await self.run.poll(database, backup, name, gateway)
        if size is None:
            return steps.Wait(self._deps.timing.backup_poll, message="backing up")
        return steps.Done(f"backup {backup.id} succeeded ({size} bytes)")

    async def give_up_backup(self, ctx: BackupContext, reason: str) -> None:
        await self.run.give_up(ctx.input.backup_id, reason)

    # --- restore in place ----------------------------------------------------------------

    async def restore(self, ctx: RestoreContext) -> steps.StepResult:
        database = await records.load(self._deps.store, ctx.operation)
        gateway = await self._deps.cluster_for(database)
        state = ctx.state
        if state.step == "resume":
            return await self._resume(ctx, database, gateway)
        if state.step == "wait":
            return await self._await_restore(ctx, database, gateway)
        return await self._submit_restore(ctx, database, gateway)

    async def give_up_restore(self, ctx: RestoreContext, reason: str) -> None:
        database = await records.find(self._deps.store, ctx.operation)
        if database is None or database.status is not DatabaseStatus.UPDATING:
            return
        try:
            gateway = await self._deps.cluster_for(database)
            with translated("resuming the backup schedule"):
                await backup_cluster.set_paused(gateway, database, paused=False)
        except steps.StepError as exc:
            ctx.log.warning("backup_schedule_not_resumed", error=str(exc))
        await records.transition(
            self._deps.store,
            ctx.operation,
            to=records.return_status(ctx.state.return_to),
            outcome="Failed",
            message=f"restore failed: {reason}",
            previous=DatabaseStatus.UPDATING,
        )

    async def _submit_restore(
        self, ctx: RestoreContext, database: Database, gateway: ClusterGateway
    ) -> steps.StepResult:
        source = ctx.input.source
        return_to = ctx.state.return_to or database.status.value
        if database.status is not DatabaseStatus.UPDATING:
            if database.status is not DatabaseStatus.RUNNING:
                raise steps.PermanentError(f"cannot restore a database that is {database.status}")
            await records.transition(
                self._deps.store,
                ctx.operation,
                to=DatabaseStatus.UPDATING,
                outcome="Started",
                message=f"restoring {source.snapshot} of repository {source.repository}",
                previous=DatabaseStatus.RUNNING,
            )
        target = backup_cluster.target_of(database)
        name = ctx.state.session_name or manifests.restore_session_name(
            target.name, unix_seconds=int(ctx.operation.created_at.timestamp())
        )
        manifest = manifests.restore_session(
            target,
            name=name,
            source_namespace=source.namespace,
            repository=source.repository,
            snapshot=source.snapshot,
        )
        with translated(f"creating RestoreSession {target.namespace}/{name}"):
            await backup_cluster.set_paused(gateway, database, paused=True)
            with contextlib.suppress(errors.AlreadyExists):
                await gateway.create(backup_cluster.RESTORE_SESSION, manifest)
        await ctx.save(
            state=RestoreState(step="wait", session_name=name, return_to=return_to),
            progress=30,
            message=f"RestoreSession {name} created",
        )
        return steps.Wait(self._deps.timing.backup_poll, message="restoring")

    async def _await_restore(
        self, ctx: RestoreContext, database: Database, gateway: ClusterGateway
    ) -> steps.StepResult:
        target = backup_cluster.target_of(database)
        name = ctx.state.session_name or ""
        with translated(f"reading RestoreSession {target.namespace}/{name}"):
            session = await gateway.find(
                backup_cluster.RESTORE_SESSION, name, namespace=target.namespace
            )
        if session is None:
            return await self._submit_restore(ctx, database, gateway)
        phase = (session.get("status") or {}).get("phase")
        if phase in ("Failed", "Invalid"):
            error = backup_cluster.condition_messages(session)
            await ctx.save(state=ctx.state.model_copy(update={"step": "resume", "error": error}))
            return await self._resume(ctx, database, gateway, error=error)
        if phase != "Succeeded":
            return steps.Wait(self._deps.timing.backup_poll, message=f"restoring ({phase})")
        await ctx.save(state=ctx.state.model_copy(update={"step": "resume"}), progress=90)
        return await self._resume(ctx, database, gateway)

    async def _resume(
        self,
        ctx: RestoreContext,
        database: Database,
        gateway: ClusterGateway,
        *,
        error: str | None = None,
    ) -> steps.StepResult:
        error = error or ctx.state.error
        with translated("resuming the backup schedule"):
            await backup_cluster.set_paused(gateway, database, paused=False)
        if error is not None:
            raise steps.PermanentError(f"restore failed: {error}")
        if database.status is DatabaseStatus.UPDATING:
            await records.transition(
                self._deps.store,
                ctx.operation,
                to=records.return_status(ctx.state.return_to),
                outcome="Succeeded",
                message=f"restored {ctx.input.source.snapshot}",
                previous=DatabaseStatus.UPDATING,
            )
        return steps.Done(f"restored {ctx.input.source.snapshot}")
