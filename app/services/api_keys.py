"""API keys: creating them (the secret is returned once) and the first admin key of a new
installation, so that a fresh `make run` can be used at once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.domain.api_keys import ApiKey, Role, hash_secret, new_secret
from app.log import get_logger
from app.store.protocols import Store

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once, never stored


async def issue_key(
    store: Store, *, name: str, role: Role, domain: str | None = None,
    project: str | None = None, created_by: str | None = None,
) -> IssuedKey:
    secret = new_secret()
    key = ApiKey(
        name=name, role=role, domain=domain, project=project, key_hash=hash_secret(secret),
        key_prefix=secret[:10], created_by=created_by,
    )
    await store.api_keys.insert(key)
    log.info("api_key_created", key_id=key.id, role=str(role), domain=domain, project=project)
    return IssuedKey(key, secret)


async def bootstrap_admin_key(store: Store, path: Path) -> ApiKey | None:
    """When no key exists yet, create an admin key and write its secret to `path` (0600)."""
    if await store.api_keys.count() > 0:
        return None
    issued = await issue_key(store, name="bootstrap-admin", role=Role.ADMIN, created_by="system")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(issued.secret + "\n")
    log.info("bootstrap_admin_key_written", key_id=issued.key.id, path=str(path))
    return issued.key
