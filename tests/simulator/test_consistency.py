"""Consistency as a real API server on etcd gives it: compaction on a schedule, list pages
that are one snapshot, continue tokens that expire, resourceVersionMatch, and 504 for a
resourceVersion from the future."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from simulator.server import Served, Simulator, run_simulator
from tests.support import eventually

CMS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def fast() -> AsyncIterator[tuple[Served, httpx.AsyncClient]]:
    """Compaction every 300 simulated seconds at 0.002 real seconds each: 0.6 s."""
    sim = Simulator(seed=7)
    sim.config.update({"time_scale": 0.002})
    async with (
        run_simulator(simulator=sim) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=10) as http,
    ):
        yield served, http


async def _create(http: httpx.AsyncClient, *names: str) -> str:
    rv = ""
    for name in names:
        response = await http.post(CMS, json={"metadata": {"name": name}, "data": {"v": "1"}})
        assert response.status_code == 201, response.text
        rv = response.json()["metadata"]["resourceVersion"]
    return rv


def _names(body: dict[str, object]) -> list[str]:
    return [i["metadata"]["name"] for i in body["items"]]  # type: ignore[attr-defined]


async def test_list_pages_are_one_snapshot_as_of_the_first_page(
    http: httpx.AsyncClient,
) -> None:
    await _create(http, "a", "b", "c", "d", "e")
    first = (await http.get(CMS, params={"limit": 2})).json()
    await http.delete(f"{CMS}/c")
    await http.patch(
        f"{CMS}/d",
        json={"data": {"v": "2"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    await _create(http, "cc")
    token = first["metadata"]["continue"]
    second = (await http.get(CMS, params={"limit": 2, "continue": token})).json()
    third = (
        await http.get(CMS, params={"limit": 2, "continue": second["metadata"]["continue"]})
    ).json()
    fresh = (await http.get(CMS)).json()

    assert _names(first) == ["a", "b"]
    assert _names(second) == ["c", "d"] and second["items"][1]["data"] == {"v": "1"}
    assert _names(third) == ["e"] and "continue" not in third["metadata"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert _names(fresh) == ["a", "b", "cc", "d", "e"]


async def test_compaction_runs_on_a_schedule_and_expires_old_continue_tokens_and_watches(
    fast: tuple[Served, httpx.AsyncClient],
) -> None:
    served, http = fast
    await _create(http, "a", "b", "c")
    first = (await http.get(CMS, params={"limit": 1})).json()
    rv = int(first["metadata"]["resourceVersion"])
    await _create(http, "d")  # a write after the list, so compaction passes its version

    await eventually(lambda: served.simulator.hub.horizon >= rv + 1, timeout=10)
    expired = await http.get(CMS, params={"limit": 1, "continue": first["metadata"]["continue"]})
    body = expired.json()
    rest = (await http.get(CMS, params={"continue": body["metadata"]["continue"]})).json()
    watch = await http.get(CMS, params={"watch": "1", "resourceVersion": str(rv)})

    assert expired.status_code == 410 and body["reason"] == "Expired"
    assert body["message"].startswith("The provided continue parameter is too old")
    assert _names(rest) == ["b", "c", "d"]  # the inconsistent remainder, at the latest
    assert '"code":410' in watch.text.replace(" ", "")


async def test_an_exact_list_reads_an_older_version_until_it_is_compacted(
    fast: tuple[Served, httpx.AsyncClient],
) -> None:
    served, http = fast
    rv = await _create(http, "a", "b")
    await http.delete(f"{CMS}/a")
    params = {"resourceVersion": rv, "resourceVersionMatch": "Exact"}
    exact = (await http.get(CMS, params=params)).json()
    newer = await http.get(CMS, params={**params, "resourceVersionMatch": "NotOlderThan"})

    await eventually(lambda: served.simulator.hub.horizon > int(rv), timeout=10)
    gone = await http.get(CMS, params=params)

    assert _names(exact) == ["a", "b"] and exact["metadata"]["resourceVersion"] == rv
    assert _names(newer.json()) == ["b"]
    assert gone.status_code == 410 and gone.json()["message"].startswith(
        f"too old resource version: {rv} ("
    )


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"resourceVersionMatch": "Exact"},
            422,
            'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        ),
        (
            {"resourceVersion": "0", "resourceVersionMatch": "Exact"},
            422,
            'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
            'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
        ),
        (
            {"resourceVersion": "1", "resourceVersionMatch": "Newest"},
            422,
            'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: '
            '"Newest": supported values: "Exact", "NotOlderThan", ""',
        ),
        (
            {"resourceVersion": "1", "continue": "abc"},
            400,
            "specifying resource version is not allowed when using continue",
        ),
    ],
)
async def test_misused_list_options_answer_like_the_real_validation(
    http: httpx.AsyncClient, params: dict[str, str], code: int, message: str
) -> None:
    response = await http.get(CMS, params=params)

    assert response.status_code == code
    assert response.json()["message"] == message


async def test_a_resource_version_from_the_future_answers_504_after_a_short_wait(
    http: httpx.AsyncClient,
) -> None:
    current = int((await http.get(CMS)).json()["metadata"]["resourceVersion"])
    began = time.monotonic()
    response = await http.get(CMS, params={"resourceVersion": str(current + 100)})
    waited = time.monotonic() - began

    body = response.json()
    assert response.status_code == 504 and body["reason"] == "Timeout"
    assert body["message"] == (
        f"Timeout: Too large resource version: {current + 100}, current: {current}"
    )
    assert body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
    assert 2.5 < waited < 6
