"""Watch: the bounded history of committed changes and the live subscriptions that follow it.

Every write the store commits becomes one `Change` (ADDED, MODIFIED or DELETED, with the new
resourceVersion). The hub keeps the last `history_size` changes so a watch may start from an
older resourceVersion; one older than the history answers 410 Expired, and the client
re-lists, exactly as with a compacted etcd.

A `Subscription` sees the changes of one resource type (optionally one namespace, optionally
filtered by selectors). With a selector, an object that starts matching arrives as ADDED and
one that stops matching as DELETED, as the real watch cache does. Publishing never blocks:
a subscriber that falls `max_pending` events behind is closed (the real server drops slow
watchers too); its client re-watches.

The hub knows nothing of HTTP; `watchstream` serves subscriptions over HTTP and `client`
hands them to controllers.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from simulator import errors
from simulator.objects import Obj, namespace_of
from simulator.selectors import EVERYTHING, ObjectFilter

ChangeType = Literal["ADDED", "MODIFIED", "DELETED"]
EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]


@dataclass(frozen=True, slots=True)
class Change:
    """One committed write. `object` and `old` are stored snapshots: never mutate them."""

    rv: int
    type: ChangeType
    resource: str
    object: Obj
    old: Obj | None = None


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: EventType
    object: Obj
    rv: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "object": self.object}


class Subscription:
    """One watcher's queue of events. Async-iterable; ends when closed."""

    def __init__(
        self,
        resource: str,
        *,
        namespace: str | None,
        selector: ObjectFilter,
        max_pending: int,
        on_close: Any = None,
    ) -> None:
        self.resource = resource
        self.namespace = namespace or None
        self.selector = selector
        self.max_pending = max_pending
        self.delivered_rv = 0
        self.closed_reason: str | None = None
        self._pending: collections.deque[WatchEvent] = collections.deque()
        self._wakeup = asyncio.Event()
        self._on_close = on_close

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None

    def offer(self, change: Change) -> None:
        if self.closed or (self.namespace and namespace_of(change.object) != self.namespace):
            return
        kind: EventType | None = change.type
        if not self.selector.everything:
            now = change.type != "DELETED" and self.selector.matches(change.object)
            before = change.old is not None and self.selector.matches(change.old)
            if change.type == "DELETED":
                kind = "DELETED" if self.selector.matches(change.object) else None
            elif change.type == "ADDED":
                kind = "ADDED" if now else None
            else:
                kind = (
                    ("MODIFIED" if before else "ADDED") if now else ("DELETED" if before else None)
                )
        if kind is not None:
            self.push(WatchEvent(kind, change.object, change.rv))

    def push(self, event: WatchEvent) -> None:
        if self.closed:
            return
        if len(self._pending) >= self.max_pending:
            self.close("the watcher fell too far behind")
            return
        self._pending.append(event)
        self._wakeup.set()

    def close(self, reason: str = "closed") -> None:
        if self.closed:
            return
        self.closed_reason = reason
        self._wakeup.set()
        if self._on_close is not None:
            self._on_close(self)

    def pending(self) -> int:
        return len(self._pending)

    def pop(self) -> WatchEvent | None:
        """The next pending event without waiting, or None."""
        if not self._pending:
            return None
        event = self._pending.popleft()
        if event.rv:
            self.delivered_rv = max(self.delivered_rv, event.rv)
        return event

    async def next(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event; None after `timeout` seconds without one or once closed."""
        while not self._pending:
            if self.closed:
                return None
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except TimeoutError:
                return None
        return self.pop()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> WatchEvent:
        event = await self.next()
        if event is None:
            raise StopAsyncIteration
        return event


class WatchHub:
    def __init__(self, history_size: int = 10_000, *, max_pending: int = 100_000) -> None:
        if history_size < 1:
            raise ValueError("history_size must be at least 1")
        self._history: collections.deque[Change] = collections.deque(maxlen=history_size)
        self._subscribers: dict[str, set[Subscription]] = {}
        self._taps: list[Callable[[Change], None]] = []
        self._horizon = 0
        self.latest_rv = 0
        self.max_pending = max_pending
        self.closed = False
        self._advanced: asyncio.Event | None = None

    @property
    def horizon(self) -> int:
        """The newest resourceVersion no longer in the history (0: nothing dropped yet)."""
        return self._horizon

    def restart_at(self, rv: int) -> None:
        """Continue a counter kept on disk: the history before `rv` is not known."""
        self.latest_rv = max(self.latest_rv, rv)
        self._horizon = max(self._horizon, rv)

    def publish(self, change: Change) -> None:
        if len(self._history) == self._history.maxlen:
            self._horizon = self._history[0].rv
        self._history.append(change)
        self.latest_rv = change.rv
        if self._advanced is not None:
            self._advanced.set()
        for subscription in tuple(self._subscribers.get(change.resource, ())):
            subscription.offer(change)
        for tap in self._taps:
            tap(change)

    def tap(self, listener: Callable[[Change], None]) -> None:
        """Call `listener` with every committed change, at once and in order (the garbage
        collector's index). It must be quick and must not raise."""
        self._taps.append(listener)

    def compact(self, rv: int) -> None:
        """Forget the changes up to `rv`, as an etcd compaction does (`consistency`)."""
        while self._history and self._history[0].rv <= rv:
            self._history.popleft()
        self._horizon = max(self._horizon, min(rv, self.latest_rv))

    def newest_first(self) -> Iterator[Change]:
        return reversed(self._history)

    async def wait_for(self, rv: int, timeout: float) -> bool:
        """Wait until `rv` is committed; False after `timeout` seconds without it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.latest_rv < rv:
            if self._advanced is None:
                self._advanced = asyncio.Event()
            self._advanced.clear()
            try:
                await asyncio.wait_for(self._advanced.wait(), deadline - loop.time())
            except TimeoutError:
                return self.latest_rv >= rv
        return True

    def subscribe(
        self,
        resource: str,
        *,
        namespace: str | None = None,
        selector: ObjectFilter = EVERYTHING,
        since: int | None = None,
        initial: Iterable[Obj] = (),
    ) -> Subscription:
        """Follow `resource` from now on. Before that, replay `initial` objects as ADDED
        (a watch without resourceVersion) or the history after `since` (errors.Expired if
        the history no longer reaches back that far)."""
        if since is not None and since < self._horizon:
            raise errors.Expired(f"too old resource version: {since} ({self._horizon + 1})")
        subscription = Subscription(
            resource,
            namespace=namespace,
            selector=selector,
            max_pending=self.max_pending,
            on_close=self._forget,
        )
        subscription.delivered_rv = self.latest_rv if since is None else since
        for obj in initial:
            if selector.matches(obj):
                subscription.push(WatchEvent("ADDED", obj))
        if since is not None:
            for change in self._history:
                if change.rv > since and change.resource == resource:
                    subscription.offer(change)
        if self.closed:
            subscription.close("the server is stopping")
        else:
            self._subscribers.setdefault(resource, set()).add(subscription)
        return subscription

    def _forget(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.resource)
        if subscribers is not None:
            subscribers.discard(subscription)

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    def close(self) -> None:
        """End every subscription (the server is stopping); later ones start closed."""
        self.closed = True
        for subscribers in list(self._subscribers.values()):
            for subscription in list(subscribers):
                subscription.close("the server is stopping")
