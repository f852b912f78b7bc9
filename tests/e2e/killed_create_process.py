"""The app (`python -m app`, settings from the environment) with one fault: it SIGKILLs
itself in the middle of a create, right after the database record is written and before
its operation is (issue 12, item 21).

    python -m tests.e2e.killed_create_process

`KILL_AT=record` (SQLite, a create with the user's password: record, secret, operation)
kills right after `databases.insert`; `KILL_AT=operation` (MongoDB, whose
`create_database` writes the record and then the operation) kills as the operation's
write begins. Everything else is the real service code.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import AsyncExitStack
from typing import Any

from app import __main__ as entry
from app import main as app_main
from app.config.settings import Settings
from app.main import Runtime

_real_build = app_main.build_runtime


def _die() -> None:
    print("killed between the record and its operation", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


class _KillAround:
    """The real repository; `method` kills the process after (or before) its real call."""

    def __init__(self, real: Any, method: str, *, after: bool) -> None:
        self._real, self._method, self._after = real, method, after

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        if name != self._method:
            return attribute

        async def killing(*args: Any, **kwargs: Any) -> Any:
            if not self._after:
                _die()
            result = await attribute(*args, **kwargs)
            _die()
            return result

        return killing


async def _build_runtime(settings: Settings, stack: AsyncExitStack, **kwargs: Any) -> Runtime:
    runtime = await _real_build(settings, stack, **kwargs)
    store: Any = runtime.store
    if os.environ.get("KILL_AT", "record") == "record":
        store.databases = _KillAround(store.databases, "insert", after=True)
    else:
        store.operations = _KillAround(store.operations, "create_active", after=False)
    return runtime


if __name__ == "__main__":
    app_main.build_runtime = _build_runtime  # type: ignore[assignment]
    sys.exit(entry.main())
