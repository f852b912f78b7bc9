"""The operator's side of an archived database (KubeDB's archiver controllers): a database
that opts in (`spec.archiver.ref`, admitted by the archiver's `databases`) is listed in the
archiver's `status.databaseRefs`, gets the BackupConfiguration `<db>-archiver` (a full
backup at once, then on the archiver's schedule) and continuous archiving: a real
PostgreSQL its WAL sidekick (`sidekick`), a modelled database a modelled window (from its
oldest full backup to now, on the simulator's clock). Turning archiving off (the ref
removed, or no longer admitted) stops the sidekick and deletes the BackupConfiguration;
the repositories, snapshots and WAL stay (Retain).
"""

from __future__ import annotations

from typing import Any

import structlog

from simulator.kubedb.archiver import configuration, consumers, kinds, window
from simulator.kubedb.archiver.sidekick import Sidekicks, storage_root
from simulator.kubedb.backup import retention, targets, timing
from simulator.kubedb.cluster import Cluster, ClusterError
from simulator.kubedb.dataplane.plane import DataPlane
from simulator.kubedb.dataplane.port import Mode
from simulator.kubedb.engines import BY_KIND

log = structlog.get_logger(__name__)

RECHECK = 2.0
Key = tuple[str, str, str]


class Archiving:
    def __init__(self, cluster: Cluster, plane: DataPlane, clock: timing.SimClock) -> None:
        self._cluster = cluster
        self._plane = plane
        self._clock = clock
        self.sidekicks = Sidekicks(cluster, plane)

    async def reconcile(self, kind: str, namespace: str, name: str) -> float | None:
        if kind in kinds.DATABASE_OF:  # an archiver changed: look at its kind's databases
            db_kind = kinds.DATABASE_OF[kind]
            for db in await self._cluster.list(BY_KIND[db_kind].plural):
                md = db["metadata"]
                await self._database(db_kind, str(md["namespace"]), str(md["name"]))
            return None
        return await self._database(kind, namespace, name)

    async def _database(self, kind: str, namespace: str, name: str) -> float | None:
        key = (kind, namespace, name)
        db = await self._cluster.peek(BY_KIND[kind].plural, namespace, name)
        archiver = await consumers.archiver_of(self._cluster, db) if db is not None else None
        await self._refs(kind, namespace, name, archiver)
        if db is None or archiver is None:
            await self._off(key)
            return None
        assert db is not None
        if not targets.accepting(db):
            return RECHECK / 4  # real or modelled is known once the server accepts connections
        spec = archiver.get("spec") or {}
        paused = bool(spec.get("pause") or (db["spec"].get("archiver") or {}).get("pause"))
        real = kind == "Postgres" and self._plane.mode(key) == Mode.REAL
        if real:
            ref = (spec.get("backupStorage") or {}).get("ref") or {}
            store = await self._cluster.peek(
                "backupstorages",
                str(ref.get("namespace") or archiver["metadata"]["namespace"]),
                str(ref.get("name")),
            )
            root = storage_root(store)
            if root is None or self._plane.running(key) is None:
                return RECHECK  # the server or the storage is not there yet
            path = f"{configuration.directory(archiver, db)}/wal"
            if paused:
                await self.sidekicks.stop(key)
            else:
                self.sidekicks.ensure(key, root=root, path=path)
            if not self.sidekicks.ready(key) and not paused:
                return RECHECK / 4  # the full backup waits for archiving to be on
        await self._configuration(archiver, db, paused=paused)
        if not real:
            await self._modelled_window(archiver, db)
        return RECHECK

    async def _configuration(
        self, archiver: dict[str, Any], db: dict[str, Any], *, paused: bool
    ) -> None:
        wanted = configuration.build(archiver, db, paused=paused)
        namespace, name = db["metadata"]["namespace"], wanted["metadata"]["name"]
        found = await self._cluster.peek("backupconfigurations", namespace, name)
        if found is None:
            await self._cluster.create("backupconfigurations", namespace, wanted)
            log.info("archiver_backup_configuration_created", bc=f"{namespace}/{name}")
        elif found.get("spec") != wanted["spec"]:
            try:
                await self._cluster.merge_patch(
                    "backupconfigurations", namespace, name, {"spec": wanted["spec"]}
                )
            except ClusterError:
                return

    async def _modelled_window(self, archiver: dict[str, Any], db: dict[str, Any]) -> None:
        meta = db["metadata"]
        namespace, name = str(meta["namespace"]), str(meta["name"])
        fulls = [
            s
            for s in await retention.snapshots_of(
                self._cluster, namespace, window.full_repository(name)
            )
            if (s.get("status") or {}).get("phase") == "Succeeded"
            and (s.get("spec") or {}).get("type") != "IncrementalBackup"
        ]
        if not fulls:
            return
        start = min(timing.parse_stamp(str(s["status"]["snapshotTime"])) for s in fulls)
        now = self._clock.now()
        path = f"{configuration.directory(archiver, db)}/wal"
        snap = window.incremental(
            db, real=False, path=path, start=start, end=now, lsn="", counts={"succeeded": 1}
        )
        try:
            await self._cluster.create("snapshots", namespace, snap)
            await self._cluster.replace_status(
                "snapshots", namespace, window.snapshot(name), snap["status"]
            )
        except ClusterError:
            return

    async def _refs(
        self, kind: str, namespace: str, name: str, archiver: dict[str, Any] | None
    ) -> None:
        """`status.databaseRefs` of every archiver of the kind lists the database exactly
        when it is the one archiving it."""
        me = {"name": name, "namespace": namespace}
        for candidate in await self._cluster.list(kinds.BY_DATABASE[kind].plural):
            status = dict(candidate.get("status") or {})
            refs = [r for r in status.get("databaseRefs") or () if r != me]
            if archiver is not None and candidate["metadata"]["uid"] == archiver["metadata"]["uid"]:
                refs.append(me)
            refs.sort(key=lambda r: (r["namespace"], r["name"]))
            if refs == (status.get("databaseRefs") or []):
                continue
            status["databaseRefs"] = refs
            md = candidate["metadata"]
            try:
                await self._cluster.replace_status(
                    kinds.BY_DATABASE[kind].plural, md["namespace"], md["name"], status
                )
            except ClusterError:
                continue

    async def _off(self, key: Key) -> None:
        _kind, namespace, name = key
        await self.sidekicks.stop(key)
        bc = await self._cluster.peek("backupconfigurations", namespace, window.configuration(name))
        labels = ((bc or {}).get("metadata") or {}).get("labels") or {}
        if bc is not None and "kubedb.com/archiver-name" in labels:
            await self._cluster.delete(
                "backupconfigurations", namespace, window.configuration(name)
            )
            log.info("archiver_backup_configuration_deleted", db="/".join(key))
