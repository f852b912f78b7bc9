"""One database's console page: its overview, the actions valid now, its operations.

    GET  …/databases/{id}             the page
    GET  …/databases/{id}/activity    actions + operations timeline (htmx, polled while busy)
    POST …/databases/{id}/{pause,resume,restart,rotate-credentials,delete}   303 to the page

The other actions' routes (scale, upgrade, deletion protection) are `database_changes`; what
their forms offer is `database_forms`.

An action calls what the API's route calls (`DatabaseService.mutate` with the same kind
and allowed statuses, the API's delete with its `final_backup`) after the API's WRITE
check, so the console can do nothing the API would refuse. A button is shown only when its
action is valid in the current status, no operation is active and the key may write; a
forged POST is refused anyway (403 page). A refusal from the service (409 operation in
progress, deletion protected; 422 wrong status) is shown as a message on the page, never
as JSON.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import RedirectResponse

from app.api import deps
from app.api.v1 import databases as database_api
from app.api.v1.database_routing import PAUSED, RUNNING, SERVING, authorized_database
from app.console import database_forms, pages
from app.console.databases import Domain, Project, base_of, may_write
from app.domain import access
from app.domain import operation_kinds as kinds
from app.domain.databases import Database, DatabaseStatus
from app.services.catalog import CatalogService
from app.services.database_errors import Conflict, RuleViolated
from app.services.databases import DatabaseService
from app.services.operations import OperationService
from app.store.protocols import OperationFilter

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

Visitor = Annotated[pages.Visitor, Depends(pages.visitor)]
Action = Annotated[str, Path(pattern="^(pause|resume|restart|rotate-credentials)$")]
TIMELINE = 10
# Statuses the page stops refreshing in (as `_status.html`): nothing moves by itself there.
SETTLED = frozenset(
    {DatabaseStatus.RUNNING, DatabaseStatus.PAUSED, DatabaseStatus.FAILED, DatabaseStatus.DELETED}
)
# The API's allowed statuses per action (app/api/v1/database_actions.py).
_ACTIONS: dict[str, tuple[Any, Any, frozenset[DatabaseStatus]]] = {
    "pause": (kinds.PAUSE, kinds.PauseInput(), RUNNING),
    "resume": (kinds.RESUME, kinds.ResumeInput(), PAUSED),
    "restart": (kinds.RESTART, kinds.RestartInput(), SERVING),
    "rotate-credentials": (kinds.ROTATE_CREDENTIALS, kinds.RotateCredentialsInput(), RUNNING),
}
# The API's scale and upgrade take a running database; a PATCH any but a deleted one.
_CHANGES = {"scale": RUNNING, "upgrade": RUNNING}
_GONE = (DatabaseStatus.DELETED, DatabaseStatus.DELETING)


async def _activity(
    visitor: pages.Visitor,
    service: DatabaseService,
    catalog: CatalogService,
    operations: OperationService,
    domain: str,
    project: str,
    database: Database,
) -> dict[str, Any]:
    """What the actions and the timeline are drawn from."""
    found = await operations.page(
        OperationFilter(database_id=database.id), offset=0, limit=TIMELINE
    )
    busy = any(o.is_active for o in found.items)
    writable = may_write(visitor, domain, project)
    status = database.status
    valid = [name for name, (_, _, allowed) in _ACTIONS.items() if status in allowed]
    valid += [name for name, allowed in _CHANGES.items() if status in allowed]
    if status not in _GONE:
        valid += ["deletion-protection", "delete"]
    actions = valid if writable and not busy else []
    options = await database_forms.action_options(service, catalog, database) if actions else {}
    if not options.get("upgrade_targets") and not options.get("upgrade_problem"):
        actions = [a for a in actions if a != "upgrade"]
    return {
        "operations": found.items,
        "actions": actions,
        "options": options,
        "may_write": writable,
        "polling": busy or status not in SETTLED,
        "busy": busy,
    }


async def page(
    visitor: pages.Visitor,
    service: DatabaseService,
    catalog: CatalogService,
    operations: OperationService,
    domain: str,
    project: str,
    database: Database,
    *,
    status: int = 200,
    problem: str | None = None,
    field_errors: dict[str, str] | None = None,
) -> Response:
    events = await service.events(database, offset=0, limit=20)
    return pages.render(
        "database.html",
        status=status,
        title=f"{database.name} ({domain}/{project})",
        principal=visitor.principal,
        visitor=visitor,
        domain=domain,
        project=project,
        base=base_of(domain, project),
        database=database,
        events=events.items,
        may_read_credentials=access.decide(
            visitor.principal, domain=domain, project=project, action=access.Action.CREDENTIALS
        )
        is access.Decision.ALLOW,
        problem=problem,
        field_errors=field_errors or {},
        **await _activity(visitor, service, catalog, operations, domain, project, database),
    )


@router.get("/domain/{domain}/project/{project}/databases/{database_id}")
async def database_page(
    visitor: Visitor,
    service: deps.Databases,
    catalog: deps.Catalog,
    operations: deps.Operations,
    domain: Domain,
    project: Project,
    database_id: str,
) -> Response:
    database = await authorized_database(
        service, visitor.principal, domain, project, database_id, access.Action.READ
    )
    return await page(visitor, service, catalog, operations, domain, project, database)


@router.get("/domain/{domain}/project/{project}/databases/{database_id}/activity")
async def database_activity(
    visitor: Visitor,
    service: deps.Databases,
    catalog: deps.Catalog,
    operations: deps.Operations,
    domain: Domain,
    project: Project,
    database_id: str,
) -> Response:
    """The actions and the operations timeline alone, for the page to refresh in place."""
    database = await authorized_database(
        service, visitor.principal, domain, project, database_id, access.Action.READ
    )
    return pages.render(
        "_activity.html",
        visitor=visitor,
        base=base_of(domain, project),
        database=database,
        field_errors={},
        oob=True,  # the status badges too: an action leaves them settled until it runs
        **await _activity(visitor, service, catalog, operations, domain, project, database),
    )


async def refused(
    exc: Conflict | RuleViolated,
    visitor: pages.Visitor,
    service: DatabaseService,
    catalog: CatalogService,
    operations: OperationService,
    domain: str,
    project: str,
    database: Database,
    *,
    fields: tuple[str, ...] = (),
) -> Response:
    """The page again with the refusal: by its field when the form has it, else on top."""
    fresh = await service.get(domain, project, database.id)
    status = 409 if isinstance(exc, Conflict) else 422
    field = exc.field.removeprefix("body.") if isinstance(exc, RuleViolated) else ""
    where = {"field_errors": {field: exc.message}} if field in fields else {"problem": exc.message}
    return await page(
        visitor, service, catalog, operations, domain, project, fresh, status=status, **where
    )


@router.post("/domain/{domain}/project/{project}/databases/{database_id}/delete")
async def delete(
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
    """The API's delete, after a final backup when the form asks for one."""
    database = await authorized_database(
        service, visitor.principal, domain, project, database_id, access.Action.WRITE
    )
    form = await pages.form_of(request, csrf=visitor.session.csrf)
    shown = (visitor, service, catalog, operations, domain, project, database)
    if form.get("confirm_name", "").strip() != database.name:
        return await page(
            *shown,
            status=422,
            field_errors={"confirm_name": f"type {database.name} to delete this database"},
        )
    try:
        await database_api.remove(
            service,
            backups,
            database,
            final_backup=form.get("final_backup") == "on",
            actor=visitor.principal.key_id,
        )
    except (Conflict, RuleViolated) as exc:
        return await refused(exc, *shown)
    return RedirectResponse(f"{base_of(domain, project)}/{database.id}", status_code=303)


# After `delete` (and `database_changes`): a path parameter would take their names.
@router.post("/domain/{domain}/project/{project}/databases/{database_id}/{action}")
async def act(
    request: Request,
    visitor: Visitor,
    service: deps.Databases,
    catalog: deps.Catalog,
    operations: deps.Operations,
    domain: Domain,
    project: Project,
    database_id: str,
    action: Action,
) -> Response:
    database = await authorized_database(
        service, visitor.principal, domain, project, database_id, access.Action.WRITE
    )
    await pages.form_of(request, csrf=visitor.session.csrf)
    kind, wanted, allowed = _ACTIONS[action]
    try:
        await service.mutate(
            database, kind, wanted, actor=visitor.principal.key_id, allowed_from=allowed
        )
    except (Conflict, RuleViolated) as exc:
        return await refused(exc, visitor, service, catalog, operations, domain, project, database)
    return RedirectResponse(f"{base_of(domain, project)}/{database.id}", status_code=303)
