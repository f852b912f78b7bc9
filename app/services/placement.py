"""Placing databases on providers and keeping their allocations, and the tenants' quota
usage, equal to what the databases take.

A database records what it holds (`reserved_*`, and `counted` in its tenants' usage). Every
change to a provider's allocation is a compare-and-set on its revision, retried with the
provider read again: two creates that both saw room cannot both take the last of it
(tests/e2e/test_placement.py runs 50 at once). Changes to what one database holds happen one
at a time, under a per-database lock shared by every instance (`_locked`, on the `Locks`
port: Redis in production), so that a change being accepted and an operation ending never
interleave.

- create: `place` picks a provider (`domain.providers.candidates`) and reserves the
  database's demand before the record exists (quotas are charged just before);
- a change that grows a database (scale, resize, more storage): `change` reserves the
  growth and only then submits the operation (409 or 429 when it does not fit; the growth
  is given back if the submit fails);
- when any operation ends, on delete, after a drift adoption and, as a safety net, on each
  drift-repair pass for records that disagree: `settle` brings what the database holds to
  what it needs (its record's shape, or its operation's target while one runs).

`settle` writes the record first, then the provider and the quotas: a crash between them
leaves capacity allocated that no database holds (never the reverse, which could
overbook).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from app.broker.errors import BrokerError, BrokerUnavailable
from app.domain import providers as rules
from app.domain.databases import Database, DatabaseStatus
from app.domain.providers import Demand, NoProvider, Provider
from app.domain.sizes import SizeTable
from app.observability.log import get_logger
from app.services.ports import Locks
from app.services.quotas import Quotas
from app.store import errors as store_errors
from app.store.protocols import Fence, Store

log = get_logger(__name__)

T = TypeVar("T")
LOCK_TTL = 30.0  # seconds a lock outlives a holder that died
LOCK_WAIT = 10.0  # seconds to wait for one

# Compare-and-set attempts before giving up; with a random pause of up to 10 ms between
# them, 50 concurrent reservations on one provider settle well within this.
_ATTEMPTS = 200


def held(database: Database) -> Demand:
    """What the database holds on its provider now."""
    return Demand(
        database.reserved_cpu_cores, database.reserved_memory_gb, database.reserved_storage_gb
    )


def _positive(demand: Demand) -> Demand:
    return Demand(
        max(0.0, demand.cpu_cores), max(0.0, demand.memory_gb), max(0.0, demand.storage_gb)
    )


def _larger(a: Demand, b: Demand) -> Demand:
    return Demand(
        max(a.cpu_cores, b.cpu_cores),
        max(a.memory_gb, b.memory_gb),
        max(a.storage_gb, b.storage_gb),
    )


def reserved_fields(demand: Demand) -> dict[str, float]:
    return {
        "reserved_cpu_cores": demand.cpu_cores,
        "reserved_memory_gb": demand.memory_gb,
        "reserved_storage_gb": demand.storage_gb,
    }


class Placement:
    def __init__(
        self,
        store: Store,
        sizes: SizeTable,
        quotas: Quotas,
        locks: Locks,
    ) -> None:
        self._store = store
        self._sizes = sizes
        self.quotas = quotas
        self._locks = locks

    def demand(self, *, size: str, replicas: int, storage_gb: int) -> Demand:
        plan = self._sizes.get(size) if size in self._sizes.names else self._sizes.default
        return rules.demand_for(plan, replicas=replicas, storage_gb=storage_gb)

    def needs(self, database: Database) -> Demand:
        if database.status is DatabaseStatus.DELETED:
            return Demand()
        return self.demand(
            size=database.size, replicas=database.replicas, storage_gb=database.storage_gb
        )

    async def place(
        self, demand: Demand, *, domain: str, region: str | None, zone: str | None
    ) -> Provider:
        """Reserve `demand` on the best provider with room; `NoProvider` when none."""
        for _ in range(_ATTEMPTS):
            ranked = rules.candidates(
                await self._store.providers.all(), demand, domain=domain, region=region, zone=zone
            )
            for provider in ranked:
                try:
                    return await self._store.providers.update_fields(
                        provider.id,
                        rules.with_demand(provider, demand),
                        expected_revision=provider.revision,
                    )
                except store_errors.RevisionConflict:
                    break  # read them all again: the ranking may have changed
                except store_errors.NotFound:
                    break
            await asyncio.sleep(random.uniform(0, 0.01))
        raise NoProvider("the providers are too busy to reserve capacity; try again", capacity=True)

    async def change(
        self, database: Database, target: Demand | None, submit: Callable[[], Awaitable[T]]
    ) -> T:
        """Run `submit` (which starts a change of the database) with the growth the change
        needs reserved first: its project's and domain's quotas (`QuotaExceeded`) and its
        provider (`NoProvider`). When `submit` fails, the growth is given back. Shrinking
        waits for `settle` when the change has been made."""
        if target is None or database.provider_id is None:
            return await submit()
        async with self._locked(database.id):
            fresh = await self._store.databases.get(database.id) or database
            have = held(fresh)
            growth = _positive(target - have)
            if not growth.is_zero:
                await self._take(fresh, growth)
                await self._store.databases.update_fields(
                    fresh.id, reserved_fields(_larger(target, have))
                )
            try:
                return await submit()
            except BaseException:
                if not growth.is_zero:
                    await self._store.databases.update_fields(fresh.id, reserved_fields(have))
                    await self._give(fresh, growth, count=0)
                raise

    async def settle(self, database_id: str, *, fence: Fence | None = None) -> None:
        """Bring what the database holds to what it needs now: its record's shape, or the
        target of an operation in progress if that is larger (idempotent). The reconciler
        passes its epoch as `fence`: every write then carries it (`store_errors.Fenced`)."""
        async with self._locked(database_id):
            database = await self._store.databases.get(database_id)
            if database is None or database.provider_id is None:
                return
            want = self.needs(database)
            active = await self._store.operations.get_active(database_id)
            if active is not None and database.status is not DatabaseStatus.DELETED:
                want = _larger(want, self.target(database, active.desired_state))
            have = held(database)
            delta = want - have
            counted = database.status is not DatabaseStatus.DELETED
            count = int(counted) - int(database.counted)
            if delta.is_zero and count == 0:
                return
            await self._store.databases.update_fields(
                database.id, {**reserved_fields(want), "counted": counted}, fence=fence
            )
            await self._apply(database.provider_id, delta, check=False, fence=fence)
            await self.quotas.charge(
                database.domain,
                database.project,
                count=count,
                demand=delta,
                check=False,
                fence=fence,
            )
        log.info(
            "placement_settled",
            database_id=database.id,
            provider_id=database.provider_id,
            cpu=delta.cpu_cores,
            memory_gb=delta.memory_gb,
            storage_gb=delta.storage_gb,
            count=count,
        )

    def target(self, database: Database, desired: Mapping[str, Any]) -> Demand:
        """What the database needs once `desired` (an operation's desired state) is done."""
        return self.demand(
            size=str(desired.get("size", database.size)),
            replicas=int(desired.get("replicas", database.replicas)),
            storage_gb=int(desired.get("storage_gb", database.storage_gb)),
        )

    def unsettled(self, database: Database) -> bool:
        """Does what the record holds differ from what it needs (a settle that failed)?"""
        return database.provider_id is not None and (
            not (self.needs(database) - held(database)).is_zero
            or database.counted != (database.status is not DatabaseStatus.DELETED)
        )

    async def _take(self, database: Database, growth: Demand) -> None:
        await self.quotas.charge(
            database.domain, database.project, count=0, demand=growth, check=True
        )
        try:
            assert database.provider_id is not None
            await self._apply(database.provider_id, growth, check=True)
        except BaseException:
            await self.quotas.charge(
                database.domain, database.project, count=0, demand=-growth, check=False
            )
            raise

    async def _give(self, database: Database, demand: Demand, *, count: int) -> None:
        assert database.provider_id is not None
        await self._apply(database.provider_id, -demand, check=False)
        await self.quotas.charge(
            database.domain, database.project, count=-count, demand=-demand, check=False
        )

    @asynccontextmanager
    async def _locked(self, database_id: str) -> AsyncIterator[None]:
        """One reservation change at a time per database, across instances: a lock with a
        lease (`LOCK_TTL`), so that one holder dying frees it."""
        token = await self._locks.acquire(database_id, ttl=LOCK_TTL, wait=LOCK_WAIT)
        if token is None:
            raise BrokerUnavailable(
                f"the reservations of database {database_id} stay locked; try again"
            )
        try:
            yield
        finally:
            with contextlib.suppress(BrokerError):
                await self._locks.release(database_id, token)

    async def release(self, provider_id: str, demand: Demand) -> None:
        """Give back a reservation no database came to hold (a create that failed)."""
        await self._apply(provider_id, -demand, check=False)

    async def _apply(
        self, provider_id: str, delta: Demand, *, check: bool, fence: Fence | None = None
    ) -> None:
        for _ in range(_ATTEMPTS):
            provider = await self._store.providers.get(provider_id)
            if provider is None:
                if check:
                    raise NoProvider(f"provider {provider_id} no longer exists", capacity=False)
                return  # nothing to give back to
            if check:
                missing = rules.shortfall(provider, delta)
                if missing:
                    raise NoProvider(
                        f"provider {provider.name} has no room for the change "
                        f"({'; '.join(missing)})",
                        capacity=True,
                    )
            try:
                await self._store.providers.update_fields(
                    provider_id,
                    rules.with_demand(provider, delta),
                    expected_revision=provider.revision,
                    fence=fence,
                )
                return
            except store_errors.RevisionConflict:
                await asyncio.sleep(random.uniform(0, 0.01))
        raise NoProvider(
            f"provider {provider_id} is too busy to change its allocation; try again", capacity=True
        )
