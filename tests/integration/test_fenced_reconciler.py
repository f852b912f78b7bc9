"""The leader-only writes carry the epoch (issue 13, item 4): a reconciler whose epoch is
older than the store's newest writes nothing, and stops leading at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from app.broker.locks import RedisLocks
from app.broker.streams import OperationQueue
from app.domain import clock
from app.domain import operation_kinds as kinds
from app.domain.databases import Database, DatabaseStatus
from app.domain.providers import Provider
from app.domain.quotas import tenant_id
from app.domain.sizes import default_size_table
from app.services.operations import OperationDefaults, OperationService
from app.services.orphan_records import OrphanRecords
from app.services.placement import Placement
from app.services.quotas import Quotas
from app.store import errors as store_errors
from app.store.protocols import Fence
from app.store.sqlite import SQLiteStore
from app.workers.leader_election import Leadership, LeadershipLost
from app.workers.reconciliation_worker import ReconciliationWorker
from tests.support import redis_keys

LEASE = "leader"


async def an_orphan(store: SQLiteStore) -> Database:
    """A `pending` record with no operation, older than any grace."""
    return await store.databases.insert(
        Database.model_validate(
            {
                "name": "orphan",
                "domain": "acme",
                "project": "shop",
                "engine": "postgres",
                "version": "16.4",
                "created_at": clock.utcnow() - timedelta(hours=1),
            }
        )
    )


async def stale_fence(store: SQLiteStore) -> Fence:
    held = Fence(LEASE, await store.fences.advance(LEASE))
    await store.fences.advance(LEASE)  # a newer leader took the lease since
    return held


async def test_a_stale_leader_rolls_back_no_orphan_record(sqlite_store: SQLiteStore) -> None:
    orphan = await an_orphan(sqlite_store)
    held = await stale_fence(sqlite_store)

    with pytest.raises(store_errors.Fenced):
        await OrphanRecords(sqlite_store, None, grace=0).roll_back(lambda: held)

    record = await sqlite_store.databases.get(orphan.id)
    assert record is not None and record.status is DatabaseStatus.PENDING
    assert (await sqlite_store.events.list_for_database(orphan.id)).total == 0


async def test_a_reconciler_whose_write_is_fenced_stops_leading(
    sqlite_store: SQLiteStore,
    redis_client: aioredis.Redis,
) -> None:
    await an_orphan(sqlite_store)
    loop = asyncio.get_running_loop()
    leadership = Leadership(
        epoch=1,
        instance_id="me",
        _deadline=loop.time() + 60,
        _clock=loop.time,
        fence=await stale_fence(sqlite_store),
    )
    worker = ReconciliationWorker(
        store=sqlite_store,
        queue=OperationQueue(redis_client, prefix=redis_keys().operations),
        interval=60,
        stall_grace=60,
        orphans=OrphanRecords(sqlite_store, None, grace=0),
    )

    with pytest.raises(LeadershipLost):
        await worker.run_pass(leadership)

    assert not leadership.valid


async def test_a_stale_leader_opens_no_drift_fix_operation(
    sqlite_store: SQLiteStore,
    redis_client: aioredis.Redis,
) -> None:
    database = await an_orphan(sqlite_store)
    operations = OperationService(
        sqlite_store,
        OperationQueue(redis_client, prefix=redis_keys().operations),
        OperationDefaults(deadline=60),
    )

    with pytest.raises(store_errors.Fenced):
        await operations.submit(
            kinds.RESUME,
            kinds.ResumeInput(),
            database_id=database.id,
            domain=database.domain,
            project=database.project,
            created_by="reconciler",
            fence=await stale_fence(sqlite_store),
        )

    assert await sqlite_store.operations.get_active(database.id) is None


async def test_a_stale_leader_settles_no_placement(
    sqlite_store: SQLiteStore,
    redis_client: aioredis.Redis,
) -> None:
    provider = await sqlite_store.providers.insert(
        Provider.model_validate(
            {
                "name": "eu-1",
                "region": "eu-west",
                "availability_zone": "eu-west-1a",
                "cpu_total_cores": 64,
                "memory_total_gb": 256,
                "storage_total_gb": 4096,
            }
        )
    )
    database = await sqlite_store.databases.insert(
        Database.model_validate(
            {
                "name": "unsettled",
                "domain": "acme",
                "project": "shop",
                "engine": "postgres",
                "version": "16.4",
                "status": "running",
                "provider_id": provider.id,
            }
        )
    )
    placement = Placement(
        sqlite_store,
        default_size_table(),
        Quotas(sqlite_store),
        RedisLocks(redis_client, prefix=redis_keys().placement_locks),
    )
    assert placement.unsettled(database)  # it holds nothing of what it needs

    with pytest.raises(store_errors.Fenced):
        await placement.settle(database.id, fence=await stale_fence(sqlite_store))

    assert await sqlite_store.databases.get(database.id) == database
    assert await sqlite_store.providers.get(provider.id) == provider
    assert await sqlite_store.tenants.get(tenant_id("acme")) is None
