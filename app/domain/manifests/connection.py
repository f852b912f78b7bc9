"""Where a client connects, and the connection string it uses (reference §3.2, §3.3).

KubeDB exposes the primary as the service `<name>` and, for engines that have one, read-only
replicas as `<name>-standby`; pods resolve through the headless `<name>-pods`. Hosts are
in-cluster names `<service>.<namespace>.svc`. URIs per engine:

    postgres     postgresql://USER:PASS@<host>:5432/postgres?sslmode=disable|verify-full
    mysql        mysql://USER:PASS@<host>:3306/       (MariaDB alike)
    mongodb      mongodb://USER:PASS@<host>:27017/?authSource=admin
                 replica set: every pod's DNS, then ?replicaSet=rs0&authSource=admin
    redis        redis://USER:PASS@<host>:6379/0      (rediss:// with TLS; no /0 for Cluster,
                 which a cluster-aware client seeds from the same host)

Where the database's AppBinding has a `clientConfig.url` (the embedded cluster: a loopback
address, `domain.data_plane`), its host, port and database replace the Service's.

User and password are percent-encoded. Pure: the caller reads the secret; this module must
not, and must not log what it builds (the `repr` of `ConnectionInfo` hides the secrets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from app.domain import data_plane, engines
from app.domain.engines import Engine, Topology
from app.domain.manifests import names


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    # Read-only replicas (`<name>-standby`) for HA databases of engines that have them.
    read_host: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """The `GET /credentials` body. Secrets stay out of `repr` (and so out of logs)."""

    username: str
    password: str = field(repr=False)
    host: str
    port: int
    database: str | None
    connection_string: str = field(repr=False)
    read_host: str | None = None


def service_host(service: str, namespace: str) -> str:
    return f"{service}.{namespace}.svc"


def endpoint(
    engine: Engine | str, *, name: str, namespace: str, topology: Topology = Topology.STANDALONE
) -> Endpoint:
    spec = engines.spec(engine)
    read_host = None
    if spec.has_standby_service and topology is not Topology.STANDALONE:
        read_host = service_host(names.standby_service_name(name), namespace)
    return Endpoint(
        host=service_host(names.primary_service_name(name), namespace),
        port=spec.port,
        read_host=read_host,
    )


def connection_info(
    engine: Engine | str,
    *,
    name: str,
    namespace: str,
    username: str,
    password: str,
    topology: Topology = Topology.STANDALONE,
    replicas: int = 1,
    tls: bool = False,
    address: data_plane.Address | None = None,
) -> ConnectionInfo:
    """`address` (the AppBinding's `clientConfig.url`, when it has one) replaces the
    Service DNS name, port and database: one host, so no replica-set seed list."""
    spec = engines.spec(engine)
    where = endpoint(spec.engine, name=name, namespace=namespace, topology=topology)
    host, port, database = where.host, where.port, spec.default_database
    if address is not None:
        host, port = address.host, address.port or spec.port
        database = address.database or database
    userinfo = f"{quote(username, safe='')}:{quote(password, safe='')}"
    host_port = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    replica_set = address is None and topology is Topology.REPLICA_SET
    if spec.engine is Engine.MONGODB and replica_set:
        pods = names.pods_service_name(name)
        host_port = ",".join(
            f"{service_host(f'{name}-{i}.{pods}', namespace)}:{spec.port}" for i in range(replicas)
        )
    if spec.engine is Engine.REDIS and topology is Topology.CLUSTER:
        database = None
    return ConnectionInfo(
        username=username,
        password=password,
        host=host,
        port=port,
        database=database,
        connection_string=_uri(
            spec.engine,
            f"{userinfo}@{host_port}",
            database,
            replica_set=replica_set,
            tls=tls,
        ),
        read_host=where.read_host,
    )


def _uri(
    engine: Engine, authority: str, database: str | None, *, replica_set: bool, tls: bool
) -> str:
    spec = engines.spec(engine)
    if engine is Engine.POSTGRES:
        sslmode = "verify-full" if tls else "disable"
        return f"postgresql://{authority}/{database}?sslmode={sslmode}"
    if engine in (Engine.MYSQL, Engine.MARIADB):
        return f"{spec.uri_scheme}://{authority}/"
    if engine is Engine.MONGODB:
        query = "authSource=admin"
        if replica_set:
            query = f"replicaSet={engines.MONGODB_REPLICA_SET_NAME}&{query}"
        if tls:
            query += "&tls=true"
        return f"mongodb://{authority}/?{query}"
    scheme = "rediss" if tls else spec.uri_scheme
    return f"{scheme}://{authority}" if database is None else f"{scheme}://{authority}/{database}"
