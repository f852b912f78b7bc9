"""`update`: several changes from one PATCH, run one after another in a fixed order, each
OpsRequest change as its own OpsRequest (KubeDB runs one operation per request, §5.1).

desired_state holds the PATCH's fields (only those given), with their new values:

    settings   labels, annotations (whole maps), monitoring_enabled, deletion_protection,
               backup_enabled, backup_schedule, backup_retention_days, backup_storage,
               pitr_enabled
    OpsRequest storage_gb, size, replicas, version

Order (the plan is fixed when the operation starts, kept in `state.plan`, and values equal
to the record's are left out):

    1. settings         the CR's labels and annotations (merge patch: removed keys -> null,
                        keys others set are left alone) and spec.monitor; the backup policy
                        (the BackupConfiguration and RetentionPolicy, and the archiver
                        and the CR's opt-in for pitr_enabled, `initial_restore.configure`);
                        then the record. Cheap, reversible, no OpsRequest.
    2. expand_storage   first, so members added by step 4 get the larger volume; online.
    3. scale_vertical   before scaling out, so new members start with the new size and the
                        database restarts its pods once rather than twice.
    4. scale_horizontal
    5. upgrade_version  last: the riskiest change runs on the final shape, and if it fails
                        every capacity change before it stays applied.

The record shows `updating` throughout. Each OpsRequest change that succeeds is written to
the record at once; if one fails, the ones before it stay applied, the rest are not tried,
the record goes back to the status it started from (running) and the operation fails
naming what was and was not applied. The service must not write these fields to the record
itself: the handler compares against the record to build each patch and OpsRequest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from app.cluster import errors
from app.domain import errors as domain_errors
from app.domain import validation
from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import JsonObject, database_cr
from app.domain.operation_kinds import PlannedChange, UpdateInput, UpdateState
from app.domain.operations import OperationType
from app.domain.sizes import SizeTable
from app.domain.status_mapping import OpsOutcome
from app.engine import steps
from app.engine.context import StepContext
from app.services.handlers import changes, initial_restore, records
from app.services.handlers.changes import Change
from app.services.handlers.cluster_errors import translated
from app.services.handlers.deps import HandlerDeps
from app.services.handlers.desired_spec import desired_for
from app.services.handlers.opsrequests import STARTABLE, OpsRequestRunner, check_startable

UpdateContext = StepContext[UpdateInput, UpdateState]
SETTINGS_FIELDS = validation.SETTINGS_FIELDS
# (operation type, desired_state key, the change's own key), in the order they run.
OPS_ORDER = (
    (OperationType.EXPAND_STORAGE, "storage_gb", "storage_gb"),
    (OperationType.SCALE_VERTICAL, "size", "size"),
    (OperationType.SCALE_HORIZONTAL, "replicas", "replicas"),
    (OperationType.UPGRADE_VERSION, "version", "target_version"),
)
SETTINGS_STARTABLE = STARTABLE | {DatabaseStatus.PAUSED, DatabaseStatus.FAILED}
_SETTINGS: Literal["settings"] = "settings"
_BACKUP_POLICY = frozenset(
    {
        "backup_enabled",
        "backup_schedule",
        "backup_retention_days",
        "backup_retention_count",
        "backup_storage",
        "pitr_enabled",
    }
)


def plan_for(
    wanted: UpdateInput,
    database: Database,
    runner: OpsRequestRunner,
    sizes: SizeTable,
    *,
    operation_id: str,
) -> list[PlannedChange]:
    """The update's steps, in order, leaving out values the record already has. Each
    OpsRequest is built once here, so a change a rule refuses (a replica rule, shrinking
    storage) fails the update before anything has moved."""
    given = wanted.model_dump(exclude_none=True, exclude={"type"})
    plan: list[PlannedChange] = []
    try:
        checked = validation.check_settings(given)
    except domain_errors.InvalidValue as exc:
        raise steps.PermanentError(str(exc)) from exc
    settings = {key: value for key, value in checked.items() if value != getattr(database, key)}
    if settings:
        plan.append(
            PlannedChange(
                kind=_SETTINGS, values=settings, description=f"settings ({', '.join(settings)})"
            )
        )
    for op_type, key, change_key in OPS_ORDER:
        if key not in given:
            continue
        wanted_change = changes.read(op_type.value, {change_key: given[key]})
        change = changes.parse(wanted_change, database, sizes)
        if not change.is_noop:
            runner.build(operation_id, database, change, attempt=1)
            plan.append(change.to_plan())
    return plan


class Update:
    def __init__(self, deps: HandlerDeps) -> None:
        self._deps = deps
        self._runner = OpsRequestRunner(deps)

    async def step(self, ctx: UpdateContext) -> steps.StepResult:
        store = self._deps.store
        database = await records.load(store, ctx.operation)
        state = ctx.state
        if state.plan is None:
            plan = plan_for(
                ctx.input,
                database,
                self._runner,
                self._deps.sizes,
                operation_id=ctx.operation.id,
            )
            if not plan:
                return steps.Done("nothing to change")
            self._check_startable(database, plan)
            state = UpdateState(
                plan=plan, index=0, step="start", attempt=1, return_to=database.status.value
            )
            await ctx.save(state=state)
        try:
            return await self._run(ctx, state)
        except steps.PermanentError as exc:
            return await self._fail(ctx, ctx.state, str(exc))

    def _check_startable(self, database: Database, plan: list[PlannedChange]) -> None:
        first_ops = next((p for p in plan if p.kind != _SETTINGS), None)
        if first_ops is not None:
            check_startable(database, changes.from_plan(first_ops, database, self._deps.sizes))
        elif database.status not in SETTINGS_STARTABLE:
            raise steps.PermanentError(f"cannot update a database that is {database.status}")

    async def _run(self, ctx: UpdateContext, state: UpdateState) -> steps.StepResult:
        plan = state.plan or []
        if state.step == "start":
            await records.transition(
                self._deps.store,
                ctx.operation,
                to=DatabaseStatus.UPDATING,
                outcome="Started",
                message="update started: " + "; ".join(p.description for p in plan),
                fields={"operation_id": ctx.operation.id},
                previous=records.start_status(state.return_to),
            )
            state = state.model_copy(update={"step": "submit"})
            await ctx.save(state=state)
        while state.index < len(plan):
            item = plan[state.index]
            database = await records.load(self._deps.store, ctx.operation)
            if item.kind == _SETTINGS:
                await self._apply_settings(database, item.values or {})
                await self._apply_backup_policy(ctx, database, item.values or {})
                state = await self._advance(ctx, state, item.description)
                continue
            change = changes.from_plan(item, database, self._deps.sizes)
            if state.step == "submit":
                return await self._submit(ctx, database, change, state)
            result = await self._check(ctx, database, change, state)
            if isinstance(result, UpdateState):
                state = result
                continue
            return result
        return await self._succeed(ctx, state)

    async def _submit(
        self, ctx: UpdateContext, database: Database, change: Change, state: UpdateState
    ) -> steps.StepResult:
        name = await self._runner.submit(ctx, database, change, attempt=state.attempt)
        state = state.model_copy(update={"step": "wait"})
        await ctx.save(
            state=state,
            ops_request_name=name,
            ops_request_phase=None,
            progress=_progress(state, 10),
            message=f"OpsRequest {name} created for {change.description}",
        )
        return steps.Wait(self._deps.timing.ops_poll, message=f"OpsRequest {name} created")

    async def _check(
        self, ctx: UpdateContext, database: Database, change: Change, state: UpdateState
    ) -> steps.StepResult | UpdateState:
        """A step result, or the state to carry on with (the change is done)."""
        name = ctx.operation.ops_request_name
        if not name:
            return await self._submit(ctx, database, change, state)
        check = await self._runner.check(ctx, database, name)
        if check.outcome is None:
            ctx.log.warning("ops_request_missing", name=name)
            return await self._submit(ctx, database, change, state)
        if check.outcome is OpsOutcome.SUPERSEDED:
            state = state.model_copy(update={"attempt": state.attempt + 1})
            return await self._submit(ctx, database, change, state)
        if check.outcome is OpsOutcome.IN_PROGRESS:
            return steps.Wait(
                self._deps.timing.ops_poll,
                message=check.message,
                progress=_progress(state, check.progress),
            )
        await self._runner.prune(ctx, database, name)
        if check.outcome is OpsOutcome.SUCCEEDED:
            await records.update(self._deps.store, database.id, dict(change.record_fields))
            return await self._advance(ctx, state, change.description)
        reason = f"{change.description} failed: {check.message} (OpsRequest {name})"
        return await self._fail(ctx, state, reason)

    async def _advance(
        self, ctx: UpdateContext, state: UpdateState, description: str
    ) -> UpdateState:
        state = state.model_copy(
            update={
                "index": state.index + 1,
                "step": "submit",
                "attempt": 1,
                "applied": [*state.applied, description],
            }
        )
        await ctx.save(state=state, progress=_progress(state, 0), message=f"{description}: done")
        return state

    async def _apply_settings(self, database: Database, values: Mapping[str, Any]) -> None:
        patch = self._settings_patch(database, values)
        if patch and database.namespace is not None:
            desired = desired_for(database, self._deps.sizes)
            resource = desired.engine_spec.database_resource
            with translated(f"updating {resource.kind} {desired.namespace}/{desired.name}"):
                try:
                    await (await self._deps.cluster_for(database)).merge_patch(
                        resource, desired.name, patch, namespace=desired.namespace
                    )
                except errors.NotFound:
                    if database.status is not DatabaseStatus.FAILED:
                        raise steps.PermanentError(
                            f"{resource.kind} {desired.namespace}/{desired.name} does not "
                            "exist in the cluster"
                        ) from None
        await records.update(self._deps.store, database.id, dict(values))

    async def _apply_backup_policy(
        self, ctx: UpdateContext, database: Database, values: Mapping[str, Any]
    ) -> None:
        if database.namespace is None or not _BACKUP_POLICY.intersection(values):
            return
        wanted = database.model_copy(update=dict(values))
        gateway = await self._deps.cluster_for(database)
        await initial_restore.configure(self._deps, gateway, wanted, ctx.log)

    def _settings_patch(self, database: Database, values: Mapping[str, Any]) -> JsonObject:
        patch: JsonObject = {}
        previous = desired_for(database, self._deps.sizes)
        if "labels" in values or "annotations" in values:
            try:
                wanted = previous.replace(
                    labels=values.get("labels", database.labels),
                    annotations=values.get("annotations", database.annotations),
                )
            except ValueError as exc:
                raise steps.PermanentError(str(exc)) from exc
            patch.update(database_cr.metadata_patch(previous, wanted))
        if "monitoring_enabled" in values:
            enabled = bool(values["monitoring_enabled"])
            patch.update(database_cr.monitor_patch(enabled, monitoring=self._deps.monitoring))
        return patch

    async def _succeed(self, ctx: UpdateContext, state: UpdateState) -> steps.StepResult:
        applied = "; ".join(state.applied)
        await records.transition(
            self._deps.store,
            ctx.operation,
            to=_final(state),
            outcome="Succeeded",
            message=f"update done: {applied}",
            previous=DatabaseStatus.UPDATING,
        )
        return steps.Done(f"update done: {applied}")

    async def _fail(self, ctx: UpdateContext, state: UpdateState, reason: str) -> steps.Fail:
        message = _failure_message(state, reason)
        database = await records.load(self._deps.store, ctx.operation)
        if database.status is DatabaseStatus.UPDATING:
            await records.transition(
                self._deps.store,
                ctx.operation,
                to=_final(state),
                outcome="Failed",
                message=message,
                previous=DatabaseStatus.UPDATING,
            )
        return steps.Fail(message)

    async def give_up(self, ctx: UpdateContext, reason: str) -> None:
        """The failure hook: the current OpsRequest withdrawn if not started, the record
        back (a no-op after `_fail`, which has done both)."""
        state = ctx.state
        if state.plan is None:
            return  # refused before it started
        database = await records.find(self._deps.store, ctx.operation)
        if database is None:
            return
        await self._runner.withdraw(ctx, database)
        if database.status is DatabaseStatus.UPDATING:
            await records.transition(
                self._deps.store,
                ctx.operation,
                to=_final(state),
                outcome="Failed",
                message=_failure_message(state, reason),
                previous=DatabaseStatus.UPDATING,
            )

    async def cancel(self, ctx: UpdateContext) -> None:
        database = await records.find(self._deps.store, ctx.operation)
        if database is None:
            return  # no record: nothing to undo
        await self._runner.delete_if_not_started(ctx, database)
        if database.status is DatabaseStatus.UPDATING:
            await records.transition(
                self._deps.store,
                ctx.operation,
                to=_final(ctx.state),
                outcome="Cancelled",
                message="update cancelled; applied: " + (", ".join(ctx.state.applied) or "nothing"),
                previous=DatabaseStatus.UPDATING,
            )


def _failure_message(state: UpdateState, reason: str) -> str:
    """The reason, then what was and was not applied."""
    plan = state.plan or []
    applied = state.applied
    rest = [p.description for p in plan[len(applied) :]]
    message = reason
    if applied:
        message += f"; applied: {', '.join(applied)}"
    if rest:
        message += f"; not applied: {', '.join(rest)}"
    return message


def _final(state: UpdateState) -> DatabaseStatus:
    """Back to where the update started: paused and failed stay so, the rest is running."""
    return records.return_status(state.return_to)


def _progress(state: UpdateState, within: int) -> int:
    total = max(1, len(state.plan or []))
    return min(99, (state.index * 100 + within) // total)
