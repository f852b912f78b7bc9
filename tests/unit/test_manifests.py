"""Database CRs at kubedb.com/v1 per engine and topology, their patches, names and the
connection info clients get."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.domain import engines, errors, sizes
from app.domain.engines import Engine, Topology
from app.domain.manifests import connection, database_cr, names
from app.domain.manifests.desired import DeletionPolicy, DesiredDatabase, parse_deletion_policy

SMALL = sizes.default_size_table().get("db.t3.small")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CONTAINERS = {
    Engine.POSTGRES: "postgres",
    Engine.MYSQL: "mysql",
    Engine.MARIADB: "mariadb",
    Engine.MONGODB: "mongodb",
    Engine.REDIS: "redis",
}
KINDS = {
    Engine.POSTGRES: "Postgres",
    Engine.MYSQL: "MySQL",
    Engine.MARIADB: "MariaDB",
    Engine.MONGODB: "MongoDB",
    Engine.REDIS: "Redis",
}


def a_database(engine: Engine | str = Engine.POSTGRES, **changes: Any) -> DesiredDatabase:
    values: dict[str, Any] = {
        "database_id": "db-0123456789abcdef",
        "domain": "acme",
        "project": "shop",
        "engine": engine,
        "name": "orders",
        "namespace": "dbaas-acme-shop",
        "version": "16.13",
        "size": SMALL,
        "storage_gb": 20,
    }
    values.update(changes)
    return DesiredDatabase(**values)


def ha_database(engine: Engine, **changes: Any) -> DesiredDatabase:
    return a_database(engine, **{"high_availability": True, "replicas": 3, **changes})


@pytest.mark.parametrize("engine", list(Engine))
def test_every_engine_gets_a_v1_cr_with_version_storage_and_policy(engine: Engine) -> None:
    manifest = database_cr.database_manifest(a_database(engine))

    assert manifest["apiVersion"] == "kubedb.com/v1"
    assert manifest["kind"] == KINDS[engine]
    assert manifest["metadata"]["name"] == "orders"
    assert manifest["metadata"]["namespace"] == "dbaas-acme-shop"
    spec = manifest["spec"]
    assert spec["version"] == "16.13"
    assert spec["storageType"] == "Durable"
    assert spec["storage"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "20Gi"}},
    }
    assert spec["deletionPolicy"] == "Delete"
    assert spec["halted"] is False


@pytest.mark.parametrize("engine", list(Engine))
def test_resources_sit_on_the_named_database_container_not_the_pod(engine: Engine) -> None:
    spec = database_cr.database_manifest(a_database(engine))["spec"]

    assert spec["podTemplate"]["spec"]["containers"] == [
        {
            "name": CONTAINERS[engine],
            "resources": {
                "requests": {"cpu": "1", "memory": "2Gi"},
                "limits": {"cpu": "1", "memory": "2Gi"},
            },
        }
    ]
    assert "resources" not in spec["podTemplate"]["spec"]


@pytest.mark.parametrize("engine", list(Engine))
def test_cr_labels_are_ours_plus_the_users(engine: Engine) -> None:
    db = a_database(engine, labels={"team": "payments"}, annotations={"note": "hi"})

    metadata = database_cr.database_manifest(db)["metadata"]

    assert metadata["labels"] == {
        "app.kubernetes.io/managed-by": "kubedb-dbaas",
        "dbaas.io/database-id": "db-0123456789abcdef",
        "dbaas.io/domain": "acme",
        "dbaas.io/project": "shop",
        "team": "payments",
    }
    assert metadata["annotations"] == {"note": "hi"}


@pytest.mark.parametrize("engine", [Engine.POSTGRES, Engine.MYSQL, Engine.MARIADB, Engine.MONGODB])
def test_a_standalone_database_has_one_replica_and_no_topology_block(engine: Engine) -> None:
    spec = database_cr.database_manifest(a_database(engine))["spec"]

    assert spec["replicas"] == 1
    for block in ("topology", "replicaSet", "standbyMode", "streamingMode", "mode"):
        assert block not in spec


def test_postgres_ha_is_a_hot_standby_cluster_with_streaming_replication() -> None:
    spec = database_cr.database_manifest(ha_database(Engine.POSTGRES))["spec"]

    assert spec["replicas"] == 3
    assert spec["standbyMode"] == "Hot"
    assert spec["streamingMode"] == "Asynchronous"


def test_mysql_ha_is_single_primary_group_replication() -> None:
    spec = database_cr.database_manifest(ha_database(Engine.MYSQL))["spec"]

    assert spec["replicas"] == 3
    assert spec["topology"]["mode"] == "GroupReplication"
    assert spec["topology"]["group"] == {"mode": "Single-Primary"}


def test_mariadb_ha_is_a_galera_cluster() -> None:
    spec = database_cr.database_manifest(ha_database(Engine.MARIADB, replicas=5))["spec"]

    assert spec["replicas"] == 5
    assert spec["topology"] == {"mode": "GaleraCluster"}


def test_mongodb_ha_is_replica_set_rs0() -> None:
    spec = database_cr.database_manifest(ha_database(Engine.MONGODB))["spec"]

    assert spec["replicas"] == 3
    assert spec["replicaSet"] == {"name": "rs0"}
    assert "shardTopology" not in spec


def test_standalone_redis_says_its_mode_and_one_replica() -> None:
    spec = database_cr.database_manifest(a_database(Engine.REDIS, version="8.2.2"))["spec"]

    assert spec["mode"] == "Standalone"
    assert spec["replicas"] == 1


def test_redis_ha_is_a_sentinel_group_pointing_at_its_own_sentinel_cr() -> None:
    db = ha_database(Engine.REDIS, version="8.2.2")

    sentinel, redis = database_cr.manifests_for(db)

    assert redis["spec"]["mode"] == "Sentinel"
    assert redis["spec"]["replicas"] == 3
    assert redis["spec"]["sentinelRef"] == {
        "name": "orders-sentinel",
        "namespace": "dbaas-acme-shop",
    }
    assert sentinel["apiVersion"] == "kubedb.com/v1"
    assert sentinel["kind"] == "RedisSentinel"
    assert sentinel["metadata"]["name"] == "orders-sentinel"
    assert sentinel["metadata"]["labels"]["dbaas.io/database-id"] == "db-0123456789abcdef"
    assert sentinel["spec"]["version"] == "8.2.2"
    assert sentinel["spec"]["replicas"] == 3
    assert sentinel["spec"]["storageType"] == "Durable"
    assert sentinel["spec"]["storage"]["resources"]["requests"]["storage"] == "1Gi"


def test_redis_cluster_sets_shards_and_per_shard_replicas_but_no_spec_replicas() -> None:
    db = a_database(Engine.REDIS, high_availability=True, topology=Topology.CLUSTER, replicas=2)

    spec = database_cr.database_manifest(db)["spec"]

    assert spec["mode"] == "Cluster"
    assert spec["cluster"] == {"shards": 3, "replicas": 2}
    assert "replicas" not in spec
    assert "sentinelRef" not in spec


@pytest.mark.parametrize("engine", [e for e in Engine if e is not Engine.REDIS])
def test_only_a_redis_sentinel_group_needs_a_second_cr(engine: Engine) -> None:
    assert len(database_cr.manifests_for(ha_database(engine))) == 1
    with pytest.raises(ValueError, match="not a Redis Sentinel"):
        database_cr.sentinel_manifest(ha_database(engine))


def test_monitoring_adds_a_prometheus_operator_monitor_and_its_absence_none() -> None:
    config = database_cr.MonitoringConfig(service_monitor_labels={"release": "prometheus"})

    on = database_cr.database_manifest(a_database(), monitoring=config)["spec"]
    off = database_cr.database_manifest(a_database(monitoring_enabled=False))["spec"]

    assert on["monitor"] == {
        "agent": "prometheus.io/operator",
        "prometheus": {"serviceMonitor": {"labels": {"release": "prometheus"}, "interval": "30s"}},
    }
    assert "monitor" not in off


def test_the_builtin_prometheus_agent_needs_no_service_monitor() -> None:
    config = database_cr.MonitoringConfig(agent="prometheus.io/builtin")

    spec = database_cr.database_manifest(a_database(), monitoring=config)["spec"]

    assert spec["monitor"] == {"agent": "prometheus.io/builtin"}


def test_a_halted_database_carries_the_halt_policy_kubedb_would_force() -> None:
    db = a_database(halted=True, deletion_policy=DeletionPolicy.WIPE_OUT)

    spec = database_cr.database_manifest(db)["spec"]

    assert spec["halted"] is True
    assert spec["deletionPolicy"] == "Halt"


def test_pause_and_resume_patches_set_halted_and_restore_the_chosen_policy() -> None:
    db = a_database(deletion_policy=DeletionPolicy.WIPE_OUT)

    assert database_cr.halt_patch(db, halted=True) == {
        "spec": {"halted": True, "deletionPolicy": "Halt"}
    }
    assert database_cr.halt_patch(db, halted=False) == {
        "spec": {"halted": False, "deletionPolicy": "WipeOut"}
    }


def test_deletion_policy_and_monitor_patches_touch_only_their_field() -> None:
    assert database_cr.deletion_policy_patch(DeletionPolicy.DELETE) == {
        "spec": {"deletionPolicy": "Delete"}
    }
    assert database_cr.monitor_patch(False) == {"spec": {"monitor": None}}
    assert database_cr.monitor_patch(True)["spec"]["monitor"]["agent"] == "prometheus.io/operator"


def test_a_metadata_patch_adds_changes_and_removes_only_user_keys() -> None:
    before = a_database(labels={"team": "a", "gone": "x"}, annotations={"note": "old"})
    after = before.replace(labels={"team": "b", "new": "y"}, annotations={})

    patch = database_cr.metadata_patch(before, after)

    assert patch == {
        "metadata": {
            "labels": {"team": "b", "new": "y", "gone": None},
            "annotations": {"note": None},
        }
    }


def test_custom_credentials_point_at_the_secret_the_platform_wrote_for_kubedb_to_manage() -> None:
    spec = database_cr.database_manifest(a_database(auth_secret_name="orders-custom-auth"))["spec"]

    assert spec["authSecret"] == {"name": "orders-custom-auth"}
    assert "authSecret" not in database_cr.database_manifest(a_database())["spec"]


def test_a_storage_class_is_named_only_when_chosen() -> None:
    spec = database_cr.database_manifest(a_database(storage_class="fast-ssd"))["spec"]

    assert spec["storage"]["storageClassName"] == "fast-ssd"


def test_a_desired_database_resolves_its_topology_and_shards() -> None:
    assert a_database().topology is Topology.STANDALONE
    assert ha_database(Engine.MYSQL).topology is Topology.GROUP_REPLICATION
    cluster = a_database(Engine.REDIS, high_availability=True, topology="cluster", replicas=3)
    assert (cluster.topology, cluster.shards) == (Topology.CLUSTER, 3)


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"replicas": 3}, errors.ReplicaRuleViolated, "replicas"),
        (
            {"engine": "mariadb", "high_availability": True, "replicas": 4},
            errors.ReplicaRuleViolated,
            "replicas",
        ),
        ({"engine": "oracle"}, errors.UnknownEngine, "engine"),
        ({"name": "Orders"}, errors.InvalidName, "name"),
        ({"namespace": "a_b"}, errors.InvalidName, "namespace"),
        ({"storage_gb": 0}, errors.StorageRuleViolated, "storage_gb"),
        ({"labels": {"dbaas.io/project": "x"}}, errors.InvalidLabels, "labels.dbaas.io/project"),
        (
            {"halted": True, "deletion_policy": "DoNotTerminate"},
            errors.InvalidValue,
            "deletion_policy",
        ),
        ({"deletion_policy": "Keep"}, errors.InvalidValue, "deletion_policy"),
        ({"version": ""}, errors.InvalidValue, "version"),
        ({"shards": 3}, errors.InvalidTopology, "shards"),
    ],
)
def test_an_invalid_desired_database_cannot_be_made(
    changes: dict[str, Any], error: type[errors.InvalidValue], field: str
) -> None:
    with pytest.raises(error) as caught:
        a_database(**changes)

    assert caught.value.field == field


def test_a_desired_database_is_frozen_including_its_labels() -> None:
    db = a_database(labels={"team": "a"})

    with pytest.raises(AttributeError):
        db.replicas = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        db.labels["team"] = "b"  # type: ignore[index]


def test_the_api_offers_three_deletion_policies() -> None:
    assert parse_deletion_policy("WipeOut") is DeletionPolicy.WIPE_OUT
    with pytest.raises(errors.InvalidValue, match="Delete, WipeOut, Halt"):
        parse_deletion_policy("DoNotTerminate")


def test_derived_names_stay_dns_labels_within_63_characters_and_apart() -> None:
    long_a, long_b = "a" * 60 + "-one", "a" * 60 + "-two"

    name_a, name_b = names.sentinel_name(long_a), names.sentinel_name(long_b)

    assert len(name_a) <= 63 and DNS_LABEL.match(name_a) and name_a.endswith("-sentinel")
    assert name_a != name_b
    assert names.sentinel_name("orders") == "orders-sentinel"


def test_kubedb_object_names_follow_the_database_name() -> None:
    assert names.auth_secret_name("orders") == "orders-auth"
    assert names.primary_service_name("orders") == "orders"
    assert names.standby_service_name("orders") == "orders-standby"
    assert names.pods_service_name("orders") == "orders-pods"


URIS = [
    (
        Engine.POSTGRES,
        Topology.STANDALONE,
        "postgresql://postgres:p%40ss%2Fw0rd%3F@orders.ns.svc:5432/postgres?sslmode=disable",
        "postgres",
    ),
    (Engine.MYSQL, Topology.STANDALONE, "mysql://root:p%40ss%2Fw0rd%3F@orders.ns.svc:3306/", None),
    (
        Engine.MARIADB,
        Topology.STANDALONE,
        "mysql://root:p%40ss%2Fw0rd%3F@orders.ns.svc:3306/",
        None,
    ),
    (
        Engine.MONGODB,
        Topology.STANDALONE,
        "mongodb://root:p%40ss%2Fw0rd%3F@orders.ns.svc:27017/?authSource=admin",
        None,
    ),
    (
        Engine.MONGODB,
        Topology.REPLICA_SET,
        "mongodb://root:p%40ss%2Fw0rd%3F@orders-0.orders-pods.ns.svc:27017,"
        "orders-1.orders-pods.ns.svc:27017,orders-2.orders-pods.ns.svc:27017/"
        "?replicaSet=rs0&authSource=admin",
        None,
    ),
    (
        Engine.REDIS,
        Topology.STANDALONE,
        "redis://default:p%40ss%2Fw0rd%3F@orders.ns.svc:6379/0",
        "0",
    ),
    (Engine.REDIS, Topology.SENTINEL, "redis://default:p%40ss%2Fw0rd%3F@orders.ns.svc:6379/0", "0"),
    (Engine.REDIS, Topology.CLUSTER, "redis://default:p%40ss%2Fw0rd%3F@orders.ns.svc:6379", None),
]


@pytest.mark.parametrize(
    ("engine", "topology", "uri", "database"), URIS, ids=[f"{r[0]}-{r[1]}" for r in URIS]
)
def test_connection_strings_follow_each_engines_uri_shape(
    engine: Engine, topology: Topology, uri: str, database: str | None
) -> None:
    user = engines.spec(engine).admin_user

    info = connection.connection_info(
        engine,
        name="orders",
        namespace="ns",
        username=user,
        password="p@ss/w0rd?",
        topology=topology,
        replicas=3,
    )

    assert info.connection_string == uri
    assert (info.host, info.port, info.database) == (
        "orders.ns.svc",
        engines.spec(engine).port,
        database,
    )


@pytest.mark.parametrize(
    ("engine", "topology", "read_host"),
    [
        (Engine.POSTGRES, Topology.STREAMING_REPLICATION, "orders-standby.ns.svc"),
        (Engine.MYSQL, Topology.GROUP_REPLICATION, "orders-standby.ns.svc"),
        (Engine.MARIADB, Topology.GALERA, "orders-standby.ns.svc"),
        (Engine.POSTGRES, Topology.STANDALONE, None),
        (Engine.MONGODB, Topology.REPLICA_SET, None),
        (Engine.REDIS, Topology.SENTINEL, None),
    ],
)
def test_reads_go_to_the_standby_service_where_the_engine_has_one(
    engine: Engine, topology: Topology, read_host: str | None
) -> None:
    assert (
        connection.endpoint(engine, name="orders", namespace="ns", topology=topology).read_host
        == read_host
    )


def test_tls_switches_the_uri_to_its_secure_form() -> None:
    def uri(engine: Engine, topology: Topology = Topology.STANDALONE) -> str:
        return connection.connection_info(
            engine,
            name="o",
            namespace="ns",
            username="u",
            password="p",
            topology=topology,
            tls=True,
        ).connection_string

    assert uri(Engine.POSTGRES).endswith("sslmode=verify-full")
    assert uri(Engine.MONGODB).endswith("authSource=admin&tls=true")
    assert uri(Engine.REDIS).startswith("rediss://")


def test_connection_info_keeps_secrets_out_of_its_repr() -> None:
    info = connection.connection_info(
        "postgres", name="o", namespace="ns", username="u", password="hunter2-secret"
    )

    assert "hunter2-secret" not in repr(info)
    assert info.password == "hunter2-secret"
