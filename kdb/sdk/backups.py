"""A project's backups (API.md, "Backups"): list, read, take, delete, restore in place, and
the restore window of a database under point-in-time recovery.

    api = client.backups("acme", "shop")
    taken = api.take(database_id)                  # BackupStarted: backup_id, operation_id
    client.operations.wait(taken.operation_id)
    api.restore(database_id, taken.backup_id)      # in place: the data is replaced

Restoring into a new database (a clone, or a point in time) is a create with `restore_from`:
`restore_from(...)` builds that body for `Databases.create`. Mutations take an
`idempotency_key` (a random one when omitted), as every mutation of the SDK does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kdb.sdk.models import Backup, BackupStarted, Database, Page, RestoreWindow, page_of
from kdb.sdk.transport import Transport


def restore_from(
    database_id: str,
    *,
    backup_id: str | None = None,
    latest: bool = False,
    point_in_time: datetime | str | None = None,
) -> dict[str, Any]:
    """The create body's `restore_from`: exactly one of a backup, the latest, a time."""
    chosen = [backup_id is not None, latest, point_in_time is not None]
    if sum(chosen) != 1:
        raise ValueError("restore_from takes one of backup_id, latest, point_in_time")
    body: dict[str, Any] = {"database_id": database_id}
    if backup_id is not None:
        body["backup_id"] = backup_id
    elif latest:
        body["latest"] = True
    else:
        moment = point_in_time
        body["point_in_time"] = moment.isoformat() if isinstance(moment, datetime) else moment
    return body


class Backups:
    def __init__(self, transport: Transport, domain: str, project: str) -> None:
        self._http = transport
        self.databases_path = f"/api/v1/domain/{domain}/project/{project}/databases"
        self.project_path = f"/api/v1/domain/{domain}/project/{project}/backups"

    def list(
        self, database_id: str | None = None, *, page: int = 1, page_size: int = 20
    ) -> Page[Backup]:
        """The project's backups (deleted databases' included), or one database's."""
        params: dict[str, Any] = {"database_id": database_id, "page": page}
        params["page_size"] = page_size
        return page_of(
            self._http.request("GET", self.project_path, params=params), "backups", Backup
        )

    def get(self, database_id: str, backup_id: str) -> Backup:
        answer = self._http.request(
            "GET", f"{self.databases_path}/{database_id}/backups/{backup_id}"
        )
        return Backup.model_validate(answer)

    def take(self, database_id: str, *, idempotency_key: str | None = None) -> BackupStarted:
        """A manual backup now; the answer names it (`backup_id`) and its `operation_id`."""
        answer = self._http.request(
            "POST", f"{self.databases_path}/{database_id}/backups", idempotency_key=idempotency_key
        )
        return BackupStarted.model_validate(answer)

    def delete(
        self, database_id: str, backup_id: str, *, idempotency_key: str | None = None
    ) -> Backup:
        """Remove a manual or final backup (a scheduled one is retention's: 409)."""
        answer = self._http.request(
            "DELETE",
            f"{self.databases_path}/{database_id}/backups/{backup_id}",
            idempotency_key=idempotency_key,
        )
        return Backup.model_validate(answer)

    def restore(
        self, database_id: str, backup_id: str, *, idempotency_key: str | None = None
    ) -> Database:
        """Restore `backup_id` in place: the database's data is replaced by the backup's."""
        answer = self._http.request(
            "POST",
            f"{self.databases_path}/{database_id}/restore",
            json={"backup_id": backup_id},
            idempotency_key=idempotency_key,
        )
        return Database.model_validate(answer)

    def restore_window(self, database_id: str) -> RestoreWindow:
        """The span a point-in-time restore may target (409 while PITR is off or not ready)."""
        answer = self._http.request("GET", f"{self.databases_path}/{database_id}/restore-window")
        return RestoreWindow.model_validate(answer)
