"""Server-side apply with field ownership (conflicts, force, dropped fields) and
strategic-merge patches on built-in kinds (merge keys and directives)."""

from __future__ import annotations

from typing import Any

import httpx

from simulator.strategic import patch as strategic_patch
from tests.simulator.kube import APPLY, STRATEGIC, mongodb, mongodbs

SERVICES = "/api/v1/namespaces/default/services"


def _service(ports: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "db"},
        "spec": {"ports": ports, **spec},
    }


async def _apply(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], manager: str, force: bool = False
) -> httpx.Response:
    params = {"fieldManager": manager, **({"force": "true"} if force else {})}
    return await http.patch(path, headers=APPLY, params=params, json=body)


async def test_applying_a_field_another_manager_owns_is_a_conflict_unless_forced(
    http: httpx.AsyncClient,
) -> None:
    path = f"{mongodbs()}/mg1"
    await _apply(http, path, mongodb("mg1", replicas=1), "alice")

    same_value = await _apply(http, path, mongodb("mg1", replicas=1), "bob")
    conflict = await _apply(http, path, mongodb("mg1", replicas=3), "carol")
    forced = await _apply(http, path, mongodb("mg1", replicas=3), "carol", force=True)

    assert same_value.status_code == 200
    assert (conflict.status_code, conflict.json()["reason"]) == (409, "Conflict")
    assert conflict.json()["message"] == (
        'Apply failed with 2 conflicts: conflicts with "alice":\n- .spec.replicas\n'
        'conflicts with "bob":\n- .spec.replicas'
    )
    causes = conflict.json()["details"]["causes"]
    assert {(c["reason"], c["field"]) for c in causes} == {
        ("FieldManagerConflict", ".spec.replicas")
    }
    assert forced.status_code == 200 and forced.json()["spec"]["replicas"] == 3
    owners = {
        entry["manager"]: entry["fieldsV1"] for entry in forced.json()["metadata"]["managedFields"]
    }
    assert "f:replicas" not in owners["alice"]["f:spec"]
    assert owners["carol"]["f:spec"] == {"f:replicas": {}, "f:version": {}}


async def test_a_single_conflict_names_its_manager_and_path(http: httpx.AsyncClient) -> None:
    path = f"{mongodbs()}/mg1"
    await _apply(http, path, mongodb("mg1", replicas=1), "alice")

    conflict = await _apply(http, path, mongodb("mg1", replicas=2), "bob")

    assert conflict.json()["message"] == (
        'Apply failed with 1 conflict: conflict with "alice": .spec.replicas'
    )


async def test_a_field_a_manager_stops_applying_is_removed_unless_another_owns_it(
    http: httpx.AsyncClient,
) -> None:
    path = f"{mongodbs()}/mg1"
    labelled = mongodb("mg1", labels={"a": "1", "b": "2"})
    await _apply(http, path, labelled, "alice")
    await _apply(http, path, mongodb("mg1", labels={"b": "2"}), "bob")

    dropped = await _apply(http, path, mongodb("mg1"), "alice")

    assert dropped.status_code == 200
    assert dropped.json()["metadata"]["labels"] == {"b": "2"}
    assert dropped.json()["spec"]["version"] == "8.0.17"


async def test_applied_service_ports_merge_by_port_and_conflicts_name_the_item(
    http: httpx.AsyncClient,
) -> None:
    path = f"{SERVICES}/db"
    await _apply(http, path, _service([{"port": 5432, "name": "db"}]), "alice")
    both = await _apply(http, path, _service([{"port": 9187, "name": "stats"}]), "bob")
    conflict = await _apply(
        http, path, _service([{"port": 5432, "name": "primary"}]), "bob", force=False
    )

    assert [p["port"] for p in both.json()["spec"]["ports"]] == [5432, 9187]
    assert conflict.status_code == 409
    assert conflict.json()["message"] == (
        'Apply failed with 1 conflict: conflict with "alice": .spec.ports[port=5432].name'
    )


def test_strategic_merge_follows_merge_keys_and_directives() -> None:
    pod = {
        "metadata": {"finalizers": ["a"]},
        "spec": {
            "containers": [
                {"name": "db", "image": "pg:16", "env": [{"name": "A", "value": "1"}]},
                {"name": "side", "image": "x"},
            ],
            "tolerations": [{"key": "t1"}],
        },
    }

    patched = strategic_patch(
        "Pod",
        pod,
        {
            "metadata": {"finalizers": ["b"]},
            "spec": {
                "$setElementOrder/containers": [{"name": "side"}, {"name": "db"}],
                "containers": [
                    {"name": "db", "env": [{"name": "B", "value": "2"}]},
                    {"name": "side", "$patch": "delete"},
                    {"name": "new", "image": "y"},
                ],
                "tolerations": [{"key": "t2"}],
            },
        },
    )

    assert patched["metadata"]["finalizers"] == ["a", "b"]
    assert [c["name"] for c in patched["spec"]["containers"]] == ["db", "new"]
    assert patched["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]
    assert patched["spec"]["containers"][0]["image"] == "pg:16"
    assert patched["spec"]["tolerations"] == [{"key": "t2"}]


def test_replace_and_retain_keys_directives() -> None:
    doc = {"spec": {"selector": {"a": "1", "b": "2"}, "type": "ClusterIP", "x": 1}}

    patched = strategic_patch(
        "Service",
        doc,
        {
            "spec": {
                "selector": {"$patch": "replace", "c": "3"},
                "$retainKeys": ["selector", "type"],
            }
        },
    )

    assert patched == {"spec": {"selector": {"c": "3"}, "type": "ClusterIP"}}


async def test_a_strategic_patch_of_service_ports_keeps_the_other_ports(
    http: httpx.AsyncClient,
) -> None:
    await http.post(
        SERVICES, json=_service([{"port": 5432, "name": "db"}, {"port": 9187, "name": "stats"}])
    )

    patched = await http.patch(
        f"{SERVICES}/db",
        headers=STRATEGIC,
        json={
            "$setElementOrder/ports": [{"port": 5432}, {"port": 9187}],
            "spec": {"ports": [{"port": 5432, "targetPort": 15432}]},
        },
    )

    ports = patched.json()["spec"]["ports"]
    assert [(p["port"], p["name"], p["targetPort"]) for p in ports] == [
        (5432, "db", 15432),
        (9187, "stats", 9187),
    ]
