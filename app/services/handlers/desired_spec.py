"""The Database record as a `DesiredDatabase`, the input of every manifest builder.

The record holds what the user has (its desired fields change only when an operation that
changes them succeeds), so the spec built here is "the database as it is now"; an OpsRequest
builder takes it plus the target. A record the domain rules refuse (it should never happen:
the API validated it) fails the operation with the rule's message rather than retrying.
"""

from __future__ import annotations

from typing import Any

from app.domain import engines, namespaces
from app.domain.databases import Database
from app.domain.engines import Resource, Topology
from app.domain.manifests import JsonObject, names
from app.domain.manifests.desired import DeletionPolicy, DesiredDatabase
from app.domain.sizes import SizeTable
from app.engine import steps


def namespace_of(database: Database) -> str:
    """The record's namespace, or where the create step will put it."""
    return database.namespace or namespaces.namespace_for(database.domain, database.project)


def resource_name(database: Database) -> str:
    return database.kubedb_resource_name or database.name


def desired_for(database: Database, sizes: SizeTable, **overrides: Any) -> DesiredDatabase:
    try:
        size = overrides.pop("size", None) or sizes.get(database.size)
        values: dict[str, Any] = dict(
            database_id=database.id,
            domain=database.domain,
            project=database.project,
            engine=database.engine,
            name=resource_name(database),
            namespace=namespace_of(database),
            version=database.version,
            size=size,
            storage_gb=database.storage_gb,
            replicas=database.replicas,
            high_availability=database.high_availability,
            deletion_policy=DeletionPolicy(database.deletion_policy),
            monitoring_enabled=database.monitoring_enabled,
            labels=database.labels,
            annotations=database.annotations,
        )
        values.update(overrides)
        return DesiredDatabase(**values)
    except ValueError as exc:  # a domain rule (errors.InvalidValue) or an unknown policy
        raise steps.PermanentError(f"database {database.id} cannot be built: {exc}") from exc


def cluster_objects(desired: DesiredDatabase) -> tuple[tuple[Resource, str], ...]:
    """The CRs of a database as (resource, name), in creation order (delete in reverse):
    a Redis Sentinel group's RedisSentinel first, then the database CR."""
    main = (desired.engine_spec.database_resource, desired.name)
    if desired.topology is Topology.SENTINEL:
        return ((engines.REDIS_SENTINEL, names.sentinel_name(desired.name)), main)
    return (main,)


def resource_of(manifest: JsonObject) -> Resource:
    """The resource a manifest from `database_cr.manifests_for` is created as."""
    if manifest["kind"] == engines.REDIS_SENTINEL.kind:
        return engines.REDIS_SENTINEL
    spec = engines.by_kind(str(manifest["kind"]))
    if spec is None:
        raise steps.PermanentError(f"no KubeDB resource for kind {manifest['kind']!r}")
    return spec.database_resource
