"""`/api/v1/versions`, `/api/v1/sizes` and `/api/v1/operations` over HTTP, in-process, with
the simulator as the cluster."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.config.settings import Settings
from app.domain import clock
from app.domain.api_keys import Role, new_token
from app.domain.operations import Operation
from app.main import Runtime, create_app
from app.services.api_keys import issue_key
from simulator.kubedb import install
from simulator.server import Simulator, run_simulator
from tests.support import eventually

ADMIN = new_token()


@pytest.fixture
async def api(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    async with run_simulator(simulator=Simulator(plugins=[install])) as served:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(json.dumps(served.kubeconfig()))
        app = create_app(
            settings.model_copy(
                update={
                    "redis_url": embedded_redis_url,
                    "admin_api_key": SecretStr(ADMIN.text),
                    "cluster_kubeconfig": kubeconfig,
                    "allowed_versions": {
                        "postgres": ["16.13", "17.6", "12.22"],
                        "redis": ["8.2.2"],
                    },
                }
            )
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://test",
                headers={"Authorization": f"Bearer {ADMIN.text}"},
            ) as client:
                yield app.state.runtime, client


async def test_versions_are_the_allowed_non_deprecated_catalog_entries(
    api: tuple[Runtime, httpx.AsyncClient],
) -> None:
    _, client = api

    everything = await client.get("/api/v1/versions")
    postgres = await client.get("/api/v1/versions", params={"engine": "postgres"})
    unknown = await client.get("/api/v1/versions", params={"engine": "oracle"})
    anonymous = await client.get("/api/v1/versions", headers={"Authorization": ""})

    assert everything.status_code == 200
    body = everything.json()
    assert set(body) == {"postgres", "mysql", "mariadb", "mongodb", "redis"}
    assert body["mysql"] == []  # not in the allow list
    assert postgres.json() == {
        "postgres": [
            {"version": "17.6", "deprecated": False, "default": True},
            {"version": "16.13", "deprecated": False, "default": False},
        ]
    }  # 12.22 is deprecated in the catalog
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "validation_error"
    assert anonymous.status_code == 401


async def test_sizes_come_from_the_size_table(api: tuple[Runtime, httpx.AsyncClient]) -> None:
    _, client = api

    response = await client.get("/api/v1/sizes")

    body = response.json()
    assert body["default"] == "db.t3.micro"
    assert body["sizes"][0] == {"name": "db.t3.micro", "cpu": 0.5, "memory_gib": 1.0}
    assert body["sizes"][-1] == {"name": "db.t3.2xlarge", "cpu": 8.0, "memory_gib": 32.0}


def operation(domain: str, project: str, **fields: Any) -> Operation:
    values: dict[str, Any] = {
        "database_id": f"db-{domain}-{project}",
        "domain": domain,
        "project": project,
        "type": "scale_horizontal",
    }
    values.update(fields)
    return Operation.model_validate(values)


async def test_operations_are_read_listed_and_scoped_to_the_keys_tenant(
    api: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = api
    mine = await runtime.store.operations.create_active(
        operation("acme", "shop", next_run_at=clock.utcnow() + timedelta(hours=1))
    )
    theirs = await runtime.store.operations.create_active(
        operation("globex", "web", next_run_at=clock.utcnow() + timedelta(hours=1))
    )
    viewer = await issue_key(runtime.store, name="v", role=Role.VIEWER, domain="acme")
    as_viewer = {"Authorization": f"Bearer {viewer.token}"}

    one = await client.get(f"/api/v1/operations/{mine.id}", headers=as_viewer)
    hidden = await client.get(f"/api/v1/operations/{theirs.id}", headers=as_viewer)
    listed = await client.get("/api/v1/operations/", headers=as_viewer)
    everything = await client.get("/api/v1/operations", params={"type": "scale_horizontal"})
    refused = await client.post(f"/api/v1/operations/{mine.id}/cancel", headers=as_viewer)

    assert one.status_code == 200 and one.json()["id"] == mine.id
    assert set(one.json()) >= {
        "status",
        "progress",
        "attempts",
        "desired_state",
        "ops_request_name",
        "created_at",
        "completed_at",
    }
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    assert [o["id"] for o in listed.json()["operations"]] == [mine.id]
    assert everything.json()["total"] == 2
    assert refused.status_code == 403


async def test_cancelling_a_waiting_operation_ends_it_and_an_ended_one_is_409(
    api: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = api
    waiting = await runtime.store.operations.create_active(
        operation(
            "acme",
            "shop",
            status="waiting",
            type="restart",
            next_run_at=clock.utcnow() + timedelta(hours=1),
        )
    )

    accepted = await client.post(f"/api/v1/operations/{waiting.id}/cancel")

    async def cancelled() -> bool:
        body = (await client.get(f"/api/v1/operations/{waiting.id}")).json()
        return body["status"] == "cancelled"

    await eventually(cancelled, timeout=10)
    again = await client.post(f"/api/v1/operations/{waiting.id}/cancel")
    missing = await client.get("/api/v1/operations/op-missing")

    assert accepted.status_code == 202
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "operation_not_cancellable"
    assert missing.status_code == 404


async def test_a_bad_filter_or_page_is_422(api: tuple[Runtime, httpx.AsyncClient]) -> None:
    _, client = api

    for params in ({"status": "sleeping"}, {"page": "0"}, {"page_size": "101"}):
        response = await client.get("/api/v1/operations", params=params)
        assert response.status_code == 422, params
