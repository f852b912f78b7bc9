"""The console's audit log page: the API's route (`app.api.v1.audit.audit_log`) with its
reader check, its filters as labelled controls, newest first, paged.

The filters are read from the address and checked with the API's limits before the route
is called (a bad one is an error shown by its control, the rest of the page still there);
the route decides the rest: an owner's own scope whatever is asked, `external` actors,
admins only for the platform scope. Must not: decide who reads what itself.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response

from app.api import deps, errors
from app.api.v1 import audit as audit_routes
from app.console import pages, paging
from app.console.targets import Visitor

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

AUDIT = f"{pages.PREFIX}/audit"
# The filters and the longest value the API takes for each.
_TEXT_FILTERS = {"domain": 100, "project": 100, "actor": 64, "target": 100}
_FILTERS = ("scope", *_TEXT_FILTERS, "outcome", "since", "until")
_WITH_ZONE = re.compile(audit_routes.ISO_8601_WITH_ZONE)


@router.get("/audit")
async def audit_log(
    request: Request, visitor: Visitor, service: deps.Audit, keys: deps.ApiKeys
) -> Response:
    principal = await audit_routes.reader(visitor.principal)
    filters = {name: request.query_params.get(name, "").strip() for name in _FILTERS}
    page = paging.page_asked(request.query_params)
    field_errors = _check(filters)
    found = None
    if not field_errors:
        try:
            found = await audit_routes.audit_log(
                principal,
                service,
                keys,
                scope=audit_routes.ScopeQuery(filters["scope"] or "tenant"),
                domain=filters["domain"] or None,
                project=filters["project"] or None,
                actor=filters["actor"] or None,
                target=filters["target"] or None,
                outcome=int(filters["outcome"]) if filters["outcome"] else None,
                since=_zoned(filters["since"]),
                until=_zoned(filters["until"]),
                page=page,
                page_size=paging.PAGE_SIZE,
            )
        except errors.ValidationFailed as exc:  # a time the route refuses
            field_errors = {str(k): str(v) for k, v in exc.details["fields"].items()}
    total = found.total if found else 0
    return pages.render(
        "audit.html",
        status=422 if field_errors else 200,
        title="Audit log",
        principal=principal,
        visitor=visitor,
        entries=found.entries if found else [],
        total=total,
        filters=filters,
        field_errors=field_errors,
        scopes=[s.value for s in audit_routes.ScopeQuery],
        pager=paging.pager(AUDIT, filters, page=page, total=total),
    )


def _zoned(text: str) -> str | None:
    """A time from the form: as given when it names its zone, else taken as UTC (a
    browser's date and time control gives none)."""
    if not text:
        return None
    return text if _WITH_ZONE.match(text) else f"{text}Z"


def _check(filters: dict[str, str]) -> dict[str, str]:
    """An error per filter the API's query rules would refuse."""
    found: dict[str, str] = {}
    if filters["scope"] and filters["scope"] not in set(audit_routes.ScopeQuery):
        found["scope"] = "one of " + ", ".join(audit_routes.ScopeQuery)
    for name, longest in _TEXT_FILTERS.items():
        if len(filters[name]) > longest:
            found[name] = f"at most {longest} characters"
    outcome = filters["outcome"]
    if outcome and not (outcome.isdigit() and 100 <= int(outcome) <= 599):
        found["outcome"] = "a status code, 100 to 599"
    for name in ("since", "until"):
        zoned = _zoned(filters[name])
        if zoned is not None and not _WITH_ZONE.match(zoned):
            found[name] = "a date and time, e.g. 2026-01-31T09:30"
    return found
