"""The ops-manager: runs OpsRequests Pending -> Progressing -> Successful | Failed.

While a request runs, its database carries the `Paused` condition; at the end the change is
written into the database spec (replicas, container resources, storage, version, the auth
secret) and `Paused` is removed, as reference §5.1 describes. `apply: IfReady` (the default)
waits for the database to be Ready. One request per database runs at a time; the others
stay Pending. Failures are drawn with `ops_failure_probability`; `stuck_ops` never finish.
"""

from __future__ import annotations

from typing import Any

from simulator.kubedb import conditions, events
from simulator.kubedb.cluster import Cluster, ClusterError
from simulator.kubedb.engines import BY_OPS_KIND, Engine
from simulator.kubedb.events import Recorder
from simulator.kubedb.offshoots import Offshoots
from simulator.kubedb.provisioner import parse_time, secret_data, timestamp
from simulator.kubedb.reconciler import Reconciler
from simulator.kubedb.settings import OperatorSettings

_POD_WAIT_STEPS = 5
"""A request whose pods are not ready this many durations after its time is up fails."""

TERMINAL = frozenset({"Successful", "Failed", "Skipped", "Denied"})

_DONE_MESSAGES = {
    "HorizontalScaling": "Successfully Horizontally Scaled Database",
    "VerticalScaling": "Successfully Vertically Scaled Database",
    "VolumeExpansion": "Successfully Expanded Volume",
    "UpdateVersion": "Successfully Updated Database Version",
    "Restart": "Successfully Restarted Database",
    "RotateAuth": "Successfully Rotated Authentication Credentials",
}


class OpsManager(Reconciler):
    def __init__(
        self,
        cluster: Cluster,
        settings: OperatorSettings,
        *,
        offshoots: Offshoots,
        recorder: Recorder,
        **kwargs: Any,
    ) -> None:
        super().__init__(cluster, settings, **kwargs)
        self._offshoots = offshoots
        self._events = recorder

    async def reconcile(self, kind: str, namespace: str, name: str) -> float | None:
        engine = BY_OPS_KIND[kind]
        ops = await self._cluster.get(engine.ops_plural, namespace, name)
        if ops is None or ops["metadata"].get("deletionTimestamp"):
            return None
        status: dict[str, Any] = dict(ops.get("status") or {})
        phase = status.get("phase") or ""
        if phase in TERMINAL:
            return None
        spec = ops.get("spec") or {}
        op_type = str(spec.get("type"))
        db_name = str((spec.get("databaseRef") or {}).get("name"))
        db = await self._cluster.get(engine.plural, namespace, db_name)
        now = self._now()
        stamp = timestamp(now)
        conds: list[dict[str, Any]] = [dict(c) for c in status.get("conditions") or []]
        generation = int(ops["metadata"].get("generation", 1))
        status["observedGeneration"] = generation

        if db is None:
            await self._end(
                engine,
                ops,
                status,
                conds,
                stamp,
                ok=False,
                message=f'database "{db_name}" not found',
                db=None,
            )
            return None
        if phase == "":
            status["phase"] = "Pending"
            conditions.set_condition(
                conds,
                op_type,
                "True",
                reason=op_type,
                message=f"{op_type} requested",
                now=stamp,
                generation=generation,
            )
            status["conditions"] = conds
            await self._write_status(engine.ops_plural, namespace, name, status)
            return 0.0
        if phase == "Pending":
            if not await self._may_start(engine, ops, db):
                return max(self._settings.step, 0.05)
            status["phase"] = "Progressing"
            conditions.set_condition(
                conds,
                "Progressing",
                "True",
                reason="OpsRequestProgressing",
                message=f"{op_type} is progressing",
                now=stamp,
                generation=generation,
            )
            status["conditions"] = conds
            await self._pause_database(engine, db, stamp, paused=True)
            await self._write_status(engine.ops_plural, namespace, name, status)
            self._timeline.mark(kind, namespace, name, "Progressing")
            await self._events.record(
                ops,
                "Normal",
                "Pausing",
                f"Pausing {engine.kind} database: {namespace}/{db_name}",
                component=events.OPS_MANAGER,
            )
            if not self._expansion_fails(ops, namespace, db_name):
                await self._roll_out(engine, ops, db)
            return self._settings.ops_duration
        return await self._progress(engine, ops, db, status, conds)

    async def _progress(
        self,
        engine: Engine,
        ops: dict[str, Any],
        db: dict[str, Any],
        status: dict[str, Any],
        conds: list[dict[str, Any]],
    ) -> float | None:
        """A Progressing request: finish it once its time is up and the pods have rolled."""
        kind, namespace, name = ops["kind"], ops["metadata"]["namespace"], ops["metadata"]["name"]
        db_name = db["metadata"]["name"]
        op_type = str((ops.get("spec") or {}).get("type"))
        now = self._now()
        stamp = timestamp(now)
        if self._settings.is_stuck(namespace, name):
            return None
        elapsed = self._timeline.since(kind, namespace, name, "Progressing")
        if elapsed is None:  # started before this process: trust the stored time
            started = conditions.find(conds, "Progressing")
            started_at = parse_time(str(started["lastTransitionTime"])) if started else now
            elapsed = now.timestamp() - started_at.timestamp()
        remaining = self._settings.ops_duration - elapsed
        if remaining > 0:
            return remaining
        if self._expansion_fails(ops, namespace, db_name):
            self._timeline.forget(kind, namespace, name)
            await self._fail_expansion(engine, ops, status, conds, stamp, db)
            return None
        target = _merged(db, _spec_patch(engine, ops, db))
        if not (await self._offshoots.health(engine, target)).all_ready:
            step = max(self._settings.step, 0.05)
            if -remaining < _POD_WAIT_STEPS * max(self._settings.ops_duration, step):
                return step  # the pods are still rolling
            self._timeline.forget(kind, namespace, name)
            message = f"{op_type} failed: timeout waiting for the pods of {db_name} to be ready"
            await self._end(engine, ops, status, conds, stamp, ok=False, message=message, db=db)
            return None
        self._timeline.forget(kind, namespace, name)
        if self._rng.random() < self._settings.ops_failure_probability:
            await self._end(
                engine,
                ops,
                status,
                conds,
                stamp,
                ok=False,
                message=f"{op_type} failed: the simulated cluster said no",
                db=db,
            )
            return None
        await self._apply(engine, ops, db, stamp)
        await self._end(
            engine,
            ops,
            status,
            conds,
            stamp,
            ok=True,
            message=_DONE_MESSAGES.get(op_type, f"Successfully ran {op_type}"),
            db=db,
        )
        return None

    def _expansion_fails(self, ops: dict[str, Any], namespace: str, db_name: str) -> bool:
        return (ops.get("spec") or {}).get(
            "type"
        ) == "VolumeExpansion" and self._settings.expansion_fails(namespace, db_name)

    async def _roll_out(self, engine: Engine, ops: dict[str, Any], db: dict[str, Any]) -> None:
        """Update the PetSets to the request's target (the pods and PVCs follow); the
        database's spec is written only when the request succeeds."""
        patch = _spec_patch(engine, ops, db)
        if not patch:
            return
        target = _merged(db, patch)
        image = await self._offshoots.image(engine, str(target["spec"].get("version")))
        try:
            await self._offshoots.ensure_petsets(engine, target, image)
        except ClusterError:
            return

    async def _fail_expansion(
        self,
        engine: Engine,
        ops: dict[str, Any],
        status: dict[str, Any],
        conds: list[dict[str, Any]],
        stamp: str,
        db: dict[str, Any],
    ) -> None:
        namespace, db_name = db["metadata"]["namespace"], db["metadata"]["name"]
        claim = "datadir" if engine.kind == "MongoDB" else "data"
        pvc_name = f"{claim}-{db_name}-0"
        message = (
            f"failed to expand PersistentVolumeClaim {namespace}/{pvc_name}: the volume "
            "provider did not grow the volume (resize failed)"
        )
        conditions.set_condition(
            conds,
            "VolumeExpansion",
            "False",
            reason="VolumeExpansionFailed",
            message=message,
            now=stamp,
            generation=int(ops["metadata"].get("generation", 1)),
        )
        pvc = await self._cluster.get("persistentvolumeclaims", namespace, pvc_name)
        if pvc is not None:
            await self._events.record(
                pvc,
                "Warning",
                "VolumeResizeFailed",
                f"resize volume {pvc_name} failed: the volume provider refused to grow it",
                component="external-resizer",
            )
        await self._end(engine, ops, status, conds, stamp, ok=False, message=message, db=db)

    async def _may_start(self, engine: Engine, ops: dict[str, Any], db: dict[str, Any]) -> bool:
        spec = ops.get("spec") or {}
        if (
            spec.get("apply", "IfReady") == "IfReady"
            and (db.get("status") or {}).get("phase") != "Ready"
        ):
            return False
        namespace = ops["metadata"]["namespace"]
        db_name = db["metadata"]["name"]
        for other in await self._cluster.list(engine.ops_plural, namespace):
            if other["metadata"]["name"] == ops["metadata"]["name"]:
                continue
            if (other.get("spec") or {}).get("databaseRef", {}).get("name") != db_name:
                continue
            if (other.get("status") or {}).get("phase") == "Progressing":
                return False
        return True

    async def _end(
        self,
        engine: Engine,
        ops: dict[str, Any],
        status: dict[str, Any],
        conds: list[dict[str, Any]],
        stamp: str,
        *,
        ok: bool,
        message: str,
        db: dict[str, Any] | None,
    ) -> None:
        generation = int(ops["metadata"].get("generation", 1))
        conditions.remove_condition(conds, "Progressing")
        if ok:
            conditions.set_condition(
                conds,
                "Successful",
                "True",
                reason="Successful",
                message=message,
                now=stamp,
                generation=generation,
            )
        else:
            conditions.set_condition(
                conds,
                "Failed",
                "False",
                reason="Failed",
                message=message,
                now=stamp,
                generation=generation,
            )
        status["conditions"] = conds
        status["phase"] = "Successful" if ok else "Failed"
        await self._events.record(
            ops,
            "Normal" if ok else "Warning",
            "Successful" if ok else "Failed",
            message,
            component=events.OPS_MANAGER,
        )
        if db is not None:
            await self._pause_database(engine, db, stamp, paused=False)
        await self._write_status(
            engine.ops_plural, ops["metadata"]["namespace"], ops["metadata"]["name"], status
        )

    async def _pause_database(
        self, engine: Engine, db: dict[str, Any], stamp: str, *, paused: bool
    ) -> None:
        fresh = await self._cluster.get(
            engine.plural, db["metadata"]["namespace"], db["metadata"]["name"]
        )
        if fresh is None:
            return
        status = dict(fresh.get("status") or {})
        conds = [dict(c) for c in status.get("conditions") or []]
        if paused:
            conditions.set_condition(
                conds,
                "Paused",
                "True",
                reason="OpsRequestProgressing",
                message="An OpsRequest is running",
                now=stamp,
                generation=int(fresh["metadata"]["generation"]),
            )
        else:
            conditions.remove_condition(conds, "Paused")
        status["conditions"] = conds
        await self._write_status(
            engine.plural, fresh["metadata"]["namespace"], fresh["metadata"]["name"], status
        )

    async def _write_status(
        self, plural: str, namespace: str, name: str, status: dict[str, Any]
    ) -> None:
        try:
            await self._cluster.replace_status(plural, namespace, name, status)
        except ClusterError:
            return

    async def _apply(
        self, engine: Engine, ops: dict[str, Any], db: dict[str, Any], stamp: str
    ) -> None:
        """Write the request's change into the database (and its secret)."""
        spec = ops.get("spec") or {}
        namespace, name = db["metadata"]["namespace"], db["metadata"]["name"]
        patch = _spec_patch(engine, ops, db)
        if spec.get("type") == "RotateAuth":
            await self._rotate(engine, db, spec, stamp)
        if patch:
            try:
                await self._cluster.merge_patch(engine.plural, namespace, name, patch)
            except ClusterError:
                return

    async def _rotate(
        self, engine: Engine, db: dict[str, Any], spec: dict[str, Any], stamp: str
    ) -> None:
        namespace = db["metadata"]["namespace"]
        auth = (db.get("spec") or {}).get("authSecret") or {}
        secret_name = auth.get("name") or f"{db['metadata']['name']}-auth"
        current = await self._cluster.get("secrets", namespace, secret_name)
        old = (current or {}).get("data") or {}
        source_name = ((spec.get("authentication") or {}).get("secretRef") or {}).get("name")
        if source_name:
            source = await self._cluster.get("secrets", namespace, source_name)
            new_data = dict((source or {}).get("data") or {})
        else:
            password = self._password()
            new_data = {
                "username": old.get("username") or secret_data({"u": engine.default_user})["u"],
                **secret_data({"password": password}),
            }
        if "username" in old:
            new_data["username.prev"] = old["username"]
        if "password" in old:
            new_data["password.prev"] = old["password"]
        try:
            await self._cluster.merge_patch(
                "secrets",
                namespace,
                secret_name,
                {
                    "data": new_data,
                    "metadata": {"annotations": {"kubedb.com/auth-active-from": stamp}},
                },
            )
        except ClusterError:
            return
        fresh = await self._cluster.get(engine.plural, namespace, db["metadata"]["name"])
        if fresh is not None:
            status = dict(fresh.get("status") or {})
            status["authSecret"] = {"lastUpdateTimestamp": stamp}
            await self._write_status(engine.plural, namespace, db["metadata"]["name"], status)


def _spec_patch(engine: Engine, ops: dict[str, Any], db: dict[str, Any]) -> dict[str, Any]:
    """The change the request writes into the database's spec (a merge patch)."""
    spec = ops.get("spec") or {}
    op_type = spec.get("type")
    if op_type == "HorizontalScaling":
        return _horizontal_patch(engine, spec.get("horizontalScaling") or {})
    if op_type == "VerticalScaling":
        return _vertical_patch(engine, db, spec.get("verticalScaling") or {})
    if op_type == "VolumeExpansion":
        sizes = {k: v for k, v in (spec.get("volumeExpansion") or {}).items() if k != "mode"}
        if sizes:
            size = next(iter(sizes.values()))
            return {"spec": {"storage": {"resources": {"requests": {"storage": size}}}}}
    if op_type == "UpdateVersion":
        return {"spec": {"version": (spec.get("updateVersion") or {}).get("targetVersion")}}
    return {}


def _merged(doc: Any, patch: Any) -> Any:
    """`doc` with a merge patch applied (RFC 7386), as a new tree."""
    if not isinstance(patch, dict) or not isinstance(doc, dict):
        return patch
    merged = dict(doc)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merged(doc.get(key), value)
    return merged


def _horizontal_patch(engine: Engine, scaling: dict[str, Any]) -> dict[str, Any]:
    if engine.kind in ("MySQL", "MariaDB") and "member" in scaling:
        return {"spec": {"replicas": scaling["member"]}}
    if engine.kind == "Redis" and ("shards" in scaling or "replicas" in scaling):
        cluster = {k: scaling[k] for k in ("shards", "replicas") if k in scaling}
        return (
            {"spec": {"cluster": cluster}}
            if "shards" in scaling
            else {"spec": {"replicas": scaling["replicas"]}}
        )
    if "replicas" in scaling:
        return {"spec": {"replicas": scaling["replicas"]}}
    return {}


def _vertical_patch(engine: Engine, db: dict[str, Any], scaling: dict[str, Any]) -> dict[str, Any]:
    component = next(
        (v for k, v in scaling.items() if k not in ("mode", "exporter", "coordinator")), None
    )
    if not isinstance(component, dict) or "resources" not in component:
        return {}
    template = dict((db.get("spec") or {}).get("podTemplate") or {})
    pod_spec = dict(template.get("spec") or {})
    containers = [dict(c) for c in pod_spec.get("containers") or []]
    target = next((c for c in containers if c.get("name") == engine.container), None)
    if target is None:
        target = {"name": engine.container}
        containers.append(target)
    target["resources"] = component["resources"]
    # Merge patch replaces arrays whole: send the full container list.
    return {"spec": {"podTemplate": {"spec": {"containers": containers}}}}
