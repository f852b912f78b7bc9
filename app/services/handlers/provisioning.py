"""`create` and `delete`: a database CR from nothing to Ready, and back to nothing.

create (desired_state: optional `auth_secret_name`, `storage_class`)
    submit  record pending -> provisioning (namespace and resource name stored first, so a
            delete always finds what a create may have made); an auth secret a deleted
            database of the same name left behind removed (a create gets fresh
            credentials); the CR(s) of `database_cr.manifests_for` created (AlreadyExists
            is done, if the object is ours; the project's namespace is made when the
            create finds it missing); state `ProvisionState(step=wait, ready_by)`
    wait    poll the CR until it serves, phase Ready or Critical (a member down, reads and
            writes work: health `degraded`): record -> running with endpoint, port, phase,
            health, ready replicas. Still not Ready at `ready_by` (the provision deadline,
            kept before the operation's own deadline): record -> failed and the operation
            fails with what the cluster says (phase, conditions and their messages). A CR
            that vanished is created again.
    cancel  record -> failed ("creation cancelled"); the CR stays for a delete to remove.
    give_up record -> failed with the reason when the engine fails the operation (the
            retry limit, its deadline): a create never leaves the record provisioning.

delete (desired_state: optional `deletion_policy`, else the record's)
    A protected database is never deleted (the API refuses earlier; this is the last line).
    submit  record -> deleting; each CR (database first, then its RedisSentinel) gets the
            chosen deletionPolicy if it differs, then a DELETE (NotFound: already gone)
    wait    until every CR is gone (the operator applies the policy and drops its
            finalizer); then the database's OpsRequests are removed and the record becomes
            `deleted` (which frees the name). WipeOut also removes the auth secret the
            platform wrote from custom credentials.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.cluster import errors
from app.domain import clock, status_mapping, sync
from app.domain.backups import BackupStatus
from app.domain.databases import Database, DatabaseStatus, HealthStatus
from app.domain.manifests import database_cr, labels, names
from app.domain.manifests.desired import DeletionPolicy, DesiredDatabase
from app.domain.operation_kinds import CreateInput, DeleteInput, ProvisionState
from app.domain.status_mapping import DatabasePhase, ObservedDatabase
from app.engine import steps
from app.engine.context import StepContext
from app.services import app_bindings, backup_cluster
from app.services.handlers import initial_restore, records
from app.services.handlers import provisioning_progress as progress
from app.services.handlers.backups import BackupRun
from app.services.handlers.cluster_errors import translated
from app.services.handlers.deps import HandlerDeps
from app.services.handlers.desired_spec import cluster_objects, desired_for, resource_of
from app.services.ports import ClusterGateway

# The phases in which a new database counts as created (Critical: serving, degraded).
_SERVING = frozenset({DatabasePhase.READY, DatabasePhase.CRITICAL})
# The create step fails with the cluster's reason at least this long before the operation's
# own deadline, so that the engine's generic "did not finish by its deadline" never wins.
CreateContext = StepContext[CreateInput, ProvisionState]
DeleteContext = StepContext[DeleteInput, ProvisionState]
_DEADLINE_MARGIN = 1.0


class Provisioning:
    def __init__(self, deps: HandlerDeps) -> None:
        self._deps = deps

    # --- create ----------------------------------------------------------------------

    async def create(self, ctx: CreateContext) -> steps.StepResult:
        database = await records.load(self._deps.store, ctx.operation)
        if database.status in (DatabaseStatus.DELETING, DatabaseStatus.DELETED):
            raise steps.PermanentError(f"database {database.name} is {database.status}")
        try:
            desired = self._desired(ctx, database)
            gateway = await self._deps.cluster_for(database)
            if ctx.state.step != "wait":
                return await self._submit(ctx, database, desired, gateway)
            return await self._await_ready(ctx, database, desired, gateway)
        except steps.PermanentError as exc:
            await self._failed(ctx, str(exc))
            raise

    def _desired(self, ctx: CreateContext, database: Database) -> DesiredDatabase:
        wanted = ctx.input
        extras: dict[str, Any] = {}
        if wanted.auth_secret_name:
            extras["auth_secret_name"] = wanted.auth_secret_name
        if wanted.storage_class:
            extras["storage_class"] = wanted.storage_class
        return desired_for(database, self._deps.sizes, **extras)

    async def _submit(
        self,
        ctx: CreateContext,
        database: Database,
        desired: DesiredDatabase,
        gateway: ClusterGateway,
    ) -> steps.StepResult:
        await records.transition(
            self._deps.store,
            ctx.operation,
            to=DatabaseStatus.PROVISIONING,
            outcome="Started",
            message=f"creating {desired.engine_spec.title} {desired.version} in namespace "
            f"{desired.namespace}",
            fields={
                "namespace": desired.namespace,
                "kubedb_resource_name": desired.name,
                "operation_id": ctx.operation.id,
            },
            previous=DatabaseStatus.PENDING,
            current=database,
        )
        await self._drop_stale_auth_secret(ctx, database, desired, gateway)
        restore = ctx.input.restore
        for manifest in database_cr.manifests_for(desired, monitoring=self._deps.monitoring):
            if restore is not None:
                manifest = initial_restore.waiting_manifest(
                    manifest, kind=desired.engine_spec.kind, source=restore
                )
            await _create_owned(gateway, manifest, database_id=database.id)
        if restore is not None:
            await initial_restore.start(gateway, database, restore)
        ready_by = ctx.state.ready_by or clock.to_text(
            clock.later(self._deps.timing.provision_deadline)
        )
        await ctx.save(
            state=ProvisionState(step="wait", ready_by=ready_by),
            progress=20,
            message=f"{desired.engine_spec.kind} {desired.namespace}/{desired.name} created",
        )
        return steps.Wait(progress.first_poll(self._deps.timing), message="waiting for phase Ready")

    async def _drop_stale_auth_secret(
        self,
        ctx: CreateContext,
        database: Database,
        desired: DesiredDatabase,
        gateway: ClusterGateway,
    ) -> None:
        """A create gets fresh credentials: an auth secret left under the default name by a
        deleted database of the same name (Delete and Halt keep secrets) would otherwise be
        taken over by KubeDB, handing back the old password. Only before this database's CR
        exists, and only a secret not labelled with this database's id (the user's own
        password, written by the API under this id, stays)."""
        if desired.auth_secret_name is not None:
            return
        resource = desired.engine_spec.database_resource
        name = names.auth_secret_name(desired.name)
        with translated(f"removing the stale Secret {desired.namespace}/{name}"):
            # The secret first: mostly there is none, and then the CR need not be read.
            found = await gateway.secret_labels(desired.namespace, name)
            if found is None or found.get(labels.DATABASE_ID_KEY) == database.id:
                return
            if await gateway.find(resource, desired.name, namespace=desired.namespace):
                return
            if await gateway.delete_secret(desired.namespace, name, labelled=found):
                ctx.log.info(
                    "stale_auth_secret_removed",
                    secret=name,
                    owner=found.get(labels.DATABASE_ID_KEY),
                )

    async def _served(self, desired: DesiredDatabase, gateway: ClusterGateway) -> dict[str, Any]:
        """Where it serves and what serves it, from its AppBinding (none yet: the Service's
        DNS name, the data plane left for the status sync)."""
        with translated(f"reading AppBinding {desired.namespace}/{desired.name}"):
            binding = await app_bindings.read(gateway, desired.namespace, desired.name)
        return sync.served_fields(
            desired.engine, name=desired.name, namespace=desired.namespace, binding=binding
        )

    async def _await_ready(
        self,
        ctx: CreateContext,
        database: Database,
        desired: DesiredDatabase,
        gateway: ClusterGateway,
    ) -> steps.StepResult:
        resource = desired.engine_spec.database_resource
        with translated(f"reading {resource.kind} {desired.namespace}/{desired.name}"):
            found = await gateway.find(resource, desired.name, namespace=desired.namespace)
        if found is None:
            ctx.log.warning("database_cr_missing", name=desired.name)
            return await self._submit(ctx, database, desired, gateway)
        observed = status_mapping.observe_database(found)
        if observed.phase in _SERVING:
            await initial_restore.configure(self._deps, gateway, database, ctx.log, current=found)
            served = await self._served(desired, gateway)
            where = f"{served['endpoint']}:{served['port']}"
            await records.transition(
                self._deps.store,
                ctx.operation,
                to=DatabaseStatus.RUNNING,
                outcome="Succeeded",
                message=f"database is running at {where}",
                fields={
                    **served,
                    **sync.observed_fields(observed),
                    # KubeDB reports no member count: all are ready when the phase is
                    # Ready; Critical (some are not) leaves the count unknown, so unset.
                    **(
                        {"ready_replicas": desired.replicas}
                        if observed.phase is DatabasePhase.READY
                        else {}
                    ),
                },
                previous=DatabaseStatus.PROVISIONING,
                current=database,
            )
            return steps.Done(f"database is running at {where}")
        if ctx.input.restore is not None:
            restore_failed = await initial_restore.failure(
                gateway, database, source=ctx.input.restore, database_cr=found
            )
            if restore_failed is not None:
                await self._failed(ctx, restore_failed, observed=observed)
                return steps.Fail(restore_failed)
        deadline, window = self._ready_by(ctx)
        now = clock.utcnow()
        if now >= deadline:
            reason = progress.not_ready_reason(desired, observed, window)
            await self._failed(ctx, reason, observed=observed)
            return steps.Fail(reason)
        seen = sync.observed_fields(observed)
        if any(getattr(database, name) != value for name, value in seen.items()):
            await records.update(self._deps.store, database.id, seen)
        remaining = (deadline - now).total_seconds()
        return steps.Wait(
            max(
                0.01, min(progress.next_poll(self._deps.timing, ctx.state.ready_by, now), remaining)
            ),
            message=f"phase {observed.raw_phase or 'not set yet'}; {progress.text(observed)}",
            progress=progress.percent(observed),
        )

    def _ready_by(self, ctx: CreateContext) -> tuple[datetime, float]:
        """When the database must be Ready, and how many seconds that gave it."""
        operation = ctx.operation
        allowed = self._deps.timing.provision_deadline
        ready_by = clock.parse_or_none(ctx.state.ready_by) or clock.later(allowed)
        if operation.deadline_at is not None:
            margin = max(_DEADLINE_MARGIN, self._deps.timing.provision_poll)
            capped = operation.deadline_at - timedelta(seconds=margin)
            if capped < ready_by:
                allowed -= (ready_by - capped).total_seconds()
                ready_by = capped
        return ready_by, max(0.0, allowed)

    async def _failed(
        self, ctx: CreateContext, reason: str, *, observed: ObservedDatabase | None = None
    ) -> None:
        fields: dict[str, Any] = {}
        if observed is not None:
            fields = sync.observed_fields(observed)
        await records.transition(
            self._deps.store,
            ctx.operation,
            to=DatabaseStatus.FAILED,
            outcome="Failed",
            message=reason,
            fields=fields,
            previous=DatabaseStatus.PROVISIONING,
        )

    async def cancel_create(self, ctx: CreateContext) -> None:
        await self._abandon_create(
            ctx,
            "Cancelled",
            "creation cancelled before the database was ready; delete it "
            "to remove what was created",
        )

    async def give_up_create(self, ctx: CreateContext, reason: str) -> None:
        await self._abandon_create(ctx, "Failed", reason)

    async def _abandon_create(self, ctx: CreateContext, outcome: str, message: str) -> None:
        database = await records.find(self._deps.store, ctx.operation)
        if database is None:
            return  # no record: nothing to undo
        if database.status in (DatabaseStatus.PENDING, DatabaseStatus.PROVISIONING):
            await records.transition(
                self._deps.store,
                ctx.operation,
                to=DatabaseStatus.FAILED,
                outcome=outcome,
                message=message,
            )

    # --- delete ----------------------------------------------------------------------

    async def delete(self, ctx: DeleteContext) -> steps.StepResult:
        operation = ctx.operation
        database = await records.load(self._deps.store, operation)
        if database.status is DatabaseStatus.DELETED:
            return steps.Done("database was already deleted")
        if database.deletion_protection:
            raise steps.PermanentError(
                f"database {database.name} has deletion protection on; turn it off "
                "(PATCH deletion_protection=false) before deleting it"
            )
        policy = _deletion_policy(ctx.input, database)
        # Deleting needs names, not resources: a size plan removed from the table since the
        # database was made must not keep it alive.
        desired = desired_for(
            database, self._deps.sizes, deletion_policy=policy, size=self._deps.sizes.default
        )
        gateway = await self._deps.cluster_for(database)
        placed = database.namespace is not None
        if ctx.input.final_backup_id and ctx.state.step in (None, "backup"):
            waiting = await self._final_backup(ctx, database, gateway)
            if waiting is not None:
                return waiting
        if ctx.state.step != "wait":
            await records.transition(
                self._deps.store,
                operation,
                to=DatabaseStatus.DELETING,
                outcome="Started",
                message=f"deleting (deletion policy {policy.value})",
                fields={"operation_id": operation.id},
            )
            if placed:
                await self._delete_objects(desired, gateway, policy)
            await ctx.save(
                state=ProvisionState(step="wait"),
                progress=30,
                message=f"delete requested (deletion policy {policy.value})",
            )
        if placed:
            remaining = await self._remaining(desired, gateway)
            if remaining:
                await self._delete_objects(desired, gateway, policy)  # recreated meanwhile?
                return steps.Wait(
                    self._deps.timing.delete_poll,
                    progress=60,
                    message=f"waiting for {', '.join(remaining)} to be gone",
                )
            await self._delete_ops_requests(database, desired, gateway)
            with translated(f"removing the backup policy of {database.name}"):
                await backup_cluster.remove_policy(gateway, database)
            if policy is DeletionPolicy.WIPE_OUT:
                await self._wipe_auth_secret(database, desired, gateway)
        await records.transition(
            self._deps.store,
            operation,
            to=DatabaseStatus.DELETED,
            outcome="Succeeded",
            message=f"database deleted (deletion policy {policy.value})",
            fields={
                "phase": None,
                "health_status": HealthStatus.UNKNOWN,
                "ready_replicas": 0,
                "conditions": [],
            },
            previous=DatabaseStatus.DELETING,
        )
        return steps.Done(f"database deleted (deletion policy {policy.value})")

    async def _final_backup(
        self, ctx: DeleteContext, database: Database, gateway: ClusterGateway
    ) -> steps.StepResult | None:
        """The last backup before a delete; None once it succeeded (the delete goes on).
        A failed one fails the delete: nothing was deleted, the database keeps running."""
        run = BackupRun(self._deps)
        backup = await run.record(ctx.input.final_backup_id or "")
        if backup.status is BackupStatus.SUCCEEDED:
            return None
        if backup.status is BackupStatus.FAILED:
            raise steps.PermanentError(
                f"the final backup {backup.id} failed ({backup.error}); nothing was deleted"
            )
        if ctx.state.step != "backup":
            name = await run.submit(database, backup, gateway)
            await ctx.save(
                state=ProvisionState(step="backup", session_name=name),
                progress=10,
                message=f"taking the final backup {backup.id}",
            )
            return steps.Wait(self._deps.timing.backup_poll, message="final backup")
        try:
            size = await run.poll(database, backup, ctx.state.session_name or "", gateway)
        except steps.PermanentError as exc:
            raise steps.PermanentError(f"{exc}; nothing was deleted") from exc
        if size is None:
            return steps.Wait(self._deps.timing.backup_poll, message="final backup")
        await ctx.save(state=ProvisionState(step=None), progress=20)
        return None

    async def _delete_objects(
        self, desired: DesiredDatabase, gateway: ClusterGateway, policy: DeletionPolicy
    ) -> None:
        """Set the policy and delete each CR, the database before its sentinels."""
        for resource, name in reversed(cluster_objects(desired)):
            where = f"{resource.kind} {desired.namespace}/{name}"
            with translated(f"deleting {where}"):
                found = await gateway.find(resource, name, namespace=desired.namespace)
                if found is None:
                    continue
                metadata = found.get("metadata") or {}
                if metadata.get("deletionTimestamp"):
                    continue  # terminating: the operator is carrying the policy out
                found_spec = found.get("spec") or {}
                if found_spec.get("deletionPolicy") != policy.value or found_spec.get("halted"):
                    patch = database_cr.deletion_policy_patch(policy)
                    if found_spec.get("halted"):
                        # KubeDB forces deletionPolicy Halt while halted (reference §1.6):
                        # un-halt in the same write, or Delete/WipeOut would not apply.
                        patch["spec"]["halted"] = False
                    try:
                        await gateway.merge_patch(
                            resource,
                            name,
                            patch,
                            namespace=desired.namespace,
                        )
                    except errors.NotFound:
                        continue
                try:
                    await gateway.delete(resource, name, namespace=desired.namespace)
                except errors.NotFound:
                    continue

    async def _remaining(self, desired: DesiredDatabase, gateway: ClusterGateway) -> list[str]:
        left = []
        for resource, name in cluster_objects(desired):
            with translated(f"reading {resource.kind} {desired.namespace}/{name}"):
                if await gateway.find(resource, name, namespace=desired.namespace) is not None:
                    left.append(f"{resource.kind} {name}")
        return left

    async def _wipe_auth_secret(
        self, database: Database, desired: DesiredDatabase, gateway: ClusterGateway
    ) -> None:
        """WipeOut leaves no credentials: KubeDB removes the secrets it made, this removes the
        one the platform wrote from custom credentials (KubeDB leaves it: not its own)."""
        name = names.auth_secret_name(desired.name)
        with translated(f"deleting Secret {desired.namespace}/{name}"):
            await gateway.delete_secret(
                desired.namespace, name, labelled={labels.DATABASE_ID_KEY: database.id}
            )

    async def _delete_ops_requests(
        self, database: Database, desired: DesiredDatabase, gateway: ClusterGateway
    ) -> None:
        """OpsRequests have no owner: once the database is gone, remove its leftovers."""
        resource = desired.engine_spec.ops_resource
        selector = {labels.MANAGED_BY_KEY: labels.MANAGED_BY, labels.DATABASE_ID_KEY: database.id}
        with translated(f"removing the OpsRequests of {desired.name}"):
            for item in await gateway.list(resource, namespace=desired.namespace, labels=selector):
                name = str((item.get("metadata") or {}).get("name"))
                try:
                    await gateway.delete(resource, name, namespace=desired.namespace)
                except errors.NotFound:
                    continue


async def _create_owned(
    gateway: ClusterGateway, manifest: dict[str, Any], *, database_id: str
) -> None:
    """Create a CR; one that exists already is fine if it is this database's."""
    resource = resource_of(manifest)
    metadata = manifest["metadata"]
    where = f"{resource.kind} {metadata['namespace']}/{metadata['name']}"
    with translated(f"creating {where}"):
        try:
            try:
                await gateway.create(resource, manifest)
            except errors.NotFound as exc:
                if not exc.namespace_gone:
                    raise
                # The project's first database (or its namespace was deleted): made only
                # now, which spares every other create a POST answered 409 (issue 19).
                await gateway.ensure_namespace(metadata["namespace"])
                await gateway.create(resource, manifest)
            return
        except errors.AlreadyExists:
            existing = await gateway.find(
                resource, metadata["name"], namespace=metadata["namespace"]
            )
    if existing is None:
        raise steps.TemporaryError(f"{where} exists and is gone again (being deleted?)")
    owner = ((existing.get("metadata") or {}).get("labels") or {}).get(labels.DATABASE_ID_KEY)
    if owner != database_id:
        raise steps.PermanentError(
            f"{where} already exists and does not belong to this database; choose another "
            "name or remove the object"
        )
    if (existing.get("metadata") or {}).get("deletionTimestamp"):
        raise steps.TemporaryError(f"{where} is still being deleted; creating it again later")


def _deletion_policy(wanted: DeleteInput, database: Database) -> DeletionPolicy:
    if wanted.deletion_policy is not None:
        return wanted.deletion_policy
    value = database.deletion_policy
    try:
        return DeletionPolicy(value)
    except ValueError:
        raise steps.PermanentError(f"unknown deletion policy {value!r}") from None
