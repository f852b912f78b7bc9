"""The platform of the lifecycle tests: the app in-process (real lifespan, SQLite, embedded
Redis, workers) and the simulator with the KubeDB model on a loopback socket, plus the
requests most tests make."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from app.config.settings import Settings
from app.domain.api_keys import new_token
from app.main import Runtime, create_app
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.support import eventually

ADMIN = new_token()
BASE = "/api/v1/domain/acme/project/shop/databases"
VERSIONS = {
    "postgres": "16.13",
    "mysql": "8.4.8",
    "mariadb": "11.8.5",
    "mongodb": "8.0.17",
    "redis": "8.2.2",
}


Platform = tuple[Runtime, httpx.AsyncClient, Served]


@asynccontextmanager
async def running(
    settings: Settings,
    redis_url: str,
    tmp_path: Path,
    *,
    identity: Callable[[Served], Awaitable[dict[str, Any]]] | None = None,
    **overrides: Any,
) -> AsyncIterator[Platform]:
    """The app and the simulator; `overrides` are settings on top of the fast test ones.
    The app's kubeconfig is cluster-admin's, or what `identity` makes in the simulator."""
    async with run_simulator(simulator=Simulator(plugins=[install])) as served:
        served.simulator.config.update({"time_scale": 0.005})
        kubeconfig = tmp_path / "kubeconfig"
        config = await identity(served) if identity else served.kubeconfig()
        kubeconfig.write_text(json.dumps(config))
        app = create_app(
            settings.model_copy(
                update={
                    "redis_url": redis_url,
                    "admin_api_key": SecretStr(ADMIN.text),
                    "cluster_kubeconfig": kubeconfig,
                    "operation_poll_interval": 0.05,
                    "operation_step_timeout": 5,
                    "operation_visibility_timeout": 10,
                    "operation_retry_initial": 0.05,
                    "status_sync_interval": 0.5,
                    **overrides,
                }
            )
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://test",
                headers={"Authorization": f"Bearer {ADMIN.text}"},
                timeout=10,
            ) as client,
        ):
            yield app.state.runtime, client, served


async def finished(client: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert response.json()["poll_url"] == location

    async def ended() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(location)).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    return await eventually(ended, timeout=30, interval=0.05, message=location)


async def create(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    body.setdefault("name", "orders")
    body.setdefault("engine", "postgres")
    body.setdefault("version", VERSIONS[body["engine"]])
    return await client.post(BASE, json=body)
