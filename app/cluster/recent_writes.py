"""What was written through one gateway lately: keys (a digest of the objects written)
remembered for a time to live, so that what many databases share is not written again on
every create (issue 19: the shared backup objects, a POST answered 409 then a PATCH each).

An entry means "written through this gateway less than `ttl` seconds ago", not "there
now": an object deleted behind the platform's back is written again at most a TTL later.
It holds keys and times only, bounded by what was written within the TTL, and it lives on
its gateway, so a provider whose connection changed (a new gateway) starts afresh. TTL 0
remembers nothing (every write goes to the cluster).
"""

from __future__ import annotations

import time
from collections.abc import Callable

# How long a gateway remembers by default (CLUSTER_RECENT_WRITES_TTL).
DEFAULT_TTL = 60.0
# Expired entries are swept when the map has grown by this many since the last sweep.
_SWEEP_EVERY = 256


class RecentWrites:
    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl < 0:
            raise ValueError("ttl must not be negative")
        self.ttl = ttl
        self._clock = clock
        self._at: dict[str, float] = {}
        self._swept_at_size = 0

    def fresh(self, key: str) -> bool:
        """Whether `key` was remembered less than `ttl` seconds ago."""
        at = self._at.get(key)
        return at is not None and self._clock() - at < self.ttl

    def remember(self, key: str) -> None:
        if self.ttl <= 0:
            return
        now = self._clock()
        self._at[key] = now
        if len(self._at) >= self._swept_at_size + _SWEEP_EVERY:
            for old in [k for k, at in self._at.items() if now - at >= self.ttl]:
                del self._at[old]
            self._swept_at_size = len(self._at)

    def forget(self, key: str) -> None:
        self._at.pop(key, None)

    def __len__(self) -> int:
        return len(self._at)
