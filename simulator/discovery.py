"""Discovery documents, derived from the registry: what kubectl and dynamic clients read to
learn which kinds exist, where, and with which verbs.

Served as the plain (unaggregated) forms: `/version`, `/api` (APIVersions), `/api/v1` and
`/apis/{group}/{version}` (APIResourceList), `/apis` (APIGroupList), `/apis/{group}`
(APIGroup). kubectl first asks for aggregated discovery (apidiscovery.k8s.io/v2) in its
Accept header and falls back to these when the answer is plain `application/json`.

The self reviews (`reviews.KINDS`) are listed with their groups and the one verb they
have, `create`, as on a real server; they are not in the registry (nothing stores them).
The OpenAPI documents are `openapi`'s.
"""

from __future__ import annotations

from typing import Any

from simulator import reviews
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


def _group_versions(registry: Registry) -> dict[str, list[str]]:
    """The registry's groups and versions, then the self reviews'."""
    groups = registry.group_versions()
    for rt in reviews.KINDS:
        versions = groups.setdefault(rt.group, [])
        if rt.version not in versions:
            versions.append(rt.version)
    return groups


def api_group_list(registry: Registry) -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            _group(registry, group, versions)
            for group, versions in _group_versions(registry).items()
            if group
        ],
    }


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    versions = _group_versions(registry).get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(registry, group, versions)}


def _resource_entry(rt: ResourceType, verbs: list[str] = VERBS) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": verbs,
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    return entry


def api_resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.in_group_version(group, version)
    creatable = [rt for rt in reviews.KINDS if (rt.group, rt.version) == (group, version)]
    if not types and not creatable:
        return None
    resources = [_resource_entry(rt, reviews.VERBS) for rt in creatable]
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
