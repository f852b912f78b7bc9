"""Fencing on a durable epoch (issue 13, item 4): the leader's epoch comes from the store,
so it keeps growing when Redis loses its keys; a leader whose lease key vanished steps down;
a leader frozen past its lease wakes and its store write is refused, on both adapters.

The Redis these tests flush is one they start (the embedded server, in its own directory)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from app.broker.client import make_client
from app.broker.embedded import EmbeddedRedis
from app.domain.databases import Database
from app.runtime import tasks
from app.store import errors as store_errors
from app.store.mongo import MongoStore
from app.store.protocols import Store
from app.store.sqlite import SQLiteStore
from app.workers.leader_election import LeaderElector, Leadership
from tests.support import eventually, redis_keys

pytestmark = pytest.mark.timeout(60)

TTL = 1.0
RETRY = 0.2


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[tuple[aioredis.Redis, str]]:
    server = EmbeddedRedis(tmp_path / "own-redis")
    url = await server.start()
    client = make_client(url)
    try:
        yield client, url
    finally:
        await client.aclose()
        await server.stop()


async def test_the_epoch_survives_a_flushall_and_keeps_growing(
    own_redis: tuple[aioredis.Redis, str],
    sqlite_store: SQLiteStore,
) -> None:
    client, _ = own_redis
    key = redis_keys().leader
    epochs = []
    for _ in range(2):
        elector = LeaderElector(
            client,
            instance_id="a",
            ttl=TTL,
            retry_interval=RETRY,
            key=key,
            epochs=sqlite_store.fences,
        )
        leadership = await elector._try_acquire()
        assert leadership is not None
        epochs.append(leadership.epoch)
        await client.flushall()  # flushes: a server this test started
    standby = LeaderElector(
        client, instance_id="b", ttl=TTL, retry_interval=RETRY, key=key, epochs=sqlite_store.fences
    )
    after_flush = await standby._try_acquire()

    assert after_flush is not None
    assert epochs == [1, 2] and after_flush.epoch == 3
    assert await sqlite_store.fences.current(key) == 3
    assert after_flush.check() is not None and after_flush.check().epoch == 3  # type: ignore[union-attr]


async def test_a_leader_whose_lease_key_vanished_steps_down_at_its_next_renewal(
    own_redis: tuple[aioredis.Redis, str],
    sqlite_store: SQLiteStore,
) -> None:
    client, _ = own_redis
    led: list[Leadership] = []
    cancelled = asyncio.Event()

    async def lead(leadership: Leadership) -> None:
        led.append(leadership)
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    elector = LeaderElector(
        client,
        instance_id="a",
        ttl=TTL,
        retry_interval=RETRY,
        key=redis_keys().leader,
        epochs=sqlite_store.fences,
    )
    stop = asyncio.Event()
    task = tasks.spawn("elector:a", elector.run(lead, stop))
    try:
        await eventually(lambda: bool(led), timeout=5)
        # The renew script tells a vanished key from a taken one.
        assert int(await elector._renew(keys=[elector.key], args=["nobody", 1000])) == 0
        await client.flushall()  # flushes: a server this test started
        flushed_at = time.monotonic()
        assert int(await elector._renew(keys=[elector.key], args=["nobody", 1000])) == -1
        await eventually(cancelled.is_set, timeout=TTL)
        stepped_down = time.monotonic() - flushed_at
        assert not led[0].valid
        # Alone, it takes the empty key again at once: with the store's next epoch.
        await eventually(lambda: len(led) == 2, timeout=RETRY + 2)
        assert (led[0].epoch, led[1].epoch) == (1, 2)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert stepped_down <= TTL / 3 + 0.3


StoreOpener = Callable[[], Awaitable[Store]]


@pytest.fixture(params=["sqlite", "mongomock"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreOpener:
    """Each loop opens its own store on the same data: a file, or one in-memory database."""
    if request.param == "sqlite":
        return lambda: SQLiteStore.open(tmp_path / "store.sqlite3")
    from mongomock_motor import AsyncMongoMockClient

    shared = AsyncMongoMockClient()["fencing"]
    return lambda: MongoStore.open(shared)


def test_a_leader_frozen_past_its_lease_wakes_and_its_store_write_is_refused(
    redis_url: str,
    open_store: StoreOpener,
) -> None:
    """Elector A runs on a loop in its own thread. Its led coroutine passes its lease check,
    then its loop freezes for 2.5 TTLs (a pause between the check and the write); elector B
    takes the lease meanwhile. A's write, carrying the epoch it held, is refused."""
    key = redis_keys().leader
    outcome: list[BaseException | str] = []
    done = threading.Event()
    a_checked = threading.Event()
    stop_a: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def seed() -> str:
        store = await open_store()
        try:
            database = await store.databases.insert(
                Database.model_validate(
                    {
                        "name": "orders",
                        "domain": "acme",
                        "project": "shop",
                        "engine": "postgres",
                        "version": "16.4",
                    }
                )
            )
            return database.id
        finally:
            await store.close()

    database_id = asyncio.run(seed())

    async def run_a() -> None:
        client, store = make_client(redis_url), await open_store()
        stop = asyncio.Event()
        stop_a.append((asyncio.get_running_loop(), stop))

        async def lead_a(leadership: Leadership) -> None:
            if a_checked.is_set():  # A leads again once B has stepped down: nothing to do
                await asyncio.Event().wait()
            held = leadership.check()  # the guard before the side effect passes...
            a_checked.set()
            time.sleep(TTL * 2.5)  # noqa: ASYNC251 - the loop freezes (a GC pause, say)

            async def write() -> None:  # in flight when A notices its lease is gone
                try:
                    await store.databases.update_fields(
                        database_id, {"message": "from A"}, fence=held
                    )
                    outcome.append("written")
                except store_errors.Fenced as exc:
                    outcome.append(exc)
                finally:
                    done.set()

            await asyncio.shield(write())
            await asyncio.Event().wait()

        elector = LeaderElector(
            client, instance_id="a", ttl=TTL, retry_interval=RETRY, key=key, epochs=store.fences
        )
        try:
            await elector.run(lead_a, stop)
        finally:
            await client.aclose()
            await store.close()

    a_loop = asyncio.new_event_loop()
    thread = threading.Thread(target=a_loop.run_until_complete, args=(run_a(),))
    thread.start()
    try:
        assert a_checked.wait(10)

        async def run_b() -> int | None:
            client, store = make_client(redis_url), await open_store()
            stop, led = asyncio.Event(), asyncio.Event()

            async def lead_b(leadership: Leadership) -> None:
                led.set()
                await asyncio.Event().wait()

            elector = LeaderElector(
                client, instance_id="b", ttl=TTL, retry_interval=RETRY, key=key, epochs=store.fences
            )
            task = tasks.spawn("elector:b", elector.run(lead_b, stop))
            try:
                await eventually(led.is_set, timeout=TTL * 2 + 2)
                epoch = elector.epoch
                await eventually(done.is_set, timeout=TTL * 3 + 2)
                return epoch
            finally:
                stop.set()
                await asyncio.wait_for(task, 5)
                await client.aclose()
                await store.close()

        b_epoch = asyncio.run(run_b())
    finally:
        if stop_a:
            loop, stop = stop_a[0]
            loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        a_loop.close()

    assert len(outcome) == 1 and isinstance(outcome[0], store_errors.Fenced), outcome
    assert (outcome[0].epoch, outcome[0].newest) == (1, b_epoch) == (1, 2)

    async def message() -> str | None:
        store = await open_store()
        try:
            record = await store.databases.get(database_id)
            assert record is not None
            return record.message
        finally:
            await store.close()

    assert asyncio.run(message()) != "from A"
