"""The audit log over HTTP: what is recorded, what never is, and who may read it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI
from pydantic import SecretStr

from app.config.settings import Settings
from app.domain.api_keys import Role
from app.domain.audit import AuditScope
from app.main import create_app
from app.services.api_keys import issue_key
from app.store.protocols import AuditFilter
from tests.e2e.platform import ADMIN, BASE, Platform, create, finished
from tests.support import eventually

AUDIT = "/api/v1/audit"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def entries(client: httpx.AsyncClient, **params: str | int) -> list[dict[str, object]]:
    response = await client.get(AUDIT, params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()["entries"]
    return found


async def test_mutations_and_credential_reads_are_recorded_with_who_what_and_outcome(
    platform: Platform,
) -> None:
    runtime, client, _ = platform
    viewer = await issue_key(runtime.store, name="v", role=Role.VIEWER, domain="acme")
    accepted = await create(client)
    database_id = accepted.json()["id"]
    await finished(client, accepted)
    await client.get(f"{BASE}/{database_id}/credentials", headers={"X-Request-ID": "req-42"})
    await client.get(f"{BASE}/{database_id}")  # a plain read: not recorded
    refused = await client.post(f"{BASE}/{database_id}/restart", headers=bearer(viewer.token))
    anonymous = await client.delete(f"{BASE}/{database_id}", headers={"Authorization": ""})

    log = await entries(client, domain="acme")
    platform_log = await entries(client, scope="platform")

    assert refused.status_code == 403 and anonymous.status_code == 401
    actions = [(e["action"], e["outcome"]) for e in reversed(log)]
    collection = "/api/v1/domain/{domain}/project/{project}/databases"
    assert actions == [
        (f"POST {collection}", 202),
        (f"GET {collection}/{{database_id}}/credentials", 200),
        (f"POST {collection}/{{database_id}}/restart", 403),
    ]
    created, read, forbidden = reversed(log)
    (unknown,) = platform_log
    assert (unknown["action"], unknown["outcome"]) == (f"DELETE {collection}/{{database_id}}", 401)
    assert (created["actor_role"], created["domain"], created["project"]) == (
        "admin",
        "acme",
        "shop",
    )
    assert created["target"] == "shop"  # the collection: the project it was created in
    assert read["target"] == database_id and read["request_id"] == "req-42"
    assert read["client"] == "127.0.0.1"
    assert (forbidden["actor_key_id"], forbidden["actor_role"]) == (viewer.key.id, "viewer")
    assert unknown["actor_key_id"] is None


async def test_secrets_never_reach_the_audit_log(platform: Platform) -> None:
    runtime, client, served = platform
    password = "Audit-Never-Sees-This-1"
    token = "kubeconfig-token-in-an-audit-test"
    config = served.kubeconfig()
    config["users"][0]["user"] = {"token": token}

    await finished(client, await create(client, name="secretive", password=password))
    key = (
        await client.post(
            "/api/v1/api-keys", json={"name": "ci", "role": "member", "domain": "acme"}
        )
    ).json()
    await client.post(
        "/api/v1/providers",
        json={
            "name": "second",
            "region": "r",
            "cpu_total_cores": 1,
            "memory_total_gb": 1,
            "storage_total_gb": 1,
            "kubeconfig_content": yaml.safe_dump(config),
        },
    )

    async def three() -> list[object] | None:
        page = await runtime.store.audit.list(AuditFilter())
        return list(page.items) if page.total >= 3 else None

    recorded = json.dumps(
        [
            e.model_dump(mode="json")
            for e in await eventually(three, timeout=5, message="three entries")
        ]
    )
    for secret in (password, token, key["secret"]):
        assert secret not in recorded


async def test_owners_read_their_own_domain_and_other_keys_none(platform: Platform) -> None:
    runtime, client, _ = platform
    owner = await issue_key(runtime.store, name="o", role=Role.OWNER, domain="acme")
    member = await issue_key(runtime.store, name="m", role=Role.MEMBER, domain="acme")
    await create(client, name="mine")
    await client.post(
        "/api/v1/domain/globex/project/web/databases",
        json={"name": "theirs", "engine": "postgres", "version": "16.13"},
    )

    as_owner = await client.get(AUDIT, headers=bearer(owner.token))
    owner_asks_other = await client.get(
        AUDIT, params={"domain": "globex"}, headers=bearer(owner.token)
    )
    as_member = await client.get(AUDIT, headers=bearer(member.token))
    as_admin = await entries(client)
    naive_time = await client.get(AUDIT, params={"since": "2026-01-01T00:00:00"})
    overflowing = await client.get(AUDIT, params={"since": "9999-12-31T23:00:00-14:00"})
    ancient = await client.get(AUDIT, params={"until": "0001-01-01T00:00:00+05:00"})

    assert as_owner.status_code == 200
    assert {e["domain"] for e in as_owner.json()["entries"]} == {"acme"}
    assert owner_asks_other.status_code == 403
    assert as_member.status_code == 403
    assert {e["domain"] for e in as_admin} >= {"acme", "globex"}
    assert naive_time.status_code == 422
    assert overflowing.status_code == 422 and ancient.status_code == 422


async def test_anonymous_requests_are_recorded_in_the_platform_scope_never_the_tenants_log(
    platform: Platform,
) -> None:
    runtime, client, _ = platform
    owner = await issue_key(runtime.store, name="o", role=Role.OWNER, domain="acme")
    answers = [
        await client.post(f"{BASE}/anon-junk-{n}/restart", headers={"Authorization": ""})
        for n in range(300)
    ]

    acme_as_admin = await client.get(AUDIT, params={"domain": "acme"})
    acme_as_owner = await client.get(AUDIT, headers=bearer(owner.token))
    platform_log = await client.get(AUDIT, params={"scope": "platform", "page_size": 100})
    owner_asks_platform = await client.get(
        AUDIT, params={"scope": "platform"}, headers=bearer(owner.token)
    )
    in_tenants = await runtime.store.audit.list(AuditFilter(scope=AuditScope.TENANT))

    assert {r.status_code for r in answers} == {401}
    assert acme_as_admin.json()["total"] == 0 and acme_as_owner.json()["total"] == 0
    assert in_tenants.total == 0
    assert platform_log.json()["total"] == 300
    first = platform_log.json()["entries"][0]
    assert (first["scope"], first["actor_key_id"], first["outcome"]) == ("platform", None, 401)
    assert first["target"] == "anon-junk-299" and first["domain"] == "acme"
    assert owner_asks_platform.status_code == 403


async def test_an_owner_sees_actors_from_outside_its_tenant_as_external(
    platform: Platform,
) -> None:
    runtime, client, _ = platform
    owner = await issue_key(runtime.store, name="o", role=Role.OWNER, domain="evil")
    insider = await issue_key(runtime.store, name="i", role=Role.MEMBER, domain="evil")
    acme = await issue_key(runtime.store, name="a", role=Role.MEMBER, domain="acme")
    evil_dbs = "/api/v1/domain/evil/project/lair/databases"
    probe = await client.post(f"{evil_dbs}/x/restart", headers=bearer(acme.token))
    by_admin = await client.post(f"{evil_dbs}/y/restart")
    by_insider = await client.post(f"{evil_dbs}/z/restart", headers=bearer(insider.token))

    as_owner = await client.get(AUDIT, headers=bearer(owner.token))
    owner_filters_on_acme = await client.get(
        AUDIT, params={"actor": acme.key.id}, headers=bearer(owner.token)
    )
    as_admin = await entries(client, domain="evil")

    assert (probe.status_code, by_admin.status_code, by_insider.status_code) == (404, 404, 404)
    seen = {e["target"]: e for e in as_owner.json()["entries"]}
    assert set(seen) == {"x", "y", "z"}
    for outsider in (seen["x"], seen["y"]):
        assert (outsider["actor_key_id"], outsider["actor_role"]) == ("external", "external")
        assert outsider["client"] is None
    assert (seen["z"]["actor_key_id"], seen["z"]["actor_role"]) == (insider.key.id, "member")
    assert acme.key.id not in as_owner.text and "admin" not in as_owner.text
    assert owner_filters_on_acme.json()["total"] == 0
    admin_seen = {e["target"]: e["actor_key_id"] for e in as_admin}
    assert admin_seen["x"] == acme.key.id and admin_seen["y"] not in (None, "external")


@pytest.fixture
async def limited(
    settings: Settings,
    embedded_redis_url: str,
    tmp_path: Path,
) -> AsyncIterator[FastAPI]:
    """The app alone (no cluster), limiting requests without a valid key to bursts of 5."""
    app = create_app(
        settings.model_copy(
            update={
                "redis_url": embedded_redis_url,
                "admin_api_key": SecretStr(ADMIN.text),
                "anonymous_rate_limit_per_minute": 60,
                "anonymous_rate_limit_burst": 5,
            }
        )
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_a_bogus_key_is_limited_per_address_after_its_burst(limited: FastAPI) -> None:
    def client(address: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url="http://test",
            transport=httpx.ASGITransport(app=limited, client=(address, 4321)),
        )

    bogus = bearer("kdb_AAAAAAAAAAAAAAAA_" + "x" * 43)
    async with client("10.0.0.1") as one, client("10.0.0.2") as two:
        answers = [await one.post(f"{BASE}/d/restart", headers=bogus) for _ in range(8)]
        no_key = await one.get(BASE)
        other_address = await two.post(f"{BASE}/d/restart", headers=bogus)
        valid_key = await one.get(BASE, headers=bearer(ADMIN.text))
        recorded = await limited.state.runtime.store.audit.list(
            AuditFilter(scope=AuditScope.PLATFORM)
        )

    codes = [r.status_code for r in answers]
    assert codes == [401] * 5 + [429] * 3, codes
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert no_key.status_code == 429
    assert other_address.status_code == 401
    assert valid_key.status_code == 200
    # The refusals inside the limits are recorded; those over the address's limit are not.
    assert recorded.total == 6 and {e.client for e in recorded.items} == {"10.0.0.1", "10.0.0.2"}
    assert {e.outcome for e in recorded.items} == {401}


async def test_a_body_that_is_not_json_is_authenticated_and_limited_like_any_other(
    limited: FastAPI,
) -> None:
    not_json = {"Content-Type": "application/json"}
    transport = httpx.ASGITransport(app=limited, client=("10.0.0.3", 4321))
    async with httpx.AsyncClient(base_url="http://test", transport=transport) as client:
        anonymous = [await client.post(BASE, content=b"{", headers=not_json) for _ in range(8)]
        with_key = await client.post(BASE, content=b"{", headers={**not_json, **bearer(ADMIN.text)})
        tenant = await limited.state.runtime.store.audit.list(AuditFilter(scope=AuditScope.TENANT))

    codes = [r.status_code for r in anonymous]
    assert codes == [401] * 5 + [429] * 3, codes
    assert with_key.status_code == 400
    assert with_key.json()["error"]["code"] == "malformed_request"
    assert [(e.outcome, e.actor_key_id is not None) for e in tenant.items] == [(400, True)]
