"""Structural schemas of the OpsRequest kinds (`ops.kubedb.com/v1alpha1`) and the catalog
kinds (`catalog.kubedb.com/v1alpha1`), written from KubeDB's Go types (apis/ops/v1alpha1,
apis/catalog/v1alpha1) and the reference (§4, §5): each engine's `spec.type` enum, the
per-type blocks with the engine's component names, `apply`, `timeout`; the catalog's
required images. Blocks a control plane never sends (migration, archiver, horizons, ...)
are kept whole.
"""

from __future__ import annotations

from typing import Any

from simulator.extensions import schema as s
from simulator.kubedb.schemas import condition, name_ref

Schema = dict[str, Any]

_COMMON_TYPES = (
    "UpdateVersion",
    "HorizontalScaling",
    "VerticalScaling",
    "VolumeExpansion",
    "Restart",
    "Reconfigure",
    "ReconfigureTLS",
    "RotateAuth",
)

# Per OpsRequest kind: its extra types, horizontal fields, vertical/volume/config components.
OPS_TYPES: dict[str, tuple[str, ...]] = {
    "PostgresOpsRequest": (
        *_COMMON_TYPES,
        "ReconnectStandby",
        "ForceFailOver",
        "SetRaftKeyPair",
        "StorageMigration",
    ),
    "MySQLOpsRequest": (*_COMMON_TYPES, "ReplicationModeTransformation", "StorageMigration"),
    "MariaDBOpsRequest": (*_COMMON_TYPES, "StorageMigration"),
    "MongoDBOpsRequest": (*_COMMON_TYPES, "Reprovision", "Horizons", "StorageMigration"),
    "RedisOpsRequest": (*_COMMON_TYPES, "ReplaceSentinel", "Announce", "StorageMigration"),
}

_HORIZONTAL: dict[str, dict[str, Schema]] = {
    "PostgresOpsRequest": {
        "replicas": s.integer(),
        "standbyMode": s.string(enum=("Hot", "Warm")),
        "streamingMode": s.string(enum=("Synchronous", "Asynchronous")),
        "readReplicas": s.array(s.any_object()),
    },
    "MySQLOpsRequest": {"member": s.integer("group size, 3 to 9")},
    "MariaDBOpsRequest": {
        "member": s.integer("cluster size"),
        "maxscale": s.boolean(),
        "memberWeight": s.integer(),
    },
    "MongoDBOpsRequest": {
        "replicas": s.integer(),
        "shard": s.any_object(),
        "configServer": s.any_object(),
        "mongos": s.any_object(),
        "hidden": s.any_object(),
    },
    "RedisOpsRequest": {
        "shards": s.integer(),
        "replicas": s.integer(),
        "announce": s.any_object(),
    },
}

# (pod components, volume components, container components)
_COMPONENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "PostgresOpsRequest": (("postgres", "arbiter"), ("postgres", "arbiter")),
    "MySQLOpsRequest": (("mysql",), ("mysql",)),
    "MariaDBOpsRequest": (("mariadb", "maxscale"), ("mariadb", "maxscale")),
    "MongoDBOpsRequest": (
        ("standalone", "replicaSet", "mongos", "configServer", "shard", "arbiter", "hidden"),
        ("standalone", "replicaSet", "configServer", "shard", "hidden"),
    ),
    "RedisOpsRequest": (("redis",), ("redis",)),
}


def _pod_resources() -> Schema:
    return s.obj(
        {
            "nodeSelectionPolicy": s.string(),
            "topology": s.obj({"key": s.string(), "value": s.string()}),
            "resources": s.resources(),
        }
    )


def _vertical(kind: str) -> Schema:
    pods, _ = _COMPONENTS[kind]
    fields: dict[str, Schema] = {name: _pod_resources() for name in pods}
    fields["exporter"] = s.obj({"resources": s.resources()})
    fields["coordinator"] = s.obj({"resources": s.resources()})
    fields["mode"] = s.string(enum=("Restart", "InPlace"))
    if kind == "PostgresOpsRequest":
        fields["readReplicas"] = s.array(s.any_object())
    return s.obj(fields, description="New resources per component.")


def _volume(kind: str) -> Schema:
    _, volumes = _COMPONENTS[kind]
    fields: dict[str, Schema] = {name: s.int_or_string("the new size") for name in volumes}
    fields["mode"] = s.string(enum=("Offline", "Online"))
    return s.obj(fields, required=("mode",), description="Grow the data volumes.")


def _reconfiguration() -> dict[str, Schema]:
    return {
        "configSecret": name_ref("secret with the new configuration"),
        "applyConfig": s.strings_map("file name -> content to merge"),
        "removeCustomConfig": s.boolean(),
        "restart": s.string(enum=("auto", "true", "false")),
    }


def _configuration(kind: str) -> Schema:
    if kind == "MongoDBOpsRequest":
        pods, _ = _COMPONENTS[kind]
        return s.obj({name: s.obj(_reconfiguration()) for name in pods})
    fields = _reconfiguration()
    if kind == "PostgresOpsRequest":
        fields["tuning"] = s.any_object()
    if kind == "RedisOpsRequest":
        fields["auth"] = s.any_object()
    return s.obj(fields, description="The new configuration.")


def _tls(kind: str) -> Schema:
    fields: dict[str, Schema] = {
        "issuerRef": s.obj(
            {"apiGroup": s.string(), "kind": s.string(), "name": s.string()},
            required=("kind", "name"),
        ),
        "certificates": s.array(s.any_object()),
        "rotateCertificates": s.boolean(),
        "remove": s.boolean(),
    }
    if kind == "PostgresOpsRequest":
        fields["sslMode"] = s.string()
        fields["clientAuthMode"] = s.string()
    if kind in ("MySQLOpsRequest", "MariaDBOpsRequest"):
        fields["requireSSL"] = s.boolean()
    return s.obj(fields)


_EXTRA_BLOCKS: dict[str, tuple[str, ...]] = {
    "PostgresOpsRequest": ("reconnectStandby", "forceFailOver", "setRaftKeyPair", "migration"),
    "MySQLOpsRequest": ("replicationModeTransformation", "migration"),
    "MariaDBOpsRequest": ("migration",),
    "MongoDBOpsRequest": (
        "reprovision",
        "archiver",
        "horizons",
        "migration",
        "readinessCriteria",
    ),
    "RedisOpsRequest": ("announce", "sentinel", "migration"),
}


def ops_request(kind: str) -> Schema:
    spec: dict[str, Schema] = {
        "databaseRef": name_ref("database"),
        "type": s.string("the operation", enum=OPS_TYPES[kind]),
        "updateVersion": s.obj(
            {
                "targetVersion": s.string("catalog object to update to"),
                "readinessCriteria": s.any_object(),
            }
        ),
        "horizontalScaling": s.obj(_HORIZONTAL[kind], description="New member counts."),
        "verticalScaling": _vertical(kind),
        "volumeExpansion": _volume(kind),
        "configuration": _configuration(kind),
        "tls": _tls(kind),
        "authentication": s.obj(
            {"secretRef": s.obj({"name": s.string(), "kind": s.string(), "apiGroup": s.string()})},
            description="Where the new credentials are (else KubeDB generates them).",
        ),
        "restart": s.obj(),
        "timeout": s.string("how long each step may take, e.g. 5m"),
        "apply": s.string("IfReady waits for a Ready database", enum=("IfReady", "Always")),
        "maxRetries": s.integer(),
    }
    for block in _EXTRA_BLOCKS[kind]:
        spec[block] = s.any_object()
    status = s.obj(
        {
            "phase": s.string(
                enum=(
                    "Pending",
                    "Progressing",
                    "Successful",
                    "WaitingForApproval",
                    "Failed",
                    "Approved",
                    "Denied",
                    "Skipped",
                )
            ),
            "observedGeneration": s.integer(fmt="int64"),
            "conditions": s.array(condition()),
            "pausedBackups": s.array(s.any_object()),
        }
    )
    return s.obj(
        {
            "spec": s.obj(dict(sorted(spec.items())), required=("databaseRef", "type")),
            "status": status,
        },
        description=f"A day-2 operation on a {kind.removesuffix('OpsRequest')} database.",
    )


# --- catalog -------------------------------------------------------------------------------

_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "PostgresVersion": (
        "Official",
        "TimescaleDB",
        "PostGIS",
        "KubeDB",
        "DocumentDB",
        "PostgreSQL",
        "Percona",
    ),
    "MongoDBVersion": ("Official", "Percona", "KubeDB", "MongoDB"),
    "MySQLVersion": ("Official", "Oracle", "Percona", "KubeDB", "MySQL"),
    "RedisVersion": ("Official", "Valkey"),
}

CATALOG_REQUIRED: dict[str, tuple[str, ...]] = {
    "PostgresVersion": ("coordinator", "db", "exporter", "podSecurityPolicies", "version"),
    "MongoDBVersion": (
        "db",
        "exporter",
        "initContainer",
        "podSecurityPolicies",
        "replicationModeDetector",
        "version",
    ),
    "MySQLVersion": (
        "coordinator",
        "db",
        "exporter",
        "initContainer",
        "podSecurityPolicies",
        "version",
    ),
    "MariaDBVersion": (
        "coordinator",
        "db",
        "exporter",
        "initContainer",
        "podSecurityPolicies",
        "version",
    ),
    "RedisVersion": ("coordinator", "db", "exporter", "podSecurityPolicies", "version"),
}
"""The images and fields each catalog kind requires (KubeDB's catalog CRDs)."""


def _image(what: str) -> Schema:
    return s.obj({"image": s.string(f"the {what} image")}, required=("image",))


def _constraints(kind: str) -> Schema:
    if kind == "MySQLVersion":
        lists = s.obj({"groupReplication": s.array(s.string()), "standalone": s.array(s.string())})
        return s.obj({"allowlist": lists, "denylist": lists})
    return s.obj(
        {
            "allowlist": s.array(s.string(), "semver constraints a version may update to"),
            "denylist": s.array(s.string()),
        }
    )


def catalog_version(kind: str) -> Schema:
    spec: dict[str, Schema] = {
        "version": s.string("the engine version this entry runs"),
        "db": _image("database"),
        "exporter": _image("metrics exporter"),
        "coordinator": _image("coordinator sidecar"),
        "initContainer": _image("init container"),
        "replicationModeDetector": _image("replication mode detector"),
        "podSecurityPolicies": s.obj(
            {"databasePolicyName": s.string()}, required=("databasePolicyName",)
        ),
        "deprecated": s.boolean("no new databases on this version"),
        "endOfLife": s.boolean(),
        "updateConstraints": _constraints(kind),
        "securityContext": s.any_object(),
        "archiver": s.any_object(),
        "stash": s.any_object(),
        "ui": s.array(s.any_object()),
        "gitSyncer": s.any_object(),
        "courier": s.any_object(),
        "tls": s.any_object(),
    }
    if kind in _DISTRIBUTIONS:
        spec["distribution"] = s.string(enum=_DISTRIBUTIONS[kind])
    if kind == "MySQLVersion":
        spec["router"] = _image("router")
        spec["routerInitContainer"] = _image("router init container")
    return s.obj(
        {"spec": s.obj(dict(sorted(spec.items())), required=CATALOG_REQUIRED[kind])},
        description=f"A {kind.removesuffix('Version')} version KubeDB can run.",
    )
