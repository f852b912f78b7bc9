"""The KubeDB version catalog: the preloaded objects, and the update-path rule.

Catalog objects are `<Engine>Version` kinds at `catalog.kubedb.com/v1alpha1`, cluster-scoped.
A database's `spec.version` names one of them. `updateConstraints` (semver constraint
strings) decide which objects an `UpdateVersion` may target (reference §4): an object is a
valid target when its `spec.version` matches any allowlist constraint (an empty allowlist
admits all) and no denylist constraint. Constraints here are plain comparison lists such as
`">= 8.0.17, < 10.0.0"`; `packaging`'s specifiers evaluate them (KubeDB uses Masterminds
semver, which agrees on that syntax).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from simulator.kubedb.engines import CATALOG_GROUP, CATALOG_VERSION
from simulator.kubedb.ops_schemas import CATALOG_REQUIRED


def load(path: Path | None = None) -> dict[str, list[dict[str, Any]]]:
    """The catalog as {VersionKind: [entry, ...]} from `path` or the bundled default."""
    if path is None:
        text = resources.files("simulator.kubedb").joinpath("data/catalog.json").read_text()
    else:
        text = path.read_text()
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a catalog file holds an object of version kinds")
    return {str(kind): list(entries) for kind, entries in data.items()}


# The sidecar images a catalog entry names (required per kind: `ops_schemas.CATALOG_REQUIRED`).
_IMAGES = {
    "exporter": "exporter",
    "coordinator": "coordinator",
    "initContainer": "init",
    "replicationModeDetector": "replication-mode-detector",
}


def to_objects(catalog: Mapping[str, Iterable[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Catalog entries as Kubernetes objects, ready to store."""
    objects = []
    for kind, entries in catalog.items():
        for entry in entries:
            engine = kind.removesuffix("Version").lower()
            spec: dict[str, Any] = {
                "version": entry["version"],
                "deprecated": bool(entry.get("deprecated", False)),
                "db": {"image": f"ghcr.io/kubedb/{engine}:{entry['name']}"},
                "podSecurityPolicies": {"databasePolicyName": f"{engine}-db"},
            }
            if kind != "MariaDBVersion":  # KubeDB's MariaDBVersion has no distribution
                spec["distribution"] = entry.get("distribution", "Official")
            for part in _IMAGES:
                if part in CATALOG_REQUIRED.get(kind, ()):
                    spec[part] = {
                        "image": f"ghcr.io/kubedb/{engine}-{_IMAGES[part]}:{entry['name']}"
                    }
            if entry.get("endOfLife"):
                spec["endOfLife"] = True
            if "updateConstraints" in entry:
                spec["updateConstraints"] = _constraints(kind, entry["updateConstraints"])
            objects.append(
                {
                    "apiVersion": f"{CATALOG_GROUP}/{CATALOG_VERSION}",
                    "kind": kind,
                    "metadata": {"name": entry["name"]},
                    "spec": spec,
                }
            )
    return objects


def _constraints(kind: str, constraints: Mapping[str, Any]) -> dict[str, Any]:
    """MySQLVersion keeps its lists per topology (`{standalone, groupReplication}`); a plain
    list in the catalog file applies to both."""
    if kind != "MySQLVersion":
        return dict(constraints)
    return {
        key: value
        if not isinstance(value, list)
        else {"standalone": value, "groupReplication": value}
        for key, value in constraints.items()
    }


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _matches(version: Version, constraint: str) -> bool:
    try:
        return version in SpecifierSet(constraint)
    except InvalidSpecifier:
        return False


def _constraint_list(value: Any, topology: str | None) -> list[str]:
    # MySQL splits lists per topology: {standalone: [...], groupReplication: [...]}.
    if isinstance(value, Mapping):
        key = "groupReplication" if topology == "GroupReplication" else "standalone"
        return [str(c) for c in value.get(key, [])]
    return [str(c) for c in value or []]


def update_targets(
    current: Mapping[str, Any],
    candidates: Iterable[Mapping[str, Any]],
    *,
    topology: str | None = None,
) -> list[str]:
    """Names of the catalog objects `current` (a Version object) may be updated to."""
    candidates = list(candidates)
    constraints = current.get("spec", {}).get("updateConstraints") or {}
    allow = _constraint_list(constraints.get("allowlist"), topology)
    deny = _constraint_list(constraints.get("denylist"), topology)
    targets = []
    for candidate in candidates:
        version = _version(str(candidate.get("spec", {}).get("version", "")))
        if version is None:
            continue
        if allow and not any(_matches(version, c) for c in allow):
            continue
        if any(_matches(version, c) for c in deny):
            continue
        targets.append(str(candidate["metadata"]["name"]))
    return sorted(targets, key=lambda name: (_version_key(candidates, name), name))


def _version_key(candidates: Iterable[Mapping[str, Any]], name: str) -> Version:
    for candidate in candidates:
        if candidate["metadata"]["name"] == name:
            parsed = _version(str(candidate["spec"]["version"]))
            if parsed is not None:
                return parsed
    return Version("0")
