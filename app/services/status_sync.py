"""One status-sync pass: the cluster's view of each database, written to its record.

    result = await StatusSync(store, view).run_pass(owns=lambda database_id: True)

The pass reads the cluster once (`ClusterView.snapshot`: one paginated LIST per engine and
one of the AppBindings, which say where each database serves and whether a real server
does),
the active operations once, and the live records page by page; for each record it `owns`
(the worker shares databases among instances) it writes what `domain.sync.sync_fields`
says changed, with compare-and-set on the record's revision: a record that changed
meanwhile (an operation step wrote it) is left for the next pass rather than overwritten,
and so is a record changed since the cluster was read (its CR may be newer than the
snapshot). A lifecycle status is only written after checking, on the record just read,
that no operation became active since the pass listed them.
A lifecycle status the sync changes (a leftover `scaling` with no operation, a `failed`
database that serves again) is logged as an Event with actor `system`.

A database whose CR is missing is not touched here: the reconciler decides about vanished
CRs. Records not placed yet (no namespace) and deleted ones are skipped.

Cost: the records are read with their revision (`inventory.live_records`) and parsed only
when needed: never another instance's, nor one the last pass found nothing to write for
when its revision, listed status, binding and operation state are the same again (every
write bumps the revision). A steady fleet's pass is then the listing and a short key per
record.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime

from app.domain import clock, data_plane, status_mapping, sync
from app.domain.databases import Database
from app.domain.events import Event
from app.observability.log import get_logger
from app.services import inventory
from app.services.cluster_view import ClusterView, Snapshot
from app.store import errors as store_errors
from app.store.protocols import Scanned, Store

log = get_logger(__name__)

SYSTEM_ACTOR = "system"


@dataclass(frozen=True, slots=True)
class SyncPass:
    started_at: datetime
    duration: float
    seen: int  # live records read
    synced: int  # records this instance owned and compared with their CR
    written: int  # records that changed
    missing: int  # owned records whose CR was not found
    cluster_calls: int
    errors: int = 0
    synced_ids: frozenset[str] = field(default=frozenset(), repr=False)


class StatusSync:
    def __init__(self, store: Store, view: ClusterView) -> None:
        self._store = store
        self._view = view
        # Database id -> "revision/status/binding/active" of a record the last pass found
        # nothing to write for: the same record (every write bumps its revision) against
        # the same listed facts has nothing again, so most of a steady fleet is not even
        # parsed. Strings: a map the collector does not track (see `cluster_view.Listing`).
        self._clean: dict[str, str] = {}
        self._numbers = _Numbers()

    async def run_pass(self, owns: Callable[[str], bool]) -> SyncPass:
        started_at, began = clock.utcnow(), time.perf_counter()
        snapshot = await self._view.snapshot(bindings=True)
        active = await inventory.active_database_ids(self._store)
        facts = _Facts(snapshot, self._numbers)
        seen = written = missing = errors = 0
        # Dicts of strings, not sets: never tracked by the collector (see `Listing`).
        synced: dict[str, None] = {}
        clean: dict[str, str] = {}
        async for scanned in inventory.live_records(self._store):
            seen += 1
            if not owns(scanned.id):
                continue  # another instance's: not parsed
            key = facts.key(scanned, operation_active=scanned.id in active)
            if key is not None and self._clean.get(scanned.id) == key:
                synced[scanned.id] = None
                clean[scanned.id] = key
                continue
            database = scanned.record()
            if database.namespace is None:
                continue
            synced[database.id] = None
            if database.updated_at > started_at:
                continue  # changed since the cluster was read: the next pass looks again
            if not snapshot.covers(database):
                continue  # its cluster could not be listed this time
            found = snapshot.databases.head_of(database.id)  # its status is all it reads
            if found is None:
                missing += 1
                continue
            try:
                done = await self._sync_one(
                    database,
                    found.observed,
                    operation_active=database.id in active,
                    binding=snapshot.bindings.get(database.id),
                )
            except store_errors.StoreUnavailable:
                raise
            except store_errors.StoreError as exc:
                errors += 1
                log.warning("status_sync_write_failed", database_id=database.id, error=str(exc))
                continue
            if done is None and key is not None:
                clean[database.id] = key
            written += done or 0
        self._clean = clean
        return SyncPass(
            started_at=started_at,
            duration=time.perf_counter() - began,
            seen=seen,
            synced=len(synced),
            written=written,
            missing=missing,
            cluster_calls=snapshot.calls,
            errors=errors,
            synced_ids=frozenset(synced),
        )

    async def _sync_one(
        self,
        database: Database,
        observed: status_mapping.ObservedDatabase,
        *,
        operation_active: bool,
        binding: data_plane.Binding | None = None,
    ) -> int | None:
        """1 when written, 0 when left for the next pass, None when nothing changed."""
        changes = sync.sync_fields(
            database, observed, operation_active=operation_active, binding=binding
        )
        if not changes:
            return None
        if "status" in changes and await self._store.operations.get_active(database.id):
            # An operation started after the pass read the active ones: the status is its.
            # (Started after this read, it bumps the record's revision: the write fails.)
            return 0
        try:
            updated = await self._store.databases.update_fields(
                database.id,
                {**changes, "synced_at": clock.utcnow()},
                expected_revision=database.revision,
            )
        except store_errors.RevisionConflict:
            return 0  # written meanwhile (an operation step): the next pass looks again
        if "status" in changes:
            await self._store.events.append(
                Event(
                    database_id=database.id,
                    domain=database.domain,
                    project=database.project,
                    reason="StatusSynced",
                    message=str(changes.get("message") or ""),
                    actor=SYSTEM_ACTOR,
                    from_status=database.status.value,
                    to_status=updated.status.value,
                )
            )
            log.info(
                "database_status_synced",
                database_id=database.id,
                from_status=database.status.value,
                to_status=updated.status.value,
            )
        return 1


# Distinct listed values numbered across passes, at most this many (then afresh).
_NUMBERS = 10_000


class _Numbers:
    """A number per distinct observed status or binding, never reused: equal facts in two
    passes get the same number (until the numbering starts afresh, when they get a new one:
    a record then looks changed once, never unchanged when it is not)."""

    __slots__ = ("_count", "_seen")

    def __init__(self) -> None:
        self._seen: dict[Hashable, int] = {}
        self._count = itertools.count()

    def of(self, value: Hashable) -> int:
        found = self._seen.get(value)
        if found is None:
            if len(self._seen) >= _NUMBERS:
                self._seen.clear()
            found = self._seen[value] = next(self._count)
        return found


class _Facts:
    """What one pass read of the cluster for a database, as a short key: equal exactly when
    its record, listed status, binding and operation state are."""

    __slots__ = ("_by_object", "_numbers", "_snapshot")

    def __init__(self, snapshot: Snapshot, numbers: _Numbers) -> None:
        self._snapshot = snapshot
        self._numbers = numbers
        # id() of a value the snapshot holds (alive all pass) -> its number: each distinct
        # value hashed once a pass, not once a database.
        self._by_object: dict[int, int] = {}

    def _number(self, kind: str, value: Hashable) -> int:
        found = self._by_object.get(id(value))
        if found is None:
            found = self._by_object[id(value)] = self._numbers.of((kind, value))
        return found

    def key(self, scanned: Scanned, *, operation_active: bool) -> str | None:
        """None when it cannot be told (its CR is not listed, or a cluster was not)."""
        if self._snapshot.unlisted:
            return None
        head = self._snapshot.databases.head_of(scanned.id)
        if head is None:
            return None
        binding = self._snapshot.bindings.get(scanned.id)
        status = self._number("status", head.observed)
        bound = -1 if binding is None else self._number("binding", binding)
        return f"{scanned.revision}/{status}/{bound}/{int(operation_active)}"
