"""API key tokens and their salted hashes; the ADMIN_API_KEY setting."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.config.settings import ConfigError, Settings, load_settings
from app.domain import errors
from app.domain.api_keys import (
    ApiKey,
    Role,
    Token,
    check_scope,
    hash_secret,
    new_token,
    parse_token,
    token_prefix,
)

GOOD = "kdb_0123456789abcdef_" + "A" * 20 + "b-c_d" + "9" * 18


def test_a_new_token_reads_prefix_id_body_and_secret_and_parses_back() -> None:
    token = new_token()

    assert token.text.startswith(f"kdb_{token.key_id.removeprefix('key-')}_")
    assert len(token.secret) == 43  # 32 random bytes, URL-safe base64
    assert parse_token(token.text) == token


def test_two_new_tokens_share_nothing() -> None:
    first, second = new_token(), new_token()

    assert first.key_id != second.key_id and first.secret != second.secret


def test_a_token_names_its_key_id_and_keeps_underscores_in_the_secret() -> None:
    parsed = parse_token(GOOD)

    assert parsed == Token(key_id="key-0123456789abcdef", secret=GOOD[21:])
    assert "_" in parsed.secret


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Bearer " + GOOD,
        GOOD.replace("kdb_", "kdx_"),
        GOOD.replace("0123456789abcdef", "0123456789ABCDEF"),  # ids are lowercase
        GOOD.replace("0123456789abcdef", "0123456789abcde"),  # id body too short
        "kdb_0123456789abcdef_" + "a" * 31,  # secret too short
        "kdb_0123456789abcdef_" + "a" * 129,  # secret too long
        GOOD + "=",  # not URL-safe base64 without padding
        GOOD + "\n",
        GOOD + " ",
        "kdb_" + "a" * 43,  # the token shape before salting: no id
    ],
)
def test_anything_not_shaped_like_a_token_does_not_parse(text: str) -> None:
    assert parse_token(text) is None


def test_the_secret_stays_out_of_a_tokens_repr() -> None:
    token = new_token()

    assert token.secret not in repr(token) and token.key_id in repr(token)


def test_a_key_stores_a_salted_hash_that_verifies_only_its_own_secret() -> None:
    token = new_token()

    key = ApiKey.for_token(token, name="ci", role=Role.VIEWER, domain="acme")

    assert key.id == token.key_id
    assert len(bytes.fromhex(key.salt)) == 16
    salted = bytes.fromhex(key.salt) + token.secret.encode()
    assert key.key_hash == hashlib.sha256(salted).hexdigest()
    assert key.key_hash != hashlib.sha256(token.secret.encode()).hexdigest()
    assert token.secret not in key.model_dump_json()
    assert key.verify(token.secret)
    assert not key.verify(new_token().secret)
    assert not key.verify(token.secret + "x")


def test_the_same_secret_hashes_differently_under_two_salts() -> None:
    token = new_token()

    first = ApiKey.for_token(token, name="a", role=Role.ADMIN)
    second = ApiKey.for_token(token, name="b", role=Role.ADMIN)

    assert first.salt != second.salt and first.key_hash != second.key_hash
    assert hash_secret("s", salt="00") == hash_secret("s", salt="00")


def test_a_key_stored_before_salting_reads_but_never_verifies() -> None:
    secret = "kdb_" + "a" * 43
    legacy = ApiKey.model_validate(
        {
            "id": "key-old",
            "name": "bootstrap-admin",
            "role": "admin",
            "key_prefix": secret[:10],
            "key_hash": hashlib.sha256(secret.encode()).hexdigest(),
        }
    )

    assert legacy.salt == ""
    assert not legacy.verify(secret)


def test_a_key_prefix_is_the_start_of_its_tokens() -> None:
    token = new_token()

    assert token.text.startswith(token_prefix(token.key_id))
    assert token.secret not in token_prefix(token.key_id)


@pytest.mark.parametrize(
    ("role", "domain", "project", "field"),
    [
        (Role.ADMIN, None, None, None),
        (Role.ADMIN, "acme", None, "domain"),
        (Role.ADMIN, None, "shop", "project"),
        (Role.OWNER, "acme", None, None),
        (Role.MEMBER, "acme", "shop", None),
        (Role.VIEWER, None, None, "domain"),
        (Role.VIEWER, None, "shop", "domain"),
    ],
)
def test_admin_keys_have_no_scope_and_others_need_a_domain(
    role: Role, domain: str | None, project: str | None, field: str | None
) -> None:
    if field is None:
        check_scope(role, domain=domain, project=project)
        return
    with pytest.raises(errors.InvalidValue) as caught:
        check_scope(role, domain=domain, project=project)
    assert caught.value.field == field


@pytest.fixture
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("_clean_env")
def test_admin_api_key_is_a_secret_setting_that_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADMIN_API_KEY", GOOD)

    settings = load_settings()

    assert settings.admin_api_key is not None
    assert settings.admin_api_key.get_secret_value() == GOOD
    assert GOOD not in repr(settings) and GOOD not in str(settings.model_dump())


@pytest.mark.usefixtures("_clean_env")
def test_an_empty_admin_api_key_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_API_KEY", "")

    assert load_settings().admin_api_key is None


@pytest.mark.usefixtures("_clean_env")
@pytest.mark.parametrize("bad", ["hunter2-not-a-token", GOOD[:-20], "kdb_" + "Z" * 50])
def test_a_malformed_admin_api_key_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("ADMIN_API_KEY", bad)

    with pytest.raises(ConfigError) as caught:
        load_settings()

    message = str(caught.value)
    assert message.startswith("invalid configuration: ADMIN_API_KEY: must read kdb_")
    assert bad not in message and "\n" not in message
