"""The BackupConfiguration controller: validates the configuration (target, storages,
retention policies), creates the Repositories of its sessions, and triggers
BackupSessions `<bc>-<session>-<unixSeconds>`: one at once per non-suspended session when
the configuration first becomes Ready (`InitialBackupTriggered`), then on each session's
cron schedule, read on the simulator's clock (`timing.SimClock`). `spec.paused` and a
session's `scheduler.suspend` stop its triggers (an on-demand BackupSession still runs).
"""

from __future__ import annotations

from typing import Any

from croniter import croniter

from simulator.kubedb.backup import rules, storage, targets, timing
from simulator.kubedb.cluster import Cluster, ClusterError

RECHECK = 2.0
"""Real seconds between looks at a configuration: its storages and policies may change."""
NOT_READY_RECHECK = 0.5
"""Real seconds between looks at a configuration that is not Ready (its storage may be
about to be)."""
MIN_GAP = 0.2
"""Real seconds between two scheduled triggers at least (time scale 0 would flood)."""
INVOKER = {"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration"}


def owner(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def backup_session(bc: dict[str, Any], session: str, unix: int) -> dict[str, Any]:
    name = bc["metadata"]["name"]
    return {
        "apiVersion": "core.kubestash.com/v1alpha1",
        "kind": "BackupSession",
        "metadata": {
            "name": f"{name}-{session}-{unix}",
            "namespace": bc["metadata"]["namespace"],
            "labels": {
                "kubestash.com/invoker-name": name,
                "kubestash.com/invoker-kind": "BackupConfiguration",
            },
            "ownerReferences": [owner(bc)],
        },
        "spec": {"invoker": {**INVOKER, "name": name}, "session": session},
    }


class Configurations:
    def __init__(self, cluster: Cluster, clock: timing.SimClock) -> None:
        self._cluster = cluster
        self._clock = clock

    async def reconcile(self, namespace: str, name: str) -> float | None:
        bc = await self._cluster.peek("backupconfigurations", namespace, name)
        if bc is None or bc["metadata"].get("deletionTimestamp"):
            return None
        now = self._clock.now()
        old = dict(bc.get("status") or {})
        status: dict[str, Any] = {**old}
        problems = rules.backup_configuration(bc)
        spec = bc.get("spec") or {}
        target = await targets.database(self._cluster, spec.get("target") or {}, namespace)
        status["targetFound"] = target is not None
        status["backends"] = [await self._backend(b, namespace) for b in spec.get("backends") or ()]
        backends_ready = all(b["ready"] for b in status["backends"])
        if not problems:
            status["repositories"] = await self._repositories(bc)
        status["phase"] = (
            "Invalid"
            if problems
            else "Ready"
            if target is not None and backends_ready and status["backends"]
            else "NotReady"
        )
        reason = "ResourceValidationFailed" if problems else "ResourceValidationPassed"
        message = (
            "; ".join(f"{f}: {m}" for f, m in problems) or "Validation has been passed successfully"
        )
        status["conditions"] = [
            _cond("ValidationPassed", not problems, reason, message, old.get("conditions"), now)
        ]
        requeue: float | None = NOT_READY_RECHECK
        if status["phase"] == "Ready":
            due = await self._schedule(bc, status, now)
            requeue = RECHECK if due is None else max(MIN_GAP, min(due, RECHECK))
        if status != old:
            try:
                await self._cluster.replace_status("backupconfigurations", namespace, name, status)
            except ClusterError:
                return None
        return requeue

    async def _backend(self, backend: dict[str, Any], namespace: str) -> dict[str, Any]:
        ref = backend.get("storageRef") or {}
        store = await self._cluster.peek(
            "backupstorages", str(ref.get("namespace") or namespace), str(ref.get("name"))
        )
        ok, reason = storage.ready(store)
        policy_ref = backend.get("retentionPolicy") or {}
        policy = await self._cluster.peek(
            "retentionpolicies",
            str(policy_ref.get("namespace") or namespace),
            str(policy_ref.get("name")),
        )
        entry: dict[str, Any] = {
            "name": backend.get("name"),
            "ready": ok and policy is not None,
            "storage": {"ref": ref, "phase": "Ready" if ok else "NotReady"},
            "retentionPolicy": {"ref": policy_ref, "found": policy is not None},
        }
        if not ok:
            entry["storage"]["reason"] = reason
        if policy is None:
            entry["retentionPolicy"]["reason"] = (
                f'RetentionPolicy "{policy_ref.get("name")}" not found'
            )
        return entry

    async def _repositories(self, bc: dict[str, Any]) -> list[dict[str, Any]]:
        spec = bc.get("spec") or {}
        namespace = bc["metadata"]["namespace"]
        backends = {b.get("name"): b for b in spec.get("backends") or ()}
        out: list[dict[str, Any]] = []
        for session in spec.get("sessions") or ():
            for repo in session.get("repositories") or ():
                backend = backends.get(repo.get("backend")) or {}
                ref = backend.get("storageRef") or {}
                obj = {
                    "apiVersion": "storage.kubestash.com/v1alpha1",
                    "kind": "Repository",
                    "metadata": {
                        "name": repo["name"],
                        "namespace": namespace,
                        "labels": {"kubestash.com/invoker-name": bc["metadata"]["name"]},
                    },
                    "spec": {
                        "appRef": spec.get("target") or {},
                        "storageRef": {
                            "name": ref.get("name"),
                            "namespace": ref.get("namespace") or namespace,
                        },
                        "path": repo.get("directory", ""),
                        "deletionPolicy": repo.get("deletionPolicy") or "Delete",
                        **(
                            {"encryptionSecret": repo["encryptionSecret"]}
                            if repo.get("encryptionSecret")
                            else {}
                        ),
                    },
                }
                found = await self._cluster.peek("repositories", namespace, repo["name"])
                if found is None:
                    await self._cluster.create("repositories", namespace, obj)
                    found = await self._cluster.peek("repositories", namespace, repo["name"])
                out.append({"name": repo["name"], "phase": "Ready" if found else "NotReady"})
        return out

    async def _schedule(
        self, bc: dict[str, Any], status: dict[str, Any], now: float
    ) -> float | None:
        """Trigger what is due; the real seconds until the next trigger."""
        spec = bc.get("spec") or {}
        namespace = bc["metadata"]["namespace"]
        previous = {s.get("name"): s for s in (bc.get("status") or {}).get("sessions") or ()}
        sessions: list[dict[str, Any]] = []
        soonest: float | None = None
        for session in spec.get("sessions") or ():
            name = str(session.get("name"))
            scheduler = session.get("scheduler") or {}
            entry: dict[str, Any] = {
                "name": name,
                "conditions": list((previous.get(name) or {}).get("conditions") or []),
            }
            active = not spec.get("paused") and not scheduler.get("suspend")
            if active:
                if not any(c.get("type") == "InitialBackupTriggered" for c in entry["conditions"]):
                    await self._cluster.create(
                        "backupsessions", namespace, backup_session(bc, name, int(now))
                    )
                    entry["conditions"].append(
                        _cond(
                            "InitialBackupTriggered",
                            True,
                            "SuccessfullyTriggeredInitialBackup",
                            "Initial backup has been triggered",
                            None,
                            now,
                        )
                    )
                due = (previous.get(name) or {}).get("nextSchedule")
                due_at = timing.parse_stamp(str(due)) if due else None
                if due_at is not None and due_at <= now:
                    await self._cluster.create(
                        "backupsessions", namespace, backup_session(bc, name, int(due_at))
                    )
                    due_at = None
                if due_at is None:
                    due_at = float(croniter(str(scheduler.get("schedule")), now).get_next(float))
                entry["nextSchedule"] = timing.stamp(due_at)
                wait = self._clock.real_seconds(due_at - now)
                soonest = wait if soonest is None else min(soonest, wait)
            sessions.append(entry)
        status["sessions"] = sessions
        return soonest


def _cond(
    kind: str, ok: bool, reason: str, message: str, old: list[dict[str, Any]] | None, now: float
) -> dict[str, Any]:
    previous = next((c for c in old or () if c.get("type") == kind), None)
    status = "True" if ok else "False"
    at = (
        previous["lastTransitionTime"]
        if previous and previous.get("status") == status
        else timing.stamp(now)
    )
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": at,
    }
