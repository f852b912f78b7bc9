"""The document shape both adapters store, and the derived keys that carry the uniqueness rules.

A record is stored as its JSON dump (timestamps as fixed-width ISO text, enums as values).
Two derived keys make the uniqueness rules plain unique indexes, which every MongoDB-speaking
backend honours (partial-filter indexes are not honoured by all of them):

- `live_name_key` of a database is `domain/project/name` while it is live and its own id once
  deleted, so a unique index admits one live database per name and any number of deleted ones;
- `active_key` of an operation is its database id while it is active and its own id once it
  ends, so a unique index admits one active operation per database.

SQLite does not need them (it has real partial indexes) but stores them too, so a document
means the same in both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, NoReturn

from pydantic import BaseModel

from app.domain import clock
from app.domain.backup_storages import BackupStorage
from app.domain.databases import Database, DatabaseStatus
from app.domain.operations import (
    ACTIVE_STATUSES,
    Operation,
    OperationStatus,
    check_transition,
    legal_sources,
)
from app.domain.providers import Provider
from app.store import errors

_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# Identity fields never change after insert; the derived keys rely on that.
# A provider's name and domain are ordinary fields (the store keeps the name unique).
_PROVIDER_PROTECTED = frozenset({"id", "_id", "revision", "created_at"})
_PROTECTED = frozenset(
    {
        "id",
        "_id",
        "revision",
        "live_name_key",
        "active_key",
        "label_pairs",
        "domain",
        "project",
        "name",
        "database_id",
        "created_at",
    }
)
# A backup storage's name and provider are what its cluster objects are; its default flag
# moves only through `make_default` (with its derived key).
_STORAGE_PROTECTED = frozenset(
    {"id", "_id", "revision", "created_at", "name", "provider", "is_default", "default_key"}
)
_PROTECTED_BY_MODEL: dict[type[BaseModel], frozenset[str]] = {
    Provider: _PROVIDER_PROTECTED,
    BackupStorage: _STORAGE_PROTECTED,
}
# `default_key` of a backup storage: this while it is the default, its own id otherwise, so
# a unique index admits one default.
DEFAULT_KEY = "default"


def encode(value: Any) -> Any:
    """A Python value as it is stored in a document."""
    if isinstance(value, datetime):
        return clock.to_text(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v) for v in value]
    return value


def to_document(record: BaseModel) -> dict[str, Any]:
    doc: dict[str, Any] = record.model_dump(mode="json")
    if isinstance(record, Database):
        doc["live_name_key"] = live_name_key(doc)
        doc["label_pairs"] = label_pairs(doc["labels"])
    elif isinstance(record, Operation):
        doc["active_key"] = active_key(doc)
    elif isinstance(record, BackupStorage):
        doc["default_key"] = DEFAULT_KEY if record.is_default else record.id
    return doc


def live_name_key(doc: Mapping[str, Any]) -> str:
    if doc["status"] == DatabaseStatus.DELETED.value:
        return str(doc["id"])
    return f"{doc['domain']}/{doc['project']}/{doc['name']}"


def label_pairs(labels: Mapping[str, str]) -> list[str]:
    """Labels as `key=value` strings: label keys hold dots, which MongoDB paths cannot query."""
    return sorted(f"{k}={v}" for k, v in labels.items())


def active_key(doc: Mapping[str, Any]) -> str:
    if OperationStatus(doc["status"]) in ACTIVE_STATUSES:
        return str(doc["database_id"])
    return str(doc["id"])


def update_set(model: type[BaseModel], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The encoded `$set` of a field-level update; rejects unknown and protected fields."""
    known = model.model_fields
    out: dict[str, Any] = {}
    for name, value in fields.items():
        protected = _PROTECTED_BY_MODEL.get(model, _PROTECTED)
        if not _FIELD_NAME.match(name) or name in protected or name not in known:
            raise ValueError(f"{model.__name__} has no updatable field {name!r}")
        out[name] = encode(value)
    out["updated_at"] = clock.to_text(clock.utcnow())
    return out


def derived_keys(
    model: type[BaseModel], record_id: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The derived-key changes that go with `changes` in the same write.

    A key only ever moves one way (live to deleted, active to ended: the state machines have
    no way back), and to the record's own id, so no read of the current document is needed.
    """
    status = changes.get("status")
    derived: dict[str, Any] = {}
    if model is Database and "labels" in changes:
        derived["label_pairs"] = label_pairs(changes["labels"])
    if model is Database and status == DatabaseStatus.DELETED.value:
        derived["live_name_key"] = record_id
    if model is Operation and status is not None and OperationStatus(status) not in ACTIVE_STATUSES:
        derived["active_key"] = record_id
    return derived


def status_sources(model: type[BaseModel], changes: Mapping[str, Any]) -> list[str] | None:
    """The stored statuses an operation update may start from (a condition of the write), or
    None when the update moves no operation status: the state machine, enforced in the store."""
    status = changes.get("status")
    if model is not Operation or status is None:
        return None
    return sorted(s.value for s in legal_sources(OperationStatus(status)))


def refuse_missed_update(
    model: type[BaseModel],
    record_id: str,
    current: Mapping[str, Any] | None,
    changes: Mapping[str, Any],
    expected_revision: int | None,
) -> NoReturn:
    """Raise why a conditional update matched no document, from the document as it is now:
    `NotFound`, `RevisionConflict` (checked first: a writer that lost a race re-reads),
    `IllegalTransition` (the state machine refused the status move), else `Conflict`."""
    kind = model.__name__.lower()
    if current is None:
        raise errors.NotFound(kind, record_id)
    if expected_revision is not None and current.get("revision") != expected_revision:
        raise errors.RevisionConflict(kind, record_id, expected_revision)
    if status_sources(model, changes) is not None:
        check_transition(OperationStatus(current["status"]), OperationStatus(changes["status"]))
    if expected_revision is not None:  # changed between the write and this read
        raise errors.RevisionConflict(kind, record_id, expected_revision)
    # The record is there and no revision was asked for: a unique index refused the change
    # (nx-27017 answers so where MongoDB raises DuplicateKeyError).
    raise errors.Conflict(f"{kind} {record_id}: a unique index refused the change")
