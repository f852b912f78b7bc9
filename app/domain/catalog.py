"""The version catalog as the control plane reads it: which versions users may pick, and
which a database may be upgraded to.

Versions come from the provider's KubeDB catalog (`<Engine>Version` objects). A version is
offered when it is not deprecated and the platform's allow list admits it. Upgrade targets
follow KubeDB's own rule (reference §4) exactly: the current version's
`spec.updateConstraints` allowlist (any match; empty admits all) and denylist (no match),
matched against each candidate's `spec.version`; MySQL splits the lists per topology. We
also never offer a downgrade or the current version itself. Constraints such as
`">= 8.0.17, < 10.0.0"` are evaluated with `packaging` specifiers, which agree with the
semver constraints KubeDB uses on that syntax.

The simulator has its own copy of this rule (`simulator/kubedb/catalog.py`): it stands for
KubeDB, an outside system, and must not share code with the client it is testing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version


@dataclass(frozen=True, slots=True)
class CatalogVersion:
    name: str  # what a database's spec.version names
    version: str  # the upstream version it runs
    deprecated: bool
    allowlist: tuple[str, ...] | Mapping[str, tuple[str, ...]] = ()
    denylist: tuple[str, ...] | Mapping[str, tuple[str, ...]] = ()

    @property
    def parsed(self) -> Version | None:
        try:
            return Version(self.version)
        except InvalidVersion:
            return None


def _constraints(value: Any) -> tuple[str, ...] | Mapping[str, tuple[str, ...]]:
    if isinstance(value, Mapping):
        return {str(k): tuple(str(c) for c in v or ()) for k, v in value.items()}
    return tuple(str(c) for c in value or ())


def from_object(obj: Mapping[str, Any]) -> CatalogVersion:
    """One `<Engine>Version` object (a dict from the cluster)."""
    spec = obj.get("spec") or {}
    constraints = spec.get("updateConstraints") or {}
    return CatalogVersion(
        name=str((obj.get("metadata") or {}).get("name", "")),
        version=str(spec.get("version", "")),
        deprecated=bool(spec.get("deprecated", False)),
        allowlist=_constraints(constraints.get("allowlist")),
        denylist=_constraints(constraints.get("denylist")),
    )


def offered(
    versions: Iterable[CatalogVersion], allowed: Sequence[str] | None
) -> list[CatalogVersion]:
    """Non-deprecated versions the allow list admits (None: all), newest first."""
    chosen = [v for v in versions if not v.deprecated and (allowed is None or v.name in allowed)]
    return sorted(chosen, key=_sort_key, reverse=True)


def _sort_key(version: CatalogVersion) -> tuple[Version, str]:
    return (version.parsed or Version("0"), version.name)


def _for_topology(
    value: tuple[str, ...] | Mapping[str, tuple[str, ...]], topology: str | None
) -> tuple[str, ...]:
    if isinstance(value, Mapping):
        key = "groupReplication" if topology == "GroupReplication" else "standalone"
        return tuple(value.get(key, ()))
    return value


def _matches(version: Version, constraint: str) -> bool:
    try:
        return version in SpecifierSet(constraint)
    except InvalidSpecifier:
        return False


def upgrade_targets(
    current: CatalogVersion,
    candidates: Iterable[CatalogVersion],
    *,
    topology: str | None = None,
) -> list[CatalogVersion]:
    """The versions `current` may be updated to, oldest first: a newer upstream version only.
    Not itself, no downgrade, and no variant of the same upstream version (16.13-bookworm
    for 16.13: another image of the same release, not an upgrade; not offered)."""
    allow = _for_topology(current.allowlist, topology)
    deny = _for_topology(current.denylist, topology)
    now = current.parsed
    targets = []
    for candidate in candidates:
        version = candidate.parsed
        if version is None or candidate.name == current.name:
            continue
        if now is not None and version <= now:
            continue
        if allow and not any(_matches(version, c) for c in allow):
            continue
        if any(_matches(version, c) for c in deny):
            continue
        targets.append(candidate)
    return sorted(targets, key=_sort_key)
