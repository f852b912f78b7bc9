"""The audit log: who did what, to what, with which outcome. Append-only.

An entry is written for every mutating request (POST, PUT, PATCH, DELETE), whatever its
answer (a refused request is as telling as an accepted one), and for every read of a
database's credentials. It holds the caller (key id and role, none when the key was not
accepted), the tenant (domain, project), the action (method and route template), the target
(the id in the path), the outcome (status code), the request id and the client's address.
Never a body, a query string or a header: that is how secrets stay out of it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.domain import clock, ids

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Path parameters that name what a request acts on, most specific first.
TARGET_PARAMS = ("database_id", "operation_id", "provider_id", "key_id", "project", "domain")


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: ids.new_id(ids.IdPrefix.AUDIT))
    actor_key_id: str | None = None
    actor_role: str | None = None
    domain: str | None = None
    project: str | None = None
    action: str
    target: str | None = None
    outcome: int
    request_id: str | None = None
    client: str | None = None
    created_at: clock.Timestamp = Field(default_factory=clock.utcnow)


def audited(method: str, route: str) -> bool:
    """Is a request with this method to this route template recorded?"""
    return method in MUTATING or (method == "GET" and route.endswith("/credentials"))


def target_of(path_params: dict[str, str]) -> str | None:
    for name in TARGET_PARAMS:
        value = path_params.get(name)
        if value:
            return str(value)
    return None
