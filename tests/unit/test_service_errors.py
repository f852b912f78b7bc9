"""The service layer's error tree: one root, every leaf answering a documented status, one
handler at the API boundary rendering any of them by its data."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

import app.services
from app.api import errors as api_errors
from app.services import api_keys, database_errors, providers
from app.services import errors as service_errors
from app.store.sqlite import SQLiteStore


def _service_modules() -> list[str]:
    return [
        info.name for info in pkgutil.walk_packages(app.services.__path__, prefix="app.services.")
    ]


def _exceptions_defined_in_services() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for name in _service_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == name
            ):
                found.append(value)
    return found


def _tree() -> list[type[service_errors.ServiceError]]:
    _exceptions_defined_in_services()  # imports every service module
    pending = [service_errors.ServiceError]
    seen: list[type[service_errors.ServiceError]] = []
    while pending:
        cls = pending.pop()
        seen.append(cls)
        pending.extend(cls.__subclasses__())
    return [cls for cls in seen if cls.__module__.startswith("app.services")]


def test_every_exception_a_service_defines_is_a_service_error() -> None:
    outside = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _exceptions_defined_in_services()
        if not issubclass(cls, service_errors.ServiceError)
    ]

    assert outside == []


def test_every_service_error_is_drawn_in_the_tree_with_the_status_it_answers() -> None:
    drawn = {
        match.group(1): int(match.group(2))
        for match in re.finditer(r"([A-Z]\w+)\s+(\d{3})\b", service_errors.__doc__ or "")
    }

    missing = {cls.__qualname__ for cls in _tree()} - set(drawn)
    wrong = {
        cls.__qualname__: cls.status
        for cls in _tree()
        if cls.__qualname__ in drawn and drawn[cls.__qualname__] != cls.status
    }

    assert missing == set() and wrong == {}


def test_every_service_error_answers_a_documented_client_status() -> None:
    documented = set(service_errors.STATUSES)

    undocumented = {
        cls.__qualname__: cls.status
        for cls in _tree()
        if cls is not service_errors.ServiceError and cls.status not in documented
    }

    assert undocumented == {}
    assert 500 not in documented


def _app_raising(error: Exception) -> FastAPI:
    application = FastAPI()
    api_errors.install(application)

    @application.get("/raise")
    async def raise_it() -> None:
        raise error

    return application


async def _answer(error: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app_raising(error))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/raise")


async def test_a_service_error_is_answered_with_its_status_code_message_and_details() -> None:
    answer = await _answer(providers.ProviderInUse("east", 3))

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "provider_in_use"
    assert answer.json()["error"]["details"] == {"databases": 3}
    assert "east" in answer.json()["error"]["message"]


async def test_a_new_subclass_without_its_own_mapping_answers_its_parents_status() -> None:
    class Stale(database_errors.Conflict):
        pass

    class Vanished(providers.ProviderNotFound):
        pass

    stale = await _answer(Stale("the record changed", code="record_changed"))
    vanished = await _answer(Vanished("provider p-1 not found"))

    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "record_changed")
    assert (vanished.status_code, vanished.json()["error"]["code"]) == (404, "not_found")


async def test_a_rate_limit_carries_its_retry_after_header() -> None:
    from app.services.rate_limits import RateLimited

    answer = await _answer(RateLimited(7))

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json()["error"]["details"] == {"retry_after": 7}


async def test_revoking_an_unknown_key_is_a_service_not_found_not_the_stores(
    tmp_path: Path,
) -> None:
    store = await SQLiteStore.open(tmp_path / "store.sqlite3")
    try:
        with pytest.raises(service_errors.ServiceError) as caught:
            await api_keys.revoke_key(store, "key-missing")
    finally:
        await store.close()

    assert (caught.value.status, caught.value.code) == (404, "not_found")
    assert "key-missing" in caught.value.message
