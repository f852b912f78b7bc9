"""`GET .../status?realtime=true` over HTTP: the app in-process with the simulator as its
cluster, the status sync slowed down so that only the live read can see what the cluster
did meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from app.config.settings import Settings
from app.domain import namespaces
from tests.e2e.platform import BASE, Platform, create, finished, running


@pytest.fixture
async def slow_sync(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    """The platform with a status sync that never runs during a test, a short live-read
    timeout, and one running postgres database `orders`."""
    async with running(
        settings,
        embedded_redis_url,
        tmp_path,
        status_sync_interval=3600,
        status_realtime_timeout=0.5,
    ) as platform:
        _, client, _ = platform
        await finished(client, await create(client))
        yield platform


async def _path(client: httpx.AsyncClient) -> str:
    databases = (await client.get(BASE)).json()["databases"]
    return f"{BASE}/{databases[0]['id']}"


async def test_realtime_shows_what_the_cluster_says_before_the_status_sync_writes_it(
    slow_sync: Platform,
) -> None:
    _, client, served = slow_sync
    path = await _path(client)
    before = (await client.get(f"{path}/status")).json()
    namespace = namespaces.namespace_for("acme", "shop")
    served.simulator.config.update({"degraded": [f"{namespace}/orders"]})

    live = await client.get(f"{path}/status", params={"realtime": "true"})
    stored = (await client.get(f"{path}/status")).json()
    stored_false = (await client.get(f"{path}/status", params={"realtime": "false"})).json()
    record = (await client.get(path)).json()

    assert before["health_status"] == "healthy"
    assert live.status_code == 200, live.text
    assert (live.json()["health_status"], live.json()["phase"]) == ("degraded", "Critical")
    assert live.json()["status"] == "running" and live.json()["endpoint"] == before["endpoint"]
    assert datetime.fromisoformat(live.json()["last_sync_at"]) > datetime.fromisoformat(
        before["last_sync_at"]
    )
    # The conditions come with it: all True before, one not True now (why it is Critical).
    assert before["conditions"] and all(c["status"] == "True" for c in before["conditions"])
    assert {"type", "status", "reason", "message"} <= set(before["conditions"][0])
    assert any(c["status"] != "True" for c in live.json()["conditions"])
    # Absent or false: the stored answer, which the live read did not write.
    assert stored == stored_false == before
    assert (record["health_status"], record["phase"]) == ("healthy", before["phase"])


async def test_realtime_answers_503_naming_the_provider_when_the_cluster_does_not_answer(
    slow_sync: Platform,
) -> None:
    _, client, served = slow_sync
    path = await _path(client)
    served.simulator.config.update({"hang_rate": 1.0, "fault_targets": ["get postgreses"]})

    live = await client.get(f"{path}/status", params={"realtime": "true"})
    stored = await client.get(f"{path}/status")

    assert live.status_code == 503, live.text
    error = live.json()["error"]
    assert error["code"] == "cluster_unavailable"
    assert error["details"]["provider"] == "local" and "provider local" in error["message"]
    assert "0.5 s" in error["message"]
    assert stored.status_code == 200 and stored.json()["health_status"] == "healthy"
