"""The simulator's error tree: every refusal the fake API server gives, as Kubernetes words it.

Each leaf is one `reason` of a Kubernetes `Status` object and carries its HTTP code. The HTTP
layer turns any `ApiError` into that `Status` body (`to_status`); the in-process client lets
it propagate; admission hooks raise it to deny a request.

    ApiError                      code  reason
    ├── BadRequest                400   BadRequest
    ├── Unauthorized              401   Unauthorized      no or unknown bearer token
    ├── Forbidden                 403   Forbidden         RBAC, webhook denials, terminating ns
    ├── NotFound                  404   NotFound
    ├── MethodNotAllowed          405   MethodNotAllowed
    ├── AlreadyExists             409   AlreadyExists
    ├── Conflict                  409   Conflict          stale resourceVersion, precondition
    ├── Gone                      410   Gone
    ├── Expired                   410   Expired           watch or continue token too old
    ├── UnsupportedMediaType      415   UnsupportedMediaType
    ├── Invalid                   422   Invalid           details.causes[]
    ├── TooManyRequests           429   TooManyRequests   details.retryAfterSeconds
    ├── InternalError             500   InternalError
    ├── StorageError              500   (none)            a plain storage error
    ├── ServiceUnavailable        503   ServiceUnavailable
    └── Timeout                   504   Timeout           resourceVersion from the future

The helpers at the end (`not_found`, `conflict`, `invalid`, ...) build the exact messages the
real API server writes, so clients that match on text keep working.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True, slots=True)
class Cause:
    """One field error of an `Invalid` (Kubernetes `StatusCause`)."""

    field: str
    message: str
    reason: str = "FieldValueInvalid"

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


class ApiError(Exception):
    code: ClassVar[int] = 500
    reason: ClassVar[str] = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        name: str | None = None,
        group: str | None = None,
        kind: str | None = None,
        uid: str | None = None,
        causes: Sequence[Cause] = (),
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.uid = uid
        self.causes = tuple(causes)
        self.retry_after = retry_after

    def about(self, *, name: str | None, group: str, kind: str) -> ApiError:
        """Fill the target of `details` where the raiser (an admission hook) left it out."""
        if self.name is None:
            self.name = name
        if self.group is None:
            self.group = group
        if self.kind is None:
            self.kind = kind
        return self

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.uid:
            details["uid"] = self.uid
        if self.causes:
            details["causes"] = [cause.to_dict() for cause in self.causes]
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        return details

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            status["reason"] = self.reason
        details = self.details()
        if details:
            status["details"] = details
        status["code"] = self.code
        return status


class BadRequest(ApiError):
    code, reason = 400, "BadRequest"


class Unauthorized(ApiError):
    code, reason = 401, "Unauthorized"


class Forbidden(ApiError):
    code, reason = 403, "Forbidden"


class NotFound(ApiError):
    code, reason = 404, "NotFound"


class MethodNotAllowed(ApiError):
    code, reason = 405, "MethodNotAllowed"


class AlreadyExists(ApiError):
    code, reason = 409, "AlreadyExists"


class Conflict(ApiError):
    code, reason = 409, "Conflict"


class Gone(ApiError):
    code, reason = 410, "Gone"


class Expired(ApiError):
    code, reason = 410, "Expired"


class UnsupportedMediaType(ApiError):
    code, reason = 415, "UnsupportedMediaType"


class Invalid(ApiError):
    code, reason = 422, "Invalid"


class TooManyRequests(ApiError):
    code, reason = 429, "TooManyRequests"


class InternalError(ApiError):
    code, reason = 500, "InternalError"


class StorageError(ApiError):
    """A plain error of the storage layer, which the API server answers as a 500 with no
    reason (StatusReasonUnknown): a create that carries a resourceVersion."""

    code, reason = 500, ""


class ServiceUnavailable(ApiError):
    code, reason = 503, "ServiceUnavailable"


class Timeout(ApiError):
    code, reason = 504, "Timeout"


ALL: tuple[type[ApiError], ...] = (
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    AlreadyExists,
    Conflict,
    Gone,
    Expired,
    UnsupportedMediaType,
    Invalid,
    TooManyRequests,
    InternalError,
    StorageError,
    ServiceUnavailable,
    Timeout,
)


class Target(Protocol):
    """What an error message names: a resource type (see `registry.ResourceType`)."""

    @property
    def group(self) -> str: ...

    @property
    def plural(self) -> str: ...

    @property
    def kind(self) -> str: ...


def _resource(target: Target) -> str:
    return f"{target.plural}.{target.group}" if target.group else target.plural


def not_found(target: Target, name: str) -> NotFound:
    return NotFound(
        f'{_resource(target)} "{name}" not found',
        name=name,
        group=target.group,
        kind=target.plural,
    )


def already_exists(target: Target, name: str) -> AlreadyExists:
    return AlreadyExists(
        f'{_resource(target)} "{name}" already exists',
        name=name,
        group=target.group,
        kind=target.plural,
    )


def conflict(target: Target, name: str, reason: str | None = None) -> Conflict:
    reason = reason or (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )
    return Conflict(
        f'Operation cannot be fulfilled on {_resource(target)} "{name}": {reason}',
        name=name,
        group=target.group,
        kind=target.plural,
    )


def invalid(target: Target, name: str, causes: Sequence[Cause]) -> Invalid:
    qualified = f"{target.kind}.{target.group}" if target.group else target.kind
    parts = [f"{cause.field}: {cause.message}" for cause in causes]
    joined = parts[0] if len(parts) == 1 else f"[{', '.join(parts)}]"
    return Invalid(
        f'{qualified} "{name}" is invalid: {joined}',
        name=name,
        group=target.group,
        kind=target.kind,
        causes=causes,
    )


def webhook_denied(webhook: str, reason: str) -> Forbidden:
    """The 403 a validating webhook's plain error becomes (reference §7.2)."""
    return Forbidden(f'admission webhook "{webhook}" denied the request: {reason}')


def from_status(status: dict[str, Any]) -> ApiError:
    """Rebuild the error a `Status` body describes (for clients of the simulator)."""
    reason = str(status.get("reason", ""))
    code = int(status.get("code", 500))
    details = status.get("details") or {}
    causes = [
        Cause(
            field=str(c.get("field", "")),
            message=str(c.get("message", "")),
            reason=str(c.get("reason", "")),
        )
        for c in details.get("causes", [])
    ]
    cls = next((c for c in ALL if c.reason == reason), None)
    if cls is None:
        cls = next((c for c in ALL if c.code == code), InternalError)
    return cls(
        str(status.get("message", "")),
        name=details.get("name"),
        group=details.get("group"),
        kind=details.get("kind"),
        uid=details.get("uid"),
        causes=causes,
        retry_after=details.get("retryAfterSeconds"),
    )
