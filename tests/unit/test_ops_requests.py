"""OpsRequests at ops.kubedb.com/v1alpha1: names, labels, and each engine's field names per
type (reference §5.3)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.domain import errors, sizes
from app.domain.engines import Engine, Topology
from app.domain.manifests import ops_requests
from app.domain.manifests.desired import DesiredDatabase
from app.domain.manifests.ops_requests import OpsRequestType, VolumeExpansionMode
from app.domain.operations import OperationType

OP = "op-0123456789abcdef"
TABLE = sizes.default_size_table()
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
OPS_KINDS = {
    Engine.POSTGRES: "PostgresOpsRequest",
    Engine.MYSQL: "MySQLOpsRequest",
    Engine.MARIADB: "MariaDBOpsRequest",
    Engine.MONGODB: "MongoDBOpsRequest",
    Engine.REDIS: "RedisOpsRequest",
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
        "size": TABLE.default,
        "storage_gb": 20,
    }
    values.update(changes)
    return DesiredDatabase(**values)


def ha(engine: Engine, **changes: Any) -> DesiredDatabase:
    return a_database(engine, **{"high_availability": True, "replicas": 3, **changes})


def every_type(db: DesiredDatabase) -> dict[OpsRequestType, dict[str, Any]]:
    return {
        OpsRequestType.HORIZONTAL_SCALING: ops_requests.horizontal_scaling(
            db, operation_id=OP, replicas=5
        ),
        OpsRequestType.VERTICAL_SCALING: ops_requests.vertical_scaling(
            db, operation_id=OP, size=TABLE.get("db.t3.large")
        ),
        OpsRequestType.VOLUME_EXPANSION: ops_requests.volume_expansion(
            db, operation_id=OP, storage_gb=50
        ),
        OpsRequestType.UPDATE_VERSION: ops_requests.update_version(
            db, operation_id=OP, target_version="17.2"
        ),
        OpsRequestType.RESTART: ops_requests.restart(db, operation_id=OP),
        OpsRequestType.ROTATE_AUTH: ops_requests.rotate_auth(db, operation_id=OP),
    }


@pytest.mark.parametrize("engine", list(Engine))
def test_every_type_is_an_engine_opsrequest_naming_its_database(engine: Engine) -> None:
    for ops_type, request in every_type(ha(engine, replicas=3)).items():
        assert request["apiVersion"] == "ops.kubedb.com/v1alpha1"
        assert request["kind"] == OPS_KINDS[engine]
        assert request["metadata"]["namespace"] == "dbaas-acme-shop"
        assert request["spec"]["type"] == ops_type.value
        assert request["spec"]["databaseRef"] == {"name": "orders"}


@pytest.mark.parametrize("engine", list(Engine))
def test_opsrequests_carry_the_database_labels_and_the_operation_id(engine: Engine) -> None:
    request = ops_requests.restart(ha(engine), operation_id=OP)

    assert request["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "kubedb-dbaas",
        "dbaas.io/database-id": "db-0123456789abcdef",
        "dbaas.io/domain": "acme",
        "dbaas.io/project": "shop",
        "dbaas.io/operation-id": OP,
    }


@pytest.mark.parametrize(
    ("ops_type", "abbreviation"),
    [
        (OpsRequestType.HORIZONTAL_SCALING, "hscale"),
        (OpsRequestType.VERTICAL_SCALING, "vscale"),
        (OpsRequestType.VOLUME_EXPANSION, "expand"),
        (OpsRequestType.UPDATE_VERSION, "upgrade"),
        (OpsRequestType.RESTART, "restart"),
        (OpsRequestType.ROTATE_AUTH, "rotate"),
    ],
)
def test_names_derive_from_database_type_and_operation_id(
    ops_type: OpsRequestType, abbreviation: str
) -> None:
    request = every_type(ha(Engine.POSTGRES))[ops_type]

    assert request["metadata"]["name"] == f"orders-{abbreviation}-01234567"


def test_the_same_operation_gets_the_same_name_and_a_resubmission_a_new_one() -> None:
    db = ha(Engine.MYSQL)

    first = ops_requests.restart(db, operation_id=OP)["metadata"]["name"]
    again = ops_requests.restart(db, operation_id=OP)["metadata"]["name"]
    retry = ops_requests.restart(db, operation_id=OP, attempt=2)["metadata"]["name"]

    assert first == again == "orders-restart-01234567"
    assert retry == "orders-restart-01234567-2"


def test_names_of_long_databases_stay_dns_labels_within_63_characters() -> None:
    db = ha(Engine.POSTGRES, name="n" * 63)

    for request in every_type(db).values():
        name = request["metadata"]["name"]
        assert len(name) <= 63 and DNS_LABEL.match(name), name
        assert name.endswith("-01234567")


def test_an_operation_id_that_is_not_ours_still_gives_a_stable_dns_name() -> None:
    db = ha(Engine.POSTGRES)

    name = ops_requests.restart(db, operation_id="custom-7")["metadata"]["name"]

    assert DNS_LABEL.match(name) and len(name) == len("orders-restart-") + 8
    assert name == ops_requests.restart(db, operation_id="custom-7")["metadata"]["name"]


@pytest.mark.parametrize(
    ("db", "block"),
    [
        (ha(Engine.POSTGRES), {"replicas": 5}),
        (ha(Engine.MYSQL), {"member": 5}),
        (ha(Engine.MARIADB), {"member": 5}),
        (ha(Engine.MONGODB), {"replicas": 5}),
        (ha(Engine.REDIS), {"replicas": 5}),
    ],
    ids=["postgres", "mysql", "mariadb", "mongodb", "redis-sentinel"],
)
def test_horizontal_scaling_uses_each_engines_member_field(
    db: DesiredDatabase, block: dict[str, int]
) -> None:
    request = ops_requests.horizontal_scaling(db, operation_id=OP, replicas=5)

    assert request["spec"]["horizontalScaling"] == block
    assert request["spec"]["apply"] == "IfReady"


def test_redis_cluster_scales_shards_and_per_shard_replicas() -> None:
    db = ha(Engine.REDIS, topology=Topology.CLUSTER, replicas=2)

    more_shards = ops_requests.horizontal_scaling(db, operation_id=OP, replicas=2, shards=4)
    both_up = ops_requests.horizontal_scaling(db, operation_id=OP, replicas=3, shards=5)

    assert more_shards["spec"]["horizontalScaling"] == {"shards": 4}
    assert both_up["spec"]["horizontalScaling"] == {"shards": 5, "replicas": 3}


def test_redis_cluster_refuses_shards_up_and_replicas_down_at_once() -> None:
    db = ha(Engine.REDIS, topology=Topology.CLUSTER, replicas=3)

    with pytest.raises(errors.InvalidValue, match="one at a time"):
        ops_requests.horizontal_scaling(db, operation_id=OP, replicas=2, shards=4)


@pytest.mark.parametrize("engine", list(Engine))
def test_a_standalone_database_cannot_scale_horizontally(engine: Engine) -> None:
    with pytest.raises(errors.InvalidTopology, match="not available for a standalone"):
        ops_requests.horizontal_scaling(a_database(engine), operation_id=OP, replicas=3)


@pytest.mark.parametrize(
    ("db", "replicas", "rule"),
    [
        (ha(Engine.MARIADB), 4, "mariadb.galera"),
        (ha(Engine.MYSQL), 10, "mysql.group_replication"),
        (ha(Engine.MONGODB), 2, "mongodb.replica_set"),
        (ha(Engine.POSTGRES), 1, "postgres.streaming_replication"),
    ],
    ids=["galera-even", "group-too-big", "replica-set-too-small", "postgres-alone"],
)
def test_horizontal_scaling_targets_obey_the_topology_rule(
    db: DesiredDatabase, replicas: int, rule: str
) -> None:
    with pytest.raises(errors.ReplicaRuleViolated) as caught:
        ops_requests.horizontal_scaling(db, operation_id=OP, replicas=replicas)

    assert caught.value.rule == rule


def test_scaling_to_the_current_count_is_refused() -> None:
    with pytest.raises(errors.InvalidValue, match="already has 3 replicas"):
        ops_requests.horizontal_scaling(ha(Engine.POSTGRES), operation_id=OP, replicas=3)


@pytest.mark.parametrize(
    ("db", "component"),
    [
        (a_database(Engine.POSTGRES), "postgres"),
        (ha(Engine.MYSQL), "mysql"),
        (ha(Engine.MARIADB), "mariadb"),
        (a_database(Engine.MONGODB), "standalone"),
        (ha(Engine.MONGODB), "replicaSet"),
        (ha(Engine.REDIS), "redis"),
        (ha(Engine.REDIS, topology=Topology.CLUSTER, replicas=2), "redis"),
    ],
    ids=[
        "postgres",
        "mysql",
        "mariadb",
        "mongodb-standalone",
        "mongodb-replicaset",
        "redis-sentinel",
        "redis-cluster",
    ],
)
def test_vertical_scaling_and_volume_expansion_use_the_component_key(
    db: DesiredDatabase, component: str
) -> None:
    vertical = ops_requests.vertical_scaling(db, operation_id=OP, size=TABLE.get("db.t3.large"))
    volume = ops_requests.volume_expansion(db, operation_id=OP, storage_gb=50)

    assert vertical["spec"]["verticalScaling"] == {
        component: {
            "resources": {
                "requests": {"cpu": "2", "memory": "8Gi"},
                "limits": {"cpu": "2", "memory": "8Gi"},
            }
        }
    }
    assert volume["spec"]["volumeExpansion"] == {"mode": "Online", component: "50Gi"}


def test_volume_expansion_can_run_offline_but_never_shrinks() -> None:
    db = a_database()

    offline = ops_requests.volume_expansion(
        db, operation_id=OP, storage_gb=21, mode=VolumeExpansionMode.OFFLINE
    )

    assert offline["spec"]["volumeExpansion"]["mode"] == "Offline"
    with pytest.raises(errors.StorageRuleViolated, match="never shrinks"):
        ops_requests.volume_expansion(db, operation_id=OP, storage_gb=20)


def test_update_version_names_the_target_catalog_version() -> None:
    request = ops_requests.update_version(a_database(), operation_id=OP, target_version="17.2")

    assert request["spec"]["updateVersion"] == {"targetVersion": "17.2"}
    with pytest.raises(errors.InvalidValue, match="already runs"):
        ops_requests.update_version(a_database(), operation_id=OP, target_version="16.13")


def test_restart_runs_whatever_the_database_state() -> None:
    request = ops_requests.restart(a_database(), operation_id=OP, timeout="10m")

    assert request["spec"]["restart"] == {}
    assert request["spec"]["apply"] == "Always"
    assert request["spec"]["timeout"] == "10m"


def test_rotate_auth_generates_a_password_or_takes_a_prepared_secret() -> None:
    generated = ops_requests.rotate_auth(a_database(), operation_id=OP)
    prepared = ops_requests.rotate_auth(a_database(), operation_id=OP, secret_name="orders-new")

    assert "authentication" not in generated["spec"]
    assert prepared["spec"]["authentication"] == {
        "secretRef": {"kind": "Secret", "name": "orders-new"}
    }


def test_each_single_step_operation_type_maps_to_one_opsrequest_type() -> None:
    assert ops_requests.FOR_OPERATION == {
        OperationType.SCALE_HORIZONTAL: OpsRequestType.HORIZONTAL_SCALING,
        OperationType.SCALE_VERTICAL: OpsRequestType.VERTICAL_SCALING,
        OperationType.EXPAND_STORAGE: OpsRequestType.VOLUME_EXPANSION,
        OperationType.UPGRADE_VERSION: OpsRequestType.UPDATE_VERSION,
        OperationType.RESTART: OpsRequestType.RESTART,
        OperationType.ROTATE_CREDENTIALS: OpsRequestType.ROTATE_AUTH,
    }
