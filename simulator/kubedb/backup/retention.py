"""Retention, applied to one repository after each BackupSession, and the Repository's
status (snapshot count, size, recent snapshots).

The rules (an assumption, flagged in the reference: KubeStash's operator combines them in
code not read here): a Succeeded snapshot older than `maxRetentionPeriod` goes; of those
left, only the newest `successfulSnapshots.last` stay (when set); of the Failed ones the
newest `failedSnapshots.last` (default 1) stay. Deleting a snapshot deletes its object and
its folder on the storage.
"""

from __future__ import annotations

from typing import Any

from simulator.kubedb.backup import backends, storage, timing
from simulator.kubedb.cluster import Cluster, ClusterError

REPO_LABEL = storage.REPO_LABEL
RECENT = 5


async def snapshots_of(cluster: Cluster, namespace: str, repository: str) -> list[dict[str, Any]]:
    """The repository's snapshots, newest first (those being deleted are gone already)."""
    found = [
        s
        for s in await cluster.list("snapshots", namespace)
        if (s["metadata"].get("labels") or {}).get(REPO_LABEL) == repository
        and not s["metadata"].get("deletionTimestamp")
    ]
    return sorted(found, key=_taken, reverse=True)


def _taken(snapshot: dict[str, Any]) -> float:
    status = snapshot.get("status") or {}
    text = status.get("snapshotTime") or snapshot["metadata"].get("creationTimestamp")
    return timing.parse_stamp(str(text)) if text else 0.0


def doomed(
    snapshots: list[dict[str, Any]], policy: dict[str, Any], now: float
) -> list[dict[str, Any]]:
    """Which of `snapshots` (newest first) the policy removes."""
    spec = policy.get("spec") or {}
    period = spec.get("maxRetentionPeriod")
    cutoff = now - timing.period_minutes(str(period)) * 60 if period else None
    keep_last = (spec.get("successfulSnapshots") or {}).get("last")
    keep_failed = int((spec.get("failedSnapshots") or {}).get("last", 1))
    gone: list[dict[str, Any]] = []
    kept_ok = kept_failed = 0
    for snap in snapshots:
        phase = (snap.get("status") or {}).get("phase")
        if (snap.get("spec") or {}).get("type") == "IncrementalBackup":
            continue  # an archiver's log window: its logBackup.retentionPeriod governs it
        if phase == "Failed":
            if kept_failed >= keep_failed:
                gone.append(snap)
            kept_failed += 1
        elif phase == "Succeeded":
            if (cutoff is not None and _taken(snap) < cutoff) or (
                keep_last is not None and kept_ok >= int(keep_last)
            ):
                gone.append(snap)
            else:
                kept_ok += 1
    return gone


async def apply(
    cluster: Cluster,
    repository: dict[str, Any],
    policy: dict[str, Any],
    *,
    store: dict[str, Any] | None,
    now: float,
) -> int:
    """Remove what the policy says; the number removed."""
    meta = repository["metadata"]
    snapshots = await snapshots_of(cluster, meta["namespace"], meta["name"])
    gone = doomed(snapshots, policy, now)
    for snap in gone:
        await cluster.delete("snapshots", meta["namespace"], snap["metadata"]["name"])
        directory = str((repository.get("spec") or {}).get("path", "")).strip("/")
        await backends.remove(cluster, store, f"{directory}/{snap['metadata']['name']}")
    return len(gone)


async def refresh(cluster: Cluster, namespace: str, name: str, now: float) -> None:
    """The Repository's status from its snapshots."""
    repo = await cluster.peek("repositories", namespace, name)
    if repo is None:
        return
    snapshots = await snapshots_of(cluster, namespace, name)
    size = sum(storage.size_bytes(s) for s in snapshots)
    succeeded = [s for s in snapshots if (s.get("status") or {}).get("phase") == "Succeeded"]
    status: dict[str, Any] = {
        "phase": "Ready",
        "integrity": True,
        "snapshotCount": len(snapshots),
        "size": timing.human_size(size),
        "recentSnapshots": [
            {
                "name": s["metadata"]["name"],
                "phase": (s.get("status") or {}).get("phase"),
                "session": (s.get("spec") or {}).get("session"),
                "size": (s.get("status") or {}).get("size"),
                "snapshotTime": (s.get("status") or {}).get("snapshotTime"),
            }
            for s in snapshots[:RECENT]
        ],
        "conditions": [
            {
                "type": "RepositoryInitialized",
                "status": "True",
                "reason": "RepositoryInitializationSucceeded",
                "message": "Repository has been initialized successfully",
                "lastTransitionTime": (repo.get("status") or {}).get("initializedAt")
                or timing.stamp(now),
            }
        ],
    }
    if succeeded:
        status["lastBackupTime"] = (succeeded[0].get("status") or {}).get("snapshotTime")
    if status != (repo.get("status") or {}):
        try:
            await cluster.replace_status("repositories", namespace, name, status)
        except ClusterError:
            return
