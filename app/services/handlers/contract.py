"""What a database handler needs from the operation engine, as protocols.

The engine (`app.workers.operation_worker`) sits above the services in the layer contract,
so the handlers cannot import its `StepContext` and `HandlerRegistry`. They are written
against these protocols instead; the engine's classes satisfy them structurally, and
`app.main` passes the engine's registry to `register_database_handlers`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from app.domain import steps
from app.domain.operations import Operation


class StepContext(Protocol):
    """The operation as claimed (fresh from the store) and a way to record progress."""

    @property
    def operation(self) -> Operation: ...

    @property
    def log(self) -> Any: ...

    async def save(self, **fields: Any) -> Operation:
        """Compare-and-set on the operation; raises the engine's `LeaseLost` when another
        worker holds it now (the step must then end without writing anything more)."""
        ...


StepFn = Callable[[StepContext], Awaitable[steps.StepResult]]
CancelFn = Callable[[StepContext], Awaitable[None]]
# Called with the reason before the operation is recorded failed (also when the engine
# fails it: retry limit, deadline); must be idempotent and should not raise.
FailFn = Callable[[StepContext, str], Awaitable[None]]


class HandlerRegistry(Protocol):
    def register(
        self,
        op_type: str,
        step: StepFn,
        *,
        on_cancel: CancelFn | None = None,
        on_fail: FailFn | None = None,
    ) -> None: ...
