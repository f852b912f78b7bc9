"""The audit log over HTTP: what is recorded, what never is, and who may read it."""

from __future__ import annotations

import json

import httpx
import yaml

from app.domain.api_keys import Role
from app.services.api_keys import issue_key
from app.store.protocols import AuditFilter
from tests.e2e.platform import BASE, Platform, create, finished
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

    assert refused.status_code == 403 and anonymous.status_code == 401
    actions = [(e["action"], e["outcome"]) for e in reversed(log)]
    collection = "/api/v1/domain/{domain}/project/{project}/databases"
    assert actions == [
        (f"POST {collection}", 202),
        (f"GET {collection}/{{database_id}}/credentials", 200),
        (f"POST {collection}/{{database_id}}/restart", 403),
        (f"DELETE {collection}/{{database_id}}", 401),
    ]
    created, read, forbidden, unknown = reversed(log)
    assert (created["actor_role"], created["domain"], created["project"]) == (
        "admin", "acme", "shop")
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
    key = (await client.post("/api/v1/api-keys", json={
        "name": "ci", "role": "member", "domain": "acme"})).json()
    await client.post("/api/v1/providers", json={
        "name": "second", "region": "r", "cpu_total_cores": 1, "memory_total_gb": 1,
        "storage_total_gb": 1, "kubeconfig_content": yaml.safe_dump(config)})

    async def three() -> list[object] | None:
        page = await runtime.store.audit.list(AuditFilter())
        return list(page.items) if page.total >= 3 else None

    recorded = json.dumps([e.model_dump(mode="json") for e in
                           await eventually(three, timeout=5, message="three entries")])
    for secret in (password, token, key["secret"]):
        assert secret not in recorded


async def test_owners_read_their_own_domain_and_other_keys_none(platform: Platform) -> None:
    runtime, client, _ = platform
    owner = await issue_key(runtime.store, name="o", role=Role.OWNER, domain="acme")
    member = await issue_key(runtime.store, name="m", role=Role.MEMBER, domain="acme")
    await create(client, name="mine")
    await client.post("/api/v1/domain/globex/project/web/databases",
                      json={"name": "theirs", "engine": "postgres", "version": "16.13"})

    as_owner = await client.get(AUDIT, headers=bearer(owner.token))
    owner_asks_other = await client.get(AUDIT, params={"domain": "globex"},
                                        headers=bearer(owner.token))
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
