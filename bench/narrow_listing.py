"""The passes' cluster listing, narrow against whole, alternated in one process.

    .venv/bin/python -m bench.narrow_listing [--databases 20000] [--rounds 5]

`bench.scale`'s fleet (five engines, Ready CRs with their AppBindings, records synced),
then `--rounds` rounds, alternately, of a steady status-sync pass and a drift-repair pass
reading the cluster as they do (`KubeGateway.list_narrow`: each page decoded into the
fields the pass reads) and as they did before (every object decoded whole, then reduced
as dicts: `list_reduced`). Both read the same simulator and store in the same minutes, so
their ratio holds on a shared machine where absolute figures do not. CPU is this process's
(the simulator serving included, the same for both); `listing only` is the snapshot alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from app.broker.client import make_client
from app.broker.streams import OperationQueue
from app.cluster.config import ClusterConnection
from app.cluster.gateway import KubeGateway
from app.domain.engines import Resource
from app.services.catalog import CatalogService
from app.services.cluster_view import ClusterView
from app.services.drift_repair import DriftRepair
from app.services.operations import OperationDefaults, OperationService
from app.services.status_sync import StatusSync
from app.store.sqlite import SQLiteStore
from bench.scale import STORE_FILE, TABLE, embedded_redis, seed, simulated

S = TypeVar("S")
T = TypeVar("T")


class WholeListing:
    """The gateway as the passes read it before `list_narrow`: every object whole."""

    def __init__(self, gateway: KubeGateway) -> None:
        self._gateway = gateway

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    async def list_narrow(
        self,
        resource: Resource,
        shape: type[S],
        reduce: Callable[[S], T],
        whole: Callable[[dict[str, Any]], T],
        **options: Any,
    ) -> list[T]:
        return await self._gateway.list_reduced(resource, whole, **options)


async def timed(run: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    began, cpu = time.perf_counter(), time.process_time()
    await run()
    return time.perf_counter() - began, time.process_time() - cpu


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        path = tmp / STORE_FILE
        await (await SQLiteStore.open(path)).close()
        async with simulated(tmp, bindings=True) as (served, _, _):
            await seed(path, served, args.databases)
            gc.collect()
            gc.freeze()  # the simulator's objects stand for another process's
            store = await SQLiteStore.open(path)
            gateway = KubeGateway.connect(
                ClusterConnection.kubeconfig(json.dumps(served.kubeconfig())), timeout=60
            )
            async with embedded_redis(Path(tempfile.mkdtemp(prefix="bench-narrow-"))) as url:
                redis = make_client(url)
                try:
                    ways: dict[str, Any] = {"narrow": gateway, "whole": WholeListing(gateway)}
                    passes = {}
                    for way, source in ways.items():
                        view = ClusterView(source)
                        operations = OperationService(
                            store,
                            OperationQueue(redis, prefix="bench:ops"),
                            OperationDefaults(deadline=60),
                        )
                        repair = DriftRepair(
                            store, view, operations, CatalogService(gateway, TABLE), TABLE
                        )
                        passes[way] = (view, StatusSync(store, view), repair)
                    for _ in range(args.rounds):
                        for way, (view, status_sync, repair) in passes.items():
                            for what, run in (
                                ("listing only", lambda v=view: v.snapshot(bindings=True)),
                                ("status sync", lambda s=status_sync: s.run_pass(lambda _: True)),
                                ("drift repair", lambda r=repair: r.run_pass(lambda: None)),
                            ):
                                figures.setdefault((what, way), []).append(await timed(run))
                finally:
                    await redis.aclose()
                    await gateway.close()
                    await store.close()
    n = args.databases
    print(f"{n:,} databases, {args.rounds} rounds alternated; medians per database:")
    for what in ("listing only", "status sync", "drift repair"):
        row = {}
        for way in ("narrow", "whole"):
            took = figures[(what, way)]
            row[way] = (
                statistics.median(t[0] for t in took) / n * 1e6,
                statistics.median(t[1] for t in took) / n * 1e6,
            )
        narrow, whole = row["narrow"], row["whole"]
        print(
            f"  {what:<13} narrow {narrow[0]:7.1f} µs (CPU {narrow[1]:7.1f})"
            f"   whole {whole[0]:7.1f} µs (CPU {whole[1]:7.1f})"
            f"   narrow/whole: wall {narrow[0] / whole[0]:.2f}x, CPU {narrow[1] / whole[1]:.2f}x"
        )


if __name__ == "__main__":
    asyncio.run(main())
