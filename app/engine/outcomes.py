"""What a step's result writes to its operation (the fields, the log event, the wake-up).

Done          -> succeeded
Wait(delay)   -> waiting, woken again after `delay`
Retry         -> queued again after the policy's backoff (or the step's own delay);
                 failed once the attempts or the deadline would run out
Fail          -> failed, with the reason recorded
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain import clock
from app.domain.operations import Operation, OperationStatus
from app.engine import steps
from app.engine.retry import RetryPolicy

_RELEASED: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}


@dataclass(frozen=True, slots=True)
class Outcome:
    fields: dict[str, Any]
    event: str
    # Seconds until the operation's next wake-up; None: it has ended.
    wake_in: float | None = None
    # Logged when a retry is scheduled: attempt=i/n, delay, error.
    retry_note: dict[str, Any] | None = None

    @property
    def status(self) -> OperationStatus:
        return OperationStatus(self.fields["status"])


def of(
    operation: Operation, result: steps.StepResult, *, policy: RetryPolicy, rng: random.Random
) -> Outcome:
    now = clock.utcnow()
    match result:
        case steps.Done(message):
            return Outcome(
                {
                    **_RELEASED,
                    "status": OperationStatus.SUCCEEDED,
                    "progress": 100,
                    "message": message or operation.message,
                    "error_message": None,
                    "completed_at": now,
                    "retries": 0,
                },
                "operation_succeeded",
            )
        case steps.Wait(delay, message, progress):
            fields = {
                **_RELEASED,
                "status": OperationStatus.WAITING,
                "retries": 0,
                "next_run_at": now + timedelta(seconds=delay),
            }
            if message is not None:
                fields["message"] = message
            if progress is not None:
                fields["progress"] = progress
            return Outcome(fields, "operation_waiting", delay)
        case steps.Fail(reason):
            return Outcome(failed(reason, now), "operation_failed")
        case steps.Retry(error, delay):
            return _retry(operation, error, delay, policy=policy, rng=rng, now=now)
    raise TypeError(f"not a step result: {result!r}")


def _retry(
    operation: Operation,
    error: str,
    delay: float | None,
    *,
    policy: RetryPolicy,
    rng: random.Random,
    now: datetime,
) -> Outcome:
    retries = operation.retries + 1
    if policy.exhausted(retries):
        reason = f"{error} (gave up after {retries} attempts)"
        return Outcome(failed(reason, now), "operation_failed")
    wait = delay if delay is not None else policy.delay(retries, rng=rng)
    due = now + timedelta(seconds=wait)
    if operation.deadline_at is not None and due >= operation.deadline_at:
        reason = f"{error} (no time left to retry before the deadline)"
        return Outcome(failed(reason, now), "operation_failed")
    return Outcome(
        {
            **_RELEASED,
            "status": OperationStatus.QUEUED,
            "retries": retries,
            "error_message": error,
            "next_run_at": due,
        },
        "operation_requeued",
        wait,
        retry_note={
            "attempt": f"{retries}/{policy.max_attempts}",
            "delay": round(wait, 3),
            "error": error,
        },
    )


def failed(reason: str, now: datetime) -> dict[str, Any]:
    return {
        **_RELEASED,
        "status": OperationStatus.FAILED,
        "error_message": reason,
        "completed_at": now,
    }


def cancelled() -> dict[str, Any]:
    return {
        **_RELEASED,
        "status": OperationStatus.CANCELLED,
        "completed_at": clock.utcnow(),
        "message": "cancelled on request",
    }


def deadline_message(operation: Operation) -> str:
    assert operation.deadline_at is not None
    return (
        f"operation did not finish by its deadline ({clock.to_text(operation.deadline_at)}); "
        f"last state: {operation.message or operation.status}"
    )
