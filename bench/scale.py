"""The control plane at scale: passes and the app's memory at 10,000 and N databases.

    .venv/bin/python -m bench.scale [--databases 100000] [--base 10000] [--rounds 3]

In one run, on one SQLite store and one simulator (on a loopback socket, no operator model:
the CRs stay as seeded), grown in steps: 0 databases, then `--base`, then `--databases` of
the five engines in 10 projects, each with its CR (phase Ready) and its AppBinding, the
records already synced with them (seeded in bulk: one SQLite transaction, the simulator
in-process). At each step:

1. `--rounds` rounds, alternately, of a steady status-sync pass (nothing to write), the
   same pass as one of two replicas runs it (it owns the half of the databases rendezvous
   hashing gives it, as `app.workers.membership` shares them; the listing is still whole)
   and a drift-repair pass (nothing drifted; the leader's alone), in this process: wall
   time and cluster calls;
2. the app (`python -m app`, one process as deployed, `LOG_LEVEL=WARNING`) on that store
   and simulator, once its first status-sync and drift passes have completed: its resident
   memory (`VmRSS`, and the peak `VmHWM`, from /proc) and how long it took from start to
   healthy; at 0 databases this is the baseline. The simulator lives in this process, so
   its memory is not the app's.

It prints min/median/max of each pass, per database in µs of wall time and of this
process's CPU time (steadier than wall time on a shared machine; it includes the
simulator's serving), the ratio of the N figure to the base figure (flat: within 1.2x),
and the goals beside them (issue 19): each pass ≤ 10 s at 100,000
databases, RSS ≤ 512 MiB, start to healthy ≤ 2 s. The HTTP read figures are `bench.reads`'.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.broker.client import make_client
from app.broker.embedded import EmbeddedRedis
from app.broker.streams import OperationQueue
from app.cluster.config import ClusterConnection
from app.cluster.gateway import KubeGateway
from app.domain import data_plane, namespaces, sizes, status_mapping, sync
from app.domain.api_keys import new_token
from app.domain.databases import Database, DatabaseStatus
from app.domain.manifests import database_cr
from app.services.catalog import CatalogService
from app.services.cluster_view import ClusterView
from app.services.drift_repair import DriftRepair
from app.services.handlers.desired_spec import desired_for
from app.services.operations import OperationDefaults, OperationService
from app.services.status_sync import StatusSync
from app.store import documents
from app.store.sqlite import SQLiteStore
from app.workers.membership import owner_of
from bench.http_load import app_env, free_port, ready, server
from simulator.kubedb import engines as kubedb_engines
from simulator.kubedb import plugin as kubedb_plugin
from simulator.kubedb import workloads
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
STORE_FILE = "kubedb-dbaas.sqlite3"
GOAL_PASS_S = 10.0  # at 100,000 databases
GOAL_FLAT = 1.2  # per-database cost at N over at the base
PAIR = ("bench-a", "bench-b")  # two replicas sharing the status sync
GOAL_RSS_MIB = 512
GOAL_START_S = 2.0
_READY = {
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
_BATCH = 5_000


async def seed(path: Path, served: Served, count: int, *, start: int = 0) -> list[Database]:
    """Databases `start`..`count` - 1 in the store file at `path` (its schema made by
    `SQLiteStore.open`; no other writer meanwhile) and in the cluster: the CR (Ready) and,
    when the simulator serves AppBindings, its AppBinding; the records as a status sync
    would leave them."""
    simulator = served.simulator
    bindings = simulator.registry.by_kind(data_plane.APP_BINDING.api_version, "AppBinding")
    if start == 0:
        for p in range(PROJECTS):
            simulator.seed(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": namespaces.namespace_for("acme", f"p{p}")},
                }
            )
    made: list[Database] = []
    rows: list[tuple[str, str]] = []
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for i in range(start, count):
            database, cr = _database(i)
            created = simulator.seed(cr, status=_READY)
            binding = None
            if bindings is not None:
                engine = kubedb_engines.BY_KIND[str(created["kind"])]
                obj = simulator.seed(workloads.appbinding(engine, created, f"{database.name}-auth"))
                binding = data_plane.parse(obj)
            observed = status_mapping.observe_database(created)
            changes = sync.sync_fields(database, observed, operation_active=False, binding=binding)
            database = database.model_copy(update=changes)
            made.append(database)
            rows.append((database.id, json.dumps(documents.to_document(database))))
            if len(rows) >= _BATCH or i == count - 1:
                conn.execute("BEGIN")
                conn.executemany("INSERT INTO databases (id, doc) VALUES (?, ?)", rows)
                conn.execute("COMMIT")
                rows.clear()
                await asyncio.sleep(0)  # the simulator's loop serves meanwhile
    return made


def _database(i: int) -> tuple[Database, dict[str, Any]]:
    engine = sorted(VERSIONS)[i % len(VERSIONS)]
    project = f"p{i % PROJECTS}"
    namespace = namespaces.namespace_for("acme", project)
    database = Database(
        name=f"db-{i:06d}",
        domain="acme",
        project=project,
        engine=engine,
        version=VERSIONS[engine],
        storage_gb=10,
        status=DatabaseStatus.RUNNING,
        namespace=namespace,
        kubedb_resource_name=f"db-{i:06d}",
    )
    return database, database_cr.database_manifest(desired_for(database, TABLE))


@contextlib.asynccontextmanager
async def simulated(
    tmp: Path, *, bindings: bool = False
) -> AsyncIterator[tuple[Served, httpx.AsyncClient, Path]]:
    """The simulator on a loopback socket, an admin client and a kubeconfig file; with
    `bindings` it serves AppBindings (KubeDB's kind) without running the operator model."""
    simulator = Simulator()
    if bindings:
        simulator.registry.add(kubedb_plugin.APPBINDING)
    async with (
        run_simulator(simulator=simulator) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.admin_headers, timeout=60) as admin,
    ):
        kubeconfig = tmp / "kubeconfig"
        kubeconfig.write_text(json.dumps(served.kubeconfig()))
        yield served, admin, kubeconfig


def settled(body: dict[str, Any]) -> bool:
    """`/health` once the first drift-repair pass is done (a leader starts one at once)."""
    reconciliation = (body.get("passes") or {}).get("reconciliation") or {}
    return bool(body.get("status") == "healthy" and reconciliation.get("drift_passes"))


def passes_done(body: dict[str, Any]) -> bool:
    """`/health` once the first status-sync and drift-repair passes are done."""
    status_sync = (body.get("passes") or {}).get("status_sync") or {}
    return settled(body) and bool(status_sync.get("passes"))


@dataclass
class Step:
    databases: int
    sync_s: list[float] = field(default_factory=list)
    drift_s: list[float] = field(default_factory=list)
    sync_cpu: list[float] = field(default_factory=list)  # this process's CPU seconds
    drift_cpu: list[float] = field(default_factory=list)
    half_s: list[float] = field(default_factory=list)  # one of two replicas' status sync
    half_cpu: list[float] = field(default_factory=list)
    calls: tuple[int, int] = (0, 0)
    rss_mib: float = float("nan")
    hwm_mib: float = float("nan")
    start_s: float = float("nan")
    passes_s: float = float("nan")


async def timed(
    admin: httpx.AsyncClient, run: Callable[[], Awaitable[Any]]
) -> tuple[tuple[float, float], int, Any]:
    """Wall and CPU seconds of `run` (CPU: this process's, the simulator's serving
    included), the cluster calls it made, its result."""
    await admin.post("/_sim/stats/reset")
    began, cpu = time.perf_counter(), time.process_time()
    result = await run()
    took = (time.perf_counter() - began, time.process_time() - cpu)
    return took, int((await admin.get("/_sim/stats")).json()["total"]), result


async def measure_passes(
    step: Step, store: SQLiteStore, served: Served, admin: httpx.AsyncClient, *, rounds: int
) -> None:
    gateway = KubeGateway.connect(
        ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=60
    )
    async with embedded_redis(Path(tempfile.mkdtemp(prefix="bench-scale-redis-"))) as url:
        redis = make_client(url)
        try:
            status_sync = StatusSync(store, ClusterView(gateway))
            repair = DriftRepair(
                store,
                ClusterView(gateway),
                OperationService(
                    store, OperationQueue(redis, prefix="bench:ops"), OperationDefaults(deadline=60)
                ),
                CatalogService(gateway, TABLE),
                TABLE,
            )
            for _ in range(rounds):
                took, sync_calls, done = await timed(
                    admin, lambda: status_sync.run_pass(lambda _: True)
                )
                if done.written or done.synced != step.databases:
                    raise RuntimeError(f"not a steady pass over {step.databases}: {done}")
                step.sync_s.append(took[0])
                step.sync_cpu.append(took[1])
                took, _, done = await timed(
                    admin, lambda: status_sync.run_pass(lambda key: owner_of(key, PAIR) == PAIR[0])
                )
                if done.written or not 0 < done.synced < step.databases:
                    raise RuntimeError(f"not one replica's steady pass: {done}")
                step.half_s.append(took[0])
                step.half_cpu.append(took[1])
                took, drift_calls, fixed = await timed(admin, lambda: repair.run_pass(lambda: None))
                if fixed.fixes or fixed.checked != step.databases:
                    raise RuntimeError(f"not a clean drift pass over {step.databases}: {fixed}")
                step.drift_s.append(took[0])
                step.drift_cpu.append(took[1])
                step.calls = (sync_calls, drift_calls)
        finally:
            await redis.aclose()
            await gateway.close()


@contextlib.asynccontextmanager
async def embedded_redis(where: Path) -> AsyncIterator[str]:
    embedded = EmbeddedRedis(where)
    url = await embedded.start()
    try:
        yield url
    finally:
        await embedded.stop()


def memory_mib(pid: int) -> tuple[float, float]:
    """The process's VmRSS and VmHWM (its peak), in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


async def measure_app(step: Step, data_dir: Path, kubeconfig: Path, tmp: Path) -> None:
    """`python -m app` on the store and the simulator, until its first passes are done."""
    port = free_port()
    env = app_env(
        data_dir,
        port,
        new_token().text,
        CLUSTER_KUBECONFIG=str(kubeconfig),
        LOG_LEVEL="WARNING",
    )
    began = time.perf_counter()
    with server(["-m", "app"], port, env, tmp / f"app-{step.databases}.log") as app:
        await ready(app, "/health", check=lambda body: body.get("status") == "healthy")
        step.start_s = time.perf_counter() - began
        await ready(app, "/health", check=passes_done, timeout=900)
        step.passes_s = time.perf_counter() - began
        step.rss_mib, step.hwm_mib = memory_mib(app.process.pid)


def spread(values: list[float], scale: float = 1.0) -> str:
    if not values:
        return "-"
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low * scale:7.2f} / {mid * scale:7.2f} / {high * scale:7.2f}"


def report(steps: list[Step], base: Step, args: argparse.Namespace) -> None:
    print()
    print(f"Passes, {args.rounds} rounds alternated (min / median / max), in-process:")
    for label, pick, cpu_of, calls in (
        ("steady status sync", lambda s: s.sync_s, lambda s: s.sync_cpu, 0),
        ("sync, 1 of 2 replicas", lambda s: s.half_s, lambda s: s.half_cpu, 0),
        ("drift repair", lambda s: s.drift_s, lambda s: s.drift_cpu, 1),
    ):
        for step in steps:
            if not step.databases:
                continue
            n = step.databases
            per_db = [t / n for t in pick(step)]
            cpu_per_db = [t / n for t in cpu_of(step)]
            goal = GOAL_PASS_S * n / 100_000
            print(
                f"  {label:<21} {n:>7,}: {spread(pick(step))} s   "
                f"per database {spread(per_db, 1e6)} µs (CPU {spread(cpu_per_db, 1e6)} µs)"
                f"   cluster calls {step.calls[calls]:4d}"
                f"   (goal ≤ {goal:.2f} s: {GOAL_PASS_S:g} s per 100,000)"
            )
        last = steps[-1]
        if last is not base and pick(base) and pick(last):
            for what, of in (("wall", pick), ("CPU", cpu_of)):
                ratio = (statistics.median(of(last)) / last.databases) / (
                    statistics.median(of(base)) / base.databases
                )
                print(
                    f"  {label:<21} per-database cost ({what}) {last.databases:,} / "
                    f"{base.databases:,}: {ratio:.2f}x (goal ≤ {GOAL_FLAT}x)"
                )
    zero = steps[0]
    print()
    print("The app (python -m app), after its first status-sync and drift passes:")
    for step in steps:
        extra = step.rss_mib - zero.rss_mib
        per = f"{extra * 1024 / step.databases:5.2f} KiB per database" if step.databases else ""
        print(
            f"  {step.databases:>7,} databases: RSS {step.rss_mib:6.1f} MiB"
            f" (peak {step.hwm_mib:6.1f})"
            f"  +{extra:6.1f} over 0  {per:<26} start to healthy {step.start_s:4.2f} s,"
            f" first passes done {step.passes_s:6.1f} s"
            f"   (goals: RSS ≤ {GOAL_RSS_MIB} MiB at 100,000; healthy ≤ {GOAL_START_S:g} s)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", type=int, default=10_000)
    parser.add_argument("--base", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    counts = [0, *sorted({min(args.base, args.databases), args.databases})]
    steps = [Step(n) for n in counts]
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        data_dir = tmp / "var"
        data_dir.mkdir()
        path = data_dir / STORE_FILE
        await (await SQLiteStore.open(path)).close()  # the schema
        async with simulated(tmp, bindings=True) as (served, admin, kubeconfig):
            have = 0
            for step in steps:
                if step.databases > have:
                    began = time.perf_counter()
                    await seed(path, served, step.databases, start=have)
                    print(
                        f"seeded {step.databases - have:,} databases (to {step.databases:,}) "
                        f"in {time.perf_counter() - began:.1f} s",
                        flush=True,
                    )
                    have = step.databases
                    # The simulator stands in for another process (the API server): its
                    # objects are left out of this process's collections while passes run.
                    gc.collect()
                    gc.freeze()
                    store = await SQLiteStore.open(path)
                    try:
                        await measure_passes(step, store, served, admin, rounds=args.rounds)
                    finally:
                        await store.close()
                    print(
                        f"  passes: sync {spread(step.sync_s)} s, drift {spread(step.drift_s)} s",
                        flush=True,
                    )
                await measure_app(step, data_dir, kubeconfig, tmp)
                print(
                    f"  app at {step.databases:,}: RSS {step.rss_mib:.1f} MiB, "
                    f"healthy in {step.start_s:.2f} s",
                    flush=True,
                )
        report(steps, steps[1] if len(steps) > 1 else steps[0], args)


if __name__ == "__main__":
    asyncio.run(main())
