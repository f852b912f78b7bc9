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
    (RFC 3339), too coarse for scaled-down durations."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._at: dict[tuple[str, ...], float] = {}

    def now(self) -> float:
        return self._clock()

    def mark(self, *key: str) -> None:
        self._at[key] = self._clock()

    def since(self, *key: str) -> float | None:
        at = self._at.get(key)
        return None if at is None else self._clock() - at

    def forget(self, *prefix: str) -> None:
        for key in [k for k in self._at if k[: len(prefix)] == prefix]:
            del self._at[key]


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
