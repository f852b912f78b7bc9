"""API keys: a role, an optional tenant scope, and a salted hash of the secret.

A key is handed out once as a token `kdb_<id body>_<secret>`: the id body names the stored
record (`key-<id body>`), so a presented token is found by its id and then checked, with no
index over hashes. The store keeps a random per-key `salt` and `key_hash = sha256(salt +
secret)`; checking compares digests in constant time (`hmac.compare_digest`).

Why a fast hash: the generated secret is 32 random bytes (256 bits) and a configured one at
least 32 URL-safe characters (192 bits). Slow password hashes (scrypt, argon2) exist to make
guessing low-entropy passwords expensive; no guessing reaches 2^192, so they would only add
CPU to every request (and, per STYLE 13, a thread hop). The salt still makes two stores'
hashes incomparable and defeats any precomputed table.

Must not: know about HTTP, the store or settings; keep or log a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.domain import clock, errors, ids

TOKEN_PREFIX = "kdb_"
SECRET_BYTES = 32
SALT_BYTES = 16
_ID_PREFIX = f"{ids.IdPrefix.API_KEY.value}-"
_TOKEN = re.compile(r"kdb_(?P<body>[0-9a-z]{16})_(?P<secret>[A-Za-z0-9_-]{32,128})")
TOKEN_RULE = (
    "must read kdb_<16 lowercase letters or digits>_<32 to 128 letters, digits, '-' or '_'>"
)


class Role(StrEnum):
    ADMIN = "admin"
    OWNER = "owner"
    MEMBER = "member"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class Token:
    """A key's id and secret, as a client presents them. The secret stays out of `repr`."""

    key_id: str
    secret: str = field(repr=False)

    @property
    def text(self) -> str:
        return f"{token_prefix(self.key_id)}{self.secret}"


def token_prefix(key_id: str) -> str:
    """What every token of this key starts with: tells keys apart without the secret."""
    return f"{TOKEN_PREFIX}{key_id.removeprefix(_ID_PREFIX)}_"


def parse_token(text: str) -> Token | None:
    """The token's id and secret, or None when `text` does not have the token's shape."""
    match = _TOKEN.fullmatch(text)
    if match is None:
        return None
    return Token(key_id=_ID_PREFIX + match["body"], secret=match["secret"])


def new_token() -> Token:
    key_id = ids.new_id(ids.IdPrefix.API_KEY)
    return Token(key_id=key_id, secret=secrets.token_urlsafe(SECRET_BYTES))


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def hash_secret(secret: str, *, salt: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


class ApiKey(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: ids.new_id(ids.IdPrefix.API_KEY))
    name: str
    role: Role
    domain: str | None = None
    project: str | None = None
    # Hex. Empty on a key stored before keys were salted (token `kdb_<random>`): such a key
    # still lists and revokes but can no longer authenticate.
    salt: str = ""
    key_hash: str
    created_by: str | None = None
    created_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    revoked_at: clock.Timestamp | None = None
    last_used_at: clock.Timestamp | None = None

    @classmethod
    def for_token(
        cls,
        token: Token,
        *,
        name: str,
        role: Role,
        domain: str | None = None,
        project: str | None = None,
        created_by: str | None = None,
    ) -> ApiKey:
        salt = new_salt()
        return cls(
            id=token.key_id,
            name=name,
            role=role,
            domain=domain,
            project=project,
            salt=salt,
            key_hash=hash_secret(token.secret, salt=salt),
            created_by=created_by,
        )

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def verify(self, secret: str) -> bool:
        """Whether `secret` is this key's, compared in constant time."""
        if not self.salt:
            return False
        return hmac.compare_digest(hash_secret(secret, salt=self.salt), self.key_hash)


def check_scope(role: Role, *, domain: str | None, project: str | None) -> None:
    """An admin key is platform-wide (no scope); any other key is scoped to a domain or to a
    project of a domain. Raises `errors.InvalidValue` naming the field at fault."""
    if role is Role.ADMIN:
        for name, value in (("domain", domain), ("project", project)):
            if value is not None:
                raise errors.InvalidValue(name, "an admin key is platform-wide: leave it out")
        return
    if domain is None:
        reason = "a project belongs to a domain" if project is not None else "it is required"
        raise errors.InvalidValue(
            "domain", f"a key with role {role.value} is scoped to a domain or a project: {reason}"
        )
