"""The Database record as the handlers change it: fresh reads, field writes, and lifecycle
status changes that always leave an Event behind.

A status change is a compare-and-set on the record's revision (re-read and retried when
the status sync or the API wrote meanwhile), then an Event (reason, message, actor, from and
to status, operation id). A step run twice must not log the change twice, nor lose it when
a worker died between the write and the event: when the record already has the target
status, the event is appended only if this operation has not logged that status yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.databases import Database, DatabaseStatus
from app.domain.events import Event
from app.domain.operations import Operation
from app.engine import steps
from app.store import errors as store_errors
from app.store.protocols import Store

SYSTEM_ACTOR = "system"
_CAS_ATTEMPTS = 5
# How far back a re-run looks for the event it may already have written.
_RECENT_EVENTS = 50


def start_status(value: object) -> DatabaseStatus:
    """The status an operation kept in `state.return_to` (running if it kept none)."""
    try:
        return DatabaseStatus(str(value))
    except ValueError:
        return DatabaseStatus.RUNNING


def return_status(value: object) -> DatabaseStatus:
    """Where a change that started from `value` goes back to: paused and failed stay so,
    anything else (a stale scaling, updating) is running."""
    status = start_status(value)
    paused_or_failed = (DatabaseStatus.PAUSED, DatabaseStatus.FAILED)
    return status if status in paused_or_failed else DatabaseStatus.RUNNING


def actor(operation: Operation) -> str:
    return operation.created_by or SYSTEM_ACTOR


def reason(operation: Operation, outcome: str) -> str:
    """`ScaleHorizontalStarted`, `CreateSucceeded`, `DeleteFailed`, ..."""
    words = operation.type.replace("-", "_").split("_")
    return "".join(w.capitalize() for w in words) + outcome


async def find(store: Store, operation: Operation) -> Database | None:
    """The operation's database, read afresh, or None (a cancel hook has nothing to undo)."""
    try:
        return await store.databases.get(operation.database_id)
    except store_errors.StoreUnavailable as exc:
        raise steps.TemporaryError(f"reading the database record: {exc}") from exc


async def load(store: Store, operation: Operation) -> Database:
    """The operation's database, read afresh; a missing record fails the operation."""
    try:
        database = await store.databases.get(operation.database_id)
    except store_errors.StoreUnavailable as exc:
        raise steps.TemporaryError(f"reading the database record: {exc}") from exc
    if database is None:
        raise steps.PermanentError(f"database {operation.database_id} does not exist")
    return database


async def update(store: Store, database_id: str, fields: Mapping[str, Any]) -> Database:
    """Write fields without a status change (field-level: others' fields are untouched)."""
    try:
        return await store.databases.update_fields(database_id, fields)
    except store_errors.StoreUnavailable as exc:
        raise steps.TemporaryError(f"writing the database record: {exc}") from exc
    except store_errors.NotFound as exc:
        raise steps.PermanentError(str(exc)) from exc


async def transition(
    store: Store,
    operation: Operation,
    *,
    to: DatabaseStatus,
    outcome: str,
    message: str,
    fields: Mapping[str, Any] | None = None,
    previous: DatabaseStatus | None = None,
    current: Database | None = None,
) -> Database:
    """Move the record to status `to` (with `fields`) and log the change as an Event.

    `outcome` completes the event's reason (`Started`, `Succeeded`, `Failed`, ...);
    `previous` is the status to report as `from_status` when the record already had `to`
    (a re-run after a crash between the write and the event). `current`: the record as the
    step read it, which spares reading it again (the write is still a compare-and-set on
    its revision: a record changed since is read afresh and the write retried).
    """
    try:
        return await _transition(
            store,
            operation,
            to=to,
            outcome=outcome,
            message=message,
            fields=dict(fields or {}),
            previous=previous,
            current=current,
        )
    except store_errors.StoreUnavailable as exc:
        raise steps.TemporaryError(f"writing the database record: {exc}") from exc


async def _transition(
    store: Store,
    operation: Operation,
    *,
    to: DatabaseStatus,
    outcome: str,
    message: str,
    fields: dict[str, Any],
    previous: DatabaseStatus | None,
    current: Database | None,
) -> Database:
    changes = {**fields, "status": to, "message": message}
    for _ in range(_CAS_ATTEMPTS):
        database, current = current or await load(store, operation), None
        if database.status is to:
            updated = await update(store, database.id, changes) if fields else database
            if not await _logged(store, operation, to):
                await _append(
                    store,
                    operation,
                    updated,
                    outcome=outcome,
                    message=message,
                    from_status=previous or to,
                )
            return updated
        try:
            updated = await store.databases.update_fields(
                database.id, changes, expected_revision=database.revision
            )
        except store_errors.RevisionConflict:
            continue
        await _append(
            store, operation, updated, outcome=outcome, message=message, from_status=database.status
        )
        return updated
    raise steps.TemporaryError(f"database {operation.database_id} keeps changing")


async def _logged(store: Store, operation: Operation, to: DatabaseStatus) -> bool:
    recent = await store.events.list_for_database(operation.database_id, limit=_RECENT_EVENTS)
    return any(e.operation_id == operation.id and e.to_status == to for e in recent.items)


async def _append(
    store: Store,
    operation: Operation,
    database: Database,
    *,
    outcome: str,
    message: str,
    from_status: DatabaseStatus,
) -> None:
    await store.events.append(
        Event(
            database_id=database.id,
            domain=database.domain,
            project=database.project,
            reason=reason(operation, outcome),
            message=message,
            actor=actor(operation),
            operation_id=operation.id,
            from_status=from_status.value,
            to_status=database.status,
        )
    )
