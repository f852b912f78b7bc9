"""`/api/v1/domain/{domain}/project/{project}/databases`: one project's databases.

Every mutation answers at once with the database and the `operation_id` of the change it
started (API.md, "Async changes"); follow it with `Client.operations.wait`. Each takes an
`idempotency_key` (a random one when omitted). `find` accepts a name or an id: the API
addresses databases by id, people by name.
"""

from __future__ import annotations

from typing import Any

from kdb.sdk import errors
from kdb.sdk.models import (
    Credentials,
    Database,
    DatabaseStatus,
    Event,
    Operation,
    Page,
    Upgrades,
    page_of,
)
from kdb.sdk.transport import Transport


class Databases:
    def __init__(self, transport: Transport, domain: str, project: str) -> None:
        self._http = transport
        self.domain = domain
        self.project = project
        self.path = f"/api/v1/domain/{domain}/project/{project}/databases"

    def _mutate(
        self, method: str, suffix: str, body: Any = None, key: str | None = None
    ) -> Database:
        answer = self._http.request(method, self.path + suffix, json=body, idempotency_key=key)
        return Database.model_validate(answer)

    def create(
        self,
        name: str,
        *,
        engine: str,
        version: str,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Database:
        """Create a database; `fields` are the create body's other fields (API.md)."""
        body = {"name": name, "engine": engine, "version": version, **fields}
        return self._mutate("POST", "", body, idempotency_key)

    def list(
        self,
        *,
        engine: str | None = None,
        status: str | None = None,
        name: str | None = None,
        label: str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> Page[Database]:
        params: dict[str, Any] = {"engine": engine, "status": status, "name": name}
        params |= {"label": label, "page": page, "page_size": page_size}
        return page_of(self._http.request("GET", self.path, params=params), "databases", Database)

    def get(self, database_id: str) -> Database:
        return Database.model_validate(self._http.request("GET", f"{self.path}/{database_id}"))

    def status(self, database_id: str, *, realtime: bool = False) -> DatabaseStatus:
        """The observed state (phase, replicas, endpoint) as last synced from the cluster;
        `realtime`: read from the cluster now (`last_sync_at` is then the time of that read;
        a cluster that does not answer raises `Unavailable`)."""
        params = {"realtime": "true"} if realtime else None
        answer = self._http.request("GET", f"{self.path}/{database_id}/status", params=params)
        return DatabaseStatus.model_validate(answer)

    def find(self, name_or_id: str) -> Database:
        """The live database of that name (or id); NotFound when there is none."""
        if name_or_id.startswith("db-"):
            return self.get(name_or_id)
        for database in self.list(name=name_or_id, page_size=100).items:
            if database.name == name_or_id and database.status != "deleted":
                return database
        raise errors.NotFound(
            404,
            "not_found",
            f"database {name_or_id} not found in {self.domain}/{self.project}",
        )

    def update(
        self, database_id: str, *, idempotency_key: str | None = None, **changes: Any
    ) -> Database:
        return self._mutate("PATCH", f"/{database_id}", changes, idempotency_key)

    def delete(
        self, database_id: str, *, final_backup: bool = False, idempotency_key: str | None = None
    ) -> Database:
        suffix = f"/{database_id}" + ("?final_backup=true" if final_backup else "")
        return self._mutate("DELETE", suffix, None, idempotency_key)

    def scale(
        self,
        database_id: str,
        *,
        replicas: int | None = None,
        storage_gb: int | None = None,
        size: str | None = None,
        idempotency_key: str | None = None,
    ) -> Database:
        body = {"replicas": replicas, "storage_gb": storage_gb, "size": size}
        body = {k: v for k, v in body.items() if v is not None}
        return self._mutate("POST", f"/{database_id}/scale", body, idempotency_key)

    def pause(self, database_id: str, *, idempotency_key: str | None = None) -> Database:
        return self._mutate("POST", f"/{database_id}/pause", None, idempotency_key)

    def resume(self, database_id: str, *, idempotency_key: str | None = None) -> Database:
        return self._mutate("POST", f"/{database_id}/resume", None, idempotency_key)

    def restart(self, database_id: str, *, idempotency_key: str | None = None) -> Database:
        return self._mutate("POST", f"/{database_id}/restart", None, idempotency_key)

    def rotate_credentials(
        self, database_id: str, *, idempotency_key: str | None = None
    ) -> Database:
        return self._mutate("POST", f"/{database_id}/credentials/rotate", None, idempotency_key)

    def upgrade(
        self, database_id: str, target_version: str, *, idempotency_key: str | None = None
    ) -> Database:
        body = {"target_version": target_version}
        return self._mutate("POST", f"/{database_id}/upgrade", body, idempotency_key)

    def upgrades(self, database_id: str) -> Upgrades:
        answer = self._http.request("GET", f"{self.path}/{database_id}/available-upgrades")
        return Upgrades.model_validate(answer)

    def credentials(self, database_id: str) -> Credentials:
        answer = self._http.request("GET", f"{self.path}/{database_id}/credentials")
        return Credentials.model_validate(answer)

    def events(self, database_id: str, *, page: int = 1, page_size: int = 20) -> Page[Event]:
        params = {"page": page, "page_size": page_size}
        answer = self._http.request("GET", f"{self.path}/{database_id}/events", params=params)
        return page_of(answer, "events", Event)

    def operations(
        self, database_id: str, *, page: int = 1, page_size: int = 20
    ) -> Page[Operation]:
        params = {"page": page, "page_size": page_size}
        answer = self._http.request("GET", f"{self.path}/{database_id}/operations", params=params)
        return page_of(answer, "operations", Operation)
