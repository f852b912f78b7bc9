"""The resource endpoints: Kubernetes URLs and query parameters in, verbs called, Kubernetes
answers out (objects, `<Kind>List`, `Table` for kubectl, `Status`, watch streams).

Only translation happens here; every rule is in `verbs`. `fieldValidation` is passed on
(`schema_check`) and its warnings come back as `Warning` headers; other query parameters
kubectl sends (`pretty`, `propagationPolicy`, ...) are accepted and ignored.
"""

from __future__ import annotations

import json
import random
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from simulator import access, consistency, errors, media, paths, propagation, tables, wire
from simulator.config import Config
from simulator.faults import Stats
from simulator.objects import Obj
from simulator.patching import PatchType, decode
from simulator.registry import Registry, ResourceType
from simulator.schema_check import FieldValidation, warning_header
from simulator.selectors import ObjectFilter
from simulator.verbs import Deletion, Verbs, WriteOptions
from simulator.watchstream import DEFAULT_TIMEOUT_SECONDS, WatchStream

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class ResourceRoutes:
    def __init__(
        self,
        *,
        registry: Registry,
        verbs: Verbs,
        config: Config,
        stats: Stats,
        rng: random.Random,
    ) -> None:
        self._registry = registry
        self._verbs = verbs
        self._config = config
        self._stats = stats
        self._rng = rng

    async def core(self, request: Request) -> Response:
        return await self._handle(request, "", "v1", request.path_params["path"])

    async def grouped(self, request: Request) -> Response:
        params = request.path_params
        return await self._handle(request, params["group"], params["version"], params["path"])

    async def _handle(self, request: Request, group: str, version: str, rest: str) -> Response:
        target = paths.parse(self._registry, group, version, rest)
        method, query = request.method, request.query_params
        rt, namespace, name = target.resource, target.namespace, target.name
        as_table = tables.wanted(request.headers.get("accept"))
        if name is None:
            if method == "GET":
                if paths.is_watch(dict(query)):
                    return self._watch(rt, namespace, query, as_table=as_table)
                return await self._list(request, rt, namespace, as_table=as_table)
            if method == "POST" and (namespace is not None or not rt.namespaced):
                body = await media.read_body(request, rt)
                opts = _options(request)
                created = await self._verbs.create(rt, namespace, body, opts)
                return _warned(media.respond(request, rt, created, 201), opts)
            if method == "DELETE":
                deleted = await self._verbs.delete_collection(
                    rt, namespace, _options(request), selector=_selector(query, rt)
                )
                return wire.json_response(_list_body(rt, deleted, self._verbs))
            raise _not_allowed(method, rt)
        sub = target.subresource
        if method == "GET":
            obj = self._verbs.get(rt, namespace, name)
            if as_table:
                return wire.json_response(tables.table(rt, [obj]))
            return media.respond(request, rt, obj)
        if method == "PUT":
            body = await media.read_body(request, rt)
            opts = _options(request)
            updated = await self._verbs.update(rt, namespace, name, body, opts, subresource=sub)
            return _warned(media.respond(request, rt, updated), opts)
        if method == "PATCH":
            patch_type = PatchType.from_content_type(request.headers.get("content-type"))
            body = decode(await request.body(), patch_type)
            opts = _options(request)
            patched, upserted = await self._verbs.patch(
                rt, namespace, name, patch_type, body, opts, subresource=sub
            )
            return _warned(media.respond(request, rt, patched, 201 if upserted else 200), opts)
        if method == "DELETE" and sub is None:
            options = await _delete_options(request)
            deletion = await self._verbs.delete(
                rt,
                namespace,
                name,
                _options(request, options),
                preconditions=options.get("preconditions"),
                propagation=propagation.finalizer_for(options, query.get("propagationPolicy")),
            )
            return wire.json_response(_deletion_body(rt, deletion))
        raise _not_allowed(method, rt)

    async def _list(
        self, request: Request, rt: ResourceType, namespace: str | None, *, as_table: bool
    ) -> Response:
        query = request.query_params
        continue_token = query.get("continue") or None
        point = await consistency.read_point(
            self._verbs.hub,
            query.get("resourceVersion"),
            query.get("resourceVersionMatch"),
            continue_token,
        )
        page = self._verbs.list(
            rt,
            namespace,
            selector=_selector(query, rt),
            limit=_int(query, "limit"),
            continue_token=continue_token,
            at=point.rv,
        )
        if as_table:
            return wire.json_response(
                tables.table(
                    rt,
                    page.items,
                    resource_version=str(page.resource_version),
                    continue_token=page.continue_token,
                )
            )
        metadata: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
        if page.continue_token:
            metadata["continue"] = page.continue_token
        if media.wants_protobuf(request, rt):
            return media.respond_list(request, rt, page.items, metadata)
        head = wire.dumps(
            {"apiVersion": rt.api_version, "kind": rt.list_kind, "metadata": metadata}
        )
        items = b",".join(self._verbs.store.encode(rt, obj) for obj in page.items)
        return Response(head[:-1] + b',"items":[' + items + b"]}", media_type=wire.JSON)

    def _watch(
        self, rt: ResourceType, namespace: str | None, query: QueryParams, *, as_table: bool
    ) -> Response:
        timeout = _int(query, "timeoutSeconds")
        common: dict[str, Any] = {
            "verbs": self._verbs,
            "config": self._config,
            "stats": self._stats,
            "rng": self._rng,
            "timeout": float(timeout or DEFAULT_TIMEOUT_SECONDS),  # 0 means the default
            "bookmarks": _bool(query, "allowWatchBookmarks"),
            "as_table": as_table,
        }
        selector = _selector(query, rt)
        try:
            subscription = self._verbs.watch(
                rt,
                namespace,
                selector=selector,
                resource_version=query.get("resourceVersion"),
                send_initial_events=_bool(query, "sendInitialEvents"),
            )
        except errors.Expired as exc:
            return WatchStream(rt, None, error=exc, **common)
        return WatchStream(rt, subscription, **common)


def _not_allowed(method: str, rt: ResourceType) -> errors.MethodNotAllowed:
    return errors.MethodNotAllowed(
        f"the server does not allow this method on the requested resource ({method} {rt.resource})",
        group=rt.group,
        kind=rt.plural,
    )


def _int(query: QueryParams, name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw))
    except ValueError:
        raise errors.BadRequest(f"{name}: invalid value {raw!r}: must be an integer") from None
    if value < 0:
        raise errors.BadRequest(f"{name}: invalid value {raw!r}: must not be negative")
    return value


def _bool(query: QueryParams, name: str) -> bool:
    return query.get(name, "").lower() in ("1", "true")


def _selector(query: QueryParams, rt: ResourceType) -> ObjectFilter:
    return ObjectFilter.parse(query.get("labelSelector"), query.get("fieldSelector"), rt.kind)


def _options(request: Request, delete_options: dict[str, Any] | None = None) -> WriteOptions:
    query = request.query_params
    dry_run = query.getlist("dryRun") or (delete_options or {}).get("dryRun") or []
    if isinstance(dry_run, str):
        dry_run = [dry_run]
    if any(value != "All" for value in dry_run):
        raise errors.BadRequest(f'dryRun: Unsupported value: {dry_run!r}: supported values: "All"')
    identity = access.identity(request.scope)
    return WriteOptions(
        user=identity.name,
        groups=identity.groups,
        dry_run=bool(dry_run),
        field_manager=query.get("fieldManager") or None,
        force=_bool(query, "force"),
        field_validation=FieldValidation.parse(query.get("fieldValidation")),
        warnings=[],
    )


def _warned(response: Response, opts: WriteOptions) -> Response:
    """The write's `Warning` headers (unknown fields under fieldValidation=Warn)."""
    for text in opts.warnings or ():
        response.headers.append("Warning", warning_header(text))
    return response


async def _delete_options(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    try:
        options = json.loads(body)
    except ValueError as exc:
        raise errors.BadRequest(f"the DeleteOptions body is not valid JSON: {exc}") from exc
    if not isinstance(options, dict):
        raise errors.BadRequest("the DeleteOptions body must be a JSON object")
    return options


def _deletion_body(rt: ResourceType, deletion: Deletion) -> Obj:
    """Gone: a `Status` of success, as custom resources answer; still terminating: the
    object (with its deletionTimestamp)."""
    if not deletion.gone:
        return deletion.object
    md = deletion.object.get("metadata", {})
    details = {"name": md.get("name"), "group": rt.group, "kind": rt.plural, "uid": md.get("uid")}
    if not rt.group:
        del details["group"]
    return wire.success_status(details)


def _list_body(rt: ResourceType, items: list[Obj], verbs: Verbs) -> Obj:
    return {
        "apiVersion": rt.api_version,
        "kind": rt.list_kind,
        "metadata": {"resourceVersion": str(verbs.store.resource_version)},
        "items": items,
    }
