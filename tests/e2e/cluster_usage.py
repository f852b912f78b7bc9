"""What the app asks of a cluster: every lifecycle route of every engine run against the
simulator, with the simulator counting each request by verb and resource.

The Kubernetes RBAC test (`tests/e2e/test_kubernetes_rbac.py`) compares the ClusterRole in
`k8s/app/rbac.yaml` with this record, so the role is derived from what the code does rather
than written from memory.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.domain import namespaces
from simulator.server import Served
from tests.e2e.platform import BASE, VERSIONS, create, finished
from tests.support import eventually

# Kubernetes' discovery endpoints, readable by every authenticated user
# (system:discovery); not RBAC resources.
_DISCOVERY = ("/api", "/apis", "/version", "/openapi")


async def _lifecycle(client: httpx.AsyncClient, engine: str, served: Served) -> list[str]:
    """Every mutating route once; returns the statuses of the operations."""
    created = await create(
        client,
        name=f"life-{engine}",
        engine=engine,
        high_availability=True,
        replicas=3,
        deletion_policy="WipeOut",
    )
    outcomes = [(await finished(client, created))["status"]]
    path = f"{BASE}/{created.json()['id']}"
    await client.get(f"{path}/credentials")
    upgrades = (await client.get(f"{path}/available-upgrades")).json()["available_upgrades"]
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/scale", {"replicas": 5}),
        ("POST", "/scale", {"size": "db.t3.small"}),
        ("POST", "/scale", {"storage_gb": 30}),
        ("POST", "/restart", None),
        ("POST", "/credentials/rotate", None),
        ("PATCH", "", {"labels": {"team": "a"}, "backup_schedule": "hourly"}),
        ("POST", "/pause", None),
        ("POST", "/resume", None),
    ]
    if upgrades:
        requests.append(("POST", "/upgrade", {"target_version": upgrades[0]}))
    for method, suffix, body in requests:
        response = await client.request(method, f"{path}{suffix}", json=body)
        outcomes.append((await finished(client, response))["status"])
    if engine == "redis":
        # The sentinels' deletion policy changed outside the platform: the delete sets it
        # back before deleting them (a patch).
        namespace = namespaces.namespace_for("acme", "shop")
        for sentinel in await served.client().list("redissentinels", namespace=namespace):
            await served.client().patch(
                "redissentinels",
                sentinel["metadata"]["name"],
                {"spec": {"deletionPolicy": "Halt"}},
                namespace=namespace,
            )
    deleted = await client.delete(path)
    outcomes.append((await finished(client, deleted))["status"])
    return outcomes


async def _custom_credentials(client: httpx.AsyncClient) -> list[str]:
    """Credentials given at create, twice under one name: the second overwrites the secret
    the first left behind (deletion policy Delete keeps it), and WipeOut removes it."""
    outcomes = []
    for password, policy in (
        ("First-Long-Secret-1", "Delete"),
        ("Second-Long-Secret-2", "WipeOut"),
    ):
        created = await create(client, name="custom", password=password, deletion_policy=policy)
        outcomes.append((await finished(client, created))["status"])
        deleted = await client.delete(f"{BASE}/{created.json()['id']}")
        outcomes.append((await finished(client, deleted))["status"])
    return outcomes


async def _drift_repaired(client: httpx.AsyncClient, served: Served) -> list[str]:
    """Replicas changed in the cluster by hand: the leader's repair pass finds it and opens
    the operation that puts it back, whose cluster calls are the app's too."""
    created = await create(
        client, name="drifted", high_availability=True, replicas=3, deletion_policy="WipeOut"
    )
    outcomes = [(await finished(client, created))["status"]]
    path, namespace = f"{BASE}/{created.json()['id']}", namespaces.namespace_for("acme", "shop")
    admin = served.client()
    await admin.patch("postgreses", "drifted", {"spec": {"replicas": 4}}, namespace=namespace)

    async def put_back() -> bool:
        spec = (await admin.get("postgreses", "drifted", namespace=namespace))["spec"]
        operations = (await client.get(f"{path}/operations")).json()["operations"]
        return spec["replicas"] == 3 and any(
            o["created_by"] == "reconciler" and o["status"] == "succeeded" for o in operations
        )

    await eventually(put_back, timeout=30, interval=0.1, message="the drift put back")
    deleted = await client.delete(path)
    outcomes.append((await finished(client, deleted))["status"])
    return outcomes


async def _backups(client: httpx.AsyncClient) -> list[str]:
    """Point-in-time recovery on, off and on, a backup now, a restore in place and into a new
    database, a backup deleted, and a delete after a final backup."""

    async def ended(response: httpx.Response) -> str:
        return str((await finished(client, response))["status"])

    created = await create(client, name="kept", deletion_policy="WipeOut", pitr_enabled=True)
    outcomes = [await ended(created)]
    path, database_id = f"{BASE}/{created.json()['id']}", created.json()["id"]
    await client.get(f"{path}/restore-window")
    for enabled in (False, True):  # off, then on again (the archiver is there: a patch)
        outcomes.append(await ended(await client.patch(path, json={"pitr_enabled": enabled})))
    taken = await client.post(f"{path}/backups")
    outcomes.append(await ended(taken))
    backup_id = taken.json()["backup_id"]
    outcomes.append(
        await ended(await client.post(f"{path}/restore", json={"backup_id": backup_id}))
    )
    copy = await create(
        client,
        name="kept-copy",
        deletion_policy="WipeOut",
        restore_from={"database_id": database_id, "backup_id": backup_id},
    )
    outcomes.append(await ended(copy))
    removed = await client.delete(f"{path}/backups/{backup_id}")
    outcomes.append("succeeded" if removed.status_code == 202 else removed.text)
    outcomes.append(await ended(await client.delete(f"{BASE}/{copy.json()['id']}")))
    outcomes.append(await ended(await client.delete(path, params={"final_backup": "true"})))
    return outcomes


async def record(platform: tuple[Any, httpx.AsyncClient, Served]) -> set[tuple[str, str]]:
    """Run the whole lifecycle; the (verb, resource) pairs the cluster saw, e.g.
    ("create", "postgreses"), ("get", "secrets")."""
    runtime, client, served = platform
    assert (await client.get("/api/v1/versions")).status_code == 200
    results = await asyncio.gather(
        *(_lifecycle(client, engine, served) for engine in VERSIONS),
        _custom_credentials(client),
        _drift_repaired(client, served),
        _backups(client),
    )
    assert all(status == "succeeded" for outcome in results for status in outcome), results
    # A pass of each periodic worker after the work, and /health (which pings the cluster).
    repairs, syncs = runtime.reconciler.repair_passes, runtime.status_sync.passes
    backup_sync = runtime.reconciler.last_backup_sync

    async def passed() -> bool:
        return (
            runtime.reconciler.repair_passes > repairs
            and runtime.status_sync.passes > syncs
            and runtime.reconciler.last_backup_sync is not backup_sync
        )

    await eventually(
        passed, timeout=20, interval=0.1, message="a drift, a status and a backup sync pass"
    )
    assert (await client.get("/health")).status_code == 200
    stats: dict[str, int] = served.simulator.stats.snapshot()["requests"]  # type: ignore[assignment]
    seen = set()
    for key in stats:
        verb, resource = key.split(" ", 1)
        if not resource.startswith(_DISCOVERY):
            seen.add((verb, resource))
    return seen
