"""Who is calling and what they may do: the API's authentication dependency and the
authorization helpers every router uses.

    principal: Annotated[auth.Principal, Depends(auth.authenticate)]
    auth.authorize(principal, domain=d, project=p, action=auth.Action.WRITE)   # or raise
    auth.require_admin(principal)                                              # or raise
    caller: auth.Admin                          # a route dependency: admin keys only
    APIRouter(..., dependencies=[auth.TENANT_GATE])  # the path's tenant, read or write
    principal: auth.TenantCaller                     # under the gate: its answer, cached
    principal = await auth.tenant_gate(request)      # the gate, outside FastAPI's handling

Authorization before validation: FastAPI solves a route's dependencies (and raises what
they raise) before it reports the request's parameter and body errors, so the dependencies
here (`Admin`, `TENANT_GATE`, `require_key_manager`) answer 401/403/404 before any 422 that
would tell a caller without the right what a valid request looks like. They read the path
as it came (`request.path_params`), not validated path parameters, which FastAPI would
check first. (A body that is not JSON at all is refused by FastAPI before any dependency
runs; `app.api.errors` then calls `authenticate` itself, so it is 401 without a valid key and
counts against the rate limits, and 400 `malformed_request`, naming no field, with one.)

`authenticate` reads `Authorization: Bearer <token>` and answers 401 `unauthorized` (with
`WWW-Authenticate: Bearer`) for a missing, malformed, unknown, wrong or revoked key; the
reason goes to the log with the key id, never the token. The rules themselves live in
`app.domain.access`; this module turns its decisions into answers: `HIDE` into 404 (the
same answer as for a missing object: pass the route's own message as `missing`), `FORBID`
into 403 `forbidden`.

Must not: log or echo a presented token; decide a rule itself (the table is in the domain).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from app.api import deps, errors, wiring
from app.domain import access
from app.domain.access import Action, Decision, Principal
from app.observability.log import get_logger
from app.services import api_keys
from app.services.rate_limits import RateLimited

__all__ = [
    "TENANT_GATE",
    "Action",
    "Admin",
    "Caller",
    "Principal",
    "TenantCaller",
    "authenticate",
    "authorize",
    "check",
    "require_admin",
    "require_key_manager",
    "tenant_gate",
]

log = get_logger(__name__)

_MESSAGES = {
    api_keys.FailureReason.MALFORMED: "the API key is not in the form kdb_<id>_<secret>",
    api_keys.FailureReason.UNKNOWN: "the API key is not valid",
    api_keys.FailureReason.WRONG_SECRET: "the API key is not valid",
    api_keys.FailureReason.REVOKED: "the API key has been revoked",
}

_VERBS = {
    Action.READ: "read",
    Action.WRITE: "make changes",
    Action.CREDENTIALS: "read credentials",
    Action.ADMIN: "administer",
}


class _ApiKeyBearer(HTTPBearer):
    """FastAPI's bearer scheme, resolved all the way to the caller's `Principal`.

    One dependency rather than a dependency on the scheme plus one on top of it: dependency
    resolution is the largest share of a GET's cost (measured with bench.scale), and every
    request pays it. Being an `HTTPBearer`, it still declares the scheme in the OpenAPI
    schema.
    """

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        # Once per request: the tenant gate and a route's own `Caller` (two dependencies
        # FastAPI caches apart) share the first answer, and the rate limit is taken once.
        known: Principal | None = (request.scope.get("state") or {}).get("principal")
        if known is not None:
            return known
        credentials = await super().__call__(request)
        if credentials is None:
            given = request.headers.get("authorization")
            await _limit_address(request)
            raise errors.Unauthorized(
                "send an API key as Authorization: Bearer <key>"
                if not given
                else "the Authorization header must read Bearer <key>"
            )
        services = deps.services_of(request)
        try:
            key = await services.api_keys.authenticate(credentials.credentials)
        except api_keys.AuthenticationFailed as exc:
            log.info("api_key_rejected", reason=exc.reason.value, key_id=exc.key_id)
            await _limit_address(request)
            raise errors.Unauthorized(_MESSAGES[exc.reason]) from None
        principal = Principal.of(key)
        request.state.principal = principal  # for the audit log (app.api.middleware)
        limiter = services.rate_limiter
        try:
            await limiter.check(key.id)
        except RateLimited as exc:
            raise _limited(
                exc,
                f"this API key made more than {limiter.limit.per_minute} "
                f"requests a minute (bursts of {limiter.limit.burst})",
            ) from None
        return principal


def _limited(exc: RateLimited, what: str) -> errors.ApiError:
    return errors.ApiError(
        429,
        "rate_limited",
        f"{what}; retry in {exc.retry_after} s",
        {"retry_after": exc.retry_after},
        headers={"Retry-After": str(exc.retry_after)},
    )


async def _limit_address(request: Request) -> None:
    """A request with no accepted key takes a token of its client address (the socket's
    peer, as the server leaves it: proxy headers count only from trusted proxies), or is
    answered 429 `rate_limited`."""
    services = wiring.of(request.app)
    if services is None:  # the lifespan has not built it (not started yet)
        return
    limiter = services.anonymous_rate_limiter
    address = request.client.host if request.client else "unknown"
    try:
        await limiter.check(f"address:{address}")
    except RateLimited as exc:
        raise _limited(
            exc,
            f"this address made more than {limiter.limit.per_minute} requests "
            f"a minute without a valid API key (bursts of "
            f"{limiter.limit.burst})",
        ) from None


# The caller's key as a `Principal`, or 401 `unauthorized`: `Depends(auth.authenticate)`.
authenticate = _ApiKeyBearer(
    auto_error=False,
    scheme_name="HTTPBearer",
    bearerFormat="kdb_<id>_<secret>",
    description="An API key: `Authorization: Bearer kdb_...`",
)


def check(decision: Decision, *, missing: str, forbidden: str) -> None:
    """Raise the answer for a decision: 404 with `missing`, 403 with `forbidden`."""
    if decision is Decision.HIDE:
        raise errors.NotFound(missing)
    if decision is Decision.FORBID:
        raise errors.Forbidden(forbidden)


def authorize(
    principal: Principal,
    *,
    domain: str,
    project: str | None,
    action: Action,
    missing: str | None = None,
) -> None:
    """Allow, or raise 404 (the tenant is outside the key's scope: `missing` should be the
    message the route gives for a missing object, so the two cannot be told apart) or 403
    `forbidden` (in scope, but the role may not do `action`). `project=None` is the domain
    as a whole."""
    decision = access.decide(principal, domain=domain, project=project, action=action)
    where = domain if project is None else f"{domain}/{project}"
    check(
        decision,
        missing=missing or f"{where} not found",
        forbidden=f"a key with role {principal.role.value} may not {_VERBS[action]} in {where}",
    )


def require_admin(principal: Principal) -> None:
    """Platform administration: 403 `forbidden` unless the key is an admin key."""
    check(
        access.decide_platform(principal),
        missing="not found",
        forbidden="this needs an admin key",
    )


Caller = Annotated[Principal, Depends(authenticate)]


async def _admin(principal: Caller) -> Principal:
    require_admin(principal)
    return principal


# The caller, an admin key, or 403 before the request's parameters and body are validated.
Admin = Annotated[Principal, Depends(_admin)]


class _TenantGate(_ApiKeyBearer):
    """The caller, authenticated and allowed into the path's tenant, in one dependency.

    The path's tenant (`/domain/{domain}/project/{project}/...`): reads need READ, other
    methods WRITE; another tenant's scope is 404 (as for a missing object), too weak a
    role 403. Routes still make their finer checks (credentials, the object itself).

    One dependency, not a gate on top of `authenticate`: FastAPI solves every dependency
    of a route (cached ones too) on each request, and on a GET of a database that was a
    third of the request (issue 19). A route under the gate takes its caller from the
    same dependency (`TenantCaller`), which FastAPI then answers from its cache.
    """

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        principal = await super().__call__(request)
        _authorize_path(request, principal)
        return principal


def _authorize_path(request: Request, principal: Principal) -> None:
    params = request.path_params
    domain, project = str(params.get("domain", "")), params.get("project")
    action = Action.READ if request.method in ("GET", "HEAD") else Action.WRITE
    database_id = params.get("database_id")
    authorize(
        principal,
        domain=domain,
        project=None if project is None else str(project),
        action=action,
        missing=f"database {database_id} not found"
        if database_id
        else f"project {domain}/{project} not found"
        if project is not None
        else None,
    )


# The gate itself, `await tenant_gate(request)`: for a route served outside FastAPI's
# request handling (`app.api.v1.database_reads`), so that it passes this same gate.
tenant_gate = _TenantGate(
    auto_error=False,
    scheme_name="HTTPBearer",
    bearerFormat="kdb_<id>_<secret>",
    description="An API key: `Authorization: Bearer kdb_...`",
)
TENANT_GATE = Depends(tenant_gate)
# The caller of a route under `TENANT_GATE`: the gate's own answer, from FastAPI's cache.
TenantCaller = Annotated[Principal, TENANT_GATE]


async def require_key_manager(principal: Caller) -> Principal:
    """API key management: admin and owner keys (which keys, the route decides)."""
    if principal.role not in access.KEY_MANAGERS:
        raise errors.Forbidden("managing API keys needs an admin key or an owner key")
    return principal
