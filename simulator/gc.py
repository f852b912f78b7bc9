"""The garbage collector: deletes objects whose owners are gone, as kube-controller-manager's
does, by `metadata.ownerReferences`.

It follows every resource type's watch (from its last resourceVersion, so no change is
missed between two watches) and keeps an index in both directions: owner uid -> dependents,
dependent -> its owner references. A change only touches the index entries of the object
that changed and queues the few objects it concerns; nothing is rescanned per change, so
the cost of a write stays constant with 100,000 stored objects.

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
from simulator.watch import WatchEvent

log = structlog.get_logger(__name__)

USER = "system:serviceaccount:kube-system:generic-garbage-collector"
_RETRY_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class Ref:
    """A stored object: its type, namespace ("" if cluster-scoped) and name."""

    rt: ResourceType
    namespace: str
    name: str

    @property
    def scope(self) -> str | None:
        return self.namespace or None


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

    def __init__(self, verbs: Verbs) -> None:
        self._verbs = verbs
        self._registry: Registry = verbs.registry
        self._store: Store = verbs.store
        self._dependents: dict[str, set[Ref]] = {}
        self._owners_of: dict[Ref, tuple[OwnerRef, ...]] = {}
        self._waiting: dict[str, Ref] = {}
        """Owners in foreground deletion, by uid: a dependent's deletion re-examines them."""
        self._queue: collections.OrderedDict[Item, None] = collections.OrderedDict()
        self._wakeup = asyncio.Event()
        self._client = Client(verbs, user=USER)

    # --- the index, fed by the watches -------------------------------------------------

    def observe(self, rt: ResourceType, event: WatchEvent) -> None:
        obj = event.object
        md = meta(obj)
        ref = Ref(rt, str(md.get("namespace") or ""), str(md.get("name", "")))
        uid = str(md.get("uid", ""))
        if event.type == "DELETED":
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
        feeders = [
            loop.create_task(self._follow(ctx, rt), name=f"garbage-collector:watch:{rt.resource}")
            for rt in self._registry
        ]
        feeders.append(loop.create_task(self._wake_on_stop(ctx), name="garbage-collector:stop"))
        try:
            while (item := await self._next(ctx.stopping)) is not None:
                try:
                    await self._attend(ctx, item)
                except (errors.Conflict, errors.ServiceUnavailable, errors.InternalError):
                    loop.call_later(_RETRY_SECONDS, self._add, item)
                except errors.ApiError as exc:
                    log.info(
                        "garbage_collection_refused",
                        resource=item[1].rt.resource,
                        namespace=item[1].namespace,
                        name=item[1].name,
                        reason=exc.reason,
                    )
        finally:
            for feeder in feeders:
                feeder.cancel()
            await asyncio.gather(*feeders, return_exceptions=True)

    async def _wake_on_stop(self, ctx: ControllerContext) -> None:
        await ctx.stopping.wait()
        self._wakeup.set()

    async def _follow(self, ctx: ControllerContext, rt: ResourceType) -> None:
        """Feed the index from `rt`'s watch; a watch that ends is resumed where it stopped
        (or replayed whole when the history no longer reaches back)."""
        since: str | None = None
        while not ctx.stopping.is_set():
            try:
                subscription = self._verbs.watch(rt, None, resource_version=since)
            except errors.Expired:
                since = None
                continue
            try:
                while (event := await subscription.next()) is not None:
                    self.observe(rt, event)
                    if event.rv:
                        since = str(event.rv)
            finally:
                subscription.close()
            if since is None:
                since = str(self._store.resource_version)
            await ctx.sleep(0)

    async def _attend(self, ctx: ControllerContext, item: Item) -> None:
        kind, ref = item
        obj = self._store.get(ref.rt, ref.scope, ref.name)
        if obj is None:
            return
        if kind == "dependent":
            await self._collect(ref, obj)
        else:
            await self._finish_owner(ref, obj)

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

    async def _collect(self, ref: Ref, obj: Obj) -> None:
        if is_terminating(obj):
            return
        states = {o: self._owner_state(o, ref.namespace) for o in owner_refs(obj)}
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
        log.info(
            "garbage_collected",
            resource=ref.rt.resource,
            namespace=ref.namespace,
            name=ref.name,
            policy=policy,
        )
        await self._client.delete(
            ref.rt, ref.name, namespace=ref.scope, missing_ok=True, propagation_policy=policy
        )

    async def _finish_owner(self, ref: Ref, obj: Obj) -> None:
        md = meta(obj)
        if "deletionTimestamp" not in md:
            return
        finalizers = finalizers_of(obj)
        uid = str(md.get("uid"))
        if ORPHAN in finalizers:
            for dependent in self.dependents_of(uid):
                await self._drop_owners(dependent, {uid})
            await self._remove_finalizer(ref, obj, ORPHAN)
            return
        if FOREGROUND not in finalizers:
            return
        blocking = False
        for dependent in self.dependents_of(uid):
            found = self._store.get(dependent.rt, dependent.scope, dependent.name)
            if found is None:
                continue
            if not is_terminating(found):
                self._add(("dependent", dependent))
            blocking |= any(o.uid == uid and o.block for o in owner_refs(found))
        if not blocking:
            self._waiting.pop(uid, None)
            await self._remove_finalizer(ref, obj, FOREGROUND)

    async def _drop_owners(self, ref: Ref, uids: set[str]) -> None:
        found = self._store.get(ref.rt, ref.scope, ref.name)
        if found is None:
            return
        md = meta(found)
        kept = [r for r in md.get("ownerReferences") or () if r.get("uid") not in uids]
        patch: dict[str, Any] = {
            "metadata": {"ownerReferences": kept or None, "resourceVersion": md["resourceVersion"]}
        }
        with contextlib.suppress(errors.NotFound):
            await self._client.patch(ref.rt, ref.name, patch, namespace=ref.scope)

    async def _remove_finalizer(self, ref: Ref, obj: Obj, finalizer: str) -> None:
        md = meta(obj)
        kept = [f for f in md.get("finalizers") or () if f != finalizer]
        patch = {"metadata": {"finalizers": kept or None, "resourceVersion": md["resourceVersion"]}}
        with contextlib.suppress(errors.NotFound):
            await self._client.patch(ref.rt, ref.name, patch, namespace=ref.scope)
