"""The names KubeDB gives an archived database's objects (KDB-API archiver `const.go`), and
the restorable window: the incremental Snapshot `<db>-incremental-snapshot` whose
`status.components.wal.logStats.start/end` say which times a recovery can reach."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from simulator.kubedb.backup import retention, timing

SNAPSHOT_SUFFIX = "incremental-snapshot"
BC_SUFFIX = "archiver"
FULL, MANIFEST = "full-backup", "manifest-backup"
REAL_ANNOTATION = "simulator.kubedb-dbaas.io/wal"
"""`real` on an incremental Snapshot whose WAL is a real server's (a real recovery)."""


def configuration(db: str) -> str:
    return f"{db}-{BC_SUFFIX}"


def full_repository(db: str) -> str:
    return f"{db}-full"


def manifest_repository(db: str) -> str:
    return f"{db}-manifest"


def snapshot(db: str) -> str:
    return f"{db}-{SNAPSHOT_SUFFIX}"


def parse(text: str) -> float:
    """An RFC3339 time (`Z` or an offset, fractions allowed); ValueError when not one."""
    parsed = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return parsed.astimezone(UTC).timestamp()


def stamp_up(unix: float) -> str:
    """A window's start, rounded up to the second: never before what a recovery can reach."""
    return timing.stamp(math.ceil(unix))


def stamp_down(unix: float) -> str:
    """A window's end, rounded down to the second."""
    return timing.stamp(math.floor(unix))


def bounds(snap: dict[str, Any] | None) -> tuple[float, float] | None:
    """The window an incremental Snapshot holds, or None."""
    stats = (((snap or {}).get("status") or {}).get("components") or {}).get("wal") or {}
    log_stats = stats.get("logStats") or {}
    try:
        return parse(str(log_stats["start"])), parse(str(log_stats["end"]))
    except (KeyError, ValueError):
        return None


def incremental(
    db: dict[str, Any],
    *,
    real: bool,
    path: str,
    start: float,
    end: float,
    lsn: str,
    counts: dict[str, int],
) -> dict[str, Any]:
    """The incremental Snapshot of `db` with the window [start, end]."""
    meta = db["metadata"]
    name, namespace = str(meta["name"]), str(meta["namespace"])
    app_ref = {"apiGroup": "kubedb.com", "kind": db["kind"], "namespace": namespace, "name": name}
    return {
        "apiVersion": "storage.kubestash.com/v1alpha1",
        "kind": "Snapshot",
        "metadata": {
            "name": snapshot(name),
            "namespace": namespace,
            "labels": {
                retention.REPO_LABEL: full_repository(name),
                "kubestash.com/app-ref-kind": str(db["kind"]),
                "kubestash.com/app-ref-name": name,
                "kubestash.com/app-ref-namespace": namespace,
            },
            "annotations": {REAL_ANNOTATION: "real" if real else "modelled"},
        },
        "spec": {
            "type": "IncrementalBackup",
            "repository": full_repository(name),
            "session": FULL,
            "appRef": app_ref,
            "version": "v1",
            "deletionPolicy": "Delete",
        },
        "status": status(path=path, start=start, end=end, lsn=lsn, counts=counts),
    }


def status(
    *, path: str, start: float, end: float, lsn: str, counts: dict[str, int]
) -> dict[str, Any]:
    stats = {
        "start": stamp_up(start),
        "end": stamp_down(max(end, math.ceil(start))),
        "lsn": lsn,
        "totalSucceededCount": counts.get("succeeded", 0),
        "totalFailedCount": counts.get("failed", 0),
    }
    return {
        "phase": "Succeeded",
        "snapshotTime": stamp_up(start),
        "lastUpdateTime": stamp_down(end),
        "totalComponents": 1,
        "integrity": True,
        "components": {
            "wal": {"driver": "WalG", "phase": "Succeeded", "path": path, "logStats": stats}
        },
    }
