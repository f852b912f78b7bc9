"""Store queries past the basics, for every adapter: a query the backend refuses is the
caller's input (`InvalidQuery`), never the store being down; lists across tenants."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from app.domain import clock
from app.store import errors, sqlite_table
from app.store.protocols import DatabaseFilter, Store
from tests.contract.test_store_contract import a_database


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
