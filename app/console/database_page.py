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

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import RedirectResponse

from app.api import deps
from app.api.v1 import databases as database_api
from app.api.v1.database_routing import PAUSED, RUNNING, SERVING, authorized_database
from app.console import database_forms, pages, targets
from app.console.targets import CsrfForm, ReadableDatabase, Visitor, WritableDatabase
from app.domain import access
from app.domain import operation_kinds as kinds
from app.domain.databases import Database, DatabaseStatus
from app.services.catalog import CatalogService
from app.services.database_errors import Conflict, RuleViolated
from app.services.databases import DatabaseService
from app.services.operations import OperationService
from app.store.protocols import OperationFilter

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

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


@dataclass(frozen=True, slots=True)
class Page:
    """A database's page for one visitor, with the services it is drawn from."""

    visitor: pages.Visitor
    service: DatabaseService
    catalog: CatalogService
    operations: OperationService

    async def activity(self, database: Database) -> dict[str, Any]:
        """What the actions and the timeline are drawn from."""
        found = await self.operations.page(
            OperationFilter(database_id=database.id), offset=0, limit=TIMELINE
        )
        busy = any(o.is_active for o in found.items)
        writable = targets.may_write(self.visitor, database.domain, database.project)
        status = database.status
        valid = [name for name, (_, _, allowed) in _ACTIONS.items() if status in allowed]
        valid += [name for name, allowed in _CHANGES.items() if status in allowed]
        if status not in _GONE:
            valid += ["deletion-protection", "delete"]
        actions = valid if writable and not busy else []
        options = (
            await database_forms.action_options(self.service, self.catalog, database)
            if actions
            else {}
        )
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

    async def render(
        self,
        database: Database,
        *,
        status: int = 200,
        problem: str | None = None,
        field_errors: dict[str, str] | None = None,
    ) -> Response:
        domain, project = database.domain, database.project
        events = await self.service.events(database, offset=0, limit=20)
        return targets.project_page(
            "database.html",
            self.visitor,
            domain,
            project,
            status=status,
            title=f"{database.name} ({domain}/{project})",
            database=database,
            events=events.items,
            may_read_credentials=access.decide(
                self.visitor.principal,
                domain=domain,
                project=project,
                action=access.Action.CREDENTIALS,
            )
            is access.Decision.ALLOW,
            problem=problem,
            field_errors=field_errors or {},
            **await self.activity(database),
        )

    async def refused(
        self, exc: Conflict | RuleViolated, database: Database, *, fields: tuple[str, ...] = ()
    ) -> Response:
        """The page again with the refusal: by its field when the form has it, else on top."""
        fresh = await self.service.get(database.domain, database.project, database.id)
        status = 409 if isinstance(exc, Conflict) else 422
        field = exc.field.removeprefix("body.") if isinstance(exc, RuleViolated) else ""
        if field in fields:
            return await self.render(fresh, status=status, field_errors={field: exc.message})
        return await self.render(fresh, status=status, problem=exc.message)


async def _page(
    visitor: Visitor,
    service: deps.Databases,
    catalog: deps.Catalog,
    operations: deps.Operations,
) -> Page:
    return Page(visitor, service, catalog, operations)


DatabasePage = Annotated[Page, Depends(_page)]


@router.get("/domain/{domain}/project/{project}/databases/{database_id}")
async def database_page(shown: DatabasePage, database: ReadableDatabase) -> Response:
    return await shown.render(database)


@router.get("/domain/{domain}/project/{project}/databases/{database_id}/activity")
async def database_activity(shown: DatabasePage, database: ReadableDatabase) -> Response:
    """The actions and the operations timeline alone, for the page to refresh in place."""
    return pages.render(
        "_activity.html",
        visitor=shown.visitor,
        base=targets.base_of(database.domain, database.project),
        database=database,
        field_errors={},
        oob=True,  # the status badges too: an action leaves them settled until it runs
        **await shown.activity(database),
    )


@router.post("/domain/{domain}/project/{project}/databases/{database_id}/delete")
async def delete(
    shown: DatabasePage, backups: deps.Backups, database: WritableDatabase, form: CsrfForm
) -> Response:
    """The API's delete, after a final backup when the form asks for one."""
    if form.get("confirm_name", "").strip() != database.name:
        asked = {"confirm_name": f"type {database.name} to delete this database"}
        return await shown.render(database, status=422, field_errors=asked)
    try:
        await database_api.remove(
            shown.service,
            backups,
            database,
            final_backup=form.get("final_backup") == "on",
            actor=shown.visitor.principal.key_id,
        )
    except (Conflict, RuleViolated) as exc:
        return await shown.refused(exc, database)
    return RedirectResponse(targets.page_of(database), status_code=303)


# After `delete` (and `database_changes`): a path parameter would take their names.
# Its database is checked in its body, its form read after: as dependencies, they would run
# before `action` is validated, a 403/404 where an unknown action is a 422 (see `targets`).
@router.post("/domain/{domain}/project/{project}/databases/{database_id}/{action}")
async def act(
    request: Request,
    shown: DatabasePage,
    domain: targets.Domain,
    project: targets.Project,
    database_id: str,
    action: Action,
) -> Response:
    visitor = shown.visitor
    database = await authorized_database(
        shown.service, visitor.principal, domain, project, database_id, access.Action.WRITE
    )
    await pages.form_of(request, csrf=visitor.session.csrf)
    kind, wanted, allowed = _ACTIONS[action]
    try:
        await shown.service.mutate(
            database, kind, wanted, actor=visitor.principal.key_id, allowed_from=allowed
        )
    except (Conflict, RuleViolated) as exc:
        return await shown.refused(exc, database)
    return RedirectResponse(targets.page_of(database), status_code=303)
