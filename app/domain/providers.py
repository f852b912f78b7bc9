"""Providers: the Kubernetes clusters databases are placed on, and the rule that picks one.

A provider has a capacity per resource (CPU cores, memory GB, storage GB) and a reservation
percentage per resource: only that share of the total is ever allocated to databases, the
rest is headroom for the cluster itself. `allocated` is what the databases placed on it
reserved; it grows on create and scale-up, shrinks on delete and scale-down, always by
compare-and-set on the provider's revision (`services.placement`), so concurrent creates
never overbook it.

What a database reserves (`demand_for`): replicas times its size plan's CPU and memory, and
replicas times its storage (every replica has its own volume). The sentinels of a Redis Sentinel
group and KubeDB's own sidecars are not counted.

Placement (`choose`), in order:
1. only active providers not in maintenance;
2. matching `X-Region` / `X-Availability-Zone` when the request gives them;
3. the domain's dedicated providers first; when none of them has room, the shared ones
   (providers without a domain). A provider dedicated to another domain is never used;
4. among those with room for the demand: the highest `priority`, then the most CPU
   available, then the name (deterministic).
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.domain import clock, ids

# Its home is the domain's error tree; also importable from here.
from app.domain.errors import NoProvider as NoProvider
from app.domain.sizes import SizePlan


class ResourceKind(StrEnum):
    CPU = "cpu"
    MEMORY = "memory"
    STORAGE = "storage"


# The fields of a provider per resource: (total, reservation percent, allocated).
FIELDS: dict[ResourceKind, tuple[str, str, str]] = {
    ResourceKind.CPU: ("cpu_total_cores", "cpu_reservation_percent", "cpu_allocated_cores"),
    ResourceKind.MEMORY: ("memory_total_gb", "memory_reservation_percent", "memory_allocated_gb"),
    ResourceKind.STORAGE: (
        "storage_total_gb",
        "storage_reservation_percent",
        "storage_allocated_gb",
    ),
}


class Provider(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: ids.new_id(ids.IdPrefix.PROVIDER))
    name: str
    region: str
    availability_zone: str | None = None
    cloud_provider: str | None = None
    # Set: dedicated to that domain's databases.
    domain: str | None = None
    cpu_total_cores: float = 0
    memory_total_gb: float = 0
    storage_total_gb: float = 0
    cpu_reservation_percent: float = 80
    memory_reservation_percent: float = 80
    storage_reservation_percent: float = 80
    cpu_allocated_cores: float = 0
    memory_allocated_gb: float = 0
    storage_allocated_gb: float = 0
    # The kubeconfig, encrypted (Fernet token); never leaves the store decrypted but to
    # connect. Or a path on the control plane's file system, or a bare API endpoint.
    kubeconfig_encrypted: str | None = None
    kubeconfig_path: str | None = None
    api_endpoint: str | None = None
    verify_ssl: bool = True
    priority: int = 0
    is_active: bool = True
    is_maintenance: bool = False
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    updated_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    revision: int = 0

    def limit(self, kind: ResourceKind) -> float:
        """What may be allocated: the reserved share of the total."""
        total, percent, _ = FIELDS[kind]
        return float(getattr(self, total)) * float(getattr(self, percent)) / 100

    def allocated(self, kind: ResourceKind) -> float:
        return float(getattr(self, FIELDS[kind][2]))

    def available(self, kind: ResourceKind) -> float:
        return max(0.0, self.limit(kind) - self.allocated(kind))

    @property
    def schedulable(self) -> bool:
        return self.is_active and not self.is_maintenance


@dataclass(frozen=True, slots=True)
class Demand:
    """What one database reserves on its provider (negative: what a change gives back)."""

    cpu_cores: float = 0
    memory_gb: float = 0
    storage_gb: float = 0

    def of(self, kind: ResourceKind) -> float:
        return {
            ResourceKind.CPU: self.cpu_cores,
            ResourceKind.MEMORY: self.memory_gb,
            ResourceKind.STORAGE: self.storage_gb,
        }[kind]

    def __sub__(self, other: Demand) -> Demand:
        return Demand(
            self.cpu_cores - other.cpu_cores,
            self.memory_gb - other.memory_gb,
            self.storage_gb - other.storage_gb,
        )

    def __neg__(self) -> Demand:
        return Demand(-self.cpu_cores, -self.memory_gb, -self.storage_gb)

    @property
    def is_zero(self) -> bool:
        return not (self.cpu_cores or self.memory_gb or self.storage_gb)


def demand_for(plan: SizePlan, *, replicas: int, storage_gb: int) -> Demand:
    # Memory in GB as the providers count it: the plan's GiB, rounded to the MiB.
    return Demand(
        cpu_cores=round(plan.cpu * replicas, 3),
        memory_gb=round(plan.memory_gib * replicas, 3),
        storage_gb=float(storage_gb * replicas),
    )


def shortfall(provider: Provider, demand: Demand) -> list[str]:
    """The resources `demand` does not fit in, as readable phrases (empty: it fits)."""
    missing = []
    for kind in ResourceKind:
        wanted = demand.of(kind)
        if wanted > 0 and wanted > provider.available(kind) + 1e-9:
            missing.append(f"{kind.value} {wanted:g} > {provider.available(kind):g} available")
    return missing


def with_demand(provider: Provider, demand: Demand) -> dict[str, float]:
    """The allocation fields after adding `demand` (never below zero)."""
    return {
        FIELDS[kind][2]: round(max(0.0, provider.allocated(kind) + demand.of(kind)), 3)
        for kind in ResourceKind
    }


def candidates(
    providers: Iterable[Provider],
    demand: Demand,
    *,
    domain: str,
    region: str | None = None,
    zone: str | None = None,
) -> list[Provider]:
    """The providers `demand` may go to, best first (see the module docstring)."""
    matching = [
        p
        for p in providers
        if p.schedulable
        and p.domain in (None, domain)
        and (region is None or p.region == region)
        and (zone is None or p.availability_zone == zone)
    ]
    where = " and ".join(
        filter(
            None,
            (
                region and f"region {region!r}",
                zone and f"availability zone {zone!r}",
            ),
        )
    )
    if not matching:
        raise NoProvider(
            "no active provider" + (f" in {where}" if where else "") + f" serves domain {domain!r}",
            capacity=False,
        )
    roomy = [p for p in matching if not shortfall(p, demand)]
    if not roomy:
        closest = ", ".join(f"{p.name}: {'; '.join(shortfall(p, demand))}" for p in matching)
        raise NoProvider(f"no provider has room for the database ({closest})", capacity=True)

    def rank(p: Provider) -> tuple[int, int, float, str]:
        return (0 if p.domain == domain else 1, -p.priority, -p.available(ResourceKind.CPU), p.name)

    return sorted(roomy, key=rank)


def capacity_view(provider: Provider) -> dict[str, dict[str, float]]:
    """Per resource: total, reservation percent, allocatable, allocated, available."""
    view: dict[str, dict[str, float]] = {}
    for kind in ResourceKind:
        total, percent, _ = FIELDS[kind]
        view[kind.value] = {
            "total": float(getattr(provider, total)),
            "reservation_percent": float(getattr(provider, percent)),
            "allocatable": round(provider.limit(kind), 3),
            "allocated": round(provider.allocated(kind), 3),
            "available": round(provider.available(kind), 3),
        }
    return view
