"""Strategic-merge patches on built-in kinds: a merge patch, except that lists with a merge
key merge item by item (a Service's `ports` by `port`, containers and env by `name`, ...),
and the directives kubectl writes: `$patch: replace | delete | merge`,
`$setElementOrder/<list>`, `$retainKeys`, `$deleteFromPrimitiveList/<list>`.

The merge keys are those of the Go types' `patchMergeKey` tags, for the kinds the simulator
registers; a list without one is replaced whole, as the real server does. `LIST_KEYS` is
also what server-side apply (`ownership`) uses to name list items. Pure functions; custom
resources never get here (415, in `verbs`).
"""

from __future__ import annotations

from typing import Any

PRIMITIVES = "*"
"""A list of scalars merged as a set (`patchStrategy: merge` without a key)."""

_CONTAINER = {"ports": "containerPort", "env": "name", "volumeMounts": "mountPath"}
_POD_SPEC = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "schedulingGates": "name",
    "resourceClaims": "name",
    **{
        f"{containers}.{field}": key
        for containers in ("containers", "initContainers", "ephemeralContainers")
        for field, key in _CONTAINER.items()
    },
}
_METADATA = {"metadata.ownerReferences": "uid", "metadata.finalizers": PRIMITIVES}
_STATUS = {"status.conditions": "type"}

LIST_KEYS: dict[str, dict[str, str]] = {
    "Pod": {**_METADATA, **_STATUS, **{f"spec.{k}": v for k, v in _POD_SPEC.items()}},
    "StatefulSet": {
        **_METADATA,
        **_STATUS,
        **{f"spec.template.spec.{k}": v for k, v in _POD_SPEC.items()},
    },
    "Service": {**_METADATA, "spec.ports": "port"},
    "PersistentVolumeClaim": {**_METADATA, **_STATUS},
}
"""Per kind: the path of a list (list items left out of the path) and its merge key."""


def keys_of(kind: str) -> dict[str, str]:
    return LIST_KEYS.get(kind, _METADATA)


def patch(kind: str, doc: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Apply a strategic-merge patch to `doc` (which may be changed in place)."""
    merged = _merge_map(doc, body, "", keys_of(kind))
    return merged if isinstance(merged, dict) else {}


def strip(value: Any) -> Any:
    """A patch value with every `$` directive removed (what a replaced value stores)."""
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [strip(v) for v in value if not (isinstance(v, dict) and "$patch" in v)]
    return value


def _merge_map(target: Any, body: dict[str, Any], path: str, keys: dict[str, str]) -> Any:
    directive = body.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace" or not isinstance(target, dict):
        return strip(body)
    _delete_from_primitive_lists(target, body)
    for key, value in body.items():
        if key.startswith("$"):
            continue
        sub = f"{path}.{key}" if path else key
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(target.get(key), value, sub, keys)
            if merged is None:
                target.pop(key, None)
            else:
                target[key] = merged
        elif isinstance(value, list) and sub in keys and isinstance(target.get(key), list):
            target[key] = _merge_list(target[key], value, keys[sub], sub, keys)
        else:
            target[key] = strip(value)
    _order(target, body, path, keys)
    retain = body.get("$retainKeys")
    if isinstance(retain, list):
        for key in [k for k in target if k not in retain]:
            del target[key]
    return target


def _delete_from_primitive_lists(target: dict[str, Any], body: dict[str, Any]) -> None:
    for key, value in body.items():
        field = key.removeprefix("$deleteFromPrimitiveList/")
        if field != key and isinstance(target.get(field), list):
            target[field] = [v for v in target[field] if v not in value]


def _merge_list(
    current: list[Any], items: list[Any], key: str, path: str, keys: dict[str, str]
) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in items):
        return strip(items)  # type: ignore[no-any-return]
    if key == PRIMITIVES:
        return [*current, *(v for v in items if v not in current)]
    merged = list(current)
    for item in items:
        if not isinstance(item, dict):
            continue
        index = next(
            (
                i
                for i, c in enumerate(merged)
                if isinstance(c, dict) and c.get(key) == item.get(key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            merged = [
                c for c in merged if not (isinstance(c, dict) and c.get(key) == item.get(key))
            ]
        elif index is None:
            merged.append(strip(item))
        else:
            merged[index] = _merge_map(merged[index], item, path, keys)
    return merged


def _order(target: dict[str, Any], body: dict[str, Any], path: str, keys: dict[str, str]) -> None:
    """`$setElementOrder/<list>`: the listed items first, in that order."""
    for directive, order in body.items():
        if not directive.startswith("$setElementOrder/") or not isinstance(order, list):
            continue
        field = directive.partition("/")[2]
        key = keys.get(f"{path}.{field}" if path else field)
        values = target.get(field)
        if key is None or not isinstance(values, list):
            continue
        wanted = [o.get(key) if key != PRIMITIVES and isinstance(o, dict) else o for o in order]

        def rank(item: Any, wanted: list[Any] = wanted, key: str = key) -> int:
            value = item.get(key) if key != PRIMITIVES and isinstance(item, dict) else item
            return wanted.index(value) if value in wanted else len(wanted)

        target[field] = sorted(values, key=rank)
