"""What the console's database forms offer, derived from the rules the API applies: the
replica counts a topology allows (`engines.CountRule`), the topology an engine runs with or
without high availability (`validation.check_topology`, as create and scale use it), the
storage bounds, the sizes, the versions a database may upgrade to (the service the API's
`available-upgrades` route calls), and whether a final backup may be asked for.

Offering is not deciding: the routes validate again with the API's models and services, so
a forged value is refused as by the API. Must not: submit anything.
"""

from __future__ import annotations

from typing import Any

from app.domain import engines, validation
from app.domain.databases import Database
from app.services import backups
from app.services.catalog import CatalogService
from app.services.databases import DatabaseService
from app.services.errors import ServiceError

STORAGE_MIN_GB, STORAGE_MAX_GB = validation.STORAGE_GB_RANGE


def replica_choices(engine: engines.Engine | str, *, high_availability: bool) -> list[int]:
    """Exactly the counts the engine's topology takes (1 to the API's maximum)."""
    topology = validation.check_topology(engine, high_availability=high_availability)
    return [n for n in range(1, engines.MAX_REPLICAS + 1) if topology.replicas.allows(n)]


def topology_help(engine: engines.Engine | str) -> str:
    """The engine's topologies and their member rule, in words (for the create form)."""
    spec = engines.spec(engine)
    ha = spec.default_ha
    return (
        f"Without high availability, {spec.title} runs as one standalone pod. With it, "
        f"as a {ha.title} of {ha.replicas.describe()} {ha.counts}."
    )


async def action_options(
    service: DatabaseService, catalog: CatalogService, database: Database
) -> dict[str, Any]:
    """What the scale, resize, upgrade and delete forms of a database offer now."""
    try:
        targets = await service.available_upgrades(database)
        targets_problem = None
    except ServiceError as exc:
        targets, targets_problem = [], exc.message
    topology = validation.check_topology(
        database.engine, high_availability=database.high_availability
    )
    return {
        "replica_choices": replica_choices(
            database.engine, high_availability=database.high_availability
        ),
        "topology_title": topology.title,
        "sizes": list(catalog.sizes),
        "storage_min": database.storage_gb + 1,  # volumes only grow
        "storage_max": STORAGE_MAX_GB,
        "upgrade_targets": targets,
        "upgrade_problem": targets_problem,
        "final_backup": database.status in backups.BACKUP_FROM,
    }
