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

User and password are percent-encoded. Pure: the caller reads the secret; this module must
not, and must not log what it builds (the `repr` of `ConnectionInfo` hides the secrets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from app.domain import engines
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
) -> ConnectionInfo:
    spec = engines.spec(engine)
    where = endpoint(spec.engine, name=name, namespace=namespace, topology=topology)
    userinfo = f"{quote(username, safe='')}:{quote(password, safe='')}"
    host_port = f"{where.host}:{where.port}"
    database = spec.default_database
    if spec.engine is Engine.POSTGRES:
        sslmode = "verify-full" if tls else "disable"
        uri = f"postgresql://{userinfo}@{host_port}/{database}?sslmode={sslmode}"
    elif spec.engine in (Engine.MYSQL, Engine.MARIADB):
        uri = f"{spec.uri_scheme}://{userinfo}@{host_port}/"
    elif spec.engine is Engine.MONGODB:
        query = "authSource=admin"
        if topology is Topology.REPLICA_SET:
            pods = names.pods_service_name(name)
            host_port = ",".join(
                f"{service_host(f'{name}-{i}.{pods}', namespace)}:{spec.port}"
                for i in range(replicas)
            )
            query = f"replicaSet={engines.MONGODB_REPLICA_SET_NAME}&{query}"
        if tls:
            query += "&tls=true"
        uri = f"mongodb://{userinfo}@{host_port}/?{query}"
    else:
        scheme = "rediss" if tls else spec.uri_scheme
        if topology is Topology.CLUSTER:
            database = None
            uri = f"{scheme}://{userinfo}@{host_port}"
        else:
            uri = f"{scheme}://{userinfo}@{host_port}/{database}"
    return ConnectionInfo(
        username=username,
        password=password,
        host=where.host,
        port=where.port,
        database=database,
        connection_string=uri,
        read_host=where.read_host,
    )
