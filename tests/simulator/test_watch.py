"""Watch over HTTP: from a resourceVersion, replay, 410 Expired, timeouts, bookmarks,
selectors, and clean-up when the client goes away."""

from __future__ import annotations

import httpx

from simulator.server import Served, run_simulator
from tests.simulator.kube import MERGE, create, mongodb, mongodbs, watching
from tests.support import eventually


async def test_a_watch_from_a_list_resource_version_streams_only_later_changes(
    http: httpx.AsyncClient,
) -> None:
    await create(http, mongodb("before"))
    rv = (await http.get(mongodbs())).json()["metadata"]["resourceVersion"]

    async with watching(http, mongodbs(), resourceVersion=rv) as stream:
        await create(http, mongodb("after"))
        await http.patch(f"{mongodbs()}/after", headers=MERGE, json={"spec": {"replicas": 2}})
        await http.delete(f"{mongodbs()}/after")
        events = [await stream.next() for _ in range(3)]

    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "after"),
        ("MODIFIED", "after"),
        ("DELETED", "after"),
    ]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(rv)


async def test_a_watch_without_resource_version_replays_current_objects_as_added(
    http: httpx.AsyncClient,
) -> None:
    await create(http, mongodb("a"))
    await create(http, mongodb("b"))

    async with watching(http, mongodbs()) as stream:
        replayed = [await stream.next() for _ in range(2)]
        await create(http, mongodb("c"))
        live = await stream.next()

    assert [(e["type"], e["object"]["metadata"]["name"]) for e in replayed] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
    ]
    assert (live["type"], live["object"]["metadata"]["name"]) == ("ADDED", "c")


async def test_a_too_old_resource_version_is_an_error_event_with_410_expired() -> None:
    async with run_simulator(watch_history=5) as served:
        client = served.client()
        for i in range(10):
            await client.create(mongodb(f"db-{i}"))
        async with (
            httpx.AsyncClient(base_url=served.url, timeout=5) as http,
            watching(http, mongodbs(), resourceVersion="2") as stream,
        ):
            events = await stream.rest()

    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"].startswith("too old resource version: 2")


async def test_timeout_seconds_closes_the_stream(http: httpx.AsyncClient) -> None:
    async with watching(http, mongodbs(), timeoutSeconds=1, resourceVersion="1") as stream:
        events = await stream.rest()

    assert events == []


async def test_bookmarks_carry_the_latest_resource_version(
    sim: Served,
    http: httpx.AsyncClient,
) -> None:
    sim.simulator.config.update({"watch_bookmark_interval_seconds": 0.1})
    await create(http, mongodb("a"))
    rv = (await http.get(mongodbs())).json()["metadata"]["resourceVersion"]

    async with watching(http, mongodbs(), resourceVersion=rv, allowWatchBookmarks="true") as s:
        bookmark = await s.next()
        await create(http, mongodb("b"))
        added = await s.next()
        while (later := await s.next())["type"] != "BOOKMARK":
            pass

    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"] == {
        "kind": "MongoDB",
        "apiVersion": "kubedb.com/v1",
        "metadata": {"resourceVersion": rv},
    }
    assert added["type"] == "ADDED"
    assert (
        later["object"]["metadata"]["resourceVersion"]
        == added["object"]["metadata"]["resourceVersion"]
    )


async def test_send_initial_events_ends_the_replay_with_an_annotated_bookmark(
    http: httpx.AsyncClient,
) -> None:
    await create(http, mongodb("a"))

    async with watching(
        http, mongodbs(), sendInitialEvents="true", allowWatchBookmarks="true"
    ) as stream:
        added, marker = await stream.next(), await stream.next()

    assert added["type"] == "ADDED"
    assert marker["type"] == "BOOKMARK"
    assert marker["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_a_selector_watch_sees_objects_enter_and_leave_the_selection(
    http: httpx.AsyncClient,
) -> None:
    await create(http, mongodb("a"))
    rv = (await http.get(mongodbs())).json()["metadata"]["resourceVersion"]
    path = f"{mongodbs()}/a"

    async with watching(http, mongodbs(), resourceVersion=rv, labelSelector="watched") as stream:
        await http.patch(path, headers=MERGE, json={"metadata": {"labels": {"watched": "y"}}})
        await http.patch(path, headers=MERGE, json={"spec": {"replicas": 2}})
        await http.patch(path, headers=MERGE, json={"metadata": {"labels": None}})
        await create(http, mongodb("other"))
        await create(http, mongodb("tagged", labels={"watched": "y"}))
        events = [await stream.next() for _ in range(4)]

    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "a"),
        ("ADDED", "tagged"),
    ]


async def test_a_field_selector_watch_follows_one_object(http: httpx.AsyncClient) -> None:
    async with watching(http, mongodbs(), fieldSelector="metadata.name=b") as stream:
        await create(http, mongodb("a"))
        await create(http, mongodb("b"))
        event = await stream.next()

    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "b")


async def test_a_client_that_goes_away_leaves_no_subscription_behind(
    sim: Served,
    http: httpx.AsyncClient,
) -> None:
    hub = sim.simulator.hub
    async with watching(http, mongodbs()):
        await eventually(lambda: hub.subscriber_count() == 2, timeout=5)  # + namespaces

    await eventually(lambda: hub.subscriber_count() == 1, timeout=5)


async def test_stopping_the_server_ends_open_watches() -> None:
    async with run_simulator() as served:
        http = httpx.AsyncClient(base_url=served.url, timeout=5)
        stream = await http.send(
            http.build_request("GET", mongodbs(), params={"watch": "true"}), stream=True
        )
    try:
        assert [line async for line in stream.aiter_lines()] == []
    finally:
        await stream.aclose()
        await http.aclose()
