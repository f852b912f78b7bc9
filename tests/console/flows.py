"""What the console tests share: signing in over HTTP (no browser), a client without the
API's key on the same app, and reading a page's CSRF token."""

from __future__ import annotations

import html
import re

import httpx

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
NEXT = re.compile(r'name="next" value="([^"]*)"')


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, "the page has no CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    """GET the sign-in page, POST its form with `token`; the answer, not followed."""
    form = await client.get("/console/sign-in")
    assert form.status_code == 200, form.text
    return await client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(form.text), "api_key": token, "next": ""},
    )


async def issue_key(
    admin: httpx.AsyncClient, *, role: str, domain: str = "acme", project: str = "shop"
) -> tuple[str, str]:
    """A new key through the API: (id, token)."""
    response = await admin.post(
        "/api/v1/api-keys",
        json={"name": f"{role} key", "role": role, "domain": domain, "project": project},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return str(body["id"]), str(body["secret"])


def anonymous(client: httpx.AsyncClient, base_url: str = "http://test") -> httpx.AsyncClient:
    """A client of the same app as `client`, without its API key (a browser's view)."""
    return httpx.AsyncClient(transport=client._transport, base_url=base_url, timeout=10)


def next_of(page: str) -> str:
    """The sign-in form's hidden `next` (where signing in goes)."""
    found = NEXT.search(page)
    assert found, "the sign-in page has no next field"
    return html.unescape(found.group(1))
