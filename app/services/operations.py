"""Submitting and cancelling operations: the API's (and the reconciler's) way into the engine.

`submit` writes the operation to the store first (which enforces one active operation per
database) and only then wakes a worker. If the wake-up cannot be sent, the operation is still
safe in the store: the reconciler's stalled-operation pass re-sends it. So an accepted
operation is never lost, whatever Redis does.

Once `submit` returns, the request is accepted (202): the caller's writes that follow go
through `after_queueing`, which logs a failure naming the call and carries on, so a client
is never told to retry work that is already running (issue 12, item 20).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from app.broker.errors import BrokerError
from app.domain import clock
from app.domain.databases import Database
from app.domain.operation_kinds import InputT, OperationKind
from app.domain.operations import Operation
from app.observability.log import get_logger
from app.services.errors import ServiceError
from app.services.ports import OperationQueue
from app.store import errors
from app.store.protocols import Fence, OperationFilter, Page, Store

log = get_logger(__name__)

T = TypeVar("T")


# A deletion under way cannot be undone: cancelling it would strand the record in `deleting`.
NOT_CANCELLABLE = frozenset({"delete"})


def cancellable(operation: Operation) -> bool:
    """May a cancellation be asked for now: active, and not a deletion."""
    return operation.is_active and operation.type not in NOT_CANCELLABLE


class OperationNotFound(ServiceError):
    status = 404
    code = "not_found"

    def __init__(self, operation_id: str) -> None:
        super().__init__(f"operation {operation_id} not found")
        self.operation_id = operation_id


class OperationNotCancellable(ServiceError):
    status = 409
    code = "operation_not_cancellable"

    def __init__(self, operation: Operation) -> None:
        why = (
            f"a {operation.type} operation cannot be cancelled"
            if operation.is_active
            else f"operation {operation.id} has already {operation.status}"
        )
        super().__init__(why, details={"status": operation.status.value})
        self.operation = operation


@dataclass(frozen=True, slots=True)
class OperationDefaults:
    deadline: float  # seconds from submission


class OperationService:
    def __init__(self, store: Store, queue: OperationQueue, defaults: OperationDefaults) -> None:
        self._store = store
        self._queue = queue
        self._defaults = defaults

    async def submit(
        self,
        kind: OperationKind[InputT, Any],
        wanted: InputT,
        *,
        database_id: str,
        domain: str,
        project: str,
        created_by: str | None = None,
        deadline: float | None = None,
        fence: Fence | None = None,
    ) -> Operation:
        """An operation of `kind` asking for `wanted` (its input model, stored as
        `desired_state`). Raises `store.errors.OperationInProgress` when the database has an
        active one; with `fence` (the reconciler's epoch), `store.errors.Fenced` when it is
        stale."""
        operation = self._new(
            database_id=database_id,
            domain=domain,
            project=project,
            type=kind.type,
            desired_state=kind.dump_input(wanted),
            created_by=created_by,
            deadline=deadline,
        )
        await self._store.operations.create_active(operation, fence=fence)
        await self._queued(operation)
        return operation

    async def submit_with_record(
        self,
        database: Database,
        kind: OperationKind[InputT, Any],
        wanted: InputT,
        *,
        created_by: str | None,
    ) -> tuple[Database, Operation]:
        """A new database's record and its first operation in one store write
        (`Store.create_database`). Raises `store.errors.DuplicateName`."""
        operation = self._new(
            database_id=database.id,
            domain=database.domain,
            project=database.project,
            type=kind.type,
            desired_state=kind.dump_input(wanted),
            created_by=created_by,
        )
        database = database.model_copy(update={"operation_id": operation.id})
        await self._store.create_database(database, operation)
        await self._queued(operation)
        return database, operation

    def _new(
        self,
        *,
        database_id: str,
        domain: str,
        project: str,
        type: str,
        desired_state: dict[str, Any],
        created_by: str | None,
        deadline: float | None = None,
    ) -> Operation:
        now = clock.utcnow()
        return Operation(
            database_id=database_id,
            domain=domain,
            project=project,
            type=type,
            desired_state=desired_state,
            created_by=created_by,
            created_at=now,
            next_run_at=now,
            deadline_at=clock.later(deadline or self._defaults.deadline, start=now),
        )

    async def _queued(self, operation: Operation) -> None:
        log.info(
            "operation_queued", op_id=operation.id, db_id=operation.database_id, type=operation.type
        )
        await self._wake(operation.id)

    async def get(self, operation_id: str) -> Operation | None:
        """The operation, or None when there is none with that id."""
        return await self._store.operations.get(operation_id)

    async def page(self, where: OperationFilter, *, offset: int, limit: int) -> Page[Operation]:
        """Operations matching `where`, newest first."""
        return await self._store.operations.list(where, offset=offset, limit=limit)

    async def request_cancel(self, operation_id: str) -> Operation:
        """Ask for cancellation; a worker carries it out at the operation's next step.

        Raises `OperationNotFound` or `OperationNotCancellable` (already ended).
        """
        operation = await self._store.operations.get(operation_id)
        if operation is None:
            raise OperationNotFound(operation_id)
        if not cancellable(operation):
            raise OperationNotCancellable(operation)
        operation = await self._store.operations.update_fields(
            operation_id, {"cancel_requested": True}
        )
        log.info("operation_cancel_requested", op_id=operation_id)
        await self._wake(operation_id)
        return operation

    async def _wake(self, operation_id: str) -> None:
        try:
            await self._queue.enqueue(operation_id)
        except BrokerError as exc:
            # Safe to continue: the stalled-operation pass re-sends the wake-up.
            log.warning("operation_wakeup_deferred", op_id=operation_id, error=str(exc))


async def after_queueing(operation: Operation, call: str, write: Awaitable[T], *, fallback: T) -> T:
    """A store write after `operation` was queued: best effort. A store failure is logged
    with the call's name and `fallback` stands in for its result."""
    try:
        return await write
    except errors.StoreError as exc:
        log.warning(
            "operation_followup_failed",
            op_id=operation.id,
            db_id=operation.database_id,
            call=call,
            error=str(exc),
        )
        return fallback
