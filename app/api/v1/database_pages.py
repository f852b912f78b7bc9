"""The list's answer written from the stored documents' JSON text, no `Database` per row.

    body = database_pages.list_json(texts, total=..., page=..., page_size=...)

Byte for byte what `DatabaseList.json_of` writes from the records `Database.model_validate_json`
reads from the same texts (issue 19: reading and checking a page's 20 records was 26 % of the
list's CPU, `model_validate_json` alone 17 %). msgspec decodes each text into `DatabaseOut`'s
fields only (`_Row`, built from the models' own field tables: one fact, one order) and
encodes the page; every other stored field is skipped unread, so a secret or an internal field
cannot reach the answer.

msgspec's decoding is strict where pydantic's is lax (no "20" for an int, no 20.0; a
timestamp is read by `datetime.fromisoformat`, as `clock.Timestamp` reads it): a row it
refuses, or one that needs what pydantic alone does (a field missing whose default is made
per record, such as `id` or `created_at`; a timestamp not in UTC), goes the model path,
`Database.model_validate_json` and `DatabaseOut.json_of`, and so answers, or fails, exactly
as before. tests/unit/test_database_pages.py compares both over generated records.

Must not: write a field that is not `DatabaseOut`'s; answer a row pydantic would read
differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from pydantic_core import PydanticUndefined

from app.api.v1.database_models import DatabaseOut
from app.domain.databases import Database

_TIMES = tuple(n for n, f in DatabaseOut.model_fields.items() if f.annotation is datetime)


def _row_field(name: str) -> tuple[str, Any, Any] | tuple[str, Any]:
    """`DatabaseOut`'s field `name` as msgspec reads it: the record's (stricter or equal)
    type and the record's default; no default where pydantic makes one per record."""
    if name not in Database.model_fields:  # `poll_url`: never stored, None in a list
        return name, None, None
    field = Database.model_fields[name]
    kind = str if name in _TIMES else field.annotation  # read as `clock` reads it: `_utc`
    if field.default_factory is dict:
        return name, kind, msgspec.field(default_factory=dict)
    if field.default is PydanticUndefined:
        return name, kind  # required, or a per-record default (`id`, `created_at`)
    return name, kind, field.default


_Row: Any = msgspec.defstruct(
    "DatabaseRow", [_row_field(n) for n in DatabaseOut.model_fields], kw_only=True
)
_DECODER = msgspec.json.Decoder(_Row)
_ENCODER = msgspec.json.Encoder()


def list_json(texts: Sequence[str], *, total: int, page: int, page_size: int) -> bytes:
    """`DatabaseList.json_of` of the records these stored documents hold."""
    items = [_row(text) for text in texts]
    body = {"databases": items, "total": total, "page": page, "page_size": page_size}
    return _ENCODER.encode(body)


def _row(text: str) -> Any:
    try:
        row = _DECODER.decode(text)
        for name in _TIMES:
            setattr(row, name, _utc(getattr(row, name)))
    except (msgspec.DecodeError, ValueError):
        return msgspec.Raw(DatabaseOut.json_of(Database.model_validate_json(text)))
    return row


def _utc(stamp: str) -> datetime:
    """A stored timestamp as `clock.Timestamp` reads it (a naive one is UTC; a date that
    does not exist raises), which msgspec writes as pydantic does ("Z", no fraction at a
    whole second). Another offset than UTC raises, for the model path: never written by
    `clock`, so not worth proving the two write it alike."""
    time = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if time.tzinfo is None:
        return time.replace(tzinfo=UTC)
    if time.utcoffset():
        raise ValueError(f"not UTC: {stamp}")
    return time
