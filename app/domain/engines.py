"""The engine table: every fact about the five engines, in one place (STYLE rule 4).

Anything that needs a KubeDB kind or plural, a port, a container name, the admin user or a
replica rule derives it from `ENGINES`. Two kinds of facts live here:

- KubeDB's (reference/kubedb-api.md §1.1 identity table, §1.3 engine specifics, §3 users and
  services), such as `Postgres`/`postgreses`/`PostgresOpsRequest`, container `postgres`,
  port 5432, user `postgres`, and the OpsRequest field names of §5.3 per topology;
- this platform's choices: which topologies each engine offers, which one `high_availability`
  selects by default, and how many members each may have.

Topologies. Without high availability every engine runs one standalone pod (`replicas` = 1).
With it: Postgres a hot-standby cluster (streaming replication, 2..9), MySQL group replication
(3..9, KubeDB's group size rule), MariaDB a Galera cluster (odd, 3..9: an even cluster can split
in half with no quorum), MongoDB a replica set `rs0` (3..9: fewer cannot elect a primary after
a loss), Redis Sentinel (2..9 pods in the replication group, watched by a 3-pod RedisSentinel)
by default, or Redis Cluster on request (3+ shards of 2..9 pods each, the master included,
KubeDB v1's counting). The upper bound 9 is the API's replicas limit.

This module must not build manifests, raise HTTP errors or read anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain import errors

KUBEDB_API_VERSION = "kubedb.com/v1"
OPS_API_VERSION = "ops.kubedb.com/v1alpha1"
CATALOG_API_VERSION = "catalog.kubedb.com/v1alpha1"
ARCHIVER_API_VERSION = "archiver.kubedb.com/v1alpha1"

# The replica set name this platform gives every MongoDB replica set (immutable in KubeDB).
MONGODB_REPLICA_SET_NAME = "rs0"
# Sentinels watching one Redis replication group: a quorum of 2 needs 3.
REDIS_SENTINEL_REPLICAS = 3
# Exactly the API's `replicas` bound (1 to 9).
MAX_REPLICAS = 9


class Engine(StrEnum):
    POSTGRES = "postgres"
    MYSQL = "mysql"
    MARIADB = "mariadb"
    MONGODB = "mongodb"
    REDIS = "redis"


class Topology(StrEnum):
    STANDALONE = "standalone"
    STREAMING_REPLICATION = "streaming_replication"
    GROUP_REPLICATION = "group_replication"
    GALERA = "galera"
    REPLICA_SET = "replica_set"
    SENTINEL = "sentinel"
    CLUSTER = "cluster"


@dataclass(frozen=True, slots=True)
class Resource:
    """How the Kubernetes API names one kind: what a gateway needs to address it."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def group(self) -> str:
        return self.api_version.partition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.partition("/")[2]


@dataclass(frozen=True, slots=True)
class CountRule:
    """An allowed range of member counts, optionally odd only."""

    minimum: int
    maximum: int | None = None
    odd_only: bool = False

    def allows(self, count: int) -> bool:
        if count < self.minimum or (self.maximum is not None and count > self.maximum):
            return False
        return not self.odd_only or count % 2 == 1

    def describe(self) -> str:
        if self.maximum == self.minimum:
            return f"exactly {self.minimum}"
        odd = "an odd number " if self.odd_only else ""
        if self.maximum is None:
            return f"{odd}of at least {self.minimum}" if odd else f"at least {self.minimum}"
        return f"{odd}from {self.minimum} to {self.maximum}"


@dataclass(frozen=True, slots=True)
class TopologySpec:
    """One way to run an engine, with its member rule and OpsRequest field names (§5.3)."""

    topology: Topology
    title: str
    high_availability: bool
    replicas: CountRule
    default_replicas: int
    # What `replicas` counts, for messages ("members", "pods per shard, master included").
    counts: str
    # Component key of VerticalScaling and VolumeExpansion for the database pods.
    ops_component: str
    # HorizontalScaling field holding the member count; None: this topology does not scale.
    horizontal_field: str | None
    # Redis Cluster only: the shard rule and default.
    shards: CountRule | None = None
    default_shards: int | None = None


@dataclass(frozen=True, slots=True)
class EngineSpec:
    engine: Engine
    title: str
    kind: str
    plural: str
    ops_kind: str
    ops_plural: str
    catalog_kind: str
    catalog_plural: str
    # The database container in podTemplate.spec.containers[] (v1 shape, §1.4).
    container: str
    port: int
    # KubeDB's default superuser (§3.1); `admin_user_fixed`: a custom secret must use it too.
    admin_user: str
    admin_user_fixed: bool
    uri_scheme: str
    # The database a connection string names by default (None: no path).
    default_database: str | None
    # KubeDB creates `<name>-standby` for read-only replicas (§3.2).
    has_standby_service: bool
    # The standalone topology first, then the HA ones; the first HA one is the default.
    topologies: tuple[TopologySpec, ...]
    # KubeDB's continuous-archiving kind (reference/kubestash.md §2); None: no PITR (Redis).
    archiver_kind: str | None = None

    @property
    def database_resource(self) -> Resource:
        return Resource(KUBEDB_API_VERSION, self.kind, self.plural)

    @property
    def ops_resource(self) -> Resource:
        return Resource(OPS_API_VERSION, self.ops_kind, self.ops_plural)

    @property
    def archiver_resource(self) -> Resource | None:
        if self.archiver_kind is None:
            return None
        return Resource(ARCHIVER_API_VERSION, self.archiver_kind, f"{self.archiver_kind.lower()}s")

    @property
    def catalog_resource(self) -> Resource:
        return Resource(CATALOG_API_VERSION, self.catalog_kind, self.catalog_plural, False)

    @property
    def standalone(self) -> TopologySpec:
        return self.topologies[0]

    @property
    def default_ha(self) -> TopologySpec:
        return next(t for t in self.topologies if t.high_availability)

    def offers(self, topology: Topology) -> bool:
        return any(t.topology is topology for t in self.topologies)

    def topology(self, topology: Topology | str) -> TopologySpec:
        for spec in self.topologies:
            if spec.topology == topology:
                return spec
        offered = ", ".join(t.topology.value for t in self.topologies)
        raise errors.InvalidTopology(
            "topology", f"{self.title} offers the topologies {offered}, not {topology!s}"
        )


def _standalone(title: str, component: str) -> TopologySpec:
    return TopologySpec(
        topology=Topology.STANDALONE,
        title=f"standalone {title}",
        high_availability=False,
        replicas=CountRule(1, 1),
        default_replicas=1,
        counts="pod",
        ops_component=component,
        horizontal_field=None,
    )


ENGINES: dict[Engine, EngineSpec] = {
    Engine.POSTGRES: EngineSpec(
        engine=Engine.POSTGRES,
        title="PostgreSQL",
        kind="Postgres",
        archiver_kind="PostgresArchiver",
        plural="postgreses",
        ops_kind="PostgresOpsRequest",
        ops_plural="postgresopsrequests",
        catalog_kind="PostgresVersion",
        catalog_plural="postgresversions",
        container="postgres",
        port=5432,
        admin_user="postgres",
        admin_user_fixed=False,
        uri_scheme="postgresql",
        default_database="postgres",
        has_standby_service=True,
        topologies=(
            _standalone("PostgreSQL", "postgres"),
            TopologySpec(
                topology=Topology.STREAMING_REPLICATION,
                title="PostgreSQL hot-standby cluster",
                high_availability=True,
                replicas=CountRule(2, MAX_REPLICAS),
                default_replicas=3,
                counts="members (a primary and its standbys)",
                ops_component="postgres",
                horizontal_field="replicas",
            ),
        ),
    ),
    Engine.MYSQL: EngineSpec(
        engine=Engine.MYSQL,
        title="MySQL",
        kind="MySQL",
        archiver_kind="MySQLArchiver",
        plural="mysqls",
        ops_kind="MySQLOpsRequest",
        ops_plural="mysqlopsrequests",
        catalog_kind="MySQLVersion",
        catalog_plural="mysqlversions",
        container="mysql",
        port=3306,
        admin_user="root",
        admin_user_fixed=False,
        uri_scheme="mysql",
        default_database=None,
        has_standby_service=True,
        topologies=(
            _standalone("MySQL", "mysql"),
            TopologySpec(
                topology=Topology.GROUP_REPLICATION,
                title="MySQL group replication cluster",
                high_availability=True,
                replicas=CountRule(3, MAX_REPLICAS),
                default_replicas=3,
                counts="group members",
                ops_component="mysql",
                horizontal_field="member",
            ),
        ),
    ),
    Engine.MARIADB: EngineSpec(
        engine=Engine.MARIADB,
        title="MariaDB",
        kind="MariaDB",
        archiver_kind="MariaDBArchiver",
        plural="mariadbs",
        ops_kind="MariaDBOpsRequest",
        ops_plural="mariadbopsrequests",
        catalog_kind="MariaDBVersion",
        catalog_plural="mariadbversions",
        container="mariadb",
        port=3306,
        admin_user="root",
        admin_user_fixed=True,
        uri_scheme="mysql",
        default_database=None,
        has_standby_service=True,
        topologies=(
            _standalone("MariaDB", "mariadb"),
            TopologySpec(
                topology=Topology.GALERA,
                title="MariaDB Galera cluster",
                high_availability=True,
                replicas=CountRule(3, MAX_REPLICAS, odd_only=True),
                default_replicas=3,
                counts="cluster members",
                ops_component="mariadb",
                horizontal_field="member",
            ),
        ),
    ),
    Engine.MONGODB: EngineSpec(
        engine=Engine.MONGODB,
        title="MongoDB",
        kind="MongoDB",
        archiver_kind="MongoDBArchiver",
        plural="mongodbs",
        ops_kind="MongoDBOpsRequest",
        ops_plural="mongodbopsrequests",
        catalog_kind="MongoDBVersion",
        catalog_plural="mongodbversions",
        container="mongodb",
        port=27017,
        admin_user="root",
        admin_user_fixed=False,
        uri_scheme="mongodb",
        default_database=None,
        has_standby_service=False,
        topologies=(
            _standalone("MongoDB", "standalone"),
            TopologySpec(
                topology=Topology.REPLICA_SET,
                title="MongoDB replica set",
                high_availability=True,
                replicas=CountRule(3, MAX_REPLICAS),
                default_replicas=3,
                counts="replica set members",
                ops_component="replicaSet",
                horizontal_field="replicas",
            ),
        ),
    ),
    Engine.REDIS: EngineSpec(
        engine=Engine.REDIS,
        title="Redis",
        kind="Redis",
        plural="redises",
        ops_kind="RedisOpsRequest",
        ops_plural="redisopsrequests",
        catalog_kind="RedisVersion",
        catalog_plural="redisversions",
        container="redis",
        port=6379,
        admin_user="default",
        admin_user_fixed=True,
        uri_scheme="redis",
        default_database="0",
        has_standby_service=False,
        topologies=(
            _standalone("Redis", "redis"),
            TopologySpec(
                topology=Topology.SENTINEL,
                title="Redis Sentinel replication group",
                high_availability=True,
                replicas=CountRule(2, MAX_REPLICAS),
                default_replicas=3,
                counts="pods (master and replicas)",
                ops_component="redis",
                horizontal_field="replicas",
            ),
            TopologySpec(
                topology=Topology.CLUSTER,
                title="Redis Cluster",
                high_availability=True,
                replicas=CountRule(2, MAX_REPLICAS),
                default_replicas=2,
                counts="pods per shard (master included)",
                ops_component="redis",
                horizontal_field="replicas",
                shards=CountRule(3),
                default_shards=3,
            ),
        ),
    ),
}

# The sentinels of a Redis Sentinel database are a CR of their own (§1.1, §1.3).
REDIS_SENTINEL = Resource(KUBEDB_API_VERSION, "RedisSentinel", "redissentinels")
REDIS_SENTINEL_CONTAINER = "redissentinel"
REDIS_SENTINEL_PORT = 26379


def parse_engine(value: Engine | str, *, field: str = "engine") -> Engine:
    try:
        return Engine(value)
    except ValueError:
        names = ", ".join(e.value for e in Engine)
        raise errors.UnknownEngine(field, f"engine must be one of {names}, not {value!r}") from None


def spec(engine: Engine | str) -> EngineSpec:
    """The table row of an engine; raises `UnknownEngine` for anything else."""
    return ENGINES[parse_engine(engine)]


def by_kind(kind: str) -> EngineSpec | None:
    """The engine whose database CR kind is `kind`, if it is one of ours."""
    return next((s for s in ENGINES.values() if s.kind == kind), None)


def by_ops_kind(ops_kind: str) -> EngineSpec | None:
    return next((s for s in ENGINES.values() if s.ops_kind == ops_kind), None)
