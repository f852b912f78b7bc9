"""Query filters shared by the database lists (a project's and the cross-project one):
parsed strictly at the edge, so that what reaches the store is a value it can run (a
malformed label selector was a 500, a NUL in one a 503 naming the store).

    query: filters.ListQueryParam        # engine, status, name, label, sort, page, page_size
    where = query.where(domain=d, project=p)   # and query.order, query.offset
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from app.api.errors import ValidationFailed
from app.domain import engines, validation
from app.domain import errors as domain_errors
from app.domain.databases import DatabaseStatus
from app.store.protocols import NEWEST_FIRST, DatabaseFilter, DatabaseOrder, DatabaseSortKey

# `prefix/name=value`: a 253-character prefix, a 63-character name and value.
LABEL_SELECTOR_MAX = 253 + 1 + 63 + 1 + 63
LABEL_SELECTOR_HELP = "key=value, by Kubernetes' label rules, as in team=web"
SORT_KEYS = ", ".join(k.value for k in DatabaseSortKey)
SORT_HELP = (
    f"one of {SORT_KEYS}; a leading '-' for descending (default -created_at, newest first); "
    "equal keys are ordered by id"
)


def label_selector(value: str | None) -> tuple[str, str] | None:
    """The `label` query parameter as (key, value), or a 422 naming `query.label`."""
    if value is None:
        return None
    try:
        return validation.check_label_selector(value, field="query.label")
    except domain_errors.InvalidValue as exc:
        raise ValidationFailed({"query.label": exc.message}) from exc


def sort_order(value: str | None) -> DatabaseOrder:
    """The `sort` query parameter as an order, or a 422 naming `query.sort`."""
    if not value:
        return NEWEST_FIRST
    try:
        return DatabaseOrder.parse(value)
    except ValueError:
        raise ValidationFailed({"query.sort": f"{value!r} is not a sort: {SORT_HELP}"}) from None


# The list's paging bounds (their lower bound is 1): the query's declaration below and the
# raw route in front of it (`database_reads`) both read them.
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class ListQuery:
    """A database list's filters, order and page, as the query string gave them."""

    engine: engines.Engine | None
    status: DatabaseStatus | None
    name: str | None
    label: tuple[str, str] | None
    order: DatabaseOrder
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def where(self, *, domain: str | None, project: str | None) -> DatabaseFilter:
        return DatabaseFilter(
            domain=domain,
            project=project,
            engine=self.engine.value if self.engine else None,
            status=self.status.value if self.status else None,
            name_prefix=self.name,
            label=self.label,
        )


async def list_query(
    engine: engines.Engine | None = None,
    status: DatabaseStatus | None = None,
    name: Annotated[str | None, Query(max_length=63, pattern=r"^[a-z0-9-]+$")] = None,
    label: Annotated[
        str | None, Query(max_length=LABEL_SELECTOR_MAX, description=LABEL_SELECTOR_HELP)
    ] = None,
    sort: Annotated[str | None, Query(max_length=32, description=SORT_HELP)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> ListQuery:
    return ListQuery(
        engine=engine,
        status=status,
        name=name,
        label=label_selector(label),
        order=sort_order(sort),
        page=page,
        page_size=page_size,
    )


ListQueryParam = Annotated[ListQuery, Depends(list_query)]
