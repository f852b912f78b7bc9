"""The console's sessions over plain HTTP: the cookie's flags, CSRF refusal, revocation and
sign-out, and errors shown as pages (never JSON)."""

from __future__ import annotations

import hashlib
from http.cookies import Morsel, SimpleCookie

import httpx

from app.console import STATIC
from tests.console.flows import anonymous, csrf_of, issue_key, next_of, sign_in
from tests.e2e.platform import ADMIN, Platform

# htmx 2.0.10's dist/htmx.min.js (github.com/bigskysoftware/htmx, tag v2.0.10).
HTMX_SHA256 = "71ea67185bfa8c98c39d31717c6fce5d852370fcdfd129db4543774d3145c0de"
DATABASES = "/console/domain/acme/project/shop/databases"


def session_cookie(answer: httpx.Response) -> Morsel[str]:
    """The session cookie an answer sets (it sets others too)."""
    for header in answer.headers.get_list("set-cookie"):
        if header.startswith("kdb_console="):
            return SimpleCookie(header)["kdb_console"]
    raise AssertionError(f"no session cookie in {answer.headers}")


def test_the_vendored_htmx_is_the_pinned_release() -> None:
    digest = hashlib.sha256((STATIC / "htmx-2.0.10.min.js").read_bytes()).hexdigest()
    assert digest == HTMX_SHA256


async def test_the_console_serves_its_own_script_and_stylesheet(platform: Platform) -> None:
    _, api, _ = platform
    async with anonymous(api) as browser:
        script = await browser.get("/console/static/htmx-2.0.10.min.js")
        assert script.status_code == 200
        assert hashlib.sha256(script.content).hexdigest() == HTMX_SHA256
        style = await browser.get("/console/static/console.css")
        assert style.headers["content-type"].startswith("text/css")


async def test_sign_in_sets_an_httponly_strict_expiring_cookie(platform: Platform) -> None:
    runtime, api, _ = platform
    async with anonymous(api) as browser:
        answer = await sign_in(browser, ADMIN.text)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/databases"
        cookie = session_cookie(answer)
        assert cookie["httponly"] and cookie["samesite"] == "strict"
        assert cookie["path"] == "/console"
        assert int(cookie["max-age"]) == runtime.settings.console_session_ttl
        assert not cookie["secure"]
        assert ADMIN.secret not in str(answer.headers)
        page = await browser.get(DATABASES)
        assert page.status_code == 200
        assert "Databases of acme/shop" in page.text
    async with anonymous(api, "https://test") as browser:
        answer = await sign_in(browser, ADMIN.text)
        assert session_cookie(answer)["secure"]


async def test_a_form_without_its_csrf_token_is_refused_with_a_page(platform: Platform) -> None:
    _, api, _ = platform
    async with anonymous(api) as browser:
        await sign_in(browser, ADMIN.text)
        refused = await browser.post(
            DATABASES, data={"name": "orders", "engine": "postgres", "version": "16.13"}
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert "security token" in refused.text
        wrong = await browser.post("/console/sign-out", data={"csrf": "forged"})
        assert wrong.status_code == 403
        assert (await browser.get(DATABASES)).status_code == 200  # still signed in
        listed = (await api.get("/api/v1/domain/acme/project/shop/databases")).json()
        assert listed["total"] == 0


async def test_revoking_the_key_ends_its_console_sessions(platform: Platform) -> None:
    _, api, _ = platform
    key_id, token = await issue_key(api, role="member")
    async with anonymous(api) as browser:
        assert (await sign_in(browser, token)).status_code == 303
        assert (await browser.get(DATABASES)).status_code == 200
        assert (await api.delete(f"/api/v1/api-keys/{key_id}")).status_code == 200
        ended = await browser.get(DATABASES)
        assert ended.status_code == 303
        assert ended.headers["location"].startswith("/console/sign-in?next=")
        notice = await browser.get(ended.headers["location"])
        assert "no longer valid" in notice.text


async def test_sign_out_ends_the_session_even_for_a_copied_cookie(platform: Platform) -> None:
    _, api, _ = platform
    async with anonymous(api) as browser:
        answer = await sign_in(browser, ADMIN.text)
        session = session_cookie(answer).value
        page = await browser.get(DATABASES)
        out = await browser.post("/console/sign-out", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
    async with anonymous(api) as thief:
        thief.cookies.set("kdb_console", session, path="/console")
        replay = await thief.get(DATABASES)
        assert replay.status_code == 303
        assert replay.headers["location"].startswith("/console/sign-in")


async def test_pages_need_a_session_and_errors_are_pages(platform: Platform) -> None:
    _, api, _ = platform
    async with anonymous(api) as browser:
        assert (await browser.get("/")).headers["location"] == "/console"
        gate = await browser.get(DATABASES)
        assert gate.status_code == 303
        assert gate.headers["location"] == f"/console/sign-in?next={DATABASES}"
        wrong = await sign_in(browser, "kdb_nothing_here")
        assert wrong.status_code == 401
        assert "not valid" in wrong.text or "not an API key" in wrong.text
        await sign_in(browser, ADMIN.text)
        for path, status in [
            ("/console/no-such-page", 404),
            (f"{DATABASES}/db_missing", 404),
            (f"{DATABASES}?engine=cobol", 422),
        ]:
            answer = await browser.get(path)
            assert answer.status_code == status, path
            assert answer.headers["content-type"].startswith("text/html"), path
            assert "content-security-policy" in answer.headers


async def test_another_tenants_project_is_not_found_for_a_project_key(
    platform: Platform,
) -> None:
    _, api, _ = platform
    _, token = await issue_key(api, role="viewer")
    async with anonymous(api) as browser:
        await sign_in(browser, token)
        home = await browser.get("/console/databases")
        assert home.headers["location"] == DATABASES
        page = await browser.get(DATABASES)
        assert page.status_code == 200
        assert 'id="create"' not in page.text
        created = await api.post(
            "/api/v1/domain/acme/project/shop/databases",
            json={"name": "orders", "engine": "postgres", "version": "16.13"},
        )
        assert created.status_code == 202, created.text
        database = f"{DATABASES}/{created.json()['id']}"
        overview = await browser.get(database)
        assert overview.status_code == 200
        assert 'id="reveal"' not in overview.text
        secret = await browser.get(f"{database}/credentials")
        assert secret.status_code == 403
        assert "may not read credentials" in secret.text
        other = await browser.get("/console/domain/acme/project/other/databases")
        assert other.status_code == 404
        forged = await browser.post(
            DATABASES,
            data={"csrf": csrf_of(page.text), "name": "orders", "engine": "postgres"},
        )
        assert forged.status_code == 403
        assert "viewer" in forged.text


async def test_signing_in_comes_back_to_the_page_asked_for_with_its_query(
    platform: Platform,
) -> None:
    _, api, _ = platform
    asked = f"{DATABASES}?engine=redis&sort=-created_at"
    async with anonymous(api) as browser:
        gate = await browser.get(asked)
        assert gate.status_code == 303
        form = await browser.get(gate.headers["location"])
        assert form.status_code == 200
        answer = await browser.post(
            "/console/sign-in",
            data={"csrf": csrf_of(form.text), "api_key": ADMIN.text, "next": next_of(form.text)},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == asked
