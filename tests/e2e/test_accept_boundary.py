"""Where a request becomes an operation: once the operation is queued the answer is 202,
whatever fails after it, and an idempotent retry replays that answer or starts the work once.

The faults are injected into the real SQLite store: a thin wrapper raises StoreUnavailable
once, at one method, and otherwise passes every call through."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.broker.errors import BrokerUnavailable
from app.config.settings import Settings
from app.services.idempotency import IdempotencyStore
from app.store import errors as store_errors
from tests.e2e.platform import BASE, VERSIONS, finished, running

pytestmark = pytest.mark.timeout(90)


class FailOnceAt:
    """The real repository, except that `method` raises StoreUnavailable the first time it
    is called with an `operation_id` among its fields (the write after the queueing), or
    with `any_call`, the first time it is called."""

    def __init__(self, real: Any, method: str, *, any_call: bool = False) -> None:
        self._real = real
        self._method = method
        self._any_call = any_call
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        if name != self._method:
            return attribute

        async def failing(*args: Any, **kwargs: Any) -> Any:
            fields = next((a for a in args if isinstance(a, Mapping)), {})
            if not self.failed and (self._any_call or "operation_id" in fields):
                self.failed += 1
                raise store_errors.StoreUnavailable("sqlite: disk I/O error (injected)")
            return await attribute(*args, **kwargs)

        return failing


async def _operations_of(client: httpx.AsyncClient, database_id: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{BASE}/{database_id}/operations")
    if answer.status_code == 200:
        return list(answer.json()["operations"])
    return []


async def test_a_create_whose_follow_up_write_fails_is_accepted_and_its_retry_replays_it(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> None:
    async with running(settings, embedded_redis_url, tmp_path) as (runtime, client, _):
        # The record and its operation are one write; its event is the write after it.
        fault = FailOnceAt(runtime.store.events, "append", any_call=True)
        runtime.store.events = fault  # type: ignore[misc]
        body = {"name": "orders", "engine": "postgres", "version": VERSIONS["postgres"]}
        headers = {"Idempotency-Key": "boundary-create-orders-1"}

        first = await client.post(BASE, json=body, headers=headers)
        again = await client.post(BASE, json=body, headers=headers)

        assert fault.failed == 1
        assert first.status_code == 202, first.text
        assert again.status_code == 202, again.text
        assert again.json()["operation_id"] == first.json()["operation_id"]
        operation = await finished(client, first)
        assert operation["status"] == "succeeded", operation
        listed = (await client.get(BASE)).json()["databases"]
        assert [d["name"] for d in listed] == ["orders"]


async def test_a_scale_whose_follow_up_write_fails_is_accepted_and_its_retry_replays_it(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> None:
    async with running(settings, embedded_redis_url, tmp_path) as (runtime, client, _):
        created = await client.post(
            BASE,
            json={
                "name": "orders",
                "engine": "postgres",
                "version": VERSIONS["postgres"],
                "high_availability": True,
                "replicas": 2,
            },
        )
        assert (await finished(client, created))["status"] == "succeeded"
        database_id = created.json()["id"]
        fault = FailOnceAt(runtime.store.databases, "update_fields")
        runtime.store.databases = fault  # type: ignore[misc]
        headers = {"Idempotency-Key": "boundary-scale-orders-1"}

        first = await client.post(
            f"{BASE}/{database_id}/scale", json={"replicas": 3}, headers=headers
        )
        again = await client.post(
            f"{BASE}/{database_id}/scale", json={"replicas": 3}, headers=headers
        )

        assert fault.failed == 1
        assert first.status_code == 202, first.text
        assert again.status_code == 202, again.text
        assert again.json()["operation_id"] == first.json()["operation_id"]
        assert (await finished(client, first))["status"] == "succeeded"
        scales = [
            o for o in await _operations_of(client, database_id) if o["type"] == "scale_horizontal"
        ]
        assert len(scales) == 1


async def test_a_create_whose_answer_cannot_be_kept_for_replays_is_still_accepted(
    settings: Settings,
    embedded_redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real_finish = IdempotencyStore.finish
    failed: list[str] = []

    async def failing_finish(self: IdempotencyStore, *args: Any, **kwargs: Any) -> None:
        if not failed:
            failed.append("finish")
            raise BrokerUnavailable("redis: Connection reset by peer (injected)")
        await real_finish(self, *args, **kwargs)

    async with running(settings, embedded_redis_url, tmp_path) as (_runtime, client, _):
        monkeypatch.setattr(IdempotencyStore, "finish", failing_finish)
        body = {"name": "orders", "engine": "postgres", "version": VERSIONS["postgres"]}
        headers = {"Idempotency-Key": "boundary-create-orders-2"}

        first = await client.post(BASE, json=body, headers=headers)

        assert failed == ["finish"]
        assert first.status_code == 202, first.text
        assert (await finished(client, first))["status"] == "succeeded"
        assert "idempotency_answer_not_kept" in caplog.text
        assert "idempotency.finish" in caplog.text
