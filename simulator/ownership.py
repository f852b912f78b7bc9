"""Server-side apply with field ownership: each applier (field manager) owns the fields of
its last applied configuration, recorded in `metadata.managedFields` (FieldsV1).

An apply (1) is refused with 409 Conflict when it would change a field another manager owns
("Apply failed with 1 conflict: conflict with \\"m\\": .spec.replicas"), unless `force`,
which takes the field over; (2) merges the configuration into the object, lists item by item
where the kind has a merge key (`strategic.LIST_KEYS`), atomically otherwise; (3) removes the
fields the manager owned before, no longer applies, and nobody else owns.

Ownership comes from applies only: plain updates (PUT, merge/JSON/strategic patches) do not
record "Update" entries, so they never cause conflicts (docs/simulator.md). Pure functions
over dicts; `verbs` calls `apply`.
"""

from __future__ import annotations

import json
from typing import Any

from simulator import errors, strategic
from simulator.objects import Obj, clone, meta, now
from simulator.patching import json_equal
from simulator.registry import ResourceType

Path = tuple[str, ...]
"""FieldsV1 steps: `f:<field>`, `k:<json of the item's key>`, `v:<json value>`, or `.`."""

_UNOWNED_METADATA = {
    "name",
    "namespace",
    "resourceVersion",
    "managedFields",
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
}


def _config(rt: ResourceType, applied: Obj, subresource: str | None) -> Obj:
    """The part of an applied object a manager can own through this endpoint."""
    owned = {k: v for k, v in applied.items() if k not in ("apiVersion", "kind")}
    md = {k: v for k, v in (owned.pop("metadata", None) or {}).items()}
    md = {k: v for k, v in md.items() if k not in _UNOWNED_METADATA}
    if subresource == "status":
        return {"status": owned["status"]} if "status" in owned else {}
    if rt.status:
        owned.pop("status", None)
    return {**({"metadata": md} if md else {}), **owned}


def leaves(value: Any, keys: dict[str, str], path: Path = (), dotted: str = "") -> set[Path]:
    """The owned leaf paths of a configuration."""
    if isinstance(value, dict) and value:
        found: set[Path] = set()
        for key, sub in value.items():
            name = f"{dotted}.{key}" if dotted else key
            found |= leaves(sub, keys, (*path, f"f:{key}"), name)
        return found
    key = keys.get(dotted)
    if isinstance(value, list) and value and key is not None:
        found = set()
        for item in value:
            if key == strategic.PRIMITIVES:
                found.add((*path, "v:" + _dumps(item)))
            elif isinstance(item, dict) and key in item:
                step = (*path, "k:" + _dumps({key: item[key]}))
                found.add((*step, "."))
                found |= leaves(item, keys, step, dotted)
        return found
    return {path}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _to_fields(paths: set[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for step in path:
            node = node.setdefault(step, {})
    return tree


def _from_fields(tree: Any, path: Path = ()) -> set[Path]:
    if not isinstance(tree, dict) or not tree:
        return {path} if path else set()
    found: set[Path] = set()
    for step, sub in tree.items():
        found |= _from_fields(sub, (*path, step))
    return found


_MISSING = object()


def _locate(obj: Any, path: Path) -> tuple[Any, Any]:
    """(parent container, handle) of a path's node, or (None, _MISSING)."""
    parent: Any = None
    node: Any = obj
    handle: Any = None
    for step in path:
        if step == ".":
            continue
        kind, _, raw = step.partition(":")
        parent = node
        if kind == "f" and isinstance(node, dict) and raw in node:
            handle, node = raw, node[raw]
        elif kind in ("k", "v") and isinstance(node, list):
            wanted = json.loads(raw)
            handle = next(
                (
                    i
                    for i, item in enumerate(node)
                    if (kind == "v" and json_equal(item, wanted))
                    or (
                        kind == "k"
                        and isinstance(item, dict)
                        and all(json_equal(item.get(k), v) for k, v in wanted.items())
                    )
                ),
                None,
            )
            if handle is None:
                return None, _MISSING
            node = node[handle]
        else:
            return None, _MISSING
    return parent, handle


def _value(obj: Any, path: Path) -> Any:
    parent, handle = _locate(obj, path)
    return _MISSING if handle is None or parent is None else parent[handle]


def _remove(obj: Obj, path: Path) -> None:
    """Remove a field (or a list item, at its `.`), then the maps it leaves empty, as Go's
    `omitempty` would not write them."""
    parent, handle = _locate(obj, path)
    if parent is None or handle is None:
        return
    if path[-1] == "." or not path[-1].startswith("k:"):
        del parent[handle]
    for end in range(len(path) - 1, 0, -1):
        if not path[end - 1].startswith("f:"):
            return
        parent, handle = _locate(obj, path[:end])
        if parent is None or handle is None or parent[handle] != {}:
            return
        del parent[handle]


def display(path: Path) -> str:
    """A path as the API server prints it: `.spec.ports[port=80]`, `.metadata.labels.a`."""
    out = ""
    for step in path:
        kind, _, raw = step.partition(":")
        if kind == "f":
            out += f".{raw}"
        elif kind == "k":
            out += "[" + ",".join(f"{k}={_dumps(v)}" for k, v in json.loads(raw).items()) + "]"
        elif kind == "v":
            out += f"[={raw}]"
    return out


def _conflict(rt: ResourceType, name: str, found: list[tuple[str, Path]]) -> errors.Conflict:
    causes = [
        errors.Cause(display(path), f'conflict with "{manager}"', "FieldManagerConflict")
        for manager, path in found
    ]
    if len(found) == 1:
        manager, path = found[0]
        message = f'Apply failed with 1 conflict: conflict with "{manager}": {display(path)}'
    else:
        lines = []
        for manager in sorted({m for m, _ in found}):
            lines.append(f'conflicts with "{manager}":')
            lines += [f"- {display(p)}" for m, p in found if m == manager]
        message = f"Apply failed with {len(found)} conflicts: " + "\n".join(lines)
    return errors.Conflict(message, name=name, group=rt.group, kind=rt.plural, causes=causes)


def apply(
    rt: ResourceType,
    current: Obj | None,
    applied: Obj,
    manager: str,
    *,
    force: bool = False,
    subresource: str | None = None,
) -> Obj:
    """The object after `manager` applies `applied` to `current` (None: it is created)."""
    keys = strategic.keys_of(rt.kind)
    config = _config(rt, applied, subresource)
    owned = leaves(config, keys)
    doc = clone(current) if current is not None else clone(applied)
    entries = [e for e in meta(doc).get("managedFields") or [] if isinstance(e, dict)]
    mine = {"manager": manager, "operation": "Apply", "subresource": subresource}
    before: set[Path] = set()
    others: list[tuple[dict[str, Any], set[Path]]] = []
    for entry in entries:
        fields = _from_fields(entry.get("fieldsV1"))
        if all(entry.get(k) == v for k, v in mine.items()):
            before = fields
        else:
            others.append((entry, fields))
    if current is not None:
        clashes = [
            (str(entry.get("manager")), path)
            for entry, fields in others
            for path in sorted(owned & fields)
            if path[-1] != "." and not json_equal(_value(current, path), _value(config, path))
        ]
        if clashes and not force:
            raise _conflict(rt, str(meta(doc).get("name", "")), clashes)
        taken = {path for _, path in clashes}
        for _, fields in others:
            fields -= taken
        doc = strategic.patch(rt.kind, doc, clone(config))
        kept = set().union(*(fields for _, fields in others))
        for path in sorted(before - owned - kept, key=lambda p: (p[-1] == ".", p)):
            _remove(doc, path)
    record = {
        "manager": manager,
        "operation": "Apply",
        "apiVersion": rt.api_version,
        "time": now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": _to_fields(owned),
        **({"subresource": subresource} if subresource else {}),
    }
    meta(doc)["managedFields"] = [
        {**entry, "fieldsV1": _to_fields(fields)} for entry, fields in others if fields
    ] + [record]
    return doc
