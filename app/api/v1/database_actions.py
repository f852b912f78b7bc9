"""`/api/v1/domain/{domain}/project/{project}/databases/{id}/<action>`: pause, resume,
restart, rotate credentials, scale, upgrade (and the versions it may upgrade to).

Routers only: authorize, let `DatabaseService` check and submit, answer 202 with the
operation to poll.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from app.api import auth, deps, idempotency
from app.api.errors import error_responses
from app.api.v1 import database_models as models
from app.api.v1.database_routing import (
    PAUSED,
    RUNNING,
    SERVING,
    WRITE_ERRORS,
    Domain,
    Principal,
    Project,
    accepted,
    authorized_database,
    database_router,
)
from app.domain import access
from app.domain import operation_kinds as kinds
from app.domain.databases import Database, DatabaseStatus
from app.domain.operation_kinds import InputT, OperationKind
from app.domain.operations import Operation
from app.services import database_errors as service_errors
from app.services.databases import DatabaseService

router = database_router()


async def _simple(
    service: DatabaseService,
    principal: auth.Principal,
    domain: str,
    project: str,
    database_id: str,
    kind: OperationKind[InputT, Any],
    wanted: InputT,
    allowed: frozenset[DatabaseStatus] | None,
    idem: idempotency.Guard,
) -> JSONResponse:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.WRITE
    )
    database, operation = await service.mutate(
        database, kind, wanted, actor=principal.key_id, allowed_from=allowed
    )
    return await accepted(database, operation, idem)


@router.post(
    "/{database_id}/pause",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=WRITE_ERRORS,
    summary="Pause (halt) a running database",
)
async def pause_database(
    service: deps.Databases,
    principal: Principal,
    idem: idempotency.Idempotent,
    domain: Domain,
    project: Project,
    database_id: str,
) -> JSONResponse:
    return await _simple(
        service,
        principal,
        domain,
        project,
        database_id,
        kinds.PAUSE,
        kinds.PauseInput(),
        RUNNING,
        idem,
    )


@router.post(
    "/{database_id}/resume",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=WRITE_ERRORS,
    summary="Resume a paused database",
)
async def resume_database(
    service: deps.Databases,
    principal: Principal,
    idem: idempotency.Idempotent,
    domain: Domain,
    project: Project,
    database_id: str,
) -> JSONResponse:
    return await _simple(
        service,
        principal,
        domain,
        project,
        database_id,
        kinds.RESUME,
        kinds.ResumeInput(),
        PAUSED,
        idem,
    )


@router.post(
    "/{database_id}/restart",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=WRITE_ERRORS,
    summary="Restart a database",
)
async def restart_database(
    service: deps.Databases,
    principal: Principal,
    idem: idempotency.Idempotent,
    domain: Domain,
    project: Project,
    database_id: str,
) -> JSONResponse:
    return await _simple(
        service,
        principal,
        domain,
        project,
        database_id,
        kinds.RESTART,
        kinds.RestartInput(),
        SERVING,
        idem,
    )


@router.post(
    "/{database_id}/credentials/rotate",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=WRITE_ERRORS,
    summary="Rotate the database's credentials",
)
async def rotate_credentials(
    service: deps.Databases,
    principal: Principal,
    idem: idempotency.Idempotent,
    domain: Domain,
    project: Project,
    database_id: str,
) -> JSONResponse:
    return await _simple(
        service,
        principal,
        domain,
        project,
        database_id,
        kinds.ROTATE_CREDENTIALS,
        kinds.RotateCredentialsInput(),
        RUNNING,
        idem,
    )


@router.post(
    "/{database_id}/scale",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=WRITE_ERRORS,
    summary="Scale replicas, storage or size",
)
async def scale_database(
    service: deps.Databases,
    principal: Principal,
    idem: idempotency.Idempotent,
    domain: Domain,
    project: Project,
    database_id: str,
    body: models.ScaleIn,
) -> JSONResponse:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.WRITE
    )
    database, operation = await scale(service, database, body, actor=principal.key_id)
    return await accepted(database, operation, idem)


async def scale(
    service: DatabaseService, database: Database, body: models.ScaleIn, *, actor: str
) -> tuple[Database, Operation]:
    """The scale the route (and the console) asks for: checked, then submitted."""
    await service.check_idle(database)
    changes = service.check_scale(database, body.model_dump(exclude_none=True))
    if not changes:
        raise service_errors.RuleViolated(
            "body",
            "nothing to scale: give replicas, storage_gb or size different from now",
            code="no_change",
        )
    return await _scale(service, database, changes, actor=actor)


async def _scale(
    service: DatabaseService, database: Database, changes: dict[str, Any], *, actor: str
) -> tuple[Database, Operation]:
    """One value: its own operation type; several: an update that runs them in order."""
    if len(changes) > 1:
        wanted = kinds.UpdateInput.model_validate(changes)
        return await service.mutate(
            database, kinds.UPDATE, wanted, actor=actor, allowed_from=RUNNING
        )
    if "replicas" in changes:
        horizontal = kinds.ScaleHorizontalInput(replicas=changes["replicas"])
        return await service.mutate(
            database, kinds.SCALE_HORIZONTAL, horizontal, actor=actor, allowed_from=RUNNING
        )
    if "storage_gb" in changes:
        storage = kinds.ExpandStorageInput(storage_gb=changes["storage_gb"])
        return await service.mutate(
            database, kinds.EXPAND_STORAGE, storage, actor=actor, allowed_from=RUNNING
        )
    vertical = kinds.ScaleVerticalInput(size=changes["size"])
    return await service.mutate(
        database, kinds.SCALE_VERTICAL, vertical, actor=actor, allowed_from=RUNNING
    )


@router.get(
    "/{database_id}/available-upgrades",
    response_model=models.UpgradesOut,
    responses=error_responses(401, 404, 503),
    summary="Versions it may upgrade to",
)
async def available_upgrades(
    service: deps.Databases,
    principal: Principal,
    domain: Domain,
    project: Project,
    database_id: str,
) -> models.UpgradesOut:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.READ
    )
    targets = await service.available_upgrades(database)
    return models.UpgradesOut(current_version=database.version, available_upgrades=targets)


@router.post(
    "/{database_id}/upgrade",
    status_code=202,
    response_model=models.DatabaseOut,
    responses=WRITE_ERRORS,
    summary="Upgrade to another version",
)
async def upgrade_database(
    service: deps.Databases,
    principal: Principal,
    idem: idempotency.Idempotent,
    domain: Domain,
    project: Project,
    database_id: str,
    body: models.UpgradeIn,
) -> JSONResponse:
    database = await authorized_database(
        service, principal, domain, project, database_id, access.Action.WRITE
    )
    database, operation = await upgrade(service, database, body, actor=principal.key_id)
    return await accepted(database, operation, idem)


async def upgrade(
    service: DatabaseService, database: Database, body: models.UpgradeIn, *, actor: str
) -> tuple[Database, Operation]:
    """The upgrade the route (and the console) asks for: checked, then submitted."""
    await service.check_idle(database)
    if database.status is not DatabaseStatus.DELETED:
        await service.check_upgrade(database, body.target_version)
    return await service.mutate(
        database,
        kinds.UPGRADE_VERSION,
        kinds.UpgradeVersionInput(target_version=body.target_version),
        actor=actor,
        allowed_from=RUNNING,
    )
