"""A database's changes in the console over plain HTTP (scale, upgrade, rotate credentials,
deletion protection, a final backup before delete), the connection details with the client
command, and the create form's engine-dependent choices: shown only when valid, refused by
their field, submitted as the API submits them."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.console.flows import anonymous, csrf_of, issue_key, sign_in
from tests.e2e.platform import ADMIN, BASE, Platform, create, finished
from tests.support import eventually

DATABASES = "/console/domain/acme/project/shop/databases"
CHANGES = ("scale", "upgrade", "rotate-credentials", "deletion-protection", "final_backup")


def options_of(page: str, select_id: str) -> list[str]:
    found = re.search(rf'<select id="{select_id}".*?</select>', page, re.S)
    assert found, f"no select {select_id}"
    return re.findall(r'<option value="([^"]*)"', found.group(0))


def shown(page: str) -> set[str]:
    return {name for name in CHANGES if f'id="{name}"' in page}


async def running_redis(api: httpx.AsyncClient, **body: Any) -> str:
    body.setdefault("version", "7.4.6")
    created = await create(api, engine="redis", **body)
    await finished(api, created)
    return str(created.json()["id"])


async def settled(api: httpx.AsyncClient, database_id: str) -> list[dict[str, Any]]:
    """The database's operations once none is active."""

    async def idle() -> list[dict[str, Any]] | None:
        listed = (await api.get(f"{BASE}/{database_id}/operations")).json()["operations"]
        ended = ("succeeded", "failed", "cancelled")
        return listed if all(o["status"] in ended for o in listed) else None

    return await eventually(idle, timeout=30, interval=0.05, message="no active operation")


async def test_a_running_database_offers_every_change_to_an_admin_and_none_to_a_viewer(
    platform: Platform,
) -> None:
    _, api, _ = platform
    answer = await create(api, engine="redis", version="7.4.6", high_availability=True, replicas=3)
    database_id = answer.json()["id"]
    page_path = f"{DATABASES}/{database_id}"
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        creating = (await admin.get(page_path)).text
        # The create operation's progress at the top, and no change offered while it runs.
        assert 'id="current-progress"' in creating and shown(creating) == set()
    await finished(api, answer)
    upgrades = (await api.get(f"{BASE}/{database_id}/available-upgrades")).json()
    assert upgrades["available_upgrades"]
    _, token = await issue_key(api, role="viewer")
    async with anonymous(api) as viewer:
        await sign_in(viewer, token)
        page = await viewer.get(page_path)
        assert page.status_code == 200 and shown(page.text) == set()
        csrf = csrf_of(page.text)
        for action, form in (
            ("scale", {"replicas": "4"}),
            ("upgrade", {"target_version": upgrades["available_upgrades"][0]}),
            ("deletion-protection", {"deletion_protection": "true"}),
            ("rotate-credentials", {}),
        ):
            forged = await viewer.post(f"{page_path}/{action}", data={"csrf": csrf, **form})
            assert forged.status_code == 403, action
            assert forged.headers["content-type"].startswith("text/html")
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        page = (await admin.get(page_path)).text
        assert shown(page) == set(CHANGES)
        # A Redis Sentinel group takes 2 to 9 pods; the upgrade targets are the API's.
        assert options_of(page, "replicas") == [str(n) for n in range(2, 10)]
        assert options_of(page, "target_version") == upgrades["available_upgrades"]
        assert 'id="password"' not in page  # only the credentials fragment holds it
    assert [o["type"] for o in await settled(api, database_id)] == ["create"]


async def test_a_paused_database_offers_resume_protection_and_delete_only(
    platform: Platform,
) -> None:
    _, api, _ = platform
    database_id = await running_redis(api)
    await finished(api, await api.post(f"{BASE}/{database_id}/pause"))
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        page = (await admin.get(f"{DATABASES}/{database_id}")).text
        assert shown(page) == {"deletion-protection"}
        assert 'id="resume"' in page and 'id="delete"' in page
        refused = await admin.post(
            f"{DATABASES}/{database_id}/scale", data={"csrf": csrf_of(page), "replicas": "1"}
        )
        assert refused.status_code == 422  # the API's rule: scale needs a running database
        assert 'id="action-error"' in refused.text and "running" in refused.text
        # Not offered here; asked anyway, the API's delete refuses its final backup.
        final = await admin.post(
            f"{DATABASES}/{database_id}/delete",
            data={"csrf": csrf_of(page), "confirm_name": "orders", "final_backup": "on"},
        )
        assert final.status_code == 409
        assert "a final backup needs a running database" in final.text
    assert (await api.get(f"{BASE}/{database_id}")).json()["status"] == "paused"


async def test_values_the_api_refuses_are_shown_by_their_field(platform: Platform) -> None:
    _, api, _ = platform
    database_id = await running_redis(api, high_availability=True, replicas=3)
    page_path = f"{DATABASES}/{database_id}"
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        csrf = csrf_of((await admin.get(page_path)).text)
        for action, form, field in (
            ("scale", {"replicas": "1"}, "replicas"),  # below the Sentinel group's 2
            ("scale", {"replicas": "12"}, "replicas"),  # above the API's bound
            ("scale", {"storage_gb": "10"}, "storage_gb"),  # volumes only grow
            ("upgrade", {"target_version": "6.2.20"}, "target_version"),  # a downgrade
        ):
            refused = await admin.post(f"{page_path}/{action}", data={"csrf": csrf, **form})
            assert refused.status_code == 422, (form, refused.text)
            assert f'id="{field}_error"' in refused.text, form
            assert f'aria-describedby="{field}_error"' in refused.text, form
    assert [o["type"] for o in await settled(api, database_id)] == ["create"]


async def test_each_change_submits_the_apis_operation(platform: Platform) -> None:
    _, api, _ = platform
    database_id = await running_redis(api, high_availability=True, replicas=3)
    page_path = f"{DATABASES}/{database_id}"
    target = (await api.get(f"{BASE}/{database_id}/available-upgrades")).json()[
        "available_upgrades"
    ][0]
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        for action, form in (
            ("scale", {"replicas": "4", "size": "", "storage_gb": "30"}),
            ("upgrade", {"target_version": target}),
            ("rotate-credentials", {}),
            ("deletion-protection", {"deletion_protection": "true"}),
        ):
            csrf = csrf_of((await admin.get(page_path)).text)
            done = await admin.post(f"{page_path}/{action}", data={"csrf": csrf, **form})
            assert done.status_code == 303, (action, re.findall(r"alert.>[^<]*", done.text))
            assert done.headers["location"] == page_path
            await settled(api, database_id)
        database = (await api.get(f"{BASE}/{database_id}")).json()
        assert (database["replicas"], database["storage_gb"]) == (4, 30)
        assert database["version"] == target and database["deletion_protection"] is True
        page = (await admin.get(page_path)).text
        assert "Turn deletion protection off" in page
        refused = await admin.post(
            f"{page_path}/delete",
            data={"csrf": csrf_of(page), "confirm_name": "orders", "final_backup": "on"},
        )
        assert refused.status_code == 409 and "protected from deletion" in refused.text
    ended = await settled(api, database_id)
    assert sorted(o["type"] for o in ended) == sorted(
        ["create", "update", "upgrade_version", "rotate_credentials", "update"]
    )
    assert {o["status"] for o in ended} == {"succeeded"}


async def test_the_credentials_fragment_holds_the_client_command_with_copy_buttons(
    platform: Platform,
) -> None:
    _, api, _ = platform
    database_id = await running_redis(api)
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        fragment = await admin.get(f"{DATABASES}/{database_id}/credentials")
        assert fragment.headers["cache-control"] == "no-store"
        command = re.search(r'<code id="client-command">([^<]*)</code>', fragment.text)
        assert command and "redis-cli -h" in command.group(1)
        for copied in ("username", "password", "connection-string", "client-command"):
            assert f'data-copy="#{copied}"' in fragment.text


async def test_the_create_forms_choices_follow_the_engine(platform: Platform) -> None:
    _, api, _ = platform
    catalog = (await api.get("/api/v1/versions")).json()
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        galera = await admin.get(
            f"{DATABASES}/new/options", params={"engine": "mariadb", "high_availability": "on"}
        )
        assert galera.status_code == 200
        assert options_of(galera.text, "replicas") == ["3", "5", "7", "9"]
        assert "Galera" in galera.text
        offered = options_of(galera.text, "version")
        assert offered and all(v in str(catalog) for v in offered)
        alone = await admin.get(f"{DATABASES}/new/options", params={"engine": "redis"})
        assert options_of(alone.text, "replicas") == ["1"]
        assert "mariadb" not in alone.text
    _, token = await issue_key(api, role="viewer")
    async with anonymous(api) as viewer:
        await sign_in(viewer, token)
        refused = await viewer.get(f"{DATABASES}/new/options", params={"engine": "redis"})
        assert refused.status_code == 403


async def test_the_create_form_takes_replicas_storage_and_protection(
    platform: Platform,
) -> None:
    _, api, _ = platform
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        form = await admin.get(f"{DATABASES}/new")
        base = {
            "csrf": csrf_of(form.text),
            "name": "sessions",
            "engine": "redis",
            "version": "7.4.6",
            "high_availability": "on",
        }
        for wrong, field in (({"replicas": "1"}, "replicas"), ({"storage_gb": "0"}, "storage_gb")):
            refused = await admin.post(DATABASES, data={**base, "replicas": "3", **wrong})
            assert refused.status_code == 422, wrong
            assert f'aria-describedby="{field}_error"' in refused.text, refused.text
        # Re-rendered for the engine and topology chosen.
        assert options_of(refused.text, "replicas") == [str(n) for n in range(2, 10)]
        made = await admin.post(
            DATABASES,
            data={**base, "replicas": "3", "storage_gb": "30", "deletion_protection": "on"},
        )
        assert made.status_code == 303, made.text
    listed = (await api.get(BASE, params={"name": "sessions"})).json()["databases"]
    assert [(d["replicas"], d["storage_gb"], d["deletion_protection"]) for d in listed] == [
        (3, 30, True)
    ]
    assert listed[0]["high_availability"] is True
