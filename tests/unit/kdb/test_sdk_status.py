"""The SDK's `databases.status`: the stored answer by default, `realtime=true` on request,
and a cluster that does not answer as `Unavailable` naming the provider."""

from __future__ import annotations

import httpx
import pytest

from kdb.sdk import Client, errors
from kdb.sdk.transport import RetryPolicy

STATUS = {
    "id": "db-1",
    "status": "running",
    "health_status": "degraded",
    "phase": "Critical",
    "ready_replicas": 1,
    "desired_replicas": 3,
    "endpoint": "orders.acme-shop.svc",
    "port": 5432,
    "conditions": [
        {"type": "Ready", "status": "True", "reason": "AllReplicasReady", "message": ""},
        {"type": "ReplicaReady", "status": "False", "reason": "Lagging", "message": "one behind"},
    ],
    "last_sync_at": "2026-12-07T21:40:00Z",
}


def test_status_asks_for_the_stored_state_unless_realtime_is_asked_for() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=STATUS)

    with Client("http://api", "k", http=httpx.MockTransport(answer)) as api:
        shop = api.databases("acme", "shop")
        stored = shop.status("db-1")
        live = shop.status("db-1", realtime=True)

    assert [r.url.path for r in seen] == [
        "/api/v1/domain/acme/project/shop/databases/db-1/status"
    ] * 2
    assert (dict(seen[0].url.params), dict(seen[1].url.params)) == ({}, {"realtime": "true"})
    assert (stored.health_status, live.phase) == ("degraded", "Critical")
    assert [(c.type, c.status, c.reason) for c in live.conditions] == [
        ("Ready", "True", "AllReplicasReady"),
        ("ReplicaReady", "False", "Lagging"),
    ]


def test_a_realtime_status_the_cluster_does_not_answer_is_unavailable_naming_the_provider() -> None:
    body = {
        "error": {
            "code": "cluster_unavailable",
            "message": "the cluster of provider local did not answer within 5 s",
            "details": {"provider": "local"},
        }
    }
    failing = httpx.MockTransport(lambda request: httpx.Response(503, json=body))

    with (
        Client("http://api", "k", http=failing, retry=RetryPolicy(attempts=1)) as api,
        pytest.raises(errors.Unavailable) as caught,
    ):
        api.databases("acme", "shop").status("db-1", realtime=True)

    assert (caught.value.code, caught.value.details) == (
        "cluster_unavailable",
        {"provider": "local"},
    )
