"""The HTTP edge: what every answer carries, and whom the app believes about the client.

    outermost ─► proxy headers (only from FORWARDED_ALLOW_IPS) ─► security headers
               ─► CORS (only with CORS_ALLOW_ORIGINS) ─► request middleware ─► routes

- Security headers on every answer, errors included: `X-Content-Type-Options: nosniff`,
  `Referrer-Policy: no-referrer`; HTML pages (the API docs, the console) get a strict
  `Content-Security-Policy` that allows only this app's own scripts, styles, images and
  form targets;
  everything else a policy that allows nothing. `Cache-Control: no-store` on secrets stays
  with the routes that answer them.
- Redirects never reflect the `Host` header: Starlette's trailing-slash redirect builds an
  absolute URL from it; the `Location` is cut to its path and query here.
- Proxy headers (`X-Forwarded-For`, `X-Forwarded-Proto`) rewrite the client only when the
  peer is listed in FORWARDED_ALLOW_IPS (default none). uvicorn's own handling, which trusts
  127.0.0.1 by default, is switched off where the process starts (`python -m app` and the
  image's `--no-proxy-headers`); `Forwarded` is never read.
- CORS: Starlette's middleware, only with origins configured; a preflight from an origin not
  listed gets no `Access-Control-*` header at all (the Fetch standard's "CORS check fails").
  A preflight is answered here, outside the request middleware, so this adds its request id
  and gives a refused one the error shape (400 `cors_preflight_refused`, naming what).

This module must not read request bodies or make decisions about routes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.api.errors import error_body
from app.api.middleware import HEADER, request_id_for
from app.config.settings import Settings

HTML_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
_ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _secured(message["status"], list(message.get("headers", [])))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secured(status: int, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    names = {name.lower() for name, _ in headers}
    content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
    policy = HTML_POLICY if content_type.startswith(b"text/html") else OTHER_POLICY
    out = [
        (n, _relative(v) if n.lower() == b"location" and 300 <= status < 400 else v)
        for n, v in headers
    ]
    out += [(name, value) for name, value in _ALWAYS if name not in names]
    if b"content-security-policy" not in names:
        out.append((b"content-security-policy", policy.encode()))
    return out


def _relative(location: bytes) -> bytes:
    """`http://evil.example/api/v1/x/` -> `/api/v1/x/`: the app redirects only to itself."""
    parts = urlsplit(location.decode("latin-1"))
    if not parts.scheme and not parts.netloc:
        return location
    path = parts.path or "/"
    # `//host` as a path would be read as another host: keep one leading slash.
    path = "/" + path.lstrip("/")
    return (path + (f"?{parts.query}" if parts.query else "")).encode("latin-1")


class _StrictCORS(CORSMiddleware):
    """An origin not listed gets no `Access-Control-*` header at all: Starlette adds the
    allowed methods to a refused preflight and the exposed headers to any answer."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code >= 400:
            # Starlette's plain text: "Disallowed CORS origin, method, headers".
            text = bytes(response.body).decode()
            refused = text.removeprefix("Disallowed CORS ").split(", ")
            kept = {
                n: v
                for n, v in response.headers.items()
                if n.lower() not in ("content-length", "content-type")
                and not n.lower().startswith("access-control-")
            }
            response = JSONResponse(
                error_body(
                    "cors_preflight_refused",
                    f"the CORS preflight is refused: its {' and '.join(refused)} "
                    f"{'is' if len(refused) == 1 else 'are'} not allowed",
                    {"refused": refused},
                ),
                status_code=response.status_code,
                headers=kept,
            )
        response.headers[HEADER] = request_id_for(request_headers.get(HEADER, ""))
        return response

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if origin is None or self.is_allowed_origin(origin=origin):
            await super().send(message, send, request_headers)
            return
        if message["type"] == "http.response.start":
            message["headers"] = [
                (n, v)
                for n, v in message.get("headers", [])
                if not n.lower().startswith(b"access-control-")
            ]
            vary = [v for n, v in message["headers"] if n.lower() == b"vary"]
            if not any(b"origin" in v.lower() for v in vary):
                message["headers"].append((b"vary", b"Origin"))
        await send(message)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the edge middleware; call after every other `add_middleware` (outermost last)."""
    origins = settings.cors_allow_origin_list
    if origins:
        app.add_middleware(
            _StrictCORS,
            allow_origins=origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After", "Location"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
    trusted = settings.forwarded_allow_ip_list
    if trusted:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)
