"""`install(sim, cluster_of, plane)`: the archiver.kubedb.com kinds and their schemas, and
two controllers: archiving (databases that opt in, their archivers) and point-in-time
recovery (databases created with `spec.init.archiver`), whose model is also the data
plane's seeder."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from simulator.extensions import Client, ControllerContext, Simulator
from simulator.kubedb import runner
from simulator.kubedb.archiver import kinds
from simulator.kubedb.archiver.archiving import Archiving
from simulator.kubedb.archiver.recovery import Recoveries
from simulator.kubedb.backup import timing
from simulator.kubedb.cluster import Cluster
from simulator.kubedb.dataplane.plane import DataPlane
from simulator.kubedb.engines import BY_KIND


def install(sim: Simulator, cluster_of: Callable[[Client], Cluster], plane: DataPlane) -> None:
    for rt in kinds.ALL:
        if sim.registry.by_path(rt.group, rt.version, rt.plural) is None:
            sim.registry.add(rt)
        sim.add_schema(rt.api_version, rt.kind, kinds.archiver())
    clock = timing.SimClock(lambda: sim.config.get_float("time_scale"))
    recoveries = Recoveries(
        cluster_of(sim.client(user="system:kubedb-archiver", admission=False)), plane
    )
    plane.seeder = recoveries
    databases = [(BY_KIND[k].plural, k) for k in kinds.BY_DATABASE]

    async def archiving(ctx: ControllerContext) -> None:
        model = Archiving(cluster_of(ctx.client), plane, clock)
        try:
            await runner.run(
                ctx, [*databases, *((rt.plural, rt.kind) for rt in kinds.ALL)], model.reconcile
            )
        finally:
            await asyncio.shield(model.sidekicks.close())

    async def recovery(ctx: ControllerContext) -> None:
        try:
            await runner.run(ctx, databases, recoveries.reconcile)
        finally:
            await asyncio.shield(recoveries.close())

    sim.add_controller("kubedb-archiver", archiving)
    sim.add_controller("kubedb-archiver-recovery", recovery)
