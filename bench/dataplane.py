"""How fast a real database answers, and what idle real databases cost.

    .venv/bin/python -m bench.dataplane [--databases 10] [--engine postgres|redis|both]

It starts the simulator in-process with the KubeDB model and its data plane (real servers
for up to `--databases` databases, time scale 0), creates the databases' CRs one after the
other and, for each, times from the create to the first successful query with a real client
(psycopg 3 `select 1`, redis-py `PING`) at the address the AppBinding publishes, with the
password of the auth Secret. Beside it, as the baseline of the same sitting, the time a
modelled database (real servers off) takes to reach phase Ready. Then it waits a few seconds
and prints the memory (RSS) of the idle servers, summed over their process trees.

The servers' folders live in a temporary folder the bench owns and removes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import redis.asyncio as aioredis

from simulator.client import Client
from simulator.kubedb import install
from simulator.server import Simulator, run_simulator

MODE = "dataplane.simulator.kubedb-dbaas.io/mode"
KINDS = {"postgres": ("Postgres", "postgreses", "16.13"), "redis": ("Redis", "redises", "8.2.2")}


def manifest(kind: str, version: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubedb.com/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "version": version,
            "storage": {"resources": {"requests": {"storage": "1Gi"}}},
            "deletionPolicy": "WipeOut",
        },
    }


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("the bench waited too long")
        await asyncio.sleep(0.02)


async def answers(engine: str, url: str, password: str) -> bool:
    try:
        if engine == "postgres":
            async with await psycopg.AsyncConnection.connect(
                url, user="postgres", password=password, connect_timeout=2
            ) as conn:
                await conn.execute("select 1")
            return True
        async with aioredis.from_url(url, password=password, socket_timeout=2) as client:
            return bool(await client.ping())
    except (psycopg.Error, OSError, aioredis.RedisError):
        return False


async def first_answer(client: Client, engine: str, name: str) -> float:
    """Seconds from the create to a real client's first successful query."""
    kind, _, version = KINDS[engine]
    started = time.monotonic()
    await client.create(manifest(kind, version, name))

    async def connected() -> bool:
        binding = await client.find("appbindings", name)
        secret = await client.find("secrets", f"{name}-auth")
        if binding is None or secret is None:
            return False
        if binding["metadata"].get("annotations", {}).get(MODE) != "real":
            return False
        url = binding["spec"]["clientConfig"].get("url")
        password = base64.b64decode(secret["data"]["password"]).decode()
        return bool(url) and await answers(engine, url, password)

    await until(connected)
    return time.monotonic() - started


async def modelled_ready(client: Client, engine: str, name: str) -> float:
    kind, plural, version = KINDS[engine]
    started = time.monotonic()
    await client.create(manifest(kind, version, name))

    async def ready() -> bool:
        found = await client.find(plural, name)
        return bool(found) and (found.get("status") or {}).get("phase") == "Ready"

    await until(ready)
    return time.monotonic() - started


def tree_rss_mib(root: int) -> float:
    """RSS of `root`'s descendants (the servers and their workers), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        kb = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)
        rss[int(entry.name)] = kb
    total, todo = 0, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / 1024


def figures(label: str, seconds: list[float]) -> str:
    return (
        f"{label}: mean {statistics.mean(seconds):.2f} s, "
        f"min {min(seconds):.2f} s, max {max(seconds):.2f} s over {len(seconds)}"
    )


async def run(engines: list[str], databases: int) -> None:
    async with run_simulator(simulator=Simulator(plugins=[install])) as served:
        served.simulator.config.update({"time_scale": 0.0, "real_databases": 0})
        client = served.client()
        for engine in engines:
            modelled = [await modelled_ready(client, engine, f"m-{engine}-{i}") for i in range(3)]
            print(figures(f"{engine} modelled, create to Ready (baseline)", modelled))
    folder = Path(tempfile.mkdtemp(prefix="bench-dataplane-"))
    os.chmod(folder, 0o711)  # the servers run as an unprivileged user: it must reach its folders
    try:
        state = folder / "state.db"
        sim = Simulator(plugins=[install], state=state)
        sim.config.update({"time_scale": 0.0, "real_databases": databases})
        async with run_simulator(simulator=sim) as served:
            client = served.client()
            per_engine = max(1, databases // len(engines))
            for engine in engines:
                real = [
                    await first_answer(client, engine, f"r-{engine}-{i}") for i in range(per_engine)
                ]
                print(figures(f"{engine} real, create to first successful query", real))
            await asyncio.sleep(3)  # idle
            print(
                f"memory of {per_engine * len(engines)} idle real databases: "
                f"{tree_rss_mib(os.getpid()):.0f} MiB RSS (servers and their workers)"
            )
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", type=int, default=10)
    parser.add_argument("--engine", choices=("postgres", "redis", "both"), default="both")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    engines = ["postgres", "redis"] if args.engine == "both" else [args.engine]
    asyncio.run(run(engines, args.databases))


if __name__ == "__main__":
    main()
