"""Request and answer bodies in JSON, YAML and Kubernetes protobuf (the `k8s\\x00` magic, a
`runtime.Unknown` envelope, the kind's message), as kube-apiserver reads and writes them."""

from __future__ import annotations

import base64

import httpx

from simulator import protowire
from tests.simulator.kube import mongodb, mongodbs, secrets

PROTOBUF = protowire.MEDIA_TYPE
ASK_PROTOBUF = {"Accept": f"{PROTOBUF},application/json"}


def _varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _namespace_by_hand(name: str) -> bytes:
    """What client-go sends for `kubectl create namespace`, encoded here without the
    simulator's tables: field numbers of k8s.io/api and k8s.io/apimachinery."""
    type_meta = _bytes_field(1, b"v1") + _bytes_field(2, b"Namespace")
    object_meta = _bytes_field(1, name.encode())
    namespace = _bytes_field(1, object_meta) + _bytes_field(2, b"") + _bytes_field(3, b"")
    unknown = _bytes_field(1, type_meta) + _bytes_field(2, namespace)
    return b"k8s\x00" + unknown + _bytes_field(3, b"") + _bytes_field(4, b"")


def test_a_namespace_encoded_by_hand_decodes_to_the_json_a_server_stores() -> None:
    decoded = protowire.decode(_namespace_by_hand("team-a"), api_version="v1", kind="Namespace")

    assert decoded == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team-a"},
        "spec": {},
        "status": {},
    }


def test_a_service_survives_encoding_with_int_and_named_target_ports() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "db",
            "namespace": "default",
            "labels": {"app": "db"},
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u", "controller": False}
            ],
        },
        "spec": {
            "ports": [
                {"name": "db", "port": 5432, "targetPort": "db", "protocol": "TCP"},
                {"name": "zero", "port": 0, "targetPort": 9000},
            ],
            "selector": {"app": "db"},
            "clusterIP": "10.96.1.2",
        },
        "status": {"loadBalancer": {}},
    }

    decoded = protowire.decode(protowire.encode(service), api_version="v1", kind="Service")

    assert decoded == service


async def test_kubectl_style_protobuf_create_is_stored_and_answered_in_protobuf(
    http: httpx.AsyncClient,
) -> None:
    created = await http.post(
        "/api/v1/namespaces",
        content=_namespace_by_hand("team-a"),
        headers={"Content-Type": PROTOBUF, **ASK_PROTOBUF},
    )
    as_json = await http.get("/api/v1/namespaces/team-a")

    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == PROTOBUF
    answered = protowire.decode(created.content, api_version="v1", kind="Namespace")
    assert answered["metadata"]["name"] == "team-a" and answered["status"] == {"phase": "Active"}
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json()["metadata"]["uid"] == answered["metadata"]["uid"]


async def test_a_secret_in_protobuf_keeps_its_bytes_and_lists_come_back_in_protobuf(
    http: httpx.AsyncClient,
) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s1"},
        "data": {"password": base64.b64encode(b"\x00\xffsecret").decode()},
        "type": "Opaque",
    }

    created = await http.post(
        secrets(), content=protowire.encode(body), headers={"Content-Type": PROTOBUF}
    )
    listed = await http.get(secrets(), headers=ASK_PROTOBUF)

    assert created.status_code == 201, created.text
    assert created.json()["data"] == body["data"]
    assert listed.headers["content-type"] == PROTOBUF
    items = protowire.decode(listed.content, api_version="v1", kind="SecretList")["items"]
    assert [(i["metadata"]["name"], i["data"]) for i in items] == [("s1", body["data"])]


async def test_an_object_with_a_field_outside_the_protobuf_table_is_answered_in_json(
    http: httpx.AsyncClient,
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [{"name": "c", "image": "i"}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}},
        },
    }

    created = await http.post("/api/v1/namespaces/default/pods", json=pod, headers=ASK_PROTOBUF)

    assert created.status_code == 201
    assert created.headers["content-type"] == "application/json"
    assert "nodeAffinity" in created.json()["spec"]["affinity"]


async def test_yaml_bodies_create_and_replace(http: httpx.AsyncClient) -> None:
    created = await http.post(
        "/api/v1/namespaces/default/configmaps",
        content=b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  a: '1'\n",
        headers={"Content-Type": "application/yaml"},
    )
    rv = created.json()["metadata"]["resourceVersion"]
    replaced = await http.put(
        "/api/v1/namespaces/default/configmaps/c1",
        content=f"kind: ConfigMap\napiVersion: v1\nmetadata: {{name: c1, resourceVersion: '{rv}'}}"
        "\ndata: {a: '2'}\n".encode(),
        headers={"Content-Type": "application/yaml"},
    )
    broken = await http.post(
        "/api/v1/namespaces/default/configmaps",
        content=b"metadata: [unclosed",
        headers={"Content-Type": "application/yaml"},
    )

    assert created.status_code == 201 and created.json()["data"] == {"a": "1"}
    assert replaced.status_code == 200 and replaced.json()["data"] == {"a": "2"}
    assert (broken.status_code, broken.json()["reason"]) == (400, "BadRequest")


async def test_protobuf_for_a_custom_resource_is_415_and_it_answers_in_json(
    http: httpx.AsyncClient,
) -> None:
    refused = await http.post(
        mongodbs(), content=b"k8s\x00\x0a\x00", headers={"Content-Type": PROTOBUF}
    )
    created = await http.post(mongodbs(), json=mongodb("mg1"), headers=ASK_PROTOBUF)

    assert (refused.status_code, refused.json()["reason"]) == (415, "UnsupportedMediaType")
    assert "application/yaml" in refused.json()["message"]
    assert PROTOBUF not in refused.json()["message"]
    assert created.status_code == 201
    assert created.headers["content-type"] == "application/json"
