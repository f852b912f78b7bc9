"""`install(sim, cluster_of)`: the KubeStash model, installed by the KubeDB plugin: its
kinds and schemas, the addon catalog, the webhook, the knobs, and one controller per kind
it reconciles (BackupStorage, BackupConfiguration, BackupSession, RestoreSession)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.extensions import Client, Controller, ControllerContext, Simulator
from simulator.kubedb import runner
from simulator.kubedb.backup import (
    configuration,
    kinds,
    rules,
    s3,
    schemas,
    sessions,
    settings,
    snapshots,
    storage,
    timing,
)
from simulator.kubedb.backup.restore import Restores
from simulator.kubedb.cluster import Cluster


def _backend_secret(obj: dict[str, Any]) -> runner.Key | None:
    """A storage's credentials Secret `<storage>-backend` wakes that storage."""
    md = obj.get("metadata") or {}
    name = str(md.get("name", ""))
    return (
        ("BackupStorage", str(md.get("namespace")), name[: -len("-backend")])
        if name.endswith("-backend")
        else None
    )


def install(sim: Simulator, cluster_of: Callable[[Client], Cluster]) -> None:
    for knob in settings.KNOBS:
        sim.config.register(knob)
    for rt in kinds.ALL:
        if sim.registry.by_path(rt.group, rt.version, rt.plural) is None:
            sim.registry.add(rt)
        sim.add_schema(rt.api_version, rt.kind, schemas.BY_KIND[rt.kind]())
    for obj in kinds.catalog():
        sim.seed(obj)
    webhook = rules.BackupWebhook(sim.client(user="system:kubestash-webhook", admission=False))
    for rt in kinds.ALL:
        sim.add_admission_hook(webhook, group=rt.group, kind=rt.kind)
    clock = timing.SimClock(lambda: sim.config.get_float("time_scale"))

    def read() -> settings.BackupSettings:
        return settings.BackupSettings.read(sim.config)

    for name, controller in _controllers(cluster_of, clock, read).items():
        sim.add_controller(name, controller)


def _controllers(
    cluster_of: Callable[[Client], Cluster],
    clock: timing.SimClock,
    read: Callable[[], settings.BackupSettings],
) -> dict[str, Controller]:
    async def storages(ctx: ControllerContext) -> None:
        cluster = cluster_of(ctx.client)
        probes = s3.Probes()

        async def reconcile(_kind: str, namespace: str, name: str) -> float | None:
            return await storage.reconcile(cluster, namespace, name, clock.now(), probes=probes)

        await runner.run(
            ctx,
            [("backupstorages", "BackupStorage")],
            reconcile,
            related=[("secrets", _backend_secret)],
        )

    async def configurations(ctx: ControllerContext) -> None:
        model = configuration.Configurations(cluster_of(ctx.client), clock)

        async def reconcile(_kind: str, namespace: str, name: str) -> float | None:
            return await model.reconcile(namespace, name)

        await runner.run(ctx, [("backupconfigurations", "BackupConfiguration")], reconcile)

    async def backup_sessions(ctx: ControllerContext) -> None:
        model = sessions.Sessions(cluster_of(ctx.client), clock, read)

        async def reconcile(_kind: str, namespace: str, name: str) -> float | None:
            return await model.reconcile(namespace, name)

        try:
            await runner.run(ctx, [("backupsessions", "BackupSession")], reconcile)
        finally:
            await model.close()

    async def restore_sessions(ctx: ControllerContext) -> None:
        model = Restores(cluster_of(ctx.client), clock, read)

        async def reconcile(_kind: str, namespace: str, name: str) -> float | None:
            return await model.reconcile(namespace, name)

        try:
            await runner.run(ctx, [("restoresessions", "RestoreSession")], reconcile)
        finally:
            await model.close()

    async def snapshot_cleanup(ctx: ControllerContext) -> None:
        cluster = cluster_of(ctx.client)

        async def reconcile(_kind: str, namespace: str, name: str) -> float | None:
            return await snapshots.reconcile(cluster, namespace, name)

        await runner.run(ctx, [("snapshots", "Snapshot")], reconcile)

    return {
        "kubestash-snapshot": snapshot_cleanup,
        "kubestash-backupstorage": storages,
        "kubestash-backupconfiguration": configurations,
        "kubestash-backupsession": backup_sessions,
        "kubestash-restoresession": restore_sessions,
    }
