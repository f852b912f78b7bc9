"""The API server's object rules, as pure functions over dicts: what the server owns in
`metadata`, what a create or an update may change, when `generation` moves, what a valid
name and valid metadata look like, and how a write is checked against its URL.

`verbs` calls these in the order the real API server applies them; nothing here touches the
store or runs admission.
"""

from __future__ import annotations

import functools
from typing import Any

from simulator import errors
from simulator.objects import (
    Obj,
    clone,
    finalizers_of,
    is_terminating,
    meta,
    name_problem,
    without_meta_and_status,
)
from simulator.patching import json_equal
from simulator.registry import ResourceType
from simulator.selectors import LabelSelector

SERVER_OWNED = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "resourceVersion",
    "name",
    "namespace",
)
"""Metadata a client cannot change with an update (the server keeps its own values)."""


def check_body(rt: ResourceType, body: object) -> Obj:
    """A copy of a request body that is an object of this type (apiVersion/kind filled)."""
    if not isinstance(body, dict):
        raise errors.BadRequest(f"the object provided is unrecognized (must be of type {rt.kind})")
    obj = clone(body)
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if api_version and api_version != rt.api_version:
        raise errors.BadRequest(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({rt.api_version})"
        )
    if kind and kind != rt.kind:
        raise errors.BadRequest(
            f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
        )
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
    if not isinstance(obj.get("metadata", {}), dict):
        raise errors.BadRequest("metadata must be an object")
    meta(obj)
    return obj


def check_apply_body(
    rt: ResourceType, body: Obj, namespace: str | None, name: str, field_manager: str | None
) -> Obj:
    """An apply patch names its manager, its type and the object of the URL."""
    if not field_manager:
        raise errors.BadRequest("PATCH apply requests require the fieldManager query parameter")
    if not body.get("apiVersion") or not body.get("kind"):
        raise errors.BadRequest("an apply patch must set apiVersion and kind")
    obj = check_body(rt, body)
    place(rt, obj, namespace)
    check_url_name(obj, name)
    return obj


def place(rt: ResourceType, obj: Obj, namespace: str | None) -> str | None:
    """Settle the object's namespace against the request's; the namespace it lives in."""
    md = meta(obj)
    if not rt.namespaced:
        md.pop("namespace", None)
        return None
    given = md.get("namespace") or None
    if namespace and given and given != namespace:
        raise errors.BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    namespace = namespace or given
    if not namespace:
        raise errors.BadRequest("a namespace is required for a namespaced object")
    md["namespace"] = namespace
    return str(namespace)


def check_url_name(obj: Obj, name: str) -> None:
    given = meta(obj).get("name")
    if given and given != name:
        raise errors.BadRequest(
            f"the name of the object ({given}) does not match the name on the URL ({name})"
        )
    meta(obj)["name"] = name


def stamp_new(rt: ResourceType, obj: Obj, *, uid: str, created: str) -> None:
    """Server fields of a new object; drops what a create cannot set."""
    md = meta(obj)
    for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
        md.pop(field, None)
    md["uid"] = uid
    md["creationTimestamp"] = created
    if rt.tracks_generation:
        md["generation"] = 1
    else:
        md.pop("generation", None)
    if rt.status:
        obj.pop("status", None)


def normalize_update(
    rt: ResourceType, current: Obj, candidate: Obj, *, subresource: str | None
) -> Obj:
    """The object an update may store: the server keeps its metadata; the main endpoint
    keeps the stored status and `/status` keeps everything but the status."""
    if subresource == "status":
        new = clone(current)
        if "status" in candidate:
            new["status"] = candidate["status"]
        else:
            new.pop("status", None)
        fields = candidate.get("metadata", {}).get("managedFields")
        if fields is not None:
            meta(new)["managedFields"] = fields
        return new
    new = candidate
    if rt.status:
        if "status" in current:
            new["status"] = clone(current["status"])
        else:
            new.pop("status", None)
    md, stored = meta(new), current.get("metadata", {})
    for field in SERVER_OWNED:
        if field in stored:
            md[field] = stored[field]
        else:
            md.pop(field, None)
    if "managedFields" not in md and "managedFields" in stored:
        md["managedFields"] = clone({"m": stored["managedFields"]})["m"]
    return new


def bump_generation(rt: ResourceType, current: Obj, new: Obj) -> None:
    if not rt.tracks_generation:
        return
    before = without_meta_and_status(current, drop_status=rt.status)
    after = without_meta_and_status(new, drop_status=rt.status)
    if not (before == after and json_equal(before, after)):
        meta(new)["generation"] = int(current.get("metadata", {}).get("generation", 0)) + 1


def unchanged(current: Obj, new: Obj) -> bool:
    """True when an update would store nothing new (no write, no event, as in Kubernetes);
    managedFields timestamps alone do not count."""

    def strip(obj: Obj) -> Obj:
        md = {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}
        if isinstance(md.get("managedFields"), list):
            md["managedFields"] = [
                {k: v for k, v in entry.items() if k != "time"}
                if isinstance(entry, dict)
                else entry
                for entry in md["managedFields"]
            ]
        return {**obj, "metadata": md}

    a, b = strip(current), strip(new)
    return a == b and json_equal(a, b)


def check_metadata(rt: ResourceType, obj: Obj) -> None:
    """Name, labels, annotations and finalizers are well formed (422 otherwise)."""
    md = meta(obj)
    causes: list[errors.Cause] = []
    name = md.get("name")
    if not name:
        causes.append(
            errors.Cause(
                "metadata.name",
                "Required value: name or generateName is required",
                "FieldValueRequired",
            )
        )
    elif problem := _name_problem(rt, str(name)):
        causes.append(errors.Cause("metadata.name", f"Invalid value: {name!r}: {problem}"))
    for field in ("labels", "annotations"):
        causes += _string_map(md.get(field), f"metadata.{field}", labels=field == "labels")
    finalizers = md.get("finalizers")
    if finalizers is not None and (
        not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers)
    ):
        causes.append(errors.Cause("metadata.finalizers", "Invalid value: must be strings"))
    if causes:
        raise errors.invalid(rt, str(name or ""), causes)


def _name_problem(rt: ResourceType, name: str) -> str | None:
    if rt.path_segment_names:  # RBAC kinds: `system:discovery` is a valid name
        if name in (".", ".."):
            return f"may not be '{name}'"
        bad = next((s for s in ("/", "%") if s in name), None)
        return f"may not contain '{bad}'" if bad else None
    return name_problem(name, label=rt.dns_label_names)


def _string_map(value: Any, field: str, *, labels: bool) -> list[errors.Cause]:
    if value is None:
        return []
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return [errors.Cause(field, "Invalid value: must be a map of strings to strings")]
    if labels:
        for key, val in value.items():
            if not _is_label(key, val):
                return [errors.Cause(f"{field}.{key}", f"Invalid value: {val!r}: not a label")]
    return []


@functools.lru_cache(maxsize=8192)
def _is_label(key: str, value: str) -> bool:
    """Cached: every write checks its labels, and most objects share them."""
    try:
        LabelSelector.parse(f"{key}={value}")
    except errors.BadRequest:
        return False
    return True


def check_finalizers(rt: ResourceType, current: Obj, new: Obj) -> None:
    """No new finalizers on an object being deleted (422, as the real server says it)."""
    if not is_terminating(current):
        return
    added = sorted(set(finalizers_of(new)) - set(finalizers_of(current)))
    if added:
        found = ", ".join(f'"{f}"' for f in added)
        raise errors.invalid(
            rt,
            str(meta(new).get("name", "")),
            [
                errors.Cause(
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers []string{{{found}}}",
                    "FieldValueForbidden",
                )
            ],
        )


def check_preconditions(rt: ResourceType, current: Obj, preconditions: Any) -> None:
    """DeleteOptions.preconditions: uid and resourceVersion must match (409 otherwise)."""
    if not isinstance(preconditions, dict):
        return
    md, name = current.get("metadata", {}), str(current.get("metadata", {}).get("name", ""))
    for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
        wanted = preconditions.get(field)
        if wanted is not None and str(wanted) != str(md.get(field)):
            raise errors.conflict(
                rt,
                name,
                f"Precondition failed: {label} in precondition: {wanted}, "
                f"{label} in object meta: {md.get(field)}",
            )
