"""Which operation undoes a drift, and which drift the record adopts instead (for
`drift_repair`).

    fix = await fix_for(database, found, catalog)       a Fix (kind, input) or None
    await adoptable(database, found, catalog)           True: take the cluster's value

Must not: touch the store or open operations (the pass does both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic

from app.domain import drift, engines
from app.domain import operation_kinds as kinds
from app.domain.databases import Database, DatabaseStatus
from app.domain.operation_kinds import InputT, OperationKind
from app.services.catalog import CatalogService, CatalogUnavailable


@dataclass(frozen=True, slots=True)
class Fix(Generic[InputT]):
    """The operation that undoes a drift: its kind and its input (with `observed`)."""

    kind: OperationKind[InputT, Any]
    wanted: InputT

    def stored(self) -> dict[str, Any]:
        return self.kind.dump_input(self.wanted)


async def fix_for(
    database: Database, found: drift.Drift, catalog: CatalogService
) -> Fix[Any] | None:
    """The operation that undoes `found`, or None (adopt it, or leave it)."""
    paused = database.status is DatabaseStatus.PAUSED
    if found.field == "halted":
        if paused:
            halted = kinds.ObservedHalted(halted=False)
            return Fix(kinds.PAUSE, kinds.PauseInput(observed=halted))
        return Fix(kinds.RESUME, kinds.ResumeInput(observed=kinds.ObservedHalted(halted=True)))
    if paused or found.value is None:
        return None  # a halted database takes no OpsRequest; an unreadable value
    if found.field == "storage":
        if found.value >= database.storage_gb:
            return None
        return Fix(
            kinds.EXPAND_STORAGE,
            kinds.ExpandStorageInput(
                storage_gb=database.storage_gb,
                observed=kinds.ObservedStorage(storage_gb=found.value),
            ),
        )
    if found.field == "resources":
        return Fix(
            kinds.SCALE_VERTICAL,
            kinds.ScaleVerticalInput(size=database.size, observed=kinds.ObservedResources()),
        )
    if found.field == "replicas":
        return Fix(
            kinds.SCALE_HORIZONTAL,
            kinds.ScaleHorizontalInput(
                replicas=database.replicas,
                observed=kinds.ObservedReplicas(replicas=found.value),
            ),
        )
    if found.field == "version":
        try:
            targets = await catalog.upgrade_targets(
                engines.parse_engine(database.engine), str(found.value)
            )
        except CatalogUnavailable:
            return None
        if database.version in targets:
            return Fix(
                kinds.UPGRADE_VERSION,
                kinds.UpgradeVersionInput(
                    target_version=database.version,
                    observed=kinds.ObservedVersion(version=str(found.value)),
                ),
            )
    return None


async def adoptable(database: Database, found: drift.Drift, catalog: CatalogService) -> bool:
    """Whether `found` is a change KubeDB cannot undo and the record should take: a volume
    grown in the cluster, or a version the record's could have been upgraded to."""
    if database.status is not DatabaseStatus.RUNNING or found.value is None:
        return False
    if found.field == "storage":
        return bool(found.value > database.storage_gb)
    if found.field != "version":
        return False
    try:
        targets = await catalog.upgrade_targets(
            engines.parse_engine(database.engine), database.version
        )
    except CatalogUnavailable:
        return False
    return found.value in targets
