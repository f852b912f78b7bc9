"""`GET /api/v1/databases`: databases across projects, within the caller's scope.

An admin key sees every tenant; an owner (or any role) of a domain sees all its projects; a
project key its project. `domain` and `project` narrow the list; naming a tenant outside the
key's scope answers 404, as a missing one would. The filters and paging are the project
list's (`app.api.v1.databases`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.api import auth, deps
from app.api.errors import ValidationFailed, error_responses
from app.api.v1 import database_models as models
from app.api.v1 import filters
from app.api.v1.database_routing import DNS_LABEL
from app.domain import access

Principal = Annotated[auth.Principal, Depends(auth.authenticate)]
Tenant = Annotated[str | None, Query(pattern=DNS_LABEL, max_length=63)]

router = APIRouter(prefix="/api/v1/databases", tags=["databases"])


def scope_of(
    principal: auth.Principal, domain: str | None, project: str | None
) -> tuple[str | None, str | None]:
    """The (domain, project) to list: the query's, inside the key's scope (404 outside it,
    as for a missing tenant). The console's cross-project list asks it too."""
    if project is not None and domain is None:
        raise ValidationFailed({"query.project": "a project needs its domain"})
    own_domain, own_project = access.visible_scope(principal)
    domain = domain or own_domain
    if domain is None:  # an admin asking for everything
        return None, None
    if project is None and domain == own_domain:
        project = own_project  # a project key's own domain: its project
    auth.authorize(
        principal,
        domain=domain,
        project=project,
        action=access.Action.READ,
        missing=f"{domain if project is None else f'{domain}/{project}'} not found",
    )
    return domain, project


@router.get(
    "",
    response_model=models.DatabaseList,
    responses=error_responses(400, 401, 404, 422, 429),
    summary="Databases across projects (the key's scope), newest first unless `sort` says",
)
async def list_all_databases(
    lists: deps.DatabaseListing,
    principal: Principal,
    query: filters.ListQueryParam,
    domain: Tenant = None,
    project: Tenant = None,
) -> Response:
    domain, project = scope_of(principal, domain, project)
    found = await lists.page(
        query.where(domain=domain, project=project),
        offset=query.offset,
        limit=query.page_size,
        order=query.order,
    )
    body = models.DatabaseList.json_of(
        found.items, total=found.total, page=query.page, page_size=query.page_size
    )
    return Response(body, media_type="application/json")
