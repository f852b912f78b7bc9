"""Consistency as etcd and kube-apiserver give it: a compacted watch history, list pages that
are one snapshot, `resourceVersionMatch`, continue tokens that expire, and a 504 for a
resourceVersion from the future.

- **Compaction**: the `Compactor` controller compacts the watch history every
  `compaction_interval_seconds` (300 simulated seconds, kube-apiserver's default, scaled by
  `time_scale`; 0, or a time scale of 0, turns it off) to the resourceVersion it saw one
  interval earlier, as the apiserver's compactor does, so between one and two intervals of
  history are kept. Older watches and continue tokens then answer 410 Expired.
- **Snapshots without copies**: a page at an older resourceVersion `rv` is the current
  objects with the changes after `rv` undone, read backwards from the watch history (each
  change keeps the object it replaced). Nothing is copied; a page costs one pass over the
  changes made since its list began.

It must not change the store: it only reads the store and the history.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator import errors
from simulator.config import Knob
from simulator.objects import Obj, name_of, namespace_of
from simulator.registry import ResourceType
from simulator.store import Key, Store, encode_continue
from simulator.watch import WatchHub

if TYPE_CHECKING:
    from simulator.controllers import ControllerContext

COMPACTION_INTERVAL = Knob(
    "compaction_interval_seconds",
    300.0,
    "simulated seconds between watch-history compactions (scaled by time_scale; 0: never)",
    minimum=0.0,
)
FRESHNESS_WAIT = 3.0
"""Seconds a read waits for a resourceVersion from the future (the watch cache's 3 s)."""

EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted "
    "between the time the first chunk was returned and now may show up in the list."
)
LATEST = -1
"""A continue token's resourceVersion meaning "at the latest" (the inconsistent token)."""


class ExpiredContinue(errors.Expired):
    """410 for a compacted continue token; its Status carries a token that continues the
    list at the latest resourceVersion (inconsistently), as the real server's does."""

    def __init__(self, after: Key) -> None:
        super().__init__(EXPIRED_CONTINUE)
        self.continue_token = encode_continue(LATEST, after)

    def to_status(self) -> dict[str, object]:
        status = super().to_status()
        status["metadata"] = {"continue": self.continue_token}
        return status


def too_old(rv: int, hub: WatchHub) -> errors.Expired:
    return errors.Expired(f"too old resource version: {rv} ({hub.horizon + 1})")


def too_large(rv: int, current: int) -> errors.Timeout:
    return errors.Timeout(
        f"Timeout: Too large resource version: {rv}, current: {current}",
        causes=[errors.Cause("", "Too large resource version", "ResourceVersionTooLarge")],
        retry_after=1,
    )


@dataclass(frozen=True, slots=True)
class ReadPoint:
    """Where a list reads: at `rv` exactly (a snapshot), or the latest (`rv` None)."""

    rv: int | None = None


class _ListOptions:
    group, plural, kind = "meta.k8s.io", "listoptions", "ListOptions"


def _forbidden(message: str) -> errors.Cause:
    return errors.Cause("resourceVersionMatch", f"Forbidden: {message}", "FieldValueForbidden")


def check_list_options(rv: str | None, match: str | None, continue_token: str | None) -> None:
    """`resourceVersionMatch` misuse answers 422 like the real ListOptions validation; a
    resourceVersion next to a continue token answers 400."""
    causes: list[errors.Cause] = []
    if match:
        if not rv:
            causes.append(
                _forbidden("resourceVersionMatch is forbidden unless resourceVersion is provided")
            )
        if continue_token:
            causes.append(_forbidden("resourceVersionMatch is forbidden when continue is provided"))
        if match not in ("Exact", "NotOlderThan"):
            causes.append(
                errors.Cause(
                    "resourceVersionMatch",
                    f'Unsupported value: "{match}": supported values: "Exact", "NotOlderThan", ""',
                    "FieldValueNotSupported",
                )
            )
        if match == "Exact" and rv == "0":
            causes.append(
                _forbidden('resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
            )
    if causes:
        raise errors.invalid(_ListOptions(), "", causes)
    if continue_token and rv not in (None, "", "0"):
        raise errors.BadRequest("specifying resource version is not allowed when using continue")


async def read_point(
    hub: WatchHub, rv: str | None, match: str | None, continue_token: str | None
) -> ReadPoint:
    """Where a list with these options reads; waits (at most `FRESHNESS_WAIT`) for a
    resourceVersion not seen yet, then answers 504."""
    check_list_options(rv, match, continue_token)
    if rv in (None, "", "0") or continue_token:
        return ReadPoint()
    try:
        wanted = int(str(rv))
    except ValueError:
        raise errors.BadRequest(f"invalid resource version {rv!r}") from None
    if wanted > hub.latest_rv and not await hub.wait_for(wanted, FRESHNESS_WAIT):
        raise too_large(wanted, hub.latest_rv)
    if match != "Exact":
        return ReadPoint()
    if wanted < hub.horizon:
        raise too_old(wanted, hub)
    return ReadPoint(wanted)


def _before(hub: WatchHub, resource: str, rv: int) -> dict[Key, Obj | None]:
    """Each object of `resource` changed after `rv`, as it was at `rv` (None: absent)."""
    before: dict[Key, Obj | None] = {}
    for change in hub.newest_first():
        if change.rv <= rv:
            break
        if change.resource == resource:
            obj = change.object
            before[(namespace_of(obj), name_of(obj))] = change.old
    return before


def scan_at(
    store: Store,
    hub: WatchHub,
    rt: ResourceType,
    namespace: str | None,
    *,
    after: Key | None,
    rv: int,
) -> Iterator[tuple[Key, Obj]]:
    """`store.scan` as the objects were at `rv` (errors.Expired if compacted past it)."""
    if rv < hub.horizon:
        raise ExpiredContinue(after) if after is not None else too_old(rv, hub)
    before = _before(hub, rt.resource, rv)
    if not before:
        yield from store.scan(rt, namespace, after=after)
        return
    gone_now = sorted(
        (key, obj)
        for key, obj in before.items()
        if obj is not None
        and (not namespace or key[0] == namespace)
        and (after is None or key > after)
    )
    previous: Key | None = None
    for key, obj in heapq.merge(
        store.scan(rt, namespace, after=after), gone_now, key=lambda pair: pair[0]
    ):
        if key == previous:
            continue
        previous = key
        then = before.get(key, obj)
        if then is not None:
            yield key, then


class Compactor:
    """A controller: compacts the watch history on a schedule (see the module docstring)."""

    def __init__(self, hub: WatchHub) -> None:
        self._hub = hub

    async def __call__(self, ctx: ControllerContext) -> None:
        changed = asyncio.Event()
        unsubscribe = ctx.config.subscribe(changed.set)
        try:
            previous: int | None = None
            while not ctx.stopping.is_set():
                interval = ctx.config.get_float(COMPACTION_INTERVAL.name) * ctx.time_scale
                if interval <= 0:
                    previous = None
                    changed.clear()
                    await _first(changed, ctx.stopping)  # off: wait for the knobs to change
                    continue
                if await ctx.sleep(ctx.config.get_float(COMPACTION_INTERVAL.name)):
                    return
                if previous is not None:
                    self._hub.compact(previous)
                previous = self._hub.latest_rv
        finally:
            unsubscribe()


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
