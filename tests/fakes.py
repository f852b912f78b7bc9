"""In-memory fakes of the services' Redis-backed ports (`app.services.ports`), for fast unit
tests of services with no Redis. Each keeps the contract its Redis adapter keeps: the same
tests run against both (tests/contract/test_broker_ports.py). Time is the caller's `clock`
(monotonic seconds), so a test can move it; waits use the event loop's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections.abc import Callable

Clock = Callable[[], float]


class FakeLocks:
    """Named locks with a lease; a waiter sleeps until a release (or the lease's end)."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[str, float]] = {}  # name -> (token, lease end)
        self._released: dict[str, asyncio.Event] = {}

    async def acquire(self, name: str, *, ttl: float, wait: float) -> str | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            now = loop.time()
            holder = self._held.get(name)
            if holder is None or holder[1] <= now:
                token = uuid.uuid4().hex
                self._held[name] = (token, now + ttl)
                return token
            remaining = deadline - now
            if remaining <= 0:
                return None
            released = self._released.setdefault(name, asyncio.Event())
            # Woken by a release, or by the wait's or the lease's end: look again.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), min(remaining, holder[1] - now))

    async def release(self, name: str, token: str) -> None:
        holder = self._held.get(name)
        if holder is None or holder[0] != token:
            return
        del self._held[name]
        self._released.pop(name, asyncio.Event()).set()


class FakeTokenBuckets:
    """Token buckets as the Redis script keeps them (refill on take, whole tokens granted)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # bucket -> (tokens, at ms)

    async def take(
        self, bucket: str, *, rate_per_ms: float, burst: int, wanted: int
    ) -> tuple[int, int]:
        now = math.floor(self._clock() * 1000)
        tokens, at = self._buckets.get(bucket, (float(burst), now))
        if now > at:
            tokens = min(burst, tokens + (now - at) * rate_per_ms)
        granted = min(wanted, math.floor(tokens))
        tokens -= granted
        self._buckets[bucket] = (tokens, now)
        wait = 0 if granted else math.ceil((1 - tokens) / rate_per_ms)
        return granted, wait


class FakeIdempotencyRecords:
    """Text records that expire `ttl` seconds after they were written."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._records: dict[str, tuple[str, float]] = {}  # name -> (record, expiry)

    def _live(self, name: str) -> str | None:
        found = self._records.get(name)
        if found is None or found[1] <= self._clock():
            self._records.pop(name, None)
            return None
        return found[0]

    async def claim(self, name: str, record: str, *, ttl: int) -> str | None:
        found = self._live(name)
        if found is None:
            self._records[name] = (record, self._clock() + ttl)
        return found

    async def replace(self, name: str, record: str, *, ttl: int) -> None:
        self._records[name] = (record, self._clock() + ttl)

    async def remove(self, name: str) -> None:
        self._records.pop(name, None)
