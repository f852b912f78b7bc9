"""Two instances of the app on one store, one Redis and one cluster (the simulator): the
reconciler runs on the leader only, the status sync is shared, and when the leader goes the
other takes over the repairs without opening a fix twice."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from app.config.settings import Settings
from app.domain import engines, namespaces
from app.domain.api_keys import new_token
from app.domain.operations import OperationStatus
from app.main import Runtime, create_app
from app.store.protocols import OperationFilter
from simulator.kubedb import install
from simulator.server import Served, Simulator, run_simulator
from tests.support import eventually

pytestmark = pytest.mark.timeout(120)

ADMIN = new_token()
BASE = "/api/v1/domain/acme/project/shop/databases"
NAMESPACE = namespaces.namespace_for("acme", "shop")


@contextlib.asynccontextmanager
async def instance(app: FastAPI) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {ADMIN.text}"},
            timeout=10,
        ) as client,
    ):
        yield app.state.runtime, client


async def replicas_drift(served: Served, name: str, replicas: int) -> None:
    resource = engines.spec("postgres").database_resource
    client = served.client()
    found = await client.get(resource.plural, name, namespace=NAMESPACE)
    found["spec"]["replicas"] = replicas
    await client.update(found, admission=False)


async def reconciler_fixes(runtime: Runtime, database_id: str) -> list[Any]:
    page = await runtime.store.operations.list(OperationFilter(database_id=database_id), limit=50)
    return [op for op in page.items if op.created_by == "reconciler"]


async def test_repairs_run_on_the_leader_only_and_move_to_the_survivor_without_doubling(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> None:
    async with run_simulator(simulator=Simulator(plugins=[install])) as served:
        served.simulator.config.update({"time_scale": 0.005})
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(json.dumps(served.kubeconfig()))
        common = {
            "redis_url": embedded_redis_url,
            "admin_api_key": SecretStr(ADMIN.text),
            "cluster_kubeconfig": kubeconfig,
            "operation_poll_interval": 0.05,
            "operation_step_timeout": 5,
            "operation_visibility_timeout": 2,
            "operation_retry_initial": 0.05,
            "reconcile_interval": 0.5,
            "status_sync_interval": 0.5,
        }
        apps = {
            name: create_app(settings.model_copy(update={**common, "instance_id": name}))
            for name in ("alpha", "beta")
        }
        async with contextlib.AsyncExitStack() as stack:
            alpha = await stack.enter_async_context(instance(apps["alpha"]))
            beta_stack = contextlib.AsyncExitStack()
            beta = await beta_stack.enter_async_context(instance(apps["beta"]))
            try:
                runtimes = {"alpha": alpha[0], "beta": beta[0]}
                accepted = await alpha[1].post(
                    BASE,
                    json={
                        "name": "shared",
                        "engine": "postgres",
                        "version": "16.13",
                        "high_availability": True,
                        "replicas": 2,
                    },
                )
                assert accepted.status_code == 202, accepted.text
                database_id = accepted.json()["id"]

                async def running() -> bool:
                    body = (await beta[1].get(f"{BASE}/{database_id}")).json()
                    return bool(body["status"] == "running")

                await eventually(running, timeout=30, message="running")

                async def one_leader() -> str | None:
                    leaders = [n for n, r in runtimes.items() if r.elector.is_leader]
                    return leaders[0] if len(leaders) == 1 else None

                leader = await eventually(one_leader, timeout=10, message="one leader")
                follower = "beta" if leader == "alpha" else "alpha"
                await replicas_drift(served, "shared", 3)

                async def fixed(count: int, reader: Runtime) -> bool:
                    ops = await reconciler_fixes(reader, database_id)
                    return len(ops) == count and all(
                        op.status is OperationStatus.SUCCEEDED for op in ops
                    )

                await eventually(lambda: fixed(1, alpha[0]), timeout=30, message="first fix")
                assert runtimes[leader].reconciler.repair_passes > 0
                assert runtimes[follower].reconciler.repair_passes == 0
                syncs = {
                    n: r.status_sync.passes
                    for n, r in runtimes.items()
                    if r.status_sync is not None
                }
                assert all(count > 0 for count in syncs.values()) and len(syncs) == 2

                # The leader goes; the survivor leads and repairs the next drift, once.
                if leader == "beta":
                    await beta_stack.aclose()
                    survivor = runtimes["alpha"]
                else:
                    await stack.aclose()
                    survivor = runtimes["beta"]
                await eventually(lambda: _leads(survivor), timeout=10, message="takeover")
                await replicas_drift(served, "shared", 4)
                await eventually(lambda: fixed(2, survivor), timeout=30, message="second fix")
                assert survivor.reconciler.repair_passes > 0
            finally:
                await beta_stack.aclose()

        cr = await served.client().get(
            engines.spec("postgres").database_resource.plural, "shared", namespace=NAMESPACE
        )
    assert cr["spec"]["replicas"] == 2


async def _leads(runtime: Runtime) -> bool:
    return runtime.elector.is_leader
