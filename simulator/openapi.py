"""The OpenAPI documents: `/openapi/v3` (an index of one document per group-version) and
`/openapi/v2` (one Swagger 2.0 document), derived from the registry and the schemas.

A kind's schema is its registered structural schema (`Simulator.add_schema`), else the
basic schema of a built-in kind (`core_schemas`), else an object that keeps any field.
Each has `apiVersion`, `kind` and `metadata` (a `$ref` to ObjectMeta, as the real server
serves it) and `x-kubernetes-group-version-kind`, which is how `kubectl explain` finds it.

Each v3 document also declares, per kind, a PATCH operation with the `fieldValidation`
query parameter: kubectl reads it to learn that the server validates fields itself, and
then sends `fieldValidation=Strict` instead of validating on its side.

`/openapi/v2` is served whole in JSON. client-go asks for it in protobuf (gnostic's
`openapi.v2.Document`); that answer is a stub without definitions (`v2_protobuf_stub`):
kubectl 1.32 reads v3 for `explain` and for its validation, and reads v2 only to validate
a `kind: List` client-side, which it then leaves to the server (docs/simulator.md).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from simulator import core_schemas
from simulator.registry import Registry, ResourceType
from simulator.schema_check import Schemas

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
KUBERNETES_VERSION = "v1.32.0"


def _openapi_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def schema_name(rt: ResourceType) -> str:
    """The definition name the real server uses (`io.k8s.api.core.v1.Secret`,
    `com.kubedb.v1.Postgres`)."""
    if not rt.group:
        return f"io.k8s.api.core.{rt.version}.{rt.kind}"
    if rt.group == "apps" or rt.group.endswith(".k8s.io"):
        return f"io.k8s.api.{rt.group.split('.')[0]}.{rt.version}.{rt.kind}"
    return f"{'.'.join(reversed(rt.group.split('.')))}.{rt.version}.{rt.kind}"


def kind_schema(rt: ResourceType, schemas: Schemas, *, prefix: str) -> dict[str, Any]:
    registered = schemas.get(rt.group, rt.version, rt.kind)
    schema: dict[str, Any]
    if registered is not None:
        schema = json.loads(json.dumps(registered.document))
    elif (rt.group, rt.version, rt.kind) in core_schemas.CORE:
        fields = core_schemas.CORE[(rt.group, rt.version, rt.kind)]
        schema = json.loads(json.dumps({"type": "object", "properties": fields}))
    else:
        schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {
        "type": "string",
        "description": "the versioned schema of this representation of an object",
    }
    properties["kind"] = {"type": "string", "description": "the REST resource this object is"}
    properties["metadata"] = {
        "allOf": [{"$ref": f"{prefix}{OBJECT_META}"}],
        "description": "Standard object's metadata.",
    }
    schema["x-kubernetes-group-version-kind"] = [
        {"group": rt.group, "version": rt.version, "kind": rt.kind}
    ]
    return schema


# --- v3 -----------------------------------------------------------------------------------


def v3_index(registry: Registry, schemas: Schemas) -> dict[str, Any]:
    paths = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            path = _openapi_path(group, version)
            document = _v3_document(registry.in_group_version(group, version), schemas)
            digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest[:32].upper()}"}
    return {"paths": paths}


def v3_document(registry: Registry, schemas: Schemas, path: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one group-version (`api/v1`, `apis/kubedb.com/v1`)."""
    for group, versions in registry.group_versions().items():
        for version in versions:
            if _openapi_path(group, version) == path:
                return _v3_document(registry.in_group_version(group, version), schemas)
    return None


def _v3_document(types: list[ResourceType], schemas: Schemas) -> dict[str, Any]:
    prefix = "#/components/schemas/"
    components: dict[str, Any] = {OBJECT_META: core_schemas.OBJECT_META}
    for rt in types:
        components[schema_name(rt)] = kind_schema(rt, schemas, prefix=prefix)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": {_item_path(rt): _item_operations(rt) for rt in types},
        "components": {"schemas": components},
    }


def _item_path(rt: ResourceType) -> str:
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    return f"{prefix}{scope}/{rt.plural}/{{name}}"


def _item_operations(rt: ResourceType) -> dict[str, Any]:
    """The PATCH operation, with the parameters kubectl looks for."""
    return {
        "patch": {
            "operationId": f"patch{rt.kind}",
            "x-kubernetes-group-version-kind": {
                "group": rt.group,
                "version": rt.version,
                "kind": rt.kind,
            },
            "parameters": [
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {"200": {"description": "OK"}},
        }
    }


# --- v2 -----------------------------------------------------------------------------------


V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
V2_PROTOBUF_ANSWER = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
"""What the server names its answer (Go's mime parser refuses the `@` of the request)."""


def wants_v2_protobuf(accept: str | None) -> bool:
    """Whether the client asks for gnostic's protobuf form first (client-go does)."""
    first = (accept or "").split(",")[0].split(";")[0].strip().lower()
    return first == V2_PROTOBUF


def v2_protobuf_stub() -> bytes:
    """A gnostic `openapi.v2.Document` holding only `swagger` (field 1) and `info` (field
    2: title 1, version 2), encoded by hand: kubectl's client-side validation (what it does
    for a `kind: List`) then finds no definition for any kind and leaves validation to the
    server, which it asks for with `fieldValidation=Strict`."""
    info = _pb_string(1, "Kubernetes") + _pb_string(2, KUBERNETES_VERSION)
    return _pb_string(1, "2.0") + _pb_bytes(2, info)


def _pb_bytes(field: int, payload: bytes) -> bytes:
    length, encoded = len(payload), bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([field << 3 | 2]) + bytes(encoded) + payload


def _pb_string(field: int, text: str) -> bytes:
    return _pb_bytes(field, text.encode())


def v2_document(registry: Registry, schemas: Schemas) -> dict[str, Any]:
    prefix = "#/definitions/"
    definitions: dict[str, Any] = {OBJECT_META: core_schemas.OBJECT_META}
    for rt in registry:
        definitions[schema_name(rt)] = _to_v2(kind_schema(rt, schemas, prefix=prefix))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": {},
        "definitions": definitions,
    }


def _to_v2(schema: Any) -> Any:
    """v3 → v2: Swagger 2.0 has no `anyOf` (int-or-string keeps only its extension)."""
    if isinstance(schema, dict):
        return {k: _to_v2(v) for k, v in schema.items() if k != "anyOf"}
    if isinstance(schema, list):
        return [_to_v2(v) for v in schema]
    return schema
