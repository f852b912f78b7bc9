"""The web console's sessions: an API key exchanged at sign-in for a session cookie.

    cookie kdb_console = <session id: 32 random bytes>   (HttpOnly, SameSite=Strict, Secure
                                                          over HTTPS, Max-Age = the TTL)
    Redis  <prefix>:console:session:<sha256("name", id)> = Fernet(key = sha256("seal", id))
                                                           ({"token": ..., "csrf": ...})
           expiring after CONSOLE_SESSION_TTL

Neither half alone holds the key: the cookie is only a random id, and what Redis keeps is
sealed with a key derived from that id (decision 71 in docs/architecture.md). Every request
unseals the token and authenticates it again through the API's own code
(`ApiKeyService.authenticate`), so revoking the key ends its sessions at once; sign-out
deletes the record, so a copied cookie stops working too.

Must not: log a session id, a token or a CSRF token; decide what a key may do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from cryptography.fernet import Fernet, InvalidToken

COOKIE = "kdb_console"


@dataclass(frozen=True, slots=True)
class Session:
    """One signed-in browser: the API key it signed in with and its CSRF token."""

    id: str = field(repr=False)
    token: str = field(repr=False)
    csrf: str = field(repr=False)

    def csrf_matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented, self.csrf)


def _derive(label: str, session_id: str) -> bytes:
    return hashlib.sha256(f"{label}:{session_id}".encode()).digest()


class ConsoleSessions:
    """Sessions kept in Redis under `prefix`, each for `ttl` seconds."""

    def __init__(self, redis: aioredis.Redis, *, prefix: str, ttl: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self.ttl = ttl

    def _key(self, session_id: str) -> str:
        return self._prefix + _derive("name", session_id).hex()

    @staticmethod
    def _seal(session_id: str) -> Fernet:
        return Fernet(base64.urlsafe_b64encode(_derive("seal", session_id)))

    async def start(self, token: str) -> Session:
        session = Session(id=secrets.token_urlsafe(32), token=token, csrf=secrets.token_urlsafe(32))
        sealed = self._seal(session.id).encrypt(
            json.dumps({"token": token, "csrf": session.csrf}).encode()
        )
        await self._redis.set(self._key(session.id), sealed, ex=self.ttl)
        return session

    async def find(self, session_id: str | None) -> Session | None:
        """The session of a cookie's id, or None (unknown, expired, signed out, forged)."""
        if not session_id or len(session_id) > 100:
            return None
        sealed = await self._redis.get(self._key(session_id))
        if sealed is None:
            return None
        try:
            record = json.loads(self._seal(session_id).decrypt(sealed))
        except InvalidToken:
            return None
        return Session(id=session_id, token=str(record["token"]), csrf=str(record["csrf"]))

    async def end(self, session_id: str) -> None:
        await self._redis.delete(self._key(session_id))
