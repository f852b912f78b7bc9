"""PATCH bodies: which content types mean what, and the pure functions that apply them.

- merge patch (RFC 7386): objects merge recursively, `null` deletes, arrays are replaced;
- JSON patch (RFC 6902): add, remove, replace, move, copy, test (a failed op is a 422);
- server-side apply: field ownership per manager, in `ownership`;
- strategic merge: only for built-in kinds, in `strategic`.

Everything here is pure: functions take a document the caller owns (a `clone`) and return the
patched one. Which endpoint may use which type is decided in `verbs`.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import yaml

from simulator import errors


class PatchType(enum.Enum):
    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"

    @classmethod
    def from_content_type(cls, content_type: str | None) -> PatchType:
        media = (content_type or "").split(";")[0].strip().lower()
        for member in cls:
            if member.value == media:
                return member
        raise unsupported(media)


def unsupported(media: str) -> errors.UnsupportedMediaType:
    return errors.UnsupportedMediaType(
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{PatchType.JSON.value}, {PatchType.MERGE.value}, {PatchType.APPLY.value}"
        + (f" (got {media!r})" if media else "")
    )


def decode(body: bytes, patch_type: PatchType) -> Any:
    """Parse a PATCH body: JSON, or YAML for apply patches (kubectl and lightkube send JSON,
    which is YAML too)."""
    try:
        return json.loads(body) if body else None
    except ValueError as exc:
        if patch_type is not PatchType.APPLY:
            raise errors.BadRequest(f"error decoding patch: {exc}") from exc
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise errors.BadRequest(f"error decoding YAML apply patch: {exc}") from exc


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386. `target` may be changed in place; use the return value."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


# --- RFC 6902 -------------------------------------------------------------------------------


class _PatchFailed(Exception):
    pass


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise _PatchFailed(f"invalid JSON pointer {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(container: list[Any], token: str, *, for_add: bool) -> int:
    if for_add and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise _PatchFailed(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not for_add):
        raise _PatchFailed(f"array index {index} out of bounds")
    return index


def _parent(doc: Any, pointer: str) -> tuple[Any, str]:
    tokens = _tokens(pointer)
    if not tokens:
        raise _PatchFailed("the whole document cannot be the target here")
    node = doc
    for token in tokens[:-1]:
        node = _child(node, token, pointer)
    return node, tokens[-1]


def _child(node: Any, token: str, pointer: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise _PatchFailed(f"path {pointer!r} does not exist (missing {token!r})")
        return node[token]
    if isinstance(node, list):
        return node[_index(node, token, for_add=False)]
    raise _PatchFailed(f"path {pointer!r} does not exist")


def _get(doc: Any, pointer: str) -> Any:
    node = doc
    for token in _tokens(pointer):
        node = _child(node, token, pointer)
    return node


def _add(doc: Any, pointer: str, value: Any) -> Any:
    if pointer == "":
        return value
    parent, token = _parent(doc, pointer)
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, token, for_add=True), value)
    else:
        raise _PatchFailed(f"cannot add at {pointer!r}")
    return doc


def _remove(doc: Any, pointer: str) -> tuple[Any, Any]:
    parent, token = _parent(doc, pointer)
    if isinstance(parent, dict):
        if token not in parent:
            raise _PatchFailed(f"cannot remove {pointer!r}: it does not exist")
        return doc, parent.pop(token)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, token, for_add=False))
    raise _PatchFailed(f"cannot remove {pointer!r}")


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality (Python's `==` says `True == 1`; JSON does not)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _operation(doc: Any, op: dict[str, Any]) -> Any:
    kind, path = op.get("op"), op.get("path")
    if not isinstance(path, str):
        raise errors.BadRequest(f"json patch operation {op!r} has no string 'path'")
    if kind in ("add", "replace", "test") and "value" not in op:
        raise errors.BadRequest(f"json patch operation {op!r} has no 'value'")
    if kind == "add":
        return _add(doc, path, json.loads(json.dumps(op["value"])))
    if kind == "remove":
        return _remove(doc, path)[0]
    if kind == "replace":
        _get(doc, path)
        if path == "":
            return op["value"]
        doc, _ = _remove(doc, path)
        return _add(doc, path, json.loads(json.dumps(op["value"])))
    if kind in ("move", "copy"):
        source = op.get("from")
        if not isinstance(source, str):
            raise errors.BadRequest(f"json patch operation {op!r} has no string 'from'")
        if kind == "move":
            doc, value = _remove(doc, source)
        else:
            value = json.loads(json.dumps(_get(doc, source)))
        return _add(doc, path, value)
    if kind == "test":
        if not json_equal(_get(doc, path), op["value"]):
            raise _PatchFailed(f"testing value {path} failed: test failed")
        return doc
    raise errors.BadRequest(f"unknown json patch operation {kind!r}")


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902. A malformed patch is a 400; an operation that cannot apply is a 422."""
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
        raise errors.BadRequest("a json patch must be a JSON array of operation objects")
    try:
        for op in operations:
            doc = _operation(doc, op)
    except _PatchFailed as exc:
        raise errors.Invalid(
            f"the server rejected our request due to an error in our request: {exc}"
        ) from exc
    return doc
