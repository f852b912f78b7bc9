"""Authentication: who a request's bearer token says it is.

- The **admin token** (written into `--kubeconfig-out`) is `kubernetes-admin` in
  `system:masters`, like the client certificate of a kubeadm `admin.conf`.
- A **ServiceAccount token** lives in a Secret of type `kubernetes.io/service-account-token`
  annotated `kubernetes.io/service-account.name`, filled by `TokenController` as
  Kubernetes' token controller fills it. The request is then
  `system:serviceaccount:<ns>:<name>` in `system:serviceaccounts`,
  `system:serviceaccounts:<ns>` and `system:authenticated`. The token is JWT-shaped with the
  legacy claims; it is valid while its Secret holds it and its ServiceAccount (same uid)
  exists, which is how kube-apiserver validates legacy tokens. The signature part is random:
  nothing verifies it; the Secret is the proof, and it survives a restart with the store.
- **No token**: `system:anonymous` (`system:unauthenticated`), allowed only on the public
  paths (`ANONYMOUS_PATHS`, kube-apiserver 1.32 with anonymous authentication limited to
  them); elsewhere, and for any token not recognised, 401 Unauthorized.

In-process clients (controllers, tests' `sim.client()`) do not come through here: they stay
privileged. This module must not decide what an identity may do (see `rbac`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from typing import Any

import structlog

from simulator import errors
from simulator.controllers import ControllerContext
from simulator.objects import Obj, meta
from simulator.rbac import AUTHENTICATED, MASTERS, UNAUTHENTICATED, Identity
from simulator.registry import Registry
from simulator.store import Store

log = structlog.get_logger(__name__)

ADMIN = Identity("kubernetes-admin", (MASTERS, AUTHENTICATED))
ANONYMOUS = Identity("system:anonymous", (UNAUTHENTICATED,))
ANONYMOUS_PATHS = frozenset(("/healthz", "/livez", "/readyz", "/version", "/version/"))

TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME = "kubernetes.io/service-account.name"
SA_UID = "kubernetes.io/service-account.uid"
_CLAIM = "kubernetes.io/serviceaccount/"


def new_admin_token() -> str:
    return secrets.token_urlsafe(32)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_account_token(namespace: str, secret: str, account: str, uid: str) -> str:
    """A legacy ServiceAccount token: a JWT with kube-apiserver's claims."""
    header = {"alg": "RS256", "kid": ""}
    claims = {
        "iss": "kubernetes/serviceaccount",
        f"{_CLAIM}namespace": namespace,
        f"{_CLAIM}secret.name": secret,
        f"{_CLAIM}service-account.name": account,
        f"{_CLAIM}service-account.uid": uid,
        "sub": f"system:serviceaccount:{namespace}:{account}",
    }
    parts = (json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(32))
    return ".".join(_b64url(part) for part in parts)


def _claims(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def service_account_identity(namespace: str, name: str, uid: str = "") -> Identity:
    return Identity(
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED),
        uid,
    )


class Authenticator:
    def __init__(self, *, store: Store, registry: Registry, admin_token: str) -> None:
        self._store = store
        self._secrets = registry.resolve("secrets")
        self._accounts = registry.resolve("serviceaccounts")
        self._admin_token = admin_token

    def authenticate(self, authorization: str | None, path: str) -> Identity:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            if path in ANONYMOUS_PATHS:
                return ANONYMOUS
            raise errors.Unauthorized("Unauthorized")
        if hmac.compare_digest(token.encode(), self._admin_token.encode()):
            return ADMIN
        identity = self._service_account(token)
        if identity is None:
            raise errors.Unauthorized("Unauthorized")
        return identity

    def _service_account(self, token: str) -> Identity | None:
        claims = _claims(token)
        if claims is None:
            return None
        namespace = str(claims.get(f"{_CLAIM}namespace", ""))
        secret = self._store.get(self._secrets, namespace, str(claims.get(f"{_CLAIM}secret.name")))
        if secret is None or secret.get("type") != TOKEN_TYPE:
            return None
        stored = str((secret.get("data") or {}).get("token", ""))
        try:
            stored_token = base64.b64decode(stored)
        except (ValueError, binascii.Error):
            return None
        if not hmac.compare_digest(stored_token, token.encode()):
            return None
        name = str(claims.get(f"{_CLAIM}service-account.name", ""))
        account = self._store.get(self._accounts, namespace, name)
        uid = str(claims.get(f"{_CLAIM}service-account.uid", ""))
        if account is None or meta(account).get("uid") != uid:
            return None
        return service_account_identity(namespace, name, uid)


class TokenController:
    """Fills ServiceAccount token Secrets (`data.token`, `data.namespace`, the uid
    annotation); deletes one whose ServiceAccount does not exist or has another uid, as
    Kubernetes' token controller does. No `ca.crt`: the simulator serves plain HTTP."""

    async def __call__(self, ctx: ControllerContext) -> None:
        selector = f"type={TOKEN_TYPE}"  # as Kubernetes' token controller: no other Secret
        async with ctx.client.watch("secrets", field_selector=selector) as watch:
            while not ctx.stopping.is_set():
                event = await watch.next(None)
                if event is None:
                    return
                if event.type != "DELETED":
                    await self._sync(ctx, event.object)

    @staticmethod
    async def _sync(ctx: ControllerContext, secret: Obj) -> None:
        md = meta(secret)
        annotations = md.get("annotations") or {}
        namespace, name = md["namespace"], md["name"]
        account = await ctx.client.find(
            "serviceaccounts", str(annotations.get(SA_NAME, "")), namespace=namespace
        )
        uid = meta(account).get("uid") if account is not None else None
        if account is None or annotations.get(SA_UID, uid) != uid:
            log.info("token_secret_deleted", namespace=namespace, secret=name)
            await ctx.client.delete("secrets", name, namespace=namespace, missing_ok=True)
            return
        if (secret.get("data") or {}).get("token"):
            return
        token = service_account_token(namespace, name, meta(account)["name"], str(uid))
        data = {"token": token, "namespace": namespace}
        patch = {
            "metadata": {"annotations": {SA_UID: uid}},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        }
        try:
            await ctx.client.patch("secrets", name, patch, namespace=namespace)
        except errors.NotFound:
            return
        log.info("token_secret_filled", namespace=namespace, secret=name)
