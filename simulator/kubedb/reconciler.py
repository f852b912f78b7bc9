"""What the operator model's controllers share: their inputs, and the clock of their steps.

A reconciler reads an object afresh, does what is due and says when to look again; the
provisioner and the ops-manager are two of them.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from datetime import datetime

from simulator.kubedb.cluster import Cluster
from simulator.kubedb.settings import OperatorSettings

_ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 16  # KubeDB's generated passwords (reference §3.1)


class Timeline:
    """When each step happened, on the monotonic clock: conditions only keep whole seconds
    (RFC 3339), too coarse for scaled-down durations.

    Keys are (kind, namespace, name, step...); they are grouped by their first three parts so
    that forgetting an object costs one lookup, not a scan of every object's steps."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._at: dict[tuple[str, ...], dict[tuple[str, ...], float]] = {}

    def now(self) -> float:
        return self._clock()

    def mark(self, *key: str) -> None:
        self._at.setdefault(key[:3], {})[key[3:]] = self._clock()

    def since(self, *key: str) -> float | None:
        at = self._at.get(key[:3], {}).get(key[3:])
        return None if at is None else self._clock() - at

    def forget(self, *prefix: str) -> None:
        """Forget the steps of `prefix` (an object: kind, namespace, name; or one step)."""
        group = self._at.get(prefix[:3])
        if group is None:
            return
        if len(prefix) <= 3:
            del self._at[prefix[:3]]
            return
        for key in [k for k in group if k[: len(prefix) - 3] == prefix[3:]]:
            del group[key]


class Reconciler:
    def __init__(
        self,
        cluster: Cluster,
        settings: OperatorSettings,
        *,
        rng: random.Random,
        now: Callable[[], datetime],
        timeline: Timeline,
    ) -> None:
        self._cluster = cluster
        self._settings = settings
        self._rng = rng
        self._now = now
        self._timeline = timeline

    def _password(self) -> str:
        return "".join(self._rng.choice(_ALPHABET) for _ in range(PASSWORD_LENGTH))
