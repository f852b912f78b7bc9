"""`--state`: a simulator restarted on its state file has the cluster it had."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

import httpx

from simulator.kubedb import install
from simulator.server import Simulator, run_simulator
from tests.simulator.test_kubedb_operator import DB, OPS, create, database, get, ops, wait_phase

ROOT = Path(__file__).resolve().parents[2]
FAST = {"time_scale": 0.01, "provisioning_step_seconds": 1, "ops_seconds": 2}


async def test_objects_and_the_resource_version_counter_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sim.db"
    async with run_simulator(simulator=Simulator(state=state, seed=7)) as served:
        client = served.client(admission=False)
        await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})
        kept = await client.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s", "namespace": "a"},
                "stringData": {"k": "v"},
            }
        )
        doomed = await client.create(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gone"}}
        )
        await client.delete("configmaps", "gone")
        before = served.simulator.store.resource_version

    async with run_simulator(simulator=Simulator(state=state, seed=7)) as served:
        client = served.client(admission=False)
        secret = await client.get("secrets", "s", namespace="a")
        gone = await client.find("configmaps", "gone")
        added = await client.create(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}}
        )
        async with httpx.AsyncClient(base_url=served.url, headers=served.admin_headers) as http:
            old_watch = await http.get(
                "/api/v1/secrets", params={"watch": "1", "resourceVersion": "1"}
            )

    assert secret == kept
    assert gone is None and doomed["metadata"]["uid"] != added["metadata"]["uid"]
    assert int(added["metadata"]["resourceVersion"]) == before + 1
    assert added["metadata"]["uid"] not in (kept["metadata"]["uid"], doomed["metadata"]["uid"])
    # The watch history is not kept: a resourceVersion from before the restart is too old.
    assert '"code":410' in old_watch.text.replace(" ", "")


async def test_the_admin_token_survives_a_restart_so_old_kubeconfigs_keep_working(
    tmp_path: Path,
) -> None:
    state = tmp_path / "sim.db"
    async with run_simulator(simulator=Simulator(state=state)) as served:
        token = served.simulator.admin_token
    async with (
        run_simulator(simulator=Simulator(state=state)) as served,
        httpx.AsyncClient(base_url=served.url) as http,
    ):
        with_old = await http.get(
            "/api/v1/namespaces", headers={"Authorization": f"Bearer {token}"}
        )
        with_other = await http.get("/api/v1/namespaces", headers={"Authorization": "Bearer x"})

    assert (with_old.status_code, with_other.status_code) == (200, 401)
    assert oct(state.stat().st_mode & 0o777) == "0o600"  # it holds Secrets and the token


async def test_an_opsrequest_in_flight_at_a_restart_finishes_after_it(tmp_path: Path) -> None:
    state = tmp_path / "sim.db"
    path, op = f"{DB}/postgreses/db1", f"{OPS}/postgresopsrequests/op1"
    first = Simulator(plugins=[install], state=state)
    first.config.update(FAST)
    async with (
        run_simulator(simulator=first) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=10) as http,
    ):
        await create(http, database("Postgres"))
        ready = await wait_phase(http, path, "Ready")
        await http.put("/_sim/config", json={"ops_seconds": 300})  # 3 s at this time scale
        spec: dict[str, Any] = {"horizontalScaling": {"replicas": 3}}
        await create(http, ops("PostgresOpsRequest", "op1", "HorizontalScaling", **spec))
        await wait_phase(http, op, "Progressing")

    again = Simulator(plugins=[install], state=state)
    again.config.update({**FAST, "ops_seconds": 300})  # knobs are not kept: set them again
    async with (
        run_simulator(simulator=again) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=10) as http,
    ):
        resumed = await get(http, op)
        done = await wait_phase(http, op, "Successful")
        after = await get(http, path)

    assert resumed is not None and resumed["status"]["phase"] == "Progressing"
    assert done["status"]["conditions"][-1]["type"] == "Successful"
    assert after is not None and after["spec"]["replicas"] == 3
    assert after["status"]["phase"] == "Ready"
    # Condition times are the stored ones, not those of the second start.
    first = {c["type"]: c["lastTransitionTime"] for c in ready["status"]["conditions"]}
    again = {c["type"]: c["lastTransitionTime"] for c in after["status"]["conditions"]}
    assert again["Provisioned"] == first["Provisioned"]


async def _serve(state: Path, *extra: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--state",
        str(state),
        "--no-default-plugins",
        "--kubeconfig-out",
        str(state.with_suffix(".kubeconfig")),
        *extra,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
    await asyncio.wait_for(process.stdout.readline(), timeout=20)  # "kubeconfig written"
    return process, line.decode().strip().removeprefix("simulator listening on ")


def _admin(state: Path) -> dict[str, str]:
    """The admin token of the kubeconfig `_serve` had the simulator write."""
    config = json.loads(state.with_suffix(".kubeconfig").read_text())
    return {"Authorization": f"Bearer {config['users'][0]['user']['token']}"}


async def _stop(process: asyncio.subprocess.Process) -> bytes:
    process.terminate()
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    return stderr


async def test_the_cli_comes_back_on_its_remembered_port_or_on_a_free_one_if_taken(
    tmp_path: Path,
) -> None:
    state = tmp_path / "sim.db"
    first, url = await _serve(state)
    try:
        async with httpx.AsyncClient(base_url=url, headers=_admin(state)) as http:
            created = await http.post(
                "/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "c"}}
            )
    finally:
        await _stop(first)
    second, second_url = await _serve(state)
    await _stop(second)
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        third, third_url = await _serve(state)
        try:
            async with httpx.AsyncClient(base_url=third_url, headers=_admin(state)) as http:
                found = await http.get("/api/v1/namespaces/default/configmaps/c")
        finally:
            third_log = await _stop(third)

    assert created.status_code == 201
    assert second_url == url
    assert third_url != url and found.status_code == 200
    assert b"remembered_port_taken" in third_log
