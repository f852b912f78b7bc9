"""Successful authentications, remembered for a few seconds (issue 19).

Checking a key reads the store and hashes the secret on every request; a GET spent 18 % of
its time there. This cache lets a token that checked out within the last `ttl` seconds
through without either.

What it must not do: hold a token (entries are keyed by the SHA-256 of the presented text,
and hold the `ApiKey`, which holds only a salted hash); remember a failure (a wrong token
is checked afresh each time); grow without bound (least recently used entries go past
`max_entries`); let a revoked key work longer than documented: on the instance that revoked
it, at once (`forget_key`); on any other, until its entry expires, at most `ttl` seconds
after that instance last read the key. `ttl` 0 disables it.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

from app.domain.api_keys import ApiKey

DEFAULT_MAX_ENTRIES = 1024


def token_digest(presented: str) -> str:
    """What a token is remembered by: its hash, never itself."""
    return hashlib.sha256(presented.encode()).hexdigest()


class AuthCache:
    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 0 or max_entries < 1:
            raise ValueError("ttl must be >= 0 and max_entries >= 1")
        self._ttl = ttl
        self._max = max_entries
        self._now = monotonic
        self._entries: OrderedDict[str, tuple[ApiKey, float]] = OrderedDict()
        # Bumped by every `forget_key`: a check that read the store before a revocation here
        # and finishes after it does not put the key back (`put(..., generation=...)`).
        self._generation = 0

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: str) -> ApiKey | None:
        """The key a token with this digest authenticated as, if that was under `ttl` ago."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        key, expires = entry
        if self._now() >= expires:
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return key

    @property
    def generation(self) -> int:
        """Read before the store is; pass it to `put`."""
        return self._generation

    def put(self, digest: str, key: ApiKey, *, generation: int) -> None:
        if not self.enabled or generation != self._generation:
            return
        self._entries[digest] = (key, self._now() + self._ttl)
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget_key(self, key_id: str) -> None:
        """Drop every entry of a key (revoked here): its next request reads the store."""
        self._generation += 1
        for digest in [d for d, (key, _) in self._entries.items() if key.id == key_id]:
            del self._entries[digest]
