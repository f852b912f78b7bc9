"""How a create reports on a database that is not Ready yet: a progress percentage and
line from the provisioning conditions KubeDB has set, the reason a create fails with
when the database never became Ready (every condition, with the ones still missing), and
when it looks again."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.domain import clock, status_mapping
from app.domain.manifests.desired import DesiredDatabase
from app.domain.status_mapping import ConditionType, ObservedDatabase
from app.services.handlers.deps import HandlerTiming

_PROVISIONING_ORDER = (
    ConditionType.PROVISIONING_STARTED,
    ConditionType.REPLICA_READY,
    ConditionType.ACCEPTING_CONNECTION,
    ConditionType.READY,
    ConditionType.PROVISIONED,
)


def percent(observed: ObservedDatabase) -> int:
    conditions = status_mapping.Conditions(observed.conditions)
    done = sum(1 for kind in _PROVISIONING_ORDER if conditions.is_true(kind))
    return min(95, 20 + 15 * done)


def text(observed: ObservedDatabase) -> str:
    conditions = status_mapping.Conditions(observed.conditions)
    pending = [kind.value for kind in _PROVISIONING_ORDER if not conditions.is_true(kind)]
    return f"waiting for {', '.join(pending)}" if pending else "waiting for phase Ready"


def _seconds(value: float) -> str:
    return f"{value:.0f}s" if value >= 10 else f"{round(value, 2):g}s"


def not_ready_reason(desired: DesiredDatabase, observed: ObservedDatabase, seconds: float) -> str:
    """What the cluster says about a database that did not become Ready: its phase, every
    condition with its reason and message, and the conditions still missing."""
    where = f"{desired.engine_spec.kind} {desired.namespace}/{desired.name}"
    head = (
        f"{where} did not become Ready within {_seconds(seconds)} "
        f"(phase {observed.raw_phase or 'not set'})"
    )
    if not observed.conditions:
        return (
            f"{head}: the KubeDB operator has not reported on it (no conditions); check that "
            "the operator runs and that the version is not deprecated"
        )
    parts = []
    for condition in observed.conditions:
        detail = ": ".join(p for p in (condition.reason, condition.message) if p)
        parts.append(
            f"{condition.type}={condition.status.value}" + (f" ({detail})" if detail else "")
        )
    conditions = status_mapping.Conditions(observed.conditions)
    missing = [kind.value for kind in _PROVISIONING_ORDER if not conditions.has(kind)]
    text = f"{head}: " + "; ".join(parts)
    if missing:
        text += f"; not reported yet: {', '.join(missing)}"
    return text


def first_poll(timing: HandlerTiming) -> float:
    return min(timing.provision_first_poll, timing.provision_poll)


def next_poll(timing: HandlerTiming, ready_by_text: str | None, now: datetime) -> float:
    """Polls come sooner while a create is young: the first `first_poll` after the CR was
    created, each next one after as long again as it has waited so far (0.5, 1, 2, 4 s
    ...), at most `provision_poll` apart. A database the operator makes Ready within a
    second is seen within about one, not after a whole `provision_poll` (which bound the
    rate of creates: issue 19); a slow one costs a few more reads in its first seconds.
    `ready_by_text`: the state's, set `provision_deadline` after the CR was created."""
    ready_by = clock.parse_or_none(ready_by_text)
    if ready_by is None:
        return timing.provision_poll
    waited = (now - (ready_by - timedelta(seconds=timing.provision_deadline))).total_seconds()
    return min(timing.provision_poll, max(first_poll(timing), waited))
