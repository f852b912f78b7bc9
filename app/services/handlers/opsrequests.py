"""The six OpsRequest operations (scale_horizontal, scale_vertical, expand_storage,
upgrade_version, restart, rotate_credentials) and the runner `update` shares with them.

    start   the change parsed from desired_state (`changes.py`); nothing to change: Done.
            The database must be running (restart: or failed); `state.return_to` keeps the
            status to go back to if the change fails.
    submit  record -> scaling | updating; the OpsRequest created with its deterministic
            name `<db>-<type>-<op8>[-<attempt>]` (AlreadyExists: it is ours, done);
            `operation.ops_request_name` recorded; `state.step = wait`
    wait    poll its phase; progress, message and `ops_request_phase` follow it.
            Successful: the record takes the new values (replicas, size, storage_gb,
                version) and goes back to running.
            Failed / Denied: the database keeps its old spec, the record goes back to
                `return_to`, the operation fails with the Failed condition's message.
            Skipped (a newer request replaced it): submitted again as attempt n+1.
            Gone: created again (a missing object is created or reported, never forgotten).
            After Successful or Failed, finished OpsRequests beyond the newest 3 are pruned.
    cancel  the OpsRequest is deleted while it is still Pending (or not yet picked up);
            once Progressing it runs to its end. The record goes back to `return_to`.
    give_up the same when the engine fails the operation (its deadline, the retry limit):
            a Pending request must not run after its operation said it failed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from app.cluster import errors
from app.domain import status_mapping
from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import JsonObject
from app.domain.operation_kinds import OpsRequestInput, OpsRequestState
from app.domain.operations import OperationType
from app.domain.status_mapping import ObservedOpsRequest, OpsOutcome, OpsRequestPhase
from app.engine import steps
from app.engine.context import AnyStepContext, StepContext
from app.services.handlers import changes, pruning, records
from app.services.handlers.changes import Change
from app.services.handlers.cluster_errors import translated
from app.services.handlers.deps import HandlerDeps
from app.services.handlers.desired_spec import desired_for, namespace_of
from app.services.ports import ClusterGateway

# Statuses from which an OpsRequest may start. Scaling and updating are included because,
# with no operation active (one per database), they can only be left over from an operation
# that ended without putting the status back (a deadline, the retry limit).
STARTABLE = frozenset({DatabaseStatus.RUNNING, DatabaseStatus.SCALING, DatabaseStatus.UPDATING})
# Restart is the remedy for a database that is not well (its OpsRequest applies Always).
STARTABLE_RESTART = STARTABLE | {DatabaseStatus.FAILED}
NOT_STARTED_PHASES = frozenset({OpsRequestPhase.UNSET.value, OpsRequestPhase.PENDING.value})


def check_startable(database: Database, change: Change) -> None:
    allowed = STARTABLE_RESTART if change.type is OperationType.RESTART else STARTABLE
    if database.status not in allowed:
        hint = " (resume it first)" if database.status is DatabaseStatus.PAUSED else ""
        raise steps.PermanentError(
            f"cannot run {change.description} while the database is {database.status}{hint}"
        )


@dataclass(frozen=True, slots=True)
class Check:
    """Where an OpsRequest stands; `observed` None: it does not exist."""

    name: str
    observed: ObservedOpsRequest | None

    @property
    def outcome(self) -> OpsOutcome | None:
        return None if self.observed is None else self.observed.outcome

    @property
    def phase(self) -> str:
        return "" if self.observed is None else self.observed.raw_phase

    @property
    def progress(self) -> int:
        """0-100 within this OpsRequest: created 10, Pending 20, Progressing 40 plus 10
        for each step condition that turned True."""
        if self.observed is None:
            return 0
        if self.observed.outcome is not OpsOutcome.IN_PROGRESS:
            return 100
        if self.phase == OpsRequestPhase.PROGRESSING:
            done = sum(
                1
                for c in self.observed.conditions
                if c.status is status_mapping.ConditionStatus.TRUE
            )
            return min(90, 40 + 10 * max(0, done - 2))
        return 20 if self.phase == OpsRequestPhase.PENDING else 10

    @property
    def message(self) -> str:
        if self.observed is None:
            return f"OpsRequest {self.name} is missing"
        if self.observed.outcome is OpsOutcome.FAILED:
            return self.observed.failure_message or f"OpsRequest {self.name} {self.phase}"
        last = self.observed.conditions[-1] if self.observed.conditions else None
        detail = last.message if last is not None and last.message else ""
        return f"OpsRequest {self.name} {self.phase or 'created'}" + (
            f": {detail}" if detail else ""
        )


class OpsRequestRunner:
    """Submits one change as an OpsRequest and reports on it; the handlers keep the state."""

    def __init__(self, deps: HandlerDeps) -> None:
        self._deps = deps

    async def gateway(self, database: Database) -> ClusterGateway:
        return await self._deps.cluster_for(database)

    def build(
        self, operation_id: str, database: Database, change: Change, *, attempt: int
    ) -> JsonObject:
        """The OpsRequest for `change` on the database as it is now; PermanentError when a
        rule refuses it (so it can be checked before anything moves)."""
        return change.manifest(
            desired_for(database, self._deps.sizes),
            operation_id=operation_id,
            attempt=attempt,
            sizes=self._deps.sizes,
            timeout=self._deps.timing.ops_request_timeout,
        )

    async def create(self, database: Database, manifest: JsonObject) -> str:
        name = str(manifest["metadata"]["name"])
        namespace = str(manifest["metadata"]["namespace"])
        resource = desired_for(database, self._deps.sizes).engine_spec.ops_resource
        # AlreadyExists: the name carries this operation's id, so an earlier run made it.
        with (
            translated(f"creating {resource.kind} {namespace}/{name}"),
            contextlib.suppress(errors.AlreadyExists),
        ):
            await (await self.gateway(database)).create(resource, manifest)
        return name

    async def submit(
        self, ctx: AnyStepContext, database: Database, change: Change, *, attempt: int
    ) -> str:
        manifest = self.build(ctx.operation.id, database, change, attempt=attempt)
        return await self.create(database, manifest)

    async def check(self, ctx: AnyStepContext, database: Database, name: str) -> Check:
        desired = desired_for(database, self._deps.sizes)
        resource = desired.engine_spec.ops_resource
        with translated(f"reading {resource.kind} {desired.namespace}/{name}"):
            found = await (await self.gateway(database)).find(
                resource, name, namespace=desired.namespace
            )
        check = Check(name, None if found is None else status_mapping.observe_ops_request(found))
        if found is not None and (ctx.operation.ops_request_phase or "") != check.phase:
            await ctx.save(ops_request_phase=check.phase or None)
        return check

    async def delete_if_not_started(self, ctx: AnyStepContext, database: Database) -> None:
        """The cancel hook's part: a request the ops-manager has not started is removed."""
        name = ctx.operation.ops_request_name
        if not name:
            return
        resource = desired_for(database, self._deps.sizes).engine_spec.ops_resource
        namespace = namespace_of(database)
        gateway = await self.gateway(database)
        with translated(f"cancelling {resource.kind} {namespace}/{name}"):
            found = await gateway.find(resource, name, namespace=namespace)
            if found is None:
                return
            phase = status_mapping.observe_ops_request(found).raw_phase
            if phase not in NOT_STARTED_PHASES:
                ctx.log.warning("ops_request_already_started", name=name, phase=phase)
                return
            try:
                await gateway.delete(resource, name, namespace=namespace)
            except errors.NotFound:
                return
        ctx.log.info("ops_request_deleted", name=name)

    async def withdraw(self, ctx: AnyStepContext, database: Database) -> None:
        """`delete_if_not_started` for a failure hook: the operation fails either way, so a
        cluster that cannot be reached is logged (the reconciler sees what the request
        changes, if it ever runs) instead of raised."""
        try:
            await self.delete_if_not_started(ctx, database)
        except steps.StepError as exc:
            ctx.log.warning(
                "ops_request_not_withdrawn", name=ctx.operation.ops_request_name, error=str(exc)
            )

    async def prune(self, ctx: AnyStepContext, database: Database, current: str) -> None:
        desired = desired_for(database, self._deps.sizes)
        await pruning.prune_finished(
            await self.gateway(database),
            desired.engine_spec.ops_resource,
            namespace=desired.namespace,
            database_id=database.id,
            keep=self._deps.keep_finished_ops_requests,
            current=current,
            log=ctx.log,
        )


# Every single-OpsRequest type shares the handler: a context of any of their kinds.
OpsContext = StepContext[OpsRequestInput, OpsRequestState]


class OpsRequestOperations:
    """The step and cancel hook of every single-OpsRequest operation type."""

    def __init__(self, deps: HandlerDeps) -> None:
        self._deps = deps
        self._runner = OpsRequestRunner(deps)

    async def step(self, ctx: OpsContext) -> steps.StepResult:
        store = self._deps.store
        operation = ctx.operation
        database = await records.load(store, operation)
        change = changes.parse(ctx.input, database, self._deps.sizes)
        state = ctx.state
        if state.step is None:
            if change.is_noop:
                return steps.Done(f"nothing to change: {change.description}")
            check_startable(database, change)
            state = OpsRequestState(
                step="submit",
                attempt=1,
                return_to=database.status.value,
                description=change.description,
            )
            await ctx.save(state=state)
        description = state.description or change.description
        return_to = records.return_status(state.return_to)
        try:
            if state.step == "submit":
                return await self._submit(ctx, database, change, state, description)
            return await self._wait(ctx, database, change, state, description, return_to)
        except steps.PermanentError as exc:
            await self._back(
                ctx, return_to, outcome="Failed", message=f"{description} failed: {exc}"
            )
            raise

    async def _submit(
        self,
        ctx: OpsContext,
        database: Database,
        change: Change,
        state: OpsRequestState,
        description: str,
    ) -> steps.StepResult:
        during = changes.STATUS_DURING[change.type]
        manifest = self._runner.build(ctx.operation.id, database, change, attempt=state.attempt)
        await records.transition(
            self._deps.store,
            ctx.operation,
            to=during,
            outcome="Started",
            message=f"{description} started",
            fields={"operation_id": ctx.operation.id},
            previous=records.return_status(state.return_to),
        )
        name = await self._runner.create(database, manifest)
        await ctx.save(
            state=state.model_copy(update={"step": "wait"}),
            ops_request_name=name,
            ops_request_phase=None,
            progress=10,
            message=f"OpsRequest {name} created for {description}",
        )
        return steps.Wait(self._deps.timing.ops_poll, message=f"OpsRequest {name} created")

    async def _wait(
        self,
        ctx: OpsContext,
        database: Database,
        change: Change,
        state: OpsRequestState,
        description: str,
        return_to: DatabaseStatus,
    ) -> steps.StepResult:
        name = ctx.operation.ops_request_name
        if not name:  # a state written by an older run: submit again
            return await self._submit(ctx, database, change, state, description)
        check = await self._runner.check(ctx, database, name)
        match check.outcome:
            case None:
                ctx.log.warning("ops_request_missing", name=name)
                return await self._submit(ctx, database, change, state, description)
            case OpsOutcome.SUPERSEDED:
                state = state.model_copy(update={"attempt": state.attempt + 1})
                ctx.log.info("ops_request_skipped", name=name, attempt=state.attempt)
                return await self._submit(ctx, database, change, state, description)
            case OpsOutcome.IN_PROGRESS:
                return steps.Wait(
                    self._deps.timing.ops_poll, message=check.message, progress=check.progress
                )
            case OpsOutcome.SUCCEEDED:
                await records.transition(
                    self._deps.store,
                    ctx.operation,
                    to=DatabaseStatus.RUNNING,
                    outcome="Succeeded",
                    message=f"{description} done",
                    fields=dict(change.record_fields),
                    previous=changes.STATUS_DURING[change.type],
                )
                await self._runner.prune(ctx, database, name)
                return steps.Done(f"{description} done ({check.message})")
        reason = f"{check.message} (OpsRequest {name}, {check.phase})"
        await self._back(
            ctx, return_to, outcome="Failed", message=f"{description} failed: {reason}"
        )
        await self._runner.prune(ctx, database, name)
        return steps.Fail(reason)

    async def _back(
        self, ctx: OpsContext, return_to: DatabaseStatus, *, outcome: str, message: str
    ) -> None:
        """The record back to the status the change started from, if the change moved it."""
        database = await records.load(self._deps.store, ctx.operation)
        if database.status in (DatabaseStatus.SCALING, DatabaseStatus.UPDATING):
            await records.transition(
                self._deps.store,
                ctx.operation,
                to=return_to,
                outcome=outcome,
                message=message,
                previous=database.status,
            )

    async def cancel(self, ctx: OpsContext) -> None:
        database = await records.find(self._deps.store, ctx.operation)
        if database is None:
            return  # no record: nothing to undo
        await self._runner.delete_if_not_started(ctx, database)
        state = ctx.state
        description = state.description or ctx.operation.type
        await self._back(
            ctx,
            records.return_status(state.return_to),
            outcome="Cancelled",
            message=f"{description} cancelled",
        )

    async def give_up(self, ctx: OpsContext, reason: str) -> None:
        state = ctx.state
        if state.step is None:
            return  # refused before it started: nothing was changed
        database = await records.find(self._deps.store, ctx.operation)
        if database is None:
            return
        await self._runner.withdraw(ctx, database)
        description = state.description or ctx.operation.type
        await self._back(
            ctx,
            records.return_status(state.return_to),
            outcome="Failed",
            message=f"{description} failed: {reason}",
        )
