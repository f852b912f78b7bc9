"""The control plane at scale: passes over 10,000 databases, and the read API under load.

    .venv/bin/python -m bench.scale [--databases 10000] [--seconds 5] [--concurrency 16]

In one run, with N databases of mixed engines in a SQLite store and (phase Ready) in the
simulator on a loopback socket (no operator model: the CRs stay as seeded):

1. status-sync passes (cold: the seeded records lack every observed field, so all are
   written; steady: nothing new; then after a tenth of the CRs turned Critical) and one
   drift-repair pass: wall time, cluster calls (the simulator's request counters) and peak
   Python memory of the pass (tracemalloc, measured on a repeat);
2. the app (`python -m app`: uvicorn, one process, as deployed) on the same store and the
   simulator, and a bare FastAPI endpoint (`bench.bare_app`) returning a document of the
   same size, each in its own process: requests per second and p50/p99 latency of
   `GET /databases/{id}` and of the list route, from the same load generator (httpx,
   `--concurrency` requests in flight, `--seconds` each).

Goals (issue 5): each pass within 5 s; the app's GET throughput at least 50 % of the bare
endpoint's. Every figure is printed; the README's scaling section quotes them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from app.broker.client import make_client
from app.broker.embedded import EmbeddedRedis
from app.broker.streams import OperationQueue
from app.cluster.config import ClusterConnection
from app.cluster.gateway import KubeGateway
from app.domain import namespaces, sizes
from app.domain.api_keys import new_token
from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import database_cr
from app.services.catalog import CatalogService
from app.services.cluster_view import ClusterView
from app.services.drift_repair import DriftRepair
from app.services.handlers.desired_spec import desired_for
from app.services.operations import OperationDefaults, OperationService
from app.services.status_sync import StatusSync
from app.store.sqlite import SQLiteStore
from bench import http_load
from bench.http_load import cycle, free_port, load, ready, server
from simulator.server import Served, Simulator, run_simulator

VERSIONS = {
    "postgres": "16.13",
    "mysql": "8.4.8",
    "mariadb": "11.8.5",
    "mongodb": "8.0.17",
    "redis": "8.2.2",
}
PROJECTS = 10
TABLE = sizes.default_size_table()


async def seed(store: SQLiteStore, served: Served, count: int) -> list[Database]:
    client = served.client()
    for p in range(PROJECTS):
        served.simulator.seed(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespaces.namespace_for("acme", f"p{p}")},
            }
        )
    made = []
    for i in range(count):
        engine = sorted(VERSIONS)[i % len(VERSIONS)]
        project = f"p{i % PROJECTS}"
        namespace = namespaces.namespace_for("acme", project)
        database = await store.databases.insert(
            Database(
                name=f"db-{i:05d}",
                domain="acme",
                project=project,
                engine=engine,
                version=VERSIONS[engine],
                storage_gb=10,
                status=DatabaseStatus.RUNNING,
                namespace=namespace,
                kubedb_resource_name=f"db-{i:05d}",
            )
        )
        created = served.simulator.seed(database_cr.database_manifest(desired_for(database, TABLE)))
        created["status"] = {
            "phase": "Ready",
            "observedGeneration": 1,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "ReadinessCheckSucceeded",
                    "message": "The database passed its readiness check",
                }
            ],
        }
        await client.update_status(created, admission=False)
        made.append(database)
    return made


async def measured(
    served: Served,
    admin: httpx.AsyncClient,
    label: str,
    run: Callable[[], Awaitable[Any]],
    *,
    repeat_for_memory: bool = True,
) -> None:
    await admin.post("/_sim/stats/reset")
    began = time.perf_counter()
    await run()
    took = time.perf_counter() - began
    calls = (await admin.get("/_sim/stats")).json()["total"]
    peak = ""
    if repeat_for_memory:
        tracemalloc.start()
        await run()
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak = f"   peak Python memory {top / 2**20:6.1f} MiB"
    print(f"{label:<34} {took:6.2f} s   cluster calls {calls:3d}{peak}")


async def turn_critical(served: Served, *, share: int) -> int:
    """One database CR in `share` turns Critical (a member down); returns how many."""
    client = served.client()
    changed = 0
    for plural in ("postgreses", "mysqls", "mariadbs", "mongodbs", "redises"):
        for obj in (await client.list(plural))[::share]:
            obj["status"] = {**obj.get("status", {}), "phase": "Critical"}
            await client.update_status(obj, admission=False)
            changed += 1
    return changed


@contextlib.asynccontextmanager
async def simulated(tmp: Path) -> AsyncIterator[tuple[Served, httpx.AsyncClient, Path]]:
    async with (
        run_simulator(simulator=Simulator()) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=30) as admin,
    ):
        kubeconfig = tmp / "kubeconfig"
        kubeconfig.write_text(json.dumps(served.kubeconfig()))
        yield served, admin, kubeconfig


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        data_dir = tmp / "var"
        data_dir.mkdir()
        store = await SQLiteStore.open(data_dir / "kubedb-dbaas.sqlite3")
        async with simulated(tmp) as (served, admin, kubeconfig):
            began = time.perf_counter()
            databases = await seed(store, served, args.databases)
            print(
                f"{args.databases} databases ({', '.join(sorted(VERSIONS))}, "
                f"{PROJECTS} projects) seeded in the store and the cluster in "
                f"{time.perf_counter() - began:.1f} s"
            )
            await passes(store, served, admin, tmp / "redis")
            await store.close()
            await api(args, data_dir, kubeconfig, databases, tmp)


async def passes(
    store: SQLiteStore, served: Served, admin: httpx.AsyncClient, redis_dir: Path
) -> None:
    gateway = KubeGateway.connect(
        ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=30
    )
    try:
        sync = StatusSync(store, ClusterView(gateway))
        await measured(
            served,
            admin,
            "status sync, cold (writes all)",
            lambda: sync.run_pass(lambda _: True),
            repeat_for_memory=False,
        )
        await measured(
            served, admin, "status sync, steady (no change)", lambda: sync.run_pass(lambda _: True)
        )
        changed = await turn_critical(served, share=10)
        await measured(
            served,
            admin,
            f"status sync, {changed} turned Critical",
            lambda: sync.run_pass(lambda _: True),
            repeat_for_memory=False,
        )
        embedded = EmbeddedRedis(redis_dir)
        url = await embedded.start()
        redis = make_client(url)
        try:
            repair = DriftRepair(
                store,
                ClusterView(gateway),
                OperationService(
                    store, OperationQueue(redis, prefix="bench:ops"), OperationDefaults(deadline=60)
                ),
                CatalogService(gateway, TABLE),
                TABLE,
            )
            await measured(
                served,
                admin,
                "reconcile (drift repair) pass",
                lambda: repair.run_pass(lambda: None),
            )
        finally:
            await redis.aclose()
            await embedded.stop()
    finally:
        await gateway.close()


async def api(
    args: argparse.Namespace,
    data_dir: Path,
    kubeconfig: Path,
    databases: list[Database],
    tmp: Path,
) -> None:
    token = new_token()
    env = {
        "DATA_DIR": str(data_dir),
        "CLUSTER_KUBECONFIG": str(kubeconfig),
        "ADMIN_API_KEY": token.text,
        "LOG_LEVEL": "WARNING",
        "INSTANCE_ID": "bench",
        "RECONCILE_INTERVAL": "3600",
        "STATUS_SYNC_INTERVAL": "3600",
        # Limiting on, as in production, but far above the load: its cost is measured,
        # not its refusals.
        "RATE_LIMIT_PER_MINUTE": "10000000",
        "RATE_LIMIT_BURST": "10000000",
    }
    headers = {"Authorization": f"Bearer {token.text}"}
    one = databases[len(databases) // 2]
    path_of = {d.id: f"/api/v1/domain/acme/project/{d.project}/databases/{d.id}" for d in databases}
    port = free_port()
    env.update({"HOST": "127.0.0.1", "PORT": str(port)})
    with server(["-m", "app"], port, env, tmp / "app.observability.log") as app:
        base = app.url
        # Wait for the first passes (leadership starts a repair pass) to leave the CPU.
        await ready(app, "/health", check=lambda body: settled(body))
        async with httpx.AsyncClient(base_url=base, headers=headers) as client:
            document = (await client.get(path_of[one.id])).json()
        gets = cycle([path_of[d.id] for d in databases[:: max(1, len(databases) // 500)]])
        app_get = await load(
            base, gets, seconds=args.seconds, concurrency=args.concurrency, headers=headers
        )
        lists = cycle(
            [f"/api/v1/domain/acme/project/p{p}/databases?page_size=20" for p in range(PROJECTS)]
        )
        app_list = await load(
            base, lists, seconds=args.seconds, concurrency=args.concurrency, headers=headers
        )
    doc_file = tmp / "document.json"
    doc_file.write_text(json.dumps(document))
    port = free_port()
    with server(
        http_load.bare_command(port),
        port,
        {"BARE_DOCUMENT": str(doc_file)},
        tmp / "bare.log",
    ) as bare:
        base = bare.url
        await ready(bare, "/doc/x")
        bare_get = await load(
            base, cycle(["/doc/x"]), seconds=args.seconds, concurrency=args.concurrency
        )
        bare_list = await load(
            base, cycle(["/docs"]), seconds=args.seconds, concurrency=args.concurrency
        )
    size = len(json.dumps(document))
    print(
        f"HTTP, {args.concurrency} requests in flight, {args.seconds:g} s each "
        f"(database body {size} bytes; list page of 20):"
    )
    for label, (rate, p50, p99, failed) in (
        ("app  GET /databases/{id}", app_get),
        ("bare GET (same document)", bare_get),
        ("app  GET /databases (list)", app_list),
        ("bare GET (same page)", bare_list),
    ):
        print(
            f"  {label:<28} {rate:7.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"
            f"   non-200 {failed}"
        )
    print(
        f"app/bare throughput: GET one {app_get[0] / bare_get[0]:.2f}, "
        f"list {app_list[0] / bare_list[0]:.2f}"
    )


def settled(body: dict[str, Any]) -> bool:
    reconciliation = (body.get("passes") or {}).get("reconciliation") or {}
    return bool(body.get("status") == "healthy" and reconciliation.get("drift_passes"))


if __name__ == "__main__":
    asyncio.run(main())
