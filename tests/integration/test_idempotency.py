"""Idempotency keys on a real Redis: replay, reuse with another body, a duplicate in flight."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from app.broker.idempotency import RedisIdempotencyRecords
from app.services import idempotency
from app.services.idempotency import IdempotencyStore, StoredResponse
from tests.support import redis_keys

# SET NX with a TTL across requests: run on the local Redis as well as the embedded one.
pytestmark = pytest.mark.every_redis

BODY = b'{"replicas": 3}'


async def test_the_same_key_and_body_replays_the_first_answer(
    redis_client: aioredis.Redis,
) -> None:
    records = RedisIdempotencyRecords(redis_client, prefix=redis_keys().idempotency)
    store = IdempotencyStore(records)
    print_ = idempotency.fingerprint("POST", "/x", BODY)
    assert await store.begin("key-1", "k", print_) is None
    answer = StoredResponse(202, {"operation_id": "op-1"}, {"Location": "/op-1"})
    await store.finish("key-1", "k", print_, answer)

    replay = await store.begin("key-1", "k", print_)

    assert replay == answer
    assert (
        0 < await redis_client.ttl(records.key(store.name("key-1", "k"))) <= idempotency.TTL_SECONDS
    )


async def test_the_same_key_with_another_body_is_refused(redis_client: aioredis.Redis) -> None:
    records = RedisIdempotencyRecords(redis_client, prefix=redis_keys().idempotency)
    store = IdempotencyStore(records)
    await store.begin("key-1", "k", idempotency.fingerprint("POST", "/x", BODY))

    with pytest.raises(idempotency.KeyReused):
        await store.begin("key-1", "k", idempotency.fingerprint("POST", "/x", b"{}"))


async def test_a_duplicate_while_the_first_runs_is_told_so_and_keys_are_per_api_key(
    redis_client: aioredis.Redis,
) -> None:
    records = RedisIdempotencyRecords(redis_client, prefix=redis_keys().idempotency)
    store = IdempotencyStore(records)
    print_ = idempotency.fingerprint("POST", "/x", BODY)
    await store.begin("key-1", "k", print_)

    with pytest.raises(idempotency.StillRunning):
        await store.begin("key-1", "k", print_)
    assert await store.begin("key-2", "k", print_) is None  # another API key, another space
    await store.release("key-1", "k")
    assert await store.begin("key-1", "k", print_) is None  # released: claimable again
