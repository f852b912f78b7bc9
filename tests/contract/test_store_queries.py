"""Store queries past the basics, for every adapter: a query the backend refuses is the
caller's input (`InvalidQuery`), never the store being down; lists across tenants, their
sort orders, and each listed database's latest operation."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from app.domain import clock
from app.domain.databases import Database
from app.domain.operations import OperationStatus
from app.store import errors, sqlite_table
from app.store.protocols import (
    NEWEST_FIRST,
    DatabaseFilter,
    DatabaseOrder,
    DatabaseSortKey,
    Store,
)
from tests.contract.test_store_contract import a_database, an_operation


@pytest.mark.parametrize("key", ['a"', "a\u0000", "a'b", "$where", "a.b\\"])
async def test_an_odd_label_filter_is_answered_or_refused_but_never_reported_as_down(
    store: Store, key: str
) -> None:
    await store.databases.insert(a_database(labels={"team": "web"}))

    try:
        found = await store.databases.list(DatabaseFilter(domain="acme", label=(key, "b")))
    except errors.StoreError as exc:
        assert isinstance(exc, errors.InvalidQuery), repr(exc)
    else:
        assert found.total == 0


async def test_a_list_spans_projects_and_domains_newest_first_with_filters_and_pages(
    store: Store,
) -> None:
    start = clock.utcnow()
    tenants = [("acme", "shop"), ("acme", "blog"), ("globex", "shop"), ("acme", "shop")]
    for i, (domain, project) in enumerate(tenants):
        await store.databases.insert(
            a_database(
                f"db-{i}",
                domain=domain,
                project=project,
                engine="mysql" if i % 2 else "postgres",
                labels={"team": "red"},
                created_at=start + timedelta(seconds=i),
            )
        )

    everything = await store.databases.list(DatabaseFilter(), limit=3)
    acme = await store.databases.list(DatabaseFilter(domain="acme"))
    second_page = await store.databases.list(DatabaseFilter(domain="acme"), offset=2, limit=2)
    acme_mysql = await store.databases.list(
        DatabaseFilter(domain="acme", engine="mysql", label=("team", "red"))
    )

    assert [d.name for d in everything.items] == ["db-3", "db-2", "db-1"]
    assert everything.total == 4
    assert [d.name for d in acme.items] == ["db-3", "db-1", "db-0"]
    assert [d.name for d in second_page.items] == ["db-0"] and second_page.total == 3
    assert [(d.name, d.project) for d in acme_mysql.items] == [("db-3", "shop"), ("db-1", "blog")]


def test_a_statement_sqlite_refuses_is_our_defect_not_the_callers_nor_a_dependency_down() -> None:
    """A query built from a caller's input is checked before it reaches SQLite, so any other
    refusal is a bug of ours: a plain StoreError (a 500), never 422 `invalid_query`, never
    503."""
    refused = sqlite3.connect(":memory:")
    try:
        refused.execute("SELECT nothing FROM nowhere")
    except sqlite3.OperationalError as exc:
        translated = sqlite_table.translate(exc)
    finally:
        refused.close()

    assert type(translated) is errors.StoreError


async def test_a_list_sorts_by_each_key_both_ways_with_ties_broken_by_id(store: Store) -> None:
    start = clock.utcnow()
    rows = [
        ("delta", "redis", "running"),
        ("alpha", "mysql", "paused"),
        ("charlie", "redis", "running"),
        ("bravo", "mysql", "running"),
    ]
    for i, (name, engine, status) in enumerate(rows):
        await store.databases.insert(
            a_database(name, engine=engine, status=status, created_at=start + timedelta(seconds=i))
        )
    ids = {d.name: d.id for d in (await store.databases.list(DatabaseFilter())).items}

    async def names(text: str, **page: int) -> list[str]:
        found = await store.databases.list(
            DatabaseFilter(domain="acme", project="shop"), order=DatabaseOrder.parse(text), **page
        )
        return [d.name for d in found.items]

    def by_id(names: list[str], *, reverse: bool = False) -> list[str]:
        return sorted(names, key=lambda n: ids[n], reverse=reverse)

    assert await names("name") == ["alpha", "bravo", "charlie", "delta"]
    assert await names("-name") == ["delta", "charlie", "bravo", "alpha"]
    assert await names("created_at") == ["delta", "alpha", "charlie", "bravo"]
    assert await names("-created_at") == ["bravo", "charlie", "alpha", "delta"]
    assert await names("engine") == [*by_id(["alpha", "bravo"]), *by_id(["delta", "charlie"])]
    assert await names("-engine") == [
        *by_id(["delta", "charlie"], reverse=True),
        *by_id(["alpha", "bravo"], reverse=True),
    ]
    assert await names("status") == ["alpha", *by_id(["delta", "charlie", "bravo"])]
    assert await names("name", offset=1, limit=2) == ["bravo", "charlie"]
    assert (await store.databases.list(DatabaseFilter(), order=NEWEST_FIRST)).items[0].name == (
        "bravo"
    )


def test_a_sort_is_a_known_key_with_an_optional_minus() -> None:
    assert DatabaseOrder.parse("-name") == DatabaseOrder(DatabaseSortKey.NAME, descending=True)
    assert str(DatabaseOrder.parse("engine")) == "engine"
    with pytest.raises(ValueError):
        DatabaseOrder.parse("doc")


async def test_the_latest_operation_of_each_listed_database_is_read_in_one_call(
    store: Store,
) -> None:
    start = clock.utcnow()
    for i, (database_id, kind) in enumerate(
        [("db-1", "create"), ("db-1", "pause"), ("db-2", "create"), ("db-1", "resume")]
    ):
        operation = an_operation(database_id, type=kind, created_at=start + timedelta(seconds=i))
        await store.operations.create_active(operation)
        await store.operations.update_fields(operation.id, {"status": OperationStatus.RUNNING})
        await store.operations.update_fields(operation.id, {"status": OperationStatus.SUCCEEDED})

    latest = await store.operations.latest_for(["db-1", "db-2", "db-3"])

    assert {k: o.type for k, o in latest.items()} == {"db-1": "resume", "db-2": "create"}
    assert await store.operations.latest_for([]) == {}


async def test_a_list_as_texts_holds_the_listed_records_in_the_same_order(store: Store) -> None:
    start = clock.utcnow()
    for i in range(4):
        await store.databases.insert(
            a_database(f"db-{i}", labels={"n": str(i)}, created_at=start + timedelta(seconds=i))
        )
    where = DatabaseFilter(domain="acme")

    listed = await store.databases.list(where, offset=1, limit=2)
    texts = await store.databases.list_texts(where, offset=1, limit=2)

    assert [Database.model_validate_json(t) for t in texts.items] == list(listed.items)
    assert texts.total == listed.total == 4
