"""Request rate limits per API key, kept in Redis so that they hold across instances.

A token bucket per key: `burst` tokens, refilled at `per_minute / 60` a second; a request
takes one, and a key with none left gets 429 with `Retry-After` (the seconds until the next
token). The buckets are the `TokenBuckets` port (Redis in production: refill and take are one
script, on Redis's clock, so instances never disagree).

Every request to Redis would cost a round trip on the hot path (a GET of a database is
about as long as two of them: measured in-process, one call per 5 requests added 80 µs to
a 210 µs GET), so an instance takes tokens several at a time (`lease`: up to 50, at most a
twentieth of the burst) and spends them locally for at most `LEASE_SECONDS`; what it
has not spent by then is dropped, never handed out twice. The bucket therefore never lets
more through than the limit across all instances; at worst a few tokens are wasted.

Redis down: requests pass (logged once per outage). Limiting is protection, not a reason to
turn every request away while the queue is down; the API answers 503 where it needs Redis.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from app.broker.errors import BrokerError
from app.observability.log import get_logger
from app.services.errors import ServiceError
from app.services.ports import TokenBuckets

log = get_logger(__name__)

LEASE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Limit:
    per_minute: int
    burst: int

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"rate limit reached; retry in {retry_after} s",
            details={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, buckets: TokenBuckets, limit: Limit, *, lease: int = 50) -> None:
        self._buckets = buckets
        self.limit = limit
        # At most a twentieth of the burst in one instance's hand, so that instances sharing
        # a key never refuse a request because another holds the tokens.
        self._lease = max(1, min(lease, limit.burst // 20))
        # key id -> (tokens in hand, until when they may be spent: monotonic seconds)
        self._local: dict[str, tuple[int, float]] = {}
        # key id -> the lease request in flight for it (done when it has answered)
        self._leasing: dict[str, asyncio.Future[None]] = {}
        self._redis_down = False

    async def check(self, key_id: str) -> None:
        """Take a token for `key_id`, or raise `RateLimited`.

        One lease request per key at a time: concurrent requests of a key wait for the one
        in flight and spend what it brought, rather than each taking a lease (and each
        overwriting the others' tokens), which refused a burst of 40 concurrent requests
        after 20 with a burst of 200."""
        if not self.limit.enabled:
            return
        while not self._spend(key_id):
            pending = self._leasing.get(key_id)
            if pending is None:
                await self._lease_tokens(key_id)
                return
            await asyncio.shield(pending)

    def _spend(self, key_id: str) -> bool:
        held, until = self._local.get(key_id, (0, 0.0))
        if held > 0 and time.monotonic() < until:
            self._local[key_id] = (held - 1, until)
            return True
        return False

    async def _lease_tokens(self, key_id: str) -> None:
        """Take a lease from Redis and spend one token of it, or raise `RateLimited`."""
        done = asyncio.get_running_loop().create_future()
        self._leasing[key_id] = done
        try:
            try:
                granted, wait_ms = await self._buckets.take(
                    key_id,
                    rate_per_ms=self.limit.per_minute / 60_000,
                    burst=self.limit.burst,
                    wanted=self._lease,
                )
            except BrokerError as exc:
                if not self._redis_down:
                    log.warning("rate_limit_unchecked", error=str(exc))
                self._redis_down = True
                return
            self._redis_down = False
            now = time.monotonic()
            if granted == 0:
                self._local.pop(key_id, None)
                raise RateLimited(max(1, math.ceil(wait_ms / 1000)))
            self._local[key_id] = (granted - 1, now + LEASE_SECONDS)
            if len(self._local) > 10_000:  # keys seen once and never again
                self._local = {k: v for k, v in self._local.items() if v[1] > now}
        finally:
            del self._leasing[key_id]
            done.set_result(None)
