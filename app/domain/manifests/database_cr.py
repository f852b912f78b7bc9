"""Database custom resources at `kubedb.com/v1`, built from a `DesiredDatabase`, and the merge
patches for the spec fields this platform may change directly.

Shapes follow reference/kubedb-api.md §1.2 to §1.6: `storageType: Durable` with
`storage.resources.requests.storage`; resources on the named database container in
`podTemplate.spec.containers[]` (the v1 shape: there is no `podTemplate.spec.resources`);
`deletionPolicy`, `halted`, `monitor`, `authSecret`; one block per HA topology:

    Postgres streaming     replicas, standbyMode: Hot, streamingMode: Asynchronous
    MySQL group repl.      replicas, topology{mode: GroupReplication, group{mode: Single-Primary}}
    MariaDB Galera         replicas, topology{mode: GaleraCluster}
    MongoDB replica set    replicas, replicaSet{name: rs0}
    Redis                  mode: Standalone + replicas 1 | mode: Sentinel + replicas + sentinelRef
                           | mode: Cluster + cluster{shards, replicas} (no spec.replicas)

A Redis Sentinel database needs its RedisSentinel CR first; `manifests_for` returns both in
creation order. Fields an OpsRequest owns (replicas, resources, version, storage size) are set
here only at creation; afterwards they change through `ops_requests`, never through a patch
from this module (DESIGN §3, reference §7.1). It must not grow a patch for an ops-owned field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from app.domain import engines, sizes
from app.domain.engines import Topology
from app.domain.manifests import JsonObject, labels, names
from app.domain.manifests.desired import DeletionPolicy, DesiredDatabase

STORAGE_TYPE = "Durable"
ACCESS_MODES = ("ReadWriteOnce",)
POSTGRES_STANDBY_MODE = "Hot"
POSTGRES_STREAMING_MODE = "Asynchronous"
MYSQL_GROUP_MODE = "Single-Primary"
SENTINEL_STORAGE = "1Gi"


@dataclass(frozen=True, slots=True)
class MonitoringConfig:
    """How `spec.monitor` is filled when monitoring is on (§1.2): the Prometheus agent, and for
    `prometheus.io/operator` the ServiceMonitor's labels (to match the Prometheus selector) and
    scrape interval. The exporter keeps KubeDB's default port (56790)."""

    agent: str = "prometheus.io/operator"
    service_monitor_labels: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    interval: str = "30s"


DEFAULT_MONITORING = MonitoringConfig()


def database_manifest(
    db: DesiredDatabase, *, monitoring: MonitoringConfig = DEFAULT_MONITORING
) -> JsonObject:
    """The database CR for `db` (kind per engine, `kubedb.com/v1`)."""
    spec = db.engine_spec
    body: JsonObject = {"version": db.version}
    body.update(_topology_fields(db))
    body["storageType"] = STORAGE_TYPE
    body["storage"] = _storage(db, f"{db.storage_gb}Gi")
    body["podTemplate"] = {
        "spec": {"containers": [{"name": spec.container, "resources": sizes.resources(db.size)}]}
    }
    if db.auth_secret_name is not None:
        # Made by the platform from the user's credentials; KubeDB manages it from then on
        # (rotation, WipeOut), so it is not `externallyManaged` (reference §3.1).
        body["authSecret"] = {"name": db.auth_secret_name}
    body["deletionPolicy"] = db.effective_deletion_policy.value
    body["halted"] = db.halted
    if db.monitoring_enabled:
        body["monitor"] = _monitor(monitoring)
    return {
        "apiVersion": engines.KUBEDB_API_VERSION,
        "kind": spec.kind,
        "metadata": _metadata(db, db.name, user_labels=True),
        "spec": body,
    }


def sentinel_manifest(
    db: DesiredDatabase, *, monitoring: MonitoringConfig = DEFAULT_MONITORING
) -> JsonObject:
    """The RedisSentinel CR watching a Redis Sentinel database (same version, own PVCs)."""
    if db.topology is not Topology.SENTINEL:
        raise ValueError(f"{db.name} is a {db.topology_spec.title}, not a Redis Sentinel group")
    body: JsonObject = {
        "version": db.version,
        "replicas": engines.REDIS_SENTINEL_REPLICAS,
        "storageType": STORAGE_TYPE,
        "storage": _storage(db, SENTINEL_STORAGE),
        # The sentinels do not halt with the database: they keep no data worth pausing for.
        "deletionPolicy": db.deletion_policy.value,
    }
    if db.monitoring_enabled:
        body["monitor"] = _monitor(monitoring)
    return {
        "apiVersion": engines.KUBEDB_API_VERSION,
        "kind": engines.REDIS_SENTINEL.kind,
        "metadata": _metadata(db, names.sentinel_name(db.name), user_labels=False),
        "spec": body,
    }


def manifests_for(
    db: DesiredDatabase, *, monitoring: MonitoringConfig = DEFAULT_MONITORING
) -> tuple[JsonObject, ...]:
    """Every CR `db` needs, in creation order (delete in reverse)."""
    main = database_manifest(db, monitoring=monitoring)
    if db.topology is Topology.SENTINEL:
        return (sentinel_manifest(db, monitoring=monitoring), main)
    return (main,)


def halt_patch(db: DesiredDatabase, *, halted: bool) -> JsonObject:
    """Merge patch for pause (`halted: true`) and resume. KubeDB forces `deletionPolicy: Halt`
    while halted, so resuming puts the chosen policy back."""
    target = db.replace(halted=halted)
    return {"spec": {"halted": halted, "deletionPolicy": target.effective_deletion_policy.value}}


def deletion_policy_patch(policy: DeletionPolicy) -> JsonObject:
    """Set before a delete when the policy chosen then differs from the stored one."""
    return {"spec": {"deletionPolicy": DeletionPolicy(policy).value}}


def monitor_patch(
    enabled: bool, *, monitoring: MonitoringConfig = DEFAULT_MONITORING
) -> JsonObject:
    """Turn `spec.monitor` on or off (`null` removes it in a merge patch)."""
    return {"spec": {"monitor": _monitor(monitoring) if enabled else None}}


def metadata_patch(previous: DesiredDatabase, desired: DesiredDatabase) -> JsonObject:
    """Merge patch moving user labels and annotations from `previous` to `desired`; keys the
    user dropped become `null`, keys others put on the object are left alone."""
    current = _labels(previous, user_labels=True)
    wanted = _labels(desired, user_labels=True)
    return {
        "metadata": {
            "labels": _mapping_diff(current, wanted),
            "annotations": _mapping_diff(dict(previous.annotations), dict(desired.annotations)),
        }
    }


def _topology_fields(db: DesiredDatabase) -> JsonObject:
    topology = db.topology
    if topology is Topology.STANDALONE:
        if db.engine is engines.Engine.REDIS:
            return {"mode": "Standalone", "replicas": 1}
        return {"replicas": 1}
    if topology is Topology.STREAMING_REPLICATION:
        return {
            "replicas": db.replicas,
            "standbyMode": POSTGRES_STANDBY_MODE,
            "streamingMode": POSTGRES_STREAMING_MODE,
        }
    if topology is Topology.GROUP_REPLICATION:
        return {
            "replicas": db.replicas,
            "topology": {"mode": "GroupReplication", "group": {"mode": MYSQL_GROUP_MODE}},
        }
    if topology is Topology.GALERA:
        return {"replicas": db.replicas, "topology": {"mode": "GaleraCluster"}}
    if topology is Topology.REPLICA_SET:
        return {"replicas": db.replicas, "replicaSet": {"name": engines.MONGODB_REPLICA_SET_NAME}}
    if topology is Topology.SENTINEL:
        return {
            "mode": "Sentinel",
            "replicas": db.replicas,
            "sentinelRef": {"name": names.sentinel_name(db.name), "namespace": db.namespace},
        }
    if topology is Topology.CLUSTER:
        # v1 counts the master in cluster.replicas; spec.replicas is unused in Cluster mode.
        return {"mode": "Cluster", "cluster": {"shards": db.shards, "replicas": db.replicas}}
    raise AssertionError(f"no manifest shape for topology {topology}")


def _storage(db: DesiredDatabase, size: str) -> JsonObject:
    storage: JsonObject = {
        "accessModes": list(ACCESS_MODES),
        "resources": {"requests": {"storage": size}},
    }
    if db.storage_class is not None:
        storage["storageClassName"] = db.storage_class
    return storage


def _monitor(monitoring: MonitoringConfig) -> JsonObject:
    prometheus: JsonObject = {}
    if monitoring.agent == "prometheus.io/operator":
        prometheus["serviceMonitor"] = {
            "labels": dict(monitoring.service_monitor_labels),
            "interval": monitoring.interval,
        }
    monitor: JsonObject = {"agent": monitoring.agent}
    if prometheus:
        monitor["prometheus"] = prometheus
    return monitor


def _labels(db: DesiredDatabase, *, user_labels: bool) -> dict[str, str]:
    ids = {"database_id": db.database_id, "domain": db.domain, "project": db.project}
    if user_labels:
        return labels.with_system_labels(db.labels, **ids)
    return labels.system_labels(**ids)


def _metadata(db: DesiredDatabase, name: str, *, user_labels: bool) -> JsonObject:
    metadata: JsonObject = {
        "name": name,
        "namespace": db.namespace,
        "labels": _labels(db, user_labels=user_labels),
    }
    if user_labels and db.annotations:
        metadata["annotations"] = dict(db.annotations)
    return metadata


def _mapping_diff(current: Mapping[str, str], wanted: Mapping[str, str]) -> JsonObject:
    patch: JsonObject = {k: v for k, v in wanted.items() if current.get(k) != v}
    patch.update({k: None for k in current if k not in wanted})
    return patch
