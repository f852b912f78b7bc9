"""Backup storages: where KubeStash writes the backups of databases (issue 16).

A storage is an admin record, like a provider: a name (a DNS label, since it becomes the
name of a KubeStash BackupStorage and of its `<name>-backend` Secret on every provider
cluster), a provider (`local`, `s3`, `gcs`, `azure`), where in it (bucket, prefix, region,
endpoint; a `local` storage's `path` is chosen by the service, never by a client), its
credentials encrypted (the service's job: this module only says which fields each provider
needs and the Secret keys KubeStash reads them from), and whether it is the default (the
storage of databases that name none; the store keeps at most one).

The rules (`check`): s3, gcs and azure need a bucket (a container on azure) and their
credentials (`CREDENTIAL_FIELDS`); `local` needs neither. A missing or unexpected field is
an `InvalidValue` naming it (the API answers 422 with the field). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.domain import clock, ids, validation
from app.domain.errors import InvalidValue


class StorageProvider(StrEnum):
    LOCAL = "local"
    S3 = "s3"
    GCS = "gcs"
    AZURE = "azure"


# The credential fields each provider needs, in the API's words, with the key of the
# KubeStash backend Secret each one goes to (reference: kubestash.md, credential secrets).
CREDENTIAL_FIELDS: Mapping[StorageProvider, Mapping[str, str]] = {
    StorageProvider.LOCAL: {},
    StorageProvider.S3: {
        "access_key_id": "AWS_ACCESS_KEY_ID",
        "secret_access_key": "AWS_SECRET_ACCESS_KEY",
    },
    StorageProvider.GCS: {
        "project_id": "GOOGLE_PROJECT_ID",
        "service_account_json": "GOOGLE_SERVICE_ACCOUNT_JSON_KEY",
    },
    StorageProvider.AZURE: {
        "storage_account": "AZURE_ACCOUNT_NAME",
        "account_key": "AZURE_ACCOUNT_KEY",
    },
}
# An s3 storage's endpoint also goes into its Secret (KubeStash reads it there).
S3_ENDPOINT_KEY = "AWS_ENDPOINT"
# The name of the storage created on a first start (decision 63).
EMBEDDED_NAME = "local"


class BackupStorage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: ids.new_id(ids.IdPrefix.BACKUP_STORAGE))
    name: str
    provider: StorageProvider
    bucket: str | None = None
    prefix: str = ""
    region: str | None = None
    endpoint: str | None = None
    # `local` only: the absolute directory on the control plane's machine (the service's
    # choice: BACKUP_LOCAL_DIR/<name>).
    path: str | None = None
    # The credentials as JSON, encrypted (Fernet token); never leaves the store decrypted
    # but to become a cluster Secret.
    credentials_encrypted: str | None = None
    is_default: bool = False
    created_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    updated_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    revision: int = 0

    @property
    def has_credentials(self) -> bool:
        return self.credentials_encrypted is not None


def backend_secret_name(storage: BackupStorage) -> str:
    """The KubeStash backend Secret of a storage with credentials (backup-contract)."""
    return f"{storage.name}-backend"


def check_name(name: str) -> str:
    return validation.check_dns_label(name, field="name")


def check_location(provider: StorageProvider, *, bucket: str | None) -> None:
    """A bucket for the object stores; `local` has a directory instead."""
    if provider is StorageProvider.LOCAL:
        if bucket is not None:
            raise InvalidValue("bucket", "a local storage has no bucket")
        return
    if not bucket:
        raise InvalidValue("bucket", f"required for a {provider.value} storage")


def check_credentials(
    provider: StorageProvider, credentials: Mapping[str, str] | None
) -> dict[str, str]:
    """The credentials `provider` needs, every one present and non-empty, nothing else."""
    wanted = CREDENTIAL_FIELDS[provider]
    given = dict(credentials or {})
    if not wanted:
        if given:
            raise InvalidValue("credentials", f"a {provider.value} storage takes no credentials")
        return {}
    for name in given:
        if name not in wanted:
            raise InvalidValue(
                f"credentials.{name}",
                f"not a {provider.value} credential (give {', '.join(wanted)})",
            )
    for name in wanted:
        if not given.get(name):
            raise InvalidValue(f"credentials.{name}", f"required for a {provider.value} storage")
    return given


def secret_data(
    provider: StorageProvider, credentials: Mapping[str, str], *, endpoint: str | None
) -> dict[str, str]:
    """The KubeStash backend Secret's data (plain text) for these credentials."""
    data = {key: credentials[name] for name, key in CREDENTIAL_FIELDS[provider].items()}
    if provider is StorageProvider.S3 and endpoint:
        data[S3_ENDPOINT_KEY] = endpoint
    return data
