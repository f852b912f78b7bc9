"""The labels this platform puts on every cluster object it creates, and the keys it reserves.

`app.kubernetes.io/managed-by=kubedb-dbaas` marks our objects (the reconciler lists by it to
find orphans); `dbaas.io/database-id`, `dbaas.io/domain` and `dbaas.io/project` tie an object
to its record and tenant; OpsRequests add `dbaas.io/operation-id`. User labels may not use these
keys, nor prefixes that Kubernetes, KubeDB or this platform own.
"""

from __future__ import annotations

from collections.abc import Mapping

MANAGED_BY_KEY = "app.kubernetes.io/managed-by"
MANAGED_BY = "kubedb-dbaas"
DATABASE_ID_KEY = "dbaas.io/database-id"
DOMAIN_KEY = "dbaas.io/domain"
PROJECT_KEY = "dbaas.io/project"
OPERATION_ID_KEY = "dbaas.io/operation-id"

# KubeDB sets these on the objects it generates and selects on some of them (§1.8).
_KUBEDB_OWNED_KEYS = frozenset(
    {
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/managed-by",
        "app.kubernetes.io/component",
    }
)
_RESERVED_DOMAINS = ("dbaas.io", "kubedb.com", "kubernetes.io", "k8s.io")
# Kubernetes' recommended labels are meant for users (except those KubeDB owns, above).
_OPEN_PREFIXES = frozenset({"app.kubernetes.io"})


def system_labels(*, database_id: str, domain: str, project: str) -> dict[str, str]:
    return {
        MANAGED_BY_KEY: MANAGED_BY,
        DATABASE_ID_KEY: database_id,
        DOMAIN_KEY: domain,
        PROJECT_KEY: project,
    }


def with_system_labels(
    user: Mapping[str, str], *, database_id: str, domain: str, project: str
) -> dict[str, str]:
    """User labels plus ours; ours win (validation keeps users off our keys anyway)."""
    return {**user, **system_labels(database_id=database_id, domain=domain, project=project)}


def database_selector(database_id: str) -> str:
    """Label selector for every object of one database."""
    return f"{MANAGED_BY_KEY}={MANAGED_BY},{DATABASE_ID_KEY}={database_id}"


def managed_selector() -> str:
    return f"{MANAGED_BY_KEY}={MANAGED_BY}"


def is_reserved_key(key: str, *, label: bool) -> bool:
    """Whether users may not set `key` (a label when `label`, else an annotation)."""
    if label and key in _KUBEDB_OWNED_KEYS:
        return True
    prefix, slash, _ = key.rpartition("/")
    if not slash or prefix in _OPEN_PREFIXES:
        return False
    return any(prefix == d or prefix.endswith("." + d) for d in _RESERVED_DOMAINS)
