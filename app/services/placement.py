"""Placing databases on providers and keeping the providers' allocations right.

Every change to a provider's allocation is a compare-and-set on its revision, retried on a
conflict with the provider read again: two creates that both saw room cannot both take the
last of it (tests/e2e/test_placement.py runs 50 at once).

A database records what it holds on its provider (`reserved_*`). The rules:

- create: `place` picks a provider (`domain.providers.candidates`) and reserves the
  database's demand on it before the record exists;
- a change that grows a database (scale, resize, more storage): `grow` reserves the growth
  when it is accepted (409 when it does not fit) and the record holds the larger figure;
- when an operation that may change a database's shape ends (succeeded or failed), and when
  a database is deleted, `settle` brings its provider's allocation to what the record now
  needs (nothing once deleted).

`settle` writes the record first, then the provider: a crash between the two leaves capacity
allocated that no database holds (never the reverse, which could overbook).
"""

from __future__ import annotations

import asyncio
import random

from app.domain import providers as rules
from app.domain.databases import Database, DatabaseStatus
from app.domain.providers import Demand, NoProvider, Provider
from app.domain.sizes import SizeTable
from app.log import get_logger
from app.services.quotas import Quotas
from app.store import errors as store_errors
from app.store.protocols import Store

log = get_logger(__name__)

# Compare-and-set attempts before giving up; with a random pause of up to 10 ms between
# them, 50 concurrent reservations on one provider settle well within this.
_ATTEMPTS = 200


def held(database: Database) -> Demand:
    """What the database holds on its provider now."""
    return Demand(database.reserved_cpu_cores, database.reserved_memory_gb,
                  database.reserved_storage_gb)


def reserved_fields(demand: Demand) -> dict[str, float]:
    return {"reserved_cpu_cores": demand.cpu_cores, "reserved_memory_gb": demand.memory_gb,
            "reserved_storage_gb": demand.storage_gb}


class Placement:
    def __init__(self, store: Store, sizes: SizeTable, quotas: Quotas) -> None:
        self._store = store
        self._sizes = sizes
        self.quotas = quotas

    def demand(self, *, size: str, replicas: int, storage_gb: int) -> Demand:
        plan = self._sizes.get(size) if size in self._sizes.names else self._sizes.default
        return rules.demand_for(plan, replicas=replicas, storage_gb=storage_gb)

    def needs(self, database: Database) -> Demand:
        if database.status is DatabaseStatus.DELETED:
            return Demand()
        return self.demand(size=database.size, replicas=database.replicas,
                           storage_gb=database.storage_gb)

    async def place(
        self, demand: Demand, *, domain: str, region: str | None, zone: str | None
    ) -> Provider:
        """Reserve `demand` on the best provider with room; `NoProvider` when none."""
        for _ in range(_ATTEMPTS):
            ranked = rules.candidates(await self._store.providers.all(), demand,
                                      domain=domain, region=region, zone=zone)
            for provider in ranked:
                try:
                    return await self._store.providers.update_fields(
                        provider.id, rules.with_demand(provider, demand),
                        expected_revision=provider.revision,
                    )
                except store_errors.RevisionConflict:
                    break  # read them all again: the ranking may have changed
                except store_errors.NotFound:
                    break
            await asyncio.sleep(random.uniform(0, 0.01))
        raise NoProvider("the providers are too busy to reserve capacity; try again",
                         capacity=True)

    async def grow(self, database: Database, target: Demand) -> Database:
        """Reserve on the database's provider what `target` needs beyond what the database
        holds; `NoProvider` when it does not fit. Shrinking waits for `settle`."""
        have = held(database)
        growth = Demand(*(max(0.0, t - h) for t, h in (
            (target.cpu_cores, have.cpu_cores), (target.memory_gb, have.memory_gb),
            (target.storage_gb, have.storage_gb))))
        if database.provider_id is None or growth.is_zero:
            return database
        await self.quotas.charge(database.domain, database.project, count=0, demand=growth,
                                 check=True)
        try:
            await self._apply(database.provider_id, growth, check=True)
        except BaseException:
            await self.quotas.charge(database.domain, database.project, count=0,
                                     demand=-growth, check=False)
            raise
        larger = Demand(*(max(t, h) for t, h in (
            (target.cpu_cores, have.cpu_cores), (target.memory_gb, have.memory_gb),
            (target.storage_gb, have.storage_gb))))
        return await self._store.databases.update_fields(database.id, reserved_fields(larger))

    async def shrink_back(self, before: Database, grown: Database) -> None:
        """Undo a `grow` whose change was not accepted after all."""
        delta = held(grown) - held(before)
        if grown.provider_id is None or delta.is_zero:
            return
        await self._store.databases.update_fields(grown.id, reserved_fields(held(before)))
        await self._apply(grown.provider_id, -delta, check=False)
        await self.quotas.charge(grown.domain, grown.project, count=0, demand=-delta,
                                 check=False)

    async def settle(self, database_id: str) -> None:
        """Bring the provider's allocation to what the record needs now (idempotent)."""
        database = await self._store.databases.get(database_id)
        if database is None or database.provider_id is None:
            return
        want, have = self.needs(database), held(database)
        delta = want - have
        counted = database.status is not DatabaseStatus.DELETED
        count = int(counted) - int(database.counted)
        if delta.is_zero and count == 0:
            return
        await self._store.databases.update_fields(
            database.id, {**reserved_fields(want), "counted": counted}
        )
        await self._apply(database.provider_id, delta, check=False)
        await self.quotas.charge(database.domain, database.project, count=count,
                                 demand=delta, check=False)
        log.info("placement_settled", database_id=database.id,
                 provider_id=database.provider_id, cpu=delta.cpu_cores,
                 memory_gb=delta.memory_gb, storage_gb=delta.storage_gb)

    async def release(self, provider_id: str, demand: Demand) -> None:
        """Give back a reservation no database came to hold (a create that failed)."""
        await self._apply(provider_id, -demand, check=False)

    async def _apply(self, provider_id: str, delta: Demand, *, check: bool) -> None:
        for _ in range(_ATTEMPTS):
            provider = await self._store.providers.get(provider_id)
            if provider is None:
                if check:
                    raise NoProvider(f"provider {provider_id} no longer exists",
                                     capacity=False)
                return  # nothing to give back to
            if check:
                missing = rules.shortfall(provider, delta)
                if missing:
                    raise NoProvider(f"provider {provider.name} has no room for the change "
                                     f"({'; '.join(missing)})", capacity=True)
            try:
                await self._store.providers.update_fields(
                    provider_id, rules.with_demand(provider, delta),
                    expected_revision=provider.revision,
                )
                return
            except store_errors.RevisionConflict:
                await asyncio.sleep(random.uniform(0, 0.01))
        raise NoProvider(f"provider {provider_id} is too busy to change its allocation; "
                         "try again", capacity=True)
