"""Idempotency keys: the same `Idempotency-Key` with the same body within 24 hours gets the
first answer again and starts nothing new; with another body it is refused.

Records live on the `IdempotencyRecords` port (Redis in production:
`<prefix>:idem:<api key id>:<hash of the key>`), named by API key so two clients cannot
collide. A record is claimed before the request runs (an atomic "store unless present"): a
concurrent duplicate finds the claim and is told the first is still in progress, rather than
starting a second operation. A request that fails without an answer worth replaying
releases its claim.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from app.services.errors import ServiceError
from app.services.ports import IdempotencyRecords

TTL_SECONDS = 24 * 3600
# A claim outlives its request only if the process died mid-request; then a retry may go
# ahead after this long instead of being told "in progress" for a day.
# The request header that carries the key.
HEADER = "Idempotency-Key"
PENDING_TTL_SECONDS = 60
_PENDING = "pending"


class KeyReused(ServiceError):
    """The key was used before with a different request."""

    status = 422
    code = "idempotency_key_reused"

    def __init__(self, key: str) -> None:
        super().__init__(f"{HEADER} was used with a different request")
        self.key = key


class StillRunning(ServiceError):
    """The first request with this key has not answered yet."""

    status = 409
    code = "idempotency_key_in_progress"

    def __init__(self, key: str) -> None:
        super().__init__(f"a request with this {HEADER} is still being handled")
        self.key = key


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: Any
    headers: dict[str, str]


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


class IdempotencyStore:
    """Raises `BrokerError` / `BrokerUnavailable` (the records' own errors) besides its own."""

    def __init__(self, records: IdempotencyRecords) -> None:
        self._records = records

    @staticmethod
    def name(owner: str, key: str) -> str:
        """The record's name: the API key's id and a hash of the client's key."""
        return f"{owner}:{hashlib.sha256(key.encode()).hexdigest()}"

    async def begin(self, owner: str, key: str, print_: str) -> StoredResponse | None:
        """Claim the key, or return the answer to replay. Raises KeyReused / StillRunning."""
        claim = json.dumps({"state": _PENDING, "fingerprint": print_})
        raw = await self._records.claim(self.name(owner, key), claim, ttl=PENDING_TTL_SECONDS)
        if raw is None:
            return None
        record = json.loads(raw)
        if record.get("fingerprint") != print_:
            raise KeyReused(key)
        if record.get("state") == _PENDING:
            raise StillRunning(key)
        return StoredResponse(int(record["status"]), record["body"], dict(record["headers"]))

    async def finish(self, owner: str, key: str, print_: str, response: StoredResponse) -> None:
        record = {
            "state": "done",
            "fingerprint": print_,
            "status": response.status,
            "body": response.body,
            "headers": response.headers,
        }
        await self._records.replace(self.name(owner, key), json.dumps(record), ttl=TTL_SECONDS)

    async def release(self, owner: str, key: str) -> None:
        await self._records.remove(self.name(owner, key))
