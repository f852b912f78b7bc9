"""`/api/v1/audit`: the audit log, newest first. Admin keys read all of it; owner keys read
their own scope (a domain owner its domain, a project owner its project), whatever filters
they give; other keys get 403.

`scope`: `tenant` (the default: the tenants' logs), `platform` (requests without a valid
key, admins only) or `all` (admins only). In an owner's view an actor from outside the
owner's tenant is `external` (`app.domain.audit.as_seen_by_owner`)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.api import auth, deps, errors
from app.domain import audit, clock
from app.domain.api_keys import Role
from app.domain.audit import AuditEntry, AuditScope
from app.services.api_keys import ApiKeyService
from app.store.protocols import AuditFilter

router = APIRouter(
    prefix="/api/v1/audit",
    tags=["audit"],
    responses=errors.error_responses(400, 401, 403, 422, 429),
)


async def reader(caller: auth.Caller) -> auth.Principal:
    """Admin keys and owner keys (of a scope) read the log; others get 403 before the query
    is validated."""
    if caller.role is not Role.ADMIN and not (caller.role is Role.OWNER and caller.domain):
        raise errors.Forbidden("reading the audit log needs an admin or an owner key")
    return caller


Caller = Annotated[auth.Principal, Depends(reader)]
Label = Annotated[str | None, Query(max_length=100)]


class ScopeQuery(StrEnum):
    TENANT = "tenant"
    PLATFORM = "platform"
    ALL = "all"


class AuditEntryOut(BaseModel):
    id: str
    scope: AuditScope
    actor_key_id: str | None
    actor_role: str | None
    domain: str | None
    project: str | None
    action: str
    target: str | None
    outcome: int
    request_id: str | None
    client: str | None
    created_at: clock.Timestamp

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls.model_validate(entry.model_dump(exclude={"actor_domain", "actor_project"}))


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    total: int
    page: int
    page_size: int


# A date and time with a zone, from the year 1000 (not a number: `0.5` was taken as a Unix
# time); the year's upper bound (9998) is checked in `_utc`.
ISO_8601_WITH_ZONE = (
    r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
    r"(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|z|[+-][0-9]{2}:?[0-9]{2})$"
)


def _utc(name: str, text: str | None) -> datetime | None:
    """`text` as a time in UTC; 422 for a time without a zone, or one outside years
    1000-9998 (stored times compare as text of fixed width)."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise errors.ValidationFailed({name: "not an ISO 8601 date and time"}) from None
    if when.tzinfo is None:
        raise errors.ValidationFailed({name: "give a time zone (e.g. Z)"})
    try:
        utc = when.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not 1000 <= utc.year <= 9998:
        raise errors.ValidationFailed({name: "must be between the years 1000 and 9998"})
    return utc


@router.get("", response_model=AuditPage, summary="The audit log, newest first")
@router.get("/", response_model=AuditPage, include_in_schema=False)
async def audit_log(
    caller: Caller,
    service: deps.Audit,
    keys: deps.ApiKeys,
    scope: Annotated[
        ScopeQuery,
        Query(
            description="tenant: the tenants' logs; platform: requests without a valid key "
            "(admins); all (admins)"
        ),
    ] = ScopeQuery.TENANT,
    domain: Label = None,
    project: Label = None,
    actor: Annotated[str | None, Query(max_length=64, description="an API key id")] = None,
    target: Label = None,
    outcome: Annotated[int | None, Query(ge=100, le=599, description="a status code")] = None,
    since: Annotated[
        str | None,
        Query(
            pattern=ISO_8601_WITH_ZONE,
            description=("ISO 8601 with a zone, years 1000-9998, inclusive"),
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            pattern=ISO_8601_WITH_ZONE,
            description=("ISO 8601 with a zone, years 1000-9998, exclusive"),
        ),
    ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> AuditPage:
    owner = caller.role is Role.OWNER and caller.domain is not None
    if owner:
        # An owner's own scope, whatever was asked for.
        if domain not in (None, caller.domain) or (
            caller.project is not None and project not in (None, caller.project)
        ):
            raise errors.Forbidden("an owner key reads the audit log of its own scope only")
        if scope is not ScopeQuery.TENANT:
            raise errors.Forbidden("the platform scope of the audit log needs an admin key")
        domain, project = caller.domain, caller.project or project
    since_at, until_at = _utc("since", since), _utc("until", until)
    if owner and actor is not None and not await _actor_inside(keys, actor, caller):
        # An owner learns nothing about keys outside its tenant, not even by filtering.
        return AuditPage(entries=[], total=0, page=page, page_size=page_size)
    result = await service.page(
        AuditFilter(
            scope=None if scope is ScopeQuery.ALL else AuditScope(scope.value),
            domain=domain,
            project=project,
            actor_key_id=actor,
            target=target,
            outcome=outcome,
            since=since_at,
            until=until_at,
        ),
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    items = result.items
    if owner and caller.domain is not None:
        items = [
            audit.as_seen_by_owner(e, domain=caller.domain, project=caller.project) for e in items
        ]
    return AuditPage(
        entries=[AuditEntryOut.of(e) for e in items],
        total=result.total,
        page=page,
        page_size=page_size,
    )


async def _actor_inside(keys: ApiKeyService, key_id: str, caller: auth.Principal) -> bool:
    """Is `key_id` a key of the owner's own tenant (whose id it may filter on)?"""
    key = await keys.get(key_id)
    if key is None or key.domain != caller.domain:
        return False
    return caller.project is None or key.project in (None, caller.project)
