"""What an AppBinding says about where a database serves and whether a real server does
(`domain.data_plane`), and how the connection details and the status sync follow it."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain import data_plane, status_mapping, sync
from app.domain.data_plane import Address, Binding, DataPlane
from app.domain.databases import Database, DatabaseStatus, HealthStatus
from app.domain.engines import Engine, Topology
from app.domain.manifests import connection


def binding(*, url: str | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    client_config: dict[str, Any] = {
        "service": {"name": "orders", "port": 5432, "scheme": "postgresql"}
    }
    if url is not None:
        client_config["url"] = url
    return {
        "apiVersion": "appcatalog.appscode.com/v1alpha1",
        "kind": "AppBinding",
        "metadata": {"name": "orders", "namespace": "ns", "annotations": annotations or {}},
        "spec": {"clientConfig": client_config},
    }


def test_an_appbinding_of_a_real_cluster_is_real_with_no_address_of_its_own() -> None:
    assert data_plane.parse(binding()) == Binding(DataPlane.REAL)
    assert data_plane.parse({}) == Binding(DataPlane.REAL)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("real", DataPlane.REAL),
        ("modelled", DataPlane.MODELLED),
        ("Real", DataPlane.MODELLED),
        ("", DataPlane.MODELLED),
        ("hybrid", DataPlane.MODELLED),
    ],
)
def test_the_mode_annotation_is_real_only_when_it_says_exactly_real(
    mode: str, expected: DataPlane
) -> None:
    parsed = data_plane.parse(binding(annotations={data_plane.MODE_ANNOTATION: mode}))

    assert parsed.data_plane is expected


def test_the_server_version_annotation_is_read_and_an_empty_one_is_none() -> None:
    said = {data_plane.SERVER_VERSION_ANNOTATION: "18.1"}
    empty = {data_plane.SERVER_VERSION_ANNOTATION: ""}

    assert data_plane.parse(binding(annotations=said)).server_version == "18.1"
    assert data_plane.parse(binding(annotations=empty)).server_version is None


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("postgresql://127.0.0.1:54321/postgres", Address("127.0.0.1", 54321, "postgres")),
        ("redis://127.0.0.1:6390", Address("127.0.0.1", 6390, None)),
        ("redis://127.0.0.1:6390/", Address("127.0.0.1", 6390, None)),
        ("mysql://localhost/", Address("localhost", None, None)),
        ("postgresql://[::1]:5433/my%20db", Address("::1", 5433, "my db")),
        ("postgresql://u:p@127.0.0.1:5433/postgres", Address("127.0.0.1", 5433, "postgres")),
        ("postgresql://127.0.0.1:99999/postgres", None),
        ("postgresql://127.0.0.1:port/postgres", None),
        ("not a url", None),
        ("", None),
    ],
)
def test_the_url_gives_host_port_and_database_and_a_broken_one_is_ignored(
    url: str, address: Address | None
) -> None:
    assert data_plane.parse(binding(url=url)).address == address


def test_a_url_that_is_not_a_string_is_ignored() -> None:
    obj = binding()
    obj["spec"]["clientConfig"]["url"] = 5432

    assert data_plane.parse(obj).address is None


def test_the_record_fields_take_the_url_over_the_service_dns_name() -> None:
    with_url = Binding(DataPlane.MODELLED, "18.1", Address("127.0.0.1", 54321, "postgres"))
    without_port = Binding(DataPlane.REAL, None, Address("127.0.0.1", None))

    assert data_plane.record_fields(with_url, service_host="o.ns.svc", default_port=5432) == {
        "endpoint": "127.0.0.1",
        "port": 54321,
        "data_plane": DataPlane.MODELLED,
        "server_version": "18.1",
    }
    assert data_plane.record_fields(
        Binding(DataPlane.REAL), service_host="o.ns.svc", default_port=5432
    ) == {
        "endpoint": "o.ns.svc",
        "port": 5432,
        "data_plane": DataPlane.REAL,
        "server_version": None,
    }
    fields = data_plane.record_fields(without_port, service_host="o.ns.svc", default_port=5432)
    assert (fields["endpoint"], fields["port"]) == ("127.0.0.1", 5432)


def info(engine: Engine, address: Address | None, **kwargs: Any) -> connection.ConnectionInfo:
    return connection.connection_info(
        engine,
        name="orders",
        namespace="ns",
        username="us er",
        password="p@ss",
        replicas=3,
        address=address,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("engine", "address", "uri"),
    [
        (
            Engine.POSTGRES,
            Address("127.0.0.1", 54321, "postgres"),
            "postgresql://us%20er:p%40ss@127.0.0.1:54321/postgres?sslmode=disable",
        ),
        (
            Engine.POSTGRES,
            Address("127.0.0.1", 54321, "app"),
            "postgresql://us%20er:p%40ss@127.0.0.1:54321/app?sslmode=disable",
        ),
        (Engine.REDIS, Address("127.0.0.1", 6390), "redis://us%20er:p%40ss@127.0.0.1:6390/0"),
        (Engine.MARIADB, Address("127.0.0.1", None), "mysql://us%20er:p%40ss@127.0.0.1:3306/"),
        (
            Engine.POSTGRES,
            Address("::1", 5433, None),
            "postgresql://us%20er:p%40ss@[::1]:5433/postgres?sslmode=disable",
        ),
    ],
)
def test_an_address_replaces_the_service_host_port_and_database_of_the_connection_string(
    engine: Engine, address: Address, uri: str
) -> None:
    found = info(engine, address)

    assert found.connection_string == uri
    assert (found.host, found.port) == (address.host, address.port or found.port)
    assert found.read_host is None


def test_a_mongodb_replica_set_behind_one_address_has_no_seed_list_and_no_replica_set() -> None:
    behind = info(Engine.MONGODB, Address("127.0.0.1", 27018), topology=Topology.REPLICA_SET)
    in_cluster = info(Engine.MONGODB, None, topology=Topology.REPLICA_SET)

    assert behind.connection_string == "mongodb://us%20er:p%40ss@127.0.0.1:27018/?authSource=admin"
    assert "replicaSet=rs0" in in_cluster.connection_string
    assert in_cluster.connection_string.count(".orders-pods.ns.svc:27017") == 3


def test_a_redis_cluster_behind_one_address_keeps_no_database_number() -> None:
    found = info(Engine.REDIS, Address("127.0.0.1", 6390), topology=Topology.CLUSTER)

    assert found.connection_string == "redis://us%20er:p%40ss@127.0.0.1:6390"
    assert found.database is None


def record(**fields: Any) -> Database:
    values: dict[str, Any] = dict(
        name="orders",
        domain="acme",
        project="shop",
        engine="postgres",
        version="16.13",
        status=DatabaseStatus.RUNNING,
        phase="Ready",
        health_status=HealthStatus.HEALTHY,
        ready_replicas=1,
        namespace="ns",
        kubedb_resource_name="orders",
        endpoint="orders.ns.svc",
        port=5432,
    )
    values.update(fields)
    return Database(**values)


READY = status_mapping.observe_database(
    {
        "metadata": {"generation": 1},
        "status": {"phase": "Ready", "observedGeneration": 1, "conditions": []},
    }
)


def test_the_status_sync_writes_the_bindings_address_mode_and_server_version() -> None:
    bound = Binding(DataPlane.MODELLED, "18.1", Address("127.0.0.1", 54321, "postgres"))

    changes = sync.sync_fields(record(), READY, operation_active=False, binding=bound)

    assert changes == {
        "endpoint": "127.0.0.1",
        "port": 54321,
        "data_plane": DataPlane.MODELLED,
        "server_version": "18.1",
    }


def test_the_status_sync_writes_nothing_new_for_a_binding_the_record_already_follows() -> None:
    known = record(data_plane=DataPlane.REAL)

    assert (
        sync.sync_fields(known, READY, operation_active=False, binding=Binding(DataPlane.REAL))
        == {}
    )


def test_without_a_binding_the_record_keeps_its_address_and_data_plane() -> None:
    seen = record(endpoint="127.0.0.1", port=54321, data_plane=DataPlane.MODELLED)

    assert sync.sync_fields(seen, READY, operation_active=False, binding=None) == {}


def test_a_binding_without_a_url_puts_the_service_dns_name_back() -> None:
    seen = record(endpoint="127.0.0.1", port=54321, data_plane=DataPlane.MODELLED)

    changes = sync.sync_fields(seen, READY, operation_active=False, binding=Binding(DataPlane.REAL))

    assert changes == {"endpoint": "orders.ns.svc", "port": 5432, "data_plane": DataPlane.REAL}
