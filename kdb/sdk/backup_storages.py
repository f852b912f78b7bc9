"""`/api/v1/backup-storages` (admin keys): where databases' backups go.

A storage is named by its name (a DNS label that never changes) and has a `provider`:
`local` (a folder the platform chooses, answered as `path`), `s3`, `gcs` or `azure` (a
`bucket`, the container on azure). Credentials are write-only: sent on create and update
(an update's replace them all), stored encrypted, never answered (`has_credentials` says
whether there are some). One storage is the default. These changes are synchronous: no
operation to wait for.

    api.backup_storages.create("offsite", "s3", bucket="b", credentials={...})
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kdb.sdk.models import Model, Page, page_of
from kdb.sdk.transport import Transport

PATH = "/api/v1/backup-storages"


class BackupStorage(Model):
    id: str
    name: str
    provider: str
    bucket: str | None = None
    prefix: str = ""
    region: str | None = None
    endpoint: str | None = None
    path: str | None = None
    default: bool = False
    has_credentials: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


class BackupStorages:
    def __init__(self, transport: Transport) -> None:
        self._http = transport

    def list(self, *, page: int = 1, page_size: int = 20) -> Page[BackupStorage]:
        """Storages, newest first."""
        answer = self._http.request("GET", PATH, params={"page": page, "page_size": page_size})
        return page_of(answer, "backup_storages", BackupStorage)

    def get(self, name: str) -> BackupStorage:
        return BackupStorage.model_validate(self._http.request("GET", f"{PATH}/{name}"))

    def create(self, name: str, provider: str, **fields: Any) -> BackupStorage:
        """Register a storage; `fields` are the create body's others (`bucket`, `prefix`,
        `region`, `endpoint`, `credentials`, `default`)."""
        body = {"name": name, "provider": provider, **fields}
        return BackupStorage.model_validate(self._http.request("POST", PATH, json=body))

    def update(self, name: str, **changes: Any) -> BackupStorage:
        """Change only the fields given (`credentials` replaces them all)."""
        answer = self._http.request("PATCH", f"{PATH}/{name}", json=changes)
        return BackupStorage.model_validate(answer)

    def delete(self, name: str) -> None:
        """Remove a storage: 409 `backup_storage_in_use` while live databases use it,
        `backup_storage_is_default` for the default while others exist."""
        self._http.request("DELETE", f"{PATH}/{name}")
