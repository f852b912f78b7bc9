"""Leader election on a real Redis (embedded and local): one leader, fast and safe takeover."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import redis.asyncio as aioredis

from app.broker.client import make_client
from app.observability.metrics import Metrics
from app.runtime import tasks
from app.workers.leader_election import LeaderElector, Leadership
from tests.support import redis_keys

# Leases and their Lua scripts: run on the local Redis as well as the embedded one.
pytestmark = pytest.mark.every_redis

TTL = 1.0
RETRY = 0.2


@dataclass
class Ledger:
    """What the led coroutines did: who led, and how many led at once."""

    leading: set[str] = field(default_factory=set)
    most_at_once: int = 0
    started: dict[str, list[float]] = field(default_factory=dict)
    cancelled: dict[str, list[float]] = field(default_factory=dict)

    def lead_fn(self, name: str) -> Callable[[Leadership], asyncio.Future[None]]:
        async def lead(leadership: Leadership) -> None:
            leadership.check()
            self.leading.add(name)
            self.most_at_once = max(self.most_at_once, len(self.leading))
            self.started.setdefault(name, []).append(time.monotonic())
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.setdefault(name, []).append(time.monotonic())
                raise
            finally:
                self.leading.discard(name)

        return lead  # type: ignore[return-value]


@asynccontextmanager
async def running_elector(
    client: aioredis.Redis, name: str, ledger: Ledger, *, metrics: Metrics | None = None
) -> AsyncIterator[tuple[LeaderElector, asyncio.Event, asyncio.Task[None]]]:
    elector = LeaderElector(
        client,
        instance_id=name,
        ttl=TTL,
        retry_interval=RETRY,
        key=redis_keys().leader,
        metrics=metrics,
    )
    stop = asyncio.Event()
    task = tasks.spawn(f"elector:{name}", elector.run(ledger.lead_fn(name), stop))
    try:
        yield elector, stop, task
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def wait_until(check: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not true within {timeout}s")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def test_of_three_electors_exactly_one_leads_at_a_time(
    redis_client: aioredis.Redis,
) -> None:
    ledger = Ledger()
    async with (
        running_elector(redis_client, "a", ledger) as (a, stop_a, _),
        running_elector(redis_client, "b", ledger) as (b, stop_b, _),
        running_elector(redis_client, "c", ledger) as (c, stop_c, _),
    ):
        electors = [a, b, c]
        await wait_until(lambda: len(ledger.leading) == 1, timeout=5)
        first = next(iter(ledger.leading))
        for _ in range(50):  # a second and a half of renewals
            assert sum(e.is_leader for e in electors) <= 1
            await asyncio.sleep(0.03)
        # Hand over once and keep watching.
        leader = {"a": a, "b": b, "c": c}[first]
        assert leader.is_leader
        assert await leader.current_leader() == first
        # Whoever leads stops (a lease taken from under a leader: the "thief" tests below).
        {"a": stop_a, "b": stop_b, "c": stop_c}[first].set()
        await wait_until(lambda: bool(ledger.leading - {first}), timeout=TTL + RETRY + 2)
        assert sum(e.is_leader for e in electors) == 1

    assert ledger.most_at_once == 1


async def test_after_a_clean_shutdown_a_standby_leads_within_one_retry_interval(
    redis_client: aioredis.Redis,
) -> None:
    ledger = Ledger()
    async with running_elector(redis_client, "first", ledger) as (first, stop_first, task):
        await wait_until(lambda: first.is_leader, timeout=5)
        async with running_elector(redis_client, "second", ledger) as (second, _, _):
            await asyncio.sleep(RETRY)  # let the standby poll at least once and lose
            assert not second.is_leader
            stop_first.set()
            await task
            released_at = time.monotonic()
            await wait_until(lambda: "second" in ledger.leading, timeout=5)
            took_over = ledger.started["second"][0] - released_at
    assert took_over <= RETRY + 0.15
    assert ledger.most_at_once == 1


async def test_after_the_leader_is_killed_another_leads_within_ttl_and_retry(
    redis_client: aioredis.Redis, redis_url: str
) -> None:
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on in a thread
        [
            sys.executable,
            "-m",
            "tests.integration.elector_process",
            redis_url,
            redis_keys().leader,
            "doomed",
            str(TTL),
            str(RETRY),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 15)  # type: ignore[union-attr]
        assert line.startswith("leading")
        ledger = Ledger()
        async with running_elector(redis_client, "survivor", ledger) as (survivor, _, _):
            await asyncio.sleep(RETRY * 2)
            assert not survivor.is_leader
            proc.kill()
            proc.wait()
            killed_at = time.monotonic()
            # Leading is the led task started, a moment after `is_leader` turns true.
            await wait_until(lambda: "survivor" in ledger.started, timeout=TTL + RETRY + 2)
            took_over = ledger.started["survivor"][0] - killed_at
            assert await survivor.current_leader() == "survivor"
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
    assert took_over <= TTL + RETRY + 0.2


async def test_a_leader_whose_lease_is_taken_is_cancelled_within_a_second(
    redis_client: aioredis.Redis,
) -> None:
    ledger = Ledger()
    async with running_elector(redis_client, "victim", ledger) as (victim, _, _):
        await wait_until(lambda: victim.is_leader, timeout=5)
        await redis_client.set(redis_keys().leader, "thief/abc", px=60_000)
        stolen_at = time.monotonic()
        await wait_until(lambda: bool(ledger.cancelled.get("victim")), timeout=TTL / 3 + 2)
        assert not victim.is_leader
        assert await victim.current_leader() == "thief"
    # Noticed at the next renewal (every TTL/3), cancelled well within a second of that.
    assert ledger.cancelled["victim"][0] - stolen_at <= TTL / 3 + 1.0


async def test_the_leader_gauge_and_the_changes_follow_a_lease_lost_and_won_again(
    redis_client: aioredis.Redis,
) -> None:
    metrics, ledger = Metrics(), Ledger()

    def sample(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    async with running_elector(redis_client, "me", ledger, metrics=metrics) as (me, _, _):
        await wait_until(lambda: me.is_leader, timeout=5)
        leading = sample("dbaas_leader")
        await redis_client.set(redis_keys().leader, "thief/abc", px=int(TTL * 1000))
        await wait_until(lambda: not me.is_leader, timeout=TTL + 2)
        lost = sample("dbaas_leader")
        await wait_until(lambda: me.is_leader, timeout=TTL + RETRY + 2)
    released = sample("dbaas_leader")

    assert (leading, lost, released) == (1, 0, 0)
    assert sample("dbaas_leadership_changes_total", change="acquired") == 2
    assert sample("dbaas_leadership_changes_total", change="lost") == 1
    assert sample("dbaas_leadership_changes_total", change="released") == 1


async def test_the_epoch_grows_with_every_acquisition(redis_client: aioredis.Redis) -> None:
    ledger = Ledger()
    epochs = []
    for name in ("one", "two", "three"):
        async with running_elector(redis_client, name, ledger) as (elector, _, _):
            await wait_until(lambda e=elector: e.is_leader, timeout=5)  # type: ignore[misc]
            epochs.append(elector.epoch)
    assert epochs == sorted(epochs) and len(set(epochs)) == 3


def test_a_leader_whose_loop_was_blocked_past_the_ttl_does_not_act_when_it_wakes(
    redis_url: str,
) -> None:
    """Elector A runs on a loop in its own thread; we freeze that loop for 2.5 TTLs while
    elector B, on another loop, takes over. Every action A's led coroutine takes is checked
    against its lease first; none may happen after B began to lead."""
    actions: list[tuple[str, float]] = []
    b_started = threading.Event()
    b_started_at: list[float] = []
    a_leading = threading.Event()
    a_loop = asyncio.new_event_loop()
    stop_a_holder: list[asyncio.Event] = []

    async def lead_a(leadership: Leadership) -> None:
        a_leading.set()
        while True:
            leadership.check()  # the guard before every side effect
            actions.append(("a", time.monotonic()))
            await asyncio.sleep(0.01)

    async def run_a() -> None:
        client = make_client(redis_url)
        stop = asyncio.Event()
        stop_a_holder.append(stop)
        elector = LeaderElector(
            client, instance_id="a", ttl=TTL, retry_interval=RETRY, key=redis_keys().leader
        )
        try:
            await elector.run(lead_a, stop)
        finally:
            await client.aclose()

    thread = threading.Thread(target=a_loop.run_until_complete, args=(run_a(),))
    thread.start()
    try:
        assert a_leading.wait(10)
        a_loop.call_soon_threadsafe(time.sleep, TTL * 2.5)  # freeze A's loop

        async def run_b() -> None:
            client = make_client(redis_url)
            stop = asyncio.Event()

            async def lead_b(leadership: Leadership) -> None:
                b_started_at.append(time.monotonic())
                b_started.set()
                await asyncio.Event().wait()

            elector = LeaderElector(
                client, instance_id="b", ttl=TTL, retry_interval=RETRY, key=redis_keys().leader
            )
            task = asyncio.create_task(elector.run(lead_b, stop))
            await wait_until(b_started.is_set, timeout=TTL * 2 + 2)
            await asyncio.sleep(TTL * 2)  # A wakes up in here and must stay quiet
            stop.set()
            await task
            await client.aclose()

        asyncio.run(run_b())
    finally:
        if stop_a_holder:
            a_loop.call_soon_threadsafe(stop_a_holder[0].set)
        thread.join(10)
        a_loop.close()

    assert b_started_at, "B never led"
    late = [t for who, t in actions if who == "a" and t >= b_started_at[0]]
    assert late == []
    assert any(who == "a" for who, _ in actions)


@pytest.mark.parametrize("bad", [(1.0, 1.0), (1.0, 2.0)])
async def test_an_elector_refuses_a_retry_interval_not_shorter_than_the_ttl(
    redis_client: aioredis.Redis, bad: tuple[float, float]
) -> None:
    with pytest.raises(ValueError):
        LeaderElector(
            redis_client,
            instance_id="x",
            ttl=bad[0],
            retry_interval=bad[1],
            key=redis_keys().leader,
        )


async def test_an_elector_whose_key_outlived_its_step_down_takes_it_again_at_once(
    redis_client: aioredis.Redis,
) -> None:
    """A renew whose answer was lost: we stepped down, but the key is still ours in Redis."""
    elector = LeaderElector(
        redis_client, instance_id="me", ttl=TTL, retry_interval=RETRY, key=redis_keys().leader
    )
    first = await elector._try_acquire()
    assert first is not None

    again = await elector._try_acquire()

    assert again is not None and again.epoch == first.epoch + 1
    assert 0 < await redis_client.pttl(redis_keys().leader) <= TTL * 1000
    other = LeaderElector(
        redis_client, instance_id="other", ttl=TTL, retry_interval=RETRY, key=redis_keys().leader
    )
    assert await other._try_acquire() is None
