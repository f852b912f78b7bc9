"""A database's actions in the console over plain HTTP: who may use them, the CSRF check,
and the service's refusals shown on the page (never JSON)."""

from __future__ import annotations

import httpx

from tests.console.flows import anonymous, csrf_of, issue_key, sign_in
from tests.e2e.platform import ADMIN, BASE, Platform, create, finished

DATABASES = "/console/domain/acme/project/shop/databases"


async def operation_types(api: httpx.AsyncClient, database_id: str) -> list[str]:
    listed = (await api.get(f"{BASE}/{database_id}/operations")).json()
    return [o["type"] for o in listed["operations"]]


async def test_a_viewers_forged_pause_and_a_csrf_less_pause_are_refused_with_pages(
    platform: Platform,
) -> None:
    _, api, _ = platform
    created = await create(api)
    await finished(api, created)
    database_id = created.json()["id"]
    page_path = f"{DATABASES}/{database_id}"
    before = await operation_types(api, database_id)
    _, token = await issue_key(api, role="viewer")
    async with anonymous(api) as viewer:
        await sign_in(viewer, token)
        page = await viewer.get(page_path)
        assert page.status_code == 200
        assert 'id="pause"' not in page.text and 'id="delete"' not in page.text
        assert "to a viewer key" in page.text
        forged = await viewer.post(f"{page_path}/pause", data={"csrf": csrf_of(page.text)})
        assert forged.status_code == 403
        assert forged.headers["content-type"].startswith("text/html")
        assert "viewer" in forged.text
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        page = await admin.get(page_path)
        assert 'id="pause"' in page.text and 'id="resume"' not in page.text
        settled = await admin.get(f"{page_path}/activity")  # running, nothing active
        assert settled.status_code == 200 and 'id="operations"' in settled.text
        assert "hx-trigger" not in settled.text  # no polling once settled
        bare = await admin.post(f"{page_path}/pause", data={"go": "1"})  # a form, no token
        assert bare.status_code == 403
        assert "security token" in bare.text
    assert await operation_types(api, database_id) == before
    assert (await api.get(f"{BASE}/{database_id}")).json()["status"] == "running"


async def test_refusals_are_messages_on_the_page(platform: Platform) -> None:
    _, api, _ = platform
    created = await create(api, deletion_protection=True)
    await finished(api, created)
    database_id = created.json()["id"]
    page_path = f"{DATABASES}/{database_id}"
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        csrf = csrf_of((await admin.get(page_path)).text)
        wrong_state = await admin.post(f"{page_path}/resume", data={"csrf": csrf})
        assert wrong_state.status_code == 422
        assert wrong_state.headers["content-type"].startswith("text/html")
        assert "needs a paused database" in wrong_state.text
        wrong_name = await admin.post(
            f"{page_path}/delete", data={"csrf": csrf, "confirm_name": "order"}
        )
        assert wrong_name.status_code == 422
        assert 'id="confirm_name_error"' in wrong_name.text
        protected = await admin.post(
            f"{page_path}/delete", data={"csrf": csrf, "confirm_name": "orders"}
        )
        assert protected.status_code == 409
        assert "protected from deletion" in protected.text
    assert await operation_types(api, database_id) == ["create"]


async def test_the_database_is_checked_before_the_form_and_after_the_address(
    platform: Platform,
) -> None:
    """A POST's database is authorized before its form is read (a tokenless post from a
    viewer is refused as a viewer's, from another tenant as not found), and an address
    part that is not valid (an unknown action, a page number) is a 422 before either."""
    _, api, _ = platform
    created = await create(api)
    page_path = f"{DATABASES}/{created.json()['id']}"
    posts = ("pause", "scale", "delete", "backups", "backups/bk-1/restore", "backups/bk-1/clone")
    _, viewer_token = await issue_key(api, role="viewer")
    _, outsider_token = await issue_key(api, role="owner", domain="globex", project="web")
    async with anonymous(api) as viewer, anonymous(api) as outsider:
        await sign_in(viewer, viewer_token)
        await sign_in(outsider, outsider_token)
        for path in posts:
            refused = await viewer.post(f"{page_path}/{path}", data={"go": "1"})
            # clone reads the source database (READ), so the viewer reaches its form.
            told = "security token" if path.endswith("clone") else "viewer"
            assert refused.status_code == 403 and told in refused.text, path
            hidden = await outsider.post(f"{page_path}/{path}", data={"go": "1"})
            assert hidden.status_code == 404, path
        for client in (viewer, outsider):
            unknown = await client.post(f"{page_path}/frobnicate", data={"go": "1"})
            assert unknown.status_code == 422 and "path.action" in unknown.text
            paged = await client.get(f"{page_path}/backups-section", params={"page": "0"})
            assert paged.status_code == 422 and "query.page" in paged.text
