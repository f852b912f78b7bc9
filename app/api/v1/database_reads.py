"""The two hottest reads, a database (`GET …/databases/{id}`) and a project's list
(`GET …/databases`), and a raw route that serves them outside FastAPI's request handling.

    app.router.routes.append(FastReads(one=<GET route>, page=<list route>))  # then the router

FastAPI's own work (solving each route's dependencies, its request plumbing, matching a
route of an included router twice) was 29 % of a GET's CPU (issue 19). The FastAPI routes
stay declared as they were, so the OpenAPI document, `url_path_for` and every request this
route does not take are theirs. `FastReads` stands in front of them and takes only a
request whose answer it gives exactly as they would:

- a GET (any other method goes on to FastAPI, and its 405s);
- tenant path segments that pass the routes' own `DNS_LABEL` pattern (FastAPI would answer
  a 422 for another, after the gate);
- for the list, a query of `page` and `page_size` at most, each once, a plain number in
  range (filters, sorting, or a value FastAPI would refuse or read differently go on).

What it takes runs the same code, not a copy: the tenant gate's own object
(`auth.tenant_gate`: key check, rate-limit token, the path's tenant), then `one` and `page`
below, which the FastAPI endpoints call too. Their exceptions reach the app's exception
handlers as any route's do, and `scope["route"]` is the FastAPI route, so the metrics, the
access log and the audit log name the same template. tests/integration/test_fast_reads.py
compares the answers byte for byte, errors included.

A route of its own rather than Starlette's `Route` with a raw endpoint: a `Route` would match
every request on its path, where this one declines (matches nothing) what it would not
answer as FastAPI does, so that request reaches the FastAPI route as before.

Must not: answer a request the FastAPI route would answer differently; decide access itself.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.datastructures import URLPath
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from app.api import auth, deps, wiring
from app.api.v1 import database_models as models
from app.api.v1 import database_pages, filters
from app.api.v1.database_routing import DNS_LABEL, authorized_database
from app.domain import access

_PREFIX = "/api/v1/domain/"
_PATH = re.compile(r"/api/v1/domain/([^/]+)/project/([^/]+)/databases(?:/([^/]+))?")
# `fullmatch`, as pydantic's pattern matches: Python's `$` would also match before a
# trailing newline, which pydantic refuses.
_LABEL = re.compile(DNS_LABEL)
_NUMBER = re.compile(r"[1-9][0-9]{0,6}")
# The list's paging bounds, `filters.list_query`'s own (their lower bound, 1, is in `_NUMBER`).
_BOUNDS = {"page": filters.MAX_PAGE, "page_size": filters.MAX_PAGE_SIZE}
_QUERY = "kdb.database_reads.query"


async def one(
    services: wiring.Services,
    principal: auth.Principal,
    domain: str,
    project: str,
    database_id: str,
) -> Response:
    """A database's answer, the body written from the record without a model in between."""
    database = await authorized_database(
        services.databases, principal, domain, project, database_id, access.Action.READ
    )
    return Response(models.DatabaseOut.json_of(database), media_type="application/json")


async def page(
    services: wiring.Services,
    principal: auth.Principal,
    domain: str,
    project: str,
    query: filters.ListQuery,
) -> Response:
    """A project's page of databases: one store read, written without a model per item."""
    auth.authorize(
        principal,
        domain=domain,
        project=project,
        action=access.Action.READ,
        missing=f"project {domain}/{project} not found",
    )
    # The stored documents as text, written by `database_pages` without a record per row.
    found = await services.database_lists.page_texts(
        query.where(domain=domain, project=project),
        offset=query.offset,
        limit=query.page_size,
        order=query.order,
    )
    body = database_pages.list_json(
        found.items, total=found.total, page=query.page, page_size=query.page_size
    )
    return Response(body, media_type="application/json")


def _paging(query_string: bytes) -> dict[str, int] | None:
    """The list's query as `filters.list_query`'s arguments when it is only paging that
    FastAPI would read the same (plain numbers in range, each once), else None."""
    given: dict[str, int] = {}
    if not query_string:
        return given
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name not in _BOUNDS or name in given or not _NUMBER.fullmatch(value):
            return None
        given[name] = int(value)
        if given[name] > _BOUNDS[name]:
            return None
    return given


class FastReads(BaseRoute):
    """`one` and `page` for the requests they answer exactly as the FastAPI routes `one`
    and `page` (the module's docstring); no match for any other."""

    def __init__(self, *, one: APIRoute, page: APIRoute) -> None:
        self.one, self.page = one, page

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # Under a `root_path` the FastAPI routes work out the path (Starlette's private
        # `get_route_path`): this route does not take it.
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            return Match.NONE, {}
        path: str = scope["path"]
        if not path.startswith(_PREFIX):
            return Match.NONE, {}
        found = _PATH.fullmatch(path)
        if found is None:
            return Match.NONE, {}
        domain, project, database_id = found.groups()
        if not (_LABEL.fullmatch(domain) and _LABEL.fullmatch(project)):
            return Match.NONE, {}
        params: dict[str, Any] = {"domain": domain, "project": project}
        if database_id is not None:
            params["database_id"] = database_id
            return Match.FULL, {
                "endpoint": self.one.endpoint,
                "path_params": params,
                "route": self.one,
            }
        query = _paging(scope.get("query_string", b""))
        if query is None:
            return Match.NONE, {}
        child = {"endpoint": self.page.endpoint, "path_params": params, "route": self.page}
        return Match.FULL, {**child, _QUERY: query}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        principal = await auth.tenant_gate(request)
        services = deps.services_of(request)
        params = scope["path_params"]
        domain, project = params["domain"], params["project"]
        if "database_id" in params:
            response = await one(services, principal, domain, project, params["database_id"])
        else:
            query = await filters.list_query(**scope[_QUERY])
            response = await page(services, principal, domain, project, query)
        await response(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)  # the FastAPI routes have the names
