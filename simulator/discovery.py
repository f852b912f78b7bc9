"""Discovery documents, derived from the registry: what kubectl and dynamic clients read to
learn which kinds exist, where, and with which verbs.

Served as the plain (unaggregated) forms: `/version`, `/api` (APIVersions), `/api/v1` and
`/apis/{group}/{version}` (APIResourceList), `/apis` (APIGroupList), `/apis/{group}`
(APIGroup). kubectl first asks for aggregated discovery (apidiscovery.k8s.io/v2) in its
Accept header and falls back to these when the answer is plain `application/json`.

OpenAPI: `/openapi/v3` is an index of one document per group-version whose schemas accept
any object of each kind (`x-kubernetes-preserve-unknown-fields`) and whose paths declare
the `fieldValidation` parameter, which tells kubectl to leave validation to the server
(without it kubectl falls back to `/openapi/v2`, which is not served, and refuses to
create or apply unless given `--validate=false`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from simulator.registry import Registry, ResourceType

KUBERNETES_VERSION = ("1", "32", "v1.32.0")
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def version() -> dict[str, str]:
    major, minor, git = KUBERNETES_VERSION
    return {
        "major": major,
        "minor": minor,
        "gitVersion": git,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(registry: Registry, group: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: Registry) -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            _group(registry, group, versions)
            for group, versions in registry.group_versions().items()
            if group
        ],
    }


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    versions = registry.group_versions().get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(registry, group, versions)}


def _resource_entry(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": VERBS,
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    return entry


def api_resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources = []
    for rt in types:
        resources.append(_resource_entry(rt))
        if rt.status:
            resources.append(
                {
                    "name": f"{rt.plural}/status",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": rt.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _openapi_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_document(registry: Registry, path: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one group-version (`api/v1`, `apis/kubedb.com/v1`)."""
    for group, versions in registry.group_versions().items():
        for version_ in versions:
            if _openapi_path(group, version_) == path:
                return _document(registry.in_group_version(group, version_))
    return None


def openapi_v3_index(registry: Registry) -> dict[str, Any]:
    paths = {}
    for group, versions in registry.group_versions().items():
        for version_ in versions:
            path = _openapi_path(group, version_)
            document = _document(registry.in_group_version(group, version_))
            digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest[:32].upper()}"}
    return {"paths": paths}


_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def _document(types: list[ResourceType]) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        _OBJECT_META: {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }
    for rt in types:
        group = ".".join(reversed(rt.group.split("."))) if rt.group else "io.k8s.api.core"
        schemas[f"{group}.{rt.version}.{rt.kind}"] = {
            "type": "object",
            "x-kubernetes-group-version-kind": [
                {"group": rt.group, "version": rt.version, "kind": rt.kind}
            ],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"allOf": [{"$ref": f"#/components/schemas/{_OBJECT_META}"}]},
            },
            "x-kubernetes-preserve-unknown-fields": True,
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION[2]},
        "paths": {_item_path(rt): _item_operations(rt) for rt in types},
        "components": {"schemas": schemas},
    }


def _item_path(rt: ResourceType) -> str:
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    return f"{prefix}{scope}/{rt.plural}/{{name}}"


def _item_operations(rt: ResourceType) -> dict[str, Any]:
    """Enough for kubectl to see that the server validates fields itself (a PATCH with a
    `fieldValidation` parameter), so it skips client-side schema validation. The simulator
    accepts the parameter and does not enforce it."""
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
