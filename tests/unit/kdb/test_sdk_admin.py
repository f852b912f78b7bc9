"""The SDK's administration calls over a fake transport (httpx.MockTransport): the paths and
bodies they send, a provider found by name across pages, and answers kept whole."""

from __future__ import annotations

import json

import httpx
import pytest

from kdb.sdk import Client, errors


def _provider(number: int) -> dict[str, object]:
    return {"id": f"prv-{number}", "name": f"p{number}", "region": "eu", "extra": number}


def test_a_provider_is_found_by_name_on_a_later_page() -> None:
    pages = {
        "1": [_provider(n) for n in range(100)],
        "2": [_provider(n) for n in range(100, 150)],
    }

    def answer(request: httpx.Request) -> httpx.Response:
        page = request.url.params["page"]
        return httpx.Response(
            200, json={"providers": pages[page], "total": 150, "page": int(page), "page_size": 100}
        )

    with Client("http://api", "k", http=httpx.MockTransport(answer)) as api:
        found = api.providers.find("p120")
        with pytest.raises(errors.NotFound, match="provider nowhere not found"):
            api.providers.find("nowhere")

    assert found.id == "prv-120"
    assert found.to_json()["extra"] == 120


def test_quota_set_puts_only_the_limits_given_on_the_projects_path() -> None:
    seen: list[httpx.Request] = []
    tenant = {"domain": "acme", "project": "shop", "quota": {"max_databases": 3}, "usage": {}}

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=tenant)

    with Client("http://api", "k", http=httpx.MockTransport(answer)) as api:
        changed = api.quotas.set("acme", "shop", max_databases=3, max_cpu_cores=None)
        api.quotas.get("acme")

    assert (seen[0].method, seen[0].url.path) == ("PUT", "/api/v1/domains/acme/projects/shop")
    assert json.loads(seen[0].content) == {"quota": {"max_databases": 3}}
    assert seen[1].url.path == "/api/v1/domains/acme"
    assert changed.quota.max_databases == 3 and changed.usage.databases == 0


def test_a_key_is_created_without_the_scope_not_given_and_keeps_its_secret() -> None:
    seen: list[httpx.Request] = []
    issued = {"id": "key-1", "name": "ci", "role": "admin", "secret": "s3cret", "status": "active"}

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=issued)

    with Client("http://api", "k", http=httpx.MockTransport(answer)) as api:
        made = api.api_keys.create("ci", role="admin")

    assert json.loads(seen[0].content) == {"name": "ci", "role": "admin"}
    assert made.secret == "s3cret"


def test_the_audit_log_sends_only_the_filters_given() -> None:
    seen: list[httpx.Request] = []
    entry = {"id": "aud-1", "scope": "tenant", "action": "POST /api/v1/api-keys", "outcome": 201}

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"entries": [entry], "total": 1, "page": 1, "page_size": 5})

    with Client("http://api", "k", http=httpx.MockTransport(answer)) as api:
        page = api.audit.list(outcome=201, page_size=5)

    assert dict(seen[0].url.params) == {"outcome": "201", "page": "1", "page_size": "5"}
    assert page.items[0].action == "POST /api/v1/api-keys"
