"""API keys: a role, an optional tenant scope, and only the hash of the secret.

The secret is 32 random bytes; a fast hash (SHA-256) is enough for a secret of that entropy
(password-hashing functions exist to slow guessing of low-entropy secrets) and keeps key
lookup off any slow path. The secret is shown once at creation and never stored.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.domain import clock, ids

SECRET_PREFIX = "kdb_"


class Role(StrEnum):
    ADMIN = "admin"
    OWNER = "owner"
    MEMBER = "member"
    VIEWER = "viewer"


class ApiKey(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: ids.new_id(ids.IdPrefix.API_KEY))
    name: str
    role: Role
    domain: str | None = None
    project: str | None = None
    key_hash: str
    # The first characters of the secret, to tell keys apart in listings.
    key_prefix: str
    created_by: str | None = None
    created_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    revoked_at: clock.Timestamp | None = None
    last_used_at: clock.Timestamp | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
