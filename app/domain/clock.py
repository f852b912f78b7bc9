"""Time: wall-clock timestamps for stored records, in one fixed ISO 8601 UTC format.

Stored timestamps are strings like `2026-11-29T14:00:00.000000Z`: fixed width, so their text
order is their time order in every store (SQLite and MongoDB sort them as strings).
Deadlines and leases inside one process use the loop's monotonic clock instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_FORMAT)


def _parse(value: object) -> object:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


Timestamp = Annotated[
    datetime,
    BeforeValidator(_parse),
    PlainSerializer(to_text, return_type=str, when_used="json"),
]


def parse_or_none(value: object) -> datetime | None:
    """A Kubernetes or stored timestamp (`...Z`, an offset, or naive, taken as UTC) in UTC,
    or None for anything else: a missing field, a wrong type, a malformed text."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def later(seconds: float, *, start: datetime | None = None) -> datetime:
    return (start or utcnow()) + timedelta(seconds=seconds)
