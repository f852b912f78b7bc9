"""The hint a paged list prints on stderr when more pages follow (tables only: JSON and
YAML stay the page's items alone, for scripts)."""

from __future__ import annotations

from typing import Any

import click

from kdb.cli.context import State


def more(page: int, page_size: int, shown: int, total: int) -> str | None:
    """`20 of 45: --page 2 for more`, or None on the last page."""
    seen = (page - 1) * page_size + shown
    return f"{seen} of {total}: --page {page + 1} for more" if total > seen else None


def hint(state: State, found: Any) -> None:
    """Print `more(...)` for an SDK `Page` when the output is a table."""
    if state.output not in ("table", "wide") or state.query is not None:
        return
    line = more(found.page, found.page_size, len(found.items), found.total)
    if line is not None:
        click.echo(line, err=True)
