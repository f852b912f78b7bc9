"""Printing answers: a Rich table for people (kubectl's borderless style), JSON, YAML or one
field for scripts.

A command hands over the answer's JSON (`to_json()` of an SDK model or page) and the kind of
thing it is; the columns of each kind are in `COLUMNS` (`wide` adds the ones marked so).
Lists print as a JSON array of their items. Rich and PyYAML are imported only here, when
something is printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kdb.cli import fieldpath
from kdb.cli.context import CliError, State

Row = dict[str, Any]
Cell = Callable[[Row], Any]


def _replicas(row: Row) -> str:
    return f"{row.get('ready_replicas', 0)}/{row.get('replicas', '')}"


def _field(name: str) -> Cell:
    return lambda row: row.get(name)


# (header, cell, wide only)
COLUMNS: dict[str, list[tuple[str, Cell, bool]]] = {
    "database": [
        ("NAME", _field("name"), False),
        ("ENGINE", _field("engine"), False),
        ("VERSION", _field("version"), False),
        ("STATUS", _field("status"), False),
        ("HEALTH", _field("health_status"), False),
        ("SIZE", _field("size"), False),
        ("READY", _replicas, False),
        ("STORAGE", lambda row: f"{row.get('storage_gb')} GB", True),
        (
            "ENDPOINT",
            lambda row: row.get("endpoint") and f"{row['endpoint']}:{row.get('port')}",
            True,
        ),
        ("ID", _field("id"), True),
        ("CREATED", _field("created_at"), True),
    ],
    "operation": [
        ("ID", _field("id"), False),
        ("TYPE", _field("type"), False),
        ("STATUS", _field("status"), False),
        ("PROGRESS", lambda row: f"{row.get('progress', 0)}%", False),
        ("MESSAGE", lambda row: row.get("error_message") or row.get("message"), False),
        ("DATABASE", _field("database_id"), True),
        ("OPSREQUEST", _field("ops_request_name"), True),
        ("CREATED", _field("created_at"), True),
    ],
    "event": [
        ("TIME", _field("created_at"), False),
        ("REASON", _field("reason"), False),
        ("FROM", _field("from_status"), False),
        ("TO", _field("to_status"), False),
        ("MESSAGE", _field("message"), False),
        ("ACTOR", _field("actor"), True),
        ("OPERATION", _field("operation_id"), True),
    ],
    "version": [
        ("ENGINE", _field("engine"), False),
        ("VERSION", _field("version"), False),
        ("DEFAULT", lambda row: "yes" if row.get("default") else "", False),
        ("DEPRECATED", lambda row: "yes" if row.get("deprecated") else "", False),
    ],
    "size": [
        ("NAME", _field("name"), False),
        ("CPU", _field("cpu"), False),
        ("MEMORY", lambda row: f"{row.get('memory_gib')} GiB", False),
        ("DEFAULT", lambda row: "yes" if row.get("default") else "", False),
    ],
}


def emit(state: State, data: Any, kind: str | None = None) -> None:
    """Print `data` (JSON values) in the format the command line asked for."""
    path = state.query
    if state.output.startswith("jsonpath="):
        path = state.output.removeprefix("jsonpath=")
    if path is not None:
        try:
            value = fieldpath.resolve(data, path)
        except fieldpath.PathError as e:
            raise CliError("bad_path", str(e), exit_code=2) from e
        print(value if isinstance(value, str | int | float) else json.dumps(value, indent=2))
    elif state.output == "json":
        print(json.dumps(data, indent=2))
    elif state.output == "yaml":
        import yaml

        print(yaml.safe_dump(data, sort_keys=False), end="")
    elif kind in COLUMNS:
        rows = data if isinstance(data, list) else [data]
        table(rows, COLUMNS[kind], wide=state.output == "wide")
    else:
        pairs(data)


def _console() -> Any:
    from rich.console import Console

    # Not a terminal: wide enough that a piped table is never cut or wrapped.
    return Console(highlight=False, width=None if _tty() else 250)


def _tty() -> bool:
    import sys

    return sys.stdout.isatty()


def table(rows: list[Row], columns: list[tuple[str, Cell, bool]], *, wide: bool) -> None:
    from rich.table import Table

    chosen = [c for c in columns if wide or not c[2]]
    view = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for header, _, _ in chosen:
        view.add_column(header, overflow="fold")
    for row in rows:
        view.add_row(*("" if (v := cell(row)) is None else str(v) for _, cell, _ in chosen))
    _console().print(view)


def pairs(data: Any) -> None:
    """A record without columns of its own (credentials, upgrades): `key  value` lines."""
    from rich.table import Table

    view = Table(box=None, pad_edge=False, show_header=False, show_edge=False)
    view.add_column(style="bold")
    view.add_column(overflow="fold")
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        view.add_row(str(key), "" if shown is None else str(shown))
    _console().print(view)
