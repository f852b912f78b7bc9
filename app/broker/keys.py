"""Every Redis key the app uses, derived from one prefix (`REDIS_KEY_PREFIX`).

Two deployments (or two test runs) sharing one Redis database never touch each other's keys
when their prefixes differ, and everything one of them wrote is found by `SCAN MATCH
<prefix>:*`. The names below are the only place a key is spelled; components take theirs
as an argument.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedisKeys:
    prefix: str

    @property
    def operations(self) -> str:
        """The queue's prefix: `<operations>:stream` and `<operations>:delayed`."""
        return f"{self.prefix}:ops"

    @property
    def leader(self) -> str:
        """The reconciler's lease (and `<leader>:epoch`, its fencing counter)."""
        return f"{self.prefix}:leader:reconciler"

    @property
    def members(self) -> str:
        """The live status-sync instances (a sorted set)."""
        return f"{self.prefix}:members:status-sync"

    @property
    def rate_limits(self) -> str:
        """Token buckets: `<rate_limits><key id>`."""
        return f"{self.prefix}:ratelimit:"

    @property
    def placement_locks(self) -> str:
        """Reservation locks: `<placement_locks><database id>`."""
        return f"{self.prefix}:placement:"

    @property
    def idempotency(self) -> str:
        """Replay records: `<idempotency>:<api key id>:<hash of the key>`."""
        return f"{self.prefix}:idem"

    @property
    def console_sessions(self) -> str:
        """The web console's sessions: `<console_sessions><hash of the session id>`."""
        return f"{self.prefix}:console:session:"

    @property
    def pattern(self) -> str:
        """A `SCAN MATCH` pattern for every key above."""
        return f"{self.prefix}:*"
