"""The data plane's controller and knob, registered by the KubeDB plugin: a work queue per
database (of the kinds `registry` gives a real server) woken by the objects a server
depends on; servers stop with the simulator (ordered shutdown), and a temporary folder goes
with them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from simulator.extensions import Client, ControllerContext, Knob, Simulator
from simulator.kubedb import runner
from simulator.kubedb.cluster import Cluster
from simulator.kubedb.dataplane.plane import ENGINES, DataPlane
from simulator.kubedb.engines import BY_KIND
from simulator.kubedb.runner import Key

REAL_DATABASES = Knob(
    "real_databases",
    0,
    "how many databases may run a real server at once (Postgres, Redis; MariaDB and MySQL "
    "where mariadbd is installed); 0: all modelled",
    minimum=0,
)
_BY_NAME_LABEL = {f"{BY_KIND[kind].plural}.kubedb.com": kind for kind in ENGINES}
_BY_OPS_KIND = {BY_KIND[kind].ops_kind: kind for kind in ENGINES}


def _labelled(obj: dict[str, Any]) -> Key | None:
    md = obj.get("metadata") or {}
    labels = md.get("labels") or {}
    kind = _BY_NAME_LABEL.get(str(labels.get("app.kubernetes.io/name")))
    instance = labels.get("app.kubernetes.io/instance")
    return (kind, str(md.get("namespace")), str(instance)) if kind and instance else None


def _ops_target(obj: dict[str, Any]) -> Key | None:
    kind = _BY_OPS_KIND.get(str(obj.get("kind")))
    name = ((obj.get("spec") or {}).get("databaseRef") or {}).get("name")
    namespace = (obj.get("metadata") or {}).get("namespace")
    return (kind, str(namespace), str(name)) if kind and name else None


def install(sim: Simulator, cluster_of: Callable[[Client], Cluster]) -> DataPlane:
    sim.config.register(REAL_DATABASES)
    state = sim.state.path if sim.state is not None else None
    plane = DataPlane(state, limit=lambda: sim.config.get_int("real_databases"))

    async def dataplane(ctx: ControllerContext) -> None:
        cluster = cluster_of(ctx.client)
        if plane.root is None:
            await plane.open()
            await plane.release_held(cluster)

        async def reconcile(kind: str, namespace: str, name: str) -> float | None:
            return await plane.reconcile(cluster, kind, namespace, name)

        try:
            await runner.run(
                ctx,
                [(BY_KIND[k].plural, k) for k in ENGINES],
                reconcile,
                related=[
                    ("pods", _labelled),
                    ("persistentvolumeclaims", _labelled),
                    ("secrets", _labelled),
                    ("appbindings", _labelled),
                    *((BY_KIND[k].ops_plural, _ops_target) for k in ENGINES),
                ],
            )
        finally:
            if ctx.stopping.is_set():
                await asyncio.shield(plane.shutdown())

    sim.add_controller("dataplane", dataplane)
    return plane
