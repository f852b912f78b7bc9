"""The start-up heap, frozen once the app is wired (issue 19).

A process starts with ~129k long-lived objects (modules, classes, routes, settings). Every
full collection walked them all again, pausing a request 70-82 ms several times in ten
seconds. `gc.freeze()` moves what exists at that moment into a permanent generation the
collector skips; it is still freed by reference counting, only never scanned for cycles.
Must not: run before the app is ready (objects made later would be missed), or outlive the
app it was taken for (thawed when its exit stack closes, so a process that starts an app
again, as the tests do, freezes afresh).
"""

from __future__ import annotations

import gc
import time
from contextlib import AsyncExitStack

from app.observability.log import get_logger

log = get_logger(__name__)


def freeze(*, until: AsyncExitStack) -> None:
    """Collect what start-up left as garbage, then freeze the rest until `until` closes."""
    began = time.perf_counter()
    gc.collect()
    gc.freeze()
    until.callback(gc.unfreeze)
    log.info(
        "heap_frozen",
        objects=gc.get_freeze_count(),
        took_ms=round((time.perf_counter() - began) * 1000, 1),
    )
