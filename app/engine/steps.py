"""What an operation step returns, and the errors it may raise.

A step does the next piece of work idempotently and says what happens next, like a
controller-runtime reconcile: `Done`, `Wait(delay)` (the cluster is working; check again
later, without holding a worker), `Retry(error, delay)` (a temporary failure) or
`Fail(reason)` (a permanent one). Raising `TemporaryError` is the same as returning
`Retry`; raising `PermanentError` is the same as `Fail`. Any other exception is treated as
temporary (logged with its traceback), so a bug shows up as retries and then a failure with
the error recorded, never as a hung operation.

    StepError
    ├── TemporaryError   (retry_after: seconds or None for the policy's backoff)
    └── PermanentError
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Done:
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Wait:
    delay: float
    message: str | None = None
    progress: int | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    error: str
    # None: use the retry policy's backoff.
    delay: float | None = None


@dataclass(frozen=True, slots=True)
class Fail:
    reason: str


StepResult = Done | Wait | Retry | Fail


class StepError(Exception):
    """Base of the errors a step may raise on purpose."""


class TemporaryError(StepError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(StepError):
    pass
