"""Idempotency records in Redis: a text value per name, claimed once, kept for a while.

    claim(name, record, ttl)    SET <prefix>:<name> record NX EX ttl, or the record there
    replace(name, record, ttl)  SET ... EX ttl
    remove(name)                DEL

`claim` is one Lua script, so a claim and the read of a competing one are atomic (no window
where the other record expires between the two). What a record says (pending or done, the
request's fingerprint, the answer) is the service's business (`app.services.idempotency`).

Errors: Redis failures become `BrokerUnavailable` / `BrokerError` (`app.broker.errors`).
"""

from __future__ import annotations

import redis.asyncio as aioredis

from app.broker.guard import guard

# Store ARGV[1] unless the key is taken; nil when stored, else the record there.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])
"""


class RedisIdempotencyRecords:
    def __init__(self, redis: aioredis.Redis, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._claim = redis.register_script(_CLAIM)

    def key(self, name: str) -> str:
        """The Redis key of record `name`."""
        return f"{self._prefix}:{name}"

    async def claim(self, name: str, record: str, *, ttl: int) -> str | None:
        found = await guard(self._claim(keys=[self.key(name)], args=[record, ttl]))
        return None if found is None else str(found)

    async def replace(self, name: str, record: str, *, ttl: int) -> None:
        await guard(self._redis.set(self.key(name), record, ex=ttl))

    async def remove(self, name: str) -> None:
        await guard(self._redis.delete(self.key(name)))
