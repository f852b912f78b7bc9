"""`/api/v1/operations`: read, list, cancel, and wait for an operation to end.

`wait` polls the operation until it is no longer queued, running or waiting, calls the
caller's `on_change` with every state that differs from the last one seen (status, progress,
message or OpsRequest phase: what a progress display shows), and raises `OperationFailed`
when it ended failed or cancelled, `WaitTimedOut` when the deadline passed first. It reads
the monotonic clock and sleeps through injectable callables, so tests need no real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kdb.sdk import errors
from kdb.sdk.models import Operation, Page, page_of
from kdb.sdk.transport import Transport

OnChange = Callable[[Operation], None]
POLL_INTERVAL = 0.5


def _seen(operation: Operation) -> tuple[object, ...]:
    return (
        operation.status,
        operation.progress,
        operation.message,
        operation.ops_request_phase,
        operation.error_message,
    )


class Operations:
    def __init__(
        self,
        transport: Transport,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = transport
        self._clock = clock
        self._sleep = sleep

    def get(self, operation_id: str) -> Operation:
        return Operation.model_validate(
            self._http.request("GET", f"/api/v1/operations/{operation_id}")
        )

    def list(
        self,
        *,
        database_id: str | None = None,
        status: str | None = None,
        type: str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> Page[Operation]:
        body = self._http.request(
            "GET",
            "/api/v1/operations",
            params={
                "database_id": database_id,
                "status": status,
                "type": type,
                "page": page,
                "page_size": page_size,
            },
        )
        return page_of(body, "operations", Operation)

    def cancel(self, operation_id: str, *, idempotency_key: str | None = None) -> Operation:
        body = self._http.request(
            "POST", f"/api/v1/operations/{operation_id}/cancel", idempotency_key=idempotency_key
        )
        return Operation.model_validate(body)

    def wait(
        self,
        operation_id: str,
        *,
        timeout: float = 600.0,
        interval: float = POLL_INTERVAL,
        on_change: OnChange | None = None,
    ) -> Operation:
        """The operation once it has succeeded; see the module docstring for the rest."""
        deadline = self._clock() + timeout
        last: tuple[object, ...] | None = None
        while True:
            operation = self.get(operation_id)
            if on_change is not None and _seen(operation) != last:
                on_change(operation)
            last = _seen(operation)
            if not operation.active:
                if operation.status != "succeeded":
                    raise errors.OperationFailed(operation)
                return operation
            left = deadline - self._clock()
            if left <= 0:
                raise errors.WaitTimedOut(operation, timeout)
            self._sleep(min(interval, left))
