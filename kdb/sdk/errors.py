"""The SDK's one error tree: every failure a caller can meet, with the API's structured fields.

    KdbError                   anything the SDK raises
    ├── ApiError               the API answered an error body {"error": {code, message, details}}
    │   ├── BadRequest         400, and 422 (`details.fields` names the bad fields)
    │   ├── AuthFailed         401: no key, a wrong, expired or revoked one
    │   ├── Forbidden          403: the key's role or scope is too weak
    │   ├── NotFound           404: missing, or another tenant's
    │   ├── Conflict           409 (duplicate name, operation in progress, ...), 412
    │   ├── RateLimited        429: `retry_after` seconds when the API said so
    │   └── Unavailable        5xx: the API or one of its dependencies is down
    ├── ConnectionFailed       no answer at all (refused, DNS, timeout)
    ├── OperationFailed        an operation waited for ended `failed` or `cancelled`
    └── WaitTimedOut           an operation was still active when the wait's deadline passed

`from_response` turns an HTTP answer into the leaf for its status; an answer that is not the
API's error body (a proxy's HTML page) keeps its status and a code made from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from kdb.sdk.models import Operation


class KdbError(Exception):
    """The base of everything the SDK raises."""

    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(KdbError):
    """An error answer of the API: its HTTP status and the body's code, message, details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details or {}
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class BadRequest(ApiError):
    pass


class AuthFailed(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class RateLimited(ApiError):
    pass


class Unavailable(ApiError):
    pass


class ConnectionFailed(KdbError):
    code = "connection_failed"


class OperationFailed(KdbError):
    """An operation ended without succeeding; `operation` is its last state."""

    def __init__(self, operation: Operation) -> None:
        reason = operation.error_message or operation.message or "no reason given"
        super().__init__(
            f"operation {operation.id} ({operation.type}) {operation.status}: {reason}"
        )
        self.operation = operation
        self.code = f"operation_{operation.status}"


class WaitTimedOut(KdbError):
    code = "wait_timed_out"

    def __init__(self, operation: Operation, timeout: float) -> None:
        super().__init__(
            f"operation {operation.id} ({operation.type}) still {operation.status} after "
            f"{timeout:g} s (follow it with: kdb op wait {operation.id})"
        )
        self.operation = operation


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthFailed,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: Conflict,
    422: BadRequest,
    429: RateLimited,
}


def error_class(status: int) -> type[ApiError]:
    """The leaf for an HTTP status (5xx: Unavailable; another 4xx: ApiError itself)."""
    if status >= 500:
        return Unavailable
    return _BY_STATUS.get(status, ApiError)


def from_response(response: httpx.Response) -> ApiError:
    """The error an answer of status >= 400 stands for."""
    code, message = f"http_{response.status_code}", response.reason_phrase
    details: dict[str, Any] = {}
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        found = error.get("details")
        details = found if isinstance(found, dict) else {}
    retry_after: float | None = None
    try:
        retry_after = float(response.headers.get("Retry-After", ""))
    except ValueError:
        retry_after = None
    return error_class(response.status_code)(
        response.status_code, code, message, details, retry_after=retry_after
    )
