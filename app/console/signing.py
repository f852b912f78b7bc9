"""Signing in and out of the console: an API key, checked by the API's own code, exchanged
for a session cookie (`app.console.sessions`).

The sign-in form has a CSRF token too (against signing a victim into the attacker's key): a
random value in a short-lived `SameSite=Strict` cookie that the form must repeat. A wrong key
counts against the per-address limit, as an API request without a valid key does.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from app.api import deps
from app.console import pages
from app.console.sessions import COOKIE
from app.console.targets import CsrfForm, Visitor
from app.services import api_keys

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)

_SIGN_IN_CSRF = "kdb_console_sign_in"
_REASONS = {
    api_keys.FailureReason.MALFORMED: "That is not an API key: keys look like kdb_<id>_<secret>.",
    api_keys.FailureReason.UNKNOWN: "That API key is not valid.",
    api_keys.FailureReason.WRONG_SECRET: "That API key is not valid.",
    api_keys.FailureReason.REVOKED: "That API key has been revoked.",
}


def _secure(request: Request) -> bool:
    """HTTPS as the app sees it (behind a trusted proxy, `X-Forwarded-Proto`: app.api.edge)."""
    return request.url.scheme == "https"


def _safe_next(target: str | None) -> str:
    """Only a console path: never another site (`//evil.example`)."""
    if target and target.startswith(pages.PREFIX + "/") and not target.startswith("//"):
        return target
    return f"{pages.PREFIX}/databases"


def _sign_in_page(
    request: Request, *, status: int = 200, error: str | None = None, notice: str | None = None
) -> Response:
    csrf = secrets.token_urlsafe(32)
    key_file = pages.state_of(request).key_file
    response = pages.render(
        "sign_in.html",
        status=status,
        title="Sign in",
        csrf=csrf,
        next=_safe_next(request.query_params.get("next")),
        error=error,
        notice=notice,
        key_file=str(key_file) if key_file.exists() else None,
        principal=None,
    )
    response.set_cookie(
        _SIGN_IN_CSRF,
        csrf,
        max_age=3600,
        path=pages.SIGN_IN,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request, notice=request.query_params.get("ended"))


@router.post("/sign-in")
async def sign_in(request: Request, services: deps.Services) -> Response:
    form = await pages.form_of(request, csrf=request.cookies.get(_SIGN_IN_CSRF))
    token = form.get("api_key", "").strip()
    address = request.client.host if request.client else "unknown"
    try:
        await services.api_keys.authenticate(token)
    except api_keys.AuthenticationFailed as exc:
        pages.log.info("console_sign_in_refused", reason=exc.reason.value, key_id=exc.key_id)
        await services.anonymous_rate_limiter.check(f"address:{address}")
        return _sign_in_page(request, status=401, error=_REASONS[exc.reason])
    console = pages.state_of(request)
    session = await console.sessions.start(token)
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=console.sessions.ttl,
        path=pages.PREFIX,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(_SIGN_IN_CSRF, path=pages.SIGN_IN)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, visitor: Visitor, _: CsrfForm) -> Response:
    await pages.state_of(request).sessions.end(visitor.session.id)
    response = RedirectResponse(pages.SIGN_IN, status_code=303)
    response.delete_cookie(COOKIE, path=pages.PREFIX)
    return response
