"""Quotas and usage (`/api/v1/domains/{domain}[/projects/{project}]`) and the audit log
(`/api/v1/audit`).

A quota has four limits (`max_databases`, `max_cpu_cores`, `max_memory_gb`,
`max_storage_gb`); one left out (None) is unlimited, and `set` replaces the whole quota.
Admin keys set quotas; any key of the tenant reads them with the usage beside. The audit
log is for admin keys (all of it) and owner keys (their own scope).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from kdb.sdk.models import Model, Page, page_of
from kdb.sdk.transport import Transport

LIMITS = ("max_databases", "max_cpu_cores", "max_memory_gb", "max_storage_gb")


class Quota(Model):
    max_databases: int | None = None
    max_cpu_cores: float | None = None
    max_memory_gb: float | None = None
    max_storage_gb: float | None = None


class Usage(Model):
    databases: int = 0
    cpu_cores: float = 0
    memory_gb: float = 0
    storage_gb: float = 0


class Tenant(Model):
    """A domain (`project` None) or a project: its quota and its usage."""

    domain: str
    project: str | None = None
    quota: Quota = Field(default_factory=Quota)
    usage: Usage = Field(default_factory=Usage)
    updated_at: datetime | None = None


class AuditEntry(Model):
    id: str
    scope: str
    action: str
    outcome: int
    actor_key_id: str | None = None
    actor_role: str | None = None
    domain: str | None = None
    project: str | None = None
    target: str | None = None
    request_id: str | None = None
    client: str | None = None
    created_at: datetime | None = None


def tenant_path(domain: str, project: str | None) -> str:
    path = f"/api/v1/domains/{domain}"
    return f"{path}/projects/{project}" if project else path


class Quotas:
    def __init__(self, transport: Transport) -> None:
        self._http = transport

    def get(self, domain: str, project: str | None = None) -> Tenant:
        return Tenant.model_validate(self._http.request("GET", tenant_path(domain, project)))

    def set(self, domain: str, project: str | None = None, **limits: float | None) -> Tenant:
        """Replace the quota with `limits` (those not given: unlimited)."""
        body = {"quota": {k: v for k, v in limits.items() if v is not None}}
        answer = self._http.request("PUT", tenant_path(domain, project), json=body)
        return Tenant.model_validate(answer)


class Audit:
    def __init__(self, transport: Transport) -> None:
        self._http = transport

    def list(
        self,
        *,
        scope: str | None = None,
        domain: str | None = None,
        project: str | None = None,
        actor: str | None = None,
        target: str | None = None,
        outcome: int | None = None,
        since: str | None = None,
        until: str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> Page[AuditEntry]:
        """Entries newest first; `since` (inclusive) and `until` (exclusive) are ISO 8601
        times with a zone."""
        params: dict[str, Any] = {"scope": scope, "domain": domain, "project": project}
        params |= {"actor": actor, "target": target, "outcome": outcome}
        params |= {"since": since, "until": until, "page": page, "page_size": page_size}
        body = self._http.request("GET", "/api/v1/audit", params=params)
        return page_of(body, "entries", AuditEntry)
