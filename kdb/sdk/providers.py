"""`/api/v1/providers` (admin keys): the Kubernetes clusters databases are placed on.

A provider is reached by exactly one of `kubeconfig_content` (YAML or base64 of it: the API
stores it encrypted and never returns it), `kubeconfig_path` (a file on the API's host) or
`api_endpoint`; the API checks the cluster on create and on a connection change (422 with
the reason). These changes are synchronous: no operation to wait for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from kdb.sdk import errors
from kdb.sdk.models import Model, Page, page_of
from kdb.sdk.transport import Transport

PATH = "/api/v1/providers"


class Capacity(Model):
    total: float
    reservation_percent: float = 0
    allocatable: float = 0
    allocated: float = 0
    available: float = 0


class Provider(Model):
    id: str
    name: str
    region: str
    availability_zone: str | None = None
    cloud_provider: str | None = None
    domain: str | None = None
    capacity: dict[str, Capacity] = Field(default_factory=dict)
    connection: str = "default"
    kubeconfig_path: str | None = None
    api_endpoint: str | None = None
    verify_ssl: bool = True
    priority: int = 0
    is_active: bool = True
    is_maintenance: bool = False
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Providers:
    def __init__(self, transport: Transport) -> None:
        self._http = transport

    def create(self, name: str, **fields: Any) -> Provider:
        """Register a provider; `fields` are the create body's other fields (API.md)."""
        answer = self._http.request("POST", PATH, json={"name": name, **fields})
        return Provider.model_validate(answer)

    def list(
        self,
        *,
        region: str | None = None,
        availability_zone: str | None = None,
        is_active: bool | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> Page[Provider]:
        params: dict[str, Any] = {"region": region, "availability_zone": availability_zone}
        if is_active is not None:
            params["is_active"] = "true" if is_active else "false"
        params |= {"page": page, "page_size": page_size}
        return page_of(self._http.request("GET", PATH, params=params), "providers", Provider)

    def get(self, provider_id: str) -> Provider:
        return Provider.model_validate(self._http.request("GET", f"{PATH}/{provider_id}"))

    def find(self, name_or_id: str) -> Provider:
        """The provider of that name (or `prv-` id); NotFound when there is none."""
        if name_or_id.startswith("prv-"):
            return self.get(name_or_id)
        page = 1
        while True:
            found = self.list(page=page, page_size=100)
            for provider in found.items:
                if provider.name == name_or_id:
                    return provider
            if page * found.page_size >= found.total or not found.items:
                raise errors.NotFound(404, "not_found", f"provider {name_or_id} not found")
            page += 1

    def update(self, provider_id: str, **changes: Any) -> Provider:
        answer = self._http.request("PATCH", f"{PATH}/{provider_id}", json=changes)
        return Provider.model_validate(answer)

    def delete(self, provider_id: str) -> None:
        """Remove a provider (409 `provider_in_use` while databases are on it)."""
        self._http.request("DELETE", f"{PATH}/{provider_id}")
