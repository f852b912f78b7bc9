"""A controller-runtime style loop: watch events and requeues feed a keyed work queue, and
`reconcile(kind, namespace, name)` runs for each due key, one at a time. A change of the
simulator's knobs queues every object again (a knob may change what a reconcile does, for
example heal a database that a fault held down), like controller-runtime's resync.

`reconcile` returns the seconds after which to look at the object again, or None. A key
queued twice before it runs is reconciled once (the queue is keyed, not a log). Errors are
logged and the key is retried with backoff, never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog

from simulator.extensions import ControllerContext

log = structlog.get_logger(__name__)

Key = tuple[str, str, str]  # kind, namespace, name
Reconcile = Callable[[str, str, str], Awaitable[float | None]]
Mapper = Callable[[dict[str, Any]], Key | None]
"""The key to reconcile when a related object changes (a PetSet -> its database), or None."""


class WorkQueue:
    def __init__(self) -> None:
        self._due: dict[Key, float] = {}
        self._heap: list[tuple[float, Key]] = []
        self._changed = asyncio.Event()

    def add(self, key: Key, *, after: float = 0.0) -> None:
        at = asyncio.get_running_loop().time() + max(0.0, after)
        current = self._due.get(key)
        if current is not None and current <= at:
            return
        self._due[key] = at
        heapq.heappush(self._heap, (at, key))
        self._changed.set()

    async def next(self, stopping: asyncio.Event) -> Key | None:
        loop = asyncio.get_running_loop()
        while not stopping.is_set():
            while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
                heapq.heappop(self._heap)  # superseded by an earlier time
            timeout: float | None = None
            if self._heap:
                at, key = self._heap[0]
                if at <= loop.time():
                    heapq.heappop(self._heap)
                    del self._due[key]
                    return key
                timeout = at - loop.time()
            self._changed.clear()
            waiters = [
                asyncio.ensure_future(self._changed.wait()),
                asyncio.ensure_future(stopping.wait()),
            ]
            try:
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiter
        return None


async def run(
    ctx: ControllerContext,
    resources: Sequence[tuple[str, str]],
    reconcile: Reconcile,
    related: Sequence[tuple[str, Mapper]] = (),
) -> None:
    """Reconcile every object of `resources` ((plural, kind) pairs) until the server stops;
    a change (deletion included) of a `related` object queues the key its mapper names."""
    queue = WorkQueue()
    loop = asyncio.get_running_loop()
    feeders = [
        loop.create_task(_feed(ctx, plural, kind, queue), name=f"{ctx.name}:watch:{plural}")
        for plural, kind in resources
    ]
    feeders.extend(
        loop.create_task(_follow(ctx, plural, mapper, queue), name=f"{ctx.name}:watch:{plural}")
        for plural, mapper in related
    )
    knobs_changed = asyncio.Event()
    feeders.append(
        loop.create_task(_resync(ctx, resources, queue, knobs_changed), name=f"{ctx.name}:resync")
    )
    unsubscribe = ctx.config.subscribe(knobs_changed.set)
    failures: dict[Key, int] = {}
    try:
        while True:
            key = await queue.next(ctx.stopping)
            if key is None:
                return
            try:
                again = await reconcile(*key)
            except asyncio.CancelledError:
                raise
            except Exception:
                failures[key] = failures.get(key, 0) + 1
                log.exception("reconcile_failed", controller=ctx.name, key="/".join(key))
                queue.add(key, after=min(5.0, 0.05 * 2 ** failures[key]))
                continue
            failures.pop(key, None)
            if again is not None:
                queue.add(key, after=again)
    finally:
        unsubscribe()
        for feeder in feeders:
            feeder.cancel()
        await asyncio.gather(*feeders, return_exceptions=True)


async def _feed(ctx: ControllerContext, plural: str, kind: str, queue: WorkQueue) -> None:
    async with ctx.client.watch(plural, namespace=None, copy=False) as events:
        async for event in events:
            meta = event.object.get("metadata") or {}
            if event.type == "DELETED":
                continue
            queue.add((kind, str(meta.get("namespace") or ""), str(meta.get("name"))))


async def _follow(ctx: ControllerContext, plural: str, mapper: Mapper, queue: WorkQueue) -> None:
    async with ctx.client.watch(plural, namespace=None, copy=False) as events:
        async for event in events:
            key = mapper(event.object)
            if key is not None:
                queue.add(key)


async def _resync(
    ctx: ControllerContext,
    resources: Sequence[tuple[str, str]],
    queue: WorkQueue,
    changed: asyncio.Event,
) -> None:
    while True:
        await changed.wait()
        changed.clear()
        for plural, kind in resources:
            for obj in await ctx.client.list(plural):
                meta = obj.get("metadata") or {}
                queue.add((kind, str(meta.get("namespace") or ""), str(meta.get("name"))))
