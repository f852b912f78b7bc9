"""Structural schemas of the KubeDB database kinds (`kubedb.com/v1`), written from the fields
of KubeDB's Go types (apis/kubedb/v1) and the reference (§1.2, §1.3): the fields that matter
with their types, KubeDB's enums and required fields, not a copy of its CRD files.

What differs from KubeDB's CRDs, on purpose:
- deep Kubernetes structures a control plane does not read (container fields besides
  `name` and `resources`, volumes, tolerations, affinity, TLS certificates, init scripts,
  archivers) are kept whole (`x-kubernetes-preserve-unknown-fields`) where the CRD spells
  them out: unknown fields inside them are kept, not pruned;
- `authSecret.kind` is not required: KubeDB's mutating webhook fills it in, and in the real
  server it runs before the schema is checked; here the schema is checked first
  (`extensions`, "Schemas").

`install` registers them with the simulator (`ops_schemas` has the OpsRequest and catalog
kinds).
"""

from __future__ import annotations

from typing import Any

from simulator.extensions import schema as s
from simulator.kubedb.archiver import kinds as archiver_kinds
from simulator.kubedb.engines import DB_GROUP, DB_VERSION

Schema = dict[str, Any]


def name_ref(what: str = "object") -> Schema:
    return s.obj({"name": s.string(f"name of the {what}")})


def condition() -> Schema:
    """kmodules' Condition: what KubeDB writes in `status.conditions`."""
    return s.obj(
        {
            "type": s.string("e.g. ProvisioningStarted, Ready, Provisioned"),
            "status": s.string("True, False or Unknown"),
            "observedGeneration": s.integer(fmt="int64"),
            "lastTransitionTime": s.string(fmt="date-time"),
            "reason": s.string(),
            "message": s.string(),
            "severity": s.string("Error, Warning or Info when status is False"),
        },
        required=("lastTransitionTime", "status", "type"),
    )


def container() -> Schema:
    return s.obj(
        {
            "name": s.string("container name; the engine's is e.g. postgres"),
            "resources": s.resources(),
        },
        required=("name",),
        preserve=True,
    )


def pod_template() -> Schema:
    """offshoot-api v2 PodTemplateSpec (no pod-level resources: they go on containers)."""
    labels = s.obj({"labels": s.strings_map(), "annotations": s.strings_map()})
    spec = s.obj(
        {
            "containers": s.array(container(), "the database and sidecar containers"),
            "initContainers": s.array(container()),
            "ephemeralContainers": s.array(s.any_object()),
            "volumes": s.array(s.any_object()),
            "nodeSelector": s.strings_map(),
            "tolerations": s.array(s.any_object()),
            "affinity": s.any_object(),
            "serviceAccountName": s.string(),
            "automountServiceAccountToken": s.boolean(),
            "imagePullSecrets": s.array(name_ref("secret")),
            "securityContext": s.any_object(),
            "priorityClassName": s.string(),
            "priority": s.integer(),
            "preemptionPolicy": s.string(),
            "podPlacementPolicy": name_ref("PlacementPolicy"),
            "terminationGracePeriodSeconds": s.integer(fmt="int64"),
            "activeDeadlineSeconds": s.integer(fmt="int64"),
            "restartPolicy": s.string(),
            "runtimeClassName": s.string(),
            "schedulerName": s.string(),
            "nodeName": s.string(),
            "dnsPolicy": s.string(),
            "dnsConfig": s.any_object(),
            "hostNetwork": s.boolean(),
            "hostPID": s.boolean(),
            "hostIPC": s.boolean(),
            "hostUsers": s.boolean(),
            "hostAliases": s.array(s.any_object()),
            "shareProcessNamespace": s.boolean(),
            "setHostnameAsFQDN": s.boolean(),
            "enableServiceLinks": s.boolean(),
            "readinessGates": s.array(s.any_object()),
            "overhead": s.map_of(s.int_or_string()),
            "os": s.any_object(),
        }
    )
    return s.obj(
        {"metadata": labels, "controller": labels, "spec": spec},
        description="How KubeDB builds the database pods (and their PetSet: controller).",
    )


def _common() -> dict[str, Schema]:
    """Fields every v1 database kind has (reference §1.2)."""
    return {
        "autoOps": s.obj({"disabled": s.boolean("no automatic OpsRequest recommendations")}),
        "version": s.string("name of a catalog object (<Kind>Version), e.g. 16.13"),
        "replicas": s.integer("number of database pods; its meaning depends on the topology"),
        "storageType": s.string(
            "Durable (a PVC per pod) or Ephemeral (emptyDir)", enum=("Durable", "Ephemeral")
        ),
        "storage": s.pvc_spec(),
        "authSecret": s.obj(
            {
                "name": s.string("the secret with username and password"),
                "kind": s.string("Secret (defaulted)"),
                "apiGroup": s.string(),
                "externallyManaged": s.boolean("the user, not KubeDB, creates the secret"),
                "secretStoreName": s.string(),
                "rotateAfter": s.string("duration after which KubeDB rotates it"),
                "activeFrom": s.string(fmt="date-time"),
            },
            description="The database's root credentials.",
        ),
        "init": s.obj(
            {
                "initialized": s.boolean(),
                "waitForInitialRestore": s.boolean("stay unready until a restore finishes"),
                "script": s.any_object(),
                "archiver": archiver_kinds.init_archiver(),
            }
        ),
        "monitor": s.obj(
            {
                "agent": s.string(
                    enum=("prometheus.io/operator", "prometheus.io", "prometheus.io/builtin")
                ),
                "prometheus": s.obj(
                    {
                        "exporter": s.any_object(),
                        "serviceMonitor": s.obj(
                            {"labels": s.strings_map(), "interval": s.string()}
                        ),
                    }
                ),
            },
            description="Metrics: the exporter sidecar and how Prometheus finds it.",
        ),
        "configSecret": name_ref("secret with custom configuration (legacy)"),
        "configuration": s.obj(
            {"secretName": s.string(), "inline": s.strings_map("file name -> content")}
        ),
        "podTemplate": pod_template(),
        "serviceTemplates": s.array(
            s.obj(
                {
                    "alias": s.string(enum=("primary", "standby", "stats")),
                    "metadata": s.obj({"labels": s.strings_map(), "annotations": s.strings_map()}),
                    "spec": s.any_object(),
                },
                required=("alias",),
            )
        ),
        "tls": s.obj(
            {
                "issuerRef": s.obj(
                    {"apiGroup": s.string(), "kind": s.string(), "name": s.string()},
                    required=("kind", "name"),
                ),
                "certificates": s.array(s.any_object()),
            },
            description="cert-manager issued certificates.",
        ),
        "halted": s.boolean("tear the workload down, keep the data"),
        "deletionPolicy": s.string(
            "what deleting the object removes",
            enum=("Halt", "Delete", "WipeOut", "DoNotTerminate"),
        ),
        "allowedSchemas": s.any_object(),
        "healthChecker": s.obj(
            {
                "periodSeconds": s.integer(),
                "timeoutSeconds": s.integer(),
                "failureThreshold": s.integer(),
                "disableWriteCheck": s.boolean(),
            }
        ),
        "archiver": s.obj(
            {"pause": s.boolean(), "ref": s.obj({"name": s.string(), "namespace": s.string()})},
            required=("ref",),
        ),
    }


def _mongodb_node(*, shards: bool = False) -> Schema:
    fields: dict[str, Schema] = {
        "replicas": s.integer(),
        "prefix": s.string(),
        "configSecret": name_ref("secret"),
        "configuration": s.any_object(),
        "podTemplate": pod_template(),
        "storage": s.pvc_spec(),
        "ephemeralStorage": s.any_object(),
    }
    if shards:
        fields["shards"] = s.integer("number of shards")
    return s.obj(fields, required=("shards", "replicas") if shards else ("replicas",))


_ENGINE_FIELDS: dict[str, dict[str, Schema]] = {
    "MongoDB": {
        "replicaSet": s.obj(
            {"name": s.string("replica set name, e.g. rs0"), "horizons": s.any_object()},
            required=("name",),
        ),
        "shardTopology": s.obj(
            {
                "shard": _mongodb_node(shards=True),
                "configServer": _mongodb_node(),
                "mongos": _mongodb_node(),
            },
            required=("shard", "configServer", "mongos"),
        ),
        "ephemeralStorage": s.any_object(),
        "clusterAuthMode": s.string(enum=("keyFile", "sendKeyFile", "sendX509", "x509")),
        "sslMode": s.string(enum=("disabled", "allowSSL", "preferSSL", "requireSSL")),
        "keyFileSecret": name_ref("secret"),
        "storageEngine": s.string(enum=("wiredTiger", "inMemory")),
        "arbiter": s.any_object(),
        "hidden": s.any_object(),
    },
    "Postgres": {
        "distributed": s.boolean(),
        "standbyMode": s.string(enum=("Hot", "Warm")),
        "streamingMode": s.string(enum=("Synchronous", "Asynchronous")),
        "synchronousReplicationConfig": s.any_object(),
        "mode": s.string(enum=("Standalone", "Cluster", "RemoteReplica")),
        "remoteReplica": s.any_object(),
        "leaderElection": s.any_object(),
        "clientAuthMode": s.string(enum=("md5", "scram", "cert")),
        "sslMode": s.string(
            enum=("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
        ),
        "enforceFsGroup": s.boolean(),
        "arbiter": s.any_object(),
        "replication": s.any_object(),
        "readReplicas": s.array(s.any_object()),
    },
    "MySQL": {
        "topology": s.obj(
            {
                "mode": s.string(
                    enum=("GroupReplication", "InnoDBCluster", "RemoteReplica", "SemiSync")
                ),
                "group": s.obj(
                    {
                        "mode": s.string(enum=("Single-Primary", "Multi-Primary")),
                        "name": s.string("group name, a UUID"),
                    }
                ),
                "innoDBCluster": s.any_object(),
                "remoteReplica": s.any_object(),
                "semiSync": s.any_object(),
            }
        ),
        "requireSSL": s.boolean(),
        "useAddressType": s.string(enum=("DNS", "IP", "IPv4", "IPv6")),
        "allowedReadReplicas": s.any_object(),
    },
    "MariaDB": {
        "topology": s.obj(
            {
                "mode": s.string(enum=("MariaDBReplication", "GaleraCluster")),
                "maxscale": s.any_object(),
            }
        ),
        "wsrepSSTMethod": s.string(enum=("rsync", "mariabackup")),
        "requireSSL": s.boolean(),
        "distributed": s.boolean(),
    },
    "Redis": {
        "mode": s.string(enum=("Standalone", "Cluster", "Sentinel")),
        "sentinelRef": s.obj({"name": s.string(), "namespace": s.string()}),
        "cluster": s.obj(
            {
                "shards": s.integer("number of shards (at least 3)"),
                "replicas": s.integer("pods per shard, the master included"),
                "announce": s.any_object(),
            }
        ),
        "disableAuth": s.boolean(),
        "acl": s.obj({"secretRef": name_ref("secret"), "rules": s.array(s.string())}),
    },
    "RedisSentinel": {"disableAuth": s.boolean()},
}

_NOT_IN: dict[str, tuple[str, ...]] = {
    # common fields a kind does not have in KubeDB's types
    "RedisSentinel": ("init", "configSecret", "configuration", "allowedSchemas", "archiver"),
    "Redis": ("archiver",),
}


def database_status() -> Schema:
    return s.obj(
        {
            "phase": s.string(
                enum=(
                    "Provisioning",
                    "DataRestoring",
                    "Ready",
                    "Critical",
                    "NotReady",
                    "Halted",
                    "Unknown",
                )
            ),
            "observedGeneration": s.integer(fmt="int64"),
            "conditions": s.array(condition()),
            "authSecret": s.obj({"lastUpdateTimestamp": s.string(fmt="date-time")}),
        }
    )


def database(kind: str) -> Schema:
    fields = {k: v for k, v in _common().items() if k not in _NOT_IN.get(kind, ())}
    fields.update(_ENGINE_FIELDS[kind])
    return s.obj(
        {
            "spec": s.obj(dict(sorted(fields.items())), required=("version",)),
            "status": database_status(),
        },
        description=f"A KubeDB-managed {kind} database.",
    )


DATABASE_KINDS = tuple(_ENGINE_FIELDS)
API_VERSION = f"{DB_GROUP}/{DB_VERSION}"
