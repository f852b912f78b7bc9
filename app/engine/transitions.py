"""Every write the engine makes to an operation, checked against the state machine.

`app.domain.operations` holds the one table of legal status moves (the store adapters need
it too, and they sit below the engine). Here each write that carries a `status` is checked
against the operation as last read before it reaches the store, so an illegal move is an
`IllegalTransition` at the line that attempted it; the store refuses it again, atomically,
against the stored document (a compare-and-set that also names the statuses it may start
from), for writers outside the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.operations import Operation, OperationStatus, check_transition
from app.store.protocols import Store


def check(operation: Operation, fields: Mapping[str, Any]) -> None:
    """Raise `IllegalTransition` if `fields` move `operation`'s status illegally."""
    if "status" in fields:
        check_transition(operation.status, OperationStatus(fields["status"]))


async def write(store: Store, operation: Operation, fields: Mapping[str, Any]) -> Operation:
    """Compare-and-set `fields` on `operation` (at the revision it was read at)."""
    check(operation, fields)
    return await store.operations.update_fields(
        operation.id, fields, expected_revision=operation.revision
    )
