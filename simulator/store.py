"""The object store: stored objects by (resource type, namespace, name), one global
resourceVersion counter, and a sorted key index per type for stable, cheap pagination.

It is deliberately dumb: it assigns resourceVersions, keeps the index, and publishes each
committed change to the watch hub. Every Kubernetes rule (what may change, generation,
finalizers, admission) lives in `verbs`, above it.

Objects handed to the store become the store's: it sets `metadata.resourceVersion` in them
and nobody may change them afterwards (see `objects`). Reads return the stored dicts
themselves; callers that hand them out for mutation copy them first.

Memory: tens of thousands of stored JSON trees are millions of long-lived Python objects,
which CPython's cyclic collector would rescan in every full collection (300 ms pauses with
10,000 databases). Every `FREEZE_EVERY` creations the store collects once and then moves
everything alive to the permanent generation (`gc.freeze`). JSON trees hold no reference
cycles, so reference counting still frees them when they are replaced or deleted.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import gc
import json
from collections.abc import Callable, Iterable, Iterator

from simulator import errors
from simulator.objects import Obj, meta, name_of, namespace_of
from simulator.registry import ResourceType
from simulator.watch import Change, WatchHub

FREEZE_EVERY = 5_000

Key = tuple[str, str]
"""(namespace, name); the namespace is "" for cluster-scoped objects."""


class _Table:
    __slots__ = ("encoded", "keys", "objects")

    def __init__(self) -> None:
        self.objects: dict[Key, Obj] = {}
        self.keys: list[Key] = []
        self.encoded: dict[Key, bytes] = {}
        """JSON of the current objects, made on first use: a list serialises once."""


class Store:
    def __init__(self, hub: WatchHub) -> None:
        self._hub = hub
        self._tables: dict[str, _Table] = {}
        self._rv = 0
        self._created_since_freeze = 0
        self.journal: Callable[[Change], None] | None = None
        """Told of every committed change after the hub (`persistence.StateFile.record`)."""

    @property
    def resource_version(self) -> int:
        return self._rv

    def _table(self, rt: ResourceType) -> _Table:
        table = self._tables.get(rt.resource)
        if table is None:
            table = self._tables[rt.resource] = _Table()
        return table

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        return self._table(rt).objects.get((namespace or "", name))

    def _commit(self, rt: ResourceType, obj: Obj) -> int:
        self._rv += 1
        meta(obj)["resourceVersion"] = str(self._rv)
        return self._rv

    def _publish(self, change: Change) -> None:
        self._hub.publish(change)
        if self.journal is not None:
            self.journal(change)

    def restore(self, objects: Iterable[tuple[str, Obj]], resource_version: int) -> None:
        """Load objects kept on disk (resource, object) and the counter, without events."""
        for resource, obj in objects:
            table = self._tables.get(resource)
            if table is None:
                table = self._tables[resource] = _Table()
            table.objects[(namespace_of(obj), name_of(obj))] = obj
        for table in self._tables.values():
            table.keys = sorted(table.objects)
        self._rv = max(self._rv, resource_version)
        gc.collect()
        gc.freeze()

    def create(self, rt: ResourceType, obj: Obj) -> Obj:
        key = (namespace_of(obj), name_of(obj))
        table = self._table(rt)
        if key in table.objects:
            raise KeyError(f"{rt.resource} {key} exists")
        rv = self._commit(rt, obj)
        table.objects[key] = obj
        bisect.insort(table.keys, key)
        self._publish(Change(rv, "ADDED", rt.resource, obj))
        self._created_since_freeze += 1
        if self._created_since_freeze >= FREEZE_EVERY:
            self._created_since_freeze = 0
            gc.collect()
            gc.freeze()
        return obj

    def replace(self, rt: ResourceType, obj: Obj) -> Obj:
        key = (namespace_of(obj), name_of(obj))
        table = self._table(rt)
        old = table.objects[key]
        rv = self._commit(rt, obj)
        table.objects[key] = obj
        table.encoded.pop(key, None)
        self._publish(Change(rv, "MODIFIED", rt.resource, obj, old))
        return obj

    def delete(self, rt: ResourceType, obj: Obj) -> Obj:
        """Remove the object; `obj` (a copy of the stored one) becomes the DELETED event's
        object, with the deletion's resourceVersion."""
        key = (namespace_of(obj), name_of(obj))
        table = self._table(rt)
        old = table.objects.pop(key)
        table.encoded.pop(key, None)
        del table.keys[bisect.bisect_left(table.keys, key)]
        rv = self._commit(rt, obj)
        self._publish(Change(rv, "DELETED", rt.resource, obj, old))
        return obj

    def scan(
        self, rt: ResourceType, namespace: str | None = None, *, after: Key | None = None
    ) -> Iterator[tuple[Key, Obj]]:
        """Objects in (namespace, name) order, optionally only one namespace, optionally
        starting after a key. Safe against writes between steps (it re-finds its place)."""
        table = self._table(rt)
        if after is not None:
            start: Key | tuple[str] = after
        elif namespace:
            start = (namespace,)
        else:
            start = ("", "")
        position = (
            bisect.bisect_right(table.keys, start)
            if after
            else bisect.bisect_left(table.keys, start)
        )
        keys = table.keys
        while position < len(keys):
            key = keys[position]
            if namespace and key[0] != namespace:
                return
            yield key, table.objects[key]
            if position + 1 < len(keys) and keys[position] is key:
                position += 1
            else:
                # The index changed under us (a write between two steps): find our place.
                position = bisect.bisect_right(keys, key)

    def encode(self, rt: ResourceType, obj: Obj) -> bytes:
        """`obj` as compact JSON; cached while `obj` is the stored version."""
        key = (namespace_of(obj), name_of(obj))
        table = self._table(rt)
        current = table.objects.get(key) is obj
        if current and (data := table.encoded.get(key)) is not None:
            return data
        data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        if current:
            table.encoded[key] = data
        return data

    def count(self, rt: ResourceType) -> int:
        return len(self._table(rt).objects)


# Continue tokens name a position in the key index and the list's resourceVersion; they are
# opaque to clients (base64 of JSON) and never expire.


def encode_continue(rv: int, key: Key) -> str:
    raw = json.dumps({"rv": rv, "ns": key[0], "name": key[1]}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, Key]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        return int(data["rv"]), (str(data["ns"]), str(data["name"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise errors.BadRequest(f"continue key is not valid: {token!r}") from None
