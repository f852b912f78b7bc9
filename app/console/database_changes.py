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
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError

from app.api import deps
from app.api.v1 import database_actions
from app.api.v1 import database_models as models
from app.api.v1 import databases as database_api
from app.console import pages, targets
from app.console.database_page import DatabasePage, Page
from app.console.targets import CsrfForm, WritableDatabase
from app.domain.databases import Database
from app.services.database_errors import Conflict, RuleViolated

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

PATH = "/domain/{domain}/project/{project}/databases/{database_id}"
Submit = Callable[[Database, Any], Awaitable[object]]


async def _change(
    shown: Page, database: Database, form: dict[str, str], model: type[BaseModel], submit: Submit
) -> Response:
    """Validate the form with `model`, `submit` it; the page again on a refusal, else 303 to
    the page."""
    fields = tuple(model.model_fields)
    try:
        # A form is text: numbers and booleans are read from it as the API reads JSON's.
        asked = {k: v for k, v in form.items() if k in fields and v}
        body = model.model_validate(asked, strict=False)
    except ValidationError as exc:
        found = targets.field_errors(exc)
        problem = found.pop("form", None)
        return await shown.render(database, status=422, field_errors=found, problem=problem)
    try:
        await submit(database, body)
    except (Conflict, RuleViolated) as exc:
        return await shown.refused(exc, database, fields=fields)
    return RedirectResponse(targets.page_of(database), status_code=303)


@router.post(f"{PATH}/scale")
async def scale(shown: DatabasePage, database: WritableDatabase, form: CsrfForm) -> Response:
    async def submit(database: Database, body: models.ScaleIn) -> object:
        actor = shown.visitor.principal.key_id
        return await database_actions.scale(shown.service, database, body, actor=actor)

    return await _change(shown, database, form, models.ScaleIn, submit)


@router.post(f"{PATH}/upgrade")
async def upgrade(shown: DatabasePage, database: WritableDatabase, form: CsrfForm) -> Response:
    async def submit(database: Database, body: models.UpgradeIn) -> object:
        actor = shown.visitor.principal.key_id
        return await database_actions.upgrade(shown.service, database, body, actor=actor)

    return await _change(shown, database, form, models.UpgradeIn, submit)


@router.post(f"{PATH}/deletion-protection")
async def deletion_protection(
    shown: DatabasePage, backups: deps.Backups, database: WritableDatabase, form: CsrfForm
) -> Response:
    async def submit(database: Database, body: models.PatchDatabaseIn) -> object:
        actor = shown.visitor.principal.key_id
        return await database_api.change(shown.service, backups, database, body, actor=actor)

    return await _change(shown, database, form, models.PatchDatabaseIn, submit)
