"""One contract for every store adapter: the rules the rest of the system relies on."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from app.domain import clock
from app.domain.api_keys import ApiKey, Role, new_token
from app.domain.databases import Database, DatabaseStatus
from app.domain.errors import IllegalTransition
from app.domain.events import Event
from app.domain.operations import Operation, OperationStatus
from app.store import errors
from app.store.protocols import ApiKeyFilter, DatabaseFilter, OperationFilter, Store


def a_database(name: str = "orders", **fields: object) -> Database:
    values: dict[str, object] = {
        "name": name,
        "domain": "acme",
        "project": "shop",
        "engine": "postgres",
        "version": "16.4",
    }
    values.update(fields)
    return Database.model_validate(values)


def an_operation(database_id: str = "db-1", **fields: object) -> Operation:
    values: dict[str, object] = {
        "database_id": database_id,
        "domain": "acme",
        "project": "shop",
        "type": "create",
    }
    values.update(fields)
    return Operation.model_validate(values)


async def test_a_database_reads_back_as_it_was_written(store: Store) -> None:
    written = a_database(labels={"app.kubernetes.io/name": "orders"}, replicas=3)
    await store.databases.insert(written)

    read = await store.databases.get(written.id)

    assert read == written


async def test_a_missing_database_reads_as_none(store: Store) -> None:
    assert await store.databases.get("db-missing") is None


async def test_two_live_databases_cannot_share_a_name_in_a_project(store: Store) -> None:
    await store.databases.insert(a_database("orders"))

    with pytest.raises(errors.DuplicateName):
        await store.databases.insert(a_database("orders"))

    assert (await store.databases.list(DatabaseFilter(domain="acme"))).total == 1


async def test_the_same_name_is_free_in_another_project(store: Store) -> None:
    await store.databases.insert(a_database("orders"))
    await store.databases.insert(a_database("orders", project="billing"))

    assert (await store.databases.list(DatabaseFilter(domain="acme"))).total == 2


async def test_a_deleted_databases_name_can_be_reused_more_than_once(store: Store) -> None:
    first = await store.databases.insert(a_database("orders"))
    await store.databases.update_fields(first.id, {"status": DatabaseStatus.DELETED})
    second = await store.databases.insert(a_database("orders"))
    await store.databases.update_fields(second.id, {"status": DatabaseStatus.DELETED})
    await store.databases.insert(a_database("orders"))

    live = await store.databases.list(DatabaseFilter(domain="acme"))
    deleted = await store.databases.list(DatabaseFilter(domain="acme", status="deleted"))
    assert (live.total, deleted.total) == (1, 2)


async def test_lists_filter_and_come_newest_first_in_pages(store: Store) -> None:
    start = clock.utcnow()
    for i in range(5):
        await store.databases.insert(
            a_database(
                f"db-{i}",
                engine="mysql" if i % 2 else "postgres",
                labels={"team": "red" if i < 3 else "blue"},
                created_at=start + timedelta(seconds=i),
            )
        )

    everything = await store.databases.list(DatabaseFilter(domain="acme"), limit=2, offset=1)
    mysql = await store.databases.list(DatabaseFilter(domain="acme", engine="mysql"))
    blue = await store.databases.list(DatabaseFilter(label=("team", "blue")))
    prefixed = await store.databases.list(DatabaseFilter(name_prefix="db-3"))
    other_tenant = await store.databases.list(DatabaseFilter(domain="globex"))

    assert [d.name for d in everything.items] == ["db-3", "db-2"]
    assert everything.total == 5
    assert [d.name for d in mysql.items] == ["db-3", "db-1"]
    assert [d.name for d in blue.items] == ["db-4", "db-3"]
    assert [d.name for d in prefixed.items] == ["db-3"]
    assert other_tenant.total == 0


async def test_a_label_key_with_dots_and_slashes_filters_exactly(store: Store) -> None:
    await store.databases.insert(a_database("one", labels={"app.kubernetes.io/name": "x"}))
    await store.databases.insert(a_database("two", labels={"app": "x"}))

    found = await store.databases.list(DatabaseFilter(label=("app.kubernetes.io/name", "x")))

    assert [d.name for d in found.items] == ["one"]


async def test_a_compare_and_set_update_bumps_the_revision(store: Store) -> None:
    db = await store.databases.insert(a_database())

    updated = await store.databases.update_fields(
        db.id, {"replicas": 3, "status": DatabaseStatus.SCALING}, expected_revision=0
    )

    assert (updated.replicas, updated.status, updated.revision) == (3, "scaling", 1)
    assert updated.updated_at >= db.updated_at
    assert await store.databases.get(db.id) == updated


async def test_a_stale_revision_is_refused_and_changes_nothing(store: Store) -> None:
    db = await store.databases.insert(a_database())
    await store.databases.update_fields(db.id, {"replicas": 3}, expected_revision=0)

    with pytest.raises(errors.RevisionConflict):
        await store.databases.update_fields(db.id, {"replicas": 5}, expected_revision=0)

    current = await store.databases.get(db.id)
    assert current is not None and (current.replicas, current.revision) == (3, 1)


async def test_updating_a_missing_record_is_not_found(store: Store) -> None:
    with pytest.raises(errors.NotFound):
        await store.databases.update_fields("db-missing", {"replicas": 3})
    with pytest.raises(errors.NotFound):
        await store.operations.update_fields("op-missing", {"progress": 3}, expected_revision=0)


async def test_identity_and_unknown_fields_cannot_be_updated(store: Store) -> None:
    db = await store.databases.insert(a_database())

    for fields in ({"name": "other"}, {"revision": 9}, {"no_such_field": 1}, {"id": "x"}):
        with pytest.raises(ValueError):
            await store.databases.update_fields(db.id, fields)

    assert await store.databases.get(db.id) == db


async def test_concurrent_writers_of_different_fields_keep_each_others_changes(
    store: Store,
) -> None:
    db = await store.databases.insert(a_database())

    async def write(field: str, values: list[object]) -> None:
        for value in values:
            await store.databases.update_fields(db.id, {field: value})

    await asyncio.gather(
        write("replicas", list(range(1, 21))),
        write("message", [f"m{i}" for i in range(20)]),
        write("labels", [{"n": str(i)} for i in range(20)]),
    )

    final = await store.databases.get(db.id)
    assert final is not None
    assert (final.replicas, final.message, final.labels) == (20, "m19", {"n": "19"})
    assert final.revision == 60


async def test_of_concurrent_compare_and_sets_on_one_revision_exactly_one_wins(
    store: Store,
) -> None:
    db = await store.databases.insert(a_database())

    async def attempt(replicas: int) -> bool:
        try:
            await store.databases.update_fields(db.id, {"replicas": replicas}, expected_revision=0)
        except errors.RevisionConflict:
            return False
        return True

    results = await asyncio.gather(*(attempt(n) for n in range(1, 11)))

    assert results.count(True) == 1
    final = await store.databases.get(db.id)
    assert final is not None and final.revision == 1 and final.replicas == results.index(True) + 1


async def test_a_database_has_at_most_one_active_operation(store: Store) -> None:
    first = await store.operations.create_active(an_operation("db-1"))

    with pytest.raises(errors.OperationInProgress) as caught:
        await store.operations.create_active(an_operation("db-1", type="scale_horizontal"))

    assert caught.value.operation_id == first.id
    await store.operations.create_active(an_operation("db-2"))
    assert (await store.operations.list(OperationFilter(database_id="db-1"))).total == 1


async def test_of_concurrent_operations_for_one_database_exactly_one_is_created(
    store: Store,
) -> None:
    async def attempt() -> str | None:
        try:
            return (await store.operations.create_active(an_operation("db-1"))).id
        except errors.OperationInProgress as exc:
            return exc.operation_id

    ids = await asyncio.gather(*(attempt() for _ in range(10)))

    assert len(set(ids)) == 1
    assert (await store.operations.list(OperationFilter(database_id="db-1"))).total == 1


@pytest.mark.parametrize(
    "ending", [OperationStatus.SUCCEEDED, OperationStatus.FAILED, OperationStatus.CANCELLED]
)
async def test_an_ended_operation_frees_the_database_for_the_next(
    store: Store, ending: OperationStatus
) -> None:
    first = await store.operations.create_active(an_operation("db-1"))
    await store.operations.update_fields(first.id, {"status": OperationStatus.RUNNING})
    await store.operations.update_fields(first.id, {"status": ending})

    second = await store.operations.create_active(an_operation("db-1"))

    active = await store.operations.get_active("db-1")
    assert active is not None and active.id == second.id
    ended = await store.operations.get(first.id)
    assert ended is not None and ended.status == ending


async def test_moving_between_active_states_keeps_the_database_claimed(store: Store) -> None:
    first = await store.operations.create_active(an_operation("db-1"))
    for status in (OperationStatus.RUNNING, OperationStatus.WAITING, OperationStatus.RUNNING):
        await store.operations.update_fields(first.id, {"status": status})

    with pytest.raises(errors.OperationInProgress):
        await store.operations.create_active(an_operation("db-1"))


async def test_an_illegal_operation_status_move_is_refused_and_changes_nothing(
    store: Store,
) -> None:
    queued = await store.operations.create_active(an_operation("db-1"))

    with pytest.raises(IllegalTransition) as caught:
        await store.operations.update_fields(
            queued.id, {"status": OperationStatus.SUCCEEDED, "progress": 100}
        )
    assert (caught.value.current, caught.value.target) == ("queued", "succeeded")
    with pytest.raises(IllegalTransition):
        await store.operations.update_fields(
            queued.id, {"status": OperationStatus.WAITING}, expected_revision=queued.revision
        )

    after = await store.operations.get(queued.id)
    assert after is not None
    assert (after.status, after.progress, after.revision) == ("queued", 0, queued.revision)


async def test_an_ended_operation_cannot_be_moved_again(store: Store) -> None:
    op = await store.operations.create_active(an_operation("db-1"))
    op = await store.operations.update_fields(op.id, {"status": OperationStatus.CANCELLED})

    for target in (OperationStatus.RUNNING, OperationStatus.QUEUED, OperationStatus.SUCCEEDED):
        with pytest.raises(IllegalTransition):
            await store.operations.update_fields(op.id, {"status": target})
    # A field without a status is still written (the engine's bookkeeping after the end).
    await store.operations.update_fields(op.id, {"message": "noted"})
    after = await store.operations.get(op.id)
    assert after is not None and (after.status, after.message) == ("cancelled", "noted")


async def test_a_stale_revision_is_a_revision_conflict_even_when_the_move_is_illegal_now(
    store: Store,
) -> None:
    op = await store.operations.create_active(an_operation("db-1"))
    await store.operations.update_fields(op.id, {"status": OperationStatus.CANCELLED})

    # The engine re-reads on a revision conflict and sees the operation ended.
    with pytest.raises(errors.RevisionConflict):
        await store.operations.update_fields(
            op.id, {"status": OperationStatus.RUNNING}, expected_revision=op.revision
        )


async def test_an_operation_reads_back_with_its_desired_state(store: Store) -> None:
    op = an_operation(desired_state={"replicas": 3, "nested": {"a": [1, 2]}}, created_by="key-1")
    await store.operations.create_active(op)

    assert await store.operations.get(op.id) == op
    assert await store.operations.get("op-missing") is None


async def test_operations_filter_by_status_and_type(store: Store) -> None:
    a = await store.operations.create_active(an_operation("db-1", type="create"))
    await store.operations.create_active(an_operation("db-2", type="delete", project="other"))
    await store.operations.update_fields(a.id, {"status": OperationStatus.RUNNING})

    running = await store.operations.list(OperationFilter(status="running"))
    deletes = await store.operations.list(OperationFilter(type="delete"))
    shop = await store.operations.list(OperationFilter(domain="acme", project="shop"))

    assert [o.id for o in running.items] == [a.id]
    assert [o.type for o in deletes.items] == ["delete"]
    assert shop.total == 1


async def test_stalled_operations_are_the_overdue_and_the_expired_leases(store: Store) -> None:
    now = clock.utcnow()
    past, future = now - timedelta(minutes=5), now + timedelta(minutes=5)
    overdue = await store.operations.create_active(an_operation("db-1", next_run_at=past))
    await store.operations.create_active(an_operation("db-2", next_run_at=future))
    expired = await store.operations.create_active(
        an_operation("db-3", status="running", lease_expires_at=past, next_run_at=future)
    )
    await store.operations.create_active(
        an_operation("db-4", status="running", lease_expires_at=future, next_run_at=past)
    )
    waiting = await store.operations.create_active(
        an_operation("db-5", status="waiting", next_run_at=past)
    )
    done = await store.operations.create_active(an_operation("db-6", next_run_at=past))
    await store.operations.update_fields(done.id, {"status": "running"})
    await store.operations.update_fields(done.id, {"status": "succeeded"})
    late = await store.operations.create_active(
        an_operation("db-7", status="waiting", next_run_at=future, deadline_at=past)
    )
    await store.operations.create_active(
        an_operation("db-8", status="waiting", next_run_at=future, deadline_at=future)
    )

    stalled = await store.operations.list_stalled(due_before=now)

    assert {o.id for o in stalled} == {overdue.id, expired.id, waiting.id, late.id}


async def test_events_list_newest_first_per_database(store: Store) -> None:
    start = clock.utcnow()
    for i in range(3):
        await store.events.append(
            Event(
                database_id="db-1",
                domain="acme",
                project="shop",
                reason=f"r{i}",
                message="m",
                created_at=start + timedelta(seconds=i),
            )
        )
    await store.events.append(
        Event(database_id="db-2", domain="acme", project="shop", reason="other", message="m")
    )

    page = await store.events.list_for_database("db-1", limit=2)

    assert [e.reason for e in page.items] == ["r2", "r1"]
    assert page.total == 3


def an_api_key(
    role: Role = Role.OWNER,
    *,
    name: str = "ci",
    domain: str | None = "acme",
    project: str | None = None,
    created_at: datetime | None = None,
) -> ApiKey:
    key = ApiKey.for_token(new_token(), name=name, role=role, domain=domain, project=project)
    return key if created_at is None else key.model_copy(update={"created_at": created_at})


async def test_api_keys_are_found_by_id_and_revoked_once(store: Store) -> None:
    token = new_token()
    key = ApiKey.for_token(token, name="ci", role=Role.OWNER, domain="acme")
    await store.api_keys.insert(key)

    found = await store.api_keys.get(token.key_id)
    first = clock.utcnow()
    revoked = await store.api_keys.revoke(key.id, at=first)
    again = await store.api_keys.revoke(key.id, at=first + timedelta(hours=1))

    assert found == key
    assert found is not None and found.verify(token.secret)
    assert revoked.revoked_at == again.revoked_at
    assert revoked.revoked_at is not None
    assert abs((revoked.revoked_at - first).total_seconds()) < 0.001
    assert await store.api_keys.get(new_token().key_id) is None
    assert await store.api_keys.count() == 1
    assert [k.id for k in (await store.api_keys.list()).items] == [key.id]
    with pytest.raises(errors.NotFound):
        await store.api_keys.revoke("key-missing", at=first)


async def test_a_second_key_with_the_same_id_is_a_conflict(store: Store) -> None:
    token = new_token()

    def key() -> ApiKey:
        return ApiKey.for_token(token, name="k", role=Role.VIEWER, domain="acme")

    await store.api_keys.insert(key())
    with pytest.raises(errors.Conflict):
        await store.api_keys.insert(key())
    assert await store.api_keys.count() == 1


async def test_api_keys_list_newest_first_in_pages_and_narrow_to_a_tenant(store: Store) -> None:
    start = clock.utcnow()
    scopes = [
        ("acme", None),
        ("acme", "shop"),
        ("acme", "billing"),
        ("globex", None),
        (None, None),
    ]
    for i, (domain, project) in enumerate(scopes):
        role = Role.ADMIN if domain is None else Role.VIEWER
        await store.api_keys.insert(
            an_api_key(
                role,
                domain=domain,
                project=project,
                name=f"k{i}",
                created_at=start + timedelta(seconds=i),
            )
        )

    everything = await store.api_keys.list(limit=2)
    acme = await store.api_keys.list(ApiKeyFilter(domain="acme"))
    shop = await store.api_keys.list(ApiKeyFilter(domain="acme", project="shop"))

    assert ([k.name for k in everything.items], everything.total) == (["k4", "k3"], 5)
    assert [k.name for k in acme.items] == ["k2", "k1", "k0"] and acme.total == 3
    assert [k.name for k in shop.items] == ["k1"] and shop.total == 1


async def test_last_use_is_written_at_most_once_per_interval(store: Store) -> None:
    key = await store.api_keys.insert(an_api_key())
    now = clock.utcnow()
    minute = timedelta(minutes=1)

    first = await store.api_keys.mark_used(key.id, at=now, unless_since=now - minute)
    soon = await store.api_keys.mark_used(
        key.id, at=now + timedelta(seconds=30), unless_since=now + timedelta(seconds=30) - minute
    )
    later = now + timedelta(seconds=61)
    after = await store.api_keys.mark_used(key.id, at=later, unless_since=later - minute)
    missing = await store.api_keys.mark_used("key-missing", at=later, unless_since=later - minute)

    stored = await store.api_keys.get(key.id)
    assert (first, soon, after, missing) == (True, False, True, False)
    assert stored is not None and stored.last_used_at is not None
    assert abs((stored.last_used_at - later).total_seconds()) < 0.001
    assert stored.key_hash == key.key_hash and stored.revoked_at is None


async def test_the_store_answers_a_ping(store: Store) -> None:
    await store.ping()


async def test_an_index_an_earlier_version_made_is_dropped_when_the_store_opens(
    store: Store,
) -> None:
    from app.store.mongo import MongoStore

    if not isinstance(store, MongoStore):
        pytest.skip("indexes are the Mongo adapter's concern")
    collection = store._db["api_keys"]
    await collection.create_index("key_hash", unique=True, name="api_keys_hash")
    if "api_keys_hash" not in await collection.index_information():
        pytest.skip("this stand-in names indexes itself")  # nx-27017

    await store.create_indexes()  # what a restart does
    await store.create_indexes()  # and a second instance starting after it

    present = await collection.index_information()
    assert "api_keys_hash" not in present and "api_keys_tenant_created" in present


async def test_a_scan_walks_every_live_database_once_in_id_order(store: Store) -> None:
    made = [
        await store.databases.insert(a_database(f"db{i:02d}", project=f"p{i % 3}"))
        for i in range(11)
    ]
    gone = made[4]
    await store.databases.update_fields(gone.id, {"status": "deleted"})

    seen: list[str] = []
    after: str | None = None
    while True:
        page = await store.databases.scan(after=after, limit=4)
        seen.extend(d.id for d in page)
        if len(page) < 4:
            break
        after = page[-1].id

    assert seen == sorted(d.id for d in made if d.id != gone.id)


async def test_a_lazy_scan_reads_the_ids_revisions_and_records_a_scan_reads(
    store: Store,
) -> None:
    for i in range(7):
        await store.databases.insert(a_database(f"db{i:02d}"))
    first = (await store.databases.scan(limit=3))[0]
    await store.databases.update_fields(first.id, {"message": "changed"})
    await store.databases.update_fields(first.id, {"message": "changed again"})

    lazy = await store.databases.scan_lazily(after=None, limit=100)
    whole = await store.databases.scan(after=None, limit=100)

    assert [(s.id, s.revision) for s in lazy] == [(d.id, d.revision) for d in whole]
    assert [s.record() for s in lazy] == list(whole)
    assert lazy[0].revision == first.revision + 2
    later = await store.databases.scan_lazily(after=whole[2].id, limit=2)
    assert [s.id for s in later] == [d.id for d in whole[3:5]]


async def test_live_databases_are_counted_by_engine_status_and_health(store: Store) -> None:
    await store.databases.insert(a_database("a", status="running", health_status="healthy"))
    await store.databases.insert(a_database("b", status="running", health_status="healthy"))
    await store.databases.insert(a_database("c", status="running", health_status="degraded"))
    await store.databases.insert(a_database("d", engine="redis", version="7.4"))
    gone = await store.databases.insert(a_database("e", status="running"))
    await store.databases.update_fields(gone.id, {"status": "deleted"})

    counts = await store.databases.count_by_state()

    assert dict(counts) == {
        ("postgres", "running", "healthy"): 2,
        ("postgres", "running", "degraded"): 1,
        ("redis", "pending", "unknown"): 1,
    }


async def test_every_read_sees_every_write_before_it(store: Store) -> None:
    first = await store.databases.insert(a_database("first"))
    assert await store.databases.get(first.id) is not None
    listed = await store.databases.list(DatabaseFilter(domain="acme", project="shop"))
    second = await store.databases.insert(a_database("second"))
    await store.databases.update_fields(first.id, {"replicas": 3})

    again = await store.databases.get(first.id)
    found = await store.databases.get(second.id)
    relisted = await store.databases.list(DatabaseFilter(domain="acme", project="shop"))

    assert listed.total == 1
    assert found is not None and again is not None and again.replicas == 3
    assert relisted.total == 2


async def test_a_database_and_its_first_operation_are_written_together(store: Store) -> None:
    operation = an_operation("placeholder")
    database = a_database("orders", operation_id=operation.id)
    operation = operation.model_copy(update={"database_id": database.id})

    await store.create_database(database, operation)

    assert await store.databases.get(database.id) == database
    assert (await store.operations.get_active(database.id)) == operation


async def test_a_database_whose_name_is_taken_is_written_with_no_operation(store: Store) -> None:
    await store.databases.insert(a_database("orders"))
    database = a_database("orders")
    operation = an_operation(database.id)

    with pytest.raises(errors.DuplicateName):
        await store.create_database(database, operation)

    assert await store.databases.get(database.id) is None
    assert await store.operations.get(operation.id) is None


async def test_a_database_whose_operation_cannot_be_written_is_not_written_either(
    store: Store,
) -> None:
    taken = await store.operations.create_active(an_operation("db-other"))
    database = a_database("orders")
    # The operation's id is taken: its insert fails after the record's.
    operation = an_operation(database.id).model_copy(update={"id": taken.id})

    with pytest.raises(errors.StoreError):
        await store.create_database(database, operation)

    assert await store.databases.get(database.id) is None
    await store.databases.insert(a_database("orders"))  # the name is free
