"""Following an operation to its end, on stderr (stdout stays the answer, for scripts).

On a terminal: a Rich progress bar with the operation's status and message, redrawn in
place. Elsewhere (a pipe, a CI log): one plain line each time the status, progress, message
or OpsRequest phase changes, e.g.

    op-1f2e3d create running 40% (Provisioning): waiting for the Postgres to be Ready

The SDK's `Operations.wait` does the polling and raises `OperationFailed` or `WaitTimedOut`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kdb.sdk.client import Client
    from kdb.sdk.models import Operation


def line(operation: Operation) -> str:
    text = f"{operation.id} {operation.type} {operation.status} {operation.progress}%"
    if operation.ops_request_phase:
        text += f" ({operation.ops_request_phase})"
    message = operation.error_message or operation.message
    return f"{text}: {message}" if message else text


def follow(client: Client, operation_id: str, *, timeout: float) -> Operation:
    if not sys.stderr.isatty():
        return client.operations.wait(
            operation_id, timeout=timeout, on_change=lambda op: print(line(op), file=sys.stderr)
        )
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    with Progress(
        TextColumn("[bold]{task.fields[kind]}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        task = progress.add_task("queued", total=100, kind=operation_id)

        def show(op: Operation) -> None:
            status = op.status + (f" ({op.ops_request_phase})" if op.ops_request_phase else "")
            message = op.error_message or op.message or ""
            progress.update(
                task,
                completed=op.progress,
                kind=f"{op.type} {op.id}",
                description=f"{status} {message}".strip(),
            )

        return client.operations.wait(operation_id, timeout=timeout, on_change=show)
