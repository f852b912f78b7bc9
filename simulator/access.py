"""Access control in front of every HTTP request: authenticate (`authn`), then authorize
(`rbac`), as kube-apiserver's filter chain does before any handler runs. A refusal is the
real server's `Status` (401 Unauthorized, 403 Forbidden) and is counted in `denied`, so a
test can prove that nothing was refused. The identity goes on to the handlers as
`scope["user"]` (the self reviews read it).

The admin API under `/_sim/` is a non-resource URL like any other: `cluster-admin`
(`system:masters`, the kubeconfig's admin token) may use it; anyone else needs a rule
granting `nonResourceURLs: ["/_sim/*"]`; without a token it is 401.
"""

from __future__ import annotations

import collections

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from simulator import errors, requestinfo, wire
from simulator.authn import Authenticator
from simulator.rbac import Authorizer, Identity

log = structlog.get_logger(__name__)


def identity(scope: Scope) -> Identity:
    """Who sent the request `AccessControl` admitted."""
    user = scope.get("user")
    if not isinstance(user, Identity):
        raise errors.InternalError("the request has no identity")
    return user


class Access:
    """The simulator's authenticator and authorizer, and what they refused."""

    def __init__(self, authenticator: Authenticator, authorizer: Authorizer) -> None:
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.denied: collections.Counter[str] = collections.Counter()
        """`"403 system:serviceaccount:ns:sa list secrets"` -> how many times."""

    def admit(self, method: str, path: str, query: str, authorization: str | None) -> Identity:
        """The request's identity, or the `ApiError` a real server refuses it with."""
        attrs = requestinfo.parse(method, path, query)
        identity: Identity | None = None
        try:
            identity = self.authenticator.authenticate(authorization, path)
            self.authorizer.check(identity, attrs)
        except errors.ApiError as exc:
            what = attrs.full_resource if attrs.resource_request else attrs.path
            user = identity.name if identity is not None else "-"
            self.denied[f"{exc.code} {user} {attrs.verb} {what}"] += 1
            log.info("request_denied", code=exc.code, user=user, verb=attrs.verb, target=what)
            raise
        return identity


class AccessControl:
    """ASGI middleware: `Access.admit` on every HTTP request."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self._access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            scope["user"] = self._access.admit(
                scope["method"],
                scope["path"],
                scope.get("query_string", b"").decode(),
                Headers(scope=scope).get("authorization"),
            )
        except errors.ApiError as exc:
            await wire.error_response(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)
