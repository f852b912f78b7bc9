"""Create, read, update, delete: the object rules of reference §8 over HTTP."""

from __future__ import annotations

import httpx

from simulator.server import Served
from tests.simulator.kube import create, mongodb, mongodbs, namespace, secret, secrets


async def test_create_sets_server_fields_and_get_returns_the_object(
    http: httpx.AsyncClient,
) -> None:
    body = mongodb("mg1")
    del body["apiVersion"], body["kind"]

    response = await http.post(mongodbs(), json=body)
    fetched = await http.get(f"{mongodbs()}/mg1")

    created = response.json()
    md = created["metadata"]
    assert response.status_code == 201
    assert (created["apiVersion"], created["kind"]) == ("kubedb.com/v1", "MongoDB")
    assert md["namespace"] == "default" and md["generation"] == 1
    assert md["uid"] and md["creationTimestamp"].endswith("Z") and md["resourceVersion"]
    assert fetched.json() == created


async def test_a_second_create_with_the_same_name_is_409_already_exists(
    http: httpx.AsyncClient,
) -> None:
    await create(http, mongodb("mg1"))

    response = await http.post(mongodbs(), json=mongodb("mg1"))

    assert response.status_code == 409
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'mongodbs.kubedb.com "mg1" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "mg1", "group": "kubedb.com", "kind": "mongodbs"},
        "code": 409,
    }


async def test_a_missing_object_is_404_not_found_with_status_details(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(f"{mongodbs()}/nope")
    core = await http.get(f"{secrets()}/nope")

    assert response.status_code == 404
    assert response.json()["message"] == 'mongodbs.kubedb.com "nope" not found'
    assert response.json()["details"] == {"name": "nope", "group": "kubedb.com", "kind": "mongodbs"}
    assert core.json()["message"] == 'secrets "nope" not found'
    assert core.json()["details"] == {"name": "nope", "kind": "secrets"}


async def test_creating_in_a_missing_namespace_is_404_for_the_namespace(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(mongodbs("ghost"), json=mongodb("mg1"))

    assert response.status_code == 404
    assert response.json()["message"] == 'namespaces "ghost" not found'


async def test_a_body_namespace_other_than_the_path_is_400(http: httpx.AsyncClient) -> None:
    response = await http.post(mongodbs(), json=mongodb("mg1", namespace="other"))

    assert response.status_code == 400
    assert response.json()["reason"] == "BadRequest"


async def test_generate_name_gets_a_random_suffix(http: httpx.AsyncClient) -> None:
    body = mongodb("")
    body["metadata"] = {"generateName": "mg-"}

    first = (await http.post(mongodbs(), json=body)).json()
    second = (await http.post(mongodbs(), json=body)).json()

    assert first["metadata"]["name"].startswith("mg-") and len(first["metadata"]["name"]) == 8
    assert first["metadata"]["name"] != second["metadata"]["name"]


async def test_an_invalid_name_is_422_with_a_cause(http: httpx.AsyncClient) -> None:
    response = await http.post(mongodbs(), json=mongodb("Bad_Name"))

    status = response.json()
    assert response.status_code == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "metadata.name"
    assert status["message"].startswith('MongoDB.kubedb.com "Bad_Name" is invalid: metadata.name')


async def test_resource_version_moves_on_every_write_but_generation_only_on_spec(
    http: httpx.AsyncClient,
) -> None:
    created = await create(http, mongodb("mg1"))
    rv0 = int(created["metadata"]["resourceVersion"])

    labelled = (
        await http.patch(
            f"{mongodbs()}/mg1",
            json={"metadata": {"labels": {"a": "b"}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
    ).json()
    status = (
        await http.patch(
            f"{mongodbs()}/mg1/status",
            json={"status": {"phase": "Ready"}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
    ).json()
    scaled = (
        await http.patch(
            f"{mongodbs()}/mg1",
            json={"spec": {"replicas": 3}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
    ).json()

    versions = [int(o["metadata"]["resourceVersion"]) for o in (labelled, status, scaled)]
    assert versions == sorted(versions) and versions[0] > rv0 and len(set(versions)) == 3
    assert [o["metadata"]["generation"] for o in (labelled, status, scaled)] == [1, 1, 2]


async def test_an_update_that_changes_nothing_keeps_the_resource_version(
    http: httpx.AsyncClient,
) -> None:
    created = await create(http, mongodb("mg1"))

    again = await http.put(f"{mongodbs()}/mg1", json=created)

    assert again.status_code == 200
    assert again.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_put_of_a_custom_resource_without_resource_version_is_422(
    http: httpx.AsyncClient,
) -> None:
    await create(http, mongodb("mg1"))

    response = await http.put(f"{mongodbs()}/mg1", json=mongodb("mg1", replicas=3))

    status = response.json()
    assert response.status_code == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: 0x0: must be specified for an update",
            "field": "metadata.resourceVersion",
        }
    ]


async def test_put_with_a_stale_resource_version_is_409_conflict(
    http: httpx.AsyncClient,
) -> None:
    created = await create(http, mongodb("mg1"))
    fresh = dict(created, spec={"version": "8.0.17", "replicas": 3})
    assert (await http.put(f"{mongodbs()}/mg1", json=fresh)).status_code == 200

    stale = dict(created, spec={"version": "8.0.17", "replicas": 5})
    response = await http.put(f"{mongodbs()}/mg1", json=stale)

    assert response.status_code == 409 and response.json()["reason"] == "Conflict"
    assert response.json()["message"] == (
        'Operation cannot be fulfilled on mongodbs.kubedb.com "mg1": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )


async def test_put_to_a_missing_custom_resource_is_404(http: httpx.AsyncClient) -> None:
    body = mongodb("mg1", resourceVersion="5")

    response = await http.put(f"{mongodbs()}/mg1", json=body)

    assert response.status_code == 404


async def test_the_main_endpoint_ignores_status_and_status_ignores_the_rest(
    http: httpx.AsyncClient,
) -> None:
    body = mongodb("mg1")
    body["status"] = {"phase": "Forged"}
    created = await create(http, body)
    assert "status" not in created

    with_status = dict(created, status={"phase": "Ready"})
    status_put = (
        await http.put(
            f"{mongodbs()}/mg1/status",
            json=dict(
                with_status,
                spec={"version": "1.0", "replicas": 9},
                metadata=dict(created["metadata"], labels={"sneaky": "yes"}),
            ),
        )
    ).json()
    main_put = (
        await http.put(
            f"{mongodbs()}/mg1",
            json=dict(
                status_put,
                status={"phase": "Forged"},
                spec={"version": "8.0.17", "replicas": 2},
            ),
        )
    ).json()

    assert status_put["status"] == {"phase": "Ready"}
    assert status_put["spec"] == created["spec"] and "labels" not in status_put["metadata"]
    assert main_put["status"] == {"phase": "Ready"} and main_put["spec"]["replicas"] == 2


async def test_secrets_have_no_generation_and_store_string_data_as_base64_data(
    http: httpx.AsyncClient,
) -> None:
    body = secret("s1", password="cHc=")
    body["stringData"] = {"username": "root"}

    response = await http.post(secrets(), json=body)
    updated = await http.patch(
        f"{secrets()}/s1",
        json={"stringData": {"username": "admin"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )

    created = response.json()
    assert response.status_code == 201 and "generation" not in created["metadata"]
    assert created["data"] == {"password": "cHc=", "username": "cm9vdA=="}
    assert created["type"] == "Opaque" and "stringData" not in created
    assert updated.json()["data"]["username"] == "YWRtaW4="


async def test_services_get_a_cluster_ip_that_updates_keep(http: httpx.AsyncClient) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "mg1"},
        "spec": {"ports": [{"name": "db", "port": 27017}]},
    }

    created = (await http.post("/api/v1/namespaces/default/services", json=service)).json()
    replaced = (await http.put("/api/v1/namespaces/default/services/mg1", json=service)).json()

    assert created["spec"]["type"] == "ClusterIP" and created["spec"]["clusterIP"]
    assert created["spec"]["ports"] == [
        {"name": "db", "port": 27017, "protocol": "TCP", "targetPort": 27017}
    ]
    assert replaced["spec"]["clusterIP"] == created["spec"]["clusterIP"]


async def test_dry_run_validates_without_storing(http: httpx.AsyncClient) -> None:
    dry = await http.post(mongodbs(), json=mongodb("mg1"), params={"dryRun": "All"})
    missing = await http.get(f"{mongodbs()}/mg1")
    bad = await http.post(mongodbs(), json=mongodb("Bad"), params={"dryRun": "All"})

    assert dry.status_code == 201 and dry.json()["metadata"]["name"] == "mg1"
    assert missing.status_code == 404
    assert bad.status_code == 422


async def test_delete_without_finalizers_answers_a_success_status(
    http: httpx.AsyncClient,
) -> None:
    created = await create(http, mongodb("mg1"))

    response = await http.delete(f"{mongodbs()}/mg1")
    gone = await http.get(f"{mongodbs()}/mg1")

    assert response.status_code == 200
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": "mg1",
            "group": "kubedb.com",
            "kind": "mongodbs",
            "uid": created["metadata"]["uid"],
        },
    }
    assert gone.status_code == 404


async def test_finalizers_hold_deletion_until_the_last_one_is_removed(
    http: httpx.AsyncClient,
) -> None:
    await create(http, mongodb("mg1", finalizers=["kubedb.com", "other"]))
    merge = {"Content-Type": "application/merge-patch+json"}

    first = await http.delete(f"{mongodbs()}/mg1")
    again = await http.delete(f"{mongodbs()}/mg1")
    added = await http.patch(
        f"{mongodbs()}/mg1",
        headers=merge,
        json={"metadata": {"finalizers": ["kubedb.com", "other", "new"]}},
    )
    one_left = await http.patch(
        f"{mongodbs()}/mg1", headers=merge, json={"metadata": {"finalizers": ["other"]}}
    )
    last = await http.patch(
        f"{mongodbs()}/mg1", headers=merge, json={"metadata": {"finalizers": []}}
    )
    gone = await http.get(f"{mongodbs()}/mg1")

    marked = first.json()["metadata"]
    assert first.status_code == 200 and marked["deletionTimestamp"]
    assert marked["deletionGracePeriodSeconds"] == 0 and marked["generation"] == 2
    assert again.status_code == 200
    assert again.json()["metadata"]["resourceVersion"] == marked["resourceVersion"]
    assert added.status_code == 422
    assert added.json()["details"]["causes"][0]["reason"] == "FieldValueForbidden"
    assert one_left.status_code == 200 and one_left.json()["metadata"]["finalizers"] == ["other"]
    assert last.status_code == 200
    assert gone.status_code == 404


async def test_delete_preconditions_must_match(http: httpx.AsyncClient) -> None:
    await create(http, mongodb("mg1"))

    response = await http.request(
        "DELETE", f"{mongodbs()}/mg1", json={"preconditions": {"uid": "not-it"}}
    )

    assert response.status_code == 409
    assert "Precondition failed: UID in precondition: not-it" in response.json()["message"]


async def test_unsupported_methods_and_paths_answer_kubernetes_statuses(
    http: httpx.AsyncClient,
) -> None:
    post_item = await http.post(f"{mongodbs()}/mg1", json={})
    unknown = await http.get("/apis/kubedb.com/v1/namespaces/default/widgets")
    options = await http.request("OPTIONS", mongodbs())

    assert (post_item.status_code, post_item.json()["reason"]) == (405, "MethodNotAllowed")
    assert (unknown.status_code, unknown.json()["reason"]) == (404, "NotFound")
    assert (options.status_code, options.json()["reason"]) == (405, "MethodNotAllowed")


async def test_bodies_in_an_unknown_format_are_415(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/v1/namespaces",
        content=b"name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert (response.status_code, response.json()["reason"]) == (415, "UnsupportedMediaType")


async def test_deleting_a_namespace_deletes_its_objects_then_itself(
    sim: Served,
    http: httpx.AsyncClient,
) -> None:
    from tests.support import eventually

    await http.post("/api/v1/namespaces", json=namespace("team"))
    await create(http, mongodb("held", finalizers=["kubedb.com"]), ns="team")
    await create(http, mongodb("free"), ns="team")

    deleted = await http.delete("/api/v1/namespaces/team")
    refused = await http.post(mongodbs("team"), json=mongodb("late"))

    async def only_held_left() -> bool:
        items = (await http.get(mongodbs("team"))).json()["items"]
        return [i["metadata"]["name"] for i in items] == ["held"]

    await eventually(only_held_left, timeout=5)
    phase = (await http.get("/api/v1/namespaces/team")).json()["status"]["phase"]
    await http.patch(
        f"{mongodbs('team')}/held",
        json={"metadata": {"finalizers": None}},
        headers={"Content-Type": "application/merge-patch+json"},
    )

    async def namespace_gone() -> bool:
        return (await http.get("/api/v1/namespaces/team")).status_code == 404

    await eventually(namespace_gone, timeout=5)
    assert deleted.status_code == 200 and deleted.json()["metadata"]["deletionTimestamp"]
    assert (refused.status_code, refused.json()["reason"]) == (403, "Forbidden")
    assert phase == "Terminating"


async def test_an_object_seeded_with_a_status_is_stored_as_its_controller_reported_it(
    sim: Served, http: httpx.AsyncClient
) -> None:
    ready = {"phase": "Ready", "observedGeneration": 1}
    sim.simulator.seed(
        {**mongodb("mg1"), "metadata": {"name": "mg1", "namespace": "default"}}, status=ready
    )
    sim.simulator.seed({**mongodb("mg2"), "metadata": {"name": "mg2", "namespace": "default"}})

    first = (await http.get(f"{mongodbs()}/mg1")).json()
    second = (await http.get(f"{mongodbs()}/mg2")).json()

    assert first["status"] == ready and first["metadata"]["generation"] == 1
    assert "status" not in second
