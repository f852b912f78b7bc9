"""The list's answer written from the stored documents' JSON text, no `Database` per row.

    body = database_pages.list_json(texts, total=..., page=..., page_size=...)

Byte for byte what `DatabaseList.json_of` writes from the records `Database.model_validate_json`
reads from the same texts (issue 19: reading and checking a page's 20 records was 26 % of the
list's CPU, `model_validate_json` alone 17 %). msgspec decodes each text into `DatabaseOut`'s
fields only (`_Row`, built from the models' own field tables: one fact, one order) and
encodes the page; every other stored field is skipped unread, so a secret or an internal field
cannot reach the answer.

msgspec's decoding is strict where pydantic's is lax (no "20" for an int, no 20.0, no naive
or odd timestamp text): a row it refuses, or one that needs what pydantic alone does (a field
missing whose default is made per record, such as `id` or `created_at`), goes the model path,
`Database.model_validate_json` and `DatabaseOut.json_of`, and so answers, or fails, exactly
as before. tests/unit/test_database_pages.py compares both over generated records.

Must not: write a field that is not `DatabaseOut`'s; answer a row pydantic would read
differently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import msgspec
from pydantic_core import PydanticUndefined

from app.api.v1.database_models import DatabaseOut
from app.domain.databases import Database

# The stored timestamp texts both readers read alike: `clock.to_text`'s (microseconds, "Z")
# and an older writer's `isoformat()` ("+00:00", no fraction at whole seconds). Any other
# text goes the model path (msgspec would round a seventh digit, `fromisoformat` not).
_STAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?(Z|\+00:00)$"
_Stamp = Annotated[str, msgspec.Meta(pattern=_STAMP)]
_TIMES = tuple(n for n, f in DatabaseOut.model_fields.items() if f.annotation is datetime)
_WHOLE_SECOND = re.compile(r"\.000000(?=Z$)")


def _row_field(name: str) -> tuple[str, Any, Any] | tuple[str, Any]:
    """`DatabaseOut`'s field `name` as msgspec reads it: the record's (stricter or equal)
    type and the record's default; no default where pydantic makes one per record."""
    if name not in Database.model_fields:  # `poll_url`: never stored, None in a list
        return name, None, None
    field = Database.model_fields[name]
    kind = _Stamp if name in _TIMES else field.annotation
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
            stamp = getattr(row, name)
            # As `clock`'s reader: a date that does not exist is pydantic's to refuse.
            datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            # pydantic writes a UTC time with "Z", and no fraction at a whole second.
            setattr(row, name, _WHOLE_SECOND.sub("", stamp.replace("+00:00", "Z")))
    except (msgspec.DecodeError, ValueError):
        return msgspec.Raw(DatabaseOut.json_of(Database.model_validate_json(text)))
    return row
