"""Authentication remembered for AUTH_CACHE_TTL seconds (issue 19), on a real SQLite store
shared by two services (two replicas): a key revoked here is refused at once, one revoked
on the other replica within the TTL, and the cache stays bounded and holds no token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.domain.api_keys import ApiKey, Role, new_token
from app.services import api_keys
from app.services.api_keys import ApiKeyService, AuthenticationFailed, FailureReason
from app.services.auth_cache import AuthCache, token_digest
from app.store.sqlite import SQLiteStore

TTL = 5.0


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = await SQLiteStore.open(tmp_path / "store.sqlite3")
    try:
        yield opened
    finally:
        await opened.close()


class CountingStore:
    """The store, counting how often a key is read (a cache hit reads none)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self.reads = 0
        self.api_keys = self

    def __getattr__(self, name: str) -> object:
        return getattr(self._store.api_keys, name)

    async def get(self, key_id: str) -> object:
        self.reads += 1
        return await self._store.api_keys.get(key_id)


async def refused(service: ApiKeyService, token: str) -> FailureReason:
    with pytest.raises(AuthenticationFailed) as caught:
        await service.authenticate(token)
    return caught.value.reason


async def test_a_remembered_token_is_let_through_without_reading_the_store(
    store: SQLiteStore,
) -> None:
    issued = await api_keys.issue_key(store, name="ci", role=Role.MEMBER, domain="acme")
    counting = CountingStore(store)
    service = ApiKeyService(counting, cache_ttl=TTL, monotonic=Clock())  # type: ignore[arg-type]

    keys = [await service.authenticate(issued.token) for _ in range(5)]

    assert {key.id for key in keys} == {issued.key.id}
    assert counting.reads == 1


async def test_a_key_revoked_through_this_instance_is_refused_at_once(
    store: SQLiteStore,
) -> None:
    issued = await api_keys.issue_key(store, name="ci", role=Role.MEMBER, domain="acme")
    service = ApiKeyService(store, cache_ttl=TTL, monotonic=Clock())
    await service.authenticate(issued.token)

    await service.revoke(issued.key.id, by="admin")

    assert await refused(service, issued.token) is FailureReason.REVOKED


async def test_a_key_revoked_on_another_replica_is_refused_here_once_the_ttl_has_passed(
    store: SQLiteStore,
) -> None:
    issued = await api_keys.issue_key(store, name="ci", role=Role.MEMBER, domain="acme")
    clock = Clock()
    here = ApiKeyService(store, cache_ttl=TTL, monotonic=clock)
    other = ApiKeyService(store, cache_ttl=TTL, monotonic=clock)
    await here.authenticate(issued.token)

    await other.revoke(issued.key.id, by="admin")
    clock.now += TTL - 0.01
    still_remembered = await here.authenticate(issued.token)
    clock.now += 0.01

    assert still_remembered.id == issued.key.id  # the documented window, no longer
    assert await refused(here, issued.token) is FailureReason.REVOKED
    assert await refused(other, issued.token) is FailureReason.REVOKED


async def test_a_ttl_of_zero_reads_the_store_on_every_request(store: SQLiteStore) -> None:
    issued = await api_keys.issue_key(store, name="ci", role=Role.MEMBER, domain="acme")
    here = ApiKeyService(store, cache_ttl=0, monotonic=Clock())
    await here.authenticate(issued.token)

    await ApiKeyService(store).revoke(issued.key.id, by="admin")

    assert await refused(here, issued.token) is FailureReason.REVOKED


async def test_a_wrong_secret_is_never_remembered(store: SQLiteStore) -> None:
    issued = await api_keys.issue_key(store, name="ci", role=Role.MEMBER, domain="acme")
    service = ApiKeyService(store, cache_ttl=TTL, monotonic=Clock())
    wrong = issued.token[:-4] + ("AAAA" if not issued.token.endswith("AAAA") else "BBBB")

    first = await refused(service, wrong)
    second = await refused(service, wrong)

    assert first is second is FailureReason.WRONG_SECRET
    assert (await service.authenticate(issued.token)).id == issued.key.id


def test_the_cache_keeps_at_most_its_bound_dropping_the_least_recently_used() -> None:
    cache = AuthCache(ttl=TTL, max_entries=3, monotonic=Clock())
    key = ApiKey.for_token(new_token(), name="k", role=Role.ADMIN)
    for i in range(3):
        cache.put(token_digest(f"t{i}"), key, generation=cache.generation)
    assert cache.get(token_digest("t0")) is not None  # t1 is now the least recently used

    cache.put(token_digest("t3"), key, generation=cache.generation)

    assert len(cache) == 3
    assert cache.get(token_digest("t1")) is None
    assert cache.get(token_digest("t0")) is not None


def test_a_check_that_read_the_store_before_a_revocation_here_is_not_remembered() -> None:
    cache = AuthCache(ttl=TTL, monotonic=Clock())
    key = ApiKey.for_token(new_token(), name="k", role=Role.ADMIN)
    generation = cache.generation  # a check begins and reads the (still live) key

    cache.forget_key(key.id)  # the key is revoked here meanwhile
    cache.put(token_digest("t"), key, generation=generation)

    assert cache.get(token_digest("t")) is None


def test_the_cache_holds_the_tokens_hash_never_the_token() -> None:
    cache = AuthCache(ttl=TTL, monotonic=Clock())
    token = new_token()
    key = ApiKey.for_token(token, name="k", role=Role.ADMIN)

    cache.put(token_digest(token.text), key, generation=cache.generation)

    assert token.text not in repr(cache.__dict__)
    assert token.secret not in repr(cache.__dict__)
