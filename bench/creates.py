"""Creates end to end through the HTTP API: operations per second, create→succeeded, CPU.

    .venv/bin/python -m bench.creates [--creates 500] [--rounds 3] [--concurrency 16]

Each run starts, in their own processes and fresh folders, the bundled simulator
(`python -m simulator --time-scale 0 --real-databases 0`) and the app (`python -m app`) at
its defaults (SQLite and the embedded Redis under a new DATA_DIR, LOG_LEVEL=INFO with its
access log, 3 operation worker loops of `OPERATION_CONCURRENCY` 8), except that the rate
limit is raised far above the load (still on: its cost is measured, not its refusals), the
simulator's provider is given room for every database (`PATCH /providers/{id}`), and
the periodic passes are pushed to an hour (a status sync or drift pass would land in some
runs and not others). Then it POSTs `--creates` databases (Postgres 16.13, the default
size, spread over 10 projects) with `--concurrency` requests in flight, and waits until
every create operation has succeeded.

The control plane is what is measured. At `time_scale` 0 the simulator's KubeDB operator
makes a database Ready as fast as it can, and with `--real-databases 0` every database is
modelled: no PostgreSQL server is started per create (`make run` starts real servers for
the first `EMBEDDED_REAL_DATABASES`, 4 by default; here none). The creates ask for
`backup_enabled: false`: at `time_scale` 0 the simulator's backup clock runs 10,000 times
faster, so each database's daily backup would fire every few real seconds and the
simulator's KubeStash model (a full list of Snapshots per session) would take the
simulator's CPU, until it stopped answering the app within its 10 s timeout. The create
writes the same cluster objects either way (the BackupConfiguration with its scheduler
suspended).

Per run it prints: ops/s (creates divided by the time from the first POST to the last
operation's `completed_at`), p50/p99 of create→succeeded (each operation's `created_at` to
its `completed_at`, as the app stored them), and the CPU the app's and the simulator's
processes used over that time as a share of one core (from /proc). The runs alternate, in
each of `--rounds` rounds: the app at its defaults, then the baseline, the same app with
`OPERATION_CONCURRENCY=1` (one step at a time per worker loop, the behaviour before issue
19), and it prints min/median/max of each beside issue 19's goal (at least 100 ops/s at the
default 3 worker loops). One more run at `NUM_OPERATION_WORKERS=6` shows whether throughput
still grows with worker loops (it should not, once a create is bound by CPU). The operation
records are read from the app's SQLite file (read-only), so the waiting costs the app
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from app.domain.api_keys import new_token
from bench import http_load
from bench.http_load import (
    IDLE_PASSES,
    NO_RATE_LIMITS,
    ROOT,
    app_env,
    free_port,
    percentile,
    ready,
    server,
)

GOAL = 100.0
PROJECTS = 10
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    rate: float
    p50: float
    p99: float
    app_cpu: float
    sim_cpu: float
    failed: int
    app_ms: float  # the app's CPU per create
    # Requests the simulator served over the run, per create, in total and by verb+resource.
    calls: float
    call_kinds: dict[str, float]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def admin_client(kubeconfig: Path) -> httpx.AsyncClient:
    """A client of the simulator's admin API (`/_sim/`), as its kubeconfig's user."""
    config = json.loads(kubeconfig.read_text())
    cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
    verify: ssl.SSLContext | bool = True
    if "certificate-authority-data" in cluster:
        pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
        verify = ssl.create_default_context(cadata=pem)
    return httpx.AsyncClient(
        base_url=cluster["server"],
        headers={"Authorization": f"Bearer {user['token']}"},
        verify=verify,
        timeout=30,
    )


@contextlib.contextmanager
def simulator(tmp: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    kubeconfig = tmp / "kubeconfig"
    with (tmp / "simulator.log").open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulator",
                "--port",
                "0",
                "--kubeconfig-out",
                str(kubeconfig),
                "--time-scale",
                "0",
                "--real-databases",
                "0",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not (kubeconfig.exists() and kubeconfig.stat().st_size):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start: {tmp / 'simulator.log'}")
            time.sleep(0.1)
        yield process, kubeconfig
    finally:
        http_load.stop(process)


def _when(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def finished(db: Path) -> tuple[int, int, list[tuple[float, float]]]:
    """(succeeded, failed or cancelled, [(created_at, completed_at)] of the succeeded)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT json_extract(doc, '$.status'), json_extract(doc, '$.created_at'), "
            "json_extract(doc, '$.completed_at') FROM operations "
            "WHERE json_extract(doc, '$.type') = 'create'"
        ).fetchall()
    done = [(_when(c), _when(e)) for s, c, e in rows if s == "succeeded"]
    failed = sum(1 for s, _c, _e in rows if s in ("failed", "cancelled"))
    return len(done), failed, done


async def one_run(args: argparse.Namespace, env_extra: dict[str, str]) -> Run:
    with tempfile.TemporaryDirectory(prefix="bench-creates-") as tmp_dir:
        tmp = Path(tmp_dir)
        data_dir = tmp / "var"
        data_dir.mkdir()
        token = new_token()
        port = free_port()
        env = app_env(data_dir, port, token.text, **IDLE_PASSES, **NO_RATE_LIMITS, **env_extra)
        with simulator(tmp) as (sim, kubeconfig):
            env["CLUSTER_KUBECONFIG"] = str(kubeconfig)
            with server(["-m", "app"], port, env, tmp / "app.log") as app:
                await ready(app, "/health", check=lambda body: body.get("status") == "healthy")
                async with admin_client(kubeconfig) as sim_admin:
                    return await creates(
                        args, app.url, token.text, app.process.pid, sim.pid, data_dir, sim_admin
                    )


async def creates(
    args: argparse.Namespace,
    base: str,
    token: str,
    app_pid: int,
    sim_pid: int,
    data_dir: Path,
    sim_admin: httpx.AsyncClient,
) -> Run:
    db = data_dir / "kubedb-dbaas.sqlite3"
    names = iter(range(args.creates))
    refused: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def client_loop(client: httpx.AsyncClient) -> None:
        for i in names:
            answer = await client.post(
                f"/api/v1/domain/acme/project/p{i % PROJECTS}/databases",
                json={
                    "name": f"db-{i}",
                    "engine": "postgres",
                    "version": "16.13",
                    "backup_enabled": False,
                },
            )
            if answer.status_code != 202:
                refused.append(f"{answer.status_code} {answer.text[:200]}")

    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=60, limits=limits
    ) as client:
        # Room for every database on the simulator's provider (its nodes hold a few).
        local = (await client.get("/api/v1/providers")).json()["providers"][0]["id"]
        room = {"cpu_total_cores": 100_000, "memory_total_gb": 400_000, "storage_total_gb": 10**6}
        (await client.patch(f"/api/v1/providers/{local}", json=room)).raise_for_status()
        (await sim_admin.post("/_sim/stats/reset")).raise_for_status()
        app_cpu0, sim_cpu0 = cpu_seconds(app_pid), cpu_seconds(sim_pid)
        began = time.time()
        await asyncio.gather(*(client_loop(client) for _ in range(args.concurrency)))
    if refused:
        raise RuntimeError(f"{len(refused)} creates refused, first: {refused[0]}")
    deadline = time.monotonic() + args.timeout
    while True:
        succeeded, failed, spans = finished(db)
        if succeeded + failed >= args.creates:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{succeeded} of {args.creates} succeeded in {args.timeout:g}s")
        await asyncio.sleep(0.1)
    app_cpu, sim_cpu = cpu_seconds(app_pid) - app_cpu0, cpu_seconds(sim_pid) - sim_cpu0
    served = (await sim_admin.get("/_sim/stats")).json()
    elapsed = max(end for _s, end in spans) - began
    latencies = [end - start for start, end in spans]
    return Run(
        rate=args.creates / elapsed,
        p50=statistics.median(latencies),
        p99=percentile(latencies, 0.99),
        app_cpu=app_cpu / elapsed,
        sim_cpu=sim_cpu / elapsed,
        failed=failed,
        app_ms=1000 * app_cpu / args.creates,
        calls=served["total"] / args.creates,
        call_kinds={kind: n / args.creates for kind, n in served["requests"].items()},
    )


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def report(label: str, runs: list[Run]) -> None:
    print(
        f"  {label:<34} ops/s {spread([r.rate for r in runs], '6.1f')}"
        f"   p50 {spread([r.p50 for r in runs], '.2f')} s"
        f"   p99 {spread([r.p99 for r in runs], '.2f')} s"
        f"   app CPU {spread([100 * r.app_cpu for r in runs], '.0f')} %"
        f"   simulator CPU {spread([100 * r.sim_cpu for r in runs], '.0f')} %"
        f"   app CPU/create {spread([r.app_ms for r in runs], '.1f')} ms"
        f"   cluster calls/create {spread([r.calls for r in runs], '.2f')}"
        f"   failed {sum(r.failed for r in runs)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="default and baseline alternated")
    parser.add_argument("--concurrency", type=int, default=16, help="POSTs in flight")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for a run")
    parser.add_argument(
        "--no-six", action="store_true", help="skip the run at NUM_OPERATION_WORKERS=6"
    )
    parser.add_argument(
        "--defaults-only",
        action="store_true",
        help="only the runs at the defaults (to compare two checkouts run in turn)",
    )
    args = parser.parse_args()
    print(
        f"{args.creates} creates (postgres 16.13, default size, {PROJECTS} projects), "
        f"{args.concurrency} POSTs in flight; app at its defaults, simulator at time_scale 0 "
        f"with every database modelled; {args.rounds} rounds alternated"
    )
    default: list[Run] = []
    baseline: list[Run] = []
    for i in range(args.rounds):
        default.append(await one_run(args, {}))
        report(f"round {i + 1}: defaults", default[-1:])
        if args.defaults_only:
            continue
        baseline.append(await one_run(args, {"OPERATION_CONCURRENCY": "1"}))
        report(f"round {i + 1}: baseline", baseline[-1:])
    report("defaults (3 loops x 8 steps)", default)
    if baseline:
        report("baseline OPERATION_CONCURRENCY=1", baseline)
    if not (args.no_six or args.defaults_only):
        report(
            "NUM_OPERATION_WORKERS=6 (x 8)", [await one_run(args, {"NUM_OPERATION_WORKERS": "6"})]
        )
    kinds = default[-1].call_kinds
    print(
        "  cluster calls per create (last defaults run): "
        + ", ".join(f"{kind} {n:.2f}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
    )
    if baseline:
        ratios = [d.rate / b.rate for d, b in zip(default, baseline, strict=True)]
        print(f"  defaults / baseline ops/s {spread(ratios, '.2f')}")
    rate = statistics.median(r.rate for r in default)
    met = "met" if rate >= GOAL else "NOT met"
    print(f"  defaults median {rate:.1f} ops/s   goal >= {GOAL:g}: {met}")
    print(json.dumps({"uptime": os.getloadavg()}))


if __name__ == "__main__":
    # A SIGTERM stops the servers this bench started too (their `finally`), not only itself.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    asyncio.run(main())
