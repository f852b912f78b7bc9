"""Paged lists in the console: the page asked for, and the links to the pages beside it
with the list's filters kept (URL-encoded), for `_pager.html`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

PAGE_SIZE = 20
_LAST = 1_000_000  # the API's MAX_PAGE


def page_asked(query: QueryParams) -> int:
    """The `page` of the address, 1 when it is missing or not a page number."""
    try:
        return max(1, min(int(query.get("page") or 1), _LAST))
    except ValueError:
        return 1


@dataclass(frozen=True, slots=True)
class Pager:
    page: int
    pages_total: int
    previous: str | None
    next: str | None


def pager(path: str, filters: Mapping[str, str], *, page: int, total: int) -> Pager:
    """The pager of a list of `total` items shown `PAGE_SIZE` a page, its links keeping
    the filters that are set."""
    kept = {name: value for name, value in filters.items() if value}
    pages_total = max(1, -(-total // PAGE_SIZE))

    def link(to: int) -> str:
        return f"{path}?{urlencode({**kept, 'page': to})}"

    return Pager(
        page=page,
        pages_total=pages_total,
        previous=link(page - 1) if page > 1 else None,
        next=link(page + 1) if page < pages_total else None,
    )
