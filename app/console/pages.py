"""What every console page shares: templates, the signed-in visitor, forms with their CSRF
check, and errors rendered as pages.

    route ── ConsoleRoute ── visitor (session → the API's key check → Principal) ── a service
      └─ raises SignInNeeded ─► 303 to the sign-in page
      └─ raises ApiError / ServiceError / a validation error ─► an HTML page with its status
      └─ raises anything else ─► logged with its traceback, a 500 page

The rules are the API's: `app.api.auth` decides (404 outside the key's tenant, 403 for too
weak a role), `app.services` validates; this module only turns their answers into pages.
Must not: decide a rule itself, or answer JSON.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from markupsafe import Markup, escape
from starlette.applications import Starlette

from app.api import deps, errors
from app.broker.errors import BrokerError
from app.console.sessions import COOKIE, ConsoleSessions, Session
from app.domain.access import Principal
from app.observability.log import get_logger
from app.services import api_keys
from app.services.errors import ServiceError
from app.store.errors import StoreError

log = get_logger(__name__)

PREFIX = "/console"
SIGN_IN = f"{PREFIX}/sign-in"
_TEMPLATES = Path(__file__).parent / "templates"
_STATE = "console"

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    # The templates are the package's own files: compiled once, never looked at again (a
    # check of each file's time on every page was 4 % of a list page's time).
    auto_reload=False,
)


def when(moment: datetime | None, missing: str = "never") -> Markup:
    """A time as `<time>` in UTC; the console's script shows it in the visitor's zone and
    keeps the UTC value as the hover title."""
    if moment is None:
        return Markup(escape(missing))
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    shown = utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    # Digits, dashes, colons and letters we wrote: nothing to escape (`Markup.format`, which
    # escapes each value, was a third of a 20-row list's render time, bench.console_list).
    return Markup(f'<time datetime="{utc.isoformat()}" title="{shown}">{shown}</time>')


templates.filters["when"] = when

_TITLES = {
    400: "The request is not valid",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    410: "Gone",
    422: "The request is not valid",
    429: "Too many requests",
    500: "Something went wrong",
    503: "A service is unavailable",
}


@dataclass(frozen=True, slots=True)
class ConsoleState:
    """What the console keeps in the app: its sessions (built in the lifespan) and where a
    first start leaves the admin key."""

    sessions: ConsoleSessions
    key_file: Path


def attach(app: Starlette, state: ConsoleState) -> None:
    setattr(app.state, _STATE, state)


def state_of(request: Request) -> ConsoleState:
    found: ConsoleState | None = getattr(request.app.state, _STATE, None)
    if found is None:
        raise deps.NotStarted("the console's sessions are not built: the lifespan has not run")
    return found


class SignInNeeded(Exception):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "sign in")
        self.message = message


@dataclass(frozen=True, slots=True)
class Visitor:
    """The signed-in caller: the API's `Principal` for its key, and its session."""

    principal: Principal
    session: Session


async def visitor(request: Request) -> Visitor:
    """The session's key, authenticated again as the API does on every request."""
    console = state_of(request)
    session = await console.sessions.find(request.cookies.get(COOKIE))
    if session is None:
        raise SignInNeeded()
    services = deps.services_of(request)
    try:
        key = await services.api_keys.authenticate(session.token)
    except api_keys.AuthenticationFailed as exc:
        log.info("console_session_refused", reason=exc.reason.value, key_id=exc.key_id)
        await console.sessions.end(session.id)
        raise SignInNeeded("your session ended: its API key is no longer valid") from None
    await services.rate_limiter.check(key.id)
    principal = Principal.of(key)
    request.state.principal = principal  # for the audit log (app.api.middleware)
    return Visitor(principal=principal, session=session)


async def form_of(request: Request, *, csrf: str | None) -> dict[str, str]:
    """A POSTed form's fields (first value of each), after its CSRF token is checked
    against `csrf` (the session's, or the sign-in cookie's): 403 when it does not match."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise errors.ApiError(415, "unsupported_media_type", "send the form as a web form")
    fields = {
        name: values[0]
        for name, values in parse_qs((await request.body()).decode(errors="replace")).items()
    }
    presented = fields.pop("csrf", None)
    if csrf is None or presented is None or not hmac.compare_digest(presented, csrf):
        raise errors.Forbidden(
            "the form's security token is missing or out of date: reload the page and try again"
        )
    return fields


def render(name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status)


def error_page(status: int, message: str) -> HTMLResponse:
    return render(
        "error.html",
        status=status,
        title=_TITLES.get(status, "Error"),
        message=message,
        principal=None,
    )


def sign_in_redirect(request: Request, message: str | None) -> RedirectResponse:
    """To the sign-in page, which comes back to the page asked for, its query included (a
    filtered list stays filtered); a form's POST comes back to the page it was sent from."""
    back = request.url.path
    if request.method == "GET" and request.url.query:
        back += f"?{request.url.query}"
    target = f"{SIGN_IN}?next={quote(back, safe='/')}"
    if message:
        target += f"&ended={quote(message)}"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """A console route: whatever it raises becomes a page (or the way to the sign-in)."""

    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except SignInNeeded as exc:
                return sign_in_redirect(request, exc.message)
            except errors.ApiError as exc:
                if exc.status == 401:
                    return sign_in_redirect(request, exc.message)
                fields = exc.details.get("fields") or {}
                told = "; ".join(f"{name}: {text}" for name, text in fields.items())
                return error_page(exc.status, f"{exc.message}: {told}" if told else exc.message)
            except ServiceError as exc:
                return error_page(exc.status, exc.message)
            except RequestValidationError as exc:
                where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
                return error_page(422, f"these parts of the address are not valid: {where}")
            except (StoreError, BrokerError) as exc:
                log.warning("console_dependency_unavailable", error=str(exc))
                return error_page(503, "the store or Redis did not answer; try again shortly")
            except Exception:
                log.exception("console_page_failed", path=request.url.path)
                return error_page(500, "the page could not be shown; the error is logged")

        return handler
