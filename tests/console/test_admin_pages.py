"""The console's admin pages over plain HTTP: providers, quotas, the audit log and API keys,
who may open them (the API's rules), their forms' validation by field, and what they show."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.config.settings import Settings
from tests.console.flows import anonymous, csrf_of, issue_key, sign_in
from tests.e2e.platform import ADMIN, Platform, create, finished, running

KEYS = "/console/api-keys"
QUOTAS = "/console/admin/quotas"


@pytest.fixture
async def platform(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    async with running(settings, embedded_redis_url, tmp_path) as started:
        yield started


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


def rows(page: str, table: str) -> list[str]:
    """The body rows of the table with this id."""
    body = page.split(f'<table id="{table}">')[1].split("</tbody>")[0]
    return re.findall(r"<tr[ >].*?</tr>", body.split("<tbody>")[1], re.S)


async def test_audit_filters_narrow_the_list_and_an_owner_sees_its_own_domain_only(
    platform: Platform,
) -> None:
    _, api, _ = platform
    owner_answer = await api.post(
        "/api/v1/api-keys", json={"name": "acme owner", "role": "owner", "domain": "acme"}
    )
    owner_id, owner = owner_answer.json()["id"], owner_answer.json()["secret"]
    stranger = await domain_key(api, role="owner", domain="globex")
    _, viewer = await issue_key(api, role="viewer")
    gone_id, _ = await issue_key(api, role="member")
    assert (await api.delete(f"/api/v1/api-keys/{gone_id}")).status_code == 200
    for name in ("by acme", "by globex"):  # each owner makes a key in its own domain
        as_owner = {"Authorization": f"Bearer {owner if 'acme' in name else stranger}"}
        made = await api.post(
            "/api/v1/api-keys",
            json={"name": name, "role": "viewer", "domain": name.split()[1]},
            headers=as_owner,
        )
        assert made.status_code == 201, made.text
    for _ in range(21):  # refused creates: 422 entries, more than one page
        await api.post("/api/v1/api-keys", json={"name": "", "role": "viewer"})
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        assert is_page(await admin.get("/console/audit"), 200)
        refused = await admin.get("/console/audit?outcome=422")
        found = rows(refused.text, "audit")
        assert len(found) == 20 and all(">422<" in row for row in found)
        assert 'href="/console/audit?outcome=422&amp;page=2"' in refused.text
        second = await admin.get("/console/audit?outcome=422&page=2")
        assert len(rows(second.text, "audit")) == 1
        by_owner = rows((await admin.get(f"/console/audit?actor={owner_id}")).text, "audit")
        assert len(by_owner) == 1 and "POST /api/v1/api-keys" in by_owner[0]
        revoked = rows((await admin.get(f"/console/audit?target={gone_id}")).text, "audit")
        assert len(revoked) == 1 and "DELETE /api/v1/api-keys/{key_id}" in revoked[0]
        later = rows((await admin.get("/console/audit?since=2999-01-01T00:00")).text, "audit")
        assert len(later) == 1 and 'id="empty"' in later[0]
        wrong = await admin.get("/console/audit?outcome=abc&since=yesterday")
        assert is_page(wrong, 422)
        assert 'id="outcome_error"' in wrong.text and 'id="since_error"' in wrong.text
    async with anonymous(api) as client:
        await sign_in(client, owner)
        own = rows((await client.get("/console/audit?outcome=201")).text, "audit")
        assert len(own) == 1 and owner_id in own[0] and "acme" in own[0]
        assert is_page(await client.get("/console/audit?domain=globex"), 403)
    async with anonymous(api) as client:
        await sign_in(client, viewer)
        assert is_page(await client.get("/console/audit"), 403)


async def test_a_created_key_is_shown_once_and_owners_create_inside_their_scope_only(
    platform: Platform,
) -> None:
    _, api, _ = platform
    owner = await domain_key(api, role="owner", domain="acme")
    await domain_key(api, role="viewer", domain="globex")
    _, viewer = await issue_key(api, role="viewer")
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        listed = await admin.get(KEYS)
        assert is_page(listed, 200) and "globex viewer" in listed.text
        csrf = csrf_of(listed.text)
        nameless = await admin.post(KEYS, data={"csrf": csrf, "name": "", "role": "viewer"})
        assert is_page(nameless, 422) and 'id="name_error"' in nameless.text
        scoped_admin = await admin.post(
            KEYS, data={"csrf": csrf, "name": "x", "role": "admin", "domain": "acme"}
        )
        assert is_page(scoped_admin, 422) and 'id="domain_error"' in scoped_admin.text
        made = await admin.post(
            KEYS, data={"csrf": csrf, "name": "ci deploy", "role": "member", "domain": "acme"}
        )
        assert is_page(made, 201) and made.headers["cache-control"] == "no-store"
        secret = re.search(r'<code id="secret"[^>]*>([^<]+)</code>', made.text)
        assert secret is not None and 'data-copy="#secret"' in made.text
        again = await admin.get(KEYS)
        assert "ci deploy" in again.text and secret.group(1) not in again.text
    used = await api.get(
        "/api/v1/domain/acme/project/shop/databases",
        headers={"Authorization": f"Bearer {secret.group(1)}"},
    )
    assert used.status_code == 200
    async with anonymous(api) as client:
        await sign_in(client, owner)
        own = await client.get(KEYS)
        assert is_page(own, 200) and "ci deploy" in own.text
        assert "globex viewer" not in own.text and '<option value="admin"' not in own.text
        csrf = csrf_of(own.text)
        forged_admin = await client.post(KEYS, data={"csrf": csrf, "name": "a", "role": "admin"})
        assert is_page(forged_admin, 403) and 'id="form_error"' in forged_admin.text
        elsewhere = await client.post(
            KEYS, data={"csrf": csrf, "name": "b", "role": "viewer", "domain": "globex"}
        )
        assert is_page(elsewhere, 403) and "inside its own scope" in elsewhere.text
    async with anonymous(api) as client:
        await sign_in(client, viewer)
        assert is_page(await client.get(KEYS), 403)
    names = [k["name"] for k in (await api.get("/api/v1/api-keys")).json()["api_keys"]]
    assert "a" not in names and "b" not in names and "x" not in names


async def test_revoking_a_key_ends_its_api_calls_and_its_console_sessions(
    platform: Platform,
) -> None:
    _, api, _ = platform
    key_id, token = await issue_key(api, role="member")
    async with anonymous(api) as member:
        await sign_in(member, token)
        assert (await member.get("/console/databases")).status_code in (200, 303)
        async with anonymous(api) as admin:
            await sign_in(admin, ADMIN.text)
            confirm = await admin.get(f"{KEYS}/{key_id}/revoke")
            assert is_page(confirm, 200) and 'id="confirm-revoke"' in confirm.text
            done = await admin.post(f"{KEYS}/{key_id}/revoke", data={"csrf": csrf_of(confirm.text)})
            assert done.status_code == 303
            listed = await admin.get(done.headers["location"])
            assert f"Key {key_id} is revoked." in listed.text
            assert f'id="revoke-{key_id}"' not in listed.text
        ended = await member.get("/console/domain/acme/project/shop/databases")
        assert ended.status_code == 303 and "/console/sign-in" in ended.headers["location"]
    call = await api.get(
        "/api/v1/domain/acme/project/shop/databases",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert call.status_code == 401
