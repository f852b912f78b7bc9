"""Backoff as data: one frozen policy object, never `while True: sleep(fixed)`."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    max_attempts: int = 8
    # Fraction of the delay drawn at random, +/- (0.2 -> 80%..120% of the nominal delay).
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.factor < 1 or self.cap < self.initial:
            raise ValueError("retry policy needs initial > 0, factor >= 1, cap >= initial")
        if self.max_attempts < 1 or not 0 <= self.jitter < 1:
            raise ValueError("retry policy needs max_attempts >= 1 and 0 <= jitter < 1")

    def nominal_delay(self, attempt: int) -> float:
        """Delay before retry number `attempt` (1-based), without jitter."""
        return min(self.cap, self.initial * self.factor ** max(0, attempt - 1))

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        nominal = self.nominal_delay(attempt)
        spread = nominal * self.jitter
        return max(0.0, nominal + (rng or random).uniform(-spread, spread))

    def exhausted(self, attempt: int) -> bool:
        """True when `attempt` failures use up the policy (no retry is left)."""
        return attempt >= self.max_attempts
