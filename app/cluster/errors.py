"""Cluster errors as the operation engine sees them; lightkube's and httpx's are translated
here, once, by `translate`.

    ClusterError
    ├── NotFound         404 (`kind`/`name` say what is missing: `namespaces` is permanent)
    ├── AlreadyExists    409 AlreadyExists (a create that already happened: done)
    ├── Conflict         409 Conflict (stale resourceVersion: read again, retry)
    ├── Invalid          422 (the cluster's message and field causes; permanent)
    ├── Unauthorized     401 (the cluster refused the credentials, or there were none;
    │                    permanent)
    ├── Forbidden        403 (RBAC or a webhook denial, with its message; permanent)
    ├── BadRequest       400, 405, 415 (a bug on our side; permanent)
    ├── Expired          410 (a watch resumed from too old a resourceVersion: re-list)
    ├── Unavailable      5xx, 429, timeouts, connection errors (temporary; `retry_after`)
    └── KubeconfigUnusable  the client library refused the connection's configuration
                         (lightkube's `ConfigError`; the message names no content)

`TEMPORARY` lists the classes a step retries with backoff; the rest fail the operation with
the cluster's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ClusterError(Exception):
    message: str
    code: int | None = None
    reason: str | None = None
    # What the Status's details name (`kind` is the plural, e.g. "namespaces"), when given.
    kind: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)


class NotFound(ClusterError):
    @property
    def namespace_gone(self) -> bool:
        """The namespace itself is missing (a create or read inside it answers so)."""
        return self.kind == "namespaces"


class AlreadyExists(ClusterError):
    pass


class Conflict(ClusterError):
    pass


@dataclass
class Invalid(ClusterError):
    causes: list[dict[str, str]] = field(default_factory=list)


class Unauthorized(ClusterError):
    pass


class Forbidden(ClusterError):
    pass


class BadRequest(ClusterError):
    pass


class Expired(ClusterError):
    pass


@dataclass
class Unavailable(ClusterError):
    retry_after: float | None = None


class KubeconfigUnusable(ClusterError):
    pass


TEMPORARY: tuple[type[ClusterError], ...] = (Unavailable, Conflict)

_BY_REASON: dict[str, type[ClusterError]] = {
    "NotFound": NotFound,
    "AlreadyExists": AlreadyExists,
    "Conflict": Conflict,
    "Invalid": Invalid,
    "Unauthorized": Unauthorized,
    "Forbidden": Forbidden,
    "BadRequest": BadRequest,
    "MethodNotAllowed": BadRequest,
    "UnsupportedMediaType": BadRequest,
    "Expired": Expired,
    "Gone": Expired,
    "TooManyRequests": Unavailable,
    "ServiceUnavailable": Unavailable,
    "InternalError": Unavailable,
    "Timeout": Unavailable,
    "ServerTimeout": Unavailable,
}

_BY_CODE: dict[int, type[ClusterError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: BadRequest,
    410: Expired,
    415: BadRequest,
    422: Invalid,
    429: Unavailable,
}


def from_status(
    code: int, status: dict[str, Any] | None, *, retry_after: str | None = None
) -> ClusterError:
    """The error for an HTTP answer `code` with a Kubernetes Status body (maybe absent)."""
    status = status or {}
    reason = status.get("reason")
    message = str(status.get("message") or f"the cluster answered {code}")
    cls: type[ClusterError]
    if isinstance(reason, str) and reason in _BY_REASON:
        cls = _BY_REASON[reason]
    elif code == 409:
        cls = Conflict
    elif code >= 500:
        cls = Unavailable
    else:
        cls = _BY_CODE.get(code, ClusterError)
    details = status.get("details") or {}
    named = {
        key: str(details[key])
        for key in ("kind", "name")
        if isinstance(details, dict) and isinstance(details.get(key), str)
    }
    if cls is Invalid:
        causes = [
            {k: str(v) for k, v in cause.items()}
            for cause in (details.get("causes") if isinstance(details, dict) else None) or []
            if isinstance(cause, dict)
        ]
        return Invalid(message, code, reason, causes=causes, **named)
    if cls is Unavailable:
        return Unavailable(message, code, reason, retry_after=_seconds(retry_after), **named)
    return cls(message, code, reason if isinstance(reason, str) else None, **named)


def _seconds(value: str | None) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None
