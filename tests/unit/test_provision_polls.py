"""When a create looks at its new database again: soon while it is young (a database the
operator makes Ready in a second is seen within about one), then at the poll interval."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from app.domain import clock
from app.services.handlers import provisioning_progress as progress
from app.services.handlers.deps import HandlerTiming

TIMING = HandlerTiming(provision_deadline=1800, provision_poll=5, provision_first_poll=0.5)
CREATED = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
READY_BY = clock.to_text(CREATED + timedelta(seconds=1800))


def poll_after(seconds: float) -> float:
    return progress.next_poll(TIMING, READY_BY, CREATED + timedelta(seconds=seconds))


def test_polls_of_a_new_database_double_from_the_first_up_to_the_poll_interval() -> None:
    at, schedule = 0.0, []
    at += progress.first_poll(TIMING)
    while at < 30:
        schedule.append(at)
        at += poll_after(at)

    assert schedule[:5] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert {b - a for a, b in itertools.pairwise(schedule[4:])} == {5.0}


def test_the_first_poll_never_comes_later_than_the_poll_interval() -> None:
    fast = HandlerTiming(provision_poll=0.05)

    assert progress.first_poll(fast) == 0.05
    assert progress.next_poll(fast, READY_BY, CREATED + timedelta(seconds=3)) == 0.05


def test_a_state_without_ready_by_polls_at_the_interval() -> None:
    assert progress.next_poll(TIMING, None, CREATED) == 5.0
