"""Store queries past the basics, for every adapter: a query the backend refuses is the
caller's input (`InvalidQuery`), never the store being down; lists across tenants."""

from __future__ import annotations

import pytest

from app.store import errors
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
