"""The engine table: KubeDB's identities, ports, users, and the platform's topology rules."""

from __future__ import annotations

import pytest

from app.domain import engines, errors
from app.domain.engines import Engine, Topology

# Reference §1.1 identity table and §3.1 default superusers.
IDENTITIES = [
    (
        Engine.POSTGRES,
        "Postgres",
        "postgreses",
        "PostgresOpsRequest",
        "postgresopsrequests",
        "PostgresVersion",
        "postgresversions",
        "postgres",
        5432,
        "postgres",
    ),
    (
        Engine.MYSQL,
        "MySQL",
        "mysqls",
        "MySQLOpsRequest",
        "mysqlopsrequests",
        "MySQLVersion",
        "mysqlversions",
        "mysql",
        3306,
        "root",
    ),
    (
        Engine.MARIADB,
        "MariaDB",
        "mariadbs",
        "MariaDBOpsRequest",
        "mariadbopsrequests",
        "MariaDBVersion",
        "mariadbversions",
        "mariadb",
        3306,
        "root",
    ),
    (
        Engine.MONGODB,
        "MongoDB",
        "mongodbs",
        "MongoDBOpsRequest",
        "mongodbopsrequests",
        "MongoDBVersion",
        "mongodbversions",
        "mongodb",
        27017,
        "root",
    ),
    (
        Engine.REDIS,
        "Redis",
        "redises",
        "RedisOpsRequest",
        "redisopsrequests",
        "RedisVersion",
        "redisversions",
        "redis",
        6379,
        "default",
    ),
]


@pytest.mark.parametrize(
    (
        "engine",
        "kind",
        "plural",
        "ops_kind",
        "ops_plural",
        "catalog_kind",
        "catalog_plural",
        "container",
        "port",
        "user",
    ),
    IDENTITIES,
    ids=[row[0].value for row in IDENTITIES],
)
def test_each_engine_carries_kubedbs_names_port_and_superuser(
    engine: Engine,
    kind: str,
    plural: str,
    ops_kind: str,
    ops_plural: str,
    catalog_kind: str,
    catalog_plural: str,
    container: str,
    port: int,
    user: str,
) -> None:
    spec = engines.spec(engine)

    assert (spec.kind, spec.plural) == (kind, plural)
    assert (spec.ops_kind, spec.ops_plural) == (ops_kind, ops_plural)
    assert (spec.catalog_kind, spec.catalog_plural) == (catalog_kind, catalog_plural)
    assert (spec.container, spec.port, spec.admin_user) == (container, port, user)


def test_the_table_covers_exactly_the_five_engines() -> None:
    assert set(engines.ENGINES) == set(Engine)
    assert all(spec.engine is engine for engine, spec in engines.ENGINES.items())


@pytest.mark.parametrize("engine", list(Engine))
def test_resources_name_the_api_group_version_and_scope(engine: Engine) -> None:
    spec = engines.spec(engine)

    assert spec.database_resource.api_version == "kubedb.com/v1"
    assert spec.database_resource.group == "kubedb.com"
    assert spec.database_resource.version == "v1"
    assert spec.ops_resource.api_version == "ops.kubedb.com/v1alpha1"
    assert spec.catalog_resource.api_version == "catalog.kubedb.com/v1alpha1"
    assert spec.database_resource.namespaced and spec.ops_resource.namespaced
    assert not spec.catalog_resource.namespaced


@pytest.mark.parametrize("engine", list(Engine))
def test_every_engine_runs_standalone_with_exactly_one_pod(engine: Engine) -> None:
    standalone = engines.spec(engine).standalone

    assert standalone.topology is Topology.STANDALONE
    assert not standalone.high_availability
    assert [n for n in range(0, 11) if standalone.replicas.allows(n)] == [1]
    assert standalone.horizontal_field is None


HA_RULES = [
    (Engine.POSTGRES, Topology.STREAMING_REPLICATION, [2, 3, 4, 5, 6, 7, 8, 9]),
    (Engine.MYSQL, Topology.GROUP_REPLICATION, [3, 4, 5, 6, 7, 8, 9]),
    (Engine.MARIADB, Topology.GALERA, [3, 5, 7, 9]),
    (Engine.MONGODB, Topology.REPLICA_SET, [3, 4, 5, 6, 7, 8, 9]),
    (Engine.REDIS, Topology.SENTINEL, [2, 3, 4, 5, 6, 7, 8, 9]),
]


@pytest.mark.parametrize(("engine", "topology", "allowed"), HA_RULES, ids=[r[0] for r in HA_RULES])
def test_high_availability_selects_the_engines_topology_and_member_rule(
    engine: Engine, topology: Topology, allowed: list[int]
) -> None:
    ha = engines.spec(engine).default_ha

    assert ha.topology is topology
    assert ha.high_availability
    assert [n for n in range(0, 12) if ha.replicas.allows(n)] == allowed
    assert ha.replicas.allows(ha.default_replicas)


def test_redis_cluster_counts_pods_per_shard_and_needs_three_shards() -> None:
    cluster = engines.spec(Engine.REDIS).topology(Topology.CLUSTER)

    assert [n for n in range(0, 12) if cluster.replicas.allows(n)] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert cluster.shards is not None and cluster.default_shards == 3
    assert not cluster.shards.allows(2) and cluster.shards.allows(3) and cluster.shards.allows(50)


@pytest.mark.parametrize(
    ("engine", "standby"),
    [
        (Engine.POSTGRES, True),
        (Engine.MYSQL, True),
        (Engine.MARIADB, True),
        (Engine.MONGODB, False),
        (Engine.REDIS, False),
    ],
)
def test_only_the_sql_engines_have_a_standby_service(engine: Engine, standby: bool) -> None:
    assert engines.spec(engine).has_standby_service is standby


@pytest.mark.parametrize(
    ("engine", "topology", "component", "field"),
    [
        (Engine.POSTGRES, Topology.STREAMING_REPLICATION, "postgres", "replicas"),
        (Engine.MYSQL, Topology.GROUP_REPLICATION, "mysql", "member"),
        (Engine.MARIADB, Topology.GALERA, "mariadb", "member"),
        (Engine.MONGODB, Topology.STANDALONE, "standalone", None),
        (Engine.MONGODB, Topology.REPLICA_SET, "replicaSet", "replicas"),
        (Engine.REDIS, Topology.SENTINEL, "redis", "replicas"),
        (Engine.REDIS, Topology.CLUSTER, "redis", "replicas"),
    ],
)
def test_topologies_name_their_opsrequest_fields(
    engine: Engine, topology: Topology, component: str, field: str | None
) -> None:
    spec = engines.spec(engine).topology(topology)

    assert spec.ops_component == component
    assert spec.horizontal_field == field


def test_an_unknown_engine_is_refused_on_the_engine_field() -> None:
    with pytest.raises(errors.UnknownEngine) as caught:
        engines.spec("oracle")

    assert caught.value.field == "engine"
    assert "postgres, mysql, mariadb, mongodb, redis" in caught.value.message


def test_asking_an_engine_for_a_topology_it_lacks_is_refused() -> None:
    with pytest.raises(errors.InvalidTopology) as caught:
        engines.spec(Engine.MYSQL).topology(Topology.GALERA)

    assert caught.value.field == "topology"
    assert "group_replication" in caught.value.message


def test_engines_are_found_by_their_kubedb_kinds() -> None:
    assert engines.by_kind("Postgres") is engines.spec("postgres")
    assert engines.by_ops_kind("RedisOpsRequest") is engines.spec("redis")
    assert engines.by_kind("Elasticsearch") is None


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (engines.CountRule(1, 1), "exactly 1"),
        (engines.CountRule(3, 9), "from 3 to 9"),
        (engines.CountRule(3, 9, odd_only=True), "an odd number from 3 to 9"),
        (engines.CountRule(3), "at least 3"),
    ],
)
def test_count_rules_describe_themselves_in_words(rule: engines.CountRule, text: str) -> None:
    assert rule.describe() == text
