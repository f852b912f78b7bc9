"""The audit log: who did what, to what, with which outcome. Append-only.

An entry is written for every mutating request (POST, PUT, PATCH, DELETE), whatever its
answer (a refused request is as telling as an accepted one), and for every read of a
database's credentials. It holds the caller (key id and role, none when the key was not
accepted), the tenant (domain, project), the action (method and route template), the target
(the id in the path), the outcome (status code), the request id and the client's address.
Never a body, a query string or a header: that is how secrets stay out of it.

Two scopes: a request made with a valid key is recorded in the tenant's log (the tenant the
path names, else the key's own); one with no key or a key that was refused (401) is
recorded in the platform scope, which only admins read: anyone can send such a request,
so it must not fill a tenant's log (one over its address's limit, 429, is not recorded).
The actor's own tenant is kept (`actor_domain`, `actor_project`) so that an owner's view
can show an actor from outside its tenant as `external` (`as_seen_by_owner`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.domain import clock, ids

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Path parameters that name what a request acts on, most specific first.
TARGET_PARAMS = (
    "database_id",
    "operation_id",
    "provider_id",
    "storage_name",
    "key_id",
    "project",
    "domain",
)
# What an owner's view shows instead of an actor from outside its tenant.
EXTERNAL = "external"


class AuditScope(StrEnum):
    TENANT = "tenant"  # a request with a valid key: the tenant's log
    PLATFORM = "platform"  # no key, or a refused one: admins only


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: ids.new_id(ids.IdPrefix.AUDIT))
    actor_key_id: str | None = None
    actor_role: str | None = None
    # The actor key's own tenant (None for an admin key, or an entry from before it was kept).
    actor_domain: str | None = None
    actor_project: str | None = None
    scope: AuditScope = AuditScope.TENANT
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


def _inside(entry: AuditEntry, *, domain: str, project: str | None) -> bool:
    """Was the entry's actor a key of this tenant (the domain, or this project of it)?"""
    if entry.actor_domain != domain:
        return False
    return project is None or entry.actor_project in (None, project)


def as_seen_by_owner(entry: AuditEntry, *, domain: str, project: str | None) -> AuditEntry:
    """The entry as the owner of `domain` (or of `project` in it) may see it: an actor from
    outside the tenant (an admin key, another tenant's key) is `external`, its key id, role
    and address hidden."""
    if entry.actor_key_id is None or _inside(entry, domain=domain, project=project):
        return entry
    return entry.model_copy(
        update={
            "actor_key_id": EXTERNAL,
            "actor_role": EXTERNAL,
            "actor_domain": None,
            "actor_project": None,
            "client": None,
        }
    )
