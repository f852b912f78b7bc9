"""Input rules: DNS-1123 names, Kubernetes labels, topology and replica rules, storage, users."""

from __future__ import annotations

import pytest

from app.domain import engines, errors, validation
from app.domain.engines import Engine, Topology


@pytest.mark.parametrize("name", ["abc", "a1-b2", "0db", "x" * 63, "my-db-01"])
def test_dns_1123_labels_are_accepted_as_database_names(name: str) -> None:
    assert validation.check_database_name(name) == name


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("ab", "3 to 63"),
        ("x" * 64, "3 to 63"),
        ("My-db", "DNS-1123"),
        ("-abc", "DNS-1123"),
        ("abc-", "DNS-1123"),
        ("a_bc", "DNS-1123"),
        ("a.bc", "DNS-1123"),
    ],
)
def test_names_that_are_not_dns_1123_labels_are_refused(name: str, complaint: str) -> None:
    with pytest.raises(errors.InvalidName) as caught:
        validation.check_database_name(name)

    assert caught.value.field == "name"
    assert complaint in caught.value.message
    assert caught.value.code == "invalid_name"


@pytest.mark.parametrize(
    "labels",
    [
        {},
        {"team": "payments"},
        {"example.com/owner": "a.b-c_d"},
        {"tier": ""},
        {"app.kubernetes.io/part-of": "shop"},
        {"K": "V"},
    ],
)
def test_labels_following_kubernetes_rules_are_accepted(labels: dict[str, str]) -> None:
    assert validation.check_labels(labels) == labels


@pytest.mark.parametrize(
    ("labels", "field", "complaint"),
    [
        ({"-team": "x"}, "labels.-team", "key name"),
        ({"a" * 64: "x"}, "labels." + "a" * 64, "key name"),
        ({"Bad_Prefix/x": "y"}, "labels.Bad_Prefix/x", "key prefix"),
        ({"/x": "y"}, "labels./x", "key prefix"),
        ({"team": "has space"}, "labels.team", "label value"),
        ({"team": "v" * 64}, "labels.team", "label value"),
        ({"dbaas.io/database-id": "db-x"}, "labels.dbaas.io/database-id", "reserved"),
        ({"app.kubernetes.io/managed-by": "me"}, "labels.app.kubernetes.io/managed-by", "reserved"),
        ({"app.kubernetes.io/instance": "x"}, "labels.app.kubernetes.io/instance", "reserved"),
        ({"kubedb.com/role": "primary"}, "labels.kubedb.com/role", "reserved"),
        ({"node.kubernetes.io/x": "y"}, "labels.node.kubernetes.io/x", "reserved"),
    ],
)
def test_labels_breaking_kubernetes_rules_or_on_our_keys_are_refused(
    labels: dict[str, str], field: str, complaint: str
) -> None:
    with pytest.raises(errors.InvalidLabels) as caught:
        validation.check_labels(labels)

    assert caught.value.field == field
    assert complaint in caught.value.message


def test_annotations_take_any_value_but_not_reserved_keys_or_too_many_bytes() -> None:
    assert validation.check_annotations({"note": "free text, with spaces!"})
    with pytest.raises(errors.InvalidAnnotations, match="reserved"):
        validation.check_annotations({"kubedb.com/resource-policy-keep-on": "halt"})
    with pytest.raises(errors.InvalidAnnotations, match="Kubernetes allows 262144"):
        validation.check_annotations({"big": "x" * (256 * 1024)})


def test_an_annotation_error_is_named_for_annotations_not_labels() -> None:
    with pytest.raises(errors.InvalidAnnotations) as bad_key:
        validation.check_annotations({"not a key!": "v"})

    assert bad_key.value.code == "invalid_annotations"
    assert bad_key.value.field == "annotations.not a key!"


@pytest.mark.parametrize("engine", list(Engine))
def test_without_high_availability_every_engine_is_standalone(engine: Engine) -> None:
    chosen = validation.check_topology(engine, high_availability=False)

    assert chosen.topology is Topology.STANDALONE


@pytest.mark.parametrize(
    ("engine", "topology"),
    [
        (Engine.POSTGRES, Topology.STREAMING_REPLICATION),
        (Engine.MYSQL, Topology.GROUP_REPLICATION),
        (Engine.MARIADB, Topology.GALERA),
        (Engine.MONGODB, Topology.REPLICA_SET),
        (Engine.REDIS, Topology.SENTINEL),
    ],
)
def test_high_availability_picks_each_engines_default_topology(
    engine: Engine, topology: Topology
) -> None:
    assert validation.check_topology(engine, high_availability=True).topology is topology


def test_redis_cluster_is_chosen_by_name_and_only_with_high_availability() -> None:
    chosen = validation.check_topology("redis", high_availability=True, topology="cluster")
    assert chosen.topology is Topology.CLUSTER

    with pytest.raises(errors.InvalidTopology, match="high_availability set to true"):
        validation.check_topology("redis", high_availability=False, topology="cluster")


def test_a_topology_the_engine_lacks_is_refused() -> None:
    with pytest.raises(errors.InvalidTopology) as caught:
        validation.check_topology("postgres", high_availability=True, topology="galera")

    assert caught.value.field == "topology"


@pytest.mark.parametrize(
    ("engine", "high_availability", "replicas", "rule", "words"),
    [
        (
            Engine.POSTGRES,
            False,
            3,
            "postgres.standalone",
            "a standalone PostgreSQL needs exactly 1 pod, not 3; set high_availability to true "
            "for a PostgreSQL hot-standby cluster, which takes from 2 to 9 members "
            "(a primary and its standbys)",
        ),
        (
            Engine.POSTGRES,
            True,
            1,
            "postgres.streaming_replication",
            "a PostgreSQL hot-standby cluster needs from 2 to 9 members "
            "(a primary and its standbys), not 1",
        ),
        (
            Engine.MYSQL,
            True,
            2,
            "mysql.group_replication",
            "a MySQL group replication cluster needs from 3 to 9 group members, not 2",
        ),
        (Engine.MYSQL, True, 10, "mysql.group_replication", "from 3 to 9 group members, not 10"),
        (
            Engine.MARIADB,
            True,
            4,
            "mariadb.galera",
            "a MariaDB Galera cluster needs an odd number from 3 to 9 cluster members, not 4",
        ),
        (
            Engine.MONGODB,
            True,
            2,
            "mongodb.replica_set",
            "a MongoDB replica set needs from 3 to 9 replica set members, not 2",
        ),
        (Engine.MONGODB, False, 0, "mongodb.standalone", "exactly 1 pod, not 0"),
        (
            Engine.REDIS,
            True,
            1,
            "redis.sentinel",
            "a Redis Sentinel replication group needs from 2 to 9 pods "
            "(master and replicas), not 1",
        ),
    ],
)
def test_replica_counts_breaking_the_engine_rule_are_refused_naming_the_rule(
    engine: Engine, high_availability: bool, replicas: int, rule: str, words: str
) -> None:
    topology = validation.check_topology(engine, high_availability=high_availability)

    with pytest.raises(errors.ReplicaRuleViolated) as caught:
        validation.check_replicas(engine, replicas, topology=topology)

    assert caught.value.field == "replicas"
    assert caught.value.rule == rule
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("engine", "replicas"),
    [
        (Engine.POSTGRES, 2),
        (Engine.MYSQL, 9),
        (Engine.MARIADB, 5),
        (Engine.MONGODB, 3),
        (Engine.REDIS, 2),
    ],
)
def test_replica_counts_within_the_rule_pass(engine: Engine, replicas: int) -> None:
    topology = validation.check_topology(engine, high_availability=True)

    assert validation.check_replicas(engine, replicas, topology=topology) == replicas


def test_redis_cluster_shards_default_to_three_and_fewer_are_refused() -> None:
    cluster = engines.spec("redis").topology(Topology.CLUSTER)

    assert validation.check_shards("redis", None, topology=cluster) == 3
    assert validation.check_shards("redis", 5, topology=cluster) == 5
    with pytest.raises(errors.ReplicaRuleViolated) as caught:
        validation.check_shards("redis", 2, topology=cluster)
    assert caught.value.field == "shards" and caught.value.rule == "redis.cluster.shards"
    assert "at least 3 shards, not 2" in caught.value.message


def test_shards_are_refused_outside_redis_cluster() -> None:
    sentinel = engines.spec("redis").default_ha

    with pytest.raises(errors.InvalidTopology, match="has no shards"):
        validation.check_shards("redis", 3, topology=sentinel)
    assert validation.check_shards("redis", None, topology=sentinel) is None


@pytest.mark.parametrize("storage_gb", [0, -5, 10_001])
def test_storage_outside_1_to_10000_gb_is_refused(storage_gb: int) -> None:
    with pytest.raises(errors.StorageRuleViolated) as caught:
        validation.check_storage_gb(storage_gb)

    assert caught.value.field == "storage_gb"
    assert "from 1 to 10000 GB" in caught.value.message


@pytest.mark.parametrize("new_gb", [20, 10])
def test_storage_never_shrinks(new_gb: int) -> None:
    with pytest.raises(errors.StorageRuleViolated, match="never shrinks"):
        validation.check_storage_growth(20, new_gb)
    assert validation.check_storage_growth(20, 21) == 21


@pytest.mark.parametrize(("engine", "user"), [(Engine.MARIADB, "root"), (Engine.REDIS, "default")])
def test_engines_with_a_fixed_superuser_refuse_other_usernames(engine: Engine, user: str) -> None:
    assert validation.check_username(engine, user) == user
    with pytest.raises(errors.InvalidValue) as caught:
        validation.check_username(engine, "alice")
    assert caught.value.field == "username" and repr(user) in caught.value.message


def test_other_engines_take_a_custom_username_but_a_password_needs_twelve_characters() -> None:
    assert validation.check_username("postgres", "app_owner") == "app_owner"
    with pytest.raises(errors.InvalidValue):
        validation.check_username("postgres", "bad name")
    assert validation.check_password("x" * 12)
    with pytest.raises(errors.InvalidValue) as caught:
        validation.check_password("short")
    assert caught.value.field == "password" and "12" in caught.value.message


def test_settings_are_checked_and_other_keys_left_out() -> None:
    checked = validation.check_settings(
        {
            "labels": {"team": "core"},
            "monitoring_enabled": False,
            "backup_schedule": "0 3 * * *",
            "backup_retention_days": 30,
            "replicas": 3,
        }
    )

    assert checked == {
        "labels": {"team": "core"},
        "monitoring_enabled": False,
        "backup_schedule": "0 3 * * *",
        "backup_retention_days": 30,
    }


@pytest.mark.parametrize(
    ("values", "field", "complaint"),
    [
        ({"monitoring_enabled": "yes"}, "monitoring_enabled", "true or false"),
        ({"deletion_protection": 1}, "deletion_protection", "true or false"),
        ({"backup_retention_days": 0}, "backup_retention_days", "from 1 to 365"),
        ({"backup_retention_days": True}, "backup_retention_days", "from 1 to 365"),
        ({"backup_schedule": ""}, "backup_schedule", "or a cron expression of five fields"),
        ({"backup_schedule": 3}, "backup_schedule", "must be a text"),
        ({"labels": ["team"]}, "labels", "object of strings"),
        ({"annotations": {"kubedb.com/x": "y"}}, "annotations.kubedb.com/x", "reserved"),
    ],
)
def test_settings_of_the_wrong_type_or_out_of_range_are_refused(
    values: dict[str, object], field: str, complaint: str
) -> None:
    with pytest.raises(errors.InvalidValue) as caught:
        validation.check_settings(values)

    assert caught.value.field == field
    assert complaint in caught.value.message


@pytest.mark.parametrize(
    "schedule", ["hourly", "daily", "weekly", "0 3 * * *", "*/30 2-4 * * MON-FRI", "15 1 1 * *"]
)
def test_backup_schedules_are_a_name_or_five_field_cron(schedule: str) -> None:
    assert validation.check_backup_schedule(schedule) == schedule


@pytest.mark.parametrize(
    "schedule",
    ["monthly", "@daily", "61 * * * *", "0 3 * *", "0 3 * * * *", "0 25 * * *", "every night"],
)
def test_other_backup_schedules_are_refused_with_the_forms_that_work(schedule: str) -> None:
    with pytest.raises(errors.InvalidValue) as caught:
        validation.check_backup_schedule(schedule)

    assert caught.value.field == "backup_schedule"
    assert "'0 3 * * *'" in caught.value.message and repr(schedule) in caught.value.message


def test_more_labels_or_annotations_than_the_maximum_are_refused_on_create_and_patch() -> None:
    many = {f"k{i}": "v" for i in range(validation.MAX_LABELS + 1)}
    enough = {f"k{i}": "v" for i in range(validation.MAX_LABELS)}

    with pytest.raises(errors.InvalidLabels, match="at most 64"):
        validation.check_labels(many)
    with pytest.raises(errors.InvalidAnnotations, match="at most 64"):
        validation.check_annotations(many)
    with pytest.raises(errors.InvalidLabels, match="at most 64"):
        validation.check_settings({"labels": many})
    assert validation.check_labels(enough) == enough
