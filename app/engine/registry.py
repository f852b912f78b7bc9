"""Which handler runs which operation type: the step, and its optional cancel and failure
hooks. `app.main` fills one registry (`services.handlers.register_database_handlers`) and
gives it to every worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from app.domain.operations import Operation
from app.engine import steps
from app.engine.context import StepContext

StepFn = Callable[[StepContext], Awaitable[steps.StepResult]]
CancelFn = Callable[[StepContext], Awaitable[None]]
# Called with the reason before the operation is recorded failed (also when the engine
# fails it: retry limit, deadline); must be idempotent and should not raise.
FailFn = Callable[[StepContext, str], Awaitable[None]]
# Called with every operation once it has ended (any type, any outcome).
EndFn = Callable[[Operation], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Handler:
    step: StepFn
    on_cancel: CancelFn | None = None
    on_fail: FailFn | None = None


@dataclass
class HandlerRegistry:
    _handlers: dict[str, Handler] = field(default_factory=dict)

    def register(
        self,
        op_type: str,
        step: StepFn,
        *,
        on_cancel: CancelFn | None = None,
        on_fail: FailFn | None = None,
    ) -> None:
        if op_type in self._handlers:
            raise ValueError(f"a handler for {op_type!r} is already registered")
        self._handlers[op_type] = Handler(step, on_cancel, on_fail)

    def get(self, op_type: str) -> Handler | None:
        return self._handlers.get(op_type)

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._handlers)
