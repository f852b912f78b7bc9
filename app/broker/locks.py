"""Named locks in Redis with a lease, whose waiters block on the server instead of polling.

    acquire(name, ttl, wait) ──► SET <prefix><name> token NX PX ttl ──► taken: the token
                                     └── held: BLPOP <prefix><name>:wake (at most until the
                                         holder's lease ends, or `wait` does), then again
    release(name, token)     ──► (Lua) the key still holds token: DEL it, LPUSH one wake-up

A waiter costs one round trip per wake-up, not one every few milliseconds: it sleeps in
`BLPOP` on the lock's wake-up list and the holder's release pushes one element there, which
wakes exactly one waiter. The lease (`ttl`) is the backstop for a holder that died without
releasing: a waiter never blocks past the lease it saw, so it tries again once the key has
expired. The wake-up list holds at most one element (LTRIM) and expires with the lease; a
successful take clears it, so a wake-up nobody consumed only costs its next reader one try.

Each blocking wait is capped by `max_block` (below the client's socket timeout, which would
otherwise cut a long BLPOP short); a blocked waiter holds one pool connection meanwhile.

Errors: Redis failures become `BrokerUnavailable` / `BrokerError` (`app.broker.errors`).
Must not: decide what a lock protects or what to do when it stays held (the caller does).
"""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis

from app.broker.guard import guard

# Take the lock, or answer how many ms its holder's lease has left (-1 if it has none).
_TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return -2
end
return redis.call('PTTL', KEYS[1])
"""
_TAKEN = -2

# Release only a lock that is still ours, and wake one waiter.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('LPUSH', KEYS[2], '1')
  redis.call('LTRIM', KEYS[2], 0, 0)
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0
"""

# Milliseconds a wake-up nobody took stays on its list.
_WAKE_TTL_MS = 60_000


class RedisLocks:
    def __init__(self, redis: aioredis.Redis, *, prefix: str, max_block: float = 2.0) -> None:
        self._redis = redis
        self._prefix = prefix
        self._max_block = max_block
        self._take = redis.register_script(_TAKE)
        self._release = redis.register_script(_RELEASE)

    def _keys(self, name: str) -> list[str]:
        key = f"{self._prefix}{name}"
        return [key, f"{key}:wake"]

    async def acquire(self, name: str, *, ttl: float, wait: float) -> str | None:
        keys, token = self._keys(name), uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            left_ms = int(await guard(self._take(keys=keys, args=[token, int(ttl * 1000)])))
            if left_ms == _TAKEN:
                return token
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            block = min(remaining, self._max_block)
            if left_ms >= 0:  # the holder's lease ends then: try again at that moment
                block = min(block, max(left_ms, 1) / 1000)
            # BLPOP's timeout has millisecond resolution; 0 would mean "forever".
            await guard(self._redis.blpop([keys[1]], timeout=max(block, 0.001)))

    async def release(self, name: str, token: str) -> None:
        await guard(self._release(keys=self._keys(name), args=[token, _WAKE_TTL_MS]))
