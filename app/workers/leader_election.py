"""Leader election on a Redis lease, so that exactly one instance runs the reconciler.

    acquire:  SET <prefix>:leader:reconciler <token> NX PX ttl, then INCR the epoch (one script);
              with a store (`epochs`), the epoch is then taken from the store instead
    renew:    every ttl/3, compare-and-PEXPIRE (only while the value is still our token);
              a key that vanished (FLUSHDB, Redis restarted empty) means stepping down
    release:  compare-and-DEL on shutdown, so a standby takes over within one retry interval

The epoch is a fencing token: it grows with every acquisition, and the leader's store writes
carry it (`Leadership.check()` returns it as a `Fence`), so the store refuses a write from an
older leader (`store_errors.Fenced`). Redis alone cannot keep it: a FLUSHDB deletes the
epoch key with the lease, and a standby would start again at 1 under a leader still at 4.
The store's counter (`Store.fences`) only grows.

The holder never trusts Redis alone. It keeps a local deadline on the loop's monotonic clock,
`ttl` after it *sent* the last successful acquire or renew (minus a small drift allowance),
and `Leadership.check()` refuses once that deadline has passed, even if the loop was blocked
and no renew could run. A failed or late renew means stepping down at once: the led
coroutine is cancelled and the elector goes back to standby.

It must not run the led coroutine while it does not hold the lease, and it must not hold the
lease without a live led coroutine past one retry interval.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from app.engine.retry import RetryPolicy
from app.observability.log import get_logger
from app.observability.metrics import Metrics
from app.runtime import tasks
from app.store import errors as store_errors
from app.store.protocols import Fence, FenceRepository

log = get_logger(__name__)

# Re-entrant: an instance that stepped down while its key lived on (a renew answer lost on
# the way back) may take it again at once, with a new epoch.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return redis.call('INCR', KEYS[2])
end
return 0
"""
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not holder then
  return -1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_REDIS_ERRORS = (redis_errors.RedisError, OSError)


class LeadershipLost(Exception):
    """Raised by `Leadership.check()` once the lease may no longer be ours."""


@dataclass
class Leadership:
    """Handed to the led coroutine: the fencing epoch, and the check before each side effect."""

    epoch: int
    instance_id: str
    _deadline: float
    _clock: Callable[[], float]
    # The epoch as the store knows it: None when the elector has no store (`epochs`).
    fence: Fence | None = None

    @property
    def valid(self) -> bool:
        return self._clock() < self._deadline

    def check(self) -> Fence | None:
        """Raise `LeadershipLost` once the lease may no longer be ours; else the fence every
        store write of this side effect must carry."""
        if not self.valid:
            raise LeadershipLost(f"lease of epoch {self.epoch} expired")
        return self.fence

    def fenced(self, exc: store_errors.Fenced) -> LeadershipLost:
        """The store refused a write of ours: a newer leader exists. Stop leading now (the
        elector notices at its next wake-up and hands the lease back)."""
        self._deadline = float("-inf")
        return LeadershipLost(str(exc))


Led = Callable[[Leadership], Awaitable[None]]


class LeaderElector:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        instance_id: str,
        ttl: float,
        retry_interval: float,
        key: str,
        clock: Callable[[], float] | None = None,
        metrics: Metrics | None = None,
        epochs: FenceRepository | None = None,
    ) -> None:
        if retry_interval >= ttl:
            raise ValueError("retry_interval must be shorter than ttl")
        self._redis = redis
        self.instance_id = instance_id
        self.ttl = ttl
        self.retry_interval = retry_interval
        # A led task that crashed restarts after 2, 4, 8 ... retry intervals, at most 30 s.
        self._led_restart = RetryPolicy(
            initial=min(2 * retry_interval, 30.0),
            factor=2.0,
            cap=30.0,
            max_attempts=1_000_000,
            jitter=0.0,
        )
        self.key = key
        self.epoch_key = f"{key}:epoch"
        self._clock = clock or asyncio.get_running_loop().time
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._token = f"{instance_id}/{uuid.uuid4().hex}"
        self._leadership: Leadership | None = None
        self._metrics = metrics or Metrics()
        self._epochs = epochs

    @property
    def is_leader(self) -> bool:
        return self._leadership is not None and self._leadership.valid

    @property
    def epoch(self) -> int | None:
        return self._leadership.epoch if self.is_leader and self._leadership else None

    async def current_leader(self) -> str | None:
        """The instance id holding the lease now, as Redis sees it."""
        token = await self._redis.get(self.key)
        return None if token is None else str(token).rsplit("/", 1)[0]

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl * 1000)

    @property
    def _drift(self) -> float:
        # Redis expires keys with ~1 ms precision; allow for that and for clock-rate drift.
        return 0.002 + self.ttl * 0.01

    async def run(self, lead: Led, stop: asyncio.Event) -> None:
        """Stand by and lead in turn until `stop` is set; release the lease on the way out."""
        while not stop.is_set():
            leadership = await self._try_acquire()
            if leadership is None:
                await tasks.sleep_or_stop(stop, self.retry_interval)
                continue
            await self._lead(leadership, lead, stop)

    async def _try_acquire(self) -> Leadership | None:
        sent = self._clock()
        try:
            epoch = int(
                await self._acquire(
                    keys=[self.key, self.epoch_key], args=[self._token, self._ttl_ms]
                )
            )
        except _REDIS_ERRORS as exc:
            log.warning("leadership_acquire_failed", instance_id=self.instance_id, error=str(exc))
            return None
        if not epoch:
            return None
        fence = None
        if self._epochs is not None:
            try:
                fence = Fence(self.key, await self._epochs.advance(self.key))
            except store_errors.StoreError as exc:
                # No epoch, no leading: hand the lease back, try again next interval.
                log.warning(
                    "leadership_epoch_failed",
                    instance_id=self.instance_id,
                    error=f"{type(exc).__name__}: {exc}",
                )
                await self._release(keys=[self.key], args=[self._token])
                return None
            epoch = fence.epoch
        leadership = Leadership(
            epoch, self.instance_id, sent + self.ttl - self._drift, self._clock, fence
        )
        self._leadership = leadership
        self._metrics.leadership("acquired", leading=True)
        log.info("leadership_acquired", instance_id=self.instance_id, epoch=epoch)
        return leadership

    async def _lead(self, leadership: Leadership, lead: Led, stop: asyncio.Event) -> None:
        led = tasks.spawn(f"leader:{self.instance_id}", self._run_led(leadership, lead, stop))
        renew_every = self.ttl / 3
        next_renew = self._clock() + renew_every
        try:
            while not stop.is_set():
                now = self._clock()
                wake = min(next_renew, leadership._deadline) - now
                if wake > 0:
                    await tasks.sleep_or_stop(stop, wake)
                if stop.is_set():
                    return
                if not leadership.valid:
                    self._lost(leadership, "lease deadline passed before renewal")
                    return
                if self._clock() < next_renew:
                    continue
                if not await self._renew_once(leadership):
                    return
                next_renew = self._clock() + renew_every
        finally:
            # Stopping or cancelled while still leading: fence the led task off first, then
            # hand the lease back so a standby need not wait for it to expire.
            still_valid = leadership.valid
            leadership._deadline = float("-inf")
            if self._leadership is leadership:
                self._leadership = None
            if still_valid:
                self._metrics.leadership("released", leading=False)
            self._metrics.leader.set(0)
            await tasks.cancel_and_wait(led, timeout=1.0)
            # Hand the lease back, so a standby need not wait out its TTL. After a failed
            # renew this is best effort: the compare-and-delete only removes our own token.
            await self._release_lease(leadership, quiet=not still_valid)

    async def _run_led(self, leadership: Leadership, lead: Led, stop: asyncio.Event) -> None:
        """Run the led coroutine for as long as we lead, restarting it if it fails."""
        failures = 0
        while leadership.valid and not stop.is_set():
            try:
                await lead(leadership)
                failures = 0
            except LeadershipLost:
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.error("leader_task_crashed", instance_id=self.instance_id, exc_info=exc)
            await tasks.sleep_or_stop(stop, self._led_restart.nominal_delay(failures))

    async def _renew_once(self, leadership: Leadership) -> bool:
        sent = self._clock()
        try:
            renewed = await asyncio.wait_for(
                self._renew(keys=[self.key], args=[self._token, self._ttl_ms]),
                timeout=max(0.01, leadership._deadline - sent),
            )
        except (TimeoutError, *_REDIS_ERRORS) as exc:
            self._lost(leadership, f"renew failed: {exc or type(exc).__name__}")
            return False
        if int(renewed) < 1:
            self._lost(
                leadership,
                "lease key vanished (Redis lost its data)"
                if int(renewed) < 0
                else "lease was taken by another instance",
            )
            return False
        leadership._deadline = sent + self.ttl - self._drift
        return True

    def _lost(self, leadership: Leadership, reason: str) -> None:
        leadership._deadline = float("-inf")
        if self._leadership is leadership:
            self._leadership = None
        self._metrics.leadership("lost", leading=False)
        log.warning(
            "leadership_lost", instance_id=self.instance_id, epoch=leadership.epoch, reason=reason
        )

    async def _release_lease(self, leadership: Leadership, *, quiet: bool = False) -> None:
        try:
            released = await asyncio.wait_for(
                self._release(keys=[self.key], args=[self._token]), timeout=2.0
            )
        except (TimeoutError, *_REDIS_ERRORS) as exc:
            if not quiet:
                log.warning(
                    "leadership_release_failed", instance_id=self.instance_id, error=str(exc)
                )
            return
        if int(released):
            log.info("leadership_released", instance_id=self.instance_id, epoch=leadership.epoch)
