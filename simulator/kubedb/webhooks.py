"""KubeDB's admission webhooks, as pure functions over objects (dicts).

Mutating: the finalizer `kubedb.com` and the defaults of reference §1.9 that a control plane
reads back. Validating: the version must exist in the catalog, replica and topology rules per
engine, immutable fields, `DoNotTerminate` blocks deletion, `halted` with `DoNotTerminate`
is rejected, `Halt` with `Ephemeral` storage is rejected; for OpsRequests: the spec is
immutable, the database must exist, update paths follow `updateConstraints`, a volume
expansion must grow the volume, horizontal scaling obeys the engine's rules, each type
has the block it needs (`ops_rules`). Types, enums and required fields are the schemas'
(`schemas`, `ops_schemas`), checked before these webhooks run.

Errors carry the real shapes (reference §7.2): the database webhooks deny with plain errors,
which the API server answers as 403 Forbidden `admission webhook "<name>" denied the
request: <reason>`; the ops webhooks return field errors, answered as 422 Invalid with
`details.causes[]`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator.kubedb import catalog as catalog_rules
from simulator.kubedb import ops_rules
from simulator.kubedb.engines import BY_KIND, BY_OPS_KIND, FINALIZER, topology_name

# kind of catalog object, name -> the object, or None
CatalogLookup = Callable[[str, str], Mapping[str, Any] | None]
CatalogList = Callable[[str], list[Mapping[str, Any]]]


@dataclass
class Denied(Exception):
    """A webhook denial: `reason` is Forbidden (403) or Invalid (422)."""

    message: str
    reason: str = "Forbidden"
    causes: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def code(self) -> int:
        return 422 if self.reason == "Invalid" else 403


def _deny(kind: str, reason: str) -> Denied:
    return Denied(f'admission webhook "{BY_KIND[kind].webhook}" denied the request: {reason}')


def _invalid(kind: str, name: str, field_path: str, reason: str) -> Denied:
    engine = BY_OPS_KIND[kind]
    return Denied(
        f'{engine.ops_plural}.ops.kubedb.com "{name}" is invalid: {field_path}: {reason}',
        reason="Invalid",
        causes=[{"reason": "FieldValueInvalid", "message": reason, "field": field_path}],
    )


# --- databases ---------------------------------------------------------------------------


def mutate_database(kind: str, obj: dict[str, Any]) -> None:
    """Defaults the operator's mutating webhook applies on create (in place)."""
    meta = obj.setdefault("metadata", {})
    finalizers = meta.setdefault("finalizers", [])
    if FINALIZER not in finalizers:
        finalizers.append(FINALIZER)
    spec = obj.setdefault("spec", {})
    spec.setdefault("storageType", "Durable")
    spec.setdefault("deletionPolicy", "Delete")
    if spec.get("halted") and spec["deletionPolicy"] != "DoNotTerminate":
        spec["deletionPolicy"] = "Halt"
    auth = spec.setdefault("authSecret", {})
    auth.setdefault("kind", "Secret")
    auth.setdefault("name", f"{meta.get('name', '')}-auth")
    spec.setdefault(
        "healthChecker", {"periodSeconds": 10, "timeoutSeconds": 10, "failureThreshold": 1}
    )
    if kind == "Redis":
        spec.setdefault("mode", "Standalone")
        if spec["mode"] == "Cluster":
            cluster = spec.setdefault("cluster", {})
            cluster.setdefault("shards", 3)
            cluster.setdefault("replicas", 2)
    if kind == "Postgres":
        spec.setdefault("standbyMode", "Hot")
    if kind == "MySQL" and (spec.get("topology") or {}).get("mode") == "GroupReplication":
        spec.setdefault("replicas", 3)
        spec["topology"].setdefault("group", {}).setdefault("mode", "Single-Primary")
    if kind == "MariaDB" and (spec.get("topology") or {}).get("mode"):
        spec.setdefault("replicas", 3)
    if not (kind == "MongoDB" and spec.get("shardTopology")) and not (
        kind == "Redis" and spec["mode"] == "Cluster"
    ):
        spec.setdefault("replicas", 1)


def mutate_database_update(obj: dict[str, Any]) -> None:
    """On update too, a halted database gets deletionPolicy Halt (reference §1.6)."""
    spec = obj.get("spec") or {}
    if spec.get("halted") and spec.get("deletionPolicy") != "DoNotTerminate":
        spec["deletionPolicy"] = "Halt"


def validate_database(
    kind: str, obj: Mapping[str, Any], old: Mapping[str, Any] | None, lookup: CatalogLookup
) -> None:
    """Create and update validation; raises `Denied`."""
    spec = obj.get("spec") or {}
    engine = BY_KIND[kind]
    version = spec.get("version")
    if not version:
        raise _deny(kind, "spec.version is missing")
    version_changed = old is None or (old.get("spec") or {}).get("version") != version
    if version_changed and lookup(engine.version_kind, str(version)) is None:
        raise _deny(
            kind,
            f"failed to get {engine.version_kind}: {engine.version_plural}."
            f'catalog.kubedb.com "{version}" not found',
        )
    if spec.get("deletionPolicy") == "Halt" and spec.get("storageType") == "Ephemeral":
        raise _deny(kind, "'spec.deletionPolicy: Halt' can not be used for 'Ephemeral' storage")
    if spec.get("halted") and spec.get("deletionPolicy") == "DoNotTerminate":
        raise _deny(
            kind,
            "can't halt, since deletion policy is 'DoNotTerminate'. To halt, change "
            "spec.deletionPolicy",
        )
    if spec.get("storageType", "Durable") == "Durable" and not _storage_request(spec):
        raise _deny(kind, "spec.storage.resources.requests.storage is required for Durable storage")
    _validate_topology(kind, spec)
    if old is not None:
        _validate_immutable(kind, old.get("spec") or {}, spec)


def validate_database_delete(kind: str, obj: Mapping[str, Any]) -> None:
    if (obj.get("spec") or {}).get("deletionPolicy") == "DoNotTerminate":
        meta = obj.get("metadata") or {}
        raise _deny(
            kind,
            f'{kind.lower()} "{meta.get("namespace")}/{meta.get("name")}" can\'t be '
            "terminated. To delete, change spec.deletionPolicy",
        )


def _storage_request(spec: Mapping[str, Any]) -> str | None:
    value = (((spec.get("storage") or {}).get("resources") or {}).get("requests") or {}).get(
        "storage"
    )
    return None if value in (None, "", "0", 0) else str(value)


def _replicas_error(kind: str, spec: Mapping[str, Any], must: str) -> Denied:
    return _deny(
        kind,
        f"spec.replicas \"{spec.get('replicas')}\" invalid for '{topology_name(kind, spec)}' "
        f"instance. Value must be {must}",
    )


def _validate_mongodb(kind: str, spec: Mapping[str, Any], replicas: object) -> None:
    if spec.get("shardTopology"):
        if replicas is not None:
            raise _deny(kind, "spec.replicas must be empty for a sharded MongoDB")
    elif spec.get("replicaSet"):
        if not (spec["replicaSet"] or {}).get("name"):
            raise _deny(kind, "spec.replicaSet.name is required")
        if not isinstance(replicas, int) or replicas < 1:
            raise _replicas_error(kind, spec, "greater than zero")
    elif replicas != 1:
        raise _replicas_error(kind, spec, "one")


def _validate_postgres(kind: str, spec: Mapping[str, Any], replicas: object) -> None:
    if not isinstance(replicas, int) or replicas < 1:
        raise _replicas_error(kind, spec, "greater than zero")


def _validate_mysql(kind: str, spec: Mapping[str, Any], replicas: object) -> None:
    mode = (spec.get("topology") or {}).get("mode")
    if mode == "GroupReplication":
        if not isinstance(replicas, int) or not 3 <= replicas <= 9:
            raise _deny(kind, "Group size can not be less than 3 or greater than 9")
    elif mode is None and replicas != 1:
        raise _replicas_error(kind, spec, "one")


def _validate_mariadb(kind: str, spec: Mapping[str, Any], replicas: object) -> None:
    mode = (spec.get("topology") or {}).get("mode")
    if mode == "GaleraCluster":
        if not isinstance(replicas, int) or replicas < 3 or replicas % 2 == 0:
            raise _replicas_error(kind, spec, "an odd number, three or more")
    elif mode is None and replicas != 1:
        raise _replicas_error(kind, spec, "one")


def _validate_redis(kind: str, spec: Mapping[str, Any], replicas: object) -> None:
    mode = spec.get("mode") or "Standalone"
    if mode == "Standalone" and replicas != 1:
        raise _replicas_error(kind, spec, "one")
    if mode == "Cluster":
        cluster = spec.get("cluster") or {}
        if int(cluster.get("shards", 0)) < 3:
            raise _deny(kind, "spec.cluster.shards must be at least 3")
        if int(cluster.get("replicas", 0)) < 2:
            raise _deny(kind, "spec.cluster.replicas must be greater than 1")
    if mode == "Sentinel" and (not isinstance(replicas, int) or replicas < 1):
        raise _replicas_error(kind, spec, "greater than zero")


# The topology rules per kind; a kind not listed (RedisSentinel) has none.
_TOPOLOGY_RULES: dict[str, Callable[[str, Mapping[str, Any], object], None]] = {
    "MongoDB": _validate_mongodb,
    "Postgres": _validate_postgres,
    "MySQL": _validate_mysql,
    "MariaDB": _validate_mariadb,
    "Redis": _validate_redis,
}


def _validate_topology(kind: str, spec: Mapping[str, Any]) -> None:
    rule = _TOPOLOGY_RULES.get(kind)
    if rule is not None:
        rule(kind, spec, spec.get("replicas"))


_IMMUTABLE: dict[str, tuple[tuple[str, ...], ...]] = {
    "MongoDB": (("storageType",), ("replicaSet", "name")),
    "Postgres": (("storageType",),),
    "MySQL": (("storageType",),),
    "MariaDB": (("storageType",),),
    "Redis": (("storageType",), ("mode",)),
    "RedisSentinel": (("storageType",),),
}


def _get(spec: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = spec
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _validate_immutable(kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    changed = [
        "spec." + ".".join(path) for path in _IMMUTABLE[kind] if _get(old, path) != _get(new, path)
    ]
    if changed:
        raise _deny(
            kind,
            "Preconditions failed for updating " + kind + ": the following fields are "
            "immutable: " + ", ".join(changed),
        )


# --- OpsRequests -------------------------------------------------------------------------


def validate_ops_create(
    kind: str,
    obj: Mapping[str, Any],
    database: Mapping[str, Any] | None,
    lookup: CatalogLookup,
    list_catalog: CatalogList,
) -> None:
    """Validation of a new OpsRequest against its database; raises `Denied` (Invalid)."""
    name = str((obj.get("metadata") or {}).get("name", ""))
    spec = obj.get("spec") or {}
    engine = BY_OPS_KIND[kind]
    op_type = spec.get("type")
    db_name = (spec.get("databaseRef") or {}).get("name")
    if not op_type:
        raise _invalid(kind, name, "spec.type", "Required value")
    if not db_name:
        raise _invalid(kind, name, "spec.databaseRef.name", "Required value")
    if database is None:
        raise _invalid(
            kind,
            name,
            "spec.databaseRef.name",
            f'{engine.plural}.kubedb.com "{db_name}" not found',
        )
    missing = ops_rules.problem(kind, spec)
    if missing is not None:
        raise _invalid(kind, name, missing[0], f'Invalid value: "{name}": {missing[1]}')
    db_spec = database.get("spec") or {}
    if op_type == "UpdateVersion":
        target = (spec.get("updateVersion") or {}).get("targetVersion")
        current = lookup(engine.version_kind, str(db_spec.get("version")))
        topology = (db_spec.get("topology") or {}).get("mode")
        allowed = (
            catalog_rules.update_targets(
                current, list_catalog(engine.version_kind), topology=topology
            )
            if current is not None
            else []
        )
        if not target or target not in allowed:
            raise _invalid(
                kind,
                name,
                "spec.updateVersion.targetVersion",
                f"upgrade from version {db_spec.get('version')} to {target} is not supported",
            )
    elif op_type == "VolumeExpansion":
        expansion = spec.get("volumeExpansion") or {}
        if expansion.get("mode") not in ("Online", "Offline"):
            raise _invalid(kind, name, "spec.volumeExpansion.mode", "Required value")
        desired = next((v for k, v in expansion.items() if k != "mode"), None)
        size = _storage_request(db_spec)
        if desired is None or _quantity(str(desired)) <= _quantity(size or "0"):
            raise _invalid(
                kind,
                name,
                "spec.volumeExpansion",
                f"desired {desired} storage size must be greater than current storage {size}",
            )
    elif op_type == "HorizontalScaling":
        _validate_horizontal(kind, name, spec.get("horizontalScaling") or {}, db_spec, engine.kind)


def validate_ops_update(kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    if old.get("spec") != new.get("spec"):
        name = str((new.get("metadata") or {}).get("name", ""))
        raise _invalid(kind, name, "spec", "field is immutable")


def _validate_horizontal(
    kind: str, name: str, scaling: Mapping[str, Any], db_spec: Mapping[str, Any], db_kind: str
) -> None:
    if db_kind == "Redis":
        if (db_spec.get("mode") or "Standalone") == "Standalone":
            raise _invalid(
                kind,
                name,
                "spec.horizontalScaling",
                "horizontal scaling is not allowed for standalone redis",
            )
        return
    if db_kind == "MySQL":
        member = scaling.get("member")
        if (db_spec.get("topology") or {}).get("mode") != "GroupReplication":
            raise _invalid(
                kind,
                name,
                "spec.horizontalScaling",
                "horizontal scaling is only allowed for group replication",
            )
        if not isinstance(member, int) or not 3 <= member <= 9:
            raise _invalid(
                kind,
                name,
                "spec.horizontalScaling.member",
                "Group size can not be less than 3 or greater than 9",
            )
        return
    if db_kind == "MariaDB":
        member = scaling.get("member")
        if not isinstance(member, int) or member < 3:
            raise _invalid(
                kind,
                name,
                "spec.horizontalScaling.member",
                "member must be three or more for a Galera cluster",
            )
        return
    replicas = scaling.get("replicas")
    if db_kind == "MongoDB" and not db_spec.get("replicaSet"):
        raise _invalid(
            kind,
            name,
            "spec.horizontalScaling.replicas",
            "horizontal scaling of replicas is only allowed for a replica set",
        )
    if not isinstance(replicas, int) or replicas < 1:
        raise _invalid(
            kind, name, "spec.horizontalScaling.replicas", "replicas must be greater than zero"
        )


_SUFFIXES = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
}


def _quantity(text: str) -> float:
    """A Kubernetes quantity ("10Gi", "500M", "1.5Gi") in base units."""
    text = text.strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * _SUFFIXES[suffix]
    try:
        return float(text)
    except ValueError:
        return 0.0


def copy_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(obj))
