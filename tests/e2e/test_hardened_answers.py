"""Answers a hostile or careless client gets (issue 12): every error has the error shape and
the request id, a 503 only when a dependency is really down, 409s and 410s that say why."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.domain import clock
from app.domain.api_keys import Role
from app.domain.databases import Database, DatabaseStatus
from app.domain.namespaces import namespace_for
from app.domain.operations import Operation, OperationStatus
from app.services.api_keys import IssuedKey, issue_key
from tests.e2e.platform import BASE, Platform, create, finished
from tests.support import eventually

PROVIDERS = "/api/v1/providers"
ALL = "/api/v1/databases"


def _shaped(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code is not None:
        assert error["code"] == code, error
    assert response.headers.get("x-request-id")


async def _local_provider_id(client: httpx.AsyncClient) -> str:
    listed = (await client.get(PROVIDERS)).json()
    return str(next(p["id"] for p in listed["providers"] if p["name"] == "local"))


async def test_a_nul_in_a_provider_path_is_a_422_naming_the_field(platform: Platform) -> None:
    _, client, _ = platform
    body = {
        "name": "p1",
        "region": "eu",
        "cpu_total_cores": 8,
        "memory_total_gb": 16,
        "storage_total_gb": 100,
        "kubeconfig_path": "a\u0000",
    }

    created = await client.post(PROVIDERS, json=body)
    patched = await client.patch(
        f"{PROVIDERS}/{await _local_provider_id(client)}", json={"kubeconfig_path": "a\u0000"}
    )
    escape = await client.post(PROVIDERS, json={**body, "kubeconfig_path": "kube\u001bconfig"})

    for response in (created, patched, escape):
        _shaped(response, 422, "validation_error")
        assert "body.kubeconfig_path" in response.json()["error"]["details"]["fields"]


@pytest.mark.parametrize("label", ['a"=b', "a\u0000=b", "=b", "a b=c", "a=b\u0007"])
async def test_a_malformed_label_selector_is_a_422_not_a_5xx(
    platform: Platform, label: str
) -> None:
    _, client, _ = platform

    response = await client.get(BASE, params={"label": label})

    _shaped(response, 422, "validation_error")
    assert "query.label" in response.json()["error"]["details"]["fields"]


async def test_a_label_selector_with_a_prefixed_key_still_filters(platform: Platform) -> None:
    _, client, _ = platform
    await finished(client, await create(client, labels={"app.kubernetes.io/team": "web"}))

    found = await client.get(BASE, params={"label": "app.kubernetes.io/team=web"})
    other = await client.get(BASE, params={"label": "app.kubernetes.io/team=db"})

    assert (found.json()["total"], other.json()["total"]) == (1, 0)


async def test_an_unexpected_exception_is_a_shaped_500_with_the_request_id(
    platform: Platform,
) -> None:
    _, client, _ = platform
    app: FastAPI = client._transport.app  # type: ignore[attr-defined]

    @app.get("/test-only/raises")
    async def raises() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    response = await client.get("/test-only/raises", headers={"X-Request-ID": "trace-500"})

    _shaped(response, 500, "internal_error")
    assert response.headers["x-request-id"] == "trace-500"
    assert "secret internals" not in response.text and "Traceback" not in response.text


async def test_credentials_of_a_failed_database_are_409_saying_so_and_of_a_deleted_one_410(
    platform: Platform,
) -> None:
    runtime, client, _ = platform
    failed = Database(
        name="broken",
        domain="acme",
        project="shop",
        engine="postgres",
        version="16.13",
        status=DatabaseStatus.FAILED,
        namespace=namespace_for("acme", "shop"),
        kubedb_resource_name="broken",
    )
    await runtime.store.databases.insert(failed)
    created = await create(client)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"
    await finished(client, await client.delete(path))

    of_failed = await client.get(f"{BASE}/{failed.id}/credentials")
    of_deleted = await client.get(f"{path}/credentials")

    _shaped(of_failed, 409, "database_failed")
    assert of_failed.json()["error"]["details"]["status"] == "failed"
    _shaped(of_deleted, 410, "database_deleted")


async def test_of_twenty_concurrent_scales_one_is_accepted_and_nineteen_name_it_in_a_409(
    platform: Platform,
) -> None:
    _, client, served = platform
    created = await create(client, high_availability=True, replicas=3)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"
    # Slower, so the first scale is still running when the last request arrives: each
    # request must meet it, not a record read before it ended.
    served.simulator.config.update({"time_scale": 0.05})

    async def scaling() -> bool:
        return bool((await client.get(path)).json()["status"] == "scaling")

    first = await client.post(f"{path}/scale", json={"replicas": 5})
    await eventually(scaling, timeout=10, interval=0.02)
    answers = [
        first,
        *await asyncio.gather(
            *(client.post(f"{path}/scale", json={"replicas": 5}) for _ in range(19))
        ),
    ]

    accepted = [a for a in answers if a.status_code == 202]
    refused = [a for a in answers if a.status_code != 202]
    assert len(accepted) == 1, [a.text for a in answers]
    for answer in refused:
        _shaped(answer, 409, "operation_in_progress")
        assert (
            answer.json()["error"]["details"]["operation_id"] == accepted[0].json()["operation_id"]
        )
    await finished(client, accepted[0])


async def test_every_mutating_route_answers_409_naming_the_active_operation(
    platform: Platform,
) -> None:
    runtime, client, _ = platform
    created = await create(client)
    await finished(client, created)
    database_id = created.json()["id"]
    path = f"{BASE}/{database_id}"
    # An active operation that no worker will touch during the test (not queued, not due).
    active = await runtime.store.operations.create_active(
        Operation(
            database_id=database_id,
            domain="acme",
            project="shop",
            type="restart",
            status=OperationStatus.WAITING,
            next_run_at=clock.utcnow() + timedelta(hours=1),
        )
    )

    answers = [
        await client.patch(path, json={"replicas": 1}),  # the current value: still a 409
        await client.delete(path),
        await client.post(f"{path}/scale", json={"storage_gb": 30}),
        await client.post(f"{path}/pause"),
        await client.post(f"{path}/resume"),  # a running database: still a 409, not a 422
        await client.post(f"{path}/restart"),
        await client.post(f"{path}/credentials/rotate"),
        await client.post(f"{path}/upgrade", json={"target_version": "17.6"}),
    ]

    for answer in answers:
        _shaped(answer, 409, "operation_in_progress")
        assert answer.json()["error"]["details"]["operation_id"] == active.id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"replicas": "3"}, "body.replicas"),
        ({"storage_gb": "25"}, "body.storage_gb"),
        ({"replicas": True}, "body.replicas"),
        ({"high_availability": "true"}, "body.high_availability"),
        ({"backup_retention_days": 7.0}, "body.backup_retention_days"),
    ],
)
async def test_strings_are_not_numbers_and_booleans_are_not_counts(
    platform: Platform, body: dict[str, object], field: str
) -> None:
    _, client, _ = platform

    created = await create(client, **body)

    _shaped(created, 422, "validation_error")
    assert field in created.json()["error"]["details"]["fields"]
    assert (await client.get(BASE)).json()["total"] == 0


async def test_scale_patch_quota_and_provider_bodies_are_strict_too(platform: Platform) -> None:
    _, client, _ = platform
    created = await create(client)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"

    answers = [
        await client.post(f"{path}/scale", json={"replicas": "3"}),
        await client.patch(path, json={"storage_gb": "25"}),
        await client.patch(path, json={"deletion_protection": 1}),
        await client.put("/api/v1/domains/acme", json={"quota": {"max_databases": "5"}}),
        await client.patch(
            f"{PROVIDERS}/{await _local_provider_id(client)}", json={"priority": True}
        ),
    ]

    for answer in answers:
        _shaped(answer, 422, "validation_error")


async def test_region_and_zone_are_taken_from_the_body_or_the_headers_but_must_agree(
    platform: Platform,
) -> None:
    _, client, _ = platform
    local = (await client.get(f"{PROVIDERS}/{await _local_provider_id(client)}")).json()
    region, zone = local["region"], local["availability_zone"]

    in_body = await create(client, name="in-body", region=region)
    in_headers = await client.post(
        BASE,
        json={"name": "in-headers", "engine": "postgres", "version": "16.13"},
        headers={"X-Region": region},
    )
    elsewhere = await create(client, name="elsewhere", region="nowhere-1")
    disagree = await client.post(
        BASE,
        json={"name": "disagree", "engine": "postgres", "version": "16.13", "region": region},
        headers={"X-Region": "nowhere-1"},
    )
    zones = await client.post(
        BASE,
        json={
            "name": "zones",
            "engine": "postgres",
            "version": "16.13",
            "availability_zone": "z-1",
        },
        headers={"X-Availability-Zone": "z-2"},
    )

    assert in_body.status_code == 202 and in_headers.status_code == 202, in_body.text
    assert in_body.json()["provider_id"] == local["id"]
    _shaped(elsewhere, 422, "no_provider")
    for refused, name in ((disagree, "region"), (zones, "availability_zone")):
        _shaped(refused, 422, "validation_error")
        assert f"body.{name}" in refused.json()["error"]["details"]["fields"]
    assert zone is None or isinstance(zone, str)


async def test_available_upgrades_of_16_13_offer_no_variant_of_16_13(platform: Platform) -> None:
    _, client, _ = platform
    created = await create(client, version="16.13")
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"

    upgrades = (await client.get(f"{path}/available-upgrades")).json()["available_upgrades"]
    to_variant = await client.post(f"{path}/upgrade", json={"target_version": "16.13-bookworm"})

    assert "17.6" in upgrades
    assert not [v for v in upgrades if v.startswith("16.13")]
    _shaped(to_variant, 422, "upgrade_not_allowed")


async def test_databases_are_listed_across_projects_within_each_keys_scope(
    platform: Platform,
) -> None:
    runtime, client, _ = platform
    for domain, project, name in (
        ("acme", "shop", "orders"),
        ("acme", "blog", "posts"),
        ("globex", "shop", "ledger"),
    ):
        accepted = await client.post(
            f"/api/v1/domain/{domain}/project/{project}/databases",
            json={
                "name": name,
                "engine": "postgres",
                "version": "16.13",
                "labels": {"team": "web"},
            },
        )
        await finished(client, accepted)
    owner = await issue_key(runtime.store, name="o", role=Role.OWNER, domain="acme")
    member = await issue_key(
        runtime.store, name="m", role=Role.MEMBER, domain="acme", project="blog"
    )

    def names(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return sorted(d["name"] for d in response.json()["databases"])

    def as_(key: IssuedKey) -> dict[str, str]:
        return {"Authorization": f"Bearer {key.token}"}

    assert names(await client.get(ALL)) == ["ledger", "orders", "posts"]
    assert names(await client.get(ALL, params={"domain": "acme"})) == ["orders", "posts"]
    assert names(await client.get(ALL, params={"domain": "acme", "project": "shop"})) == ["orders"]
    assert names(await client.get(ALL, params={"label": "team=web", "name": "po"})) == ["posts"]
    paged = (await client.get(ALL, params={"page": 2, "page_size": 2})).json()
    assert (len(paged["databases"]), paged["total"]) == (1, 3)
    assert names(await client.get(ALL, headers=as_(owner))) == ["orders", "posts"]
    assert names(await client.get(ALL, headers=as_(member))) == ["posts"]
    assert names(await client.get(ALL, params={"domain": "acme"}, headers=as_(member))) == ["posts"]
    hidden = await client.get(ALL, params={"domain": "globex"}, headers=as_(owner))
    _shaped(hidden, 404, "not_found")
    no_domain = await client.get(ALL, params={"project": "shop"})
    _shaped(no_domain, 422, "validation_error")
