"""The `DatabaseError` branch of the service error tree (`app.services.errors`), with the
status each answers:

    DatabaseError (400)
    ├── NotFound (404)       not_found
    ├── Gone (410)           database_deleted
    ├── Conflict (409)       duplicate_name, operation_in_progress, deletion_protected,
    │                        not_ready, database_<status>, insufficient_capacity
    ├── RuleViolated (422)   the rule's code, naming its field
    ├── Unavailable (503)    cluster_unavailable (the catalog or cluster cannot be read)
    └── OverQuota (429)      quota_exceeded
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain import errors as domain_errors
from app.domain.databases import Database, DatabaseStatus
from app.domain.quotas import Excess
from app.services.errors import ServiceError


class DatabaseError(ServiceError):
    status = 400

    def __init__(self, message: str, *, code: str, details: Mapping[str, Any] | None = None):
        super().__init__(message, code=code, details=details)


class NotFound(DatabaseError):
    status = 404


class Gone(DatabaseError):
    status = 410


class Conflict(DatabaseError):
    status = 409


class RuleViolated(DatabaseError):
    status = 422

    def __init__(self, field_name: str, message: str, *, code: str = "rule_violated") -> None:
        super().__init__(message, code=code, details={"fields": {field_name: message}})
        self.field = field_name


class Unavailable(DatabaseError):
    status = 503


class OverQuota(DatabaseError):
    """A project's or domain's quota would be passed (429 `quota_exceeded`)."""

    status = 429

    def __init__(self, excess: Excess) -> None:
        super().__init__(
            excess.message,
            code="quota_exceeded",
            details=excess.details,
        )


def no_credentials(database: Database) -> Conflict:
    """No secret to read: the database's state says why (409, not a 503: nothing is down)."""
    status = database.status
    if status in (DatabaseStatus.PENDING, DatabaseStatus.PROVISIONING):
        return Conflict(
            "the database has no credentials yet; it is being created",
            code="not_ready",
            details={"status": status.value},
        )
    return Conflict(
        f"the database is {status.value} and has no credentials to read",
        code=f"database_{status.value}",
        details={"status": status.value},
    )


def rule_violated(exc: domain_errors.InvalidValue) -> RuleViolated:
    return RuleViolated(exc.field, exc.message, code=getattr(exc, "code", "rule_violated"))
