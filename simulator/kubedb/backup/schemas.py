"""Structural schemas of the KubeStash kinds, from the Go types' fields the model reads
(reference kubestash.md §1); deep structures it does not read (job templates, runtime
settings, hooks, volume sources) are kept whole, and each status is kept whole: the
controllers write it."""

from __future__ import annotations

from typing import Any

from simulator.extensions import schema as s

Schema = dict[str, Any]


def _ref() -> Schema:
    return s.obj({"name": s.string(), "namespace": s.string()})


def _typed_ref() -> Schema:
    return s.obj(
        {"apiGroup": s.string(), "kind": s.string(), "namespace": s.string(), "name": s.string()}
    )


def _usage() -> Schema:
    return s.obj(
        {
            "allowedNamespaces": s.obj(
                {
                    "from": s.string("All, Selector or Same", enum=("All", "Selector", "Same")),
                    "selector": s.any_object(),
                }
            )
        }
    )


_DELETION = s.string("Delete or WipeOut", enum=("Delete", "WipeOut"))
_STATUS = s.any_object("written by the KubeStash operator")


def _bucket(*fields: str, **more: Schema) -> Schema:
    return s.obj(
        {f: s.string() for f in fields} | {"maxConnections": s.integer()} | more, preserve=True
    )


def backup_storage() -> Schema:
    storage = s.obj(
        {
            "provider": s.string(enum=("local", "s3", "gcs", "azure")),
            "s3": _bucket(
                "endpoint", "bucket", "prefix", "region", "secretName", insecureTLS=s.boolean()
            ),
            "gcs": _bucket("bucket", "prefix", "secretName"),
            "azure": _bucket("storageAccount", "container", "prefix", "secretName"),
            "local": s.obj(
                {"mountPath": s.string(), "subPath": s.string(), "hostPath": s.any_object()},
                preserve=True,
            ),
        },
        required=("provider",),
    )
    spec = s.obj(
        {
            "storage": storage,
            "usagePolicy": _usage(),
            "default": s.boolean(),
            "deletionPolicy": _DELETION,
            "runtimeSettings": s.any_object(),
        },
        required=("storage",),
    )
    return s.obj({"spec": spec, "status": _STATUS}, required=("spec",))


def repository() -> Schema:
    spec = s.obj(
        {
            "appRef": _typed_ref(),
            "storageRef": _ref(),
            "path": s.string(),
            "deletionPolicy": s.string(enum=("Delete", "WipeOut", "Retain")),
            "encryptionSecret": _ref(),
            "paused": s.boolean(),
        }
    )
    return s.obj({"spec": spec, "status": _STATUS})


def snapshot() -> Schema:
    spec = s.obj(
        {
            "snapshotID": s.string(),
            "type": s.string(enum=("FullBackup", "IncrementalBackup")),
            "repository": s.string(),
            "session": s.string(),
            "backupSession": s.string(),
            "version": s.string(),
            "appRef": _typed_ref(),
            "deletionPolicy": _DELETION,
            "paused": s.boolean(),
        }
    )
    return s.obj({"spec": spec, "status": _STATUS})


def retention_policy() -> Schema:
    successful = s.obj(
        {k: s.integer() for k in ("last", "hourly", "daily", "weekly", "monthly", "yearly")}
    )
    spec = s.obj(
        {
            "maxRetentionPeriod": s.string("e.g. 30d, 2mo, 12h, 30d12h30m (m: minutes)"),
            "successfulSnapshots": successful,
            "failedSnapshots": s.obj({"last": s.integer()}),
            "usagePolicy": _usage(),
            "default": s.boolean(),
        }
    )
    return s.obj({"spec": spec})


def _session() -> Schema:
    scheduler = s.obj(
        {
            "schedule": s.string("cron"),
            "startingDeadlineSeconds": s.integer(fmt="int64"),
            "concurrencyPolicy": s.string(enum=("Allow", "Forbid", "Replace")),
            "suspend": s.boolean(),
            "jobTemplate": s.any_object(),
            "successfulJobsHistoryLimit": s.integer(),
            "failedJobsHistoryLimit": s.integer(),
        }
    )
    repository_ = s.obj(
        {
            "name": s.string(),
            "backend": s.string(),
            "directory": s.string(),
            "encryptionSecret": _ref(),
            "deletionPolicy": s.string(enum=("Delete", "WipeOut", "Retain")),
            "backupVerifier": s.any_object(),
        }
    )
    return s.obj(
        {
            "name": s.string(),
            "scheduler": scheduler,
            "hooks": s.any_object(),
            "retryConfig": s.any_object(),
            "backupTimeout": s.string(),
            "sessionHistoryLimit": s.integer(),
            "addon": s.any_object("{name, tasks[{name, params}], ...}"),
            "repositories": s.array(repository_),
        }
    )


def backup_configuration() -> Schema:
    backend = s.obj({"name": s.string(), "storageRef": _ref(), "retentionPolicy": _ref()})
    spec = s.obj(
        {
            "target": _typed_ref(),
            "backends": s.array(backend),
            "sessions": s.array(_session()),
            "paused": s.boolean(),
        }
    )
    return s.obj({"spec": spec, "status": _STATUS})


def backup_session() -> Schema:
    spec = s.obj(
        {
            "invoker": s.obj({"apiGroup": s.string(), "kind": s.string(), "name": s.string()}),
            "session": s.string(),
            "retryLeft": s.integer(),
            "backupTimeout": s.string(),
        }
    )
    return s.obj({"spec": spec, "status": _STATUS})


def restore_session() -> Schema:
    data_source = s.obj(
        {
            "namespace": s.string(),
            "repository": s.string(),
            "snapshot": s.string("a Snapshot name or latest"),
            "pitr": s.obj({"targetTime": s.string(fmt="date-time"), "exclusive": s.boolean()}),
            "components": s.array(s.string()),
            "encryptionSecret": _ref(),
        }
    )
    spec = s.obj(
        {
            "target": _typed_ref(),
            "dataSource": data_source,
            "addon": s.any_object(),
            "hooks": s.any_object(),
            "restoreTimeout": s.string(),
            "manifestOptions": s.any_object(),
        }
    )
    return s.obj({"spec": spec, "status": _STATUS})


def addon() -> Schema:
    return s.obj({"spec": s.any_object("backupTasks[] and restoreTasks[]")})


def function() -> Schema:
    return s.obj({"spec": s.any_object("image, command, args")})


BY_KIND = {
    "BackupStorage": backup_storage,
    "Repository": repository,
    "Snapshot": snapshot,
    "RetentionPolicy": retention_policy,
    "BackupConfiguration": backup_configuration,
    "BackupSession": backup_session,
    "RestoreSession": restore_session,
    "Addon": addon,
    "Function": function,
}
