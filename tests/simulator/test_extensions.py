"""The extension points the operator model uses: admission hooks, the in-process client,
its watches, controllers, knobs, the time scale."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from simulator import errors
from simulator.config import Knob
from simulator.extensions import AdmissionRequest, ControllerContext, Simulator, run_simulator
from simulator.server import Served
from tests.simulator.kube import MERGE, create, mongodb, mongodbs, watching
from tests.support import eventually


class Recorder:
    """Records requests, adds a label and a finalizer on create, refuses what it is told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None, str, str]] = []
        self.refuse: errors.ApiError | None = None

    async def admit(self, request: AdmissionRequest) -> None:
        self.seen.append((request.operation, request.subresource, request.name, request.user))
        if self.refuse is not None:
            raise self.refuse
        if request.operation == "CREATE" and request.object is not None:
            md = request.object["metadata"]
            md.setdefault("labels", {})["admitted"] = "yes"
            md["finalizers"] = ["kubedb.com"]
            md["uid"] = "forged"  # server-owned: settled again after the hook


@pytest.fixture
async def hooked() -> AsyncIterator[tuple[Served, httpx.AsyncClient, Recorder]]:
    recorder = Recorder()

    def plugin(sim: Simulator) -> None:
        sim.add_admission_hook(recorder, group="kubedb.com", kind="MongoDB")

    async with (
        run_simulator(plugins=[plugin]) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=5) as http,
    ):
        yield served, http, recorder


async def test_an_admission_hook_mutates_new_objects_but_not_server_fields(
    hooked: tuple[Served, httpx.AsyncClient, Recorder],
) -> None:
    _, http, _ = hooked

    created = await create(http, mongodb("mg1"))

    assert created["metadata"]["labels"] == {"admitted": "yes"}
    assert created["metadata"]["finalizers"] == ["kubedb.com"]
    assert created["metadata"]["uid"] != "forged"


async def test_admission_runs_on_every_write_path_with_operation_and_subresource(
    hooked: tuple[Served, httpx.AsyncClient, Recorder],
) -> None:
    served, http, recorder = hooked
    created = await create(http, mongodb("mg1"))
    path = f"{mongodbs()}/mg1"

    await http.put(path, json=dict(created, spec={"version": "8.0.17", "replicas": 2}))
    await http.patch(path, headers=MERGE, json={"spec": {"replicas": 3}})
    await http.patch(path + "/status", headers=MERGE, json={"status": {"phase": "Ready"}})
    await http.patch(
        path,
        headers={"Content-Type": "application/apply-patch+yaml"},
        params={"fieldManager": "t"},
        json=mongodb("mg1", replicas=4),
    )
    await http.delete(path)
    await served.client(user="tester").patch("mongodbs", "mg1", {"spec": {"replicas": 5}})
    await served.client().patch("mongodbs", "mg1", {"spec": {"replicas": 6}}, admission=False)

    assert recorder.seen == [
        ("CREATE", None, "mg1", "kubernetes-admin"),
        ("UPDATE", None, "mg1", "kubernetes-admin"),
        ("UPDATE", None, "mg1", "kubernetes-admin"),
        ("UPDATE", "status", "mg1", "kubernetes-admin"),
        ("UPDATE", None, "mg1", "kubernetes-admin"),
        ("DELETE", None, "mg1", "kubernetes-admin"),
        ("UPDATE", None, "mg1", "tester"),
    ]


async def test_a_hook_refusal_becomes_the_status_response(
    hooked: tuple[Served, httpx.AsyncClient, Recorder],
) -> None:
    _, http, recorder = hooked

    recorder.refuse = errors.webhook_denied("mongodb.validators.kubedb.com", "no standalone")
    forbidden = await http.post(mongodbs(), json=mongodb("mg1"))
    recorder.refuse = errors.Invalid(
        'mongodbs "mg1" is invalid: spec.replicas: Invalid value: 3',
        causes=[errors.Cause("spec.replicas", "Invalid value: 3")],
    )
    invalid = await http.post(mongodbs(), json=mongodb("mg1"))
    recorder.refuse = None
    missing = await http.get(f"{mongodbs()}/mg1")

    assert forbidden.status_code == 403
    assert forbidden.json()["message"] == (
        'admission webhook "mongodb.validators.kubedb.com" denied the request: no standalone'
    )
    assert forbidden.json()["details"] == {"name": "mg1", "group": "kubedb.com", "kind": "mongodbs"}
    assert invalid.status_code == 422
    assert invalid.json()["details"] == {
        "name": "mg1",
        "group": "kubedb.com",
        "kind": "MongoDB",
        "causes": [
            {"reason": "FieldValueInvalid", "message": "Invalid value: 3", "field": "spec.replicas"}
        ],
    }
    assert missing.status_code == 404


async def test_a_broken_hook_is_a_500_and_stores_nothing(
    hooked: tuple[Served, httpx.AsyncClient, Recorder],
) -> None:
    served, http, _ = hooked

    class Broken:
        async def admit(self, request: AdmissionRequest) -> None:
            raise RuntimeError("boom")

    served.simulator.add_admission_hook(Broken())
    response = await http.post(mongodbs(), json=mongodb("mg1"))

    assert (response.status_code, response.json()["reason"]) == (500, "InternalError")
    assert (await http.get(f"{mongodbs()}/mg1")).status_code == 404


async def test_in_process_writes_bump_versions_and_reach_http_watchers(
    sim: Served,
    http: httpx.AsyncClient,
) -> None:
    client = sim.client()
    rv = (await http.get(mongodbs())).json()["metadata"]["resourceVersion"]

    async with watching(http, mongodbs(), resourceVersion=rv) as stream:
        created = await client.create(mongodb("mg1"))
        scaled = await client.patch("mg", "mg1", {"spec": {"replicas": 3}})
        created["spec"]["replicas"] = 9  # results are copies: the store is untouched
        with_status = await client.patch_status("MongoDB", "mg1", {"status": {"phase": "Ready"}})
        with pytest.raises(errors.Conflict):
            await client.update(created)
        events = [await stream.next() for _ in range(3)]

    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "MODIFIED"]
    assert [e["object"]["metadata"]["resourceVersion"] for e in events] == [
        o["metadata"]["resourceVersion"] for o in (created, scaled, with_status)
    ]
    assert (scaled["metadata"]["generation"], with_status["metadata"]["generation"]) == (2, 2)
    assert (await client.get("mongodbs.kubedb.com", "mg1"))["spec"]["replicas"] == 3


async def test_the_in_process_client_covers_get_list_update_and_delete(sim: Served) -> None:
    client = sim.client()
    await client.create(mongodb("a", labels={"x": "1"}))
    await client.create(mongodb("b", finalizers=["f"]))

    fetched = await client.get("mongodbs", "a")
    fetched["spec"]["replicas"] = 2
    updated = await client.update(fetched)
    fetched_b = await client.get("mongodbs", "b")
    fetched_b["status"] = {"phase": "Ready"}
    status = await client.update_status(fetched_b)
    listed = await client.list("mongodbs", label_selector="x=1")
    terminating = await client.delete("mongodbs", "b")
    gone = await client.delete("mongodbs", "a")

    assert updated["spec"]["replicas"] == 2 and status["status"] == {"phase": "Ready"}
    assert [o["metadata"]["name"] for o in listed] == ["a"]
    assert terminating is not None and terminating["metadata"]["deletionTimestamp"]
    assert gone is None and await client.find("mongodbs", "a") is None
    assert await client.delete("mongodbs", "a", missing_ok=True) is None
    with pytest.raises(errors.NotFound):
        await client.get("mongodbs", "a")


async def test_an_in_process_watch_follows_from_a_resource_version(sim: Served) -> None:
    client = sim.client()
    await client.create(mongodb("before"))
    _, rv = await client.list_with_version("mongodbs")

    async with client.watch("mongodbs", resource_version=rv) as watch:
        await client.create(mongodb("after"))
        await client.delete("mongodbs", "after")
        first, second = await watch.next(timeout=5), await watch.next(timeout=5)
        nothing = await watch.next(timeout=0.05)

    assert first is not None and second is not None and nothing is None
    assert (first.type, first.object["metadata"]["name"]) == ("ADDED", "after")
    assert second.type == "DELETED"


async def test_controllers_start_with_the_server_react_to_events_and_stop_with_it() -> None:
    stopped = asyncio.Event()

    async def labeller(ctx: ControllerContext) -> None:
        try:
            async with ctx.client.watch("mongodbs") as watch:
                async for event in watch:
                    labels = event.object["metadata"].get("labels", {})
                    if event.type == "ADDED" and "seen" not in labels:
                        await ctx.client.patch(
                            "mongodbs",
                            event.object["metadata"]["name"],
                            {"metadata": {"labels": {"seen": ctx.name}}},
                        )
        finally:
            stopped.set()

    def plugin(sim: Simulator) -> None:
        sim.add_controller("labeller", labeller)

    async with run_simulator(plugins=[plugin]) as served:
        client = served.client()
        await client.create(mongodb("mg1"))

        async def labelled() -> Any:
            return (await client.get("mongodbs", "mg1"))["metadata"].get("labels")

        labels = await eventually(labelled, timeout=5)

    assert labels == {"seen": "labeller"}
    assert stopped.is_set()


async def test_a_failing_controller_is_restarted() -> None:
    runs: list[int] = []

    async def flaky(ctx: ControllerContext) -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("flaky")
        await ctx.stopping.wait()

    async with run_simulator(plugins=[lambda sim: sim.add_controller("flaky", flaky)]):
        await eventually(lambda: len(runs) >= 3, timeout=5)


async def test_plugins_add_knobs_and_controllers_read_the_time_scale_and_seeded_random() -> None:
    seen: dict[str, Any] = {}

    async def sleeper(ctx: ControllerContext) -> None:
        seen["scale"] = ctx.time_scale
        seen["random"] = ctx.random.random()
        seen["knob"] = ctx.config.get_float("ops_seconds")
        loop = asyncio.get_running_loop()
        started = loop.time()
        seen["stopping"] = await ctx.sleep(3600)  # time scale 0: no real wait
        seen["elapsed"] = loop.time() - started
        await ctx.stopping.wait()

    def plugin(sim: Simulator) -> None:
        sim.config.register(Knob("ops_seconds", 2.0, "how long an OpsRequest runs", minimum=0))
        sim.config.update({"time_scale": 0.0})
        sim.add_controller("sleeper", sleeper)

    async with run_simulator(seed=1, plugins=[plugin]) as served:
        await eventually(lambda: "elapsed" in seen, timeout=5)
        async with httpx.AsyncClient(base_url=served.url, headers=served.admin_headers) as http:
            config = (await http.get("/_sim/config")).json()

    assert seen["scale"] == 0.0 and seen["knob"] == 2.0 and seen["stopping"] is False
    assert seen["elapsed"] < 1.0
    assert seen["random"] == Simulator(seed=1).random.random()
    assert config["ops_seconds"] == 2.0 and config["time_scale"] == 0.0
