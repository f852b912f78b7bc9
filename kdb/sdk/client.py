"""`Client`: the entry point of the SDK, one API and one key.

    from kdb.sdk import Client

    with Client("http://127.0.0.1:8000", api_key) as api:
        shop = api.databases("acme", "shop")
        orders = shop.create("orders", engine="postgres", version="16.13", replicas=3)
        api.operations.wait(orders.operation_id, on_change=lambda op: print(op.progress))
        print(shop.credentials(orders.id).connection_string)

The catalog (`versions`, `sizes`) hangs here; a project's databases under `databases(domain,
project)`, its backups under `backups(domain, project)`; operations under `operations`;
administration under `providers`, `quotas`, `api_keys`, `audit` and `backup_storages`.
Errors are `kdb.sdk.errors`' tree.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from kdb.sdk.admin import Audit, Quotas
from kdb.sdk.backup_storages import BackupStorages
from kdb.sdk.backups import Backups
from kdb.sdk.databases import Databases
from kdb.sdk.keys import ApiKeys
from kdb.sdk.models import Size, Version
from kdb.sdk.operations import Operations
from kdb.sdk.providers import Providers
from kdb.sdk.transport import DEFAULT_RETRY, DEFAULT_TIMEOUT, RetryPolicy, Transport


class Client:
    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.BaseTransport | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self.transport = Transport(url, api_key, timeout=timeout, http=http, retry=retry)
        self.operations = Operations(self.transport)
        # Administration (admin keys; owners for keys, quotas and audit of their scope).
        self.providers = Providers(self.transport)
        self.quotas = Quotas(self.transport)
        self.api_keys = ApiKeys(self.transport)
        self.audit = Audit(self.transport)
        self.backup_storages = BackupStorages(self.transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    def databases(self, domain: str, project: str) -> Databases:
        return Databases(self.transport, domain, project)

    def backups(self, domain: str, project: str) -> Backups:
        return Backups(self.transport, domain, project)

    def versions(self, engine: str | None = None) -> list[Version]:
        """The versions offered, per engine, flattened (`engine` on each)."""
        answer: dict[str, list[dict[str, Any]]] = self.transport.request(
            "GET", "/api/v1/versions", params={"engine": engine}
        )
        return [
            Version.model_validate({"engine": name, **item})
            for name, items in answer.items()
            for item in items
        ]

    def sizes(self) -> list[Size]:
        answer = self.transport.request("GET", "/api/v1/sizes")
        default = answer.get("default")
        return [
            Size.model_validate({**item, "default": item.get("name") == default})
            for item in answer["sizes"]
        ]
