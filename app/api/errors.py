"""The API's error body, `{"error": {"code", "message", "details"}}`, for every error answer.

FastAPI's own answers (404 for an unknown path, 405, 422 for a malformed body) are rewritten
into the same shape here, so a client parses one format whatever went wrong.

Services raise a `ServiceError` (`app.services.errors`, its tree drawn there), which
carries its status, code, message and details: one handler renders any of them by that data,
so a route does not catch and translate them, and a new subclass answers its parent's
status. Routes raise `ApiError` (or a leaf) for an answer they decide on themselves:

    ApiError (status, code, message, details, headers)
    ├── Unauthorized       401 unauthorized, with `WWW-Authenticate: Bearer`
    ├── Forbidden          403 forbidden: the key's role or scope is too weak
    ├── NotFound           404 not_found: missing, or another tenant's
    └── ValidationFailed   422 validation_error, field errors in `details.fields`

Errors of the layers below services are answered here too, on purpose and only these: the
store's `StoreUnavailable` and Redis's `BrokerUnavailable` are 503 `dependency_unavailable`,
the store's `InvalidQuery` 422 `invalid_query`. Any other store error reaching this boundary
is a service's defect (it must turn it into its own leaf where it reads the record): it is
logged with the request id and answered 500 `internal_error`.

`error_responses(...)` declares error answers in a route's OpenAPI `responses`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ExceptionHandler

from app.api.route_groups import RouteGroup
from app.broker.errors import BrokerUnavailable
from app.services.errors import ServiceError
from app.store.errors import InvalidQuery, StoreUnavailable


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


class ApiError(Exception):
    """An error answer a route decided on: rendered as the error body with `status`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})


class Unauthorized(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(403, "forbidden", message)


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(404, "not_found", message)


class ValidationFailed(ApiError):
    def __init__(
        self, fields: Mapping[str, str], message: str = "the request is not valid"
    ) -> None:
        super().__init__(422, "validation_error", message, {"fields": dict(fields)})


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    """The body of every error answer (for the OpenAPI document)."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "the request is malformed",
    401: "no API key, or a malformed, unknown or revoked one",
    403: "the key's role or scope does not permit this",
    404: "not found (also for another tenant's objects)",
    409: "conflicts with the current state",
    412: "the If-Match precondition failed",
    422: "the request is not valid: field errors in details.fields",
    429: "a quota or rate limit is reached",
    503: "a dependency is down",
}


def error_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the error body's schema.
    `descriptions` override the default text by status: `error_responses(404, s404="...")`."""
    return {
        status: {
            "model": ErrorBody,
            "description": descriptions.get(f"s{status}", _DESCRIPTIONS.get(status, "error")),
        }
        for status in statuses
    }


async def _decided_error(request: Request, exc: Exception) -> JSONResponse:
    """An answer a route (`ApiError`) or a service (`ServiceError`) decided on: both carry
    status, code, message, details and headers."""
    assert isinstance(exc, ApiError | ServiceError)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details),
        status_code=exc.status,
        headers=exc.headers or None,
    )


def _code_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _allowed(request: Request) -> str:
    """Every method a path supports: Starlette's 405 names only the first route it matched
    (a path with GET and POST routes answered an OPTIONS with `Allow: POST`)."""
    methods: set[str] = set()
    routes = list(request.app.router.routes)
    while routes:
        route = routes.pop()
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            routes.extend(included.routes)
        elif isinstance(route, RouteGroup):
            routes.extend(route.routes)
        elif route.matches(request.scope)[0] is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else _code_for(exc.status_code)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request)
    return JSONResponse(
        error_body(_code_for(exc.status_code), message),
        status_code=exc.status_code,
        headers=headers or None,
    )


def _openapi_error_bodies(app: FastAPI) -> None:
    """The OpenAPI document with the project's error body for every 422, where FastAPI
    documents its own `{"detail": [...]}` (which `_validation_error` never answers)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault(
            "ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        for key, schema in (
            ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
            .get("$defs", {})
            .items()
        ):
            schemas.setdefault(key, schema)
        for item in document.get("paths", {}).values():
            for operation in item.values():
                answer = operation.get("responses", {}).get("422")
                if answer is not None:
                    answer["content"] = {"application/json": {"schema": ref}}
                    answer["description"] = _DESCRIPTIONS[422]
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


Authenticate = Callable[[Request], Awaitable[object]]


def _validation_error(authenticate: Authenticate | None) -> ExceptionHandler:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if any(error.get("type") == "json_invalid" for error in exc.errors()):
            # FastAPI refuses a body that is not JSON before any dependency runs: the
            # caller is authenticated here, so it is still a 401 without a valid key (and
            # charged to its address or key by the rate limits) and audited as itself.
            if authenticate is not None:
                try:
                    await authenticate(request)
                except ApiError as refusal:
                    return await _decided_error(request, refusal)
                except (StoreUnavailable, BrokerUnavailable) as down:
                    return await _dependency_down(request, down)
            return JSONResponse(
                error_body("malformed_request", "the request body is not valid JSON"),
                status_code=400,
            )
        fields = {".".join(str(p) for p in error["loc"]): error["msg"] for error in exc.errors()}
        return JSONResponse(
            error_body("validation_error", "the request is not valid", {"fields": fields}),
            status_code=422,
        )

    return handle


async def _dependency_down(request: Request, exc: Exception) -> JSONResponse:
    # A store or Redis that does not answer is the client's 503, never a 500.
    return JSONResponse(
        error_body(
            "dependency_unavailable",
            "a dependency is down; try again shortly",
            {"dependency": "store" if isinstance(exc, StoreUnavailable) else "redis"},
        ),
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _invalid_query(request: Request, exc: Exception) -> JSONResponse:
    # The store answered and refused the query built from the request's filters: the
    # request's fault (the routes validate filters first; this is the backstop), not a 503.
    return JSONResponse(
        error_body("invalid_query", "the store refused a filter of this request"),
        status_code=422,
    )


INTERNAL_ERROR = error_body(
    "internal_error", "an unexpected error; it has been logged with the request id"
)


def install(app: FastAPI, *, authenticate: Authenticate | None = None) -> None:
    """`authenticate(request)` (the API's authentication dependency) raises the answer for
    a caller without a valid key; it is called for a body that is not JSON."""
    _openapi_error_bodies(app)
    app.add_exception_handler(InvalidQuery, _invalid_query)
    app.add_exception_handler(StoreUnavailable, _dependency_down)
    app.add_exception_handler(BrokerUnavailable, _dependency_down)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error(authenticate))
    app.add_exception_handler(ApiError, _decided_error)
    app.add_exception_handler(ServiceError, _decided_error)
