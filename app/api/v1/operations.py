"""`/api/v1/operations`: follow an operation to its end, list them, cancel one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.api import auth, deps
from app.api.errors import ApiError, error_responses
from app.domain import access
from app.domain.operations import Operation, OperationStatus, OperationType
from app.services.operations import OperationService
from app.store.protocols import OperationFilter

router = APIRouter(prefix="/api/v1/operations", tags=["operations"], responses=error_responses(429))

Principal = Annotated[auth.Principal, Depends(auth.authenticate)]


class OperationOut(BaseModel):
    id: str
    database_id: str
    domain: str
    project: str
    type: str
    status: OperationStatus
    progress: int
    message: str | None
    error_message: str | None
    attempts: int
    ops_request_name: str | None
    ops_request_phase: str | None
    desired_state: dict[str, Any]
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, operation: Operation) -> OperationOut:
        return cls.model_validate(operation.model_dump())


class OperationList(BaseModel):
    operations: list[OperationOut]
    total: int
    page: int
    page_size: int


async def authorized_operation(
    service: OperationService,
    principal: auth.Principal,
    operation_id: str,
    action: auth.Action = auth.Action.READ,
) -> Operation:
    """The operation if the key may do `action` on it: 404 when it is missing or another
    tenant's, 403 when the key's role is too weak (the console's operations page asks too)."""
    operation = await service.get(operation_id)
    if operation is None:
        raise ApiError(404, "not_found", f"operation {operation_id} not found")
    auth.authorize(
        principal,
        domain=operation.domain,
        project=operation.project,
        action=action,
        missing=f"operation {operation_id} not found",
    )
    return operation


_ERRORS = error_responses(401, 404, s404="no such operation (or another tenant's)")


@router.get(
    "/{operation_id}", response_model=OperationOut, responses=_ERRORS, summary="One operation"
)
async def get_operation(
    service: deps.Operations, principal: Principal, operation_id: str
) -> OperationOut:
    return OperationOut.of(await authorized_operation(service, principal, operation_id))


@router.get(
    "",
    response_model=OperationList,
    summary="Operations, newest first",
    responses=error_responses(401, 422, s422="a bad filter or page"),
)
@router.get("/", response_model=OperationList, include_in_schema=False)
async def list_operations(
    service: deps.Operations,
    principal: Principal,
    database_id: str | None = None,
    status: OperationStatus | None = None,
    type: OperationType | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OperationList:
    domain, project = access.visible_scope(principal)
    where = OperationFilter(
        domain=domain,
        project=project,
        database_id=database_id,
        status=status.value if status else None,
        type=type.value if type else None,
    )
    result = await service.page(where, offset=(page - 1) * page_size, limit=page_size)
    return OperationList(
        operations=[OperationOut.of(o) for o in result.items],
        total=result.total,
        page=page,
        page_size=page_size,
    )


@router.post(
    "/{operation_id}/cancel",
    response_model=OperationOut,
    status_code=202,
    responses=error_responses(
        401, 403, 404, 409, s403="the key may only read", s409="the operation has already ended"
    ),
    summary="Cancel a queued or waiting operation",
)
async def cancel_operation(
    service: deps.Operations, principal: Principal, operation_id: str
) -> OperationOut:
    operation = await authorized_operation(service, principal, operation_id, auth.Action.WRITE)
    cancelled = await service.request_cancel(operation.id)
    return OperationOut.of(cancelled)
