"""`RouteGroup`: routes under a prefix, tried only for a path under it, kept as written."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Match, NoMatchFound, Route

from app.api.route_groups import RouteGroup


class Counting(Route):
    """A route that counts how often it is asked whether it matches."""

    asked = 0

    def matches(self, scope: Any) -> tuple[Match, Any]:
        Counting.asked += 1
        return super().matches(scope)


def page(request: Any) -> PlainTextResponse:
    return PlainTextResponse("ok")


def scope(path: str, method: str = "GET") -> dict[str, Any]:
    return {"type": "http", "path": path, "method": method, "root_path": ""}


def test_a_path_outside_the_prefix_is_refused_without_asking_its_routes() -> None:
    Counting.asked = 0
    group = RouteGroup("/console", [Counting("/console/{rest:path}", page)])

    assert group.matches(scope("/api/v1/databases"))[0] is Match.NONE
    assert group.matches(scope("/consoles/x"))[0] is Match.NONE
    assert Counting.asked == 0
    assert group.matches(scope("/console/x"))[0] is Match.FULL
    assert Counting.asked == 1


def test_the_first_full_match_wins_and_a_method_mismatch_is_partial() -> None:
    form = Route("/console/form", page, methods=["POST"], name="form")
    anything = Route("/console/{rest:path}", page, methods=["GET"], name="anything")
    group = RouteGroup("/console", [form, anything])

    full, _ = group.matches(scope("/console/form", "POST"))
    partial, _ = group.matches(scope("/console/form", "DELETE"))
    fallback, found = group.matches(scope("/console/other"))

    assert (full, partial, fallback) == (Match.FULL, Match.PARTIAL, Match.FULL)
    assert found["path_params"] == {"rest": "other"}
    assert str(group.url_path_for("form")) == "/console/form"
    with pytest.raises(NoMatchFound):
        group.url_path_for("nowhere")


def test_a_prefix_must_be_a_path_without_a_trailing_slash() -> None:
    with pytest.raises(ValueError, match="prefix"):
        RouteGroup("/console/", [])
