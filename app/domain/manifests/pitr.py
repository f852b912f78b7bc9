"""KubeDB's continuous-archiving objects (reference/kubestash.md §2, the PITR contract in
docs/architecture.md decision 69), built from plain values.

Per backup storage `S`, engine kind and provider cluster, in the platform namespace
`kubedb-dbaas-backup`: the archiver `S-<engine>` (PostgresArchiver `S-postgres`, ...) over
the storage's `pitr` folder, selecting the databases labelled `dbaas.io/archiver: S`.

A database opts in with that label and `spec.archiver.ref` on its CR (`opt_in_patch`);
KubeDB then makes `<db>-archiver` (a BackupConfiguration), the repositories `<db>-full` and
`<db>-manifest`, and the Snapshot `<db>-incremental-snapshot` whose WAL (binlog, oplog)
log stats are the restore window. A point-in-time restore is a new database whose
`spec.init.archiver` names those repositories and the time (`recovery_init`). Redis has no
archiver, so none of this exists for it. Nothing here does I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain import engines
from app.domain.manifests import JsonObject, labels, names
from app.domain.manifests.backups import KEEP_MANUAL, PLATFORM_NAMESPACE

ARCHIVER_LABEL = "dbaas.io/archiver"
SUB_DIR = "pitr"
# Full backups daily (the window's base); the log is shipped continuously in between.
FULL_BACKUP_SCHEDULE = "0 0 * * *"
LOG_RETENTION = "30d"


def _archiver_kind(engine: engines.Engine) -> str:
    kind = engines.ENGINES[engine].archiver_kind
    if kind is None:
        raise ValueError(f"{engine.value} has no archiver")
    return kind


def archiver_name(storage: str, engine: engines.Engine) -> str:
    """`<storage>-<engine>`: one archiver per storage and engine kind."""
    return names.derived_name(storage, engine.value)


def archiver(storage: str, engine: engines.Engine) -> JsonObject:
    """The archiver of `engine` databases backed up to `storage`."""
    return {
        "apiVersion": engines.ARCHIVER_API_VERSION,
        "kind": _archiver_kind(engine),
        "metadata": {
            "name": archiver_name(storage, engine),
            "namespace": PLATFORM_NAMESPACE,
            "labels": {labels.MANAGED_BY_KEY: labels.MANAGED_BY},
        },
        "spec": {
            "databases": {
                "namespaces": {"from": "All"},
                "selector": {"matchLabels": {ARCHIVER_LABEL: storage}},
            },
            "retentionPolicy": {"name": KEEP_MANUAL, "namespace": PLATFORM_NAMESPACE},
            "fullBackup": {
                "driver": "Restic",
                "scheduler": {
                    "schedule": FULL_BACKUP_SCHEDULE,
                    "successfulJobsHistoryLimit": 1,
                    "failedJobsHistoryLimit": 1,
                },
                "sessionHistoryLimit": 2,
            },
            "logBackup": {
                "retentionPeriod": LOG_RETENTION,
                "successfulLogHistoryLimit": 5,
                "failedLogHistoryLimit": 5,
            },
            "manifestBackup": {"scheduler": {"schedule": FULL_BACKUP_SCHEDULE}},
            "backupStorage": {
                "ref": {"name": storage, "namespace": PLATFORM_NAMESPACE},
                "subDir": SUB_DIR,
            },
            "deletionPolicy": "Retain",
            "pause": False,
        },
    }


def opt_in_patch(storage: str, engine: engines.Engine) -> JsonObject:
    """The merge patch that puts a database CR under the archiver of `storage`."""
    return {
        "metadata": {"labels": {ARCHIVER_LABEL: storage}},
        "spec": {
            "archiver": {
                "ref": {"name": archiver_name(storage, engine), "namespace": PLATFORM_NAMESPACE}
            }
        },
    }


def opt_out_patch() -> JsonObject:
    """The merge patch that takes a database CR out of continuous archiving."""
    return {"metadata": {"labels": {ARCHIVER_LABEL: None}}, "spec": {"archiver": None}}


def is_opted_in(database_cr: JsonObject) -> bool:
    metadata = database_cr.get("metadata") or {}
    spec = database_cr.get("spec") or {}
    return ARCHIVER_LABEL in (metadata.get("labels") or {}) or spec.get("archiver") is not None


def full_repository(database: str) -> str:
    return names.derived_name(database, "full")


def manifest_repository(database: str) -> str:
    return names.derived_name(database, "manifest")


def incremental_snapshot_name(database: str) -> str:
    return names.derived_name(database, "incremental-snapshot")


def rfc3339(moment: datetime) -> str:
    """A time as KubeDB's `recoveryTimestamp` wants it: UTC with `Z`, fractions of a second
    kept when given (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def recovery_init(
    *,
    source_namespace: str,
    full_repo: str,
    manifest_repo: str,
    point_in_time: datetime,
) -> JsonObject:
    """The part of a new database's spec that recovers it from a source's archive to
    `point_in_time` (`spec.init.archiver`, KubeDB's ArchiverRecovery)."""
    return {
        "init": {
            "archiver": {
                "recoveryTimestamp": rfc3339(point_in_time),
                "fullDBRepository": {"name": full_repo, "namespace": source_namespace},
                "manifestRepository": {"name": manifest_repo, "namespace": source_namespace},
                "replicationStrategy": "none",
            }
        }
    }
