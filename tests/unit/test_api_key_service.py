"""The API key service on a real SQLite store: checking tokens, last use, the bootstrap key."""

from __future__ import annotations

import asyncio
import hashlib
import io
import stat
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from app.config.settings import LogFormat, LogLevel
from app.domain import clock
from app.domain.api_keys import ApiKey, Role, new_token, parse_token
from app.observability.log import configure_logging
from app.services import api_keys
from app.services.api_keys import AuthenticationFailed, FailureReason
from app.store.sqlite import SQLiteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = await SQLiteStore.open(tmp_path / "store.sqlite3")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level=LogLevel.DEBUG, fmt=LogFormat.CONSOLE, stream=stream)
    yield stream
    structlog.contextvars.clear_contextvars()
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE)


async def failure(store: SQLiteStore, presented: str) -> FailureReason:
    with pytest.raises(AuthenticationFailed) as caught:
        await api_keys.authenticate(store, presented)
    return caught.value.reason


async def test_an_issued_token_authenticates_as_its_key(store: SQLiteStore) -> None:
    issued = await api_keys.issue_key(store, name="ci", role=Role.MEMBER, domain="acme")

    key = await api_keys.authenticate(store, issued.token)

    assert key.id == issued.key.id and key.role is Role.MEMBER
    assert issued.token not in repr(issued)


async def test_malformed_unknown_wrong_and_revoked_tokens_are_told_apart_in_the_reason(
    store: SQLiteStore,
) -> None:
    issued = await api_keys.issue_key(store, name="ci", role=Role.VIEWER, domain="acme")
    token = parse_token(issued.token)
    assert token is not None
    wrong = f"kdb_{token.key_id.removeprefix('key-')}_{new_token().secret}"

    malformed = await failure(store, "not-a-key")
    unknown = await failure(store, new_token().text)
    wrong_secret = await failure(store, wrong)
    await api_keys.revoke_key(store, issued.key.id)
    revoked = await failure(store, issued.token)
    revoked_and_wrong = await failure(store, wrong)

    assert malformed is FailureReason.MALFORMED
    assert unknown is FailureReason.UNKNOWN
    assert wrong_secret is FailureReason.WRONG_SECRET
    assert revoked is FailureReason.REVOKED
    assert revoked_and_wrong is FailureReason.WRONG_SECRET  # revocation shown to holders only


async def test_last_use_is_recorded_at_most_once_a_minute(store: SQLiteStore) -> None:
    issued = await api_keys.issue_key(store, name="ci", role=Role.OWNER, domain="acme")
    start = clock.utcnow()

    async def use_at(at: datetime) -> datetime | None:
        await api_keys.authenticate(store, issued.token, now=lambda: at)
        stored = await store.api_keys.get(issued.key.id)
        assert stored is not None
        return stored.last_used_at

    first = await use_at(start)
    within = await use_at(start + timedelta(seconds=59))
    after = await use_at(start + timedelta(seconds=61))

    assert first == within == start
    assert after == start + timedelta(seconds=61)


async def test_a_first_start_writes_an_admin_token_to_a_private_file_once(
    store: SQLiteStore, tmp_path: Path
) -> None:
    path = tmp_path / "var" / "admin-api-key"

    created = await api_keys.bootstrap_admin_key(store, path)
    token = path.read_text().strip()
    again = await api_keys.bootstrap_admin_key(store, path)

    assert created is not None and created.role is Role.ADMIN
    assert (await api_keys.authenticate(store, token)).id == created.id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert again is None and path.read_text().strip() == token
    assert await store.api_keys.count() == 1


async def test_a_start_with_every_admin_key_revoked_writes_a_new_admin_token(
    store: SQLiteStore, tmp_path: Path
) -> None:
    path = tmp_path / "admin-api-key"
    first = await api_keys.bootstrap_admin_key(store, path)
    assert first is not None
    await api_keys.issue_key(store, name="ci", role=Role.MEMBER, domain="acme", created_by=first.id)
    await api_keys.revoke_key(store, first.id)

    created = await api_keys.bootstrap_admin_key(store, path)
    kept = await api_keys.bootstrap_admin_key(store, path)

    assert created is not None and created.id != first.id and created.role is Role.ADMIN
    assert (await api_keys.authenticate(store, path.read_text().strip())).id == created.id
    assert kept is None  # a usable admin key exists again
    assert await store.api_keys.count() == 3


async def test_a_store_holding_only_keys_from_before_salting_gets_a_new_admin_key(
    store: SQLiteStore, tmp_path: Path
) -> None:
    old_secret = "kdb_" + "a" * 43
    path = tmp_path / "admin-api-key"
    path.write_text(old_secret + "\n")
    path.chmod(0o644)
    legacy = ApiKey.model_validate(
        {
            "name": "bootstrap-admin",
            "role": "admin",
            "key_hash": hashlib.sha256(old_secret.encode()).hexdigest(),
        }
    )
    await store.api_keys.insert(legacy)

    created = await api_keys.bootstrap_admin_key(store, path)

    assert created is not None
    assert (await api_keys.authenticate(store, path.read_text().strip())).id == created.id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert await store.api_keys.count() == 2


async def test_a_configured_admin_key_is_installed_once_and_no_file_is_written(
    store: SQLiteStore, tmp_path: Path
) -> None:
    token = new_token()
    path = tmp_path / "admin-api-key"

    created = await api_keys.bootstrap_admin_key(store, path, configured=SecretStr(token.text))
    again = await api_keys.bootstrap_admin_key(store, path, configured=SecretStr(token.text))

    assert created is not None and created.id == token.key_id and created.role is Role.ADMIN
    assert again is None
    assert (await api_keys.authenticate(store, token.text)).id == token.key_id
    assert await store.api_keys.count() == 1
    assert not path.exists()


async def test_two_instances_installing_the_configured_key_together_store_it_once(
    store: SQLiteStore, tmp_path: Path
) -> None:
    configured = SecretStr(new_token().text)

    results = await asyncio.gather(
        *(
            api_keys.bootstrap_admin_key(store, tmp_path / "k", configured=configured)
            for _ in range(3)
        )
    )

    assert sum(r is not None for r in results) == 1
    assert await store.api_keys.count() == 1


async def test_a_revoked_configured_key_stays_revoked_after_a_restart(
    store: SQLiteStore, tmp_path: Path
) -> None:
    token = new_token()
    configured = SecretStr(token.text)
    await api_keys.bootstrap_admin_key(store, tmp_path / "k", configured=configured)
    await api_keys.revoke_key(store, token.key_id)

    restarted = await api_keys.bootstrap_admin_key(store, tmp_path / "k", configured=configured)

    assert restarted is None
    assert await failure(store, token.text) is FailureReason.REVOKED


async def test_no_token_reaches_the_log(
    store: SQLiteStore, tmp_path: Path, logs: io.StringIO
) -> None:
    configured = new_token()
    await api_keys.bootstrap_admin_key(store, tmp_path / "k", configured=SecretStr(configured.text))
    # the same id with another secret: warned about, by id only
    clash = f"kdb_{configured.key_id.removeprefix('key-')}_{new_token().secret}"
    await api_keys.bootstrap_admin_key(store, tmp_path / "k", configured=SecretStr(clash))
    issued = await api_keys.issue_key(store, name="ci", role=Role.OWNER, domain="acme")
    issued_token = parse_token(issued.token)
    clash_token = parse_token(clash)
    assert issued_token is not None and clash_token is not None
    await api_keys.authenticate(store, issued.token)
    await failure(store, f"kdb_{issued.key.id.removeprefix('key-')}_{new_token().secret}")
    await api_keys.revoke_key(store, issued.key.id)

    text = logs.getvalue()
    assert "api_key_created" in text and "admin_api_key_mismatch" in text
    assert "api_key_revoked" in text and issued.key.id in text
    for secret in (configured.secret, clash_token.secret, issued_token.secret):
        assert secret not in text
