"""`OperationEngine`: one wake-up in, one step run and its outcome recorded.

The engine re-reads the operation from the store (the queue is only a hint), claims it with
compare-and-set (`status=running` plus a lease naming this worker), runs the step registered
for its type, and records what the step said (`outcomes`). Only then is the message
acknowledged. A worker that dies mid-step leaves its message unacked and its lease to
expire; after the visibility timeout another worker reclaims the message, finds the lease
expired and runs the step again (steps are idempotent). A claimed operation whose lease is
still live is left to its holder.

Cancellation is a flag on the operation (`cancel_requested`); the engine honours it before
the next step, calling the type's cancel hook if it has one. A deadline per operation bounds
everything: no operation hangs forever. Every status it writes goes through `transitions`.

It does not read the queue: `app.workers.operation_worker` does, and hands each delivery in.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from app.broker.errors import BrokerError
from app.broker.streams import Delivery, OperationQueue
from app.domain import clock
from app.domain.operations import Operation, OperationStatus
from app.engine import outcomes, steps, transitions
from app.engine.context import AnyStepContext, LeaseLost, StepContext
from app.engine.registry import AnyHandler, EndFn, FailFn, HandlerRegistry
from app.engine.retry import RetryPolicy
from app.observability.metrics import Metrics
from app.store import errors as store_errors
from app.store.protocols import Store

# An early wake-up (due later than this) is put back rather than run ahead of its backoff.
_EARLY_TOLERANCE = timedelta(milliseconds=50)
_CLAIM_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class EngineConfig:
    visibility_timeout: float
    step_timeout: float
    retry: RetryPolicy
    read_block: float = 1.0

    @property
    def lease(self) -> float:
        # Longer than any step may run, shorter than the visibility timeout: when a message is
        # reclaimed, the lease of the worker that died holding it has already expired.
        return (self.step_timeout + self.visibility_timeout) / 2


@dataclass(frozen=True, slots=True)
class Settled:
    """A step's message is to be acknowledged, its operation woken again in `wake_in`
    seconds when given (one round trip: `OperationQueue.settle`)."""

    wake_in: float | None = None


_ACK = Settled()


class OperationEngine:
    def __init__(
        self,
        *,
        holder: str,
        store: Store,
        queue: OperationQueue,
        handlers: HandlerRegistry,
        config: EngineConfig,
        logger: Any,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        on_end: EndFn | None = None,
    ) -> None:
        self._holder = holder
        self._store = store
        self._queue = queue
        self._handlers = handlers
        self._config = config
        self._log = logger
        self._rng = rng or random.Random()
        self._metrics = metrics or Metrics()
        self._on_end = on_end

    async def process(self, delivery: Delivery) -> None:
        with structlog.contextvars.bound_contextvars(op_id=delivery.operation_id):
            operation = await self._claim(delivery)
            if operation is None:
                return
            try:
                settled: Settled | None = await self._run_claimed(operation)
            except asyncio.CancelledError:
                # Shutting down mid-step: hand the operation back so any worker can take it
                # now, instead of after the lease and the visibility timeout.
                await asyncio.shield(self._hand_back(operation, delivery))
                raise
            except LeaseLost as exc:
                self._log.warning("operation_taken_over", reason=str(exc))
                settled = None
            if settled is not None:
                # The next wake-up (if any) and the ack in one round trip. Should it fail, the
                # message is reclaimed later and the operation, recorded with its
                # next_run_at, is put back on its schedule then.
                await self._queue.settle(delivery, wake_in=settled.wake_in)

    async def _hand_back(self, operation: Operation, delivery: Delivery) -> None:
        try:
            async with asyncio.timeout(2.0):
                current = await self._store.operations.get(operation.id)
                if current is None or current.lease_owner != self._holder:
                    return
                await transitions.write(
                    self._store,
                    current,
                    {
                        "status": OperationStatus.QUEUED,
                        "next_run_at": clock.utcnow(),
                        "lease_owner": None,
                        "lease_expires_at": None,
                    },
                )
                await self._queue.enqueue(operation.id)
                await self._queue.ack(delivery)
                self._log.info("operation_handed_back")
        except (TimeoutError, store_errors.StoreError, BrokerError) as exc:
            # Left as it is: another worker takes it once lease and visibility run out.
            self._log.warning("operation_hand_back_failed", error=str(exc))

    async def _claim(self, delivery: Delivery) -> Operation | None:
        """Claim the operation for one step, or settle the message and return None."""
        for _ in range(_CLAIM_ATTEMPTS):
            operation = await self._store.operations.get(delivery.operation_id)
            if operation is None:
                self._log.warning("operation_unknown")
                await self._queue.ack(delivery)
                return None
            if not await self._claimable(operation, delivery):
                return None
            now = clock.utcnow()
            fields: dict[str, Any] = {
                "status": OperationStatus.RUNNING,
                "lease_owner": self._holder,
                "lease_expires_at": now + timedelta(seconds=self._config.lease),
                "attempts": operation.attempts + 1,
            }
            if operation.started_at is None:
                fields["started_at"] = now
            try:
                claimed = await transitions.write(self._store, operation, fields)
            except store_errors.RevisionConflict:
                continue
            if operation.status is not OperationStatus.RUNNING:
                self._log.info(
                    "operation_running", type=operation.type, db_id=operation.database_id
                )
            if operation.started_at is None:
                self._metrics.operation_started(operation.type)
            return claimed
        return None

    async def _claimable(self, operation: Operation, delivery: Delivery) -> bool:
        """False when this wake-up is not to run now (the message settled if need be)."""
        if not operation.is_active:
            await self._queue.ack(delivery)  # a duplicate wake-up for a finished operation
            return False
        now = clock.utcnow()
        if operation.lease_is_live(now) and operation.lease_owner != self._holder:
            # Another worker is in the middle of a step and will settle it. Leave the
            # message unacked: should that worker die, it is reclaimed again later.
            return False
        early = operation.next_run_at - now
        overdue = operation.deadline_at is not None and now >= operation.deadline_at
        if (
            operation.status is not OperationStatus.RUNNING
            and early > _EARLY_TOLERANCE
            and not operation.cancel_requested
            and not overdue  # woken to be failed at its deadline, not to wait on
        ):
            await self._queue.settle(delivery, wake_in=early.total_seconds())
            return False
        return True

    async def _run_claimed(self, operation: Operation) -> Settled:
        """Run one step and record its outcome: how to settle its message."""
        handler = self._handlers.get(operation.type)
        ctx: AnyStepContext = StepContext(
            self._store,
            operation,
            self._log.bind(type=operation.type),
            holder=self._holder,
            kind=None if handler is None else handler.kind,
        )
        if operation.cancel_requested:
            return await self._cancel(ctx, handler)
        if operation.deadline_at is not None and clock.utcnow() >= operation.deadline_at:
            failure = steps.Fail(outcomes.deadline_message(operation))
            return await self._finish(ctx, failure, handler)
        if handler is None:
            reason = f"no handler for operation type {operation.type!r}"
            return await self._finish(ctx, steps.Fail(reason), handler)
        result = await self._run_step(ctx, handler)
        return await self._finish(ctx, result, handler)

    async def _run_step(self, ctx: AnyStepContext, handler: AnyHandler) -> steps.StepResult:
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for runs the step as a task
            # of its own (a task per step, about a tenth of a no-op step's cost in py-spy)
            # and can swallow a cancel that lands as its timeout fires.
            async with asyncio.timeout(self._config.step_timeout):
                return await handler.step(ctx)
        except LeaseLost:
            raise
        except steps.TemporaryError as exc:
            return steps.Retry(str(exc), exc.retry_after)
        except steps.PermanentError as exc:
            return steps.Fail(str(exc))
        except TimeoutError:
            return steps.Retry(f"step did not finish within {self._config.step_timeout:g}s")
        except Exception as exc:
            ctx.log.error("operation_step_crashed", exc_info=exc)
            return steps.Retry(f"{type(exc).__name__}: {exc}")

    async def _renew_lease(self, ctx: AnyStepContext) -> None:
        """Before a hook, which is a step of its own: it must never run while another worker
        could take the operation over (raises LeaseLost)."""
        await ctx.save(lease_expires_at=clock.utcnow() + timedelta(seconds=self._config.lease))

    async def _cancel(self, ctx: AnyStepContext, handler: AnyHandler | None) -> Settled:
        if handler is not None and handler.on_cancel is not None:
            await self._renew_lease(ctx)
            try:
                await asyncio.wait_for(handler.on_cancel(ctx), self._config.step_timeout)
            except LeaseLost:
                raise
            except Exception as exc:
                ctx.log.error("operation_cancel_hook_failed", exc_info=exc)
                retry = steps.Retry(f"cancelling: {type(exc).__name__}: {exc}")
                return await self._finish(ctx, retry, handler, cancellable=False)
        await self._write_outcome(ctx, outcomes.cancelled(), "operation_cancelled")
        return _ACK

    async def _finish(
        self,
        ctx: AnyStepContext,
        result: steps.StepResult,
        handler: AnyHandler | None,
        *,
        cancellable: bool = True,
    ) -> Settled:
        outcome = outcomes.of(ctx.operation, result, policy=self._config.retry, rng=self._rng)
        if outcome.retry_note is not None:
            self._log.warning("operation_retry_scheduled", **outcome.retry_note)
        fields = outcome.fields
        if outcome.status is OperationStatus.FAILED and handler is not None and handler.on_fail:
            await self._failure_hook(ctx, handler.on_fail, str(fields["error_message"]))
            fields["completed_at"] = clock.utcnow()
        terminal = outcome.status.is_terminal
        written = await self._write_outcome(
            ctx, fields, outcome.event, cancellable=cancellable and not terminal
        )
        if written and outcome.wake_in is not None:
            return Settled(wake_in=outcome.wake_in)
        return _ACK

    async def _failure_hook(self, ctx: AnyStepContext, hook: FailFn[Any, Any], reason: str) -> None:
        """Let the handler put things back (a pending OpsRequest removed, the record's
        transitional status undone) before the operation is recorded failed.

        Runs for every failure, the handler's own and the engine's (deadline, retry limit),
        so hooks must be idempotent. Best effort: the operation fails either way, a hook
        that cannot finish is logged and the status sync corrects the record later.
        """
        await self._renew_lease(ctx)
        try:
            await asyncio.wait_for(hook(ctx, reason), self._config.step_timeout)
        except LeaseLost:
            raise
        except Exception as exc:
            ctx.log.error("operation_failure_hook_failed", exc_info=exc)

    async def _write_outcome(
        self,
        ctx: AnyStepContext,
        fields: dict[str, Any],
        event: str,
        *,
        cancellable: bool = False,
    ) -> bool:
        """Write the step's outcome with compare-and-set.

        False when there is nothing to write (the operation ended meanwhile, or a cancel
        request took precedence and was carried out); raises `LeaseLost` when another worker
        holds the operation now.
        """
        operation = ctx.operation
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                ctx.operation = await transitions.write(self._store, operation, fields)
            except store_errors.RevisionConflict as conflict:
                current = await self._store.operations.get(operation.id)
                if current is None or not current.is_active:
                    return False
                if current.lease_owner != self._holder:
                    raise LeaseLost(f"operation taken over by {current.lease_owner}") from conflict
                if cancellable and current.cancel_requested:
                    ctx.operation = current
                    await self._cancel(ctx, self._handlers.get(current.type))
                    return False
                operation = current
                continue
            log_fields = {
                k: fields[k] for k in ("progress", "message", "error_message") if fields.get(k)
            }
            ctx.log.info(event, status=str(fields["status"]), **log_fields)
            self._note_end(ctx.operation)
            await self._after_end(ctx)
            return True
        ctx.log.error("operation_outcome_not_written", event=event)
        return False

    async def _after_end(self, ctx: AnyStepContext) -> None:
        """The `on_end` hook, for an operation that just ended: best effort, since the
        outcome is written already (the hook must be idempotent and repair itself later)."""
        if self._on_end is None or not ctx.operation.status.is_terminal:
            return
        try:
            await asyncio.wait_for(self._on_end(ctx.operation), self._config.step_timeout)
        except Exception as exc:
            ctx.log.error("operation_end_hook_failed", exc_info=exc)

    def _note_end(self, operation: Operation) -> None:
        if operation.status.is_terminal:
            ended = operation.completed_at or clock.utcnow()
            self._metrics.operation_finished(
                operation.type,
                str(operation.status),
                (ended - operation.created_at).total_seconds(),
            )
