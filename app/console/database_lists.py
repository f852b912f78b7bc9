"""The console's database lists: a project's, and the one across projects that admin and
domain keys see at `/console/databases` (a project key goes straight to its project).

Both read what the API's list routes read, with their checks: the project's READ check
(`auth.authorize`), the cross-project scope of `GET /api/v1/databases` (`scope_of`), the
API's sort parsing (`filters.sort_order`, a 422 naming `query.sort`) and the same service
(`DatabaseLists.page`). Each row's last operation comes from one store call for the page
(`DatabaseLists.last_operations`), never one per row.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import QueryParams

from app.api import deps, errors
from app.api.v1 import filters
from app.api.v1.database_routing import DNS_LABEL
from app.api.v1.database_search import scope_of
from app.console import lists, pages, targets
from app.console.targets import Domain, Project, Visitor, base_of, check_project, may_write
from app.domain import engines
from app.domain.databases import DatabaseStatus
from app.services.database_lists import DatabaseLists
from app.store.protocols import DatabaseFilter

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 20
_NAME_FILTER = re.compile(r"^[a-z0-9-]{1,63}$")
_TENANT = re.compile(DNS_LABEL)


def _filters(query: QueryParams) -> dict[str, str]:
    """The list's filters as the visitor gave them, checked ("" where none)."""
    name = query.get("name") or ""
    if name and not _NAME_FILTER.match(name):
        raise errors.ValidationFailed(
            {"query.name": "a name filter is lowercase letters, digits and dashes"}
        )
    return {
        "name": name,
        "engine": lists.choice(query.get("engine"), engines.Engine, "engine"),
        "status": lists.choice(query.get("status"), DatabaseStatus, "status"),
    }


async def _listed(
    lists_: DatabaseLists,
    query: QueryParams,
    *,
    domain: str | None,
    project: str | None,
    shown: dict[str, str],
) -> dict[str, Any]:
    """A page of databases and its view: what both list templates are drawn from."""
    wanted = _filters(query)
    order = filters.sort_order(query.get("sort"))
    page = lists.page_number(query.get("page"))
    found = await lists_.page(
        DatabaseFilter(
            domain=domain,
            project=project,
            engine=wanted["engine"] or None,
            status=wanted["status"] or None,
            name_prefix=wanted["name"] or None,
        ),
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        order=order,
    )
    return {
        "databases": found.items,
        "last_operations": await lists_.last_operations(found.items),
        "total": found.total,
        "filters": wanted,
        "view": lists.ListView(
            filters={**shown, **wanted},
            sort=query.get("sort") or "",
            page=page,
            pages=lists.pages_for(found.total, PAGE_SIZE),
        ),
        "engines": [e.value for e in engines.Engine],
        "statuses": [s.value for s in DatabaseStatus],
    }


@router.get("")
@router.get("/")
async def home() -> Response:
    return RedirectResponse(f"{pages.PREFIX}/databases", status_code=303)


@router.get("/databases")
async def across_projects(
    request: Request, visitor: Visitor, lists_: deps.DatabaseListing
) -> Response:
    """Every database the key may see, as `GET /api/v1/databases` lists them; naming both a
    domain and a project opens that project's page (with the other filters kept)."""
    principal = visitor.principal
    query = request.query_params
    domain = query.get("domain") or None
    project = query.get("project") or None
    if principal.project is not None:  # a project key: its project's page
        domain, project = domain or principal.domain, project or principal.project
    for field, value in (("domain", domain), ("project", project)):
        if value is not None and not _TENANT.match(value):
            raise errors.ValidationFailed({f"query.{field}": "a name of lowercase letters"})
    if domain is not None and project is not None:
        rest = {k: v for k, v in query.items() if k not in ("domain", "project") and v}
        target = base_of(domain, project) + (f"?{urlencode(rest)}" if rest else "")
        return RedirectResponse(target, status_code=303)
    domain, project = scope_of(principal, domain, project)
    shown = {"domain": domain or "", "project": ""}
    return pages.render(
        "all_databases.html",
        title="Databases",
        principal=principal,
        visitor=visitor,
        domain_filter=domain or "",
        **await _listed(lists_, query, domain=domain, project=project, shown=shown),
    )


@router.get("/domain/{domain}/project/{project}/databases")
async def list_databases(
    request: Request,
    visitor: Visitor,
    lists_: deps.DatabaseListing,
    domain: Domain,
    project: Project,
) -> Response:
    check_project(visitor, domain, project)
    return targets.project_page(
        "databases.html",
        visitor,
        domain,
        project,
        title=f"Databases of {domain}/{project}",
        may_write=may_write(visitor, domain, project),
        **await _listed(lists_, request.query_params, domain=domain, project=project, shown={}),
    )
