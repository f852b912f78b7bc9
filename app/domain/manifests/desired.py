"""The desired spec of one database as the manifest builders need it.

A `DesiredDatabase` is validated when it is made: the engine exists, the names are DNS-1123
labels, the topology agrees with `high_availability`, the member count obeys the topology's
rule, labels follow Kubernetes' rules and stay off our keys. A builder therefore never meets a
spec it cannot turn into a manifest KubeDB accepts. `topology` and `shards` come out resolved
(the engine's default HA topology when none was named; Redis Cluster's default shard count).
It must not hold observed state (phase, endpoint): that is the `Database` record's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from app.domain import engines, errors, validation
from app.domain.engines import Engine, EngineSpec, Topology, TopologySpec
from app.domain.sizes import SizePlan


class DeletionPolicy(StrEnum):
    """KubeDB `spec.deletionPolicy` (§1.5). The API offers Delete, WipeOut and Halt."""

    HALT = "Halt"
    DELETE = "Delete"
    WIPE_OUT = "WipeOut"
    DO_NOT_TERMINATE = "DoNotTerminate"


API_DELETION_POLICIES = (DeletionPolicy.DELETE, DeletionPolicy.WIPE_OUT, DeletionPolicy.HALT)


def parse_deletion_policy(
    value: DeletionPolicy | str, *, field: str = "deletion_policy"
) -> DeletionPolicy:
    """A policy the API accepts (`DoNotTerminate` is KubeDB's, not offered to users)."""
    for policy in API_DELETION_POLICIES:
        if policy == value:
            return policy
    offered = ", ".join(p.value for p in API_DELETION_POLICIES)
    raise errors.InvalidValue(field, f"deletion_policy must be one of {offered}, not {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredDatabase:
    database_id: str
    domain: str
    project: str
    engine: Engine
    name: str
    namespace: str
    version: str
    size: SizePlan
    storage_gb: int
    replicas: int = 1
    high_availability: bool = False
    # None: the engine's standalone topology, or its default HA one.
    topology: Topology | None = None
    # Redis Cluster only; None: the topology's default.
    shards: int | None = None
    deletion_policy: DeletionPolicy = DeletionPolicy.DELETE
    halted: bool = False
    monitoring_enabled: bool = True
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)
    # The secret the platform wrote beforehand from custom credentials (KubeDB manages it from
    # then on); None: KubeDB generates `<name>-auth`.
    auth_secret_name: str | None = None
    storage_class: str | None = None

    def __post_init__(self) -> None:
        engine = engines.parse_engine(self.engine)
        self._set("engine", engine)
        validation.check_dns_label(self.name, field="name")
        validation.check_dns_label(self.namespace, field="namespace")
        # These three become label values, which DNS-1123 labels always are.
        validation.check_dns_label(self.database_id, field="database_id")
        validation.check_dns_label(self.domain, field="domain")
        validation.check_dns_label(self.project, field="project")
        if not self.version:
            raise errors.InvalidValue("version", "version must name a catalog version")
        validation.check_storage_gb(self.storage_gb)
        topology = validation.check_topology(
            engine, high_availability=self.high_availability, topology=self.topology
        )
        self._set("topology", topology.topology)
        validation.check_replicas(engine, self.replicas, topology=topology)
        self._set("shards", validation.check_shards(engine, self.shards, topology=topology))
        try:
            policy = DeletionPolicy(self.deletion_policy)
        except ValueError:
            raise errors.InvalidValue(
                "deletion_policy", f"unknown deletion policy {self.deletion_policy!r}"
            ) from None
        if self.halted and policy is DeletionPolicy.DO_NOT_TERMINATE:
            raise errors.InvalidValue(
                "deletion_policy", "a database with deletion policy DoNotTerminate cannot halt"
            )
        self._set("deletion_policy", policy)
        self._set("labels", MappingProxyType(validation.check_labels(self.labels)))
        self._set("annotations", MappingProxyType(validation.check_annotations(self.annotations)))
        if self.auth_secret_name is not None:
            validation.check_dns_label(self.auth_secret_name, field="auth_secret_name")

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    @property
    def engine_spec(self) -> EngineSpec:
        return engines.ENGINES[self.engine]

    @property
    def topology_spec(self) -> TopologySpec:
        assert self.topology is not None  # resolved in __post_init__
        return self.engine_spec.topology(self.topology)

    @property
    def effective_deletion_policy(self) -> DeletionPolicy:
        """What KubeDB will store: its webhook forces Halt while halted (§1.6)."""
        return DeletionPolicy.HALT if self.halted else self.deletion_policy

    def replace(self, **changes: Any) -> DesiredDatabase:
        """A copy with `changes`, validated again."""
        return dataclasses.replace(self, **changes)

    def as_observed(self, **observed: Any) -> DesiredDatabase:
        """A copy holding what the cluster has, without the creation rules: a CR changed by
        hand may hold what they refuse (a replica set of 2), and an OpsRequest that undoes
        the change must still be built from it. Only fields that exist may be set."""
        unknown = set(observed) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"not fields of a database: {', '.join(sorted(unknown))}")
        copy = dataclasses.replace(self)
        for name, value in observed.items():
            object.__setattr__(copy, name, value)
        return copy
