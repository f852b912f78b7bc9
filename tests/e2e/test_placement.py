"""Placement over HTTP: databases go to a provider with room (simulator A is `local`,
simulator B a second provider), reservations are atomic, released on delete and adjusted
on scale."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import yaml

from app.config.settings import Settings
from app.domain import namespaces
from app.main import Runtime
from simulator.server import Served
from tests.e2e.platform import BASE, Platform, create, finished, running
from tests.support import eventually

PROVIDERS = "/api/v1/providers"


async def local(client: httpx.AsyncClient) -> dict[str, Any]:
    found: dict[str, Any] = (await client.get(PROVIDERS)).json()["providers"][-1]
    assert found["name"] == "local"
    return found


async def sized(client: httpx.AsyncClient, provider_id: str, **capacity: Any) -> None:
    response = await client.patch(f"{PROVIDERS}/{provider_id}", json=capacity)
    assert response.status_code == 200, response.text


async def register(client: httpx.AsyncClient, served: Served, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "second",
        "region": "eu-west",
        "availability_zone": "eu-west-1a",
        "cpu_total_cores": 64,
        "memory_total_gb": 256,
        "storage_total_gb": 4096,
        "kubeconfig_content": yaml.safe_dump(served.kubeconfig()),
        **fields,
    }
    response = await client.post(PROVIDERS, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def allocated(runtime: Runtime, provider_id: str) -> tuple[float, float, float]:
    provider = await runtime.store.providers.get(provider_id)
    assert provider is not None
    return (
        provider.cpu_allocated_cores,
        provider.memory_allocated_gb,
        provider.storage_allocated_gb,
    )


async def test_fifty_concurrent_creates_never_overbook_a_provider(
    two_clusters: tuple[Platform, Served],
) -> None:
    (runtime, client, _), _ = two_clusters
    home = await local(client)
    # Room for exactly ten db.t3.micro (0.5 CPU) databases.
    await sized(client, home["id"], cpu_total_cores=5, cpu_reservation_percent=100)

    answers = await asyncio.gather(*(create(client, name=f"burst-{i:02d}") for i in range(50)))

    codes = sorted(a.status_code for a in answers)
    assert codes.count(202) == 10 and codes.count(409) == 40, codes
    refused = next(a for a in answers if a.status_code == 409).json()["error"]
    assert refused["code"] == "insufficient_capacity"
    assert "cpu 0.5 > 0 available" in refused["message"]
    assert await allocated(runtime, home["id"]) == (5.0, 10.0, 200.0)


async def test_a_delete_gives_the_capacity_back_and_a_scale_adjusts_it(
    two_clusters: tuple[Platform, Served],
) -> None:
    (runtime, client, _), _ = two_clusters
    home = await local(client)
    await sized(client, home["id"], cpu_total_cores=4, cpu_reservation_percent=100)
    accepted = await create(client, high_availability=True, replicas=3)
    await finished(client, accepted)
    path = f"{BASE}/{accepted.json()['id']}"

    held = await allocated(runtime, home["id"])
    too_big = await client.post(f"{path}/scale", json={"replicas": 9})
    grown = await finished(client, await client.post(f"{path}/scale", json={"replicas": 5}))
    after_growth = await allocated(runtime, home["id"])
    await finished(client, await client.post(f"{path}/scale", json={"replicas": 3}))

    async def settled() -> tuple[float, float, float] | None:
        now = await allocated(runtime, home["id"])
        return now if now == held else None

    after_shrink = await eventually(settled, timeout=5, message="scale-down settled")
    await finished(client, await client.delete(path))

    async def released() -> tuple[float, float, float] | None:
        now = await allocated(runtime, home["id"])
        return now if now == (0.0, 0.0, 0.0) else None

    assert held == (1.5, 3.0, 60.0)
    assert too_big.status_code == 409
    assert too_big.json()["error"]["code"] == "insufficient_capacity"
    assert grown["status"] == "succeeded"
    assert after_growth == (2.5, 5.0, 100.0)
    assert after_shrink == held
    assert await eventually(released, timeout=5, message="capacity released on delete")


async def test_the_region_header_sends_a_database_to_the_other_cluster(
    two_clusters: tuple[Platform, Served],
) -> None:
    (runtime, client, served), second = two_clusters
    other = await register(client, second)

    accepted = await client.post(
        BASE,
        json={"name": "far", "engine": "postgres", "version": "16.13"},
        headers={"X-Region": "eu-west", "X-Availability-Zone": "eu-west-1a"},
    )
    operation = await finished(client, accepted)
    database = (await client.get(f"{BASE}/{accepted.json()['id']}")).json()
    namespace = namespaces.namespace_for("acme", "shop")
    credentials = await client.get(f"{BASE}/{database['id']}/credentials")

    assert operation["status"] == "succeeded", operation["error_message"]
    assert database["provider_id"] == other["id"]
    assert await second.client().find("postgreses", "far", namespace=namespace) is not None
    assert await served.client().find("postgreses", "far", namespace=namespace) is None
    assert credentials.status_code == 200
    assert await allocated(runtime, other["id"]) == (0.5, 1.0, 20.0)


async def test_no_provider_in_the_region_is_422_and_maintenance_is_skipped(
    two_clusters: tuple[Platform, Served],
) -> None:
    (_, client, _), second = two_clusters
    other = await register(client, second, is_maintenance=True)
    await register(client, second, name="retired", is_active=False)

    nowhere = await client.post(
        BASE,
        json={"name": "moon", "engine": "postgres", "version": "16.13"},
        headers={"X-Region": "moon-base"},
    )
    in_maintenance = await client.post(
        BASE,
        json={"name": "west", "engine": "postgres", "version": "16.13"},
        headers={"X-Region": "eu-west"},
    )
    await sized(client, other["id"], is_maintenance=False)
    open_again = await client.post(
        BASE,
        json={"name": "west", "engine": "postgres", "version": "16.13"},
        headers={"X-Region": "eu-west"},
    )

    assert nowhere.status_code == 422
    assert nowhere.json()["error"]["code"] == "no_provider"
    assert "region 'moon-base'" in nowhere.json()["error"]["message"]
    assert in_maintenance.status_code == 422
    assert open_again.status_code == 202
    assert open_again.json()["provider_id"] == other["id"]


async def test_a_domains_dedicated_provider_comes_first_then_shared_ones(
    two_clusters: tuple[Platform, Served],
) -> None:
    (_, client, _), second = two_clusters
    home = await local(client)
    dedicated = await register(
        client,
        second,
        name="acme-only",
        region="local",
        domain="acme",
        cpu_total_cores=1,
        cpu_reservation_percent=100,
    )
    other_domain = await register(
        client, second, name="globex-only", region="local", domain="globex", priority=100
    )

    first = await create(client, name="first")
    second_db = await create(client, name="second")
    third = await create(client, name="third")

    assert first.json()["provider_id"] == dedicated["id"]
    assert second_db.json()["provider_id"] == dedicated["id"]
    # The dedicated provider is full (1 CPU): the shared one takes the rest; the one
    # dedicated to another domain never does, whatever its priority.
    assert third.json()["provider_id"] == home["id"]
    assert other_domain["id"] not in {a.json()["provider_id"] for a in (first, second_db, third)}


async def test_two_scales_at_once_leave_exactly_what_the_database_needs(
    two_clusters: tuple[Platform, Served],
) -> None:
    (runtime, client, _), _ = two_clusters
    home = await local(client)
    accepted = await create(client, high_availability=True, replicas=3)
    await finished(client, accepted)
    path = f"{BASE}/{accepted.json()['id']}"

    answers = await asyncio.gather(
        client.post(f"{path}/scale", json={"replicas": 5}),
        client.post(f"{path}/scale", json={"replicas": 7}),
    )
    won = next(a for a in answers if a.status_code == 202)
    lost = next(a for a in answers if a.status_code != 202)
    await finished(client, won)
    replicas = (await client.get(path)).json()["replicas"]

    async def settled() -> tuple[float, float, float] | None:
        now = await allocated(runtime, home["id"])
        return now if now == (0.5 * replicas, 1.0 * replicas, 20.0 * replicas) else None

    assert lost.status_code == 409
    assert lost.json()["error"]["code"] == "operation_in_progress"
    assert await eventually(settled, timeout=5, message="exactly the scaled shape")


async def test_a_drift_pass_puts_right_what_a_settle_never_did(
    settings: Settings,
    embedded_redis_url: str,
    tmp_path: Path,
) -> None:
    async with running(settings, embedded_redis_url, tmp_path, reconcile_interval=0.3) as (
        runtime,
        client,
        _,
    ):
        home = await local(client)
        accepted = await create(client, high_availability=True, replicas=3)
        await finished(client, accepted)
        # As if an operation had scaled it to 2 and its end hook had never run: the record
        # says 2 replicas, it and the provider still hold 3.
        await runtime.store.databases.update_fields(accepted.json()["id"], {"replicas": 2})

        async def repaired() -> tuple[float, float, float] | None:
            database = await runtime.store.databases.get(accepted.json()["id"])
            assert database is not None
            now = await allocated(runtime, home["id"])
            return now if database.reserved_cpu_cores == 1.0 and now[0] == 1.0 else None

        assert await eventually(repaired, timeout=10, message="the drift pass settles it") == (
            1.0,
            2.0,
            40.0,
        )
