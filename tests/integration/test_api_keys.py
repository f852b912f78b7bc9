"""API keys over HTTP, in-process: who gets 401, 403 or 404, and the key routes themselves.

The app runs with its real lifespan (SQLite store, embedded Redis); a probe router stands in
for tenant routes and uses the authorization helpers the way every router does.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
import structlog
from fastapi import APIRouter, Depends, FastAPI
from pydantic import SecretStr

from app.api import auth
from app.config.settings import LogFormat, LogLevel, Settings
from app.domain.access import Action
from app.domain.api_keys import new_token, parse_token
from app.main import Runtime, create_app
from app.observability.log import configure_logging

ADMIN = new_token()
Caller = Annotated[auth.Principal, Depends(auth.authenticate)]

# A stand-in for tenant routes (databases, operations): the helpers as every router uses them.
probe = APIRouter()


@probe.get("/probe/domain/{domain}/project/{project}/{action}")
async def probe_tenant(domain: str, project: str, action: Action, principal: Caller) -> Any:
    auth.authorize(
        principal, domain=domain, project=project, action=action, missing="database db-x not found"
    )
    return {"allowed": True}


@probe.get("/probe/domain/{domain}/{action}")
async def probe_domain(domain: str, action: Action, principal: Caller) -> Any:
    auth.authorize(principal, domain=domain, project=None, action=action)
    return {"allowed": True}


@probe.get("/probe/platform")
async def probe_platform(principal: Caller) -> Any:
    auth.require_admin(principal)
    return {"allowed": True}


@pytest.fixture
def app_settings(settings: Settings, embedded_redis_url: str) -> Settings:
    # The embedded Redis only: these tests do not touch queues, and the shared local Redis
    # database belongs to other suites.
    return settings.model_copy(
        update={"redis_url": embedded_redis_url, "admin_api_key": SecretStr(ADMIN.text)}
    )


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)  # includes the key routes
    app.include_router(probe)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


@pytest.fixture
async def client(app_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app_settings) as (_app, http):
        yield http


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level=LogLevel.DEBUG, fmt=LogFormat.CONSOLE, stream=stream)
    yield stream
    structlog.contextvars.clear_contextvars()
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create(client: httpx.AsyncClient, token: str = ADMIN.text, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/api-keys", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


async def test_requests_without_a_good_key_get_401_with_a_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    revoked = await create(client, name="old", role="viewer", domain="acme")
    await client.delete(f"/api/v1/api-keys/{revoked['id']}", headers=bearer(ADMIN.text))
    wrong_secret = f"kdb_{ADMIN.key_id.removeprefix('key-')}_{new_token().secret}"
    attempts = {
        "missing": {},
        "basic": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "empty bearer": {"Authorization": "Bearer "},
        "malformed": bearer("not-a-key"),
        "unknown": bearer(new_token().text),
        "wrong secret": bearer(wrong_secret),
        "revoked": bearer(revoked["secret"]),
    }

    answers = {
        name: await client.get("/api/v1/api-keys", headers=headers)
        for name, headers in attempts.items()
    }

    for name, response in answers.items():
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer", name
    assert "revoked" in answers["revoked"].json()["error"]["message"]
    assert "revoked" not in answers["wrong secret"].json()["error"]["message"]
    assert (await client.get("/api/v1/api-keys", headers=bearer(ADMIN.text))).status_code == 200


async def test_a_created_key_shows_its_secret_once_and_the_secret_works(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/api-keys",
        json={"name": "ci", "role": "owner", "domain": "acme"},
        headers=bearer(ADMIN.text),
    )
    created = response.json()
    secret = created["secret"]
    fetched = await client.get(f"/api/v1/api-keys/{created['id']}", headers=bearer(ADMIN.text))
    listed = await client.get("/api/v1/api-keys", headers=bearer(ADMIN.text))
    as_itself = await client.get(f"/api/v1/api-keys/{created['id']}", headers=bearer(secret))

    assert response.status_code == 201
    assert response.headers["location"] == f"/api/v1/api-keys/{created['id']}"
    assert response.headers["cache-control"] == "no-store"
    assert created["id"].startswith("key-") and secret.startswith(created["key_prefix"])
    assert parse_token(secret) is not None
    assert {k: created[k] for k in ("name", "role", "domain", "project", "status")} == {
        "name": "ci",
        "role": "owner",
        "domain": "acme",
        "project": None,
        "status": "active",
    }
    assert created["created_by"] == ADMIN.key_id and created["created_at"].endswith("Z")
    assert fetched.status_code == 200 and as_itself.status_code == 200
    assert fetched.json() == {k: v for k, v in created.items() if k != "secret"}
    assert as_itself.json()["last_used_at"] is not None
    for body in (fetched.text, listed.text, as_itself.text):
        assert secret not in body and parse_token(secret).secret not in body  # type: ignore[union-attr]
        assert "key_hash" not in body and "salt" not in body and '"secret"' not in body


async def test_the_key_list_pages_newest_first_and_takes_a_trailing_slash_without_redirect(
    client: httpx.AsyncClient,
) -> None:
    for i in range(3):
        await create(client, name=f"k{i}", role="viewer", domain="acme")

    first = await client.get("/api/v1/api-keys?page_size=2", headers=bearer(ADMIN.text))
    second = await client.get("/api/v1/api-keys/?page=2&page_size=2", headers=bearer(ADMIN.text))
    created = await client.post(
        "/api/v1/api-keys/",
        json={"name": "slash", "role": "viewer", "domain": "acme"},
        headers=bearer(ADMIN.text),
    )

    assert first.status_code == 200 and second.status_code == 200
    assert [k["name"] for k in first.json()["api_keys"]] == ["k2", "k1"]
    assert {k: first.json()[k] for k in ("total", "page", "page_size")} == {
        "total": 4,
        "page": 1,
        "page_size": 2,
    }
    assert [k["name"] for k in second.json()["api_keys"]] == ["k0", "bootstrap-admin"]
    assert created.status_code == 201


async def test_revoking_is_idempotent_and_keeps_the_first_time(
    client: httpx.AsyncClient,
) -> None:
    key = await create(client, name="ci", role="member", domain="acme", project="shop")
    path = f"/api/v1/api-keys/{key['id']}"

    first = await client.delete(path, headers=bearer(ADMIN.text))
    second = await client.delete(path, headers=bearer(ADMIN.text))
    used = await client.get(path, headers=bearer(key["secret"]))
    missing = await client.delete("/api/v1/api-keys/key-nothere", headers=bearer(ADMIN.text))

    assert first.status_code == 200 and first.json()["status"] == "revoked"
    assert second.status_code == 200 and second.json()["revoked_at"] == first.json()["revoked_at"]
    assert_error(used, 401, "unauthorized")
    assert_error(missing, 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "role": "root", "domain": "acme"}, "body.role"),
        ({"name": "x", "role": "owner", "domain": "Acme"}, "body.domain"),
        ({"name": "x", "role": "owner", "domain": "acme", "project": "-shop"}, "body.project"),
        ({"name": "x", "role": "owner", "domain": "a" * 64}, "body.domain"),
        ({"name": "x", "role": "viewer", "project": "shop"}, "body.domain"),
        ({"name": "x", "role": "viewer"}, "body.domain"),
        ({"name": "x", "role": "admin", "domain": "acme"}, "body.domain"),
        ({"name": "x", "role": "admin", "project": "shop"}, "body.project"),
        ({"name": " ", "role": "viewer", "domain": "acme"}, "body.name"),
        ({"role": "viewer", "domain": "acme"}, "body.name"),
        ({"name": "x", "role": "viewer", "domain": "acme", "secret": "mine"}, "body.secret"),
    ],
)
async def test_bad_key_requests_are_422_with_the_field_at_fault(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/api-keys", json=body, headers=bearer(ADMIN.text))

    error = assert_error(response, 422, "validation_error")
    assert field in error["details"]["fields"], error


@pytest.mark.parametrize(
    "query", ["page=0", "page_size=0", "page_size=101", "page=x", "page=100000000000000000000"]
)
async def test_a_bad_page_is_422(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"/api/v1/api-keys?{query}", headers=bearer(ADMIN.text))

    assert_error(response, 422, "validation_error")


async def test_owners_manage_keys_inside_their_scope_and_see_nothing_outside_it(
    client: httpx.AsyncClient,
) -> None:
    owner = await create(client, name="acme-owner", role="owner", domain="acme")
    other = await create(client, name="globex", role="viewer", domain="globex")
    shop_owner = await create(
        client, owner["secret"], name="shop-owner", role="owner", domain="acme", project="shop"
    )
    member = await create(client, owner["secret"], name="dev", role="member", domain="acme")
    as_owner, as_shop, as_member = (
        bearer(owner["secret"]),
        bearer(shop_owner["secret"]),
        bearer(member["secret"]),
    )

    def post(headers: dict[str, str], **body: Any) -> Any:
        return client.post("/api/v1/api-keys", json={"name": "n", **body}, headers=headers)

    listed = await client.get("/api/v1/api-keys", headers=as_owner)
    shop_listed = await client.get("/api/v1/api-keys", headers=as_shop)
    other_key = await client.get(f"/api/v1/api-keys/{other['id']}", headers=as_owner)
    admin_key = await client.get(f"/api/v1/api-keys/{ADMIN.key_id}", headers=as_owner)
    wider_key = await client.get(f"/api/v1/api-keys/{owner['id']}", headers=as_shop)
    revoke_other = await client.delete(f"/api/v1/api-keys/{other['id']}", headers=as_owner)
    member_reads = await client.get(f"/api/v1/api-keys/{owner['id']}", headers=as_member)
    member_reads_other = await client.get(f"/api/v1/api-keys/{other['id']}", headers=as_member)
    member_lists = await client.get("/api/v1/api-keys", headers=as_member)
    member_creates = await post(as_member, role="viewer", domain="acme")
    member_reads_itself = await client.get(f"/api/v1/api-keys/{member['id']}", headers=as_member)
    elsewhere = await post(as_owner, role="viewer", domain="globex")
    admin_made = await post(as_owner, role="admin")
    wider_made = await post(as_shop, role="viewer", domain="acme")
    sibling_made = await post(as_shop, role="viewer", domain="acme", project="billing")
    revoke_member = await client.delete(f"/api/v1/api-keys/{member['id']}", headers=as_owner)

    assert {k["name"] for k in listed.json()["api_keys"]} == {"acme-owner", "shop-owner", "dev"}
    assert [k["name"] for k in shop_listed.json()["api_keys"]] == ["shop-owner"]
    for response in (other_key, admin_key, wider_key, revoke_other, member_reads_other):
        error = assert_error(response, 404, "not_found")
        assert error["message"].startswith("API key key-")
    for response in (
        member_reads,
        member_lists,
        member_creates,
        elsewhere,
        admin_made,
        wider_made,
        sibling_made,
    ):
        assert_error(response, 403, "forbidden")
    assert member_reads_itself.status_code == 200
    assert revoke_member.status_code == 200 and revoke_member.json()["status"] == "revoked"
    assert (await client.get(f"/api/v1/api-keys/{other['id']}", headers=bearer(ADMIN.text))).json()[
        "status"
    ] == "active"


async def test_a_key_outside_a_tenant_gets_404_and_a_weak_role_inside_it_gets_403(
    client: httpx.AsyncClient,
) -> None:
    viewer = bearer((await create(client, name="v", role="viewer", domain="acme"))["secret"])
    shop = bearer(
        (await create(client, name="m", role="member", domain="acme", project="shop"))["secret"]
    )

    async def status(path: str, headers: dict[str, str]) -> int:
        return (await client.get(path, headers=headers)).status_code

    assert await status("/probe/domain/acme/project/shop/read", viewer) == 200
    assert await status("/probe/domain/acme/project/shop/write", viewer) == 403
    assert await status("/probe/domain/acme/project/shop/credentials", viewer) == 403
    assert await status("/probe/domain/acme/project/shop/credentials", shop) == 200
    assert await status("/probe/domain/acme/project/shop/admin", shop) == 403
    assert await status("/probe/domain/acme/project/billing/read", shop) == 404
    assert await status("/probe/domain/globex/project/shop/read", viewer) == 404
    assert await status("/probe/domain/acme/read", shop) == 403
    assert await status("/probe/domain/globex/read", shop) == 404
    assert await status("/probe/platform", shop) == 403
    assert await status("/probe/platform", bearer(ADMIN.text)) == 200
    assert await status("/probe/domain/globex/project/x/admin", bearer(ADMIN.text)) == 200
    hidden = await client.get("/probe/domain/globex/project/shop/write", headers=viewer)
    forbidden = await client.get("/probe/domain/acme/project/shop/write", headers=viewer)
    assert hidden.json() == {
        "error": {"code": "not_found", "message": "database db-x not found", "details": {}}
    }
    assert "viewer" in forbidden.json()["error"]["message"]


async def test_no_secret_reaches_the_log(app_settings: Settings, logs: io.StringIO) -> None:
    async with serving(app_settings) as (_app, client):
        created = await create(client, name="ci", role="owner", domain="acme")
        await client.get("/api/v1/api-keys", headers=bearer(created["secret"]))
        wrong = f"kdb_{created['id'].removeprefix('key-')}_{new_token().secret}"
        await client.get("/api/v1/api-keys", headers=bearer(wrong))
        await client.delete(f"/api/v1/api-keys/{created['id']}", headers=bearer(ADMIN.text))

    text = logs.getvalue()
    assert "api_key_created" in text and "api_key_rejected" in text and "api_key_revoked" in text
    for token in (created["secret"], wrong, ADMIN.text):
        secret = parse_token(token)
        assert secret is not None and secret.secret not in text


async def test_admin_api_key_is_installed_once_across_restarts_and_no_file_is_written(
    app_settings: Settings,
) -> None:
    for _ in range(2):
        async with serving(app_settings) as (app, client):
            runtime: Runtime = app.state.runtime
            response = await client.get(
                f"/api/v1/api-keys/{ADMIN.key_id}", headers=bearer(ADMIN.text)
            )
            count = await runtime.store.api_keys.count()

            assert response.status_code == 200 and response.json()["role"] == "admin"
            assert count == 1
    assert not (app_settings.data_dir / "admin-api-key").exists()


async def test_every_answer_of_the_key_routes_is_in_the_openapi_document(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    statuses = {
        (path, method): set(operation["responses"])
        for path, item in paths.items()
        if path.startswith("/api/v1/api-keys")
        for method, operation in item.items()
    }

    # 400: a body or request the server cannot parse, 429: the key's rate limit; both
    # declared router-wide.
    assert statuses == {
        ("/api/v1/api-keys", "post"): {"201", "400", "401", "403", "422", "429"},
        ("/api/v1/api-keys", "get"): {"200", "400", "401", "403", "422", "429"},
        ("/api/v1/api-keys/{key_id}", "get"): {"200", "400", "401", "403", "404", "422", "429"},
        ("/api/v1/api-keys/{key_id}", "delete"): {"200", "400", "401", "403", "404", "422", "429"},
    }
    assert "secret" not in document["components"]["schemas"]["ApiKeyOut"]["properties"]
    assert "secret" in document["components"]["schemas"]["IssuedApiKeyOut"]["properties"]
