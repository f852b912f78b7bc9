"""Pure rules: the retry policy, the operation state machine, ids and timestamps."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from app.domain import clock, ids
from app.domain.operations import (
    ACTIVE_STATUSES,
    IllegalTransition,
    Operation,
    OperationStatus,
    check_transition,
)
from app.engine.retry import RetryPolicy


def test_backoff_grows_by_its_factor_up_to_the_cap() -> None:
    policy = RetryPolicy(initial=1, factor=2, cap=10, max_attempts=8, jitter=0)

    assert [policy.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_jitter_stays_within_its_fraction_of_the_delay() -> None:
    policy = RetryPolicy(initial=10, factor=1, cap=10, jitter=0.2)
    rng = random.Random(7)

    delays = [policy.delay(1, rng=rng) for _ in range(500)]

    assert all(8 <= d <= 12 for d in delays)
    assert max(delays) - min(delays) > 2  # it does spread


def test_a_policy_is_exhausted_at_its_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)

    assert [policy.exhausted(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": 0},
        {"factor": 0.5},
        {"cap": 0.1, "initial": 1},
        {"max_attempts": 0},
        {"jitter": 1.0},
    ],
)
def test_a_nonsensical_policy_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_ended_operations_never_move_again() -> None:
    for ended in set(OperationStatus) - ACTIVE_STATUSES:
        for target in OperationStatus:
            with pytest.raises(IllegalTransition):
                check_transition(ended, target)


def test_active_operations_can_be_cancelled_or_failed_but_not_succeed_unclaimed() -> None:
    for active in ACTIVE_STATUSES:
        check_transition(active, OperationStatus.CANCELLED)
        check_transition(active, OperationStatus.FAILED)
    with pytest.raises(IllegalTransition):
        check_transition(OperationStatus.QUEUED, OperationStatus.SUCCEEDED)
    check_transition(OperationStatus.RUNNING, OperationStatus.SUCCEEDED)


def test_a_lease_is_live_only_while_running_and_unexpired() -> None:
    now = clock.utcnow()
    op = Operation(
        database_id="db-1",
        domain="d",
        project="p",
        type="create",
        status=OperationStatus.RUNNING,
        lease_expires_at=now + timedelta(seconds=5),
    )

    assert op.lease_is_live(now)
    assert not op.lease_is_live(now + timedelta(seconds=6))
    assert not op.model_copy(update={"status": OperationStatus.WAITING}).lease_is_live(now)


def test_ids_carry_their_prefix_and_are_valid_kubernetes_name_parts() -> None:
    made = {ids.new_id(ids.IdPrefix.OPERATION) for _ in range(1000)}

    assert len(made) == 1000
    assert all(i.startswith("op-") and i == i.lower() and len(i) == 19 for i in made)


def test_every_position_of_an_id_draws_from_the_whole_alphabet() -> None:
    bodies = [ids.new_id(ids.IdPrefix.DATABASE).removeprefix("db-") for _ in range(3000)]

    for position in range(16):
        seen = {body[position] for body in bodies}
        # 3,000 uniform draws of 36 characters miss one with odds below 1e-30.
        assert seen == set("0123456789abcdefghijklmnopqrstuvwxyz"), position


def test_stored_timestamps_have_one_width_so_text_order_is_time_order() -> None:
    whole = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = whole + timedelta(microseconds=500)

    assert clock.to_text(whole) == "2026-01-01T12:00:00.000000Z"
    assert clock.to_text(whole) < clock.to_text(later)
    op = Operation(database_id="db", domain="d", project="p", type="t", created_at=whole)
    dumped = op.model_dump(mode="json")
    assert dumped["created_at"] == "2026-01-01T12:00:00.000000Z"
    assert Operation.model_validate(dumped).created_at == whole
