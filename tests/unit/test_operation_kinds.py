"""Typed operations: every type's input and step state load from documents as they were
stored before the models existed, and are written back in the same shape."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.domain import operation_kinds as kinds
from app.domain.manifests.desired import DeletionPolicy

# desired_state as the submitters of the untyped code wrote it, one per type.
OLD_INPUTS: dict[str, dict[str, Any]] = {
    "create": {"auth_secret_name": "orders-auth"},
    "delete": {"deletion_policy": "WipeOut"},
    "scale_horizontal": {"replicas": 3, "observed": {"replicas": 1}},
    "scale_vertical": {"size": "db.medium", "observed": {}},
    "expand_storage": {"storage_gb": 20, "mode": "Online"},
    "upgrade_version": {"target_version": "16.13", "observed": {"version": "16.9"}},
    "restart": {},
    "rotate_credentials": {"secret_name": "orders-new-auth"},
    "pause": {"observed": {"halted": False}},
    "resume": {},
    "update": {"labels": {"team": "blue"}, "replicas": 3, "version": "16.13"},
    "backup": {"backup_id": "bkp-0123456789abcdef"},
    "restore": {
        "source": {
            "database_id": "db-1",
            "namespace": "acme-web-123456",
            "repository": "orders-manual",
            "snapshot": "latest",
        }
    },
}

# state as the untyped handlers saved it, one per state model.
OLD_STATES: dict[str, dict[str, Any]] = {
    "create": {"step": "wait", "ready_by": "2026-11-29T14:00:00.000000Z"},
    "delete": {"step": "wait"},
    "scale_horizontal": {
        "step": "wait",
        "attempt": 2,
        "return_to": "running",
        "description": "replicas 2 -> 3",
    },
    "pause": {"step": "patch", "return_to": "running"},
    "update": {
        "plan": [
            {"kind": "settings", "values": {"labels": {"team": "blue"}}, "description": "settings"},
            {
                "kind": "ops",
                "type": "scale_horizontal",
                "target": {"replicas": 3},
                "description": "replicas 2 -> 3",
            },
        ],
        "index": 1,
        "step": "submit",
        "attempt": 1,
        "return_to": "running",
        "applied": ["settings"],
    },
}


def kind(op_type: str) -> kinds.OperationKind[Any, Any]:
    return next(k for k in kinds.DATABASE_KINDS if k.type == op_type)


def test_every_database_operation_type_has_a_kind_and_an_old_document() -> None:
    assert {k.type for k in kinds.DATABASE_KINDS} == set(OLD_INPUTS)


@pytest.mark.parametrize("op_type", sorted(OLD_INPUTS))
def test_an_old_input_loads_through_the_union_and_is_written_back_unchanged(op_type: str) -> None:
    stored = OLD_INPUTS[op_type]

    through_union = kinds.input_of(op_type, stored)
    through_kind = kind(op_type).read_input(stored)

    assert type(through_union) is kind(op_type).input
    assert through_union == through_kind
    assert kind(op_type).dump_input(through_kind) == stored


def test_an_old_upgrade_that_names_the_version_version_loads_as_target_version() -> None:
    wanted = kinds.UPGRADE_VERSION.read_input({"version": "16.13"})

    assert wanted.target_version == "16.13"
    assert kinds.UPGRADE_VERSION.dump_input(wanted) == {"target_version": "16.13"}


@pytest.mark.parametrize("op_type", sorted(OLD_STATES))
def test_an_old_step_state_loads_and_is_written_back_unchanged(op_type: str) -> None:
    stored = OLD_STATES[op_type]

    state = kind(op_type).read_state(stored)

    assert kind(op_type).dump_state(state) == stored


def test_a_step_that_has_saved_nothing_sees_the_models_defaults() -> None:
    state = kinds.SCALE_HORIZONTAL.read_state({})

    assert (state.step, state.attempt, state.return_to) == (None, 1, None)
    assert kinds.SCALE_HORIZONTAL.dump_state(state) == {"attempt": 1}


@pytest.mark.parametrize(
    ("op_type", "stored"),
    [
        ("scale_horizontal", {"replicas": True}),
        ("scale_horizontal", {"replicas": "3"}),
        ("scale_vertical", {"size": ""}),
        ("expand_storage", {}),
        ("delete", {"deletion_policy": "Forget"}),
        ("update", {"engine": "mysql"}),
        ("nothing_of_ours", {}),
    ],
)
def test_an_input_that_does_not_fit_its_model_is_refused(
    op_type: str, stored: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        kinds.input_of(op_type, stored)


def test_a_submitters_typed_input_is_stored_with_only_the_keys_it_sets() -> None:
    wanted = kinds.DeleteInput(deletion_policy=DeletionPolicy.HALT)

    assert kinds.DELETE.dump_input(wanted) == {"deletion_policy": "Halt"}
    assert kinds.CREATE.dump_input(kinds.CreateInput()) == {}
