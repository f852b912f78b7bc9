"""The KubeDB operator model's pure rules: catalog update paths, webhooks, phase derivation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from simulator.kubedb import catalog, conditions, webhooks

CATALOG = catalog.to_objects(catalog.load())


def lookup(kind: str, name: str) -> Mapping[str, Any] | None:
    return next((o for o in CATALOG if o["kind"] == kind and o["metadata"]["name"] == name), None)


def list_catalog(kind: str) -> list[Mapping[str, Any]]:
    return [o for o in CATALOG if o["kind"] == kind]


def database(kind: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": {
            "MongoDB": "8.0.17",
            "Postgres": "16.13",
            "MySQL": "8.4.8",
            "MariaDB": "11.8.5",
            "Redis": "8.2.2",
        }[kind],
        "storage": {"resources": {"requests": {"storage": "10Gi"}}},
    }
    body.update(spec)
    obj = {
        "apiVersion": "kubedb.com/v1",
        "kind": kind,
        "metadata": {"name": "db1", "namespace": "demo"},
        "spec": body,
    }
    webhooks.mutate_database(kind, obj)
    return obj


def test_the_bundled_catalog_has_several_versions_per_engine_some_deprecated() -> None:
    for kind in (
        "MongoDBVersion",
        "PostgresVersion",
        "MySQLVersion",
        "MariaDBVersion",
        "RedisVersion",
    ):
        versions = list_catalog(kind)
        assert len(versions) >= 5
        assert any(v["spec"]["deprecated"] for v in versions)
        assert any("updateConstraints" in v["spec"] for v in versions)


def test_update_targets_follow_the_allowlist_and_the_denylist() -> None:
    mongo = lookup("MongoDBVersion", "8.0.10")
    mysql = lookup("MySQLVersion", "8.4.8")
    assert mongo is not None and mysql is not None

    mongo_targets = catalog.update_targets(mongo, list_catalog("MongoDBVersion"))
    mysql_targets = catalog.update_targets(mysql, list_catalog("MySQLVersion"))

    assert "8.0.17" in mongo_targets and "8.0.10" in mongo_targets
    assert "7.0.28" not in mongo_targets and "4.4.26" not in mongo_targets
    assert "9.7.1" in mysql_targets and "8.0.43" not in mysql_targets


def test_the_mutating_webhook_adds_the_finalizer_and_the_defaults() -> None:
    db = database("Postgres")

    assert db["metadata"]["finalizers"] == ["kubedb.com"]
    assert db["spec"]["deletionPolicy"] == "Delete"
    assert db["spec"]["storageType"] == "Durable"
    assert db["spec"]["authSecret"] == {"kind": "Secret", "name": "db1-auth"}
    assert db["spec"]["replicas"] == 1 and db["spec"]["standbyMode"] == "Hot"


def test_a_halted_database_gets_the_halt_deletion_policy() -> None:
    assert database("MySQL", halted=True)["spec"]["deletionPolicy"] == "Halt"


def test_a_version_missing_from_the_catalog_is_denied_like_the_real_webhook() -> None:
    db = database("MongoDB", version="9.9.9")

    with pytest.raises(webhooks.Denied) as caught:
        webhooks.validate_database("MongoDB", db, None, lookup)

    assert caught.value.code == 403
    assert caught.value.message == (
        'admission webhook "mongodbwebhook.validators.kubedb.com" denied the request: '
        'failed to get MongoDBVersion: mongodbversions.catalog.kubedb.com "9.9.9" not found'
    )


@pytest.mark.parametrize(
    ("kind", "spec", "message"),
    [
        (
            "MongoDB",
            {"replicas": 3},
            "spec.replicas \"3\" invalid for 'MongoDB Standalone' instance. Value must be one",
        ),
        (
            "MySQL",
            {"replicas": 2, "topology": {"mode": "GroupReplication"}},
            "Group size can not be less than 3 or greater than 9",
        ),
        ("Redis", {"replicas": 2}, "invalid for 'Redis Standalone' instance. Value must be one"),
        (
            "MariaDB",
            {"replicas": 4, "topology": {"mode": "GaleraCluster"}},
            "Value must be an odd number, three or more",
        ),
        ("Postgres", {"replicas": 0}, "Value must be greater than zero"),
        (
            "Postgres",
            {"storageType": "Ephemeral", "deletionPolicy": "Halt"},
            "'spec.deletionPolicy: Halt' can not be used for 'Ephemeral' storage",
        ),
        (
            "Postgres",
            {"halted": True, "deletionPolicy": "DoNotTerminate"},
            "can't halt, since deletion policy is 'DoNotTerminate'",
        ),
    ],
)
def test_topology_and_policy_rules_are_denied_with_the_webhooks_message(
    kind: str, spec: dict[str, Any], message: str
) -> None:
    db = database(kind, **spec)

    with pytest.raises(webhooks.Denied) as caught:
        webhooks.validate_database(kind, db, None, lookup)

    assert message in caught.value.message
    assert caught.value.message.startswith("admission webhook ")


def test_valid_ha_topologies_pass() -> None:
    for kind, spec in [
        ("MongoDB", {"replicas": 3, "replicaSet": {"name": "rs0"}}),
        ("MySQL", {"replicas": 3, "topology": {"mode": "GroupReplication"}}),
        ("MariaDB", {"replicas": 3, "topology": {"mode": "GaleraCluster"}}),
        ("Postgres", {"replicas": 3}),
        ("Redis", {"mode": "Cluster", "cluster": {"shards": 3, "replicas": 2}}),
    ]:
        webhooks.validate_database(kind, database(kind, **spec), None, lookup)


def test_immutable_fields_cannot_change() -> None:
    old = database("MongoDB", replicas=3, replicaSet={"name": "rs0"})
    new = database("MongoDB", replicas=3, replicaSet={"name": "rs1"})

    with pytest.raises(webhooks.Denied, match=r"immutable: spec.replicaSet.name"):
        webhooks.validate_database("MongoDB", new, old, lookup)


def test_do_not_terminate_blocks_deletion() -> None:
    db = database("Postgres", deletionPolicy="DoNotTerminate")

    with pytest.raises(webhooks.Denied) as caught:
        webhooks.validate_database_delete("Postgres", db)

    assert caught.value.message.endswith(
        'postgres "demo/db1" can\'t be terminated. To delete, change spec.deletionPolicy'
    )


def ops(kind: str, op_type: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ops.kubedb.com/v1alpha1",
        "kind": kind,
        "metadata": {"name": "op1", "namespace": "demo"},
        "spec": {"type": op_type, "databaseRef": {"name": "db1"}, **spec},
    }


def test_an_update_outside_the_constraints_is_invalid_with_a_cause() -> None:
    db = database("MongoDB", version="8.0.10")
    request = ops("MongoDBOpsRequest", "UpdateVersion", updateVersion={"targetVersion": "7.0.28"})

    with pytest.raises(webhooks.Denied) as caught:
        webhooks.validate_ops_create("MongoDBOpsRequest", request, db, lookup, list_catalog)

    assert caught.value.code == 422 and caught.value.reason == "Invalid"
    assert "upgrade from version 8.0.10 to 7.0.28 is not supported" in caught.value.message
    assert caught.value.causes[0]["field"] == "spec.updateVersion.targetVersion"


def test_a_volume_expansion_must_grow_the_volume() -> None:
    db = database("Postgres")
    smaller = ops(
        "PostgresOpsRequest",
        "VolumeExpansion",
        volumeExpansion={"mode": "Online", "postgres": "5Gi"},
    )
    larger = ops(
        "PostgresOpsRequest",
        "VolumeExpansion",
        volumeExpansion={"mode": "Online", "postgres": "20Gi"},
    )

    with pytest.raises(webhooks.Denied, match="must be greater than current storage"):
        webhooks.validate_ops_create("PostgresOpsRequest", smaller, db, lookup, list_catalog)
    webhooks.validate_ops_create("PostgresOpsRequest", larger, db, lookup, list_catalog)


def test_horizontal_scaling_of_a_standalone_redis_is_refused() -> None:
    request = ops("RedisOpsRequest", "HorizontalScaling", horizontalScaling={"replicas": 3})

    with pytest.raises(webhooks.Denied, match="not allowed for standalone redis"):
        webhooks.validate_ops_create(
            "RedisOpsRequest", request, database("Redis"), lookup, list_catalog
        )


def test_an_opsrequest_for_a_missing_database_is_invalid() -> None:
    request = ops("MySQLOpsRequest", "Restart")

    with pytest.raises(webhooks.Denied, match=r'mysqls\.kubedb\.com "db1" not found'):
        webhooks.validate_ops_create("MySQLOpsRequest", request, None, lookup, list_catalog)


def test_an_opsrequest_spec_is_immutable() -> None:
    old = ops("MySQLOpsRequest", "Restart")
    new = ops("MySQLOpsRequest", "Restart", timeout="5m")

    with pytest.raises(webhooks.Denied, match="immutable"):
        webhooks.validate_ops_update("MySQLOpsRequest", old, new)


def _conds(**states: str) -> list[dict[str, Any]]:
    return [{"type": t, "status": s} for t, s in states.items()]


@pytest.mark.parametrize(
    ("states", "phase"),
    [
        ({}, ""),
        ({"ProvisioningStarted": "True"}, "Provisioning"),
        ({"ProvisioningStarted": "True", "ReplicaReady": "True", "Ready": "True"}, "Provisioning"),
        ({"ProvisioningStarted": "True", "Provisioned": "True", "Ready": "True"}, "Ready"),
        ({"Provisioned": "True", "AcceptingConnection": "False", "Ready": "True"}, "NotReady"),
        ({"Provisioned": "True", "ReplicaReady": "False", "Ready": "True"}, "Critical"),
        ({"Provisioned": "True", "Ready": "True", "Halted": "True"}, "Halted"),
        ({"Provisioned": "True", "Ready": "True", "HealthCheckPaused": "True"}, "Unknown"),
        ({"ProvisioningStarted": "True", "DataRestoreStarted": "True"}, "DataRestoring"),
        ({"Provisioned": "True", "Ready": "True", "Paused": "True"}, "Ready"),
    ],
)
def test_the_phase_is_derived_from_conditions_as_kubedb_does(
    states: dict[str, str], phase: str
) -> None:
    assert conditions.derive_phase(_conds(**states)) == phase


def test_a_condition_keeps_its_transition_time_while_its_status_holds() -> None:
    conds: list[dict[str, Any]] = []
    conditions.set_condition(
        conds, "Ready", "True", reason="r", message="m", now="t1", generation=1
    )
    conditions.set_condition(
        conds, "Ready", "True", reason="r2", message="m2", now="t2", generation=2
    )
    conditions.set_condition(
        conds, "Ready", "False", reason="r3", message="m3", now="t3", generation=2
    )

    assert len(conds) == 1
    assert conds[0]["lastTransitionTime"] == "t3" and conds[0]["severity"] == "Warning"
