"""PATCH: merge, JSON and apply patches, strategic merge only for built-in kinds,
resourceVersion preconditions (reference §8)."""

from __future__ import annotations

import httpx

from simulator.patching import json_patch, merge_patch
from tests.simulator.kube import (
    APPLY,
    JSON_PATCH,
    MERGE,
    STRATEGIC,
    create,
    mongodb,
    mongodbs,
    secret,
    secrets,
)


def test_merge_patch_merges_objects_deletes_nulls_and_replaces_arrays() -> None:
    target = {"a": {"b": 1, "c": 2}, "list": [1, 2, 3], "keep": True}

    patched = merge_patch(target, {"a": {"b": None, "d": 4}, "list": [9], "new": {"x": None}})

    assert patched == {"a": {"c": 2, "d": 4}, "list": [9], "keep": True, "new": {}}


def test_json_patch_supports_every_operation() -> None:
    doc = {"a": [1, 2], "b": {"c": "x"}, "d": 1}

    patched = json_patch(
        doc,
        [
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "add", "path": "/a/0", "value": 0},
            {"op": "replace", "path": "/b/c", "value": "y"},
            {"op": "copy", "from": "/b", "path": "/e"},
            {"op": "move", "from": "/d", "path": "/f"},
            {"op": "remove", "path": "/a/1"},
            {"op": "test", "path": "/e/c", "value": "y"},
            {"op": "add", "path": "/g~1h", "value": True},
        ],
    )

    assert patched == {"a": [0, 2, 3], "b": {"c": "y"}, "e": {"c": "y"}, "f": 1, "g/h": True}


async def test_merge_patch_changes_spec_and_a_missing_object_is_404(
    http: httpx.AsyncClient,
) -> None:
    await create(http, mongodb("mg1", labels={"a": "1"}))

    patched = await http.patch(
        f"{mongodbs()}/mg1",
        headers=MERGE,
        json={"spec": {"replicas": 3}, "metadata": {"labels": {"a": None}}},
    )
    missing = await http.patch(f"{mongodbs()}/nope", headers=MERGE, json={"spec": {}})

    assert patched.status_code == 200
    assert patched.json()["spec"] == {"version": "8.0.17", "replicas": 3}
    assert patched.json()["metadata"]["labels"] == {}
    assert missing.status_code == 404


async def test_json_patch_applies_and_a_failed_test_is_422(http: httpx.AsyncClient) -> None:
    await create(http, mongodb("mg1"))

    patched = await http.patch(
        f"{mongodbs()}/mg1",
        headers=JSON_PATCH,
        json=[
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 3},
        ],
    )
    failed = await http.patch(
        f"{mongodbs()}/mg1",
        headers=JSON_PATCH,
        json=[
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 5},
        ],
    )
    malformed = await http.patch(f"{mongodbs()}/mg1", headers=JSON_PATCH, json={"op": "add"})

    assert patched.status_code == 200 and patched.json()["spec"]["replicas"] == 3
    assert (failed.status_code, failed.json()["reason"]) == (422, "Invalid")
    assert (await http.get(f"{mongodbs()}/mg1")).json()["spec"]["replicas"] == 3
    assert (malformed.status_code, malformed.json()["reason"]) == (400, "BadRequest")


async def test_apply_creates_then_reapplies_and_records_the_field_manager(
    http: httpx.AsyncClient,
) -> None:
    params = {"fieldManager": "dbaas", "force": "true"}

    first = await http.patch(
        f"{mongodbs()}/mg1", headers=APPLY, params=params, json=mongodb("mg1", labels={"team": "a"})
    )
    body = mongodb("mg1", replicas=3)
    del body["spec"]["version"]
    second = await http.patch(f"{mongodbs()}/mg1", headers=APPLY, params=params, json=body)

    assert first.status_code == 201 and first.json()["metadata"]["generation"] == 1
    applied = second.json()
    assert second.status_code == 200
    assert applied["spec"] == {"replicas": 3}  # the field the manager dropped is gone
    assert "labels" not in applied["metadata"] and applied["metadata"]["generation"] == 2
    managers = applied["metadata"]["managedFields"]
    assert [(m["manager"], m["operation"]) for m in managers] == [("dbaas", "Apply")]
    assert managers[0]["fieldsV1"]["f:spec"] == {"f:replicas": {}}


async def test_apply_reads_yaml_bodies(http: httpx.AsyncClient) -> None:
    body = b"""
apiVersion: kubedb.com/v1
kind: MongoDB
metadata:
  name: mg1
spec:
  version: "8.0.17"
  replicas: 1
"""
    response = await http.patch(
        f"{mongodbs()}/mg1", headers=APPLY, content=body, params={"fieldManager": "kubectl"}
    )

    assert response.status_code == 201
    assert response.json()["spec"] == {"version": "8.0.17", "replicas": 1}


async def test_apply_without_field_manager_is_400(http: httpx.AsyncClient) -> None:
    response = await http.patch(f"{mongodbs()}/mg1", headers=APPLY, json=mongodb("mg1"))

    assert (response.status_code, response.json()["reason"]) == (400, "BadRequest")


async def test_strategic_merge_is_415_on_custom_resources_and_a_merge_on_secrets(
    http: httpx.AsyncClient,
) -> None:
    await create(http, mongodb("mg1"))
    await http.post(secrets(), json=secret("s1", a="YQ=="))

    custom = await http.patch(f"{mongodbs()}/mg1", headers=STRATEGIC, json={"spec": {}})
    builtin = await http.patch(f"{secrets()}/s1", headers=STRATEGIC, json={"data": {"b": "Yg=="}})
    unknown = await http.patch(
        f"{mongodbs()}/mg1", headers={"Content-Type": "text/plain"}, content=b"x"
    )

    assert (custom.status_code, custom.json()["reason"]) == (415, "UnsupportedMediaType")
    assert "application/merge-patch+json" in custom.json()["message"]
    assert builtin.status_code == 200 and builtin.json()["data"] == {"a": "YQ==", "b": "Yg=="}
    assert unknown.status_code == 415


async def test_a_resource_version_in_a_patch_is_a_precondition(http: httpx.AsyncClient) -> None:
    created = await create(http, mongodb("mg1"))
    rv = created["metadata"]["resourceVersion"]

    matching = await http.patch(
        f"{mongodbs()}/mg1",
        headers=MERGE,
        json={"metadata": {"resourceVersion": rv}, "spec": {"replicas": 2}},
    )
    stale = await http.patch(
        f"{mongodbs()}/mg1",
        headers=MERGE,
        json={"metadata": {"resourceVersion": rv}, "spec": {"replicas": 3}},
    )

    assert matching.status_code == 200
    assert (stale.status_code, stale.json()["reason"]) == (409, "Conflict")


async def test_patching_status_changes_only_status(http: httpx.AsyncClient) -> None:
    await create(http, mongodb("mg1"))

    response = await http.patch(
        f"{mongodbs()}/mg1/status",
        headers=MERGE,
        json={"status": {"phase": "Ready"}, "spec": {"replicas": 7}},
    )

    assert response.status_code == 200
    assert response.json()["status"] == {"phase": "Ready"}
    assert response.json()["spec"]["replicas"] == 1
