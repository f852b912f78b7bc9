"""KubeDB's side of a restore: a database created with `spec.init.waitForInitialRestore`
stops short of Ready once it accepts connections (`DataRestoreStarted`, phase
DataRestoring) until a RestoreSession targeting it Succeeds (`DataRestored` True,
`SuccessfullyDataRestored`); a Failed one sets `DataRestored` False (`FailedToRestoreData`,
phase NotReady). A point-in-time recovery (`spec.init.archiver`) is restoring from the
start: its data is recovered before its server starts (`simulator.kubedb.archiver`). The
provisioner stays the one writer of the database's status: it calls `hold` and is woken by
the RestoreSessions' changes."""

from __future__ import annotations

from typing import Any

from simulator.kubedb import conditions
from simulator.kubedb.cluster import Cluster

STARTED_REASON = "DataRestoreStartedByExternalInitializer"
ARCHIVER_REASON = "DataRestoreStartedByArchiverRecovery"


async def hold(
    cluster: Cluster, db: dict[str, Any], conds: list[dict[str, Any]], *, stamp: str
) -> bool:
    """Step the restore conditions in `conds`; True while Ready must wait for the restore."""
    init = (db.get("spec") or {}).get("init") or {}
    archiver = (init.get("archiver") or {}).get("recoveryTimestamp")
    if not (init.get("waitForInitialRestore") or archiver) or conditions.is_true(
        conds, "DataRestored"
    ):
        return False
    if not archiver and not conditions.is_true(conds, "AcceptingConnection"):
        return True  # a point-in-time recovery starts before the server: its data is the restore
    meta = db["metadata"]
    generation = int(meta.get("generation", 1))
    if conditions.find(conds, "DataRestoreStarted") is None:
        conditions.set_condition(
            conds,
            "DataRestoreStarted",
            "True",
            reason=ARCHIVER_REASON if archiver else STARTED_REASON,
            message=f"Recovering to {archiver} from the archive"
            if archiver
            else "Waiting for the initial restore (a RestoreSession targeting the database)",
            now=stamp,
            generation=generation,
        )
    outcome = await _outcome(cluster, db)
    if outcome is None:
        return True
    phase, error = outcome
    if phase == "Succeeded":
        conditions.set_condition(
            conds,
            "DataRestored",
            "True",
            reason="SuccessfullyDataRestored",
            message=f"Successfully recovered data to {archiver}"
            if archiver
            else "Successfully restored data by the initial RestoreSession",
            now=stamp,
            generation=generation,
        )
        return False
    conditions.set_condition(
        conds,
        "DataRestored",
        "False",
        reason="FailedToRestoreData",
        message=f"Failed to restore data: {error}",
        now=stamp,
        generation=generation,
    )
    return True


async def _outcome(cluster: Cluster, db: dict[str, Any]) -> tuple[str, str] | None:
    """The finished RestoreSessions' verdict on the database: a success wins."""
    meta = db["metadata"]
    failed: tuple[str, str] | None = None
    for rs in await cluster.list("restoresessions", meta["namespace"]):
        target = (rs.get("spec") or {}).get("target") or {}
        if (
            target.get("kind") != db.get("kind")
            or target.get("name") != meta["name"]
            or (target.get("namespace") or meta["namespace"]) != meta["namespace"]
        ):
            continue
        status = rs.get("status") or {}
        if status.get("phase") == "Succeeded":
            return "Succeeded", ""
        if status.get("phase") == "Failed":
            failed = ("Failed", str(status.get("error", "the RestoreSession failed")))
    return failed
