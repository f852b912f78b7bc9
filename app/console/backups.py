"""A database's backups in the console: the section on its page, a backup now, one backup's
page with its restore in place and its delete.

    GET  …/databases/{id}/backups-section              the section (htmx, loaded by the page;
                                                       polled while a backup or restore runs)
    POST …/databases/{id}/backups                      a backup now; 303 back to the page
    GET  …/databases/{id}/backups/{backup_id}          one backup: restore, clone, delete
    POST …/databases/{id}/backups/{backup_id}/restore  restore in place (the name typed)
    POST …/databases/{id}/backups/{backup_id}/delete   delete a manual or final backup

Each calls what the API's route calls (`BackupService.take`, `.remove`, `.restore_in_place`)
after the same `authorized_database` check, so the console can do nothing the API would
refuse. A button is shown only when the key may write and the state allows it (the
service's `BACKUP_FROM`/`RESTORE_FROM`, no operation active, a scheduled backup left to
retention); a forged POST is refused anyway. Cloning and point-in-time restores are
`backup_restore`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import RedirectResponse

from app.api import deps
from app.api.v1.database_routing import authorized_database
from app.console import pages, targets
from app.console.targets import CsrfForm, ReadableDatabase, Visitor, WritableDatabase
from app.domain import access
from app.domain import operation_kinds as kinds
from app.domain.backups import Backup, BackupStatus, BackupType
from app.domain.databases import Database
from app.services import backups as backup_rules
from app.services.backups import BackupService
from app.services.operations import OperationService
from app.store.protocols import OperationFilter

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
PAGE_SIZE = 10
_WATCHED = frozenset({kinds.BACKUP.type, kinds.RESTORE.type})
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def byte_size(value: int | None) -> str:
    """A backup's size for people ("1.5 MiB"); "unknown" while it has none."""
    if value is None:
        return "unknown"
    size, unit = float(value), 0
    while size >= 1024 and unit < len(_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    return f"{value} B" if unit == 0 else f"{size:.1f} {_UNITS[unit]}"


pages.templates.filters["byte_size"] = byte_size


async def active_operation(operations: OperationService, database: Database) -> str | None:
    """The type of the database's active operation, if one is (as the activity finds it)."""
    found = await operations.page(OperationFilter(database_id=database.id), offset=0, limit=10)
    return next((o.type for o in found.items if o.is_active), None)


def rights(
    visitor: pages.Visitor, database: Database, active: str | None, backup: Backup | None = None
) -> dict[str, bool]:
    """Which buttons to show: the service's own rules, read before it is asked."""
    writable = targets.may_write(visitor, database.domain, database.project)
    idle = writable and active is None
    succeeded = backup is not None and backup.status is BackupStatus.SUCCEEDED
    return {
        "may_write": writable,
        "may_back_up": idle and database.status in backup_rules.BACKUP_FROM,
        "may_restore": idle and succeeded and database.status in backup_rules.RESTORE_FROM,
        "may_clone": writable and succeeded,
        "may_delete": writable
        and backup is not None
        and backup.type is not BackupType.SCHEDULED
        and backup.status.is_terminal,
    }


async def _section(
    visitor: pages.Visitor,
    backups: BackupService,
    operations: OperationService,
    database: Database,
    page: int,
) -> dict[str, Any]:
    found = await backups.list(database, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    active = await active_operation(operations, database)
    running = any(not b.status.is_terminal for b in found.items)
    return {
        "backups": found.items,
        "total": found.total,
        "page": page,
        "pages_total": max(1, -(-found.total // PAGE_SIZE)),
        "polling": running or active in _WATCHED,
        "active": active,
        **rights(visitor, database, active),
    }


# Its database is checked in its body: as a dependency, the check would run before the page
# number is validated, a 403/404 where an invalid page is a 422 (see `targets`).
@router.get("/domain/{domain}/project/{project}/databases/{database_id}/backups-section")
async def backups_section(
    visitor: Visitor,
    service: deps.Databases,
    backups: deps.Backups,
    operations: deps.Operations,
    domain: targets.Domain,
    project: targets.Project,
    database_id: str,
    page: PageNumber = 1,
) -> Response:
    """The database's backups and backup policy, for its page to load and refresh."""
    database = await authorized_database(
        service, visitor.principal, domain, project, database_id, access.Action.READ
    )
    return pages.render(
        "_backups_section.html",
        visitor=visitor,
        base=targets.base_of(domain, project),
        database=database,
        **await _section(visitor, backups, operations, database, page),
    )


def _backups_of(database: Database) -> Response:
    """303 to the database's page, at its backups."""
    return RedirectResponse(f"{targets.page_of(database)}#backups", status_code=303)


@router.post("/domain/{domain}/project/{project}/databases/{database_id}/backups")
async def back_up_now(
    visitor: Visitor, backups: deps.Backups, database: WritableDatabase, _: CsrfForm
) -> Response:
    await backups.take(database, actor=visitor.principal.key_id)  # refusals: a page
    return _backups_of(database)


async def backup_page(
    visitor: pages.Visitor,
    backups: BackupService,
    operations: OperationService,
    database: Database,
    backup_id: str,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
) -> Response:
    """One backup's page: its facts and the forms valid for it now."""
    backup = await backups.get(database, backup_id)
    active = await active_operation(operations, database)
    return targets.project_page(
        "restore.html",
        visitor,
        database.domain,
        database.project,
        status=status,
        title=f"Backup {backup.id} of {database.name}",
        database=database,
        backup=backup,
        active=active,
        values=values or {},
        field_errors=field_errors or {},
        **rights(visitor, database, active, backup),
    )


@router.get("/domain/{domain}/project/{project}/databases/{database_id}/backups/{backup_id}")
async def one_backup(
    visitor: Visitor,
    backups: deps.Backups,
    operations: deps.Operations,
    database: ReadableDatabase,
    backup_id: str,
) -> Response:
    return await backup_page(visitor, backups, operations, database, backup_id)


@router.post(
    "/domain/{domain}/project/{project}/databases/{database_id}/backups/{backup_id}/restore"
)
async def restore_in_place(
    visitor: Visitor,
    backups: deps.Backups,
    operations: deps.Operations,
    database: WritableDatabase,
    backup_id: str,
    form: CsrfForm,
) -> Response:
    if form.get("confirm_name", "").strip() != database.name:
        asked = {"confirm_name": f"type {database.name} to replace its data"}
        shown = (visitor, backups, operations, database, backup_id)
        return await backup_page(*shown, status=422, field_errors=asked)
    await backups.restore_in_place(database, backup_id, actor=visitor.principal.key_id)
    return RedirectResponse(targets.page_of(database), status_code=303)


@router.post(
    "/domain/{domain}/project/{project}/databases/{database_id}/backups/{backup_id}/delete"
)
async def delete_backup(
    visitor: Visitor,
    backups: deps.Backups,
    operations: deps.Operations,
    database: WritableDatabase,
    backup_id: str,
    form: CsrfForm,
) -> Response:
    if form.get("confirm_delete") != "yes":
        asked = {"confirm_delete": "tick the box to delete this backup"}
        shown = (visitor, backups, operations, database, backup_id)
        return await backup_page(*shown, status=422, field_errors=asked)
    await backups.remove(database, backup_id)
    return _backups_of(database)
