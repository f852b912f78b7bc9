"""The console's admin pages over plain HTTP: providers, quotas, the audit log and API keys,
who may open them (the API's rules), their forms' validation by field, and what they show."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.config.settings import Settings
from tests.console.flows import csrf_of, issue_key, sign_in
from tests.e2e.platform import ADMIN, Platform, create, finished, running

KEYS = "/console/api-keys"
QUOTAS = "/console/admin/quotas"


@pytest.fixture
async def platform(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    async with running(settings, embedded_redis_url, tmp_path) as started:
        yield started


def anonymous(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=client._transport, base_url="http://test", timeout=10)


async def domain_key(api: httpx.AsyncClient, *, role: str, domain: str) -> str:
    """The token of a new key for a whole domain."""
    answer = await api.post(
        "/api/v1/api-keys", json={"name": f"{domain} {role}", "role": role, "domain": domain}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["secret"])


def is_page(answer: httpx.Response, status: int) -> bool:
    return answer.status_code == status and answer.headers["content-type"].startswith("text/html")


async def test_providers_show_capacity_meters_to_admins_and_a_403_page_to_others(
    platform: Platform,
) -> None:
    _, api, _ = platform
    await finished(api, await create(api, engine="redis", name="cache"))
    provider = (await api.get("/api/v1/providers")).json()["providers"][0]
    cpu = provider["capacity"]["cpu"]
    assert cpu["allocated"] > 0
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        page = await admin.get("/console/admin/providers")
        assert is_page(page, 200)
        meter = re.search(rf'<meter id="capacity-{provider["id"]}-cpu"[^>]*>', page.text)
        assert meter is not None
        assert f'max="{cpu["allocatable"]}"' in meter.group(0)
        assert f'value="{cpu["allocated"]}"' in meter.group(0)
        assert f"{cpu['allocated']:g} of {cpu['allocatable']:g} cores" in page.text
        assert f'id="capacity-{provider["id"]}-storage"' in page.text
        detail = await admin.get(f"/console/admin/providers/{provider['id']}")
        assert is_page(detail, 200) and provider["name"] in detail.text
        assert is_page(await admin.get("/console/admin/providers/prv-missing"), 404)
    owner = await domain_key(api, role="owner", domain="acme")
    async with anonymous(api) as client:
        await sign_in(client, owner)
        refused = await client.get("/console/admin/providers")
        assert is_page(refused, 403) and "admin key" in refused.text
        assert 'href="/console/admin/providers"' not in refused.text


async def test_quotas_are_read_in_the_keys_scope_and_set_by_admins_only(
    platform: Platform,
) -> None:
    _, api, _ = platform
    owner = await domain_key(api, role="owner", domain="acme")
    stranger = await domain_key(api, role="owner", domain="globex")
    _, viewer = await issue_key(api, role="viewer")  # acme/shop
    async with anonymous(api) as client:
        await sign_in(client, owner)
        own = await client.get(QUOTAS)  # its own domain by default
        assert is_page(own, 200) and 'id="domain-quota"' in own.text
        assert 'id="domain-set-quota"' not in own.text  # setting is for admins
        forged = await client.post(
            f"{QUOTAS}/acme", data={"csrf": csrf_of(own.text), "max_databases": "100"}
        )
        assert is_page(forged, 403)
    async with anonymous(api) as client:
        await sign_in(client, viewer)
        project = await client.get(QUOTAS)
        assert is_page(project, 200) and 'id="project-quota"' in project.text
        assert 'id="domain-quota"' not in project.text  # a project key reads its project
        assert is_page(await client.get(f"{QUOTAS}?domain=acme&project=other"), 404)
    async with anonymous(api) as client:
        await sign_in(client, stranger)
        hidden = await client.get(f"{QUOTAS}?domain=acme")
        assert is_page(hidden, 404) and 'id="domain-quota"' not in hidden.text
        assert "acme not found" in hidden.text  # as for a domain that does not exist
    assert (await api.get("/api/v1/domains/acme")).json()["quota"]["max_databases"] is None


async def test_the_quota_form_shows_errors_by_field_and_a_set_quota_with_its_usage(
    platform: Platform,
) -> None:
    _, api, _ = platform
    await finished(api, await create(api, engine="redis", name="cache"))
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        page = await admin.get(f"{QUOTAS}?domain=acme&project=shop")
        assert 'id="domain-quota"' in page.text and 'id="project-quota"' in page.text
        assert "1 databases, no limit" in page.text
        csrf = csrf_of(page.text)
        wrong = await admin.post(
            f"{QUOTAS}/acme",
            data={"csrf": csrf, "max_databases": "2.5", "max_cpu_cores": "-1"},
        )
        assert is_page(wrong, 422)
        assert 'id="domain-max_databases_error"' in wrong.text
        assert 'value="2.5"' in wrong.text  # what was typed stays
        negative = await admin.post(
            f"{QUOTAS}/acme", data={"csrf": csrf, "max_databases": "3", "max_cpu_cores": "-1"}
        )
        assert is_page(negative, 422)
        assert 'id="domain-max_cpu_cores_error"' in negative.text
        assert "greater than or equal to 0" in negative.text
        assert 'id="domain-max_databases_error"' not in negative.text
        done = await admin.post(
            f"{QUOTAS}/acme", data={"csrf": csrf, "max_databases": "5", "max_storage_gb": ""}
        )
        assert done.status_code == 303
        shown = await admin.get(done.headers["location"])
        assert 'id="saved"' in shown.text
        assert '<meter id="domain-use-max_databases" min="0" max="5" value="1"' in shown.text
        assert "1 of 5 databases" in shown.text
    quota = (await api.get("/api/v1/domains/acme")).json()["quota"]
    assert quota == {
        "max_databases": 5,
        "max_cpu_cores": None,
        "max_memory_gb": None,
        "max_storage_gb": None,
    }
