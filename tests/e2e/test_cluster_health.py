"""`/health` reports every cluster databases live on, not only the control plane's own."""

from __future__ import annotations

from pathlib import Path

from app.config.settings import Settings
from simulator.kubedb import install
from simulator.server import Simulator, run_simulator
from tests.e2e.platform import running
from tests.e2e.test_providers_api import URL, provider_body


async def test_health_says_the_cluster_is_down_when_another_providers_cluster_stops(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> None:
    async with running(settings, embedded_redis_url, tmp_path) as (_, client, _):
        async with run_simulator(simulator=Simulator(plugins=[install])) as second:
            registered = await client.post(URL, json=provider_body(second, name="second"))
            while_up = (await client.get("/health")).json()
        after = (await client.get("/health")).json()

    assert registered.status_code == 201, registered.text
    assert while_up["components"]["cluster"] == "up"
    assert after["components"]["cluster"] == "down"
    assert list(after["provider_errors"]) == ["second"]
    assert "cluster_error" not in after  # the control plane's own cluster still answers
