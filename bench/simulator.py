"""How the simulator holds a fleet: list 10,000 MongoDB objects over HTTP in pages.

    .venv/bin/python -m bench.simulator [--databases 10000] [--page 500] [--rounds 3]
        [--state FILE]

It starts the simulator in-process on a loopback socket, creates N MongoDB objects plus a
secret and a service for each through the in-process client (fast, same semantics, admission
on but no hooks registered), then lists every MongoDB object over HTTP with httpx in pages of
`--page` (limit + continue), `--rounds` times. It prints the time to create, the per-page
time (mean, max; each page includes the HTTP round trip and JSON decoding in the client,
which shares the process and its two cores with the server) and the process RSS. With
`--state FILE` the simulator keeps its objects in that SQLite file (the write path then
includes the disk) and the bench also times loading the file into a new simulator.

With `--kubedb` the KubeDB model runs too (time scale 0): the databases are created without
their secrets and services, the model provisions each (PetSet, pods, PVCs, Services,
AppBinding, auth Secret, Events) until every one is Ready, and the bench prints how long
that took and how many objects the store then holds, before listing as above.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from pathlib import Path

import httpx

from simulator import kubedb
from simulator.server import Simulator, run_simulator


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def mongodb(i: int) -> dict[str, object]:
    name = f"db-{i:05d}"
    return {
        "apiVersion": "kubedb.com/v1",
        "kind": "MongoDB",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {
                "app.kubernetes.io/instance": name,
                "dbaas.example.com/tenant": f"t{i % 50}",
            },
            "finalizers": ["kubedb.com"],
        },
        "spec": {
            "version": "8.0.17",
            "replicas": 3,
            "replicaSet": {"name": "rs0"},
            "storageType": "Durable",
            "storage": {
                "storageClassName": "standard",
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "10Gi"}},
            },
            "podTemplate": {
                "spec": {
                    "containers": [
                        {
                            "name": "mongodb",
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "1Gi"},
                                "limits": {"memory": "1Gi"},
                            },
                        }
                    ]
                }
            },
            "authSecret": {"kind": "Secret", "name": f"{name}-auth"},
            "deletionPolicy": "Delete",
        },
    }


def secret(i: int) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/basic-auth",
        "metadata": {"name": f"db-{i:05d}-auth", "namespace": "default"},
        "data": {"username": "cm9vdA==", "password": "c2VjcmV0LXBhc3N3b3JkLTEyMzQ="},
    }


def service(i: int) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"db-{i:05d}", "namespace": "default"},
        "spec": {
            "type": "ClusterIP",
            "ports": [{"name": "db", "port": 27017, "targetPort": "db"}],
            "selector": {"app.kubernetes.io/instance": f"db-{i:05d}"},
        },
    }


async def provision(sim: Simulator, databases: int) -> None:
    """Create the databases and wait until the model has made every one Ready."""
    client = sim.client()
    started = time.perf_counter()
    for i in range(databases):
        body = mongodb(i)
        del body["spec"]["authSecret"]  # type: ignore[index, attr-defined]
        await client.create(body)
    rt = sim.registry.resolve("mongodbs")
    while True:
        ready = sum(
            1 for _, obj in sim.store.scan(rt) if obj.get("status", {}).get("phase") == "Ready"
        )
        if ready == databases:
            break
        await asyncio.sleep(0.5)
    took = time.perf_counter() - started
    last = -1
    while sim.store.resource_version != last:  # the controllers' follow-up writes
        last = sim.store.resource_version
        await asyncio.sleep(1.0)
    settled = time.perf_counter() - started
    stored = sum(sim.store.count(t) for t in sim.registry)
    print(
        f"{databases} databases provisioned by the KubeDB model: all Ready in {took:.1f} s, "
        f"no more writes after {settled:.1f} s; the store holds {stored} objects "
        f"({stored / databases:.1f} per database)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--state", type=Path, help="keep the objects in this SQLite file")
    parser.add_argument("--kubedb", action="store_true", help="run the KubeDB model too")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    before = rss_mib()
    plugins = [kubedb.install] if args.kubedb else []
    async with run_simulator("127.0.0.1", 0, state=args.state, plugins=plugins) as served:
        client = served.client()
        if args.kubedb:
            served.simulator.config.update({"time_scale": 0.0})
            await provision(served.simulator, args.databases)
        else:
            started = time.perf_counter()
            for i in range(args.databases):
                await client.create(mongodb(i))
                await client.create(secret(i))
                await client.create(service(i))
            created = time.perf_counter() - started
            print(
                f"{args.databases} databases + secrets + services created in process in "
                f"{created:.1f} s ({3 * args.databases / created:.0f} objects/s)"
            )
        loaded = rss_mib()

        pages: list[float] = []
        async with httpx.AsyncClient(
            base_url=served.url, headers=served.admin_headers, timeout=30
        ) as http:
            for _ in range(args.rounds):
                token, seen = None, 0
                while True:
                    params = {"limit": str(args.page), **({"continue": token} if token else {})}
                    t0 = time.perf_counter()
                    response = await http.get("/apis/kubedb.com/v1/mongodbs", params=params)
                    body = response.json()
                    pages.append(time.perf_counter() - t0)
                    seen += len(body["items"])
                    token = body["metadata"].get("continue")
                    if not token:
                        break
                assert seen == args.databases, seen
        print(
            f"list mongodbs, pages of {args.page}: {len(pages)} pages over {args.rounds} "
            f"rounds, mean {statistics.mean(pages) * 1000:.1f} ms, "
            f"max {max(pages) * 1000:.1f} ms per page"
        )
        print(
            f"RSS: {before:.0f} MiB at start, {loaded:.0f} MiB loaded, "
            f"{rss_mib():.0f} MiB after listing"
        )
    if args.state is not None:
        t0 = time.perf_counter()
        reloaded = Simulator(state=args.state)
        took = time.perf_counter() - t0
        assert reloaded.state is not None
        reloaded.state.close()
        print(
            f"state file {args.state.stat().st_size / 2**20:.0f} MiB, "
            f"loaded into a new simulator in {took:.1f} s"
        )


if __name__ == "__main__":
    asyncio.run(main())
