"""What the console's lists share: a page number read leniently, and the links of a list's
sortable headers and pager, which keep its filters.

    view = ListView(filters={"engine": "redis"}, sort="name", page=2, pages=5)
    view.href(page=3)          ?engine=redis&sort=name&page=3  (URL-encoded, empty left out)
    view.sort_href("status")   ?engine=redis&sort=status       (back to page 1)
    view.aria_sort("name")     "ascending"

Links are built with `urlencode`, never by pasting raw values into a string. The values
are checked by the page (`choice` for an enum's values) before they reach a link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlencode

from app.api import errors


def choice(value: str | None, kind: type[StrEnum], field: str) -> str:
    """A filter that is one of an enum's values ("" for none), or a 422 naming
    `query.<field>` (a page saying which values there are)."""
    if not value:
        return ""
    try:
        return kind(value).value
    except ValueError:
        raise errors.ValidationFailed(
            {f"query.{field}": f"{value!r} is not one of {', '.join(k.value for k in kind)}"}
        ) from None


def page_number(text: str | None) -> int:
    """The `page` query parameter: a bad or missing one is the first page."""
    try:
        return max(1, min(int(text or 1), 1_000_000))
    except ValueError:
        return 1


def pages_for(total: int, size: int) -> int:
    return max(1, -(-total // size))


@dataclass(frozen=True)
class ListView:
    """A list's current query: its filters (name → value, "" for none), its sort (`key` or
    `-key`; "" for the list's default) and its page out of `pages`."""

    filters: Mapping[str, str] = field(default_factory=dict)
    sort: str = ""
    page: int = 1
    pages: int = 1
    # The sort each column starts with when first clicked (a time: newest first).
    descending_first: frozenset[str] = frozenset({"created_at"})
    default_sort: str = "-created_at"

    def href(self, **changes: str | int) -> str:
        values: dict[str, str | int] = {**self.filters, "sort": self.sort, "page": self.page}
        values.update(changes)
        if values.get("page") == 1:
            values.pop("page")
        if values.get("sort") == self.default_sort:
            values.pop("sort")
        kept = {name: value for name, value in values.items() if value not in ("", None)}
        return "?" + urlencode(kept) if kept else "?"

    def current(self) -> str:
        return self.sort or self.default_sort

    def sort_href(self, key: str) -> str:
        """The header's link: the other direction when it is the sorted column, else its
        first direction; back to the first page either way."""
        now = self.current()
        if now.removeprefix("-") == key:
            wanted = key if now.startswith("-") else f"-{key}"
        else:
            wanted = f"-{key}" if key in self.descending_first else key
        return self.href(sort=wanted, page=1)

    def aria_sort(self, key: str) -> str | None:
        now = self.current()
        if now.removeprefix("-") != key:
            return None
        return "descending" if now.startswith("-") else "ascending"
