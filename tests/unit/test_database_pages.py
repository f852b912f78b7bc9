"""The list's answer written from the stored documents' text (`database_pages.list_json`) is
byte for byte what the models write from the records pydantic reads from the same text, for
generated records of every shape, and holds no field but `DatabaseOut`'s."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.api.v1 import database_models as models
from app.api.v1 import database_pages
from app.domain.data_plane import DataPlane
from app.domain.databases import Database, DatabaseStatus, HealthStatus
from app.domain.engines import Engine
from app.store import documents

# Any text a record may hold, unicode and control characters included (lone surrogates
# cannot be stored: no JSON reader here reads them back).
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_WORDS = st.dictionaries(_TEXT, _TEXT, max_size=3)
_TIMES = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
) | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda t: t.replace(microsecond=0, tzinfo=UTC)  # a whole second: no fraction written
)
_RECORDS = st.builds(
    Database,
    name=_TEXT,
    domain=_TEXT,
    project=_TEXT,
    engine=st.sampled_from([e.value for e in Engine]),
    version=_TEXT,
    size=_TEXT,
    storage_gb=st.integers(0, 10**6),
    replicas=st.integers(0, 9),
    high_availability=st.booleans(),
    status=st.sampled_from(DatabaseStatus),
    health_status=st.sampled_from(HealthStatus),
    phase=st.none() | _TEXT,
    ready_replicas=st.integers(0, 9),
    endpoint=st.none() | _TEXT,
    port=st.none() | st.integers(1, 65535),
    data_plane=st.none() | st.sampled_from(DataPlane),
    server_version=st.none() | _TEXT,
    backup_enabled=st.booleans(),
    backup_retention_count=st.none() | st.integers(1, 1000),
    backup_storage=st.none() | _TEXT,
    pitr_enabled=st.booleans(),
    deletion_protection=st.booleans(),
    labels=_WORDS,
    annotations=_WORDS,
    provider_id=st.none() | _TEXT,
    namespace=st.none() | _TEXT,
    kubedb_resource_name=st.none() | _TEXT,
    operation_id=st.none() | _TEXT,
    message=st.none() | _TEXT,
    reserved_cpu_cores=st.floats(0, 64),
    conditions=st.lists(_WORDS, max_size=2),
    synced_at=st.none() | _TIMES,
    created_at=_TIMES,
    updated_at=_TIMES,
)


def _stored(record: Database) -> str:
    """The record's text as the SQLite store writes it."""
    return json.dumps(documents.to_document(record))


def _models_json(texts: list[str], *, total: int, page: int, page_size: int) -> bytes:
    body = models.DatabaseList(
        databases=[models.DatabaseOut.of(Database.model_validate_json(t)) for t in texts],
        total=total,
        page=page,
        page_size=page_size,
    )
    return body.model_dump_json().encode()


def _assert_written_as_the_models(texts: list[str]) -> None:
    written = database_pages.list_json(texts, total=41, page=3, page_size=20)

    assert written == _models_json(texts, total=41, page=3, page_size=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(_RECORDS, max_size=4))
def test_generated_records_are_written_as_the_models_wrote_them(records: list[Database]) -> None:
    texts = [_stored(r) for r in records]

    _assert_written_as_the_models(texts)
    # Written by msgspec, not by the model path every row may fall back to.
    assert not any(isinstance(database_pages._row(t), msgspec.Raw) for t in texts)


def _document(**changes: Any) -> dict[str, Any]:
    record = Database(name="shop", domain="acme", project="web", engine="redis", version="7")
    return {**documents.to_document(record), **changes}


def test_an_empty_page_is_written_as_the_models_wrote_it() -> None:
    _assert_written_as_the_models([])


def test_a_document_of_an_older_version_missing_newer_fields_takes_their_defaults() -> None:
    older = _document()
    for newer in ("data_plane", "server_version", "backup_retention_count", "labels", "size"):
        del older[newer]

    _assert_written_as_the_models([json.dumps(older)])


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-01-02T03:04:05+00:00",
        "2026-01-02T03:04:05.000000+00:00",
        "2026-01-02T03:04:05.000100Z",
        "2026-01-02T03:04:05.123Z",
        "2026-01-02T03:04:05",
        "2026-01-02T03:04:05.1234567Z",
        "2026-01-02 03:04:05Z",
        "2026-01-02T03:04:05+02:00",
    ],
)
def test_a_timestamp_of_any_stored_form_is_written_as_the_models_wrote_it(stamp: str) -> None:
    _assert_written_as_the_models([json.dumps(_document(created_at=stamp, updated_at=stamp))])


@pytest.mark.parametrize(
    "odd",
    [
        {"storage_gb": "20"},
        {"storage_gb": 20.0},
        {"high_availability": 1},
        {"port": "5432"},
        {"poll_url": "/api/v1/operations/op_1"},
    ],
)
def test_a_document_only_pydantic_reads_alike_goes_the_model_path(odd: dict[str, Any]) -> None:
    _assert_written_as_the_models([json.dumps(_document(**odd)), _stored(_document_record())])


def _document_record() -> Database:
    return Database(name="next", domain="acme", project="web", engine="mongodb", version="8")


def test_a_document_pydantic_refuses_fails_as_it_did() -> None:
    broken = json.dumps(_document(created_at="2026-02-30T00:00:00.000000Z"))

    with pytest.raises(ValueError):
        database_pages.list_json([broken], total=1, page=1, page_size=20)


def test_a_document_missing_a_per_record_default_goes_the_model_path() -> None:
    without = _document()
    del without["created_at"]  # pydantic makes it per record (now): msgspec cannot

    written = json.loads(
        database_pages.list_json([json.dumps(without)], total=1, page=1, page_size=20)
    )

    (item,) = written["databases"]
    assert datetime.fromisoformat(item["created_at"]) > datetime(2026, 1, 1, tzinfo=UTC)


def test_no_stored_field_but_the_answers_own_reaches_the_answer() -> None:
    secrets = {"password": "hunter2-secret", "reserved_cpu_cores": 3.5, "revision": 9}
    texts = [json.dumps(_document(**secrets))]

    written = json.loads(database_pages.list_json(texts, total=1, page=1, page_size=20))

    (item,) = written["databases"]
    assert list(item) == list(models.DatabaseOut.model_fields)
    assert "hunter2-secret" not in json.dumps(written)
    assert item["poll_url"] is None
    assert list(written) == ["databases", "total", "page", "page_size"]
