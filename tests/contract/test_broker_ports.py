"""The Redis-backed ports of the services keep one contract, whatever serves them: the same
tests run against the in-memory fake (tests/fakes.py) and the Redis adapter (app/broker/) on
the embedded Redis and on the local one (TEST_LOCAL_REDIS_URL, skipped when absent)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import redis.asyncio as aioredis

from app.broker.client import make_client
from app.broker.counters import RedisTokenBuckets
from app.broker.idempotency import RedisIdempotencyRecords
from app.broker.keys import RedisKeys
from app.broker.locks import RedisLocks
from app.services.ports import IdempotencyRecords, Locks, TokenBuckets
from tests import support
from tests.conftest import LOCAL_REDIS_URL, _local_redis_available
from tests.fakes import FakeIdempotencyRecords, FakeLocks, FakeTokenBuckets


@pytest.fixture(params=["fake", "embedded", "local"])
def server_url(request: pytest.FixtureRequest, redis_keys: RedisKeys) -> Iterator[str | None]:
    """None for the fake; else the Redis server's URL (this test's keys deleted after)."""
    if request.param == "fake":
        yield None
        return
    if request.param == "embedded":
        url = str(request.getfixturevalue("embedded_redis_url"))
    elif not _local_redis_available():
        pytest.skip(f"no Redis server at {LOCAL_REDIS_URL}")
    else:
        url = LOCAL_REDIS_URL
    yield url
    support.delete_keys(url, redis_keys.pattern)


@pytest.fixture
async def server(server_url: str | None) -> AsyncIterator[aioredis.Redis | None]:
    if server_url is None:
        yield None
        return
    client = make_client(server_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def locks(server: aioredis.Redis | None, redis_keys: RedisKeys) -> Locks:
    if server is None:
        return FakeLocks()
    return RedisLocks(server, prefix=redis_keys.placement_locks)


@pytest.fixture
def buckets(server: aioredis.Redis | None, redis_keys: RedisKeys) -> TokenBuckets:
    if server is None:
        return FakeTokenBuckets()
    return RedisTokenBuckets(server, prefix=redis_keys.rate_limits)


@pytest.fixture
def records(server: aioredis.Redis | None, redis_keys: RedisKeys) -> IdempotencyRecords:
    if server is None:
        return FakeIdempotencyRecords()
    return RedisIdempotencyRecords(server, prefix=redis_keys.idempotency)


@pytest.fixture
def someone_waits(server: aioredis.Redis | None, locks: Locks) -> Callable[[], Awaitable[bool]]:
    """Is a waiter blocked on a lock now (the fake's wake-up event, Redis's blocked BLPOP)?"""

    async def check() -> bool:
        if server is None:
            assert isinstance(locks, FakeLocks)
            return bool(locks._released)
        clients = await server.client_list()
        return any(c.get("cmd") == "blpop" for c in clients)

    return check


async def _timed(awaitable: Awaitable[str | None]) -> tuple[str | None, float]:
    loop = asyncio.get_running_loop()
    began = loop.time()
    result = await awaitable
    return result, loop.time() - began


# --- locks -------------------------------------------------------------------------------


async def test_a_free_lock_is_taken_and_a_held_one_is_refused_once_the_wait_is_over(
    locks: Locks,
) -> None:
    token = await locks.acquire("db-1", ttl=30, wait=0)
    again, waited = await _timed(locks.acquire("db-1", ttl=30, wait=0.2))

    assert token is not None and again is None
    assert waited >= 0.19
    assert await locks.acquire("db-2", ttl=30, wait=0) is not None  # locks are per name


async def test_a_release_wakes_a_waiter_at_once_long_before_the_lease_ends(
    locks: Locks, someone_waits: Callable[[], Awaitable[bool]]
) -> None:
    token = await locks.acquire("db-1", ttl=30, wait=0)
    assert token is not None
    waiter = asyncio.create_task(_timed(locks.acquire("db-1", ttl=30, wait=10)))
    await support.eventually(someone_waits, timeout=5, message="the waiter blocks")

    await locks.release("db-1", token)
    taken, waited = await asyncio.wait_for(waiter, 5)

    assert taken is not None and taken != token
    assert waited < 1.0  # woken by the release: not by a poll, nor by the lease's end


async def test_a_holder_that_never_releases_loses_the_lock_when_its_lease_ends(
    locks: Locks,
) -> None:
    assert await locks.acquire("db-1", ttl=0.3, wait=0) is not None

    taken, waited = await _timed(locks.acquire("db-1", ttl=30, wait=5))

    assert taken is not None
    assert 0.2 <= waited < 2.0


async def test_only_the_token_that_holds_a_lock_releases_it(locks: Locks) -> None:
    token = await locks.acquire("db-1", ttl=30, wait=0)
    assert token is not None

    await locks.release("db-1", "not-the-token")

    assert await locks.acquire("db-1", ttl=30, wait=0) is None
    await locks.release("db-1", token)
    assert await locks.acquire("db-1", ttl=30, wait=0) is not None


async def test_a_waiter_on_redis_blocks_instead_of_polling(
    embedded_redis_url: str, redis_keys: RedisKeys
) -> None:
    client = make_client(embedded_redis_url)  # the suite's own server: nobody else's calls
    try:
        locks = RedisLocks(client, prefix=redis_keys.placement_locks)
        assert await locks.acquire("db-1", ttl=30, wait=0) is not None
        before = await _script_calls(client)

        assert await locks.acquire("db-1", ttl=30, wait=1.0) is None

        # One try, one blocking wait, one last try; redis-py's Lock (or SET NX in a loop
        # with a 5-20 ms sleep) makes dozens in a second.
        assert await _script_calls(client) - before <= 3
    finally:
        await client.aclose()
        support.delete_keys(embedded_redis_url, redis_keys.pattern)


async def _script_calls(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("evalsha", "eval"))


# --- token buckets -----------------------------------------------------------------------


async def test_a_new_bucket_is_full_and_an_empty_one_says_when_the_next_token_comes(
    buckets: TokenBuckets,
) -> None:
    one_per_10s = 1 / 10_000

    assert await buckets.take("k", rate_per_ms=one_per_10s, burst=5, wanted=3) == (3, 0)
    assert await buckets.take("k", rate_per_ms=one_per_10s, burst=5, wanted=3) == (2, 0)
    granted, wait_ms = await buckets.take("k", rate_per_ms=one_per_10s, burst=5, wanted=3)

    assert granted == 0 and 9_000 < wait_ms <= 10_000
    assert await buckets.take("other", rate_per_ms=one_per_10s, burst=5, wanted=1) == (1, 0)


async def test_a_bucket_refills_at_its_rate(buckets: TokenBuckets) -> None:
    assert await buckets.take("k", rate_per_ms=0.1, burst=2, wanted=2) == (2, 0)

    async def refilled() -> bool:
        granted, _ = await buckets.take("k", rate_per_ms=0.1, burst=2, wanted=1)
        return granted == 1

    await support.eventually(refilled, timeout=5, message="a token after 10 ms")


# --- idempotency records -----------------------------------------------------------------


async def test_a_record_is_claimed_once_and_the_claim_shows_the_record_there(
    records: IdempotencyRecords,
) -> None:
    assert await records.claim("a", "first", ttl=60) is None
    assert await records.claim("a", "second", ttl=60) == "first"

    await records.replace("a", "done", ttl=60)
    assert await records.claim("a", "third", ttl=60) == "done"

    await records.remove("a")
    assert await records.claim("a", "fourth", ttl=60) is None


async def test_of_concurrent_claims_exactly_one_stores_its_record(
    records: IdempotencyRecords,
) -> None:
    answers = await asyncio.gather(*(records.claim("a", f"r{i}", ttl=60) for i in range(20)))

    stored = [i for i, answer in enumerate(answers) if answer is None]
    assert len(stored) == 1
    assert {answer for answer in answers if answer is not None} == {f"r{stored[0]}"}
