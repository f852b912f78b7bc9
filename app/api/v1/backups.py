"""Backups of a database (API.md, Backups): list, read, take one now, delete a manual one,
restore one in place; and a project's backups, deleted databases' included.

    GET, POST   …/databases/{id}/backups          (POST …/{id}/backup: older clients)
    GET, DELETE …/databases/{id}/backups/{backup_id}
    POST        …/databases/{id}/restore           {backup_id} or ?backup_id=
    GET         …/databases/{id}/restore-window    {earliest, latest, gaps} (pitr_enabled)
    GET         /api/v1/domain/{d}/project/{p}/backups?database_id=

Routers only: authorize, let `BackupService` check and submit, shape the answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.api import auth, deps, idempotency
from app.api.errors import ApiError, error_responses
from app.api.v1 import database_models as models
from app.api.v1.database_routing import (
    READ_ERRORS,
    WRITE_ERRORS,
    Domain,
    Principal,
    Project,
    accepted,
    authorized_database,
    database_router,
)
from app.domain import access, pitr
from app.domain.backups import Backup, BackupStatus, BackupType

router = database_router()
project_router = APIRouter(
    prefix="/api/v1/domain/{domain}/project/{project}/backups",
    tags=["backups"],
    responses=error_responses(400, 429),
    dependencies=[auth.TENANT_GATE],
)
BackupId = Annotated[str, Field(min_length=1, max_length=64)]


class BackupOut(BaseModel):
    id: str
    database_id: str
    database_name: str
    type: BackupType
    status: BackupStatus
    storage: str
    started_at: datetime | None
    completed_at: datetime | None
    size_bytes: int | None
    error: str | None = None
    created_at: datetime

    @classmethod
    def of(cls, backup: Backup) -> BackupOut:
        return cls.model_validate(backup.model_dump())


class BackupList(BaseModel):
    backups: list[BackupOut]
    total: int
    page: int
    page_size: int


class GapOut(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime


class RestoreWindowOut(BaseModel):
    earliest: datetime
    latest: datetime
    gaps: list[GapOut]

    @classmethod
    def of(cls, window: pitr.RestoreWindow) -> RestoreWindowOut:
        return cls(
            earliest=window.earliest,
            latest=window.latest,
            gaps=[GapOut(from_=g.start, to=g.end) for g in window.gaps],
        )


class RestoreIn(models.Strict):
    backup_id: BackupId | None = None
    point_in_time: Annotated[datetime | None, Field(strict=False)] = None


def _listed(found: Any, page: int, page_size: int) -> BackupList:
    return BackupList(
        backups=[BackupOut.of(b) for b in found.items],
        total=found.total,
        page=page,
        page_size=page_size,
    )


@router.get(
    "/{database_id}/backups",
    response_model=BackupList,
    responses=READ_ERRORS,
    summary="A database's backups, newest first",
    tags=["backups"],
)
async def list_backups(
    service: deps.Databases,
    backups: deps.Backups,
    principal: Principal,
    domain: Domain,
    project: Project,
    database_id: str,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BackupList:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.READ
    )
    found = await backups.list(database, offset=(page - 1) * page_size, limit=page_size)
    return _listed(found, page, page_size)


@router.post(
    "/{database_id}/backups",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=WRITE_ERRORS,
    summary="Take a backup now (manual: exempt from retention)",
    tags=["backups"],
)
@router.post(
    "/{database_id}/backup",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=WRITE_ERRORS,
    summary="Take a backup now (the older clients' path; same as POST …/backups)",
    tags=["backups"],
)
async def take_backup(
    service: deps.Databases,
    backups: deps.Backups,
    principal: Principal,
    idem: idempotency.Idempotent,
    domain: Domain,
    project: Project,
    database_id: str,
) -> JSONResponse:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.WRITE
    )
    database, operation, backup = await backups.take(database, actor=principal.key_id)
    # The 202 names the backup it makes (`backup_id`) beside the operation.
    return await accepted(database, operation, idem, extra={"backup_id": backup.id})


@router.get(
    "/{database_id}/backups/{backup_id}",
    response_model=BackupOut,
    responses=READ_ERRORS,
    summary="One backup",
    tags=["backups"],
)
async def get_backup(
    service: deps.Databases,
    backups: deps.Backups,
    principal: Principal,
    domain: Domain,
    project: Project,
    database_id: str,
    backup_id: str,
) -> BackupOut:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.READ
    )
    return BackupOut.of(await backups.get(database, backup_id))


@router.delete(
    "/{database_id}/backups/{backup_id}",
    status_code=202,
    response_model=BackupOut,
    responses=WRITE_ERRORS,
    summary="Delete a manual or final backup (scheduled ones belong to retention)",
    tags=["backups"],
)
async def delete_backup(
    service: deps.Databases,
    backups: deps.Backups,
    principal: Principal,
    domain: Domain,
    project: Project,
    database_id: str,
    backup_id: str,
) -> JSONResponse:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.WRITE
    )
    removed = await backups.remove(database, backup_id)
    return JSONResponse(BackupOut.of(removed).model_dump(mode="json"), status_code=202)


@router.post(
    "/{database_id}/restore",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=WRITE_ERRORS,
    summary="Restore a backup in place (the database's data is replaced)",
    tags=["backups"],
)
async def restore_in_place(
    service: deps.Databases,
    backups: deps.Backups,
    principal: Principal,
    idem: idempotency.Idempotent,
    domain: Domain,
    project: Project,
    database_id: str,
    body: RestoreIn | None = None,
    backup_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> JSONResponse:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.WRITE
    )
    given = body or RestoreIn()
    if given.point_in_time is not None:
        # Decision 70: as on RDS and DigitalOcean, a point in time is a new database.
        raise ApiError(
            422,
            "pitr_in_place",
            "point-in-time restores create a new database: POST …/databases with "
            f"restore_from {{database_id, point_in_time}} (database_id {database.id})",
            {"fields": {"body.point_in_time": "not restored in place; create a new database"}},
        )
    wanted = given.backup_id or backup_id
    if wanted is None or (given.backup_id and backup_id and given.backup_id != backup_id):
        raise ApiError(
            422,
            "validation_error",
            "give the backup to restore: backup_id in the body or the query (the same)",
            {"fields": {"body.backup_id": "required"}},
        )
    database, operation = await backups.restore_in_place(database, wanted, actor=principal.key_id)
    return await accepted(database, operation, idem)


@router.get(
    "/{database_id}/restore-window",
    response_model=RestoreWindowOut,
    response_model_by_alias=True,
    responses=error_responses(401, 404, 409, 422, 503),
    summary="The span a point-in-time restore may target (pitr_enabled)",
    tags=["backups"],
)
async def restore_window(
    service: deps.Databases,
    backups: deps.Backups,
    principal: Principal,
    domain: Domain,
    project: Project,
    database_id: str,
) -> JSONResponse:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.READ
    )
    window = RestoreWindowOut.of(await backups.restore_window(database))
    return JSONResponse(window.model_dump(mode="json", by_alias=True))


@project_router.get(
    "",
    response_model=BackupList,
    responses=READ_ERRORS,
    summary="A project's backups, those of deleted databases included",
)
async def list_project_backups(
    backups: deps.Backups,
    principal: Principal,
    domain: Domain,
    project: Project,
    database_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BackupList:
    auth.authorize(
        principal,
        domain=domain,
        project=project,
        action=access.Action.READ,
        missing=f"project {domain}/{project} not found",
    )
    found = await backups.list_for_project(
        domain, project, database_id=database_id, offset=(page - 1) * page_size, limit=page_size
    )
    return _listed(found, page, page_size)
