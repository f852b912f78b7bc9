"""Authorization before validation: a key without the right gets 403 (or 404 for another
tenant's scope) whatever its body or query holds, never 422 with field details, which would
tell it what a valid request looks like (and that the route would accept one)."""

from __future__ import annotations

import httpx
import pytest

from app.domain.api_keys import Role
from app.services.api_keys import issue_key
from tests.e2e.platform import BASE, Platform, create

INVALID = {"name": 7, "unexpected": True}
GLOBEX = "/api/v1/domain/globex/project/web/databases"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.json()["error"]["code"] == {403: "forbidden", 404: "not_found"}[status]
    assert "fields" not in response.json()["error"]["details"]


@pytest.fixture
async def keys(platform: Platform) -> dict[str, str]:
    runtime, _, _ = platform
    made = {}
    for name, role in (("viewer", Role.VIEWER), ("member", Role.MEMBER)):
        made[name] = (await issue_key(runtime.store, name=name, role=role, domain="acme")).token
    return made


async def test_providers_refuse_a_non_admin_before_reading_its_body(
    platform: Platform,
    keys: dict[str, str],
) -> None:
    _, client, _ = platform
    member = bearer(keys["member"])
    refused(await client.post("/api/v1/providers", json={"name": "p"}, headers=member), 403)
    refused(
        await client.patch(
            "/api/v1/providers/prov-x", json={"cpu_total_cores": "lots"}, headers=member
        ),
        403,
    )
    refused(
        await client.get("/api/v1/providers", params={"is_active": "perhaps"}, headers=member), 403
    )


async def test_quotas_refuse_a_non_admin_before_reading_its_body(
    platform: Platform,
    keys: dict[str, str],
) -> None:
    _, client, _ = platform
    member = bearer(keys["member"])
    bad = {"quota": {"max_databases": "many"}}
    refused(await client.put("/api/v1/domains/acme", json=bad, headers=member), 403)
    refused(await client.put("/api/v1/domains/acme/projects/shop", json=bad, headers=member), 403)
    refused(await client.put("/api/v1/domains/globex", json=bad, headers=member), 403)


async def test_api_keys_refuse_a_key_that_manages_none_before_reading_its_body(
    platform: Platform,
    keys: dict[str, str],
) -> None:
    _, client, _ = platform
    for name in ("viewer", "member"):
        refused(
            await client.post(
                "/api/v1/api-keys", json={"role": "emperor"}, headers=bearer(keys[name])
            ),
            403,
        )
        refused(
            await client.get(
                "/api/v1/api-keys", params={"page": "first"}, headers=bearer(keys[name])
            ),
            403,
        )


async def test_databases_refuse_a_viewer_with_403_and_another_tenant_with_404_before_the_body(
    platform: Platform,
    keys: dict[str, str],
) -> None:
    _, client, _ = platform
    viewer, member = bearer(keys["viewer"]), bearer(keys["member"])
    for path, method in (
        ("", "POST"),
        ("/db-1", "PATCH"),
        ("/db-1/scale", "POST"),
        ("/db-1/upgrade", "POST"),
        ("/db-1/restart", "POST"),
    ):
        refused(await client.request(method, BASE + path, json=INVALID, headers=viewer), 403)
        refused(await client.request(method, GLOBEX + path, json=INVALID, headers=member), 404)
    refused(await client.get(GLOBEX, params={"page": "zero"}, headers=member), 404)


async def test_operations_refuse_a_viewer_and_hide_another_tenants_before_anything_else(
    platform: Platform,
    keys: dict[str, str],
) -> None:
    runtime, client, _ = platform
    accepted = await create(client)
    operation_id = accepted.json()["operation_id"]
    globex = await issue_key(runtime.store, name="g", role=Role.MEMBER, domain="globex")
    path = f"/api/v1/operations/{operation_id}/cancel"

    refused(await client.post(path, json=INVALID, headers=bearer(keys["viewer"])), 403)
    refused(await client.post(path, json=INVALID, headers=bearer(globex.token)), 404)


async def test_the_audit_log_refuses_a_key_that_may_not_read_it_before_its_query(
    platform: Platform,
    keys: dict[str, str],
) -> None:
    _, client, _ = platform
    for name in ("viewer", "member"):
        refused(
            await client.get(
                "/api/v1/audit",
                params={"outcome": "bad", "since": "never"},
                headers=bearer(keys[name]),
            ),
            403,
        )
