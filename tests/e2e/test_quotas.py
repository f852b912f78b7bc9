"""Quotas over HTTP: set by admins, read with usage, checked atomically on create and scale,
given back on delete."""

from __future__ import annotations

import asyncio

from app.domain.api_keys import Role
from app.services.api_keys import issue_key
from tests.e2e.platform import BASE, Platform, create, finished
from tests.support import eventually

DOMAIN = "/api/v1/domains/acme"
PROJECT = "/api/v1/domains/acme/projects/shop"


async def test_an_admin_sets_quotas_and_tenant_keys_read_them_with_usage(
    platform: Platform,
) -> None:
    runtime, client, _ = platform
    member = await issue_key(
        runtime.store, name="m", role=Role.MEMBER, domain="acme", project="shop"
    )
    await finished(client, await create(client))

    put = await client.put(PROJECT, json={"quota": {"max_databases": 3, "max_cpu_cores": 2}})
    as_member = await client.get(PROJECT, headers={"Authorization": f"Bearer {member.token}"})
    member_puts = await client.put(
        PROJECT, json={"quota": {}}, headers={"Authorization": f"Bearer {member.token}"}
    )
    other_project = await client.get(
        "/api/v1/domains/acme/projects/web", headers={"Authorization": f"Bearer {member.token}"}
    )
    domain = await client.get(DOMAIN)
    unknown_field = await client.put(DOMAIN, json={"quota": {"max_databses": 1}})

    assert put.status_code == 200, put.text
    body = as_member.json()
    assert body["quota"] == {
        "max_databases": 3,
        "max_cpu_cores": 2.0,
        "max_memory_gb": None,
        "max_storage_gb": None,
    }
    assert body["usage"] == {"databases": 1, "cpu_cores": 0.5, "memory_gb": 1.0, "storage_gb": 20.0}
    assert member_puts.status_code == 403 and other_project.status_code == 404
    assert domain.json()["usage"]["databases"] == 1
    assert domain.json()["quota"]["max_databases"] is None
    assert unknown_field.status_code == 422


async def test_twenty_concurrent_creates_never_pass_a_project_quota(platform: Platform) -> None:
    _, client, _ = platform
    await client.put(PROJECT, json={"quota": {"max_databases": 5}})

    answers = await asyncio.gather(*(create(client, name=f"q-{i:02d}") for i in range(20)))

    codes = sorted(a.status_code for a in answers)
    assert codes.count(202) == 5 and codes.count(429) == 15, codes
    refused = next(a for a in answers if a.status_code == 429).json()["error"]
    assert refused["code"] == "quota_exceeded"
    assert refused["details"] == {
        "scope": "project",
        "tenant": "acme/shop",
        "limit_name": "max_databases",
        "limit": 5.0,
        "usage": 5.0,
        "requested": 1.0,
    }
    assert "quota max_databases of project acme/shop is 5" in refused["message"]
    assert (await client.get(PROJECT)).json()["usage"]["databases"] == 5


async def test_the_domain_quota_holds_across_projects_and_a_delete_frees_room(
    platform: Platform,
) -> None:
    _, client, _ = platform
    await client.put(DOMAIN, json={"quota": {"max_cpu_cores": 1}})
    first = await create(client, name="one")
    elsewhere = await client.post(
        "/api/v1/domain/acme/project/web/databases",
        json={"name": "two", "engine": "postgres", "version": "16.13"},
    )
    third = await create(client, name="three")
    await finished(client, first)
    scale_up = await client.post(f"{BASE}/{first.json()['id']}/scale", json={"size": "db.t3.small"})
    await finished(client, await client.delete(f"{BASE}/{first.json()['id']}"))

    async def freed() -> dict[str, float] | None:
        usage: dict[str, float] = (await client.get(DOMAIN)).json()["usage"]
        return usage if usage["databases"] == 1 else None

    usage = await eventually(freed, timeout=5, message="usage given back on delete")
    fourth = await create(client, name="four")

    assert elsewhere.status_code == 202
    assert third.status_code == 429
    assert third.json()["error"]["details"]["scope"] == "domain"
    assert scale_up.status_code == 429
    assert scale_up.json()["error"]["details"]["limit_name"] == "max_cpu_cores"
    assert usage["cpu_cores"] == 0.5
    assert fourth.status_code == 202
