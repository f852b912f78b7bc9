"""A create killed between its record and its operation (issue 12, item 21): the record is
left `pending` with no operation, holding its name, capacity and quota; the next leader's
pass rolls it back, and the name can be used again.

The first process is the real app with one fault (`tests/e2e/killed_create_process.py`):
it SIGKILLs itself right after the record is written. The second is `python -m app` on the
same data directory."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain.api_keys import new_token
from app.domain.quotas import tenant_id
from app.store.protocols import DatabaseFilter, OperationFilter
from app.store.sqlite import SQLiteStore
from simulator.kubedb import install
from simulator.server import Simulator, run_simulator
from tests.e2e.conftest import AppProcess
from tests.support import eventually

pytestmark = pytest.mark.timeout(120)

ADMIN = new_token()
BASE = "/api/v1/domain/acme/project/shop/databases"
BODY = {"name": "orders", "engine": "postgres", "version": "16.13"}


async def _healthy(app: AppProcess) -> bool:
    assert app.proc is not None
    assert app.proc.poll() is None, f"app exited with {app.proc.returncode}:\n{app.log}"
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{app.url}/health")).status_code == 200
    except httpx.TransportError:
        return False


async def _store_state(path: Path) -> dict[str, Any]:
    store = await SQLiteStore.open(path)
    try:
        databases = await store.databases.list(DatabaseFilter(include_deleted=True))
        operations = await store.operations.list(OperationFilter())
        tenant = await store.tenants.get(tenant_id("acme", "shop"))
        providers = await store.providers.all()
        return {
            "databases": [(d.name, d.status.value, d.operation_id) for d in databases.items],
            "ids": [d.id for d in databases.items],
            "operations": operations.total,
            "tenant_databases": None if tenant is None else tenant.databases,
            "tenant_cpu": None if tenant is None else tenant.cpu_cores,
            "allocated_cpu": [p.cpu_allocated_cores for p in providers],
        }
    finally:
        await store.close()


async def test_a_create_killed_between_its_record_and_operation_is_rolled_back_by_the_next_leader(
    make_app: Any, tmp_path: Path
) -> None:
    async with run_simulator(simulator=Simulator(plugins=[install])) as served:
        served.simulator.config.update({"time_scale": 0.005})
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(json.dumps(served.kubeconfig()))
        env = {"CLUSTER_KUBECONFIG": str(kubeconfig), "ADMIN_API_KEY": ADMIN.text}
        headers = {"Authorization": f"Bearer {ADMIN.text}"}

        first: AppProcess = make_app("app", KILL_AT="record", **env).start(
            ["-m", "tests.e2e.killed_create_process"]
        )
        await eventually(
            lambda: _healthy(first), timeout=30, interval=0.1, message="first process healthy"
        )
        async with httpx.AsyncClient(base_url=first.url, headers=headers, timeout=10) as c:
            with pytest.raises(httpx.TransportError):  # it dies mid-request
                await c.post(BASE, json={**BODY, "password": "a-long-user-password-1"})
        assert first.proc is not None
        assert first.proc.wait(timeout=10) == -signal.SIGKILL

        sqlite = first.data_dir / "kubedb-dbaas.sqlite3"
        orphaned = await _store_state(sqlite)
        assert orphaned["databases"] == [("orders", "pending", None)]
        assert orphaned["operations"] == 0
        assert orphaned["tenant_databases"] == 1  # its quota and capacity held
        held_cpu = orphaned["allocated_cpu"][0]
        assert held_cpu > 0

        second: AppProcess = make_app(
            "app", ORPHAN_RECORD_GRACE="0.5", RECONCILE_INTERVAL="0.5", **env
        ).start()
        await eventually(
            lambda: _healthy(second), timeout=30, interval=0.1, message="second process healthy"
        )
        async with httpx.AsyncClient(base_url=second.url, headers=headers, timeout=10) as c:

            async def name_free() -> bool:
                return (await c.get(BASE)).json()["total"] == 0

            await eventually(name_free, timeout=20, interval=0.1, message="the orphan rolled back")
            gone = await c.get(f"{BASE}/{orphaned['ids'][0]}")
            events = (await c.get(f"{BASE}/{orphaned['ids'][0]}/events")).json()
            again = await c.post(BASE, json=BODY)
            assert again.status_code == 202, again.text
        # In a thread: the simulator serves from this loop, and the create now running
        # in the app needs it to finish its step before the app can stop.
        await asyncio.to_thread(second.terminate)

        assert gone.json()["status"] == "deleted", gone.text
        assert [e["reason"] for e in events["events"]] == ["CreateAbandoned"]
        after = await _store_state(sqlite)
        states = dict(zip(after["ids"], after["databases"], strict=True))
        assert states[orphaned["ids"][0]] == ("orders", "deleted", None)
        assert states[again.json()["id"]][2] == again.json()["operation_id"]
        # What is held now is the new database's share only: the orphan's was given back.
        assert after["tenant_databases"] == 1
        assert after["allocated_cpu"] == [held_cpu]
        assert after["tenant_cpu"] == pytest.approx(orphaned["tenant_cpu"])
