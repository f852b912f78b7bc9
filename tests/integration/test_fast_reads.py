"""The raw route for the two hot reads (`app.api.v1.database_reads.FastReads`) answers byte
for byte what the FastAPI routes behind it answer: status, body and every header, for a
success and for each refusal a read can get (401, 404, 422, 429), and it leaves the OpenAPI
document, the metrics and the gate's rules as they were.

Each request is sent twice to one app (real lifespan: SQLite store, embedded Redis): once as
served, once with the raw route taken out of the app's routes, so that the FastAPI route
answers it. A spy counts what the raw route served, so a case cannot pass by both answers
coming from FastAPI.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from app.api.v1 import database_reads
from app.config.settings import Settings
from app.domain.api_keys import Role, new_token
from app.domain.databases import Database
from app.main import Runtime, create_app
from app.services.api_keys import issue_key

ADMIN = new_token()
BASE = "/api/v1/domain/acme/project/web/databases"
BURST = 4  # each key's requests before its 429 (no refill to speak of: one a minute)
RETRY_AFTER = re.compile(rb"(retry in |\"retry_after\":|retry-after', b')\d+")


@dataclass
class Served:
    app: FastAPI
    client: httpx.AsyncClient
    runtime: Runtime
    fast: Spy
    ids: dict[str, str]  # database name -> id: alpha and beta in acme/web, gamma in acme/shop


class Spy:
    """Counts the requests the raw route handled."""

    def __init__(self, route: database_reads.FastReads) -> None:
        self.route = route
        self.served = 0
        handle = route.handle

        async def counted(scope: Any, receive: Any, send: Any) -> None:
            self.served += 1
            await handle(scope, receive, send)

        route.handle = counted  # type: ignore[method-assign]


@pytest.fixture
async def served(settings: Settings, embedded_redis_url: str) -> AsyncIterator[Served]:
    app = create_app(
        settings.model_copy(
            update={
                "redis_url": f"{embedded_redis_url}?db=12",
                "admin_api_key": SecretStr(ADMIN.text),
                "rate_limit_per_minute": 1,
                "rate_limit_burst": BURST,
                "anonymous_rate_limit_burst": 10_000,
            }
        )
    )
    route = next(r for r in app.router.routes if isinstance(r, database_reads.FastReads))
    spy = Spy(route)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        async for bucket in runtime.redis.scan_iter(f"{settings.redis_key_prefix}:ratelimit:*"):
            await runtime.redis.delete(bucket)
        ids = {}
        for name, project in (("alpha", "web"), ("beta", "web"), ("gamma", "shop")):
            made = await runtime.store.databases.insert(
                Database(name=name, domain="acme", project=project, engine="postgres", version="16")
            )
            ids[name] = made.id
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Served(app, client, runtime, spy, ids)


@contextmanager
def without_fast_reads(app: FastAPI) -> Iterator[None]:
    routes = app.router.routes
    at = next(i for i, r in enumerate(routes) if isinstance(r, database_reads.FastReads))
    route = routes.pop(at)
    try:
        yield
    finally:
        routes.insert(at, route)


def answer(response: httpx.Response) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    return response.status_code, response.content, list(response.headers.raw)


async def both(served: Served, path: str, headers: dict[str, str] | None = None) -> tuple[Any, Any]:
    """The answer as served, and the FastAPI route's answer to the same request."""
    sent = {"X-Request-ID": "req-fast-reads", **(headers or {})}
    fast = await served.client.get(path, headers=sent)
    with without_fast_reads(served.app):
        slow = await served.client.get(path, headers=sent)
    return answer(fast), answer(slow)


async def token(served: Served, role: Role = Role.VIEWER, **scope: str) -> str:
    issued = await issue_key(served.runtime.store, name="k", role=role, **scope)
    return issued.token


def bearer(text: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {text}"}


async def test_a_database_and_a_page_are_answered_as_the_fastapi_routes_answer_them(
    served: Served,
) -> None:
    alpha = served.ids["alpha"]
    for path in (
        f"{BASE}/{alpha}",
        f"{BASE}/{alpha}?ignored=1",
        BASE,
        f"{BASE}?page_size=1",
        f"{BASE}?page=2&page_size=1",
        f"{BASE}?page_size=100&page=1",
    ):
        before = served.fast.served
        fast, slow = await both(served, path, bearer(await token(served, domain="acme")))

        assert fast == slow, path
        assert fast[0] == 200, path
        assert served.fast.served == before + 1, f"{path} was not served by the raw route"


async def test_every_refusal_of_a_read_is_the_fastapi_routes_own(served: Served) -> None:
    alpha, gamma = served.ids["alpha"], served.ids["gamma"]
    revoked = await issue_key(served.runtime.store, name="r", role=Role.VIEWER, domain="acme")
    await served.runtime.store.api_keys.revoke(revoked.key.id, at=revoked.key.created_at)
    admin = await token(served, Role.ADMIN)
    cases: dict[str, tuple[str, dict[str, str], int]] = {
        "no key": (f"{BASE}/{alpha}", {}, 401),
        "not bearer": (f"{BASE}/{alpha}", {"Authorization": "Basic eA=="}, 401),
        "malformed key": (BASE, bearer("kdb_nonsense"), 401),
        "unknown key": (BASE, bearer(new_token().text), 401),
        "revoked key": (f"{BASE}/{alpha}", bearer(revoked.token), 401),
        "missing database": (f"{BASE}/db_nothere", bearer(admin), 404),
        "another project's database": (f"{BASE}/{gamma}", bearer(admin), 404),
    }
    other_domain = await token(served, domain="globex")
    other_project = await token(served, domain="acme", project="shop")
    cases |= {
        "another domain's database": (f"{BASE}/{alpha}", bearer(other_domain), 404),
        "another domain's list": (BASE, bearer(other_domain), 404),
        "another project's list": (BASE, bearer(other_project), 404),
    }
    for case, (path, headers, status) in cases.items():
        before = served.fast.served
        fast, slow = await both(served, path, headers)

        assert fast == slow, case
        assert fast[0] == status, (case, fast)
        assert served.fast.served == before + 1, f"{case}: not served by the raw route"


async def test_what_the_raw_route_does_not_take_goes_to_the_fastapi_route_unchanged(
    served: Served,
) -> None:
    alpha = served.ids["alpha"]
    cases = {
        "a domain FastAPI refuses": (f"/api/v1/domain/ACME/project/web/databases/{alpha}", 422),
        "a project FastAPI refuses": ("/api/v1/domain/acme/project/w_b/databases", 422),
        "a page size over the bound": (f"{BASE}?page_size=101", 422),
        "a page over the bound": (f"{BASE}?page=1000001", 422),
        "a page of zero": (f"{BASE}?page=0", 422),
        "a page in another spelling": (f"{BASE}?page=01", 200),
        "a filter": (f"{BASE}?engine=postgres", 200),
        "a bad filter": (f"{BASE}?sort=nonsense", 422),
        "a parameter twice": (f"{BASE}?page_size=1&page_size=2", 200),
        "an unknown parameter": (f"{BASE}?colour=red", 200),
        "a trailing slash": (f"{BASE}/", 200),
    }
    for case, (path, status) in cases.items():
        before = served.fast.served
        # An admin key: the gate lets it through to FastAPI's validation of any tenant.
        fast, slow = await both(served, path, bearer(await token(served, Role.ADMIN)))

        assert fast == slow, case
        assert fast[0] == status, (case, fast)
        assert served.fast.served == before, f"{case}: taken by the raw route"
    unauthenticated, _ = await both(served, f"{BASE}?page_size=0")
    assert unauthenticated[0] == 401  # the gate before validation, as FastAPI orders it


def without_retry_after(given: tuple[int, bytes, list[tuple[bytes, bytes]]]) -> bytes:
    # The seconds to the next token: the two answers may fall on either side of a second.
    return RETRY_AFTER.sub(rb"\1N", repr(given).encode())


async def test_a_key_over_its_rate_limit_is_refused_alike_and_takes_one_token_a_request(
    served: Served,
) -> None:
    alpha = served.ids["alpha"]
    key = bearer(await token(served, domain="acme"))
    for _ in range(BURST):  # the burst, through the raw route: one token each
        assert (await served.client.get(f"{BASE}/{alpha}", headers=key)).status_code == 200

    fast, slow = await both(served, f"{BASE}/{alpha}", key)

    assert fast[0] == slow[0] == 429
    assert without_retry_after(fast) == without_retry_after(slow)
    assert b"retry-after" in {name for name, _ in fast[2]}


async def test_the_hot_reads_keep_their_place_in_the_openapi_document(served: Served) -> None:
    document = (await served.client.get("/openapi.json")).json()
    with without_fast_reads(served.app):
        served.app.openapi_schema = None
        declared = (await served.client.get("/openapi.json")).json()

    assert document == declared
    one = document["paths"]["/api/v1/domain/{domain}/project/{project}/databases/{database_id}"]
    listed = document["paths"]["/api/v1/domain/{domain}/project/{project}/databases"]
    assert one["get"]["operationId"] and listed["get"]["operationId"]
    assert {"401", "404", "422", "429"} <= set(one["get"]["responses"])
    assert listed["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DatabaseList"
    }


async def test_a_read_the_raw_route_served_is_counted_under_its_route_template(
    served: Served,
) -> None:
    alpha = served.ids["alpha"]
    before = served.fast.served
    await served.client.get(f"{BASE}/{alpha}", headers=bearer(await token(served, domain="acme")))
    metrics = (await served.client.get("/metrics")).text

    assert served.fast.served == before + 1
    template = "/api/v1/domain/{domain}/project/{project}/databases/{database_id}"
    labels = f'method="GET",route="{template}",status="200"'
    counted = re.search(rf"_http_requests_total\{{{re.escape(labels)}\}} (\S+)", metrics)
    assert counted is not None and float(counted[1]) == 1
