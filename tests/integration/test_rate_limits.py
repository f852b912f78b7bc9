"""The rate limiter on a real Redis: the bucket holds across limiters (instances), tokens
taken a few at a time are never handed out twice, and a Redis that is down lets requests
through."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from app.broker.client import make_client
from app.broker.counters import RedisTokenBuckets
from app.services.rate_limits import Limit, RateLimited, RateLimiter
from tests.support import free_port, redis_keys

# The bucket is a Lua script: run on the local Redis as well as the embedded one.
pytestmark = pytest.mark.every_redis


async def allowed(limiter: RateLimiter, key: str, tries: int) -> int:
    passed = 0
    for _ in range(tries):
        try:
            await limiter.check(key)
            passed += 1
        except RateLimited:
            pass
    return passed


async def test_instances_sharing_redis_never_let_more_than_the_burst_through(
    redis_client: aioredis.Redis,
) -> None:
    key = f"key-{uuid.uuid4().hex[:8]}"
    limit = Limit(per_minute=1, burst=100)  # refills one token a minute: none during the test
    first, second = (
        RateLimiter(RedisTokenBuckets(redis_client, prefix=redis_keys().rate_limits), limit),
        RateLimiter(RedisTokenBuckets(redis_client, prefix=redis_keys().rate_limits), limit),
    )

    total = 0
    for _ in range(30):  # interleaved, as a load balancer would
        total += await allowed(first, key, 5) + await allowed(second, key, 5)

    assert total == 100


async def test_concurrent_requests_of_one_key_get_the_whole_burst_and_no_more(
    redis_client: aioredis.Redis,
) -> None:
    key = f"key-{uuid.uuid4().hex[:8]}"
    buckets = RedisTokenBuckets(redis_client, prefix=redis_keys().rate_limits)
    limiter = RateLimiter(buckets, Limit(per_minute=1, burst=200))

    async def one() -> bool:
        try:
            await limiter.check(key)
        except RateLimited:
            return False
        return True

    first = await asyncio.gather(*(one() for _ in range(40)))
    rest = await asyncio.gather(*(one() for _ in range(200)))

    assert all(first), f"{first.count(False)} of 40 concurrent requests refused"
    assert rest.count(True) == 160


async def test_a_refused_request_says_when_the_next_token_comes(
    redis_client: aioredis.Redis,
) -> None:
    key = f"key-{uuid.uuid4().hex[:8]}"
    buckets = RedisTokenBuckets(redis_client, prefix=redis_keys().rate_limits)
    limiter = RateLimiter(buckets, Limit(per_minute=6, burst=1))  # one token / 10 s

    await limiter.check(key)
    with pytest.raises(RateLimited) as refused:
        await limiter.check(key)

    assert 1 <= refused.value.retry_after <= 10


async def test_limiting_off_or_redis_down_lets_every_request_through() -> None:
    down = make_client(f"redis://127.0.0.1:{free_port()}/0")
    try:
        buckets = RedisTokenBuckets(down, prefix="down:")
        off = RateLimiter(buckets, Limit(per_minute=0, burst=1))
        unreachable = RateLimiter(buckets, Limit(per_minute=60, burst=1))

        assert await allowed(off, "key-a", 10) == 10
        assert await allowed(unreachable, "key-a", 10) == 10
    finally:
        await down.aclose()
