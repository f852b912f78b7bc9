"""Restores into a new database from the console: a clone of a backup, a point-in-time
restore drawn on its restore window, and the project's backups page they start from.

    POST …/databases/{id}/backups/{backup_id}/clone   a new database from the backup
    GET  …/databases/{id}/point-in-time               the restore window as a time bar + form
    POST …/databases/{id}/point-in-time               a new database at a point in time
    GET  …/project/{p}/backups                        the project's backups (deleted databases'
                                                      kept ones too), newest first

A new database is made as the API's create makes it: the project's WRITE check, the body
validated by `CreateDatabaseIn` (its `restore_from`), `new_database` resolving the source
(the backup, or the point in time inside the window) and `DatabaseService.create`. A point
in time is never restored in place (decision 70). Refusals are shown by their field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.api import deps
from app.api.v1 import database_models as models
from app.api.v1.databases import new_database
from app.console import pages, targets
from app.console.backups import PageNumber, backup_page
from app.console.targets import CsrfForm, Domain, Project, ReadableDatabase, Visitor
from app.domain import access, pitr
from app.domain.backups import Backup, BackupStatus
from app.domain.databases import Database
from app.services.backups import BackupService
from app.services.database_errors import Conflict, RuleViolated
from app.services.databases import DatabaseService
from app.store.protocols import DatabaseFilter

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

DatabaseId = Annotated[str | None, Query(max_length=64)]  # "" from the filter: any
PAGE_SIZE = 20
BAR_WIDTH = 600  # the time bar's SVG user units
_LOCAL = "%Y-%m-%dT%H:%M:%S"  # a datetime-local input's value, in UTC here


def _field_of(location: str) -> str:
    """The form field a create's complaint is about."""
    if "point_in_time" in location or location == "restore_from":
        return "point_in_time"
    return "name" if location.removeprefix("body.") == "name" else "form"


async def _copy(
    visitor: pages.Visitor,
    backups: BackupService,
    service: DatabaseService,
    source: Database,
    name: str,
    restore_from: dict[str, str],
) -> Database | tuple[int, dict[str, str]]:
    """A new database like `source` restored from `restore_from`, as the API's create makes
    it; or (status, errors by field) when it is refused."""
    targets.check_project(visitor, source.domain, source.project, access.Action.WRITE)
    wanted = {
        "name": name,
        "engine": source.engine,
        "version": source.version,
        "size": source.size,
        "storage_gb": source.storage_gb,
        "restore_from": {"database_id": source.id, **restore_from},
    }
    try:
        body = models.CreateDatabaseIn.model_validate(wanted)
        new = await new_database(backups, source.domain, source.project, body)
        database, _ = await service.create(
            source.domain, source.project, new, actor=visitor.principal.key_id
        )
    except ValidationError as exc:
        found = {_field_of(".".join(str(p) for p in e["loc"])): e["msg"] for e in exc.errors()}
        return 422, found
    except RuleViolated as exc:
        return 422, {_field_of(exc.field): exc.message}
    except Conflict as exc:
        return 409, {targets.conflict_field(exc): exc.message}
    return database


def _created(database: Database) -> Response:
    return RedirectResponse(targets.page_of(database), status_code=303)


@router.post("/domain/{domain}/project/{project}/databases/{database_id}/backups/{backup_id}/clone")
async def clone(
    visitor: Visitor,
    service: deps.Databases,
    backups: deps.Backups,
    operations: deps.Operations,
    source: ReadableDatabase,
    backup_id: str,
    form: CsrfForm,
) -> Response:
    name = form.get("name", "").strip()
    made = await _copy(visitor, backups, service, source, name, {"backup_id": backup_id})
    if isinstance(made, Database):
        return _created(made)
    status, field_errors = made
    return await backup_page(
        visitor,
        backups,
        operations,
        source,
        backup_id,
        status=status,
        values={"name": name},
        field_errors=field_errors,
    )


def time_bar(window: pitr.RestoreWindow, backups: list[Backup]) -> dict[str, Any]:
    """Where the window's gaps and the backups taken inside it fall on a bar
    `BAR_WIDTH` wide (SVG presentation attributes, no styles: the CSP forbids them)."""
    span = max((window.latest - window.earliest).total_seconds(), 1.0)

    def x(moment: datetime) -> float:
        offset = (pitr.as_utc(moment) - window.earliest).total_seconds()
        return round(min(max(offset / span, 0.0), 1.0) * BAR_WIDTH, 1)

    ticks = [
        {"x": x(b.completed_at), "backup": b}
        for b in backups
        if b.completed_at is not None and window.covers(b.completed_at)
    ]
    gaps = [{"x": x(g.start), "width": max(x(g.end) - x(g.start), 1.0)} for g in window.gaps]
    return {"width": BAR_WIDTH, "ticks": ticks, "gaps": gaps}


async def _pitr_page(
    visitor: pages.Visitor,
    backups: BackupService,
    database: Database,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
) -> Response:
    try:
        window: pitr.RestoreWindow | None = await backups.restore_window(database)
        problem = None
    except Conflict as exc:  # PITR off, or nothing archived yet: said on the page
        window, problem = None, exc.message
    context: dict[str, Any] = {}
    if window is not None:
        taken = await backups.list(database, offset=0, limit=100)
        done = [b for b in taken.items if b.status is BackupStatus.SUCCEEDED]
        context = {
            "bar": time_bar(window, done),
            "earliest": window.earliest.astimezone(UTC).strftime(_LOCAL),
            "latest": window.latest.astimezone(UTC).strftime(_LOCAL),
        }
    return targets.project_page(
        "point_in_time.html",
        visitor,
        database.domain,
        database.project,
        status=status,
        title=f"Point-in-time restore of {database.name}",
        database=database,
        window=window,
        problem=problem,
        may_write=targets.may_write(visitor, database.domain, database.project),
        values=values or {},
        field_errors=field_errors or {},
        **context,
    )


@router.get("/domain/{domain}/project/{project}/databases/{database_id}/point-in-time")
async def point_in_time_form(
    visitor: Visitor, backups: deps.Backups, database: ReadableDatabase
) -> Response:
    return await _pitr_page(visitor, backups, database)


@router.post("/domain/{domain}/project/{project}/databases/{database_id}/point-in-time")
async def point_in_time(
    visitor: Visitor,
    service: deps.Databases,
    backups: deps.Backups,
    source: ReadableDatabase,
    form: CsrfForm,
) -> Response:
    values = {name: form.get(name, "").strip() for name in ("name", "point_in_time")}
    moment = values["point_in_time"]
    # The input's value carries no zone; the page says it is UTC.
    wanted = {"point_in_time": f"{moment}Z"} if moment else {}
    made = await _copy(visitor, backups, service, source, values["name"], wanted)
    if isinstance(made, Database):
        return _created(made)
    status, field_errors = made
    return await _pitr_page(
        visitor, backups, source, status=status, values=values, field_errors=field_errors
    )


@router.get("/domain/{domain}/project/{project}/backups")
async def project_backups(
    visitor: Visitor,
    backups: deps.Backups,
    lists: deps.DatabaseListing,
    domain: Domain,
    project: Project,
    database_id: DatabaseId = None,
    page: PageNumber = 1,
) -> Response:
    """The project's backups as the API's project route lists them, newest first."""
    targets.check_project(visitor, domain, project)
    found = await backups.list_for_project(
        domain,
        project,
        database_id=database_id or None,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    databases = await lists.page(
        DatabaseFilter(domain=domain, project=project, include_deleted=True), offset=0, limit=100
    )
    return targets.project_page(
        "backups.html",
        visitor,
        domain,
        project,
        title=f"Backups of {domain}/{project}",
        backups=found.items,
        total=found.total,
        page=page,
        pages_total=max(1, -(-found.total // PAGE_SIZE)),
        databases=databases.items,
        database_id=database_id or "",
        may_write=targets.may_write(visitor, domain, project),
    )
