"""A database's changes from its console page: scale or resize, upgrade, deletion protection.

    POST …/databases/{id}/scale                 replicas, size, storage_gb   (the API's scale)
    POST …/databases/{id}/upgrade               target_version               (its upgrade)
    POST …/databases/{id}/deletion-protection   deletion_protection on/off   (its PATCH)

Each form is validated by the API's request model (`ScaleIn`, `UpgradeIn`, `PatchDatabaseIn`)
and submitted by the function the API's route calls, after the API's WRITE check: the
console can change nothing the API would refuse. A value the model or a rule refuses is
shown by its field; any other refusal (409, 422) is the page's message; then 303 back to
the page, whose timeline follows the operation. Must not: decide a rule itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError

from app.api import deps
from app.api.v1 import database_actions
from app.api.v1 import database_models as models
from app.api.v1 import databases as database_api
from app.api.v1.database_routing import authorized_database
from app.console import database_page, pages
from app.console.databases import Domain, Project, base_of
from app.domain import access
from app.domain.databases import Database
from app.services.database_errors import Conflict, RuleViolated

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

Visitor = Annotated[pages.Visitor, Depends(pages.visitor)]
PATH = "/domain/{domain}/project/{project}/databases/{database_id}"
Submit = Callable[[Database, Any], Awaitable[object]]


async def _change(
    request: Request,
    visitor: pages.Visitor,
    service: deps.Databases,
    catalog: deps.Catalog,
    operations: deps.Operations,
    where: tuple[str, str, str],
    model: type[BaseModel],
    submit: Submit,
) -> Response:
    """Check, read the form, validate it with `model`, `submit` it; the page again on a
    refusal, else 303 to the page."""
    domain, project, database_id = where
    database = await authorized_database(
        service, visitor.principal, domain, project, database_id, access.Action.WRITE
    )
    form = await pages.form_of(request, csrf=visitor.session.csrf)
    fields = tuple(model.model_fields)
    shown = (visitor, service, catalog, operations, domain, project, database)
    try:
        # A form is text: numbers and booleans are read from it as the API reads JSON's.
        asked = {k: v for k, v in form.items() if k in fields and v}
        body = model.model_validate(asked, strict=False)
    except ValidationError as exc:
        found = {str(e["loc"][0]) if e["loc"] else "form": e["msg"] for e in exc.errors()}
        problem = found.pop("form", None)
        return await database_page.page(*shown, status=422, field_errors=found, problem=problem)
    try:
        await submit(database, body)
    except (Conflict, RuleViolated) as exc:
        return await database_page.refused(exc, *shown, fields=fields)
    return RedirectResponse(f"{base_of(domain, project)}/{database.id}", status_code=303)


@router.post(f"{PATH}/scale")
async def scale(
    request: Request,
    visitor: Visitor,
    service: deps.Databases,
    catalog: deps.Catalog,
    operations: deps.Operations,
    domain: Domain,
    project: Project,
    database_id: str,
) -> Response:
    async def submit(database: Database, body: models.ScaleIn) -> object:
        return await database_actions.scale(service, database, body, actor=visitor.principal.key_id)

    where = (domain, project, database_id)
    return await _change(
        request, visitor, service, catalog, operations, where, models.ScaleIn, submit
    )


@router.post(f"{PATH}/upgrade")
async def upgrade(
    request: Request,
    visitor: Visitor,
    service: deps.Databases,
    catalog: deps.Catalog,
    operations: deps.Operations,
    domain: Domain,
    project: Project,
    database_id: str,
) -> Response:
    async def submit(database: Database, body: models.UpgradeIn) -> object:
        return await database_actions.upgrade(
            service, database, body, actor=visitor.principal.key_id
        )

    where = (domain, project, database_id)
    return await _change(
        request, visitor, service, catalog, operations, where, models.UpgradeIn, submit
    )


@router.post(f"{PATH}/deletion-protection")
async def deletion_protection(
    request: Request,
    visitor: Visitor,
    service: deps.Databases,
    backups: deps.Backups,
    catalog: deps.Catalog,
    operations: deps.Operations,
    domain: Domain,
    project: Project,
    database_id: str,
) -> Response:
    async def submit(database: Database, body: models.PatchDatabaseIn) -> object:
        return await database_api.change(
            service, backups, database, body, actor=visitor.principal.key_id
        )

    where = (domain, project, database_id)
    return await _change(
        request, visitor, service, catalog, operations, where, models.PatchDatabaseIn, submit
    )
