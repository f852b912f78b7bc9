"""`pause` and `resume`: KubeDB's `spec.halted` (reference §1.6). desired_state: {}.

    start   pause needs a running database, resume a paused one (already there: Done);
            `state.return_to` keeps the status to go back to if it fails
    patch   record -> pausing | resuming; merge patch `database_cr.halt_patch` (halted, and
            the deletion policy KubeDB forces to Halt while halted, restored on resume)
    wait    until the CR's phase is Halted (pause) or Ready / Critical (resume: serving,
            Critical with a degraded health): record -> paused (ready replicas 0) | running.
            The operation's deadline bounds the wait.
    cancel  the record takes the status the CR's phase says (Halted: paused; Ready,
            Critical, NotReady: running); the patch, if made, stays.
    give_up the same when the operation fails (its deadline, the retry limit); a cluster
            that cannot be read sends the record back to where it started.
A database CR that is gone fails the operation: a missing object is reported, not skipped.
A drift fix (desired_state `{"observed": {"halted": bool}}`, from the reconciler) runs on a
record that already says paused / running: it goes through pausing / resuming and back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.cluster import errors
from app.domain import status_mapping, sync
from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import database_cr
from app.domain.manifests.desired import DesiredDatabase
from app.domain.operation_kinds import HaltState, PauseInput, ResumeInput
from app.domain.status_mapping import DatabasePhase
from app.engine import steps
from app.engine.context import StepContext
from app.services.handlers import records
from app.services.handlers.cluster_errors import translated
from app.services.handlers.deps import HandlerDeps
from app.services.handlers.desired_spec import desired_for
from app.services.ports import ClusterGateway

# pause and resume share the handler: a context of either kind.
HaltContext = StepContext[PauseInput | ResumeInput, HaltState]


@dataclass(frozen=True, slots=True)
class _Direction:
    halted: bool
    verb: str
    start_from: DatabaseStatus
    during: DatabaseStatus
    final: DatabaseStatus
    phases: frozenset[DatabasePhase]  # the phases that mean "there"

    @property
    def wanted(self) -> str:
        return " or ".join(sorted(p.value for p in self.phases))


PAUSE = _Direction(
    True,
    "pause",
    DatabaseStatus.RUNNING,
    DatabaseStatus.PAUSING,
    DatabaseStatus.PAUSED,
    frozenset({DatabasePhase.HALTED}),
)
RESUME = _Direction(
    False,
    "resume",
    DatabaseStatus.PAUSED,
    DatabaseStatus.RESUMING,
    DatabaseStatus.RUNNING,
    frozenset({DatabasePhase.READY, DatabasePhase.CRITICAL}),
)


class Halting:
    def __init__(self, deps: HandlerDeps) -> None:
        self._deps = deps

    async def pause(self, ctx: HaltContext) -> steps.StepResult:
        return await self._step(ctx, PAUSE)

    async def resume(self, ctx: HaltContext) -> steps.StepResult:
        return await self._step(ctx, RESUME)

    async def cancel(self, ctx: HaltContext) -> None:
        await self._settle(ctx, "Cancelled", f"{ctx.operation.type} cancelled")

    async def give_up(self, ctx: HaltContext, reason: str) -> None:
        try:
            await self._settle(ctx, "Failed", f"{ctx.operation.type} failed: {reason}")
        except steps.TemporaryError as exc:  # the cluster cannot be read: back to the start
            ctx.log.warning("halt_phase_unknown", error=str(exc))
            await self._settle(
                ctx, "Failed", f"{ctx.operation.type} failed: {reason}", phase=DatabasePhase.UNSET
            )

    async def _settle(
        self, ctx: HaltContext, outcome: str, message: str, *, phase: DatabasePhase | None = None
    ) -> None:
        """The record out of pausing / resuming, to the status the CR's phase says (or, with
        no phase, the status the operation started from)."""
        database = await records.find(self._deps.store, ctx.operation)
        if database is None:
            return  # no record: nothing to undo
        if database.status not in (DatabaseStatus.PAUSING, DatabaseStatus.RESUMING):
            return
        if ctx.input.observed is not None:
            phase = DatabasePhase.UNSET  # a drift fix goes back to what the user asked for
        if phase is None:
            desired = desired_for(database, self._deps.sizes)
            found = await self._find(desired, await self._deps.cluster_for(database))
            phase = status_mapping.observe_database(found).phase if found else (DatabasePhase.UNSET)
        status = status_mapping.lifecycle_status(
            phase, current=database.status, operation_active=False
        )
        if status in (DatabaseStatus.PAUSING, DatabaseStatus.RESUMING):
            status = records.start_status(ctx.state.return_to)
        await records.transition(
            self._deps.store,
            ctx.operation,
            to=status,
            outcome=outcome,
            message=f"{message} (phase {phase.value or 'not known'})",
            previous=database.status,
        )

    async def _step(self, ctx: HaltContext, way: _Direction) -> steps.StepResult:
        operation = ctx.operation
        database = await records.load(self._deps.store, operation)
        state = ctx.state
        # A drift fix: the record says `way.final` already, the CR does not (someone halted
        # or resumed it in the cluster); the record goes through `way.during` and back.
        drift = ctx.input.observed is not None
        if state.step is None:
            if database.status is way.final and not drift:
                return steps.Done(f"database is already {way.final}")
            allowed = {way.start_from, way.during} | ({way.final} if drift else set())
            if database.status not in allowed:
                raise steps.PermanentError(
                    f"cannot {way.verb} a database that is {database.status}"
                )
            start = database.status if drift else way.start_from
            state = HaltState(step="patch", return_to=start.value)
            await ctx.save(state=state)
        desired = desired_for(database, self._deps.sizes)
        gateway = await self._deps.cluster_for(database)
        try:
            if state.step == "patch":
                return await self._patch(ctx, desired, gateway, way, state)
            return await self._wait(ctx, database, desired, gateway, way)
        except steps.PermanentError as exc:
            current = await records.load(self._deps.store, operation)
            if current.status is way.during:
                await records.transition(
                    self._deps.store,
                    operation,
                    to=records.start_status(state.return_to),
                    outcome="Failed",
                    message=f"{way.verb} failed: {exc}",
                    previous=way.during,
                )
            raise

    async def _patch(
        self,
        ctx: HaltContext,
        desired: DesiredDatabase,
        gateway: ClusterGateway,
        way: _Direction,
        state: HaltState,
    ) -> steps.StepResult:
        await records.transition(
            self._deps.store,
            ctx.operation,
            to=way.during,
            outcome="Started",
            message=f"{way.verb} requested",
            fields={"operation_id": ctx.operation.id},
            previous=records.start_status(state.return_to),
        )
        resource = desired.engine_spec.database_resource
        with translated(f"setting spec.halted on {desired.namespace}/{desired.name}"):
            try:
                await gateway.merge_patch(
                    resource,
                    desired.name,
                    database_cr.halt_patch(desired, halted=way.halted),
                    namespace=desired.namespace,
                )
            except errors.NotFound:
                raise steps.PermanentError(_missing(desired)) from None
        await ctx.save(
            state=state.model_copy(update={"step": "wait"}),
            progress=30,
            message=f"spec.halted set to {str(way.halted).lower()}",
        )
        return steps.Wait(self._deps.timing.halt_poll, message=f"waiting for phase {way.wanted}")

    async def _wait(
        self,
        ctx: HaltContext,
        database: Database,
        desired: DesiredDatabase,
        gateway: ClusterGateway,
        way: _Direction,
    ) -> steps.StepResult:
        found = await self._find(desired, gateway)
        if found is None:
            raise steps.PermanentError(_missing(desired))
        observed = status_mapping.observe_database(found)
        # Trust the phase only once the operator has seen the patched spec (§2).
        seen = observed.is_current or observed.observed_generation is None
        if observed.phase not in way.phases or not seen:
            return steps.Wait(
                self._deps.timing.halt_poll,
                progress=60,
                message=f"phase {observed.raw_phase or 'not set'}; waiting for {way.wanted}",
            )
        await records.transition(
            self._deps.store,
            ctx.operation,
            to=way.final,
            outcome="Succeeded",
            message=f"database {way.final}",
            fields={
                **sync.observed_fields(observed),
                "ready_replicas": 0 if way.halted else database.replicas,
            },
            previous=way.during,
        )
        return steps.Done(f"database {way.final}")

    async def _find(
        self, desired: DesiredDatabase, gateway: ClusterGateway
    ) -> dict[str, Any] | None:
        resource = desired.engine_spec.database_resource
        with translated(f"reading {resource.kind} {desired.namespace}/{desired.name}"):
            return await gateway.find(resource, desired.name, namespace=desired.namespace)


def _missing(desired: DesiredDatabase) -> str:
    return (
        f"{desired.engine_spec.kind} {desired.namespace}/{desired.name} does not exist in the "
        "cluster; the database must be created again"
    )
