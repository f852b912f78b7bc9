"""Backups in the console over plain HTTP: the section and a backup's page by role and
state, forged POSTs refused, a backup now listed by the API, refusals shown by their field,
the point-in-time time bar drawn on the API's restore window, the project's backups page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config.settings import Settings
from app.console import backup_restore
from app.domain import pitr
from app.domain.backups import Backup, BackupStatus, BackupType
from tests.console.flows import anonymous, csrf_of, issue_key, sign_in
from tests.e2e.platform import ADMIN, BASE, Platform, create, finished, running
from tests.support import eventually

DATABASES = "/console/domain/acme/project/shop/databases"
PROJECT_BACKUPS = "/console/domain/acme/project/shop/backups"


@pytest.fixture
async def platform(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    async with running(settings, embedded_redis_url, tmp_path, backup_sync_interval=0.5) as started:
        yield started


async def running_database(api: httpx.AsyncClient, **body: Any) -> str:
    created = await create(api, **body)
    operation = await finished(api, created)
    assert operation["status"] == "succeeded", operation["error_message"]
    return str(created.json()["id"])


async def manual_backups(api: httpx.AsyncClient, database_id: str) -> list[dict[str, Any]]:
    listed = (await api.get(f"{BASE}/{database_id}/backups")).json()["backups"]
    return [b for b in listed if b["type"] == "manual"]


async def backed_up(api: httpx.AsyncClient, database_id: str) -> str:
    taken = await api.post(f"{BASE}/{database_id}/backups")
    operation = await finished(api, taken)
    assert operation["status"] == "succeeded", operation["error_message"]
    return str(taken.json()["backup_id"])


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_viewer_sees_the_backups_without_buttons_and_its_forged_posts_are_refused(
    platform: Platform,
) -> None:
    _, api, _ = platform
    database_id = await running_database(api, engine="redis", name="cache")
    backup_id = await backed_up(api, database_id)
    page_path = f"{DATABASES}/{database_id}"
    _, token = await issue_key(api, role="viewer")
    async with anonymous(api) as viewer:
        await sign_in(viewer, token)
        page = await viewer.get(page_path)
        section = await viewer.get(f"{page_path}/backups-section")
        backup = await viewer.get(f"{page_path}/backups/{backup_id}")
        csrf = csrf_of(page.text)
        forged = [
            await viewer.post(f"{page_path}/backups", data={"csrf": csrf}),
            await viewer.post(f"{page_path}/backups/{backup_id}/delete", data={"csrf": csrf}),
            await viewer.post(
                f"{page_path}/backups/{backup_id}/restore",
                data={"csrf": csrf, "confirm_name": "cache"},
            ),
            await viewer.post(
                f"{page_path}/backups/{backup_id}/clone", data={"csrf": csrf, "name": "copy"}
            ),
        ]

    assert f'hx-get="{page_path}/backups-section"' in page.text
    assert section.status_code == 200 and f'id="backup-{backup_id}"' in section.text
    assert "succeeded" in section.text and "manual" in section.text
    assert 'id="back-up-now"' not in section.text and "viewer key may not" in section.text
    assert "every 2s" not in section.text  # nothing runs: no polling
    assert backup.status_code == 200
    for form in ('id="clone"', 'id="restore-submit"', 'id="delete-backup"'):
        assert form not in backup.text
    for refused in forged:
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("text/html")
    assert [b["id"] for b in await manual_backups(api, database_id)] == [backup_id]
    assert {d["name"] for d in (await api.get(BASE)).json()["databases"]} == {"cache"}


async def test_back_up_now_makes_a_backup_the_api_lists_and_its_page_offers_what_is_valid(
    platform: Platform,
) -> None:
    _, api, _ = platform
    database_id = await running_database(api, engine="redis", name="cache")
    page_path = f"{DATABASES}/{database_id}"
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        section = await admin.get(f"{page_path}/backups-section")
        bare = await admin.post(f"{page_path}/backups", data={"go": "1"})
        taken = await admin.post(f"{page_path}/backups", data={"csrf": csrf_of(section.text)})

        async def done() -> list[dict[str, Any]] | None:
            found = await manual_backups(api, database_id)
            return found if found and found[0]["status"] == "succeeded" else None

        listed = await eventually(done, timeout=30, interval=0.1, message="the backup")

        async def quiet() -> str | None:
            # The record succeeds a moment before its operation ends; the section polls
            # until both have.
            answer = await admin.get(f"{page_path}/backups-section")
            return answer.text if "every 2s" not in answer.text else None

        settled_text = await eventually(quiet, timeout=30, interval=0.1, message="no poll")
        backup = await admin.get(f"{page_path}/backups/{listed[0]['id']}")

    # No "no backups" check here: the policy's immediate first backup may already be listed.
    assert 'id="back-up-now"' in section.text
    assert bare.status_code == 403 and "security token" in bare.text
    assert taken.status_code == 303 and taken.headers["location"] == f"{page_path}#backups"
    assert len(listed) == 1
    assert f'id="backup-{listed[0]["id"]}"' in settled_text
    assert "<time datetime=" in settled_text  # started/completed, rendered by `when`
    for form in ('id="clone"', 'id="restore-submit"', 'id="delete-backup"', "restore-warning"):
        assert form in backup.text


async def test_restore_clone_and_delete_forms_show_their_refusals_by_field(
    platform: Platform,
) -> None:
    _, api, _ = platform
    database_id = await running_database(api, engine="redis", name="cache")
    backup_id = await backed_up(api, database_id)
    backup_path = f"{DATABASES}/{database_id}/backups/{backup_id}"
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        csrf = csrf_of((await admin.get(backup_path)).text)
        short = await admin.post(f"{backup_path}/clone", data={"csrf": csrf, "name": "ab"})
        taken = await admin.post(f"{backup_path}/clone", data={"csrf": csrf, "name": "cache"})
        wrong = await admin.post(
            f"{backup_path}/restore", data={"csrf": csrf, "confirm_name": "cach"}
        )
        unticked = await admin.post(f"{backup_path}/delete", data={"csrf": csrf})
        cloned = await admin.post(f"{backup_path}/clone", data={"csrf": csrf, "name": "cache-copy"})

    assert short.status_code == 422 and 'id="name_error"' in short.text
    assert "at least 3 characters" in short.text
    assert taken.status_code == 409 and 'id="name_error"' in taken.text
    assert wrong.status_code == 422 and 'id="confirm_name_error"' in wrong.text
    assert unticked.status_code == 422 and 'id="confirm_delete_error"' in unticked.text
    assert cloned.status_code == 303
    copy_id = cloned.headers["location"].rsplit("/", 1)[1]
    copy = (await api.get(f"{BASE}/{copy_id}")).json()
    assert copy["name"] == "cache-copy" and copy["engine"] == "redis"
    assert (await api.get(f"{BASE}/{database_id}/operations")).json()["total"] == 2
    assert [b["id"] for b in await manual_backups(api, database_id)] == [backup_id]


async def test_the_time_bar_spans_the_restore_window_and_a_time_outside_it_is_refused_by_the_field(
    platform: Platform,
) -> None:
    _, api, _ = platform
    database_id = await running_database(api, name="ledger", pitr_enabled=True)
    plain_id = await running_database(api, name="plain")

    backup_id = await backed_up(api, database_id)
    backup = (await api.get(f"{BASE}/{database_id}/backups/{backup_id}")).json()
    completed = moment(backup["completed_at"])

    async def window() -> dict[str, Any] | None:
        answer = await api.get(f"{BASE}/{database_id}/restore-window")
        found = answer.json() if answer.status_code == 200 else None
        inside = found and moment(found["earliest"]) <= completed <= moment(found["latest"])
        return found if inside else None

    bounds = await eventually(window, timeout=30, interval=0.2, message="a window past the backup")
    earliest, latest = moment(bounds["earliest"]), moment(bounds["latest"])
    page_path = f"{DATABASES}/{database_id}/point-in-time"
    async with anonymous(api) as admin:
        await sign_in(admin, ADMIN.text)
        page = await admin.get(page_path)
        too_late = (latest + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
        outside = await admin.post(
            page_path,
            data={"csrf": csrf_of(page.text), "name": "ledger-then", "point_in_time": too_late},
        )
        off = await admin.get(f"{DATABASES}/{plain_id}/point-in-time")

    local = "%Y-%m-%dT%H:%M:%S"
    assert page.status_code == 200
    assert re.search(r'<svg id="time-bar"[^>]*role="img"', page.text)
    assert re.search(
        r'<rect class="window-span" id="window-span" x="0" y="8" width="600"', page.text
    )
    assert f'<rect class="window-tick" data-backup="{backup_id}"' in page.text
    assert f'min="{earliest.strftime(local)}"' in page.text
    assert f'max="{latest.strftime(local)}"' in page.text
    assert f'<time datetime="{earliest.isoformat()}"' in page.text
    assert f'<time datetime="{latest.isoformat()}"' in page.text
    assert "in UTC" in page.text and 'type="datetime-local"' in page.text
    assert outside.status_code == 422
    error = re.search(r'id="point_in_time_error">([^<]+)<', outside.text)
    assert error and "is outside the restore window" in error.group(1)
    assert off.status_code == 200 and "pitr_enabled is off" in off.text
    assert 'id="time-bar"' not in off.text
    assert {d["name"] for d in (await api.get(BASE)).json()["databases"]} == {"ledger", "plain"}


async def test_the_project_page_lists_a_deleted_databases_final_backup_with_its_clone(
    platform: Platform,
) -> None:
    _, api, _ = platform
    # No schedule: only the backups taken here are listed.
    gone_id = await running_database(api, engine="redis", name="gone", backup_enabled=False)
    kept_id = await running_database(api, engine="redis", name="kept", backup_enabled=False)
    kept_backup = await backed_up(api, kept_id)
    deleted = await api.delete(f"{BASE}/{gone_id}", params={"final_backup": "true"})
    final_id = deleted.json()["backup_id"]
    operation = await finished(api, deleted)
    assert operation["status"] == "succeeded", operation["error_message"]
    _, token = await issue_key(api, role="viewer")
    async with anonymous(api) as admin, anonymous(api) as viewer:
        await sign_in(admin, ADMIN.text)
        await sign_in(viewer, token)
        listed = await admin.get(PROJECT_BACKUPS)
        filtered = await admin.get(PROJECT_BACKUPS, params={"database_id": gone_id})
        as_viewer = await viewer.get(PROJECT_BACKUPS)
        final_page = await admin.get(f"{DATABASES}/{gone_id}/backups/{final_id}")

    assert listed.status_code == 200 and 'aria-current="page">Backups' in listed.text
    rows = re.findall(r'<tr id="backup-([^"]+)"', listed.text)
    assert rows == [final_id, kept_backup]  # newest first
    assert "gone (deleted)" in listed.text
    assert listed.text.count('class="clone-link"') == 2
    assert re.findall(r'<tr id="backup-([^"]+)"', filtered.text) == [final_id]
    assert as_viewer.status_code == 200 and 'class="clone-link"' not in as_viewer.text
    assert 'id="clone"' in final_page.text and 'id="restore-submit"' not in final_page.text


def test_the_time_bar_places_backups_inside_the_window_and_its_gaps_by_time() -> None:
    start = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    window = pitr.RestoreWindow(
        earliest=start,
        latest=start + timedelta(hours=10),
        gaps=(pitr.Gap(start + timedelta(hours=5), start + timedelta(hours=6)),),
    )

    def taken(hours: float) -> Backup:
        return Backup(
            database_id="db-1",
            database_name="ledger",
            domain="acme",
            project="shop",
            engine="postgres",
            provider_id="p",
            namespace="ns",
            type=BackupType.MANUAL,
            status=BackupStatus.SUCCEEDED,
            storage="local",
            repository="r",
            completed_at=start + timedelta(hours=hours),
        )

    inside, before, in_gap = taken(2.5), taken(-1), taken(5.5)
    bar = backup_restore.time_bar(window, [inside, before, in_gap])

    assert bar["width"] == 600
    assert [(t["x"], t["backup"].id) for t in bar["ticks"]] == [(150.0, inside.id)]
    assert bar["gaps"] == [{"x": 300.0, "width": 60.0}]
