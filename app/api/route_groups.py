"""Routes under one path prefix, tried only for a path under it.

    app.router.routes.insert(0, RouteGroup("/console", router.routes))

Starlette matches a request against the app's routes one after another, so every route in
front of a path costs it a regular-expression test. A group answers "no" to any path
outside its prefix with one string comparison, so the console's dozens of routes cost an
API request nothing, wherever the group stands (issue 19: with the console's routers first
a GET of a database lost 15 %; with them last a console page paid for the API's routes).

Starlette's `Mount` would do the first half, but it strips the prefix: routes inside it
are written relative to it and see a changed path. A group keeps its routes exactly as
they are (full paths, their own names for `url_path_for`), and only decides which of them
to try.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

_CHOSEN = "kdb.route_group.chosen"


class RouteGroup(BaseRoute):
    def __init__(self, prefix: str, routes: Sequence[BaseRoute]) -> None:
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError(f"a group's prefix starts with / and does not end with one: {prefix}")
        self.prefix = prefix
        self.routes = list(routes)

    def _under(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket") or not self._under(scope["path"]):
            return Match.NONE, {}
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return Match.FULL, {**child, _CHOSEN: route}
            if match is Match.PARTIAL and partial is None:
                partial = (route, child)
        if partial is not None:
            return Match.PARTIAL, {**partial[1], _CHOSEN: partial[0]}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope[_CHOSEN]
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)
