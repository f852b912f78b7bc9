"""Structural OpenAPI v3 schemas for kinds, and checking an object against one, the way the
API server treats a custom resource: prune unknown fields, then validate types, enums and
required fields.

A schema is a plain OpenAPI v3 document fragment (what `/openapi/v3` serves, what a CRD's
`openAPIV3Schema` holds); the builders below (`obj`, `string`, `array`, ...) write them
tersely. `compile_schema` turns one into a `Node` tree once, and `check` walks an object
against it in one pass:

- a field the schema does not declare is removed (pruning) and its path reported (`unknown
  field "spec.x"`), unless the node keeps unknown fields (`x-kubernetes-preserve-unknown-
  fields`) or declares a map (`additionalProperties`);
- a `null` for a field that is not `nullable` is dropped, as the API server prunes
  non-nullable nulls;
- a wrong type, a value outside an enum, a missing required field each give one
  `errors.Cause` with the real server's reason and wording.

`metadata` is checked against the fixed ObjectMeta field list (unknown fields pruned); its
values are the generic rules' business (`rules`). This module decides nothing about HTTP,
`fieldValidation` or messages around the causes: `schema_check` does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator import errors

Schema = dict[str, Any]

PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"

OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


# --- builders -----------------------------------------------------------------------------


def _described(schema: Schema, description: str) -> Schema:
    if description:
        schema["description"] = description
    return schema


def obj(
    properties: Mapping[str, Schema] | None = None,
    *,
    required: tuple[str, ...] = (),
    description: str = "",
    preserve: bool = False,
) -> Schema:
    """An object with these fields (others are pruned unless `preserve`)."""
    schema: Schema = {"type": "object"}
    if properties:
        schema["properties"] = dict(properties)
    if required:
        schema["required"] = list(required)
    if preserve:
        schema[PRESERVE] = True
    return _described(schema, description)


def string(description: str = "", *, enum: tuple[str, ...] = (), fmt: str = "") -> Schema:
    schema: Schema = {"type": "string"}
    if enum:
        schema["enum"] = list(enum)
    if fmt:
        schema["format"] = fmt
    return _described(schema, description)


def integer(description: str = "", *, fmt: str = "int32") -> Schema:
    return _described({"type": "integer", "format": fmt}, description)


def boolean(description: str = "") -> Schema:
    return _described({"type": "boolean"}, description)


def array(items: Schema, description: str = "") -> Schema:
    return _described({"type": "array", "items": items}, description)


def map_of(values: Schema, description: str = "") -> Schema:
    return _described({"type": "object", "additionalProperties": values}, description)


def strings_map(description: str = "") -> Schema:
    return map_of({"type": "string"}, description)


def int_or_string(description: str = "") -> Schema:
    return _described(
        {INT_OR_STRING: True, "anyOf": [{"type": "integer"}, {"type": "string"}]}, description
    )


def any_object(description: str = "") -> Schema:
    """An object kept whole (its fields are not modelled here)."""
    return obj(description=description, preserve=True)


def ref(name: str) -> Schema:
    return {"name": string(f"name of the referenced {name}")}


def resources() -> Schema:
    """Compute resources of a container (requests and limits)."""
    return obj(
        {
            "requests": map_of(int_or_string(), "minimum resources, e.g. cpu: 500m, memory: 1Gi"),
            "limits": map_of(int_or_string(), "maximum resources"),
            "claims": array(obj({"name": string()}, required=("name",))),
        },
        description="Compute resources (requests and limits).",
    )


def pvc_spec() -> Schema:
    """A PersistentVolumeClaim's spec (the KubeDB `spec.storage`)."""
    return obj(
        {
            "accessModes": array(string(), "e.g. ReadWriteOnce"),
            "resources": obj(
                {
                    "requests": map_of(int_or_string(), "storage: the size asked for"),
                    "limits": map_of(int_or_string()),
                }
            ),
            "storageClassName": string("the StorageClass to provision from"),
            "volumeMode": string("Filesystem or Block"),
            "volumeName": string("the PersistentVolume bound to the claim"),
            "selector": any_object("label selector over volumes"),
            "dataSource": any_object(),
            "dataSourceRef": any_object(),
            "volumeAttributesClassName": string(),
        },
        description="A PersistentVolumeClaim's spec.",
    )


# --- compiled form ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Node:
    type: str | None = None
    properties: Mapping[str, Node] | None = None
    additional: Node | None = None
    items: Node | None = None
    required: tuple[str, ...] = ()
    enum: tuple[Any, ...] | None = None
    preserve: bool = False
    int_or_string: bool = False
    nullable: bool = False


def compile_schema(schema: Mapping[str, Any]) -> Node:
    properties = schema.get("properties")
    additional = schema.get("additionalProperties")
    items = schema.get("items")
    enum = schema.get("enum")
    return Node(
        type=schema.get("type"),
        properties=({k: compile_schema(v) for k, v in properties.items()} if properties else None),
        additional=compile_schema(additional) if isinstance(additional, Mapping) else None,
        items=compile_schema(items) if isinstance(items, Mapping) else None,
        required=tuple(schema.get("required") or ()),
        enum=tuple(enum) if enum else None,
        preserve=bool(schema.get(PRESERVE)) or additional is True,
        int_or_string=bool(schema.get(INT_OR_STRING)),
        nullable=bool(schema.get("nullable")),
    )


@dataclass(slots=True)
class Outcome:
    unknown: list[str] = field(default_factory=list)
    """Paths of the pruned fields, in document order."""
    causes: list[errors.Cause] = field(default_factory=list)


def check(root: Node, document: dict[str, Any]) -> Outcome:
    """Prune `document` in place and validate it against `root` (a kind's schema)."""
    outcome = Outcome()
    metadata = document.get("metadata")
    if isinstance(metadata, dict):
        for key in [k for k in metadata if k not in OBJECT_META_FIELDS]:
            del metadata[key]
            outcome.unknown.append(f"metadata.{key}")
    for key in [k for k in document if k not in ("apiVersion", "kind", "metadata")]:
        node = (root.properties or {}).get(key)
        if node is None:
            if not root.preserve:
                del document[key]
                outcome.unknown.append(key)
            continue
        if document[key] is None and not node.nullable:
            del document[key]
            continue
        _walk(node, document, key, key, outcome)
    for key in root.required:
        if key not in document:
            outcome.causes.append(_required(key))
    return outcome


def _walk(node: Node, parent: Any, key: Any, path: str, out: Outcome) -> None:
    value = parent[key]
    problem = _type_problem(node, value)
    if problem is not None:
        out.causes.append(_type_invalid(path, node, problem))
        return
    if node.enum is not None and value not in node.enum:
        out.causes.append(_not_supported(path, value, node.enum))
    if isinstance(value, dict):
        _walk_object(node, value, path, out)
    elif isinstance(value, list) and node.items is not None:
        for i in range(len(value)):
            _walk(node.items, value, i, f"{path}[{i}]", out)


def _walk_object(node: Node, value: dict[str, Any], path: str, out: Outcome) -> None:
    properties = node.properties
    for key in list(value):
        child = properties.get(key) if properties else None
        if child is None:
            child = node.additional
        if child is None:
            if not node.preserve and (properties is not None or node.type == "object"):
                del value[key]
                out.unknown.append(f"{path}.{key}")
            continue
        if value[key] is None and not child.nullable:
            del value[key]
            continue
        _walk(child, value, key, f"{path}.{key}", out)
    for key in node.required:
        if key not in value:
            out.causes.append(_required(f"{path}.{key}"))


_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def json_type(value: Any) -> str:
    for cls, name in _JSON_TYPES:
        if isinstance(value, cls):
            return name
    return "null"


def _type_problem(node: Node, value: Any) -> str | None:
    """The JSON type of `value` when the node does not allow it, else None."""
    actual = json_type(value)
    if node.int_or_string:
        return None if actual in ("integer", "string") else actual
    if node.type is None or actual == node.type:
        return None
    if node.type == "number" and actual == "integer":
        return None
    if actual == "null" and node.nullable:
        return None
    return actual


def _required(path: str) -> errors.Cause:
    return errors.Cause(path, "Required value", "FieldValueRequired")


def _type_invalid(path: str, node: Node, actual: str) -> errors.Cause:
    expected = "integer,string" if node.int_or_string else str(node.type)
    return errors.Cause(
        path,
        f'Invalid value: "{actual}": {path} in body must be of type {expected}: "{actual}"',
        "FieldValueTypeInvalid",
    )


def go_value(value: Any) -> str:
    """A value as the API server prints it in a field error (Go's %q for strings)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _not_supported(path: str, value: Any, allowed: tuple[Any, ...]) -> errors.Cause:
    supported = ", ".join(json.dumps(v) if isinstance(v, str) else go_value(v) for v in allowed)
    return errors.Cause(
        path,
        f"Unsupported value: {go_value(value)}: supported values: {supported}",
        "FieldValueNotSupported",
    )
