"""Who is calling and what they may do: the API's authentication dependency and the
authorization helpers every router uses.

    principal: Annotated[auth.Principal, Depends(auth.authenticate)]
    auth.authorize(principal, domain=d, project=p, action=auth.Action.WRITE)   # or raise
    auth.require_admin(principal)                                              # or raise

`authenticate` reads `Authorization: Bearer <token>` and answers 401 `unauthorized` (with
`WWW-Authenticate: Bearer`) for a missing, malformed, unknown, wrong or revoked key; the
reason goes to the log with the key id, never the token. The rules themselves live in
`app.domain.access`; this module turns its decisions into answers: `HIDE` into 404 (the
same answer as for a missing object: pass the route's own message as `missing`), `FORBID`
into 403 `forbidden`.

Must not: log or echo a presented token; decide a rule itself (the table is in the domain).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.security import HTTPBearer

from app.api import errors
from app.domain import access
from app.domain.access import Action, Decision, Principal
from app.log import get_logger
from app.services import api_keys
from app.services.rate_limits import RateLimited, RateLimiter
from app.store.protocols import Store

__all__ = [
    "Action", "Principal", "authenticate", "authorize", "check", "require_admin", "store",
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


def store(request: Request) -> Store:
    """The store of the running app (the lifespan puts it on `app.state.runtime`)."""
    found: Store = request.app.state.runtime.store
    return found


class _ApiKeyBearer(HTTPBearer):
    """FastAPI's bearer scheme, resolved all the way to the caller's `Principal`.

    One dependency rather than a dependency on the scheme plus one on top of it: dependency
    resolution is the largest share of a GET's cost (measured with bench.scale), and every
    request pays it. Being an `HTTPBearer`, it still declares the scheme in the OpenAPI
    schema.
    """

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        credentials = await super().__call__(request)
        if credentials is None:
            given = request.headers.get("authorization")
            await _limit_address(request)
            raise errors.Unauthorized(
                "send an API key as Authorization: Bearer <key>" if not given
                else "the Authorization header must read Bearer <key>"
            )
        try:
            key = await api_keys.authenticate(store(request), credentials.credentials)
        except api_keys.AuthenticationFailed as exc:
            log.info("api_key_rejected", reason=exc.reason.value, key_id=exc.key_id)
            await _limit_address(request)
            raise errors.Unauthorized(_MESSAGES[exc.reason]) from None
        principal = Principal.of(key)
        request.state.principal = principal  # for the audit log (app.api.middleware)
        limiter: RateLimiter = request.app.state.rate_limiter
        try:
            await limiter.check(key.id)
        except RateLimited as exc:
            raise _limited(exc, f"this API key made more than {limiter.limit.per_minute} "
                                f"requests a minute (bursts of {limiter.limit.burst})") from None
        return principal


def _limited(exc: RateLimited, what: str) -> errors.ApiError:
    return errors.ApiError(
        429, "rate_limited", f"{what}; retry in {exc.retry_after} s",
        {"retry_after": exc.retry_after}, headers={"Retry-After": str(exc.retry_after)},
    )


async def _limit_address(request: Request) -> None:
    """A request with no accepted key takes a token of its client address (the socket's
    peer, as the server leaves it: proxy headers count only from trusted proxies), or is
    answered 429 `rate_limited`."""
    limiter: RateLimiter | None = getattr(request.app.state, "anonymous_rate_limiter", None)
    if limiter is None:
        return
    address = request.client.host if request.client else "unknown"
    try:
        await limiter.check(f"address:{address}")
    except RateLimited as exc:
        raise _limited(exc, f"this address made more than {limiter.limit.per_minute} requests "
                            f"a minute without a valid API key (bursts of "
                            f"{limiter.limit.burst})") from None


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
    principal: Principal, *, domain: str, project: str | None, action: Action,
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
        access.decide_platform(principal), missing="not found",
        forbidden="this needs an admin key",
    )
