"""The ASGI application: discovery, OpenAPI, the resource routes, the self reviews and the
admin API, behind the fault middleware and, in front of all, access control
(authentication and RBAC); every error is answered as a Kubernetes `Status`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from simulator import admin, discovery, errors, openapi, reviews, wire
from simulator.access import AccessControl
from simulator.faults import ADMIN_PREFIX, FaultInjector
from simulator.routes import METHODS, ResourceRoutes

if TYPE_CHECKING:
    from simulator.server import Simulator

_NOT_FOUND = "the server could not find the requested resource"


def _found(document: object) -> Response:
    if document is None:
        raise errors.NotFound(_NOT_FOUND)
    return wire.json_response(document)


async def _healthy(request: Request) -> Response:
    return PlainTextResponse("ok")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.ApiError)
    return wire.error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return wire.error_response(
            errors.MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
        )
    if exc.status_code == 404:
        return wire.error_response(errors.NotFound(_NOT_FOUND))
    cls = next((c for c in errors.ALL if c.code == exc.status_code), errors.InternalError)
    return wire.error_response(cls(str(exc.detail)))


def build_app(sim: Simulator) -> ASGIApp:
    registry = sim.registry
    resources = ResourceRoutes(
        registry=registry, verbs=sim.verbs, config=sim.config, stats=sim.stats, rng=sim.random
    )

    async def version(request: Request) -> Response:
        return wire.json_response(discovery.version())

    async def api(request: Request) -> Response:
        host = request.url.netloc
        return wire.json_response(discovery.api_versions(host))

    async def core_v1(request: Request) -> Response:
        return _found(discovery.api_resource_list(registry, "", "v1"))

    async def apis(request: Request) -> Response:
        return wire.json_response(discovery.api_group_list(registry))

    async def group(request: Request) -> Response:
        return _found(discovery.api_group(registry, request.path_params["group"]))

    async def group_version(request: Request) -> Response:
        params = request.path_params
        return _found(discovery.api_resource_list(registry, params["group"], params["version"]))

    async def openapi_v2(request: Request) -> Response:
        if openapi.wants_v2_protobuf(request.headers.get("accept")):
            return Response(openapi.v2_protobuf_stub(), media_type=openapi.V2_PROTOBUF_ANSWER)
        return wire.json_response(openapi.v2_document(registry, sim.schemas))

    async def openapi_v3(request: Request) -> Response:
        return wire.json_response(openapi.v3_index(registry, sim.schemas))

    async def openapi_v3_document(request: Request) -> Response:
        path = request.path_params["path"]
        return _found(openapi.v3_document(registry, sim.schemas, path))

    routes = [
        *reviews.routes(sim.access.authorizer),
        Route("/version", version),
        Route("/api", api),
        Route("/api/v1", core_v1),
        Route("/api/v1/{path:path}", resources.core, methods=METHODS),
        Route("/apis", apis),
        Route("/apis/{group}", group),
        Route("/apis/{group}/{version}", group_version),
        Route("/apis/{group}/{version}/{path:path}", resources.grouped, methods=METHODS),
        Route("/openapi/v2", openapi_v2),
        Route("/openapi/v3", openapi_v3),
        Route("/openapi/v3/{path:path}", openapi_v3_document),
        Route("/healthz", _healthy),
        Route("/livez", _healthy),
        Route("/readyz", _healthy),
        Mount(
            ADMIN_PREFIX,
            routes=admin.routes(
                config=sim.config, stats=sim.stats, registry=registry, store=sim.store, hub=sim.hub
            ),
        ),
    ]

    app = Starlette(
        routes=routes,
        exception_handlers={errors.ApiError: _api_error, HTTPException: _http_error},
    )
    faulted = FaultInjector(
        app,
        registry=registry,
        config=sim.config,
        stats=sim.stats,
        rng=sim.fault_random,
        stopping=sim.stopping,
    )
    return AccessControl(faulted, sim.access)
