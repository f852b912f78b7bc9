"""The per-request middleware: a request id and the request's HTTP metrics.

Request id: every request gets one (or keeps a sane one it brought); every log line of the
request carries it, and the response echoes it.

Access log: one `http_request` event per answered request, unless sampled out or off
(`app.observability.access_log`); uvicorn's own access line is not written.

Metrics: every request is counted and timed by route template (`/api/v1/.../{database_id}`,
never the path itself, so ids stay out of the labels), method and status code. The route is
known only once the router has matched it: Starlette records the matched route in the
request's scope, which this middleware shares, so it is read after the call.

Audit: a mutating request, or a read of credentials, leaves an entry in the audit log once
it has been answered (`app.domain.audit`), with the caller the authentication dependency
left in the request's state.

One middleware, not three: each ASGI layer wraps every `send` once more, and the GET of a
database is the hot path (bench.scale measures it against a bare endpoint).
"""

from __future__ import annotations

import asyncio
import random
import re
import time

import structlog
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import errors as api_errors
from app.api import wiring
from app.domain import audit
from app.domain.access import Principal
from app.domain.audit import AuditEntry
from app.observability import metrics as app_metrics
from app.observability.access_log import AccessLog
from app.observability.log import get_logger

log = get_logger(__name__)

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_for(given: str) -> str:
    """The id a request brought, when it is sane, or a new one."""
    # 32 hex digits, as `uuid4().hex` wrote them, from the process's PRNG: a request id
    # correlates log lines and is no secret (a client may choose its own), and uuid4 reads
    # the OS's random source on every request (10 us, 1 % of a GET; issue 19).
    return given if _SANE.match(given) else f"{random.getrandbits(128):032x}"


async def _audit(scope: Scope, route: str, status: int, request_id: str) -> None:
    """One audit entry for a request the log records (after its answer has gone out).

    Without an accepted key (none, or a refused one) the entry goes to the platform scope,
    never the tenant the path names: anyone can send such requests. An address over its
    limit (429 without a key) leaves no entry.
    """
    services = wiring.of(scope["app"])
    if services is None:  # the lifespan has not built them (not started yet)
        return
    log_service = services.audit
    principal: Principal | None = (scope.get("state") or {}).get("principal")
    if principal is None and status == 429:
        # An address over its limit: not written, so a flood grows the log no faster than
        # the limit lets requests through (the HTTP metrics count the refusals).
        return
    params: dict[str, str] = scope.get("path_params") or {}
    client = scope.get("client")
    # A path without a tenant (an operation, an API key): the caller's own scope.
    domain = params.get("domain") or getattr(principal, "domain", None)
    project = params.get("project") or (
        getattr(principal, "project", None) if "domain" not in params else None
    )
    await log_service.record(
        AuditEntry(
            actor_key_id=principal.key_id if principal else None,
            actor_role=principal.role.value if principal else None,
            actor_domain=principal.domain if principal else None,
            actor_project=principal.project if principal else None,
            scope=audit.AuditScope.TENANT if principal else audit.AuditScope.PLATFORM,
            domain=domain,
            project=project,
            action=f"{scope['method']} {route}",
            target=audit.target_of(params),
            outcome=status,
            request_id=request_id,
            client=client[0] if client else None,
        )
    )


class RequestMiddleware:
    def __init__(
        self, app: ASGIApp, *, metrics: app_metrics.Metrics, access_log: AccessLog | None = None
    ) -> None:
        self.app = app
        self._metrics = metrics
        self._access_log = access_log or AccessLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        given = dict(scope["headers"]).get(HEADER.encode(), b"").decode("latin-1")
        request_id = request_id_for(given)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500  # unless a response starts: an exception that escaped every handler
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        cancelled = False
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here, not by Starlette's ServerErrorMiddleware (outside this one: its
            # plain-text 500 would carry neither the error shape nor the request id).
            log.exception("request_failed", method=scope["method"])
            status = 500
            if started:  # too late for another answer: the server closes the connection
                raise
            await JSONResponse(api_errors.INTERNAL_ERROR, status_code=500)(
                scope, receive, send_with_id
            )
        except asyncio.CancelledError:
            cancelled = True  # the connection went away mid-request: nothing to wait on
            raise
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            route = getattr(scope.get("route"), "path_format", None)
            took = time.perf_counter() - began
            self._metrics.http_request(
                route or app_metrics.UNMATCHED_ROUTE, scope["method"], status, took
            )
            if not cancelled:
                self._access_log.record(
                    method=scope["method"],
                    path=scope["path"],
                    query=scope.get("query_string", b""),
                    status=status,
                    seconds=took,
                    client=scope.get("client"),
                    request_id=request_id,
                )
            if not cancelled and route is not None and audit.audited(scope["method"], route):
                await _audit(scope, route, status, request_id)
