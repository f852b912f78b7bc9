"""`GET /api/v1/versions` and `GET /api/v1/sizes`: what users may ask for."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.api import auth, deps
from app.api.errors import error_responses
from app.domain import engines

router = APIRouter(prefix="/api/v1", tags=["catalog"], responses=error_responses(429))

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


_COMMON = error_responses(401)


@router.get(
    "/versions",
    response_model=dict[str, list[VersionOut]],
    summary="Versions offered per engine",
    responses=error_responses(
        401, 422, 503, s422="unknown engine", s503="the cluster catalog cannot be read"
    ),
)
@router.get("/versions/", response_model=dict[str, list[VersionOut]], include_in_schema=False)
async def versions(
    service: deps.Catalog,
    principal: Principal,
    engine: Annotated[engines.Engine | None, Query(description="one engine only")] = None,
) -> dict[str, list[VersionOut]]:
    chosen = [engine] if engine is not None else list(engines.Engine)
    return {e.value: [VersionOut(**asdict(v)) for v in await service.offered(e)] for e in chosen}


@router.get(
    "/sizes",
    response_model=SizesOut,
    summary="Size plans",
    responses=_COMMON,
)
@router.get("/sizes/", response_model=SizesOut, include_in_schema=False)
async def sizes(service: deps.Catalog, principal: Principal) -> SizesOut:
    table = service.sizes
    return SizesOut(
        sizes=[SizeOut(name=p.name, cpu=p.cpu, memory_gib=p.memory_gib) for p in table],
        default=table.default.name,
    )
