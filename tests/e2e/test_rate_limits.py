"""Rate limits per API key, in Redis: two app instances in-process share one embedded Redis
and so one bucket per key; health and metrics are never limited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from app.config.settings import Settings
from app.domain.api_keys import Role, new_token
from app.main import Runtime, create_app
from app.services.api_keys import issue_key

ADMIN = new_token()


@pytest.fixture
async def two_instances(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, list[httpx.AsyncClient]]]:
    # A minute's allowance of 60, bursts of 5; a Redis database of its own, emptied first.
    async with AsyncExitStack() as stack:
        clients: list[httpx.AsyncClient] = []
        runtimes: list[Runtime] = []
        for name in ("a", "b"):
            app = create_app(
                settings.model_copy(
                    update={
                        "redis_url": f"{embedded_redis_url}?db=7",
                        "instance_id": name,
                        "admin_api_key": SecretStr(ADMIN.text),
                        "data_dir": tmp_path / "shared",
                        "rate_limit_per_minute": 60,
                        "rate_limit_burst": 5,
                    }
                )
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            runtimes.append(app.state.runtime)
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=app),
                        base_url="http://test",
                        timeout=10,
                    )
                )
            )
        runtime = runtimes[0]
        async for bucket in runtime.redis.scan_iter(f"{settings.redis_key_prefix}:ratelimit:*"):
            await runtime.redis.delete(bucket)
        yield runtime, clients


async def test_a_key_over_its_limit_gets_429_with_retry_after_on_every_instance(
    two_instances: tuple[Runtime, list[httpx.AsyncClient]],
) -> None:
    runtime, (a, b) = two_instances
    member = await issue_key(runtime.store, name="m", role=Role.MEMBER, domain="acme")
    other = await issue_key(runtime.store, name="o", role=Role.MEMBER, domain="acme")
    path = "/api/v1/domain/acme/project/shop/databases"

    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    answers = [await (a if i % 2 else b).get(path, headers=auth(member.token)) for i in range(8)]
    other_key = await a.get(path, headers=auth(other.token))
    health = [await a.get("/health/live") for _ in range(20)]
    metrics = await b.get("/metrics")

    codes = [r.status_code for r in answers]
    assert codes == [200] * 5 + [429] * 3, codes
    refused = answers[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
    assert other_key.status_code == 200
    assert all(r.status_code == 200 for r in health) and metrics.status_code == 200


async def test_a_request_whose_key_two_dependencies_check_takes_one_token(
    two_instances: tuple[Runtime, list[httpx.AsyncClient]],
) -> None:
    # A create passes the tenant gate and the idempotency guard, both of which want the
    # caller: the key is checked, and a token taken, once (a burst of 5 is 5 requests).
    runtime, (a, _) = two_instances
    member = await issue_key(runtime.store, name="m", role=Role.MEMBER, domain="acme")
    path = "/api/v1/domain/acme/project/shop/databases"
    headers = {"Authorization": f"Bearer {member.token}", "Idempotency-Key": "k"}

    codes = [(await a.post(path, headers=headers, json={})).status_code for _ in range(6)]

    assert codes == [422] * 5 + [429], codes
