"""One drift-repair pass: every database's CR compared with its record, and each difference
fixed by an operation, adopted, or reported.

    result = await DriftRepair(store, view, operations, catalog, sizes).run_pass(fence)

The pass reads the cluster once (`ClusterView.snapshot`), the active operations once and
the live records page by page. For each `running` or `paused` database without an active
operation (and not changed since the cluster was read: the next pass looks at those),
`domain.drift.find` compares the manifest its record describes with its CR; the first
difference in the fix order (halted, storage, resources, replicas, version) that something
can be done about gets:

    halted      a `resume` (CR halted, record running) or `pause` (the reverse) drift fix
    storage     smaller in the cluster: `expand_storage` back to the record's size;
                larger: adopted into the record (volumes never shrink)
    resources   `scale_vertical` back to the record's size plan
    replicas    `scale_horizontal` back to the record's count
    version     `upgrade_version` back to the record's version when the catalog allows that
                update; a version the record's could be upgraded to is adopted; anything
                else (a downgrade made by hand) is left alone

Fixing operations are created by `reconciler` with `"observed"` in their desired state
(`handlers/changes.py`), so their handlers start from what the cluster has. One fix per
database per pass; the rest of its drift is fixed by the next passes. Every fix opened or
adoption made is an Event (`DriftDetected`, with field, desired and observed in its
details); drift nothing can undo (a paused database's resources, a fix that failed before
with the same observed value) is recorded once per process and left alone, so it starts no
operation and adds no event every pass.

A database found without drift is not compared again (its manifest not rebuilt, its record
not even parsed: `inventory.live_records`) while neither its record's revision nor the
compared part of its CR changes (`Listed.spec_text`) and it stays settled and inactive;
the drift of one in the fix order is handled in `drift_fixes`.

A database whose CR is missing from the listing is read once more directly; gone, it becomes
`failed` with an Event (`ClusterResourceMissing`); its record is never deleted. Managed CRs
with no live record are orphans: logged and counted, with an Event the first time this
process sees them, and left alone. Record writes are compare-and-set on the revision read.

`fence()` runs before every side effect and raises when this instance no longer leads, so a
deposed leader stops mid-pass; it returns the leader's epoch, which every record and event
write carries, so the store refuses (`store_errors.Fenced`) a write of a leader that paused
between the check and the write while a newer one took over: record and event writes, the
operation a fix opens (`OperationService.submit(fence=)`) and the placement settle
(`Placement.settle(fence=)`: record, provider and quota writes) alike.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.broker.errors import BrokerError
from app.domain import clock, drift, engines
from app.domain.databases import Database, DatabaseStatus, HealthStatus
from app.domain.events import Event
from app.domain.manifests import database_cr
from app.domain.operations import OperationStatus
from app.domain.sizes import SizeTable
from app.observability.log import get_logger
from app.services import drift_fixes as fixes
from app.services import inventory
from app.services.catalog import CatalogService
from app.services.cluster_view import ClusterView, Listed, Snapshot
from app.services.handlers.desired_spec import desired_for
from app.services.operations import OperationService
from app.services.placement import Placement
from app.store import errors as store_errors
from app.store.protocols import Fence, OperationFilter, Scanned, Store

log = get_logger(__name__)

ACTOR = "reconciler"
# Runs before every side effect: raises once this instance no longer leads, else returns
# the epoch (a `Fence`, or None unfenced) every store write of that side effect carries.
Guard = Callable[[], Fence | None]
_CHECKED = frozenset({DatabaseStatus.RUNNING, DatabaseStatus.PAUSED})
_RECENT_OPERATIONS = 5
_SPEC_NUMBERS = 4096  # distinct CR spec parts remembered (a fleet has a few dozen)


@dataclass(frozen=True, slots=True)
class RepairPass:
    started_at: datetime
    duration: float
    seen: int
    checked: int
    drift: dict[str, int]  # drifts found, by field
    fixes: int  # operations opened
    adopted: int
    vanished: int
    orphans: int
    cluster_calls: int
    skipped: int = 0  # drift left alone (a fix failed before, paused, no catalog)
    fix_ids: tuple[str, ...] = field(default=(), repr=False)


@dataclass
class _Tally:
    seen: int = 0
    checked: int = 0
    drift: Counter[str] = field(default_factory=Counter)
    fixes: list[str] = field(default_factory=list)
    adopted: int = 0
    vanished: int = 0
    skipped: int = 0
    # Database id -> "record revision/CR spec part number" compared and found without
    # drift (strings: a map the collector does not track, see `cluster_view.Listing`).
    clean: dict[str, str] = field(default_factory=dict)


class DriftRepair:
    def __init__(
        self,
        store: Store,
        view: ClusterView,
        operations: OperationService,
        catalog: CatalogService,
        sizes: SizeTable,
        monitoring: database_cr.MonitoringConfig = database_cr.DEFAULT_MONITORING,
        placement: Placement | None = None,
    ) -> None:
        self._placement = placement
        self._store = store
        self._view = view
        self._operations = operations
        self._catalog = catalog
        self._sizes = sizes
        self._monitoring = monitoring
        self._orphans_reported: set[str] = set()
        self._left_alone: dict[str, str] = {}
        # What the last pass found without drift: the same record revision against the same
        # CR spec part has none again, so most of a steady fleet skips building its manifest.
        self._clean: dict[str, str] = {}
        self._spec_numbers: dict[str, int] = {}  # each distinct `Listed.spec_text` seen

    async def run_pass(self, fence: Guard) -> RepairPass:
        started_at, began = clock.utcnow(), time.perf_counter()
        snapshot = await self._view.snapshot()
        if len(self._spec_numbers) > _SPEC_NUMBERS:  # bounded: start the memory afresh
            self._spec_numbers.clear()
            self._clean.clear()
        active = await inventory.active_database_ids(self._store)
        tally = _Tally()
        live: dict[str, None] = {}  # not a set: untracked by the collector (`Listing`)
        async for scanned in inventory.live_records(self._store):
            tally.seen += 1
            live[scanned.id] = None
            if self._still_clean(scanned, snapshot, active, tally):
                continue  # not even parsed
            database = scanned.record()
            settling = await self._settle_if_needed(database, active, fence)
            if (
                database.namespace is None
                or database.id in active
                or database.status not in _CHECKED
            ):
                continue
            tally.checked += 1
            if database.updated_at > started_at:
                continue  # changed since the cluster was read: the next pass looks again
            if snapshot.covers(database):  # else its cluster could not be listed this time
                # Its spec part is all `_check` reads of it.
                found = snapshot.databases.head_of(database.id)
                await self._check(database, found, fence, tally)
                if settling:  # its settle is tried again next pass: never skipped
                    tally.clean.pop(database.id, None)
        self._clean = tally.clean
        orphans = [i for i in snapshot.databases if i not in live]
        await self._report_orphans(orphans, snapshot.databases, fence)
        for kind, namespace, name in snapshot.orphans:
            log.warning(
                "orphan_cluster_resource",
                kind=kind,
                namespace=namespace,
                name=name,
                reason="no database id label",
            )
        return RepairPass(
            started_at=started_at,
            duration=time.perf_counter() - began,
            seen=tally.seen,
            checked=tally.checked,
            drift=dict(tally.drift),
            fixes=len(tally.fixes),
            adopted=tally.adopted,
            vanished=tally.vanished,
            orphans=len(orphans) + len(snapshot.orphans),
            cluster_calls=snapshot.calls,
            skipped=tally.skipped,
            fix_ids=tuple(tally.fixes),
        )

    # --- one database ------------------------------------------------------------------

    def _still_clean(
        self, scanned: Scanned, snapshot: Snapshot, active: set[str], tally: _Tally
    ) -> bool:
        """Found clean by the last pass against the same record revision (every write bumps
        it) and CR spec part, and not active: clean still, and settled (a record whose
        settle was tried is never remembered clean), so its record is not parsed."""
        if snapshot.unlisted or scanned.id in active:
            return False
        found = snapshot.databases.head_of(scanned.id)
        number = None if found is None else self._spec_numbers.get(found.spec_text)
        compared = f"{scanned.revision}/{number}"
        if number is None or self._clean.get(scanned.id) != compared:
            return False
        tally.checked += 1
        tally.clean[scanned.id] = compared
        return True

    async def _settle_if_needed(self, database: Database, active: set[str], fence: Guard) -> bool:
        """Settle a record whose holdings disagree with what it needs (a settle that failed);
        True when one was tried."""
        if (
            self._placement is None
            or database.id in active
            or not self._placement.unsettled(database)
        ):
            return False
        held = fence()
        try:
            await self._placement.settle(database.id, fence=held)
        except store_errors.Fenced:
            raise  # a newer leader took over: this one stops at once
        except (BrokerError, store_errors.StoreError) as exc:
            log.warning("placement_settle_failed", database_id=database.id, error=str(exc))
        return True

    async def _check(
        self, database: Database, found: Listed | None, fence: Guard, tally: _Tally
    ) -> None:
        if found is None:
            if await self._vanished(database, fence):
                tally.vanished += 1
            return
        number = self._spec_numbers.setdefault(found.spec_text, len(self._spec_numbers))
        compared = f"{database.revision}/{number}"
        if self._clean.get(database.id) == compared:
            tally.clean[database.id] = compared  # unchanged on both sides: no drift still
        elif await self._compare(database, found.spec, fence, tally):
            tally.clean[database.id] = compared

    async def _compare(
        self,
        database: Database,
        found: Mapping[str, Any],
        fence: Guard,
        tally: _Tally,
    ) -> bool:
        """Compare and act; True when there was no drift."""
        try:
            desired = desired_for(
                database, self._sizes, halted=database.status is DatabaseStatus.PAUSED
            )
        except Exception as exc:  # a record the rules no longer accept (a retired plan)
            log.warning("drift_check_skipped", database_id=database.id, error=str(exc))
            return False
        expected = database_cr.database_manifest(desired, monitoring=self._monitoring)
        found_drift = drift.find(expected, found, container=desired.engine_spec.container)
        if not found_drift:
            return True
        for item in found_drift:
            tally.drift[item.field] += 1
        for item in found_drift:  # the first drift something can be done about
            fix = await fixes.fix_for(database, item, self._catalog)
            if fix is not None and not await self._failed_before(database, fix):
                await self._open(database, item, fix, found_drift, fence, tally)
                return False
            if fix is None and await fixes.adoptable(database, item, self._catalog):
                if await self._adopt(database, item, found_drift, fence):
                    tally.adopted += 1
                return False
        await self._record(
            database,
            found_drift,
            fence,
            action="left alone: nothing here can undo it (or its fix failed before)",
            once=True,
        )
        tally.skipped += 1
        return False

    async def _open(
        self,
        database: Database,
        item: drift.Drift,
        fix: fixes.Fix[Any],
        found_drift: list[drift.Drift],
        fence: Guard,
        tally: _Tally,
    ) -> None:
        held = fence()
        try:
            operation = await self._operations.submit(
                fix.kind,
                fix.wanted,
                database_id=database.id,
                domain=database.domain,
                project=database.project,
                created_by=ACTOR,
                fence=held,
            )
        except store_errors.OperationInProgress:
            return  # an operation started meanwhile: the next pass looks again
        tally.fixes.append(operation.id)
        await self._record(
            database,
            found_drift,
            fence,
            action=f"{fix.kind.type} {operation.id} opened to fix {item.field}",
            operation_id=operation.id,
        )

    async def _failed_before(self, database: Database, fix: fixes.Fix[Any]) -> bool:
        recent = await self._store.operations.list(
            OperationFilter(database_id=database.id), limit=_RECENT_OPERATIONS
        )
        return any(
            op.created_by == ACTOR
            and op.type == fix.kind.type
            and op.status is OperationStatus.FAILED
            and op.desired_state == fix.stored()
            for op in recent.items
        )

    async def _adopt(
        self,
        database: Database,
        found: drift.Drift,
        everything: list[drift.Drift],
        fence: Guard,
    ) -> bool:
        key = "storage_gb" if found.field == "storage" else "version"
        held = fence()
        try:
            await self._store.databases.update_fields(
                database.id,
                {key: found.value},
                expected_revision=database.revision,
                fence=held,
            )
        except store_errors.RevisionConflict:
            return False  # changed meanwhile: the next pass looks again
        if self._placement is not None:  # a volume grown outside: its capacity is taken
            await self._placement.settle(database.id, fence=held)
        await self._record(
            database,
            everything,
            fence,
            action=f"{found.field} adopted from the cluster ({found.observed}): "
            "it cannot be undone",
        )
        log.info("drift_adopted", database_id=database.id, field=found.field, value=found.value)
        return True

    async def _vanished(self, database: Database, fence: Guard) -> bool:
        spec = engines.spec(database.engine)
        name = database.kubedb_resource_name or database.name
        where = f"{spec.kind} {database.namespace}/{name}"
        # The listing may be older than the record (a create that finished mid-pass):
        # ask for this one object before calling it gone.
        if await self._view.exists(
            database, spec.database_resource, name, database.namespace or ""
        ):
            return False
        message = (
            f"the {where} is gone from the cluster; the record is kept: delete the "
            "database to free its name"
        )
        held = fence()
        try:
            await self._store.databases.update_fields(
                database.id,
                {
                    "status": DatabaseStatus.FAILED,
                    "message": message,
                    "phase": None,
                    "health_status": HealthStatus.UNKNOWN,
                    "ready_replicas": 0,
                },
                expected_revision=database.revision,
                fence=held,
            )
        except store_errors.RevisionConflict:
            return False
        await self._store.events.append(
            Event(
                database_id=database.id,
                domain=database.domain,
                project=database.project,
                reason="ClusterResourceMissing",
                message=message,
                actor=ACTOR,
                from_status=database.status.value,
                to_status=DatabaseStatus.FAILED.value,
            ),
            fence=held,
        )
        log.warning("database_resource_missing", database_id=database.id, resource=where)
        return True

    async def _record(
        self,
        database: Database,
        found: list[drift.Drift],
        fence: Guard,
        *,
        action: str,
        operation_id: str | None = None,
        once: bool = False,
    ) -> None:
        """A `DriftDetected` event; with `once`, only the first time this process sees that
        drift on that database (drift left alone would otherwise add one every pass)."""
        if once:
            signature = "; ".join(d.text for d in found)
            if self._left_alone.get(database.id) == signature:
                return
            self._left_alone[database.id] = signature
        held = fence()
        await self._store.events.append(
            Event(
                database_id=database.id,
                domain=database.domain,
                project=database.project,
                reason="DriftDetected",
                message="; ".join(d.text for d in found) + f"; {action}",
                actor=ACTOR,
                operation_id=operation_id,
                details={
                    "drift": [
                        {"field": d.field, "desired": d.desired, "observed": d.observed}
                        for d in found
                    ],
                    "action": action,
                },
            ),
            fence=held,
        )
        log.info(
            "drift_detected",
            database_id=database.id,
            fields=",".join(d.field for d in found),
            action=action,
        )

    async def _report_orphans(
        self, orphans: list[str], crs: Mapping[str, Listed], fence: Guard
    ) -> None:
        for database_id in orphans:
            listed = crs[database_id]
            where = listed.where
            log.warning("orphan_cluster_resource", database_id=database_id, resource=where)
            if database_id in self._orphans_reported:
                continue
            self._orphans_reported.add(database_id)
            held = fence()
            await self._store.events.append(
                Event(
                    database_id=database_id,
                    domain=listed.domain,
                    project=listed.project,
                    reason="OrphanDetected",
                    message=f"{where} carries the managed label but no database record; left alone",
                    actor=ACTOR,
                ),
                fence=held,
            )
