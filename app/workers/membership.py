"""Which instances are alive, for sharing work without a coordinator, and who owns what.

    members = await membership.heartbeat()   # join (or stay), drop the expired, list the live
    owner_of(key, members)                    # rendezvous (highest random weight) hashing

Each instance keeps itself in a Redis sorted set scored with its expiry time on the Redis
clock (one script: no clock skew between instances). An instance that stops heartbeating
drops out `ttl` seconds after its last beat; a clean stop leaves at once.

Rendezvous hashing gives every key to exactly one member of a given set, and when a member
leaves only its keys move (spread over the others), with no shared state beyond the set.
Two instances that read the set at slightly different moments may disagree for that pass;
the status sync's writes are compare-and-set and idempotent, so the overlap costs a
repeated read, never a wrong write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import redis.asyncio as aioredis

# KEYS[1] the set; ARGV: member, ttl in ms. Returns the live members.
_HEARTBEAT = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""


class Membership:
    def __init__(self, redis: aioredis.Redis, member: str, *, ttl: float, key: str) -> None:
        self._redis = redis
        self.member = member
        self.ttl = ttl
        self._key = key
        self._heartbeat = redis.register_script(_HEARTBEAT)

    async def heartbeat(self) -> list[str]:
        live = await self._heartbeat(keys=[self._key], args=[self.member, int(self.ttl * 1000)])
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in live)

    async def leave(self) -> None:
        await self._redis.zrem(self._key, self.member)


def owner_of(key: str, members: Sequence[str]) -> str | None:
    """The member with the highest hash weight for `key`; None with no members."""
    best: tuple[bytes, str] | None = None
    for member in members:
        weight = hashlib.blake2b(f"{member}\x00{key}".encode(), digest_size=8).digest()
        if best is None or weight > best[0]:
            best = (weight, member)
    return None if best is None else best[1]
