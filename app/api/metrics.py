"""`/metrics`: Prometheus text, unauthenticated like `/health` (API.md), for the scraper."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api import deps

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics of this instance",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(sampler: deps.Gauges, registry: deps.Registry) -> Response:
    await sampler.sample()
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
