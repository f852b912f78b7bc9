"""The engine checks every status it writes against the state machine before the store."""

from __future__ import annotations

import pytest

from app.domain.errors import DomainError, IllegalTransition
from app.domain.operations import Operation, OperationStatus
from app.engine import transitions


def an_operation(status: OperationStatus) -> Operation:
    return Operation(database_id="db-1", domain="acme", project="web", type="noop", status=status)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (OperationStatus.QUEUED, OperationStatus.SUCCEEDED),
        (OperationStatus.WAITING, OperationStatus.QUEUED),
        (OperationStatus.SUCCEEDED, OperationStatus.RUNNING),
        (OperationStatus.FAILED, OperationStatus.QUEUED),
        (OperationStatus.CANCELLED, OperationStatus.CANCELLED),
    ],
)
def test_an_illegal_operation_status_move_raises(
    current: OperationStatus, target: OperationStatus
) -> None:
    with pytest.raises(IllegalTransition) as caught:
        transitions.check(an_operation(current), {"status": target, "progress": 5})
    assert (caught.value.current, caught.value.target) == (current, target)


def test_a_legal_move_and_a_write_without_a_status_pass() -> None:
    transitions.check(an_operation(OperationStatus.QUEUED), {"status": "running"})
    transitions.check(an_operation(OperationStatus.RUNNING), {"status": "waiting"})
    transitions.check(an_operation(OperationStatus.SUCCEEDED), {"message": "noted"})


def test_an_illegal_transition_is_a_domain_error() -> None:
    assert issubclass(IllegalTransition, DomainError)
