"""Services on the in-memory fakes of their ports (tests/fakes.py): rate limits, idempotency
and placement's lock, with no Redis and no cluster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.broker.errors import BrokerUnavailable
from app.domain.sizes import default_size_table
from app.services import idempotency, placement
from app.services.idempotency import IdempotencyStore, StoredResponse
from app.services.placement import Placement
from app.services.quotas import Quotas
from app.services.rate_limits import Limit, RateLimited, RateLimiter
from app.store.sqlite import SQLiteStore
from tests.fakes import FakeIdempotencyRecords, FakeLocks, FakeTokenBuckets
from tests.support import eventually

BODY = b'{"replicas": 3}'


class DownBuckets:
    async def take(
        self, bucket: str, *, rate_per_ms: float, burst: int, wanted: int
    ) -> tuple[int, int]:
        raise BrokerUnavailable("redis: connection refused")


async def passed(limiter: RateLimiter, key: str, tries: int) -> int:
    count = 0
    for _ in range(tries):
        try:
            await limiter.check(key)
            count += 1
        except RateLimited:
            pass
    return count


async def test_limiters_sharing_buckets_never_let_more_than_the_burst_through() -> None:
    buckets, limit = FakeTokenBuckets(), Limit(per_minute=1, burst=100)
    first, second = RateLimiter(buckets, limit), RateLimiter(buckets, limit)

    total = sum([await passed(first, "k", 5) + await passed(second, "k", 5) for _ in range(30)])

    assert total == 100
    assert await passed(first, "other", 3) == 3  # another key, another bucket


async def test_a_refused_request_says_when_the_next_token_comes() -> None:
    limiter = RateLimiter(FakeTokenBuckets(), Limit(per_minute=6, burst=1))
    await limiter.check("k")

    with pytest.raises(RateLimited) as refused:
        await limiter.check("k")

    assert 1 <= refused.value.retry_after <= 10
    assert refused.value.headers == {"Retry-After": str(refused.value.retry_after)}


async def test_buckets_that_cannot_be_reached_let_every_request_through() -> None:
    limiter = RateLimiter(DownBuckets(), Limit(per_minute=60, burst=1))

    assert await passed(limiter, "k", 10) == 10


async def test_an_idempotency_key_replays_refuses_another_body_and_reports_one_in_flight() -> None:
    store = IdempotencyStore(FakeIdempotencyRecords())
    print_ = idempotency.fingerprint("POST", "/x", BODY)
    assert await store.begin("key-1", "k", print_) is None

    with pytest.raises(idempotency.StillRunning):
        await store.begin("key-1", "k", print_)
    with pytest.raises(idempotency.KeyReused):
        await store.begin("key-1", "k", idempotency.fingerprint("POST", "/x", b"{}"))
    assert await store.begin("key-2", "k", print_) is None  # another API key's space

    answer = StoredResponse(202, {"operation_id": "op-1"}, {"Location": "/op-1"})
    await store.finish("key-1", "k", print_, answer)
    assert await store.begin("key-1", "k", print_) == answer


async def test_a_claim_left_by_a_dead_request_lapses_and_a_released_one_is_free_at_once() -> None:
    now = [1000.0]
    store = IdempotencyStore(FakeIdempotencyRecords(clock=lambda: now[0]))
    print_ = idempotency.fingerprint("POST", "/x", BODY)
    await store.begin("key-1", "dead", print_)
    await store.begin("key-1", "released", print_)

    await store.release("key-1", "released")
    now[0] += idempotency.PENDING_TTL_SECONDS

    assert await store.begin("key-1", "released", print_) is None
    assert await store.begin("key-1", "dead", print_) is None


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = await SQLiteStore.open(tmp_path / "store.sqlite3")
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_settle_waits_for_the_lock_holder_and_runs_once_it_lets_go(
    store: SQLiteStore,
) -> None:
    locks = FakeLocks()
    places = Placement(store, default_size_table(), Quotas(store), locks)
    token = await locks.acquire("db-1", ttl=30, wait=0)
    assert token is not None
    settling = asyncio.create_task(places.settle("db-1"))
    await eventually(lambda: bool(locks._released), timeout=2, message="settle waits")
    assert not settling.done()

    await locks.release("db-1", token)
    await asyncio.wait_for(settling, 2)

    assert await locks.acquire("db-1", ttl=30, wait=0) is not None  # and it let go too


async def test_a_lock_that_stays_held_is_a_503_naming_the_database(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(placement, "LOCK_WAIT", 0.05)
    locks = FakeLocks()
    places = Placement(store, default_size_table(), Quotas(store), locks)
    await locks.acquire("db-1", ttl=30, wait=0)

    with pytest.raises(BrokerUnavailable, match="reservations of database db-1 stay locked"):
        await places.settle("db-1")
