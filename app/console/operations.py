"""A project's operations in the console: paged, filtered by status, type and database,
newest first, refreshed in place while one of them is active, with cancel.

    GET  …/project/{p}/operations                 the page
    GET  …/project/{p}/operations/rows            the list alone (htmx, polled while active)
    POST …/project/{p}/operations/{id}/cancel     a form; 303 back to the page

The list is what `GET /api/v1/operations` reads (`OperationService.page`, newest first, the
only order the API offers) for the project, after the project's READ check; cancel is what
`POST /api/v1/operations/{id}/cancel` does (`authorized_operation` with WRITE, then
`OperationService.request_cancel`). A cancel button is shown only for a cancellable
operation to a key that may write; a forged POST is refused anyway (403 page), and a
refusal (409: it has ended meanwhile) is a message on the page.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import QueryParams

from app.api import auth, deps, errors
from app.api.v1.operations import authorized_operation
from app.console import lists, pages
from app.console.targets import Domain, Project, Visitor, check_project, may_write
from app.domain.operations import OperationStatus, OperationType
from app.services.database_lists import DatabaseLists
from app.services.operations import OperationNotCancellable, OperationService, cancellable
from app.store.protocols import DatabaseFilter, DatabaseOrder, DatabaseSortKey, OperationFilter

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 20
# The database filter's choices: the project's databases by name (a project has tens).
DATABASE_CHOICES = 100
_DATABASE_ID = re.compile(r"^[a-z0-9-]{1,64}$")
_BY_NAME = DatabaseOrder(DatabaseSortKey.NAME, descending=False)


def base_of(domain: str, project: str) -> str:
    return f"{pages.PREFIX}/domain/{domain}/project/{project}/operations"


async def _listed(
    visitor: pages.Visitor,
    service: OperationService,
    databases: DatabaseLists,
    query: QueryParams,
    domain: str,
    project: str,
) -> dict[str, Any]:
    """What the page and its polled list are drawn from."""
    wanted = {
        "status": lists.choice(query.get("status"), OperationStatus, "status"),
        "type": lists.choice(query.get("type"), OperationType, "type"),
        "database": query.get("database") or "",
    }
    if wanted["database"] and not _DATABASE_ID.match(wanted["database"]):
        raise errors.ValidationFailed({"query.database": "a database id, as db-…"})
    page = lists.page_number(query.get("page"))
    found = await service.page(
        OperationFilter(
            domain=domain,
            project=project,
            database_id=wanted["database"] or None,
            status=wanted["status"] or None,
            type=wanted["type"] or None,
        ),
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    known = await databases.page(
        DatabaseFilter(domain=domain, project=project, include_deleted=True),
        offset=0,
        limit=DATABASE_CHOICES,
        order=_BY_NAME,
    )
    # The filter offers the first DATABASE_CHOICES by name; a row's database beyond them is
    # named all the same (a page's worth of reads at most).
    choices = {d.id: d.name for d in known.items}
    names = choices | await databases.names({o.database_id for o in found.items} - choices.keys())
    view = lists.ListView(filters=wanted, page=page, pages=lists.pages_for(found.total, PAGE_SIZE))
    writable = may_write(visitor, domain, project)
    return {
        "visitor": visitor,
        "base": base_of(domain, project),
        "databases_base": f"{pages.PREFIX}/domain/{domain}/project/{project}/databases",
        "operations": found.items,
        "total": found.total,
        "choices": choices,
        "names": names,
        "filters": wanted,
        "view": view,
        "cancellable": {o.id for o in found.items if writable and cancellable(o)},
        "polling": any(o.is_active for o in found.items),
        "statuses": [s.value for s in OperationStatus],
        "types": [t.value for t in OperationType],
    }


async def _page(
    request: Request,
    visitor: pages.Visitor,
    service: OperationService,
    databases: DatabaseLists,
    domain: str,
    project: str,
    *,
    status: int = 200,
    problem: str | None = None,
) -> Response:
    return pages.render(
        "operations.html",
        status=status,
        title=f"Operations of {domain}/{project}",
        principal=visitor.principal,
        domain=domain,
        project=project,
        problem=problem,
        **await _listed(visitor, service, databases, request.query_params, domain, project),
    )


@router.get("/domain/{domain}/project/{project}/operations")
async def operations_page(
    request: Request,
    visitor: Visitor,
    service: deps.Operations,
    databases: deps.DatabaseListing,
    domain: Domain,
    project: Project,
) -> Response:
    check_project(visitor, domain, project)
    return await _page(request, visitor, service, databases, domain, project)


@router.get("/domain/{domain}/project/{project}/operations/rows")
async def operations_rows(
    request: Request,
    visitor: Visitor,
    service: deps.Operations,
    databases: deps.DatabaseListing,
    domain: Domain,
    project: Project,
) -> Response:
    """The list alone, for the page to refresh in place while an operation is active."""
    check_project(visitor, domain, project)
    return pages.render(
        "_operations.html",
        **await _listed(visitor, service, databases, request.query_params, domain, project),
    )


@router.post("/domain/{domain}/project/{project}/operations/{operation_id}/cancel")
async def cancel(
    request: Request,
    visitor: Visitor,
    service: deps.Operations,
    databases: deps.DatabaseListing,
    domain: Domain,
    project: Project,
    operation_id: str,
) -> Response:
    operation = await authorized_operation(
        service, visitor.principal, operation_id, auth.Action.WRITE
    )
    if (operation.domain, operation.project) != (domain, project):
        raise errors.ApiError(404, "not_found", f"operation {operation_id} not found")
    await pages.form_of(request, csrf=visitor.session.csrf)
    try:
        await service.request_cancel(operation.id)
    except OperationNotCancellable as exc:
        return await _page(
            request, visitor, service, databases, domain, project, status=409, problem=exc.message
        )
    return RedirectResponse(base_of(domain, project), status_code=303)
