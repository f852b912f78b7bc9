"""Fault knobs and statistics, set through the admin API at run time."""

from __future__ import annotations

import time

import httpx
import pytest

from simulator.server import Served
from tests.simulator.kube import create, mongodb, mongodbs, watching
from tests.support import eventually


async def configure(http: httpx.AsyncClient, **values: object) -> None:
    response = await http.put("/_sim/config", json=values)
    assert response.status_code == 200, response.text


async def test_config_lists_knobs_and_refuses_bad_values_with_422(
    http: httpx.AsyncClient,
) -> None:
    schema = (await http.get("/_sim/config/schema")).json()
    bad = await http.put("/_sim/config", json={"error_rate": 2, "nope": 1})
    await configure(http, latency_ms=5)
    after = (await http.get("/_sim/config")).json()
    reset = (await http.post("/_sim/config/reset")).json()

    assert schema["error_rate"]["type"] == "float" and schema["error_rate"]["maximum"] == 1
    assert (bad.status_code, bad.json()["reason"]) == (422, "Invalid")
    assert {c["field"] for c in bad.json()["details"]["causes"]} == {"error_rate", "nope"}
    assert after["latency_ms"] == 5.0 and after["error_rate"] == 0.0
    assert reset["latency_ms"] == 0.0


async def test_latency_delays_answers_but_not_the_admin_api(http: httpx.AsyncClient) -> None:
    await configure(http, latency_ms=300)

    started = time.monotonic()
    await http.get("/api/v1/namespaces/default")
    delayed = time.monotonic() - started
    started = time.monotonic()
    await http.get("/_sim/stats")
    admin = time.monotonic() - started

    assert delayed >= 0.3
    assert admin < 0.3


async def test_error_rate_one_answers_500_internal_error(http: httpx.AsyncClient) -> None:
    await configure(http, error_rate=1.0)

    response = await http.get(mongodbs())

    assert response.status_code == 500
    assert response.json()["reason"] == "InternalError" and response.json()["code"] == 500


async def test_throttle_rate_one_answers_429_with_retry_after(http: httpx.AsyncClient) -> None:
    await configure(http, throttle_rate=1.0, throttle_retry_after_seconds=3)

    response = await http.get(mongodbs())

    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert response.json()["reason"] == "TooManyRequests"
    assert response.json()["details"] == {"retryAfterSeconds": 3}


async def test_fault_targets_limit_faults_to_matching_requests(http: httpx.AsyncClient) -> None:
    await configure(http, error_rate=1.0, fault_targets=["create mongodbs"])

    listed = await http.get(mongodbs())
    created = await http.post(mongodbs(), json=mongodb("mg1"))

    assert listed.status_code == 200 and created.status_code == 500


async def test_hang_rate_one_never_answers_until_the_client_gives_up(
    sim: Served,
    http: httpx.AsyncClient,
) -> None:
    await configure(http, hang_rate=1.0)

    with pytest.raises(httpx.ReadTimeout):
        await http.get(mongodbs(), timeout=0.3)

    stats = (await http.get("/_sim/stats")).json()
    assert stats["faults"] == {"hang": 1}


async def test_a_watch_is_dropped_after_n_events(http: httpx.AsyncClient) -> None:
    for i in range(5):
        await create(http, mongodb(f"db-{i}"))
    await configure(http, watch_drop_after_events=2, watch_drop_mode="close")

    async with watching(http, mongodbs()) as stream:
        events = await stream.rest()

    await configure(http, watch_drop_mode="abort")
    with pytest.raises(httpx.RemoteProtocolError):
        async with watching(http, mongodbs()) as stream:
            await stream.rest()
    assert len(events) == 2
    assert (await http.get("/_sim/stats")).json()["faults"] == {"watch_drop": 2}


async def test_a_watch_drop_probability_of_one_drops_at_the_first_event(
    http: httpx.AsyncClient,
) -> None:
    await create(http, mongodb("db"))
    await configure(http, watch_drop_probability=1.0, watch_drop_mode="close")

    async with watching(http, mongodbs()) as stream:
        events = await stream.rest()

    assert events == []


async def test_stats_count_requests_by_verb_and_resource_and_reset(
    sim: Served,
    http: httpx.AsyncClient,
) -> None:
    await create(http, mongodb("mg1"))
    await http.get(mongodbs())
    await http.get(mongodbs(None))
    await http.get(f"{mongodbs()}/mg1")
    await http.patch(
        f"{mongodbs()}/mg1/status",
        json={"status": {}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    await http.delete(f"{mongodbs()}/mg1")
    await http.get("/version")
    async with watching(http, mongodbs()):
        pass

    await eventually(lambda: sim.simulator.stats.requests["watch mongodbs"] == 1, timeout=5)
    stats = (await http.get("/_sim/stats")).json()
    reset = (await http.post("/_sim/stats/reset")).json()

    assert stats["requests"] == {
        "create mongodbs": 1,
        "list mongodbs": 2,
        "get mongodbs": 1,
        "patch mongodbs/status": 1,
        "delete mongodbs": 1,
        "get /version": 1,
        "watch mongodbs": 1,
    }
    assert stats["total"] == 8
    assert reset == {"requests": {}, "faults": {}, "total": 0}
