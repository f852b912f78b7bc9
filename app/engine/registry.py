"""Which handler runs which operation type: the kind (type name, input and state models),
the step, and its optional cancel and failure hooks. `app.main` fills one registry
(`services.handlers.register_database_handlers`) and gives it to every worker.

A handler's step takes a `StepContext[Input, State]` of its kind's models, so registering a
step written for another kind is a mypy error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias

from app.domain.operation_kinds import InputT, OperationKind, StateT
from app.domain.operations import Operation
from app.engine import steps
from app.engine.context import StepContext, untyped

StepFn: TypeAlias = Callable[[StepContext[InputT, StateT]], Awaitable[steps.StepResult]]
CancelFn: TypeAlias = Callable[[StepContext[InputT, StateT]], Awaitable[None]]
# Called with the reason before the operation is recorded failed (also when the engine
# fails it: retry limit, deadline); must be idempotent and should not raise.
FailFn: TypeAlias = Callable[[StepContext[InputT, StateT], str], Awaitable[None]]
# Called with every operation once it has ended (any type, any outcome).
EndFn = Callable[[Operation], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Handler(Generic[InputT, StateT]):
    kind: OperationKind[InputT, StateT]
    step: StepFn[InputT, StateT]
    on_cancel: CancelFn[InputT, StateT] | None = None
    on_fail: FailFn[InputT, StateT] | None = None


# What the engine holds: a handler of some kind (it runs every kind alike).
AnyHandler = Handler[Any, Any]


@dataclass
class HandlerRegistry:
    _handlers: dict[str, AnyHandler] = field(default_factory=dict)

    def register(
        self,
        kind: OperationKind[InputT, StateT] | str,
        step: StepFn[InputT, StateT],
        *,
        on_cancel: CancelFn[InputT, StateT] | None = None,
        on_fail: FailFn[InputT, StateT] | None = None,
    ) -> None:
        """Register a kind's handler; a bare type name registers it without models."""
        typed: OperationKind[Any, Any] = untyped(kind) if isinstance(kind, str) else kind
        if typed.type in self._handlers:
            raise ValueError(f"a handler for {typed.type!r} is already registered")
        self._handlers[typed.type] = Handler(typed, step, on_cancel, on_fail)

    def get(self, op_type: str) -> AnyHandler | None:
        return self._handlers.get(op_type)

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._handlers)
