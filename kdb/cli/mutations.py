"""What every command that changes a database shares: `--wait/--no-wait`, `--timeout`,
`--idempotency-key`, and the run itself (start the change, follow its operation, print the
database as it ended).

The idempotency key is generated when not given; pass the same one to retry a command whose
answer was lost, and the API returns the first answer instead of starting a second change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kdb.cli import output
from kdb.cli.context import State

if TYPE_CHECKING:
    from kdb.sdk.models import Database

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_TIMEOUT = 600.0


def options(command: F) -> F:
    command = click.option(
        "--idempotency-key",
        metavar="KEY",
        help="Send this Idempotency-Key (default: a new random one); reuse it to retry safely.",
    )(command)
    command = click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        help="Seconds to wait for the operation before giving up (exit 1).",
    )(command)
    command = click.option(
        "--wait/--no-wait",
        default=True,
        help="Follow the operation to its end (default), or return once it is accepted.",
    )(command)
    return command


def run(
    state: State,
    start: Callable[[str | None], Database],
    *,
    wait: bool,
    timeout: float,
    idempotency_key: str | None,
) -> None:
    """Start the change; unless `--no-wait`, follow it and print the database after it."""
    from kdb.cli import waiting

    started = start(idempotency_key)
    if not wait or started.operation_id is None:
        output.emit(state, started.to_json(), "database")
        return
    waiting.follow(state.client, started.operation_id, timeout=timeout)
    output.emit(state, state.databases().get(started.id).to_json(), "database")
