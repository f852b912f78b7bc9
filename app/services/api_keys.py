"""API keys: issuing them (the token is returned once), checking a presented token, listing and
revoking, and the first admin key of an installation, so that a fresh `make run` can be used
at once.

    ApiKeyError (a branch of the service tree, app.services.errors)
    ├── AuthenticationFailed (reason)   the token is malformed, unknown, wrong or revoked
    └── ApiKeyNotFound                  no key with that id (revoking)

Who may issue, see or revoke which key is the API's question (`app.domain.access`); this
module does what it is asked. Must not: log a token or a secret, or store a secret.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import SecretStr

from app.domain import clock
from app.domain.api_keys import ApiKey, Role, Token, new_token, parse_token
from app.observability.log import get_logger
from app.services import auth_cache
from app.services.errors import ServiceError
from app.store import errors as store_errors
from app.store.protocols import ApiKeyFilter, Page, Store

log = get_logger(__name__)

# `last_used_at` is written at most this often per key: it answers "is this key still in
# use?", which needs no finer grain than a write per request would cost.
LAST_USED_GRANULARITY = timedelta(minutes=1)
BOOTSTRAP_NAME = "bootstrap-admin"


class ApiKeyError(ServiceError):
    status = 401
    code = "unauthorized"


class FailureReason(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    WRONG_SECRET = "wrong_secret"
    REVOKED = "revoked"


class AuthenticationFailed(ApiKeyError):
    def __init__(self, reason: FailureReason, *, key_id: str | None = None) -> None:
        super().__init__(f"authentication failed: {reason.value}")
        self.reason = reason
        self.key_id = key_id


class ApiKeyNotFound(ApiKeyError):
    status = 404
    code = "not_found"

    def __init__(self, key_id: str) -> None:
        super().__init__(f"API key {key_id} not found")
        self.key_id = key_id


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    token: str = field(repr=False)  # shown once, never stored


async def issue_key(
    store: Store,
    *,
    name: str,
    role: Role,
    domain: str | None = None,
    project: str | None = None,
    created_by: str | None = None,
) -> IssuedKey:
    token = new_token()
    key = ApiKey.for_token(
        token, name=name, role=role, domain=domain, project=project, created_by=created_by
    )
    await store.api_keys.insert(key)
    log.info(
        "api_key_created",
        key_id=key.id,
        role=str(role),
        domain=domain,
        project=project,
        created_by=created_by,
    )
    return IssuedKey(key, token.text)


async def authenticate(
    store: Store, presented: str, *, now: Callable[[], datetime] = clock.utcnow
) -> ApiKey:
    """The live key `presented` is the token of; raises `AuthenticationFailed`.

    A well-formed token is looked up by its id, then its secret is checked in constant time;
    a revoked key is reported as such only once the secret proved the caller holds it.
    """
    token = parse_token(presented)
    if token is None:
        raise AuthenticationFailed(FailureReason.MALFORMED)
    key = await store.api_keys.get(token.key_id)
    # An unknown id answers sooner than a wrong secret would; ids are not secret (they are
    # listed), so that timing tells nothing a caller could not learn otherwise.
    if key is None:
        raise AuthenticationFailed(FailureReason.UNKNOWN, key_id=token.key_id)
    if not key.verify(token.secret):
        raise AuthenticationFailed(FailureReason.WRONG_SECRET, key_id=key.id)
    if key.is_revoked:
        raise AuthenticationFailed(FailureReason.REVOKED, key_id=key.id)
    await _mark_used(store, key, now())
    return key


async def _mark_used(store: Store, key: ApiKey, at: datetime) -> None:
    since = at - LAST_USED_GRANULARITY
    if key.last_used_at is not None and key.last_used_at > since:
        return
    try:
        await store.api_keys.mark_used(key.id, at=at, unless_since=since)
    except store_errors.StoreError as exc:
        # Bookkeeping only: a request whose key checked out is not refused for it.
        log.warning("api_key_last_used_not_recorded", key_id=key.id, error=str(exc))


async def get_key(store: Store, key_id: str) -> ApiKey | None:
    return await store.api_keys.get(key_id)


async def list_keys(
    store: Store,
    *,
    domain: str | None = None,
    project: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> Page[ApiKey]:
    """Newest first; `domain`/`project` narrow to a tenant (None: any)."""
    where = ApiKeyFilter(domain=domain, project=project)
    return await store.api_keys.list(where, offset=offset, limit=limit)


async def revoke_key(
    store: Store,
    key_id: str,
    *,
    by: str | None = None,
    now: Callable[[], datetime] = clock.utcnow,
) -> ApiKey:
    """Revoke; revoking again keeps the first time. Raises `ApiKeyNotFound`."""
    try:
        key = await store.api_keys.revoke(key_id, at=now())
    except store_errors.NotFound:
        raise ApiKeyNotFound(key_id) from None
    log.info("api_key_revoked", key_id=key_id, revoked_by=by)
    return key


class ApiKeyService:
    """The functions above, bound to one store: what the API calls.

    `authenticate` remembers a token that checked out for `cache_ttl` seconds
    (`app.services.auth_cache`, AUTH_CACHE_TTL); `revoke` forgets the key at once. While a
    token is remembered its `last_used_at` is not looked at: with the one-minute granularity
    above, it stays at most `cache_ttl` + 1 min behind.
    """

    def __init__(
        self,
        store: Store,
        *,
        cache_ttl: float = 0,
        cache_entries: int = auth_cache.DEFAULT_MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._cache = auth_cache.AuthCache(
            ttl=cache_ttl, max_entries=cache_entries, monotonic=monotonic
        )

    async def issue(
        self,
        *,
        name: str,
        role: Role,
        domain: str | None = None,
        project: str | None = None,
        created_by: str | None = None,
    ) -> IssuedKey:
        return await issue_key(
            self._store, name=name, role=role, domain=domain, project=project, created_by=created_by
        )

    async def authenticate(self, presented: str) -> ApiKey:
        if not self._cache.enabled:
            return await authenticate(self._store, presented)
        digest = auth_cache.token_digest(presented)
        if (known := self._cache.get(digest)) is not None:
            return known
        generation = self._cache.generation
        key = await authenticate(self._store, presented)
        self._cache.put(digest, key, generation=generation)
        return key

    async def get(self, key_id: str) -> ApiKey | None:
        return await get_key(self._store, key_id)

    async def page(
        self, *, domain: str | None, project: str | None, offset: int, limit: int
    ) -> Page[ApiKey]:
        return await list_keys(
            self._store, domain=domain, project=project, offset=offset, limit=limit
        )

    async def revoke(self, key_id: str, *, by: str | None) -> ApiKey:
        self._cache.forget_key(key_id)  # before the write too: no check in flight re-adds it
        try:
            return await revoke_key(self._store, key_id, by=by)
        finally:
            self._cache.forget_key(key_id)


async def bootstrap_admin_key(
    store: Store, path: Path, *, configured: SecretStr | None = None
) -> ApiKey | None:
    """Make sure an installation has an admin key; returns the key it created, if any.

    With `configured` (ADMIN_API_KEY, a token), that token becomes an admin key unless a key
    with its id exists already (restarts, and a second instance starting alongside, change
    nothing). Without it, when no admin key that can authenticate exists (none yet, or every
    admin key revoked), an admin key is created and its token written to `path` (mode 0600).
    """
    if configured is not None:
        return await _bootstrap_configured(store, configured)
    if await _any_usable_admin_key(store):
        return None
    issued = await issue_key(store, name=BOOTSTRAP_NAME, role=Role.ADMIN, created_by="system")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(issued.token + "\n")
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that existed
    log.info("bootstrap_admin_key_written", key_id=issued.key.id, path=str(path))
    return issued.key


async def _bootstrap_configured(store: Store, configured: SecretStr) -> ApiKey | None:
    token = parse_token(configured.get_secret_value())
    if token is None:  # settings validate the shape; this is a programming error
        raise ValueError("ADMIN_API_KEY does not have the shape of a token")
    existing = await store.api_keys.get(token.key_id)
    if existing is not None:
        _warn_if_unusable(existing, token)
        return None
    key = ApiKey.for_token(token, name=BOOTSTRAP_NAME, role=Role.ADMIN, created_by="system")
    try:
        await store.api_keys.insert(key)
    except store_errors.Conflict:
        return None  # another instance inserted it first
    log.info("bootstrap_admin_key_configured", key_id=key.id)
    return key


def _warn_if_unusable(existing: ApiKey, token: Token) -> None:
    if not existing.verify(token.secret):
        # A key with this id exists with other key material: ADMIN_API_KEY will not work.
        log.warning("admin_api_key_mismatch", key_id=existing.id)
    elif existing.is_revoked or existing.role is not Role.ADMIN:
        log.warning(
            "admin_api_key_unusable",
            key_id=existing.id,
            role=str(existing.role),
            revoked=existing.is_revoked,
        )


async def _any_usable_admin_key(store: Store, *, page_size: int = 100) -> bool:
    """Whether an admin key that can authenticate exists: salted (keys stored before salting
    cannot), not revoked, role admin. An installation without one gets a new admin key
    instead of being locked out of key management."""
    offset = 0
    while True:
        page = await store.api_keys.list(offset=offset, limit=page_size)
        if any(k.salt and not k.is_revoked and k.role is Role.ADMIN for k in page.items):
            return True
        offset += page_size
        if not page.items or offset >= page.total:
            return False
