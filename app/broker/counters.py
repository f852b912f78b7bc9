"""Token buckets in Redis: counters refilled over time, taken several tokens at a time.

A bucket holds up to `burst` tokens and gains `rate` tokens a millisecond; `take` refills
it (on the Redis clock, so instances never disagree), grants up to `wanted` whole tokens and
answers how many it granted and, when none, the milliseconds until one is there. Refill and
take are one Lua script: concurrent takers never get the same token. An idle bucket expires
once it would be full again.

Errors: Redis failures become `BrokerUnavailable` / `BrokerError` (`app.broker.errors`).
Must not: decide what a bucket limits or what happens when it is empty (the caller does).
"""

from __future__ import annotations

import redis.asyncio as aioredis

from app.broker.guard import guard

# KEYS[1] bucket; ARGV: rate per ms, burst, wanted. Returns {granted, ms until one token}.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
end
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
local wait = 0
if granted == 0 then
  wait = math.ceil((1 - tokens) / rate)
end
return {granted, wait}
"""


class RedisTokenBuckets:
    def __init__(self, redis: aioredis.Redis, *, prefix: str) -> None:
        self._prefix = prefix
        self._take = redis.register_script(_TAKE)

    async def take(
        self, bucket: str, *, rate_per_ms: float, burst: int, wanted: int
    ) -> tuple[int, int]:
        granted, wait_ms = await guard(
            self._take(keys=[self._prefix + bucket], args=[rate_per_ms, burst, wanted])
        )
        return int(granted), int(wait_ms)
