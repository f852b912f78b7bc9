"""The database lifecycle over HTTP: the app in-process (real lifespan, SQLite, embedded
Redis, workers) and the simulator with the KubeDB model on a loopback socket."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.domain import namespaces
from app.domain.api_keys import Role
from app.main import Runtime
from app.services.api_keys import issue_key
from simulator.server import Served
from tests.e2e.platform import BASE, VERSIONS, create, finished
from tests.support import eventually


@pytest.mark.parametrize("engine", sorted(VERSIONS))
async def test_each_engine_is_created_running_with_endpoint_and_credentials(
    platform: tuple[Runtime, httpx.AsyncClient, Served], engine: str
) -> None:
    _, client, _ = platform

    accepted = await create(client, engine=engine)
    operation = await finished(client, accepted)
    database = (await client.get(f"{BASE}/{accepted.json()['id']}")).json()
    credentials = await client.get(f"{BASE}/{database['id']}/credentials")
    events = (await client.get(f"{BASE}/{database['id']}/events")).json()["events"]

    assert operation["status"] == "succeeded", operation["error_message"]
    assert database["status"] == "running" and database["health_status"] == "healthy"
    assert database["endpoint"] and database["port"]
    assert credentials.status_code == 200
    assert credentials.json()["password"] in credentials.json()["connection_string"]
    assert credentials.headers["cache-control"] == "no-store"
    transitions = [(e["from_status"], e["to_status"]) for e in reversed(events)]
    assert ("pending", "provisioning") in transitions and ("provisioning", "running") in transitions


async def test_a_database_is_scaled_paused_resumed_upgraded_and_deleted(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, served = platform
    created = await create(client, high_availability=True, replicas=3)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"

    scaled = await finished(client, await client.post(f"{path}/scale", json={"replicas": 5}))
    paused = await finished(client, await client.post(f"{path}/pause"))
    paused_db = (await client.get(path)).json()
    resumed = await finished(client, await client.post(f"{path}/resume"))
    upgrades = (await client.get(f"{path}/available-upgrades")).json()
    upgraded = await finished(
        client, await client.post(f"{path}/upgrade", json={"target_version": "17.6"})
    )
    after = (await client.get(path)).json()
    deleted = await finished(client, await client.delete(path))
    gone = (await client.get(path)).json()
    reused = await create(client)
    recreated = await finished(client, reused)

    assert [o["status"] for o in (scaled, paused, resumed, upgraded, deleted)] == ["succeeded"] * 5
    assert paused_db["status"] == "paused"
    assert upgrades["current_version"] == "16.13" and "17.6" in upgrades["available_upgrades"]
    assert "13.22" not in upgrades["available_upgrades"]
    assert (after["replicas"], after["version"], after["status"]) == (5, "17.6", "running")
    assert gone["status"] == "deleted"
    assert recreated["status"] == "succeeded"  # the name was free again
    namespace = namespaces.namespace_for("acme", "shop")
    assert await served.client().find("postgreses", "orders", namespace=namespace) is not None


async def test_a_second_mutation_while_one_runs_is_409_with_the_active_operation(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, _ = platform
    created = await create(client)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"

    first = await client.post(f"{path}/restart")
    second = await client.post(f"{path}/pause")

    assert first.status_code == 202
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "operation_in_progress"
    assert error["details"]["operation_id"] == first.json()["operation_id"]
    await finished(client, first)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"engine": "redis", "replicas": 3}, "replicas"),
        ({"engine": "mysql", "high_availability": True, "replicas": 2}, "replicas"),
        ({"version": "99.1"}, "version"),
        ({"name": "Bad_Name"}, "name"),
        ({"storage_gb": 0}, "body.storage_gb"),
        ({"size": "db.huge"}, "size"),
        ({"username": "app_owner"}, "password"),
        ({"engine": "mariadb", "username": "app", "password": "long-enough-secret"}, "username"),
        ({"password": "short"}, "body.password"),
        ({"backup_schedule": "every night"}, "backup_schedule"),
    ],
)
async def test_create_rules_answer_422_naming_the_field(
    platform: tuple[Runtime, httpx.AsyncClient, Served], body: dict[str, Any], field: str
) -> None:
    _, client, _ = platform

    response = await create(client, **body)

    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["details"]["fields"]
    listed = (await client.get(BASE)).json()
    assert listed["total"] == 0  # nothing half-written


async def test_state_rules_answer_422(platform: tuple[Runtime, httpx.AsyncClient, Served]) -> None:
    _, client, _ = platform
    created = await create(client, storage_gb=20)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"

    shrink = await client.post(f"{path}/scale", json={"storage_gb": 10})
    resume_running = await client.post(f"{path}/resume")
    downgrade = await client.post(f"{path}/upgrade", json={"target_version": "13.22"})
    await finished(client, await client.delete(path))
    after_delete = await client.post(f"{path}/restart")

    for response, code in (
        (shrink, "storage_rule_violated"),
        (resume_running, "invalid_state"),
        (downgrade, "upgrade_not_allowed"),
        (after_delete, "database_deleted"),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == code


async def test_protected_databases_are_not_deleted(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, _ = platform
    created = await create(client, deletion_protection=True)
    await finished(client, created)

    refused = await client.delete(f"{BASE}/{created.json()['id']}")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "deletion_protected"


async def test_keys_see_only_their_tenant_and_viewers_only_read(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    runtime, client, _ = platform
    created = await create(client)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"
    viewer = await issue_key(runtime.store, name="v", role=Role.VIEWER, domain="acme")
    stranger = await issue_key(runtime.store, name="s", role=Role.OWNER, domain="globex")

    def as_(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    read = await client.get(path, headers=as_(viewer.token))
    write = await client.post(f"{path}/restart", headers=as_(viewer.token))
    secret = await client.get(f"{path}/credentials", headers=as_(viewer.token))
    foreign = await client.get(path, headers=as_(stranger.token))
    foreign_list = await client.get(BASE, headers=as_(stranger.token))
    nobody = await client.get(path, headers={"Authorization": "Bearer kdb_nope"})

    assert read.status_code == 200
    assert (write.status_code, secret.status_code) == (403, 403)
    assert foreign.status_code == 404 and foreign_list.status_code == 404
    assert nobody.status_code == 401


async def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _runtime, client, _ = platform
    key = {"Idempotency-Key": "create-orders-1"}
    body = {"name": "orders", "engine": "postgres", "version": "16.13"}

    first = await client.post(BASE, json=body, headers=key)
    again = await client.post(BASE, json=body, headers=key)
    other = await client.post(BASE, json={**body, "name": "other"}, headers=key)
    await finished(client, first)

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    operations = (await client.get("/api/v1/operations", params={"type": "create"})).json()
    assert operations["total"] == 1  # one create, not two


async def test_a_paused_database_deleted_with_wipeout_loses_its_secret_too(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, served = platform
    created = await create(client, deletion_policy="WipeOut")
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"
    namespace = namespaces.namespace_for("acme", "shop")
    await finished(client, await client.post(f"{path}/pause"))

    deleted = await finished(client, await client.delete(path))

    assert deleted["status"] == "succeeded"
    assert await served.client().find("secrets", "orders-auth", namespace=namespace) is None


async def test_custom_credentials_are_the_databases_and_are_kept_out_of_every_record(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime, client, served = platform
    password = "Correct-Horse-Battery-9"
    created = await create(
        client, username="app_owner", password=password, deletion_policy="WipeOut"
    )
    operation = await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"

    credentials = (await client.get(f"{path}/credentials")).json()
    stored_op = await runtime.store.operations.get(operation["id"])
    stored_db = await runtime.store.databases.get(created.json()["id"])
    events = (await client.get(f"{path}/events")).text
    namespace = namespaces.namespace_for("acme", "shop")
    secret = await served.client().find("secrets", "orders-auth", namespace=namespace)
    deleted = await finished(client, await client.delete(path))

    assert operation["status"] == "succeeded", operation["error_message"]
    assert (credentials["username"], credentials["password"]) == ("app_owner", password)
    assert secret is not None
    assert secret["metadata"]["labels"]["dbaas.io/database-id"] == created.json()["id"]
    assert "operation_succeeded" in caplog.text  # the log was captured
    for written in (
        created.text,
        json.dumps(operation),
        events,
        caplog.text,
        stored_op.model_dump_json() if stored_op else "",
        stored_db.model_dump_json() if stored_db else "",
    ):
        assert password not in written
    assert deleted["status"] == "succeeded"
    assert await served.client().find("secrets", "orders-auth", namespace=namespace) is None


async def test_custom_credentials_replace_those_a_deleted_namesake_left_behind(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, _ = platform
    first = await create(client)  # generated credentials; Delete keeps the secret
    await finished(client, first)
    await finished(client, await client.delete(f"{BASE}/{first.json()['id']}"))

    second = await create(client, password="Another-Long-Secret-2")
    await finished(client, second)
    credentials = (await client.get(f"{BASE}/{second.json()['id']}/credentials")).json()

    assert (credentials["username"], credentials["password"]) == (
        "postgres",
        "Another-Long-Secret-2",
    )


async def test_health_shows_the_status_syncs_last_pass_and_the_record_follows_the_cluster(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, served = platform
    created = await create(client, engine="mongodb", high_availability=True, replicas=3)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"
    namespace = namespaces.namespace_for("acme", "shop")
    served.simulator.config.update({"degraded": [f"{namespace}/orders"]})

    async def degraded() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(path)).json()
        return body if body["health_status"] == "degraded" else None

    database = await eventually(degraded, timeout=3, message="degraded within the interval")
    status = (await client.get(f"{path}/status")).json()
    health = (await client.get("/health")).json()

    assert (database["status"], database["phase"]) == ("running", "Critical")
    assert status["health_status"] == "degraded"
    assert health["components"]["status_sync"] == "running"
    last = health["passes"]["status_sync"]["last"]
    # One list per engine and one of the AppBindings.
    assert last["databases_seen"] == 1 and last["cluster_calls"] == 6
    assert health["passes"]["reconciliation"]["passes"] >= 1


async def test_a_deletion_cannot_be_cancelled(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, served = platform
    created = await create(client)
    await finished(client, created)
    served.simulator.config.update({"time_scale": 1.0})  # keep the delete waiting
    deleting = await client.delete(f"{BASE}/{created.json()['id']}")

    refused = await client.post(f"/api/v1/operations/{deleting.json()['operation_id']}/cancel")
    served.simulator.config.update({"time_scale": 0.005})

    assert refused.status_code == 409
    assert "cannot be cancelled" in refused.json()["error"]["message"]
    assert (await finished(client, deleting))["status"] == "succeeded"


async def test_malformed_json_is_400_and_collections_take_a_trailing_slash(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, _ = platform

    malformed = await client.post(
        BASE, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    versions = await client.get("/api/v1/versions/", params={"engine": "redis"})
    sizes = await client.get("/api/v1/sizes/")
    huge_page = await client.get("/api/v1/operations", params={"page": 10**18})

    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_request"
    assert versions.status_code == 200 and sizes.status_code == 200
    assert huge_page.status_code == 422


async def test_cluster_faults_delay_operations_but_never_lose_or_duplicate_them(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    _, client, served = platform
    created = await create(client, high_availability=True, replicas=3)
    await finished(client, created)
    path = f"{BASE}/{created.json()['id']}"
    # Seeded so that the first targeted call fails (its roll is 0.13 < 0.4): the faults are
    # random, but never none at all, whatever the number of calls the operations make.
    served.simulator.fault_random.seed(1)
    served.simulator.config.update(
        {
            "error_rate": 0.4,
            "throttle_rate": 0.1,
            "throttle_retry_after_seconds": 0,
            "fault_targets": ("create postgresopsrequests", "get postgresopsrequests"),
        }
    )

    scaled = await finished(client, await client.post(f"{path}/scale", json={"replicas": 5}))
    restarted = await finished(client, await client.post(f"{path}/restart"))
    served.simulator.config.update({"error_rate": 0.0, "throttle_rate": 0.0})
    namespace = namespaces.namespace_for("acme", "shop")
    requests = await served.client().list("postgresopsrequests", namespace=namespace)
    faults = served.simulator.stats.faults

    assert (scaled["status"], restarted["status"]) == ("succeeded", "succeeded")
    kinds = sorted(r["spec"]["type"] for r in requests)
    assert kinds == ["HorizontalScaling", "Restart"]  # one each, despite the retries
    assert (await client.get(path)).json()["replicas"] == 5
    assert sum(faults.values()) > 0  # faults were injected, and absorbed


async def test_a_database_whose_size_plan_was_removed_can_still_be_deleted(
    platform: tuple[Runtime, httpx.AsyncClient, Served],
) -> None:
    runtime, client, _ = platform
    created = await create(client)
    await finished(client, created)
    database_id = created.json()["id"]
    current = await runtime.store.databases.get(database_id)
    assert current is not None
    await runtime.store.databases.update_fields(database_id, {"size": "db.retired"})

    deleted = await finished(client, await client.delete(f"{BASE}/{database_id}"))

    assert deleted["status"] == "succeeded", deleted["error_message"]
    assert (await client.get(f"{BASE}/{database_id}")).json()["status"] == "deleted"
