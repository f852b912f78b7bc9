"""What a step sees (`StepContext`), and `LeaseLost`, which a step must let through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from app.domain.operation_kinds import NoInput, NoState, OperationInput, OperationKind, StateT
from app.domain.operations import Operation
from app.engine import steps, transitions
from app.store import errors as store_errors
from app.store.protocols import Store

_SAVE_ATTEMPTS = 5

# Covariant: a step written for several kinds (every OpsRequest type) takes the union of
# their inputs, and a context of any one of them is a context of the union.
InputT_co = TypeVar("InputT_co", bound=OperationInput, covariant=True)


class LeaseLost(Exception):
    """This worker no longer holds the operation: another worker claimed it after our lease
    ran out. The step must stop without writing anything more."""


def untyped(op_type: str) -> OperationKind[NoInput, NoState]:
    """The kind of a type registered by name only (no input, no state of its own)."""
    return OperationKind(op_type, NoInput, NoState)


class StepContext(Generic[InputT_co, StateT]):
    """What a step sees: the operation as claimed, its input and step state as the kind's
    models, and a way to record progress."""

    def __init__(
        self,
        store: Store,
        operation: Operation,
        logger: Any,
        *,
        holder: str,
        kind: OperationKind[InputT_co, StateT] | None = None,
    ) -> None:
        self._store = store
        self._holder = holder
        self._kind: OperationKind[Any, Any] = kind or untyped(operation.type)
        self.operation = operation
        self.log = logger

    @property
    def input(self) -> InputT_co:
        """The operation's `desired_state` as its kind's input model; a document that does
        not fit is a PermanentError (the operation fails with the reason)."""
        try:
            value: InputT_co = self._kind.read_input(self.operation.desired_state)
        except ValidationError as exc:
            raise steps.PermanentError(f"desired_state: {_first_error(exc)}") from exc
        return value

    @property
    def state(self) -> StateT:
        """The step state as last saved (the model's defaults before the first save)."""
        try:
            value: StateT = self._kind.read_state(self.operation.state)
        except ValidationError as exc:
            raise steps.PermanentError(f"state: {_first_error(exc)}") from exc
        return value

    async def save(self, *, state: StateT | None = None, **fields: Any) -> Operation:
        """Record the step state and progress fields (`progress`, `message`,
        `ops_request_name`, ...).

        Compare-and-set: raises `LeaseLost` when another worker has claimed the operation
        since, so a worker that stalled past its lease cannot overwrite the new holder.
        """
        if state is not None:
            fields["state"] = _dump(state)
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


def _dump(state: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    # A mapping: a step of a type registered by name only (tools and tests).
    if isinstance(state, BaseModel):
        return state.model_dump(mode="json", exclude_none=True)
    return dict(state)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "value"
    return f"{where}: {error['msg']}"


# A helper that serves steps of several kinds and reads neither input nor state.
AnyStepContext = StepContext[Any, Any]
