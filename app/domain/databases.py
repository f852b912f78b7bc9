"""The database record: what a user asked for (desired state) and what was last observed.

Validation of user input (engines, sizes, replica rules) arrives with the lifecycle API; this
module holds the record and its lifecycle statuses, which the store indexes on.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.domain import clock, ids
from app.domain.data_plane import DataPlane


class DatabaseStatus(StrEnum):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    UPDATING = "updating"
    SCALING = "scaling"
    PAUSING = "pausing"
    PAUSED = "paused"
    RESUMING = "resuming"
    DELETING = "deleting"
    DELETED = "deleted"
    FAILED = "failed"


class HealthStatus(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"


class Database(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: ids.new_id(ids.IdPrefix.DATABASE))
    name: str
    domain: str
    project: str
    engine: str
    version: str
    size: str = "db.t3.micro"
    storage_gb: int = 20
    replicas: int = 1
    high_availability: bool = False
    status: DatabaseStatus = DatabaseStatus.PENDING
    health_status: HealthStatus = HealthStatus.UNKNOWN
    phase: str | None = None
    ready_replicas: int = 0
    endpoint: str | None = None
    port: int | None = None
    # Whether a real server holds its data (`domain.data_plane`), and the version that server
    # reports when it differs from `version`: from its AppBinding (None: not read yet).
    data_plane: DataPlane | None = None
    server_version: str | None = None
    backup_enabled: bool = True
    backup_schedule: str = "daily"
    backup_retention_days: int = 7
    # Keep at most this many succeeded scheduled backups (besides the days); None: no count.
    backup_retention_count: int | None = None
    # The backup storage's name; None: the default storage (app.domain.backup_storages).
    backup_storage: str | None = None
    # Continuous archiving (a KubeDB archiver), for point-in-time restores; never on Redis.
    pitr_enabled: bool = False
    monitoring_enabled: bool = True
    deletion_protection: bool = False
    deletion_policy: str = "Delete"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    provider_id: str | None = None
    # What the database holds on its provider's capacity (services.placement).
    reserved_cpu_cores: float = 0
    reserved_memory_gb: float = 0
    reserved_storage_gb: float = 0
    # Counted in its project's and domain's usage (services.quotas).
    counted: bool = False
    namespace: str | None = None
    kubedb_resource_name: str | None = None
    operation_id: str | None = None
    message: str | None = None
    # The CR's conditions as the status sync last saw them (type, status, reason, message).
    conditions: list[dict[str, str]] = Field(default_factory=list)
    # When the status sync last wrote an observed change (None: never).
    synced_at: clock.Timestamp | None = None
    created_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    updated_at: clock.Timestamp = Field(default_factory=clock.utcnow)
    # Compare-and-set token; bumped by every write.
    revision: int = 0

    @property
    def is_live(self) -> bool:
        return self.status is not DatabaseStatus.DELETED
