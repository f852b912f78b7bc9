"""`/metrics` after real work: databases created, scaled and deleted through the API against
the simulator, a drift made in the cluster, the leader's and the status sync's passes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.config.settings import Settings
from app.domain import namespaces
from tests.e2e.platform import BASE, Platform, create, finished, running
from tests.support import eventually

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def fast_platform(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    # A drift-repair pass every half second, so that one runs while the test waits.
    async with running(
        settings,
        embedded_redis_url,
        tmp_path,
        reconcile_interval=0.5,
        leader_lease_ttl=2,
        leader_retry_interval=0.2,
    ) as started:
        yield started


async def scrape(client: httpx.AsyncClient) -> tuple[httpx.Response, Samples]:
    response = await client.get("/metrics", headers={"Authorization": ""})
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_count_requests_operations_passes_and_cluster_calls_of_real_work(
    fast_platform: Platform,
) -> None:
    _, client, served = fast_platform
    kept = await create(client, name="kept")
    await finished(client, kept)
    doomed = await create(client, name="doomed", high_availability=True, replicas=3)
    await finished(client, doomed)
    doomed_path = f"{BASE}/{doomed.json()['id']}"
    await finished(client, await client.post(f"{doomed_path}/scale", json={"replicas": 5}))
    await finished(client, await client.delete(doomed_path))
    await client.get(f"{BASE}/{kept.json()['id']}")
    await client.get("/api/v1/no-such-route")
    # A drift the leader finds: the cluster halted behind the record's back.
    await served.client().patch(
        "postgreses",
        "kept",
        {"spec": {"halted": True}},
        namespace=namespaces.namespace_for("acme", "shop"),
    )

    async def settled() -> Samples | None:
        _, samples = await scrape(client)
        synced = value(samples, "dbaas_status_sync_databases_synced_total")
        drift = value(samples, "dbaas_drift_found_total", kind="halted")
        return samples if synced and drift else None

    samples = await eventually(settled, timeout=20, interval=0.1, message="passes recorded")
    response, _ = await scrape(client)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    collection = "/api/v1/domain/{domain}/project/{project}/databases"
    one = collection + "/{database_id}"
    assert (
        value(samples, "dbaas_http_requests_total", route=collection, method="POST", status="202")
        == 2
    )
    assert (
        value(samples, "dbaas_http_requests_total", route=one, method="DELETE", status="202") == 1
    )
    assert (
        value(samples, "dbaas_http_requests_total", route="unmatched", method="GET", status="404")
        == 1
    )
    assert value(samples, "dbaas_http_request_duration_seconds_count", route=one, method="GET") >= 1
    for op_type in ("create", "scale_horizontal", "delete"):
        assert value(samples, "dbaas_operations_started_total", type=op_type) >= 1
    assert (
        value(samples, "dbaas_operations_finished_total", type="create", outcome="succeeded") == 2
    )
    assert (
        value(
            samples, "dbaas_operations_finished_total", type="scale_horizontal", outcome="succeeded"
        )
        == 1
    )
    assert (
        value(samples, "dbaas_operations_finished_total", type="delete", outcome="succeeded") == 1
    )
    assert (
        value(
            samples,
            "dbaas_operation_duration_seconds_count",
            type="scale_horizontal",
            outcome="succeeded",
        )
        == 1
    )
    assert value(samples, "dbaas_leader") == 1
    assert value(samples, "dbaas_leadership_changes_total", change="acquired") >= 1
    assert value(samples, "dbaas_reconcile_pass_duration_seconds_count", **{"pass": "drift"}) >= 1
    assert value(samples, "dbaas_reconcile_pass_duration_seconds_count", **{"pass": "stalled"}) >= 1
    assert value(samples, "dbaas_status_sync_pass_duration_seconds_count") >= 1
    assert value(samples, "dbaas_cluster_calls_total", verb="create", outcome="ok") >= 2
    assert value(samples, "dbaas_cluster_calls_total", verb="list", outcome="ok") >= 1
    assert value(samples, "dbaas_cluster_call_duration_seconds_count", verb="get") >= 1
    # The kept database is counted (whatever its state while the drift is fixed), the
    # deleted one no longer; the queue gauges are there.
    counted = sum(
        v
        for (name, labels), v in samples.items()
        if name == "dbaas_databases" and ("engine", "postgres") in labels
    )
    assert counted == 1
    assert not any(
        name == "dbaas_databases" and ("status", "deleted") in labels for name, labels in samples
    )
    for gauge in ("dbaas_queue_ready", "dbaas_queue_pending", "dbaas_queue_delayed"):
        assert (gauge, frozenset()) in samples
    assert ("dbaas_queue_reclaimed_total", frozenset()) in samples


async def test_metric_labels_never_carry_ids_or_names(fast_platform: Platform) -> None:
    _, client, _ = fast_platform
    accepted = await create(client, name="secretive-name")
    operation = await finished(client, accepted)
    await client.get(f"{BASE}/{accepted.json()['id']}")
    await client.get(f"/api/v1/operations/{operation['id']}")
    for method in ("FROB", "XYZZY"):  # any token is a method to HTTP
        await client.request(method, "/health")

    _, samples = await scrape(client)

    values = {v for _, labels in samples for _, v in labels}
    assert values, "no labelled series at all"
    assert (
        value(samples, "dbaas_http_requests_total", route="/health", method="OTHER", status="405")
        == 2
    )
    forbidden = re.compile(r"db-|op-|secretive-name|acme|shop")
    assert not [v for v in values if forbidden.search(v)]


async def test_metrics_answer_without_a_key_and_other_routes_still_need_one(
    fast_platform: Platform,
) -> None:
    _, client, _ = fast_platform

    metrics, _ = await scrape(client)
    listing = await client.get(BASE, headers={"Authorization": ""})

    assert metrics.status_code == 200 and "dbaas_http_requests_total" in metrics.text
    assert listing.status_code == 401
