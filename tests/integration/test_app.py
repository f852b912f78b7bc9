"""The whole process in-process: lifespan, health, request ids, bootstrap key, shutdown."""

from __future__ import annotations

import gc
import stat
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from fastapi import FastAPI

from app.broker.embedded import EmbeddedRedis
from app.broker.keys import RedisKeys
from app.config.settings import Settings
from app.domain.api_keys import Role, parse_token
from app.main import Runtime, create_app
from tests.support import eventually


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


def with_redis(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"redis_url": url})


async def test_a_started_process_is_healthy_and_one_instance_leads(
    settings: Settings, redis_url: str, redis_client: aioredis.Redis
) -> None:
    async with serving(with_redis(settings, redis_url)) as (app, client):
        runtime: Runtime = app.state.runtime
        await eventually(lambda: runtime.elector.is_leader, timeout=5)
        response = await client.get("/health")
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
        await eventually(lambda: runtime.reconciler.passes >= 1, timeout=5)

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "healthy"
    assert body["components"]["api"] == "running"
    assert body["components"]["workers"] == "running"
    assert body["components"]["store"] == "up" and body["components"]["redis"] == "up"
    assert body["workers"] == {"configured": 3, "live": 3}
    assert body["leader"]["instance_id"] == "test-instance"
    assert body["leader"]["is_leader"] is True and body["leader"]["epoch"] >= 1
    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    assert (ready.status_code, ready.json()["status"]) == (200, "ready")


async def test_health_is_degraded_with_503_while_redis_is_down_and_recovers(
    settings: Settings, tmp_path: Path
) -> None:
    server = EmbeddedRedis(tmp_path / "own-redis")
    url = await server.start()
    try:
        async with serving(with_redis(settings, url)) as (_app, client):
            assert (await client.get("/health")).status_code == 200
            await server.stop()

            down = await client.get("/health")
            not_ready = await client.get("/health/ready")

            await server.start()

            async def healthy() -> bool:
                return (await client.get("/health")).status_code == 200

            await eventually(healthy, timeout=20, interval=0.2)
    finally:
        await server.stop()

    assert down.status_code == 503
    assert down.json()["status"] == "degraded"
    assert down.json()["components"]["redis"] == "down"
    assert down.json()["components"]["store"] == "up"
    assert "redis" in down.json()["errors"]
    assert not_ready.status_code == 503
    assert not_ready.json() == {"status": "not_ready", "checks": {"store": "up", "redis": "down"}}


async def test_every_response_carries_a_request_id_and_errors_have_one_shape(
    settings: Settings, redis_url: str, redis_client: aioredis.Redis
) -> None:
    async with serving(with_redis(settings, redis_url)) as (_app, client):
        mine = await client.get("/no/such/path", headers={"X-Request-ID": "trace-42"})
        made = await client.get("/health/live")
        hostile = await client.get("/health/live", headers={"X-Request-ID": "a b\tc" * 50})
        wrong_method = await client.delete("/health")

    assert mine.status_code == 404 and mine.headers["x-request-id"] == "trace-42"
    assert mine.json() == {"error": {"code": "not_found", "message": "Not Found", "details": {}}}
    assert len(made.headers["x-request-id"]) == 32
    assert hostile.headers["x-request-id"] != "a b\tc" * 50
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


async def test_the_start_up_heap_is_frozen_once_the_app_is_ready_and_thawed_at_stop(
    settings: Settings, redis_url: str, redis_client: aioredis.Redis
) -> None:
    async with serving(with_redis(settings, redis_url)) as (_app, client):
        frozen = gc.get_freeze_count()
        assert (await client.get("/health/live")).status_code == 200

    # Modules, classes and routes: tens of thousands of objects the collector skips.
    assert frozen > 10_000
    assert gc.get_freeze_count() == 0


async def test_the_first_start_writes_one_admin_key_readable_only_by_its_owner(
    settings: Settings, redis_url: str, redis_client: aioredis.Redis
) -> None:
    key_file = settings.data_dir / "admin-api-key"
    async with serving(with_redis(settings, redis_url)) as (app, _client):
        runtime: Runtime = app.state.runtime
        secret = key_file.read_text().strip()
        token = parse_token(secret)
        assert token is not None
        stored = await runtime.store.api_keys.get(token.key_id)
    async with serving(with_redis(settings, redis_url)) as (app, _client):
        count = await app.state.runtime.store.api_keys.count()

    assert stored is not None and stored.role is Role.ADMIN and stored.verify(token.secret)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == secret  # not rewritten on the second start
    assert count == 1


async def test_shutdown_releases_the_lease_and_ends_within_ten_seconds(
    settings: Settings, redis_url: str, redis_client: aioredis.Redis
) -> None:
    app = create_app(with_redis(settings, redis_url))
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        await eventually(lambda: runtime.elector.is_leader, timeout=5)
        started_stopping = time.monotonic()
    took = time.monotonic() - started_stopping

    assert took < 10
    assert await redis_client.get(RedisKeys(settings.redis_key_prefix).leader) is None
    assert runtime.supervisor.count("operation_workers") == 0


async def test_a_stop_waits_for_idle_workers_no_longer_than_their_read_block(
    settings: Settings, redis_url: str
) -> None:
    """An idle worker sits in a blocking Redis read; a stop waits for it to return, so the
    read's length (`OPERATION_READ_BLOCK`, 1 s by default) bounds how long a stop takes."""
    quick = with_redis(settings, redis_url).model_copy(
        update={"operation_read_block": 0.05, "num_operation_workers": 8}
    )
    app = create_app(quick)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        await eventually(
            lambda: runtime.elector.is_leader and runtime.reconciler.passes >= 1, timeout=5
        )
        started_stopping = time.monotonic()
    took = time.monotonic() - started_stopping

    # Eight workers in reads of a second would keep it past 0.6 s nearly always.
    assert took < 0.6
    assert runtime.supervisor.count("operation_workers") == 0
