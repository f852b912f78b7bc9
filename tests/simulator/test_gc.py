"""Garbage collection by ownerReferences: background, foreground and orphan deletion."""

from __future__ import annotations

from typing import Any

import httpx

from simulator.client import Client
from simulator.server import Served
from tests.support import eventually

CORE = "/api/v1/namespaces/default"


def config_map(
    name: str, *, owners: list[dict[str, Any]] | None = None, **metadata: Any
) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "default", **metadata}
    if owners:
        md["ownerReferences"] = list(owners)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": {"k": "v"}}


def owned_by(owner: dict[str, Any], *, block: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": block,
    }


async def gone(client: Client, name: str) -> bool:
    return await client.find("configmaps", name) is None


async def test_deleting_an_owner_deletes_its_dependents_in_the_background(sim: Served) -> None:
    client = sim.client()
    owner = await client.create(config_map("owner"))
    await client.create(config_map("child", owners=[owned_by(owner)]))
    grandchild_owner = await client.get("configmaps", "child")
    await client.create(config_map("grandchild", owners=[owned_by(grandchild_owner)]))

    assert await client.delete("configmaps", "owner") is None

    await eventually(lambda: gone(client, "child"), timeout=5, message="child collected")
    await eventually(lambda: gone(client, "grandchild"), timeout=5, message="grandchild collected")


async def test_foreground_delete_holds_the_owner_until_blocking_dependents_are_gone(
    sim: Served, http: httpx.AsyncClient
) -> None:
    client = sim.client()
    owner = await client.create(config_map("owner"))
    await client.create(
        config_map("held", owners=[owned_by(owner)], finalizers=["example.com/hold"])
    )

    response = await http.request(
        "DELETE",
        f"{CORE}/configmaps/owner",
        json={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"},
    )
    assert response.status_code == 200, response.text
    marked = response.json()["metadata"]
    assert "foregroundDeletion" in marked["finalizers"] and marked["deletionTimestamp"]

    async def held_is_terminating() -> bool:
        held = await client.get("configmaps", "held")
        return "deletionTimestamp" in held["metadata"]

    await eventually(held_is_terminating, timeout=5, message="dependent marked for deletion")
    owner_now = await client.get("configmaps", "owner")
    assert "foregroundDeletion" in owner_now["metadata"]["finalizers"]

    await client.patch("configmaps", "held", {"metadata": {"finalizers": None}})

    await eventually(lambda: gone(client, "owner"), timeout=5, message="owner released")
    assert await client.find("configmaps", "held") is None


async def test_foreground_delete_does_not_wait_for_non_blocking_dependents(sim: Served) -> None:
    client = sim.client()
    owner = await client.create(config_map("owner"))
    await client.create(
        config_map("loose", owners=[owned_by(owner, block=False)], finalizers=["example.com/h"])
    )

    await client.delete("configmaps", "owner", propagation_policy="Foreground")

    await eventually(lambda: gone(client, "owner"), timeout=5, message="owner released")
    loose = await client.get("configmaps", "loose")
    assert "deletionTimestamp" in loose["metadata"]


async def test_orphan_delete_removes_the_owner_reference_and_keeps_the_dependent(
    sim: Served, http: httpx.AsyncClient
) -> None:
    client = sim.client()
    owner = await client.create(config_map("owner"))
    await client.create(config_map("child", owners=[owned_by(owner)]))

    response = await http.delete(f"{CORE}/configmaps/owner", params={"propagationPolicy": "Orphan"})
    assert response.status_code == 200, response.text

    await eventually(lambda: gone(client, "owner"), timeout=5, message="owner released")
    child = await client.get("configmaps", "child")
    assert "ownerReferences" not in child["metadata"]


async def test_a_dependent_created_for_a_missing_owner_is_collected(sim: Served) -> None:
    client = sim.client()
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ghost", "uid": "x-1"}}
    await client.create(config_map("orphaned", owners=[owned_by(ghost)]))

    await eventually(lambda: gone(client, "orphaned"), timeout=5, message="collected")


async def test_a_dependent_with_a_living_owner_only_loses_the_dead_reference(sim: Served) -> None:
    client = sim.client()
    first = await client.create(config_map("first"))
    second = await client.create(config_map("second"))
    await client.create(config_map("shared", owners=[owned_by(first), owned_by(second)]))

    await client.delete("configmaps", "first")

    async def one_owner_left() -> bool:
        shared = await client.get("configmaps", "shared")
        return [r["name"] for r in shared["metadata"]["ownerReferences"]] == ["second"]

    await eventually(one_owner_left, timeout=5, message="dangling reference removed")


async def test_an_unknown_propagation_policy_is_invalid(http: httpx.AsyncClient) -> None:
    await http.post(f"{CORE}/configmaps", json=config_map("cm"))

    response = await http.request(
        "DELETE", f"{CORE}/configmaps/cm", json={"propagationPolicy": "Sideways"}
    )

    assert response.status_code == 422, response.text
    assert response.json()["reason"] == "Invalid"
    assert (await http.get(f"{CORE}/configmaps/cm")).status_code == 200
