"""The garbage collector: deletes objects whose owners are gone, as kube-controller-manager's
does, by `metadata.ownerReferences`.

It taps the watch hub (every committed change, synchronously, in order; a scan of the store
at start covers objects that were there before) and keeps an index in both directions:
owner uid -> dependents, dependent -> its owner references. A change only touches the index
entries of the object that changed and queues the few objects it concerns; nothing is
rescanned per change, and a write of an object without owners or deletion mark costs two
dict lookups, so writes stay as fast with 100,000 stored objects.

Work items (a keyed queue, each handled by reading the stored object afresh):
- a dependent: if none of its owners exists any more (missing, or the name now has another
  uid) it is deleted (Background; Foreground when an owner waits on it and it has
  dependents of its own); if some owner lives, dangling references are removed from it.
- an owner marked for deletion with `foregroundDeletion`: its dependents are deleted, and
  the finalizer is removed once no dependent that has `blockOwnerDeletion: true` remains.
- an owner marked with `orphan`: its references are removed from its dependents, then the
  finalizer.

An owner reference whose kind the registry does not know is treated as alive (the real
collector cannot resolve it either and deletes nothing). The collector reads the store
directly and never mutates what it reads; its writes go through the verbs as user
`system:serviceaccount:kube-system:generic-garbage-collector`, admission included.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from simulator import errors
from simulator.client import Client
from simulator.controllers import ControllerContext
from simulator.objects import Obj, finalizers_of, is_terminating, meta
from simulator.propagation import FOREGROUND, ORPHAN
from simulator.registry import Registry, ResourceType
from simulator.store import Store
from simulator.verbs import Verbs
from simulator.watch import Change, WatchHub

log = structlog.get_logger(__name__)

USER = "system:serviceaccount:kube-system:generic-garbage-collector"
_RETRY_SECONDS = 0.2


Ref = tuple[str, str, str]
"""A stored object: its resource (`ResourceType.resource`), namespace ("" if cluster-scoped)
and name."""


@dataclass(frozen=True, slots=True)
class OwnerRef:
    uid: str
    api_version: str
    kind: str
    name: str
    block: bool


Item = tuple[Literal["dependent", "owner"], Ref]
OwnerState = Literal["alive", "waiting", "gone"]


def owner_refs(obj: Obj) -> tuple[OwnerRef, ...]:
    refs = meta(obj).get("ownerReferences") or ()
    return tuple(
        OwnerRef(
            str(r.get("uid", "")),
            str(r.get("apiVersion", "")),
            str(r.get("kind", "")),
            str(r.get("name", "")),
            bool(r.get("blockOwnerDeletion")),
        )
        for r in refs
        if isinstance(r, dict)
    )


class GarbageCollector:
    """The collector, run as the controller "garbage-collector" (`__call__`)."""

    def __init__(self, verbs: Verbs, hub: WatchHub) -> None:
        self._verbs = verbs
        self._registry: Registry = verbs.registry
        self._store: Store = verbs.store
        self._types: dict[str, ResourceType] = {}
        self._dependents: dict[str, set[Ref]] = {}
        self._owners_of: dict[Ref, tuple[OwnerRef, ...]] = {}
        self._waiting: dict[str, Ref] = {}
        """Owners in foreground deletion, by uid: a dependent's deletion re-examines them."""
        self._queue: collections.OrderedDict[Item, None] = collections.OrderedDict()
        self._wakeup = asyncio.Event()
        self._client = Client(verbs, user=USER)
        hub.tap(self._tap)

    # --- the index, fed by the watches -------------------------------------------------

    def _tap(self, change: Change) -> None:
        md = change.object.get("metadata") or {}
        if "ownerReferences" not in md and "deletionTimestamp" not in md:
            # The common write: an object that has (and had) no owners, not being deleted,
            # or the deletion of one that owns nothing.
            if change.type == "DELETED":
                uid = md.get("uid")
                if uid not in self._dependents and uid not in self._waiting:
                    return
            elif change.old is None or "ownerReferences" not in (change.old.get("metadata") or {}):
                return
        self.observe(change.resource, change.type, change.object)

    def observe(self, resource: str, change: str, obj: Obj) -> None:
        md = meta(obj)
        ref = (resource, str(md.get("namespace") or ""), str(md.get("name", "")))
        uid = str(md.get("uid", ""))
        if change == "DELETED":
            self._forget(ref, uid)
            return
        owners = owner_refs(obj) if "ownerReferences" in md else ()
        previous = self._owners_of.get(ref, ())
        if owners != previous:
            self._unlink(ref, previous)
            if owners:
                self._owners_of[ref] = owners
                for owner in owners:
                    self._dependents.setdefault(owner.uid, set()).add(ref)
                self._add(("dependent", ref))
        if "deletionTimestamp" in md:
            finalizers = md.get("finalizers") or ()
            if FOREGROUND in finalizers:
                self._waiting[uid] = ref
            if FOREGROUND in finalizers or ORPHAN in finalizers:
                self._add(("owner", ref))

    def _unlink(self, ref: Ref, owners: tuple[OwnerRef, ...]) -> None:
        self._owners_of.pop(ref, None)
        for owner in owners:
            dependents = self._dependents.get(owner.uid)
            if dependents is not None:
                dependents.discard(ref)
                if not dependents:
                    del self._dependents[owner.uid]
            waiting = self._waiting.get(owner.uid)
            if waiting is not None:
                self._add(("owner", waiting))

    def _forget(self, ref: Ref, uid: str) -> None:
        self._unlink(ref, self._owners_of.get(ref, ()))
        self._waiting.pop(uid, None)
        for dependent in self._dependents.pop(uid, ()):
            self._add(("dependent", dependent))

    def dependents_of(self, uid: str) -> set[Ref]:
        return set(self._dependents.get(uid, ()))

    # --- the work queue ----------------------------------------------------------------

    def _add(self, item: Item) -> None:
        self._queue[item] = None
        self._wakeup.set()

    async def _next(self, stopping: asyncio.Event) -> Item | None:
        while not self._queue:
            if stopping.is_set():
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        item, _ = self._queue.popitem(last=False)
        return item

    # --- the controller ----------------------------------------------------------------

    async def __call__(self, ctx: ControllerContext) -> None:
        loop = asyncio.get_running_loop()
        self._scan()
        stop_waker = loop.create_task(self._wake_on_stop(ctx), name="garbage-collector:stop")
        try:
            while (item := await self._next(ctx.stopping)) is not None:
                try:
                    await self._attend(item)
                except (errors.Conflict, errors.ServiceUnavailable, errors.InternalError):
                    loop.call_later(_RETRY_SECONDS, self._add, item)
                except errors.ApiError as exc:
                    log.info(
                        "garbage_collection_refused",
                        resource=item[1][0],
                        namespace=item[1][1],
                        name=item[1][2],
                        reason=exc.reason,
                    )
        finally:
            stop_waker.cancel()
            await asyncio.gather(stop_waker, return_exceptions=True)

    def _scan(self) -> None:
        """Index what was stored before the tap saw it (objects restored at start)."""
        for rt in self._registry:
            self._types[rt.resource] = rt
            for _, obj in self._store.scan(rt):
                md = obj.get("metadata") or {}
                if "ownerReferences" in md or "deletionTimestamp" in md:
                    self.observe(rt.resource, "ADDED", obj)

    async def _wake_on_stop(self, ctx: ControllerContext) -> None:
        await ctx.stopping.wait()
        self._wakeup.set()

    def _type(self, resource: str) -> ResourceType | None:
        rt = self._types.get(resource)
        if rt is None:
            self._types = {t.resource: t for t in self._registry}
            rt = self._types.get(resource)
        return rt

    def _get(self, ref: Ref) -> tuple[ResourceType, Obj] | None:
        rt = self._type(ref[0])
        obj = None if rt is None else self._store.get(rt, ref[1] or None, ref[2])
        return None if rt is None or obj is None else (rt, obj)

    async def _attend(self, item: Item) -> None:
        kind, ref = item
        found = self._get(ref)
        if found is None:
            return
        rt, obj = found
        if kind == "dependent":
            await self._collect(rt, ref, obj)
        else:
            await self._finish_owner(rt, ref, obj)

    def _owner_state(self, owner: OwnerRef, namespace: str) -> OwnerState:
        rt = self._registry.by_kind(owner.api_version, owner.kind)
        if rt is None:
            return "alive"
        found = self._store.get(rt, namespace if rt.namespaced else None, owner.name)
        if found is None or meta(found).get("uid") != owner.uid:
            return "gone"
        md = meta(found)
        if "deletionTimestamp" in md and FOREGROUND in (md.get("finalizers") or ()):
            return "waiting"
        return "alive"

    async def _collect(self, rt: ResourceType, ref: Ref, obj: Obj) -> None:
        if is_terminating(obj):
            return
        states = {o: self._owner_state(o, ref[1]) for o in owner_refs(obj)}
        if not states:
            return
        gone = {o.uid for o, state in states.items() if state == "gone"}
        if "alive" in states.values():
            if gone:
                await self._drop_owners(ref, gone)
            return
        waiting = "waiting" in states.values()
        has_dependents = bool(self._dependents.get(str(meta(obj).get("uid"))))
        policy = "Foreground" if waiting and has_dependents else "Background"
        log.info("garbage_collected", resource=ref[0], namespace=ref[1], name=ref[2], policy=policy)
        await self._client.delete(
            rt, ref[2], namespace=ref[1] or None, missing_ok=True, propagation_policy=policy
        )

    async def _finish_owner(self, rt: ResourceType, ref: Ref, obj: Obj) -> None:
        md = meta(obj)
        if "deletionTimestamp" not in md:
            return
        finalizers = finalizers_of(obj)
        uid = str(md.get("uid"))
        if ORPHAN in finalizers:
            for dependent in self.dependents_of(uid):
                await self._drop_owners(dependent, {uid})
            await self._remove_finalizer(rt, obj, ORPHAN)
            return
        if FOREGROUND not in finalizers:
            return
        blocking = False
        for dependent in self.dependents_of(uid):
            stored = self._get(dependent)
            if stored is None:
                continue
            found = stored[1]
            if not is_terminating(found):
                self._add(("dependent", dependent))
            blocking |= any(o.uid == uid and o.block for o in owner_refs(found))
        if not blocking:
            self._waiting.pop(uid, None)
            await self._remove_finalizer(rt, obj, FOREGROUND)

    async def _drop_owners(self, ref: Ref, uids: set[str]) -> None:
        stored = self._get(ref)
        if stored is None:
            return
        rt, found = stored
        md = meta(found)
        kept = [r for r in md.get("ownerReferences") or () if r.get("uid") not in uids]
        patch: dict[str, Any] = {
            "metadata": {"ownerReferences": kept or None, "resourceVersion": md["resourceVersion"]}
        }
        with contextlib.suppress(errors.NotFound):
            await self._client.patch(rt, ref[2], patch, namespace=ref[1] or None)

    async def _remove_finalizer(self, rt: ResourceType, obj: Obj, finalizer: str) -> None:
        md = meta(obj)
        kept = [f for f in md.get("finalizers") or () if f != finalizer]
        patch = {"metadata": {"finalizers": kept or None, "resourceVersion": md["resourceVersion"]}}
        with contextlib.suppress(errors.NotFound):
            await self._client.patch(rt, md["name"], patch, namespace=md.get("namespace"))
