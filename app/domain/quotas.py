"""Quotas per domain and per project, and what each uses.

A tenant record exists per domain and per project (made on first use): its quota (a limit
per resource; none means unlimited) and its usage (databases not deleted, and the CPU,
memory and storage they hold, counted as placement counts them: replicas times the size
plan, replicas times the storage). A create or a change that grows a database is checked
against the project's quota and the domain's; usage changes by compare-and-set, so
concurrent requests never pass a limit together (`services.quotas`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from app.domain import clock
from app.domain.providers import Demand


class Quota(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_databases: int | None = Field(default=None, ge=0, le=1_000_000)
    max_cpu_cores: float | None = Field(default=None, ge=0, le=1_000_000)
    max_memory_gb: float | None = Field(default=None, ge=0, le=100_000_000)
    max_storage_gb: float | None = Field(default=None, ge=0, le=100_000_000)


class Tenant(BaseModel):
    """A domain (`project` None) or a project: its quota and its usage."""

    model_config = ConfigDict(extra="ignore")

    id: str
    domain: str
    project: str | None = None
    quota: Quota = Field(default_factory=Quota)
    databases: int = 0
    cpu_cores: float = 0
    memory_gb: float = 0
    storage_gb: float = 0
    created_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    updated_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    revision: int = 0

    @property
    def scope(self) -> str:
        return "domain" if self.project is None else "project"

    @property
    def name(self) -> str:
        return self.domain if self.project is None else f"{self.domain}/{self.project}"


def tenant_id(domain: str, project: str | None = None) -> str:
    return f"domain:{domain}" if project is None else f"project:{domain}/{project}"


# (limit field, usage field, what the change adds to it)
def _lines(count: int, demand: Demand) -> list[tuple[str, str, float]]:
    return [
        ("max_databases", "databases", count),
        ("max_cpu_cores", "cpu_cores", demand.cpu_cores),
        ("max_memory_gb", "memory_gb", demand.memory_gb),
        ("max_storage_gb", "storage_gb", demand.storage_gb),
    ]


@dataclass(frozen=True, slots=True)
class Excess:
    """A limit the change would pass."""

    tenant: str
    scope: str
    limit_name: str
    limit: float
    usage: float
    requested: float

    @property
    def message(self) -> str:
        return (
            f"quota {self.limit_name} of {self.scope} {self.tenant} is {self.limit:g}: "
            f"{self.usage:g} in use, {self.requested:g} more requested"
        )

    @property
    def details(self) -> dict[str, str | float]:
        """The error details of a refusal (the API's 429 `quota_exceeded`)."""
        return {
            "scope": self.scope,
            "tenant": self.tenant,
            "limit_name": self.limit_name,
            "limit": self.limit,
            "usage": self.usage,
            "requested": self.requested,
        }


def excess(tenant: Tenant, count: int, demand: Demand) -> Excess | None:
    """The first limit that adding (`count` databases, `demand`) would pass, if any; a
    change that adds nothing to a resource never fails on it."""
    for limit_name, usage_name, added in _lines(count, demand):
        limit = getattr(tenant.quota, limit_name)
        usage = float(getattr(tenant, usage_name))
        if limit is not None and added > 0 and usage + added > limit + 1e-9:
            return Excess(tenant.name, tenant.scope, limit_name, float(limit), usage, added)
    return None


def with_change(tenant: Tenant, count: int, demand: Demand) -> dict[str, float]:
    """The usage fields after the change (never below zero)."""
    return {
        usage_name: max(0, round(float(getattr(tenant, usage_name)) + added, 3))
        if usage_name != "databases"
        else max(0, tenant.databases + count)
        for _, usage_name, added in _lines(count, demand)
    }
