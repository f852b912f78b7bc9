"""What KubeDB creates for a database, and what it does to those objects on halt and on
deletion (reference §1.5, §1.6, §1.8, §3.2).

Per database: one PetSet per node group (`<db>`; sharded MongoDB `<db>-shard<i>`,
`<db>-configsvr`, `<db>-mongos`; Redis Cluster `<db>-shard<i>`), whose controller
(`petsets`) makes the pods `<petset>-<i>` and the PVCs `<claim>-<pod>` (claim `data`,
MongoDB `datadir`); the primary Service `<db>`, the governing headless `<db>-pods` and, for
engines with standbys, `<db>-standby`; the AppBinding `<db>`; the auth Secret (created by
the provisioner) and, when the spec carries a configuration, the config Secret
`<db>-<last six characters of its uid>` (KubeDB keeps configuration in Secrets; it makes no
ConfigMap for these engines). Everything but the PVCs carries the database as controlling
owner (`controller: true`, `blockOwnerDeletion: true`, as `metav1.NewControllerRef` sets
it); the PVCs come from the PetSet's claim templates and have no owner.

Deletion is KubeDB's `deletion.Do`: the operator only moves ownerReferences and lets the
garbage collector delete. Halt (and DoNotTerminate) removes the database from the PVCs' and
persistent secrets' owners, so they stay; Delete makes it the PVCs' owner (they go) and
removes it from the secrets (they stay); WipeOut makes it the owner of both. The PetSets,
Services and AppBinding go with the database through their ownerReferences.

This module does not step conditions or count time; the provisioner does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.kubedb.engines import DB_GROUP, DB_VERSION, Engine

PETSET_API = "apps.k8s.appscode.com/v1"
APPBINDING_API = "appcatalog.appscode.com/v1alpha1"
KEEP_ON = "kubedb.com/resource-policy-keep-on"
ROLE = "kubedb.com/role"
PETSET_LABEL = "kubedb.com/petset"
DATAPLANE_MODE = "dataplane.simulator.kubedb-dbaas.io/mode"
DEFAULT_RESOURCES = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}


@dataclass(frozen=True, slots=True)
class Group:
    """One PetSet of a database."""

    name: str
    replicas: int
    storage: str | None
    """The PVC size; None: no PVCs (mongos, `storageType: Ephemeral`)."""
    roles: bool
    """Its pods carry `kubedb.com/role` (primary/standby services select on it)."""


def labels(engine: Engine, name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": f"{engine.plural}.kubedb.com",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "kubedb.com",
        "app.kubernetes.io/component": "database",
    }


def owner_ref(engine: Engine, db: dict[str, Any]) -> dict[str, Any]:
    md = db["metadata"]
    return {
        "apiVersion": f"{DB_GROUP}/{DB_VERSION}",
        "kind": engine.kind,
        "name": md["name"],
        "uid": md["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def claim_name(engine: Engine) -> str:
    return "datadir" if engine.kind == "MongoDB" else "data"


def _size(storage: Any) -> str | None:
    size = ((storage or {}).get("resources") or {}).get("requests", {}).get("storage")
    return None if size is None else str(size)


def groups(engine: Engine, db: dict[str, Any]) -> list[Group]:
    name, spec = db["metadata"]["name"], db.get("spec") or {}
    durable = spec.get("storageType", "Durable") != "Ephemeral"
    size = _size(spec.get("storage")) if durable else None
    shards = spec.get("shardTopology") or {}
    if engine.kind == "MongoDB" and shards:
        shard = shards.get("shard") or {}
        config = shards.get("configServer") or {}
        return [
            *(
                Group(
                    f"{name}-shard{i}",
                    int(shard.get("replicas", 1)),
                    _size(shard.get("storage")),
                    True,
                )
                for i in range(int(shard.get("shards", 1)))
            ),
            Group(
                f"{name}-configsvr",
                int(config.get("replicas", 1)),
                _size(config.get("storage")),
                True,
            ),
            Group(
                f"{name}-mongos", int((shards.get("mongos") or {}).get("replicas", 1)), None, False
            ),
        ]
    if engine.kind == "Redis" and spec.get("mode") == "Cluster":
        cluster = spec.get("cluster") or {}
        return [
            Group(f"{name}-shard{i}", int(cluster.get("replicas", 2)), size, True)
            for i in range(int(cluster.get("shards", 3)))
        ]
    return [
        Group(
            name,
            int(spec.get("replicas") or 1),
            size,
            engine.has_standby or bool(spec.get("replicaSet")),
        )
    ]


def pod_names(group: Group) -> list[str]:
    return [f"{group.name}-{i}" for i in range(group.replicas)]


def petset(engine: Engine, db: dict[str, Any], group: Group, image: str) -> dict[str, Any]:
    namespace, name = db["metadata"]["namespace"], db["metadata"]["name"]
    selector = {**labels(engine, name), PETSET_LABEL: group.name}
    spec: dict[str, Any] = {
        "replicas": group.replicas,
        "serviceName": f"{name}-pods",
        "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": selector},
            "spec": {
                "serviceAccountName": name,
                "containers": [
                    {"name": engine.container, "image": image, "resources": _resources(engine, db)}
                ],
            },
        },
        "persistentVolumeClaimRetentionPolicy": {"whenScaled": "Delete", "whenDeleted": "Retain"},
    }
    if group.roles:
        spec["template"]["metadata"]["annotations"] = {"kubedb.com/roles": "primary,standby"}
    if group.storage:
        storage = dict((db.get("spec") or {}).get("storage") or {})
        spec["volumeClaimTemplates"] = [
            {
                "metadata": {"name": claim_name(engine), "labels": selector},
                "spec": {
                    "accessModes": storage.get("accessModes") or ["ReadWriteOnce"],
                    "storageClassName": storage.get("storageClassName") or "standard",
                    "resources": {"requests": {"storage": group.storage}},
                },
            }
        ]
    return {
        "apiVersion": PETSET_API,
        "kind": "PetSet",
        "metadata": {
            "name": group.name,
            "namespace": namespace,
            "labels": labels(engine, name),
            "ownerReferences": [owner_ref(engine, db)],
        },
        "spec": spec,
    }


def _resources(engine: Engine, db: dict[str, Any]) -> dict[str, Any]:
    containers = ((db.get("spec") or {}).get("podTemplate") or {}).get("spec", {}).get("containers")
    for container in containers or ():
        if container.get("name") == engine.container and container.get("resources"):
            return dict(container["resources"])
    return DEFAULT_RESOURCES


def appbinding(engine: Engine, db: dict[str, Any], secret_name: str | None) -> dict[str, Any]:
    namespace, name = db["metadata"]["namespace"], db["metadata"]["name"]
    spec: dict[str, Any] = {
        "type": f"kubedb.com/{engine.kind.lower()}",
        "version": _upstream_version(db),
        "appRef": {"apiGroup": DB_GROUP, "kind": engine.kind, "name": name, "namespace": namespace},
        "clientConfig": {
            "service": {
                "name": name if engine.kind != "Kafka" else f"{name}-pods",
                "port": engine.port,
                "scheme": _scheme(engine),
            }
        },
    }
    if secret_name:
        spec["secret"] = {"name": secret_name}
    return {
        "apiVersion": APPBINDING_API,
        "kind": "AppBinding",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels(engine, name),
            # The embedded cluster's data plane turns it "real" when a server runs.
            "annotations": {DATAPLANE_MODE: "modelled"},
            "ownerReferences": [owner_ref(engine, db)],
        },
        "spec": spec,
    }


def _upstream_version(db: dict[str, Any]) -> str:
    return str((db.get("spec") or {}).get("version", ""))


def _scheme(engine: Engine) -> str:
    return {
        "MongoDB": "mongodb",
        "Postgres": "postgresql",
        "MySQL": "mysql",
        "MariaDB": "mysql",
        "Redis": "redis",
        "RedisSentinel": "redis",
    }.get(engine.kind, "tcp")


def auth_secret_name(db: dict[str, Any]) -> str | None:
    auth = (db.get("spec") or {}).get("authSecret") or {}
    if auth.get("externallyManaged") or (db.get("spec") or {}).get("disableAuth"):
        return None
    return str(auth.get("name") or f"{db['metadata']['name']}-auth")


def config_secret_name(db: dict[str, Any]) -> str | None:
    spec = db.get("spec") or {}
    if not spec.get("configuration") and not spec.get("configSecret"):
        return None
    uid = str(db["metadata"].get("uid", ""))
    return f"{db['metadata']['name']}-{uid[-6:]}"


def service_names(engine: Engine, name: str) -> list[str]:
    names = [name, f"{name}-pods"]
    if engine.has_standby:
        names.append(f"{name}-standby")
    return names
