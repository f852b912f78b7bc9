"""The Kubernetes verbs (get, list, watch, create, update, patch, delete) with their rules,
shared by the HTTP routes and the in-process client so both behave exactly alike.

A write follows the real API server's order: decode and check the body against the URL,
settle server-owned metadata (`rules`), run admission (hooks may mutate, then the server
fields are settled again), check, commit to the store with a new resourceVersion. An update
whose object changed while admission ran is retried on the new object (patches) or refused
with 409 (PUT with a now-stale resourceVersion), like the API server's optimistic
concurrency. An update that changes nothing is not a write: no new resourceVersion, no event.

Return values are the stored dicts: callers must copy what they hand out for mutation.
"""

from __future__ import annotations

import builtins
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator import consistency, errors, ownership, rules, strategic
from simulator.admission import AdmissionChain, AdmissionRequest, Operation
from simulator.objects import (
    Obj,
    clone,
    finalizers_of,
    generated_name,
    is_terminating,
    meta,
    new_uid,
    now,
    resource_version,
)
from simulator.patching import PatchType, json_patch, merge_patch, unsupported
from simulator.registry import Registry, ResourceType
from simulator.schema_check import FieldValidation, Schemas
from simulator.selectors import EVERYTHING, ObjectFilter
from simulator.store import Key, Store, decode_continue, encode_continue
from simulator.watch import Subscription, WatchEvent, WatchHub

_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class WriteOptions:
    user: str = "system:anonymous"
    groups: tuple[str, ...] = ()
    dry_run: bool = False
    admission: bool = True
    field_manager: str | None = None
    force: bool = False
    field_validation: FieldValidation = FieldValidation.WARN
    warnings: list[str] | None = None
    """Where the `Warning` texts of this write go (None: dropped)."""


@dataclass(frozen=True, slots=True)
class ListPage:
    items: list[Obj]
    resource_version: int
    continue_token: str | None


@dataclass(frozen=True, slots=True)
class Deletion:
    object: Obj
    gone: bool
    """Removed now (True), or marked for deletion and waiting on finalizers (False)."""


class Verbs:
    def __init__(
        self,
        *,
        registry: Registry,
        store: Store,
        hub: WatchHub,
        admission: AdmissionChain,
        rng: random.Random,
        schemas: Schemas | None = None,
    ) -> None:
        self.registry = registry
        self.schemas = schemas or Schemas()
        self.store = store
        self.hub = hub
        self.admission = admission
        self._rng = rng

    # --- reads ----------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self.store.get(rt, namespace, name)
        if obj is None:
            raise errors.not_found(rt, name)
        return obj

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        selector: ObjectFilter = EVERYTHING,
        limit: int | None = None,
        continue_token: str | None = None,
        at: int | None = None,
    ) -> ListPage:
        """A page of the objects as of `at` or the continue token's resourceVersion (one
        snapshot across pages, `consistency`), else the latest."""
        rv, after = self.store.resource_version, None
        if continue_token:
            rv, after = decode_continue(continue_token)
            if rv == consistency.LATEST:
                rv = self.store.resource_version
        elif at is not None:
            rv = at
        if rv < self.store.resource_version:
            scan = consistency.scan_at(self.store, self.hub, rt, namespace, after=after, rv=rv)
        else:
            scan = self.store.scan(rt, namespace, after=after)
        items: list[Obj] = []
        last: Key | None = None
        more = False
        for key, obj in scan:
            if not selector.everything and not selector.matches(obj):
                continue
            if limit and len(items) >= limit:
                more = True
                break
            items.append(obj)
            last = key
        token = encode_continue(rv, last) if more and last is not None else None
        return ListPage(items, rv, token)

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        selector: ObjectFilter = EVERYTHING,
        resource_version: str | None = None,
        send_initial_events: bool = False,
    ) -> Subscription:
        """Changes from `resource_version` on; none or "0" replays the current objects as
        ADDED first (so does `send_initial_events`, which then marks the end of the replay
        with a BOOKMARK annotated `k8s.io/initial-events-end`)."""
        since = None
        if resource_version not in (None, "", "0"):
            try:
                since = int(str(resource_version))
            except ValueError:
                raise errors.BadRequest(f"invalid resource version {resource_version!r}") from None
        replay = since is None or send_initial_events
        initial = [obj for _, obj in self.store.scan(rt, namespace)] if replay else []
        subscription = self.hub.subscribe(
            rt.resource,
            namespace=namespace,
            selector=selector,
            since=None if send_initial_events else since,
            initial=initial,
        )
        if send_initial_events:
            subscription.push(WatchEvent("BOOKMARK", self.bookmark(rt, self.hub.latest_rv, True)))
        return subscription

    @staticmethod
    def bookmark(rt: ResourceType, rv: int, initial_events_end: bool = False) -> Obj:
        md: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_events_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": md}

    # --- create ---------------------------------------------------------------------------

    async def create(
        self, rt: ResourceType, namespace: str | None, body: object, opts: WriteOptions
    ) -> Obj:
        obj, namespace = self._new(rt, namespace, body)
        if resource_version(obj) is not None:
            raise errors.StorageError("resourceVersion should not be set on objects to be created")
        self._check_namespace_open(rt, namespace)
        uid, created = new_uid(self._rng), now()
        rules.stamp_new(rt, obj, uid=uid, created=created)
        self._check_schema(rt, obj, opts)
        if self._hooked(rt, opts):
            request = self._request("CREATE", rt, obj, None, opts)
            await self.admission.run(request)
            obj = rules.check_body(rt, request.object)
            rules.place(rt, obj, namespace)
            rules.check_url_name(obj, request.name)
            rules.stamp_new(rt, obj, uid=uid, created=created)
        return self._insert(rt, obj, opts)

    def seed(self, body: Obj, *, status: Obj | None = None) -> Obj:
        """Create an object at once, without admission (startup objects, catalogs). With
        `status`, a kind with a status subresource is stored as if its controller had
        already reported it (a cluster seeded mid-life)."""
        rt = self.registry.by_kind(str(body.get("apiVersion")), str(body.get("kind")))
        if rt is None:
            raise errors.BadRequest(
                f"no resource type for {body.get('apiVersion')} {body.get('kind')}"
            )
        obj, namespace = self._new(rt, None, body)
        self._check_namespace_open(rt, namespace)
        rules.stamp_new(rt, obj, uid=new_uid(self._rng), created=now())
        if status is not None and rt.status:
            obj["status"] = status
        self._check_schema(rt, obj, WriteOptions(field_validation=FieldValidation.IGNORE))
        return self._insert(rt, obj, WriteOptions(admission=False))

    def _new(self, rt: ResourceType, namespace: str | None, body: object) -> tuple[Obj, str | None]:
        obj = rules.check_body(rt, body)
        namespace = rules.place(rt, obj, namespace)
        md = meta(obj)
        if not md.get("name") and md.get("generateName"):
            for _ in range(_ATTEMPTS):
                md["name"] = generated_name(str(md["generateName"]), self._rng)
                if self.store.get(rt, namespace, md["name"]) is None:
                    break
        rules.check_metadata(rt, obj)
        return obj, namespace

    def _check_namespace_open(self, rt: ResourceType, namespace: str | None) -> None:
        if namespace is None:
            return
        ns_type = self.registry.by_path("", "v1", "namespaces")
        assert ns_type is not None
        found = self.store.get(ns_type, None, namespace)
        if found is None:
            raise errors.not_found(ns_type, namespace)
        if is_terminating(found):
            raise errors.Forbidden(
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
                name=namespace,
                kind=ns_type.plural,
            )

    def _insert(self, rt: ResourceType, obj: Obj, opts: WriteOptions) -> Obj:
        if rt.prepare is not None:
            rt.prepare(obj, None)
        rules.check_metadata(rt, obj)
        md = meta(obj)
        if self.store.get(rt, md.get("namespace"), md["name"]) is not None:
            raise errors.already_exists(rt, md["name"])
        return obj if opts.dry_run else self.store.create(rt, obj)

    # --- update and patch -----------------------------------------------------------------

    async def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: object,
        opts: WriteOptions,
        *,
        subresource: str | None = None,
    ) -> Obj:
        """PUT: a custom resource needs `metadata.resourceVersion` (422), a stale one is a
        409, a missing object a 404 (no create-on-update)."""
        obj = rules.check_body(rt, body)
        rules.place(rt, obj, namespace)
        rules.check_url_name(obj, name)
        given = resource_version(obj)
        if given is None and rt.custom:
            self.get(rt, namespace, name)  # a missing object is a 404 first
            raise errors.invalid(
                rt,
                name,
                [
                    errors.Cause(
                        "metadata.resourceVersion",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )

        def build(current: Obj) -> Obj:
            if given is not None and given != resource_version(current):
                raise errors.conflict(rt, name)
            doc = clone(obj)
            self._check_schema(rt, doc, opts)
            return doc

        return await self._update(rt, namespace, name, build, opts, subresource)

    async def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: PatchType,
        body: Any,
        opts: WriteOptions,
        *,
        subresource: str | None = None,
    ) -> tuple[Obj, bool]:
        """Apply a patch; (object, created). Only server-side apply creates."""
        _check_patch_body(rt, patch_type, body)
        if patch_type is PatchType.APPLY:
            body = rules.check_apply_body(rt, body, namespace, name, opts.field_manager)
            if self.store.get(rt, namespace, name) is None:
                if subresource:
                    raise errors.not_found(rt, name)
                body = ownership.apply(rt, None, body, str(opts.field_manager))
                return await self.create(rt, namespace, body, opts), True

        def build(current: Obj) -> Obj:
            doc = clone(current)
            if patch_type is PatchType.JSON:
                doc = json_patch(doc, clone({"ops": body})["ops"])
                if not isinstance(doc, dict):
                    raise errors.Invalid("the patched document is not an object")
            elif patch_type is PatchType.APPLY:
                assert opts.field_manager is not None
                doc = ownership.apply(
                    rt, current, body, opts.field_manager, force=opts.force, subresource=subresource
                )
            elif patch_type is PatchType.STRATEGIC:
                doc = strategic.patch(rt.kind, doc, clone(body))
            else:
                doc = merge_patch(doc, clone(body))
            _check_patched(rt, doc, current, namespace, name)
            self._check_schema(rt, doc, opts, patch=True)
            return doc

        return await self._update(rt, namespace, name, build, opts, subresource), False

    async def _update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        build: Callable[[Obj], Obj],
        opts: WriteOptions,
        subresource: str | None,
    ) -> Obj:
        for _ in range(_ATTEMPTS):
            current = self.get(rt, namespace, name)
            new = rules.normalize_update(rt, current, build(current), subresource=subresource)
            if self._hooked(rt, opts):
                request = self._request("UPDATE", rt, new, current, opts, subresource)
                await self.admission.run(request)
                candidate = rules.check_body(rt, request.object)
                new = rules.normalize_update(rt, current, candidate, subresource=subresource)
                if self.store.get(rt, namespace, name) is not current:
                    continue  # it changed while admission ran: build again on the new one
            if rt.prepare is not None and subresource is None:
                rt.prepare(new, current)
            return self._commit_update(rt, current, new, opts)
        raise errors.conflict(rt, name)

    def _commit_update(self, rt: ResourceType, current: Obj, new: Obj, opts: WriteOptions) -> Obj:
        rules.check_metadata(rt, new)
        rules.check_finalizers(rt, current, new)
        rules.bump_generation(rt, current, new)
        if rules.unchanged(current, new):
            return current
        if opts.dry_run:
            return new
        if is_terminating(new) and not finalizers_of(new, spec_finalizers=rt.spec_finalizers):
            return self.store.delete(rt, new)
        return self.store.replace(rt, new)

    # --- delete ---------------------------------------------------------------------------

    async def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        opts: WriteOptions,
        *,
        preconditions: Any = None,
        propagation: str | None = None,
    ) -> Deletion:
        """Remove an object, or, while it has finalizers, mark it: `deletionTimestamp`,
        `deletionGracePeriodSeconds: 0` and (custom resources) a generation bump.
        `propagation` is the finalizer of a Foreground or Orphan deletion (`propagation`)."""
        for _ in range(_ATTEMPTS):
            current = self.get(rt, namespace, name)
            rules.check_preconditions(rt, current, preconditions)
            if self._hooked(rt, opts):
                request = self._request("DELETE", rt, None, current, opts)
                await self.admission.run(request)
                if self.store.get(rt, namespace, name) is not current:
                    continue
            if finalizers_of(current, spec_finalizers=rt.spec_finalizers) or propagation:
                if is_terminating(current):
                    return Deletion(current, gone=False)
                marked = clone(current)
                md = meta(marked)
                if propagation and propagation not in md.get("finalizers", []):
                    md["finalizers"] = [*md.get("finalizers", []), propagation]
                md["deletionTimestamp"], md["deletionGracePeriodSeconds"] = now(), 0
                if rt.tracks_generation:
                    md["generation"] = int(md.get("generation", 0)) + 1
                return Deletion(marked if opts.dry_run else self.store.replace(rt, marked), False)
            gone = {**current, "metadata": dict(current.get("metadata", {}))}
            return Deletion(gone if opts.dry_run else self.store.delete(rt, gone), True)
        raise errors.conflict(rt, name)

    async def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        opts: WriteOptions,
        *,
        selector: ObjectFilter = EVERYTHING,
    ) -> builtins.list[Obj]:
        page = self.list(rt, namespace, selector=selector)
        deleted = []
        for obj in page.items:
            md = obj.get("metadata", {})
            try:
                result = await self.delete(rt, md.get("namespace"), md["name"], opts)
            except errors.NotFound:
                continue
            deleted.append(result.object)
        return deleted

    # --- schema and admission -------------------------------------------------------------

    def _check_schema(
        self, rt: ResourceType, obj: Obj, opts: WriteOptions, patch: bool = False
    ) -> None:
        """Prune and validate against the kind's schema, if it has one (`schema_check`)."""
        self.schemas.enforce(
            rt, obj, directive=opts.field_validation, warnings=opts.warnings, patch=patch
        )

    def _hooked(self, rt: ResourceType, opts: WriteOptions) -> bool:
        return opts.admission and self.admission.covers(rt.group, rt.kind)

    @staticmethod
    def _request(
        operation: Operation,
        rt: ResourceType,
        obj: Obj | None,
        old: Obj | None,
        opts: WriteOptions,
        subresource: str | None = None,
    ) -> AdmissionRequest:
        return AdmissionRequest.about(
            operation,
            rt,
            obj,
            old,
            user=opts.user,
            groups=opts.groups,
            dry_run=opts.dry_run,
            subresource=subresource,
        )


def _check_patch_body(rt: ResourceType, patch_type: PatchType, body: Any) -> None:
    """The patch body has the shape its patch type needs (a JSON patch is a list)."""
    if patch_type is PatchType.STRATEGIC and rt.custom:
        raise unsupported(patch_type.value)
    if patch_type is PatchType.JSON:
        if not isinstance(body, list):
            raise errors.BadRequest("a json patch must be a JSON array of operations")
    elif not isinstance(body, dict):
        raise errors.BadRequest("the patch must be a JSON object")


def _check_patched(
    rt: ResourceType, doc: Obj, current: Obj, namespace: str | None, name: str
) -> None:
    """A patched object keeps its resourceVersion (or none), its URL name and namespace."""
    if resource_version(doc) not in (None, resource_version(current)):
        raise errors.conflict(rt, name)
    rules.check_url_name(doc, name)
    if rt.namespaced and meta(doc).get("namespace") != namespace:
        raise errors.BadRequest("the namespace of the object does not match the URL")
