"""`/api/v1/domain/{domain}/project/{project}/databases`: the database lifecycle API.

Routers only: parse, authorize (another tenant's database answers 404), call
`DatabaseService`, shape the answer. The actions on one database (pause, scale, upgrade...)
are `database_actions`; what both share is `database_routing`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from app.api import auth, deps, idempotency
from app.api.errors import ApiError, error_responses
from app.api.v1 import database_models as models
from app.api.v1 import database_reads, filters
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
from app.api.v1.operations import OperationList, OperationOut
from app.domain import access
from app.domain import operation_kinds as kinds
from app.domain.backups import Backup
from app.domain.databases import Database
from app.domain.operations import Operation
from app.services import database_errors as service_errors
from app.services.backups import BackupService, RestoreRequest
from app.services.databases import DatabaseService, NewDatabase
from app.store.protocols import OperationFilter

router = database_router()


@router.post(
    "",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
    summary="Create a database",
)
@router.post("/", status_code=202, include_in_schema=False)
async def create_database(
    service: deps.Databases,
    backups: deps.Backups,
    principal: Principal,
    idem: idempotency.Idempotent,
    domain: Domain,
    project: Project,
    body: models.CreateDatabaseIn,
    region: Annotated[
        str | None,
        Header(
            alias="X-Region", max_length=100, description="place it on a provider in this region"
        ),
    ] = None,
    zone: Annotated[
        str | None,
        Header(
            alias="X-Availability-Zone",
            max_length=100,
            description="place it in this availability zone",
        ),
    ] = None,
) -> JSONResponse:
    auth.authorize(
        principal,
        domain=domain,
        project=project,
        action=access.Action.WRITE,
        missing=f"project {domain}/{project} not found",
    )
    new = await new_database(backups, domain, project, body)
    region = _one_of("region", body.region, "X-Region", region)
    zone = _one_of("availability_zone", body.availability_zone, "X-Availability-Zone", zone)
    database, operation = await service.create(
        domain,
        project,
        new,
        actor=principal.key_id,
        region=region,
        zone=zone,
    )
    return await accepted(database, operation, idem)


async def new_database(
    backups: BackupService, domain: str, project: str, body: models.CreateDatabaseIn
) -> NewDatabase:
    """What a create body asks for, its `restore_from` resolved to the source Snapshot and
    its storage checked (the console's clone and point-in-time restore call this too)."""
    restore = None
    if body.restore_from is not None:
        wanted = body.restore_from
        restore = await backups.resolve(
            domain,
            project,
            RestoreRequest(
                database_id=wanted.database_id,
                backup_id=wanted.backup_id,
                point_in_time=wanted.point_in_time,
                latest=wanted.latest,
            ),
            engine=body.engine.value,
        )
    if body.backup_storage is not None:
        await backups.check_storage(body.backup_storage)
    fields = body.model_dump(mode="json", exclude={*body.PLACEMENT, "restore_from"})
    return NewDatabase(**fields, restore=restore)


def _one_of(field: str, in_body: str | None, header: str, in_header: str | None) -> str | None:
    """A placement choice from the body or its header: either, or both if they agree."""
    if in_body and in_header and in_body != in_header:
        raise ApiError(
            422,
            "validation_error",
            f"{field} and {header} disagree",
            {
                "fields": {
                    f"body.{field}": f"{in_body!r} in the body, {in_header!r} "
                    f"in {header}: give one, or the same"
                }
            },
        )
    return in_body or in_header or None


@router.get(
    "",
    response_model=models.DatabaseList,
    responses=READ_ERRORS,
    summary="Databases of a project, newest first unless `sort` says",
)
@router.get("/", response_model=models.DatabaseList, include_in_schema=False)
async def list_databases(
    request: Request,
    principal: Principal,
    domain: Domain,
    project: Project,
    query: filters.ListQueryParam,
) -> Response:
    # The services from the request, not a dependency: a hot route (see `get_database`).
    return await database_reads.page(deps.services_of(request), principal, domain, project, query)


@router.get(
    "/{database_id}",
    response_model=models.DatabaseOut,
    responses=READ_ERRORS,
    summary="One database, from the store",
)
async def get_database(
    request: Request,
    principal: Principal,
    domain: Domain,
    project: Project,
    database_id: str,
) -> Response:
    # The hottest route: its services are taken from the request rather than through a
    # dependency (FastAPI solves each dependency per request, a few percent of a GET each).
    # A well-formed GET does not even come here: `fast_reads`, in front of this route,
    # answers it with the same function (issue 19).
    return await database_reads.one(
        deps.services_of(request), principal, domain, project, database_id
    )


@router.patch(
    "/{database_id}",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=WRITE_ERRORS,
    summary="Change the desired state",
)
async def patch_database(
    service: deps.Databases,
    backups: deps.Backups,
    principal: Principal,
    idem: idempotency.Idempotent,
    domain: Domain,
    project: Project,
    database_id: str,
    body: models.PatchDatabaseIn,
) -> JSONResponse:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.WRITE
    )
    database, operation = await change(service, backups, database, body, actor=principal.key_id)
    return await accepted(database, operation, idem)


async def change(
    service: DatabaseService,
    backups: BackupService,
    database: Database,
    body: models.PatchDatabaseIn,
    *,
    actor: str,
) -> tuple[Database, Operation]:
    """The change the PATCH (and the console) asks for: checked, then submitted."""
    asked = body.model_dump(exclude_none=True)
    if "backup_storage" in asked:
        await backups.check_storage(asked["backup_storage"])
    await service.check_idle(database)
    changes = service.check_scale(database, asked)
    if "version" in asked and asked["version"] != database.version:
        await service.check_upgrade(database, asked["version"])
        changes["version"] = asked["version"]
    if not changes:
        raise service_errors.RuleViolated(
            "body", "nothing to change: every value given is the current one", code="no_change"
        )
    return await service.mutate(
        database, kinds.UPDATE, kinds.UpdateInput.model_validate(changes), actor=actor
    )


@router.delete(
    "/{database_id}",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=WRITE_ERRORS,
    summary="Delete a database",
)
async def delete_database(
    service: deps.Databases,
    backups: deps.Backups,
    principal: Principal,
    idem: idempotency.Idempotent,
    domain: Domain,
    project: Project,
    database_id: str,
    body: models.DeleteDatabaseIn | None = None,
    final_backup: Annotated[
        bool, Query(description="take a last backup (type `final`) before deleting")
    ] = False,
) -> JSONResponse:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.WRITE
    )
    database, operation, backup = await remove(
        service,
        backups,
        database,
        final_backup=final_backup or (body is not None and body.final_backup),
        actor=principal.key_id,
    )
    extra = {"backup_id": backup.id} if backup is not None else None
    return await accepted(database, operation, idem, extra=extra)


async def remove(
    service: DatabaseService,
    backups: BackupService,
    database: Database,
    *,
    final_backup: bool,
    actor: str,
) -> tuple[Database, Operation, Backup | None]:
    """The delete the route (and the console) asks for, after a final backup if asked."""
    if final_backup:
        return await backups.delete_after_final_backup(database, actor=actor)
    database, operation = await service.delete(database, actor=actor)
    return database, operation, None


@router.get(
    "/{database_id}/credentials",
    response_model=models.CredentialsOut,
    responses=error_responses(
        401,
        403,
        404,
        409,
        410,
        503,
        s409="no credentials to read: `not_ready` while it is created, "
        "`database_<status>` otherwise (details.status)",
        s410="the database is deleted (`database_deleted`)",
    ),
    summary="Connection credentials (owner or member)",
)
async def get_credentials(
    service: deps.Databases,
    principal: Principal,
    domain: Domain,
    project: Project,
    database_id: str,
    response: Response,
) -> models.CredentialsOut:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.CREDENTIALS
    )
    info = await service.connection_details(database)
    response.headers["Cache-Control"] = "no-store"
    return models.CredentialsOut(
        username=info.username,
        password=info.password,
        host=info.host,
        port=info.port,
        database=info.database,
        connection_string=info.connection_string,
    )


@router.get(
    "/{database_id}/status",
    response_model=models.StatusOut,
    responses=error_responses(401, 404, 422, 503),
    summary="Observed state, as last synced or read from the cluster now",
)
async def get_status(
    service: deps.Databases,
    principal: Principal,
    domain: Domain,
    project: Project,
    database_id: str,
    realtime: Annotated[
        bool, Query(description="read the database's cluster now instead of the store")
    ] = False,
) -> models.StatusOut:
    """The stored state the status sync last wrote; with `realtime=true` the database's
    KubeDB object is read from its provider's cluster now (`services.live_status`, bounded by
    STATUS_REALTIME_TIMEOUT; a cluster that does not answer is 503 `cluster_unavailable`
    naming the provider) and `last_sync_at` is the time of that read. The live read writes
    nothing: a GET has no side effects, and the status sync owns the record's writes (it
    catches up within its interval). A database with nothing on a cluster to read (not placed
    yet, deleted, its CR absent) answers the stored state, `last_sync_at` unchanged."""
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.READ
    )
    # The status sync writes `synced_at` when the cluster says something new; before the
    # first such write, the record's last change stands for it.
    last_sync_at = database.synced_at or database.updated_at
    if realtime:
        live = await service.live_status(database)
        database, last_sync_at = live.database, live.read_at or last_sync_at
    return models.StatusOut(
        id=database.id,
        status=database.status,
        health_status=database.health_status,
        phase=database.phase,
        ready_replicas=database.ready_replicas,
        desired_replicas=database.replicas,
        endpoint=database.endpoint,
        port=database.port,
        conditions=[models.ConditionOut.model_validate(c) for c in database.conditions],
        last_sync_at=last_sync_at,
    )


@router.get(
    "/{database_id}/operations",
    response_model=OperationList,
    responses=READ_ERRORS,
    summary="This database's operations, newest first",
)
async def database_operations(
    service: deps.Databases,
    operations: deps.Operations,
    principal: Principal,
    domain: Domain,
    project: Project,
    database_id: str,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OperationList:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.READ
    )
    found = await operations.page(
        OperationFilter(database_id=database.id),
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return OperationList(
        operations=[OperationOut.of(o) for o in found.items],
        total=found.total,
        page=page,
        page_size=page_size,
    )


@router.get(
    "/{database_id}/events",
    response_model=models.EventList,
    responses=READ_ERRORS,
    summary="Lifecycle events, newest first",
)
async def database_events(
    service: deps.Databases,
    principal: Principal,
    domain: Domain,
    project: Project,
    database_id: str,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> models.EventList:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.READ
    )
    found = await service.events(database, offset=(page - 1) * page_size, limit=page_size)
    return models.EventList(
        events=[models.EventOut.of(e) for e in found.items],
        total=found.total,
        page=page,
        page_size=page_size,
    )


def _route(endpoint: object) -> APIRoute:
    """The route of `endpoint` at the path without a trailing slash."""
    return next(
        r
        for r in router.routes
        if isinstance(r, APIRoute) and r.endpoint is endpoint and not r.path.endswith("/")
    )


def fast_reads() -> database_reads.FastReads:
    """The GET of a database and a project's list, for the requests it takes, served in
    front of the FastAPI routes above, which keep the rest and the OpenAPI document
    (`database_reads`). One per app: it is state of the app's routes like any route."""
    return database_reads.FastReads(one=_route(get_database), page=_route(list_databases))
