"""The in-process client: the API server's verbs for code running inside the simulator
(controllers, plugins, tests), over the same store with the same semantics as HTTP.

Objects go in and come out as plain dicts; the client copies what it hands out, so callers
may change the results freely. Writes get new resourceVersions and emit watch events like
HTTP writes. They run admission unless the client (or the call) says `admission=False`:
the real operator's own writes pass through webhooks too, but a model often wants to skip
its own validation (writing an OpsRequest's result into a database's spec, say). Hooks can
tell in-process writers apart by `AdmissionRequest.user`.

Resources are named by a `ResourceType` or by anything kubectl accepts: plural, kind,
short name, `plural.group` ("mongodbs", "MongoDB", "mg", "mongodbs.kubedb.com").
"""

from __future__ import annotations

import builtins
from types import TracebackType

from simulator import errors, propagation
from simulator.objects import Obj, clone
from simulator.patching import PatchType
from simulator.registry import ResourceType
from simulator.selectors import ObjectFilter
from simulator.verbs import Verbs, WriteOptions
from simulator.watch import Subscription, WatchEvent

ResourceRef = ResourceType | str


class Watch:
    """Events of one in-process watch. `async with` it (or `aclose()`) to stop following.

    async with client.watch("mongodbs", resource_version=rv) as events:
        async for event in events:      # event.type, event.object (a copy)
            ...
    """

    def __init__(self, subscription: Subscription, *, copy: bool = True) -> None:
        self._subscription = subscription
        self._copy = copy

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> WatchEvent:
        event = await self.next()
        if event is None:
            raise StopAsyncIteration
        return event

    async def next(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event, or None after `timeout` seconds without one or once closed."""
        event = await self._subscription.next(timeout)
        if event is None or not self._copy:
            return event
        return WatchEvent(event.type, clone(event.object), event.rv)

    @property
    def closed(self) -> bool:
        return self._subscription.closed

    async def aclose(self) -> None:
        self._subscription.close()

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Client:
    def __init__(
        self, verbs: Verbs, *, user: str = "system:simulator", admission: bool = True
    ) -> None:
        self._verbs = verbs
        self.user = user
        self.admission = admission

    def resource(self, ref: ResourceRef) -> ResourceType:
        try:
            return self._verbs.registry.resolve(ref)
        except LookupError as exc:
            raise errors.NotFound(f"the server doesn't have a resource type {ref!r}") from exc

    def _opts(
        self, admission: bool | None, *, dry_run: bool = False, field_manager: str | None = None
    ) -> WriteOptions:
        return WriteOptions(
            user=self.user,
            dry_run=dry_run,
            admission=self.admission if admission is None else admission,
            field_manager=field_manager,
        )

    def _type_of(self, obj: Obj) -> ResourceType:
        rt = self._verbs.registry.by_kind(str(obj.get("apiVersion")), str(obj.get("kind")))
        if rt is None:
            raise errors.BadRequest(
                f"no resource type for apiVersion {obj.get('apiVersion')!r} kind "
                f"{obj.get('kind')!r}"
            )
        return rt

    @staticmethod
    def _namespace(rt: ResourceType, namespace: str | None, obj: Obj | None = None) -> str | None:
        if not rt.namespaced:
            return None
        given = obj.get("metadata", {}).get("namespace") if obj else None
        return namespace or given or "default"

    async def create(
        self,
        obj: Obj,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        admission: bool | None = None,
    ) -> Obj:
        rt = self._type_of(obj)
        created = await self._verbs.create(
            rt, self._namespace(rt, namespace, obj), obj, self._opts(admission, dry_run=dry_run)
        )
        return clone(created)

    async def get(self, resource: ResourceRef, name: str, *, namespace: str | None = None) -> Obj:
        rt = self.resource(resource)
        return clone(self._verbs.get(rt, self._namespace(rt, namespace), name))

    async def find(
        self, resource: ResourceRef, name: str, *, namespace: str | None = None, copy: bool = True
    ) -> Obj | None:
        """Like `get`, but None for a missing object. `copy=False` returns the stored object
        itself, to read and never change (a controller's hot path)."""
        rt = self.resource(resource)
        found = self._verbs.store.get(rt, self._namespace(rt, namespace), name)
        if found is None:
            return None
        return clone(found) if copy else found

    async def list(
        self,
        resource: ResourceRef,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> list[Obj]:
        """Matching objects of every namespace, or of `namespace`."""
        rt = self.resource(resource)
        page = self._verbs.list(
            rt,
            namespace if rt.namespaced else None,
            selector=ObjectFilter.parse(label_selector, field_selector, rt.kind),
        )
        return [clone(obj) for obj in page.items]

    async def list_with_version(
        self, resource: ResourceRef, *, namespace: str | None = None, label_selector: str = ""
    ) -> tuple[builtins.list[Obj], str]:
        """Matching objects and the list's resourceVersion (to `watch` from)."""
        rt = self.resource(resource)
        page = self._verbs.list(
            rt,
            namespace if rt.namespaced else None,
            selector=ObjectFilter.parse(label_selector, None),
        )
        return [clone(obj) for obj in page.items], str(page.resource_version)

    async def update(self, obj: Obj, *, admission: bool | None = None) -> Obj:
        """PUT: custom resources need `metadata.resourceVersion` (409 if stale)."""
        return await self._update(obj, admission, None)

    async def update_status(self, obj: Obj, *, admission: bool | None = None) -> Obj:
        return await self._update(obj, admission, "status")

    async def _update(self, obj: Obj, admission: bool | None, subresource: str | None) -> Obj:
        rt = self._type_of(obj)
        name = str(obj.get("metadata", {}).get("name", ""))
        updated = await self._verbs.update(
            rt,
            self._namespace(rt, None, obj),
            name,
            obj,
            self._opts(admission),
            subresource=subresource,
        )
        return clone(updated)

    async def patch(
        self,
        resource: ResourceRef,
        name: str,
        patch: Obj,
        *,
        namespace: str | None = None,
        admission: bool | None = None,
    ) -> Obj:
        """A merge patch (RFC 7386); a `metadata.resourceVersion` in it is a precondition."""
        return await self._patch(resource, name, patch, namespace, admission, None)

    async def patch_status(
        self,
        resource: ResourceRef,
        name: str,
        patch: Obj,
        *,
        namespace: str | None = None,
        admission: bool | None = None,
    ) -> Obj:
        return await self._patch(resource, name, patch, namespace, admission, "status")

    async def _patch(
        self,
        resource: ResourceRef,
        name: str,
        patch: Obj,
        namespace: str | None,
        admission: bool | None,
        subresource: str | None,
    ) -> Obj:
        rt = self.resource(resource)
        patched, _ = await self._verbs.patch(
            rt,
            self._namespace(rt, namespace),
            name,
            PatchType.MERGE,
            clone(patch),
            self._opts(admission),
            subresource=subresource,
        )
        return clone(patched)

    async def apply(self, obj: Obj, *, field_manager: str, admission: bool | None = None) -> Obj:
        """Server-side apply (create or merge), as `field_manager`."""
        rt = self._type_of(obj)
        name = str(obj.get("metadata", {}).get("name", ""))
        applied, _ = await self._verbs.patch(
            rt,
            self._namespace(rt, None, obj),
            name,
            PatchType.APPLY,
            clone(obj),
            self._opts(admission, field_manager=field_manager),
        )
        return clone(applied)

    async def delete(
        self,
        resource: ResourceRef,
        name: str,
        *,
        namespace: str | None = None,
        admission: bool | None = None,
        missing_ok: bool = False,
        propagation_policy: str | None = None,
    ) -> Obj | None:
        """Delete; the object still terminating (it has finalizers), or None once gone.
        `propagation_policy`: "Background" (default), "Foreground" or "Orphan"."""
        rt = self.resource(resource)
        try:
            deletion = await self._verbs.delete(
                rt,
                self._namespace(rt, namespace),
                name,
                self._opts(admission),
                propagation=propagation.finalizer_for({"propagationPolicy": propagation_policy}),
            )
        except errors.NotFound:
            if missing_ok:
                return None
            raise
        return None if deletion.gone else clone(deletion.object)

    def watch(
        self,
        resource: ResourceRef,
        *,
        namespace: str | None = None,
        resource_version: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        copy: bool = True,
    ) -> Watch:
        """Follow changes from `resource_version` (None: replay current objects as ADDED
        first). Raises `errors.Expired` when the history no longer reaches back that far.
        `copy=False`: events carry the stored objects, to read and never change."""
        rt = self.resource(resource)
        subscription = self._verbs.watch(
            rt,
            namespace if rt.namespaced else None,
            selector=ObjectFilter.parse(label_selector, field_selector, rt.kind),
            resource_version=resource_version,
        )
        return Watch(subscription, copy=copy)
