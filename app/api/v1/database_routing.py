"""What the database routers share: the path parameters, the tenant-authorized lookup of a
database, and the 202 answer every mutation gives (the database body plus `operation_id`,
`poll_url` and a `Location` header pointing at the operation)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from app.api import auth, idempotency
from app.api.errors import error_responses
from app.api.v1 import database_models as models
from app.domain import access
from app.domain.databases import Database, DatabaseStatus
from app.domain.operations import Operation
from app.services.databases import DatabaseService

DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
Domain = Annotated[str, Path(pattern=DNS_LABEL, max_length=63)]
Project = Annotated[str, Path(pattern=DNS_LABEL, max_length=63)]
Principal = auth.TenantCaller  # the gate's answer (every route here is under it)


def database_router() -> APIRouter:
    """A router under the databases prefix; the path's tenant is authorized before
    parameters and bodies are validated (auth.py)."""
    return APIRouter(
        prefix="/api/v1/domain/{domain}/project/{project}/databases",
        tags=["databases"],
        responses=error_responses(400, 429),
        dependencies=[auth.TENANT_GATE],
    )


RUNNING = frozenset({DatabaseStatus.RUNNING})
PAUSED = frozenset({DatabaseStatus.PAUSED})
SERVING = frozenset({DatabaseStatus.RUNNING, DatabaseStatus.FAILED})


async def authorized_database(
    service: DatabaseService,
    principal: auth.Principal,
    domain: str,
    project: str,
    database_id: str,
    action: access.Action,
) -> Database:
    missing = f"database {database_id} not found"
    auth.authorize(
        principal, domain=domain, project=project, action=access.Action.READ, missing=missing
    )
    database = await service.get(domain, project, database_id)
    if action is not access.Action.READ:
        auth.authorize(principal, domain=domain, project=project, action=action, missing=missing)
    return database


async def accepted(
    database: Database,
    operation: Operation,
    idem: idempotency.Guard,
    *,
    extra: dict[str, str] | None = None,
) -> JSONResponse:
    body = models.DatabaseOut.of(database, poll=True).model_dump(mode="json")
    body["operation_id"] = operation.id
    body.update(extra or {})
    return await idem.keep(
        JSONResponse(
            body, status_code=202, headers={"Location": f"/api/v1/operations/{operation.id}"}
        )
    )


READ_ERRORS = error_responses(401, 404, 422)
WRITE_ERRORS = error_responses(401, 403, 404, 409, 422, 429, 503)
