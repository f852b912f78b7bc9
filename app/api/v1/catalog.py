"""`GET /api/v1/versions` and `GET /api/v1/sizes`: what users may ask for."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from app.api import auth
from app.api.errors import error_responses
from app.domain import engines
from app.services.catalog import CatalogService

router = APIRouter(prefix="/api/v1", tags=["catalog"],
                   responses=error_responses(429))

Principal = Annotated[auth.Principal, Depends(auth.authenticate)]


class VersionOut(BaseModel):
    version: str
    deprecated: bool
    default: bool


class SizeOut(BaseModel):
    name: str
    cpu: float
    memory_gib: float


class SizesOut(BaseModel):
    sizes: list[SizeOut]
    default: str


def _catalog(request: Request) -> CatalogService:
    service: CatalogService = request.app.state.catalog
    return service


_COMMON = error_responses(401)


@router.get(
    "/versions",
    response_model=dict[str, list[VersionOut]],
    summary="Versions offered per engine",
    responses=error_responses(401, 422, 503, s422="unknown engine",
                              s503="the cluster catalog cannot be read"),
)
@router.get("/versions/", response_model=dict[str, list[VersionOut]], include_in_schema=False)
async def versions(
    request: Request,
    principal: Principal,
    engine: Annotated[engines.Engine | None, Query(description="one engine only")] = None,
) -> dict[str, list[VersionOut]]:
    service = _catalog(request)
    chosen = [engine] if engine is not None else list(engines.Engine)
    return {
        e.value: [VersionOut(**asdict(v)) for v in await service.offered(e)]
        for e in chosen
    }


@router.get(
    "/sizes", response_model=SizesOut, summary="Size plans", responses=_COMMON,
)
@router.get("/sizes/", response_model=SizesOut, include_in_schema=False)
async def sizes(request: Request, principal: Principal) -> SizesOut:
    table = _catalog(request).sizes
    return SizesOut(
        sizes=[SizeOut(name=p.name, cpu=p.cpu, memory_gib=p.memory_gib) for p in table],
        default=table.default.name,
    )
