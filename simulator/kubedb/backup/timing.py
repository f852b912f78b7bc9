"""The backup model's clock and the small value formats of KubeStash.

`SimClock` is wall time that runs `1/time_scale` times faster than real time (the same
time scale that squeezes every other simulated duration): a cron schedule of one minute
fires every 0.6 s at time scale 0.01. Retention periods and snapshot times are read on it.
At time scale 1 it is the wall clock.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

_FASTEST = 1e-4
"""Time scale 0 ("as fast as possible") runs the clock 10,000 times faster."""


class SimClock:
    def __init__(
        self,
        scale: Callable[[], float],
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._scale = scale
        self._wall = wall
        self._monotonic = monotonic
        self._anchor_sim = wall()
        self._anchor_mono = monotonic()
        self._factor = self._current()

    def _current(self) -> float:
        return max(self._scale(), _FASTEST)

    def now(self) -> float:
        """Simulated unix seconds."""
        mono = self._monotonic()
        factor = self._current()
        sim = self._anchor_sim + (mono - self._anchor_mono) / self._factor
        if factor != self._factor:  # re-anchor: the past keeps the old speed
            self._anchor_sim, self._anchor_mono, self._factor = sim, mono, factor
        return sim

    def real_seconds(self, simulated: float) -> float:
        """How long `simulated` seconds take in real time."""
        return max(0.0, simulated) * self._current()


def stamp(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


_UNITS = {"y": 365 * 1440, "mo": 30 * 1440, "w": 7 * 1440, "d": 1440, "h": 60, "m": 1}
_PERIOD = re.compile(r"(\d+)(mo|y|w|d|h|m)")


def period_minutes(text: str) -> int:
    """KubeStash's `maxRetentionPeriod` (`30d`, `2mo`, `30d12h30m`): `m` is minutes, `mo`
    months (30 days), `y` 365 days. ValueError when it does not parse."""
    if not text or _PERIOD.sub("", text) != "":
        raise ValueError(f"invalid retention period {text!r}: use units y, mo, w, d, h, m")
    return sum(int(n) * _UNITS[unit] for n, unit in _PERIOD.findall(text))


def human_size(size: int) -> str:
    """Snapshot sizes as KubeStash writes them: `512 B`, `2.201 KiB`, `1.500 MiB`."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.3f} {unit}"
    raise AssertionError("unreachable")


def parse_duration(text: str | None, default: float) -> float:
    """A Go duration like `5m`, `1h30m`, `90s` in seconds (the session's timeouts)."""
    if not text:
        return default
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|m|s|ms)", text)
    if not parts:
        return default
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)
