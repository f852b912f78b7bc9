"""What a step sees (`StepContext`), and `LeaseLost`, which a step must let through."""

from __future__ import annotations

from typing import Any

from app.domain.operations import Operation
from app.engine import transitions
from app.store import errors as store_errors
from app.store.protocols import Store

_SAVE_ATTEMPTS = 5


class LeaseLost(Exception):
    """This worker no longer holds the operation: another worker claimed it after our lease
    ran out. The step must stop without writing anything more."""


class StepContext:
    """What a step sees: the operation as claimed, and a way to record progress."""

    def __init__(self, store: Store, operation: Operation, logger: Any, *, holder: str) -> None:
        self._store = store
        self._holder = holder
        self.operation = operation
        self.log = logger

    async def save(self, **fields: Any) -> Operation:
        """Record progress fields (`progress`, `message`, `state`, `ops_request_name`, ...).

        Compare-and-set: raises `LeaseLost` when another worker has claimed the operation
        since, so a worker that stalled past its lease cannot overwrite the new holder.
        """
        for _ in range(_SAVE_ATTEMPTS):
            try:
                self.operation = await transitions.write(self._store, self.operation, fields)
                return self.operation
            except store_errors.RevisionConflict as conflict:
                current = await self._store.operations.get(self.operation.id)
                if current is None or not current.is_active or current.lease_owner != self._holder:
                    raise LeaseLost(
                        f"operation {self.operation.id} was claimed by another worker"
                    ) from conflict
                self.operation = current  # changed by someone else (a cancel request): retry
        raise LeaseLost(f"operation {self.operation.id} keeps changing under this worker")
