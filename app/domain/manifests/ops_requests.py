"""OpsRequests at `ops.kubedb.com/v1alpha1`: how scaling, volume expansion, version updates,
restarts and credential rotation reach KubeDB (DESIGN §3, reference §5).

Each builder takes the database as it is now (`DesiredDatabase` before the change) and the
target, checks the target against the engine's rules, and returns one OpsRequest:

    metadata  name <db>-<type>-<op8>[-<attempt>] (names.ops_request_name), the database's
              system labels plus dbaas.io/operation-id
    spec      type, databaseRef{name}, apply, [timeout], and the block for the type with the
              engine's field names (§5.3):
              HorizontalScaling  horizontalScaling{replicas | member | shards+replicas}
              VerticalScaling    verticalScaling{<component>{resources}}
              VolumeExpansion    volumeExpansion{mode, <component>: "<n>Gi"}
              UpdateVersion      updateVersion{targetVersion}
              Restart            restart{}  (apply: Always: it is the remedy for stuck pods)
              RotateAuth         [authentication{secretRef{kind: Secret, name}}]

Component keys: Postgres `postgres`, MySQL `mysql`, MariaDB `mariadb`, Redis `redis`, MongoDB
`standalone` or `replicaSet` (from the engine table). An OpsRequest spec is immutable, so a
retry after Failed is a new request: pass `attempt` > 1 to get a new name. Builders must not
check what only the cluster knows (catalog update paths, StorageClass expansion): the webhook
does, and its denial reaches the operation as a permanent error.
"""

from __future__ import annotations

from enum import StrEnum

from app.domain import engines, errors, sizes, validation
from app.domain.manifests import JsonObject, labels, names
from app.domain.manifests.desired import DesiredDatabase
from app.domain.operations import OperationType
from app.domain.sizes import SizePlan


class OpsRequestType(StrEnum):
    HORIZONTAL_SCALING = "HorizontalScaling"
    VERTICAL_SCALING = "VerticalScaling"
    VOLUME_EXPANSION = "VolumeExpansion"
    UPDATE_VERSION = "UpdateVersion"
    RESTART = "Restart"
    ROTATE_AUTH = "RotateAuth"

    @property
    def abbreviation(self) -> str:
        """The type's part of an OpsRequest name."""
        return _ABBREVIATIONS[self]


_ABBREVIATIONS = {
    OpsRequestType.HORIZONTAL_SCALING: "hscale",
    OpsRequestType.VERTICAL_SCALING: "vscale",
    OpsRequestType.VOLUME_EXPANSION: "expand",
    OpsRequestType.UPDATE_VERSION: "upgrade",
    OpsRequestType.RESTART: "restart",
    OpsRequestType.ROTATE_AUTH: "rotate",
}

# The operation types that run as one OpsRequest (the rest touch the CR, or combine several).
FOR_OPERATION: dict[OperationType, OpsRequestType] = {
    OperationType.SCALE_HORIZONTAL: OpsRequestType.HORIZONTAL_SCALING,
    OperationType.SCALE_VERTICAL: OpsRequestType.VERTICAL_SCALING,
    OperationType.EXPAND_STORAGE: OpsRequestType.VOLUME_EXPANSION,
    OperationType.UPGRADE_VERSION: OpsRequestType.UPDATE_VERSION,
    OperationType.RESTART: OpsRequestType.RESTART,
    OperationType.ROTATE_CREDENTIALS: OpsRequestType.ROTATE_AUTH,
}


class Apply(StrEnum):
    """`spec.apply`: IfReady waits for a Ready database; Always runs regardless."""

    IF_READY = "IfReady"
    ALWAYS = "Always"


class VolumeExpansionMode(StrEnum):
    ONLINE = "Online"
    OFFLINE = "Offline"


def ops_request_name(
    db: DesiredDatabase, ops_type: OpsRequestType, *, operation_id: str, attempt: int = 1
) -> str:
    return names.ops_request_name(
        db.name, ops_type.abbreviation, operation_id=operation_id, attempt=attempt
    )


def horizontal_scaling(
    db: DesiredDatabase,
    *,
    operation_id: str,
    replicas: int,
    shards: int | None = None,
    attempt: int = 1,
    timeout: str | None = None,
) -> JsonObject:
    """Change the member count (and, for Redis Cluster, the shard count)."""
    topology = db.topology_spec
    field = topology.horizontal_field
    if field is None:
        raise errors.InvalidTopology(
            "replicas",
            f"horizontal scaling is not available for a {topology.title}; "
            "its topology is chosen at creation",
        )
    validation.check_replicas(db.engine, replicas, topology=topology)
    block: JsonObject = {}
    if topology.shards is not None:
        shards = validation.check_shards(db.engine, shards, topology=topology)
        assert shards is not None and db.shards is not None
        if (shards - db.shards) * (replicas - db.replicas) < 0:
            raise errors.InvalidValue(
                "shards",
                "a Redis Cluster cannot gain shards and lose replicas (or the reverse) "
                "in one scaling; scale them one at a time",
            )
        if shards != db.shards:
            block["shards"] = shards
    elif shards is not None:
        raise errors.InvalidTopology("shards", f"a {topology.title} has no shards")
    if replicas != db.replicas:
        block[field] = replicas
    if not block:
        raise errors.InvalidValue("replicas", f"{db.name} already has {replicas} replicas")
    return _ops_request(
        db,
        OpsRequestType.HORIZONTAL_SCALING,
        operation_id=operation_id,
        block={"horizontalScaling": block},
        attempt=attempt,
        timeout=timeout,
    )


def vertical_scaling(
    db: DesiredDatabase,
    *,
    operation_id: str,
    size: SizePlan,
    attempt: int = 1,
    timeout: str | None = None,
) -> JsonObject:
    """Move the database pods to another size plan (restart mode, KubeDB's default)."""
    component = db.topology_spec.ops_component
    block: JsonObject = {component: {"resources": sizes.resources(size)}}
    return _ops_request(
        db,
        OpsRequestType.VERTICAL_SCALING,
        operation_id=operation_id,
        block={"verticalScaling": block},
        attempt=attempt,
        timeout=timeout,
    )


def volume_expansion(
    db: DesiredDatabase,
    *,
    operation_id: str,
    storage_gb: int,
    mode: VolumeExpansionMode = VolumeExpansionMode.ONLINE,
    attempt: int = 1,
    timeout: str | None = None,
) -> JsonObject:
    """Grow every data volume to `storage_gb` (never shrinks: KubeDB needs strictly more)."""
    validation.check_storage_growth(db.storage_gb, storage_gb)
    component = db.topology_spec.ops_component
    block: JsonObject = {"mode": VolumeExpansionMode(mode).value, component: f"{storage_gb}Gi"}
    return _ops_request(
        db,
        OpsRequestType.VOLUME_EXPANSION,
        operation_id=operation_id,
        block={"volumeExpansion": block},
        attempt=attempt,
        timeout=timeout,
    )


def update_version(
    db: DesiredDatabase,
    *,
    operation_id: str,
    target_version: str,
    attempt: int = 1,
    timeout: str | None = None,
) -> JsonObject:
    """Update to `target_version`, a catalog object name the update path allows (§4)."""
    if not target_version:
        raise errors.InvalidValue("target_version", "target_version must name a catalog version")
    if target_version == db.version:
        raise errors.InvalidValue("target_version", f"{db.name} already runs {target_version}")
    return _ops_request(
        db,
        OpsRequestType.UPDATE_VERSION,
        operation_id=operation_id,
        block={"updateVersion": {"targetVersion": target_version}},
        attempt=attempt,
        timeout=timeout,
    )


def restart(
    db: DesiredDatabase, *, operation_id: str, attempt: int = 1, timeout: str | None = None
) -> JsonObject:
    return _ops_request(
        db,
        OpsRequestType.RESTART,
        operation_id=operation_id,
        block={"restart": {}},
        attempt=attempt,
        timeout=timeout,
        apply=Apply.ALWAYS,
    )


def rotate_auth(
    db: DesiredDatabase,
    *,
    operation_id: str,
    secret_name: str | None = None,
    attempt: int = 1,
    timeout: str | None = None,
) -> JsonObject:
    """New credentials: from `secret_name` (made beforehand), else KubeDB generates them."""
    block: JsonObject = {}
    if secret_name is not None:
        validation.check_dns_label(secret_name, field="secret_name")
        block["authentication"] = {"secretRef": {"kind": "Secret", "name": secret_name}}
    return _ops_request(
        db,
        OpsRequestType.ROTATE_AUTH,
        operation_id=operation_id,
        block=block,
        attempt=attempt,
        timeout=timeout,
    )


def _ops_request(
    db: DesiredDatabase,
    ops_type: OpsRequestType,
    *,
    operation_id: str,
    block: JsonObject,
    attempt: int,
    timeout: str | None,
    apply: Apply = Apply.IF_READY,
) -> JsonObject:
    validation.check_dns_label(operation_id, field="operation_id")  # it becomes a label value
    spec: JsonObject = {"type": ops_type.value, "databaseRef": {"name": db.name}}
    spec.update(block)
    spec["apply"] = apply.value
    if timeout is not None:
        spec["timeout"] = timeout
    metadata_labels = labels.system_labels(
        database_id=db.database_id, domain=db.domain, project=db.project
    )
    metadata_labels[labels.OPERATION_ID_KEY] = operation_id
    return {
        "apiVersion": engines.OPS_API_VERSION,
        "kind": db.engine_spec.ops_kind,
        "metadata": {
            "name": ops_request_name(db, ops_type, operation_id=operation_id, attempt=attempt),
            "namespace": db.namespace,
            "labels": metadata_labels,
        },
        "spec": spec,
    }
