"""The five KubeDB engines as the operator sees them: kinds, plurals, default users, ports,
services, and the replica/topology rules its webhooks enforce (reference §1.3, §3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DB_GROUP = "kubedb.com"
DB_VERSION = "v1"
OPS_GROUP = "ops.kubedb.com"
OPS_VERSION = "v1alpha1"
CATALOG_GROUP = "catalog.kubedb.com"
CATALOG_VERSION = "v1alpha1"
FINALIZER = "kubedb.com"


@dataclass(frozen=True, slots=True)
class Engine:
    kind: str
    plural: str
    short: str
    ops_kind: str
    ops_plural: str
    ops_short: str
    version_kind: str
    version_plural: str
    default_user: str
    port: int
    has_standby: bool
    webhook: str  # the admission webhook's name, as it appears in denial messages
    container: str  # the database container in podTemplate.spec.containers


ENGINES: tuple[Engine, ...] = (
    Engine(
        "MongoDB",
        "mongodbs",
        "mg",
        "MongoDBOpsRequest",
        "mongodbopsrequests",
        "mgops",
        "MongoDBVersion",
        "mongodbversions",
        "root",
        27017,
        False,
        "mongodbwebhook.validators.kubedb.com",
        "mongodb",
    ),
    Engine(
        "Postgres",
        "postgreses",
        "pg",
        "PostgresOpsRequest",
        "postgresopsrequests",
        "pgops",
        "PostgresVersion",
        "postgresversions",
        "postgres",
        5432,
        True,
        "postgreswebhook.validators.kubedb.com",
        "postgres",
    ),
    Engine(
        "MySQL",
        "mysqls",
        "my",
        "MySQLOpsRequest",
        "mysqlopsrequests",
        "myops",
        "MySQLVersion",
        "mysqlversions",
        "root",
        3306,
        True,
        "mysqlwebhook.validators.kubedb.com",
        "mysql",
    ),
    Engine(
        "MariaDB",
        "mariadbs",
        "md",
        "MariaDBOpsRequest",
        "mariadbopsrequests",
        "mariaops",
        "MariaDBVersion",
        "mariadbversions",
        "root",
        3306,
        True,
        "mariadbwebhook.validators.kubedb.com",
        "mariadb",
    ),
    Engine(
        "Redis",
        "redises",
        "rd",
        "RedisOpsRequest",
        "redisopsrequests",
        "rdops",
        "RedisVersion",
        "redisversions",
        "default",
        6379,
        False,
        "rediswebhook.validators.kubedb.com",
        "redis",
    ),
    # Sentinel-mode Redis points at a RedisSentinel CR (reference §1.3); it has no OpsRequests
    # of its own in this model.
    Engine(
        "RedisSentinel",
        "redissentinels",
        "rds",
        "RedisSentinelOpsRequest",
        "redissentinelopsrequests",
        "rdsops",
        "RedisVersion",
        "redisversions",
        "default",
        26379,
        False,
        "redissentinelwebhook.validators.kubedb.com",
        "redissentinel",
    ),
)
OPS_ENGINES = tuple(e for e in ENGINES if e.kind != "RedisSentinel")

BY_KIND = {e.kind: e for e in ENGINES}
BY_OPS_KIND = {e.ops_kind: e for e in OPS_ENGINES}


def topology_name(kind: str, spec: Mapping[str, Any]) -> str:
    """The topology as KubeDB's messages name it ('MongoDB Standalone', 'Redis Cluster', ...)."""
    if kind == "MongoDB":
        if spec.get("shardTopology"):
            return "MongoDB Sharded"
        return "MongoDB ReplicaSet" if spec.get("replicaSet") else "MongoDB Standalone"
    if kind == "Redis":
        return f"Redis {spec.get('mode') or 'Standalone'}"
    if kind == "MySQL":
        mode = (spec.get("topology") or {}).get("mode")
        return f"MySQL {mode}" if mode else "MySQL Standalone"
    if kind == "MariaDB":
        mode = (spec.get("topology") or {}).get("mode")
        return f"MariaDB {mode}" if mode else "MariaDB Standalone"
    return "Postgres"
