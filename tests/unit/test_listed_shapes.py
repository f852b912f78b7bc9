"""The narrow shapes' reduces return what the domain's functions return for the whole object,
and their memo, once it starts afresh, never gives an old number to another value."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from app.domain import data_plane, drift, status_mapping
from app.services import listed_shapes

CR: dict[str, Any] = {
    "apiVersion": "kubedb.com/v1",
    "kind": "Postgres",
    "metadata": {"name": "db-1", "namespace": "ns", "generation": 2, "uid": "u"},
    "spec": {
        "version": "16.13",
        "replicas": 3,
        "halted": None,
        "authSecret": {"name": "db-1-auth"},
        "storage": {"resources": {"requests": {"storage": "10Gi"}}, "accessModes": ["RWO"]},
        "podTemplate": {"spec": {"containers": [{"name": "postgres", "image": "x"}]}},
        "cluster": {"shards": 2, "other": 1},
    },
    "status": {
        "phase": "Ready",
        "observedGeneration": 2,
        "conditions": [{"type": "Ready", "status": "True", "reason": "r"}],
        "gateway": {"ignored": True},
    },
}


def narrow(obj: dict[str, Any]) -> listed_shapes.DatabaseCR:
    return msgspec.json.decode(json.dumps(obj), type=listed_shapes.DatabaseCR)


@pytest.mark.parametrize(
    "obj",
    [
        CR,
        {**CR, "status": None, "spec": None},
        {"kind": "Redis"},
        {**CR, "status": {"conditions": [{"type": "ProvisioningStarted", "status": "True"}]}},
        {**CR, "status": {"phase": 7, "observedGeneration": "2", "conditions": "none"}},
        {**CR, "spec": {"replicas": {"odd": 1}, "podTemplate": {"spec": {"containers": 5}}}},
    ],
    ids=["whole", "null-parts", "bare", "no-phase", "malformed-status", "malformed-spec"],
)
def test_the_narrow_reduces_return_what_the_domain_returns_for_the_whole_object(
    obj: dict[str, Any],
) -> None:
    reader = listed_shapes.ListedReader()
    _, observed = reader.observed(narrow(obj))
    _, part, text = reader.spec(narrow(obj))

    assert observed == status_mapping.observe_database(obj)
    assert part == drift.observed_part(obj)
    assert text == json.dumps(drift.observed_part(obj), separators=(",", ":"))


def test_an_appbinding_reads_as_data_plane_parse_reads_it() -> None:
    obj = {
        "metadata": {
            "name": "db-1",
            "annotations": {data_plane.SERVER_VERSION_ANNOTATION: "16.2", "other": "x"},
        },
        "spec": {"clientConfig": {"url": "postgresql://127.0.0.1:5432/app", "service": {}}},
    }
    shape = msgspec.json.decode(json.dumps(obj), type=listed_shapes.AppBindingCR)

    assert listed_shapes.ListedReader().binding(shape) == data_plane.parse(obj)
    assert listed_shapes.ListedReader().binding(listed_shapes.AppBindingCR()) == (
        data_plane.parse({})
    )


def test_a_memo_started_afresh_never_numbers_another_value_as_an_old_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listed_shapes, "MEMO_LIMIT", 3)
    reader = listed_shapes.ListedReader()
    numbers: dict[int, status_mapping.ObservedDatabase] = {}
    for round_ in range(3):
        for generation in range(10):
            number, observed = reader.observed(
                narrow({**CR, "metadata": {"generation": generation}})
            )
            assert observed.generation == generation
            assert numbers.setdefault(number, observed) == observed, round_
