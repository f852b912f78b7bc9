"""The smaller rules of a real API server: a create may not carry a resourceVersion, PUT to a
missing custom resource is a 404, namespaces are labelled with their name and the system
ones exist, immutable fields of Secrets, ConfigMaps and Services stay put."""

from __future__ import annotations

from typing import Any

import httpx

from tests.simulator.kube import mongodb, mongodbs, secret, secrets

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
SERVICES = "/api/v1/namespaces/default/services"


async def test_a_create_with_a_resource_version_is_refused_as_the_storage_layer_does(
    http: httpx.AsyncClient,
) -> None:
    body = mongodb("mg1", resourceVersion="12")

    refused = await http.post(mongodbs(), json=body)
    missing = await http.get(f"{mongodbs()}/mg1")

    assert refused.status_code == 500
    assert refused.json()["message"] == "resourceVersion should not be set on objects to be created"
    assert "reason" not in refused.json()
    assert missing.status_code == 404


async def test_put_to_a_missing_custom_resource_is_404_with_or_without_a_resource_version(
    http: httpx.AsyncClient,
) -> None:
    bare = await http.put(f"{mongodbs()}/ghost", json=mongodb("ghost"))
    versioned = await http.put(f"{mongodbs()}/ghost", json=mongodb("ghost", resourceVersion="3"))

    assert (bare.status_code, bare.json()["reason"]) == (404, "NotFound")
    assert bare.json()["message"] == 'mongodbs.kubedb.com "ghost" not found'
    assert versioned.status_code == 404


async def test_namespaces_carry_their_name_label_and_the_system_ones_exist(
    http: httpx.AsyncClient,
) -> None:
    await http.post(
        "/api/v1/namespaces", json={"metadata": {"name": "team-a", "labels": {"x": "1"}}}
    )
    relabelled = await http.patch(
        "/api/v1/namespaces/team-a",
        json={"metadata": {"labels": None}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    listed = (await http.get("/api/v1/namespaces")).json()["items"]
    selected = await http.get(
        "/api/v1/namespaces", params={"labelSelector": "kubernetes.io/metadata.name=kube-system"}
    )

    assert relabelled.json()["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert {ns["metadata"]["name"] for ns in listed} == {
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-system",
        "team-a",
    }
    assert [ns["metadata"]["name"] for ns in selected.json()["items"]] == ["kube-system"]


async def test_kube_system_may_not_be_deleted(http: httpx.AsyncClient) -> None:
    refused = await http.delete("/api/v1/namespaces/kube-system")

    assert (refused.status_code, refused.json()["reason"]) == (403, "Forbidden")
    assert refused.json()["message"] == (
        'namespaces "kube-system" is forbidden: this namespace may not be deleted'
    )


async def _put(http: httpx.AsyncClient, path: str, obj: dict[str, Any]) -> httpx.Response:
    return await http.put(path, json=obj)


async def test_a_secret_type_never_changes_and_immutable_data_stays(
    http: httpx.AsyncClient,
) -> None:
    plain = (await http.post(secrets(), json=secret("s1", a="YQ=="))).json()
    locked = (await http.post(secrets(), json={**secret("s2", a="YQ=="), "immutable": True})).json()

    retyped = await _put(http, f"{secrets()}/s1", {**plain, "type": "kubernetes.io/tls"})
    rewritten = await _put(http, f"{secrets()}/s2", {**locked, "data": {"a": "Yg=="}})
    unlocked = await _put(http, f"{secrets()}/s2", {**locked, "immutable": False})
    relabelled = await _put(
        http,
        f"{secrets()}/s2",
        {**locked, "metadata": {**locked["metadata"], "labels": {"k": "v"}}},
    )

    assert (retyped.status_code, retyped.json()["reason"]) == (422, "Invalid")
    assert retyped.json()["message"] == (
        'Secret "s1" is invalid: type: Invalid value: "kubernetes.io/tls": field is immutable'
    )
    assert rewritten.status_code == 422
    assert rewritten.json()["message"] == (
        'Secret "s2" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    )
    assert [c["field"] for c in unlocked.json()["details"]["causes"]] == ["immutable"]
    assert relabelled.status_code == 200


async def test_an_immutable_configmap_keeps_its_data(http: httpx.AsyncClient) -> None:
    body = {"metadata": {"name": "c1"}, "data": {"a": "1"}, "immutable": True}
    created = (await http.post(CONFIGMAPS, json=body)).json()

    changed = await _put(http, f"{CONFIGMAPS}/c1", {**created, "data": {"a": "2"}})

    assert (changed.status_code, changed.json()["reason"]) == (422, "Invalid")
    assert changed.json()["details"]["causes"][0]["field"] == "data"


async def test_a_service_keeps_its_cluster_ip(http: httpx.AsyncClient) -> None:
    body = {"metadata": {"name": "db"}, "spec": {"ports": [{"port": 5432}]}}
    created = (await http.post(SERVICES, json=body)).json()
    ip = created["spec"]["clusterIP"]

    moved = await _put(
        http, f"{SERVICES}/db", {**created, "spec": {**created["spec"], "clusterIP": "10.0.0.9"}}
    )
    unset = await _put(http, f"{SERVICES}/db", {**body, "metadata": created["metadata"]})

    assert (moved.status_code, moved.json()["reason"]) == (422, "Invalid")
    assert moved.json()["message"] == (
        'Service "db" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.0.0.9"}: '
        "may not change once set"
    )
    assert unset.status_code == 200 and unset.json()["spec"]["clusterIP"] == ip
