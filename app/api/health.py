"""`/health`, `/health/live`, `/health/ready`: unauthenticated, for people and probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api import deps

router = APIRouter(tags=["health"])

# The 503 answers carry the same body as the 200s (what is down), not the error shape.
_STATUS_BODY = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["status"],
            "additionalProperties": True,
            "properties": {"status": {"type": "string"}},
        }
    }
}


@router.get(
    "/health",
    summary="Component health",
    responses={
        503: {
            "description": "a dependency is down or a worker is not running",
            "content": _STATUS_BODY,
        }
    },
)
async def health(service: deps.Health) -> JSONResponse:
    healthy, body = await service.report()
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/health/live", summary="The process is up")
async def live() -> dict[str, Any]:
    return {"status": "alive"}


@router.get(
    "/health/ready",
    summary="The store and Redis answer",
    responses={503: {"description": "the store or Redis does not answer", "content": _STATUS_BODY}},
)
async def ready(service: deps.Health) -> JSONResponse:
    problems = await service.dependencies()
    checks = {name: ("up" if why is None else "down") for name, why in problems.items()}
    ok = not any(problems.values())
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks},
        status_code=200 if ok else 503,
    )
