"""The archiver.kubedb.com/v1alpha1 kinds (reference kubestash.md §2, KDB-API
`apis/archiver/v1alpha1`): one per engine with an archiver here (never Redis), their
structural schemas, and which database kind each serves."""

from __future__ import annotations

from typing import Any

from simulator.extensions import ResourceType
from simulator.extensions import schema as s

GROUP = "archiver.kubedb.com"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
Schema = dict[str, Any]


def _kind(kind: str, plural: str, short: tuple[str, ...]) -> ResourceType:
    return ResourceType(
        group=GROUP,
        version=VERSION,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        short_names=short,
        namespaced=True,
        status=True,
        custom=True,
        categories=("archiver", "kubedb", "appscode", "all"),
        columns=(("Age", ".metadata.creationTimestamp"),),
    )


BY_DATABASE: dict[str, ResourceType] = {
    "Postgres": _kind("PostgresArchiver", "postgresarchivers", ("pgarchiver",)),
    "MySQL": _kind("MySQLArchiver", "mysqlarchivers", ("myarchiver",)),
    "MariaDB": _kind("MariaDBArchiver", "mariadbarchivers", ("mdarchiver",)),
    "MongoDB": _kind("MongoDBArchiver", "mongodbarchivers", ("mgarchiver",)),
}
ALL = tuple(BY_DATABASE.values())
DATABASE_OF = {rt.kind: kind for kind, rt in BY_DATABASE.items()}


def _ref() -> Schema:
    return s.obj({"name": s.string(), "namespace": s.string()})


def _scheduler() -> Schema:
    return s.obj(
        {
            "schedule": s.string("cron schedule"),
            "concurrencyPolicy": s.string(),
            "jobTemplate": s.any_object(),
            "successfulJobsHistoryLimit": s.integer(),
            "failedJobsHistoryLimit": s.integer(),
        }
    )


def archiver() -> Schema:
    """The spec shared by the PG, MySQL, MariaDB and MongoDB archivers."""
    databases = s.obj(
        {
            "namespaces": s.obj(
                {
                    "from": s.string("All, Selector or Same", enum=("All", "Selector", "Same")),
                    "selector": s.any_object(),
                }
            ),
            "selector": s.any_object("a label selector of the databases"),
        }
    )
    full_backup = s.obj(
        {
            "driver": s.string("VolumeSnapshotter or Restic", enum=("VolumeSnapshotter", "Restic")),
            "task": s.any_object(),
            "scheduler": _scheduler(),
            "containerRuntimeSettings": s.any_object(),
            "jobTemplate": s.any_object(),
            "retryConfig": s.any_object(),
            "timeout": s.string(),
            "sessionHistoryLimit": s.integer(),
        }
    )
    retention_period = s.string("how long archived logs are kept: 30d, 2w, 6m (months), 1y")
    retention_period["pattern"] = "^[1-9][0-9]*[dwmy]$"
    log_backup = s.obj(
        {
            "runtimeSettings": s.any_object(),
            "configSecret": s.any_object(),
            "retentionPeriod": retention_period,
            "retentionSchedule": s.string(),
            "successfulLogHistoryLimit": s.integer(),
            "failedLogHistoryLimit": s.integer(),
            "logRetentionHistoryLimit": s.integer(),
        }
    )
    spec = s.obj(
        {
            "databases": databases,
            "pause": s.boolean(),
            "retentionPolicy": _ref(),
            "fullBackup": full_backup,
            "logBackup": log_backup,
            "manifestBackup": s.obj(
                {
                    "scheduler": _scheduler(),
                    "jobTemplate": s.any_object(),
                    "retryConfig": s.any_object(),
                    "timeout": s.string(),
                    "sessionHistoryLimit": s.integer(),
                }
            ),
            "encryptionSecret": _ref(),
            "backupStorage": s.obj({"ref": _ref(), "subDir": s.string()}),
            "deletionPolicy": s.string(
                "Delete, WipeOut or Retain", enum=("Delete", "WipeOut", "Retain")
            ),
        }
    )
    status = s.obj(
        {"databaseRefs": s.array(_ref(), "the databases archived by this archiver")},
        preserve=True,
    )
    return s.obj({"spec": spec, "status": status})


def init_archiver() -> Schema:
    """A database's `spec.init.archiver` (KubeDB ArchiverRecovery)."""
    return s.obj(
        {
            "recoveryTimestamp": s.string("RFC3339 time to recover to", fmt="date-time"),
            "encryptionSecret": _ref(),
            "fullDBRepository": _ref(),
            "manifestRepository": _ref(),
            "replicationStrategy": s.string(
                "sync, fscopy, clone or none", enum=("sync", "fscopy", "clone", "none")
            ),
            "manifestOptions": s.obj(
                {"archiver": s.boolean(), "archiverRef": _ref(), "initScript": s.boolean()}
            ),
        },
        required=("recoveryTimestamp",),
    )
