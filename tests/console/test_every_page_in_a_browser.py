"""Every console page's good manners (tests/console/manners.py) in one app and one browser:
the lists, a database's page with its backups section, the operations, the backups, a
backup's page, the point-in-time page's time bar, the admin pages and a key's created page;
and their screenshots for the README.

The module seeds once, through the API, what the pages show: a running redis database
with a backup, a PostgreSQL database with point-in-time recovery and a restore window
covering its backup, and a database in a second project. Names are fixed so the
screenshots change only when the pages do."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.console import manners
from tests.console.browser import DATABASES, Served, sign_in, wait
from tests.e2e.platform import VERSIONS

API = "/api/v1/domain/acme/project/shop/databases"


@dataclass(frozen=True)
class Seeded:
    cache: str  # a running redis database
    backup: str  # a succeeded manual backup of it
    ledger: str  # a PostgreSQL database with pitr_enabled and a restore window
    provider: str  # the provider `local`'s id


def until(check: Callable[[], Any], *, timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


def succeeded(api: httpx.Client, started: httpx.Response) -> httpx.Response:
    """`started` (a 202) once its operation has succeeded."""
    assert started.status_code == 202, started.text
    location = started.headers["location"]

    def ended() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(location).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    operation = until(ended, timeout=30, message=location)
    assert operation["status"] == "succeeded", operation
    return started


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def seeded(served: Served) -> Seeded:
    with served.api() as api:
        limits = {"max_databases": 10, "max_cpu_cores": 8, "max_memory_gb": 16}
        quota = api.put("/api/v1/domains/acme/projects/shop", json={"quota": limits})
        assert quota.status_code == 200, quota.text
        made = {
            name: api.post(API, json={"engine": engine, "version": VERSIONS[engine], **body})
            for name, engine, body in (
                ("cache", "redis", {"name": "sessions"}),
                ("ledger", "postgres", {"name": "ledger", "pitr_enabled": True}),
            )
        }
        other = api.post(
            "/api/v1/domain/acme/project/web/databases",
            json={"name": "storefront", "engine": "redis", "version": VERSIONS["redis"]},
        )
        for started in (*made.values(), other):
            succeeded(api, started)
        cache, ledger = (made[n].json()["id"] for n in ("cache", "ledger"))
        backup = succeeded(api, api.post(f"{API}/{cache}/backups")).json()["backup_id"]
        taken = succeeded(api, api.post(f"{API}/{ledger}/backups")).json()["backup_id"]
        completed = moment(api.get(f"{API}/{ledger}/backups/{taken}").json()["completed_at"])

        def window_past_the_backup() -> bool:
            answer = api.get(f"{API}/{ledger}/restore-window")
            return answer.status_code == 200 and moment(answer.json()["latest"]) > completed

        until(window_past_the_backup, timeout=30, message="a restore window past the backup")
        provider = api.get("/api/v1/providers").json()["providers"][0]["id"]
    return Seeded(cache=cache, backup=backup, ledger=ledger, provider=provider)


# Each page: its address, an element that says it is drawn, its screenshot's name (or None).
def pages(seeded: Seeded) -> list[tuple[str, str, str | None]]:
    project = "/console/domain/acme/project/shop"
    return [
        (DATABASES, "#databases .status-running", None),  # pictured by test_manners_in_a_browser
        ("/console/databases", "#open-project", "all-databases"),
        (
            f"{DATABASES}/{seeded.cache}",
            "#backup-list",
            None,
        ),  # pictured by test_manners_in_a_browser
        (f"{project}/operations", "#filter", "operations"),
        (f"{project}/backups", "#project-backups", "backups"),
        (f"{DATABASES}/{seeded.cache}/backups/{seeded.backup}", "#clone-submit", None),
        (f"{DATABASES}/{seeded.ledger}/point-in-time", "#time-bar", "point-in-time"),
        ("/console/admin/providers", "#providers meter", "providers"),
        (f"/console/admin/providers/{seeded.provider}", "#provider-name", None),
        ("/console/admin/quotas?domain=acme&project=shop", "#project-quota meter", "quotas"),
        ("/console/audit", "#audit", "audit"),
        ("/console/api-keys", "#create-key", "api-keys"),
    ]


def test_every_page_has_good_manners_at_both_widths_and_is_pictured(
    browser: WebDriver, served: Served, seeded: Seeded
) -> None:
    sign_in(browser, served, served.admin_token)
    failed: list[str] = []
    for path, drawn, picture in pages(seeded):
        browser.get(served.url + path)
        wait(browser, 15).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, drawn)), f"{path}: no {drawn}"
        )
        found = manners.page_manners(browser) + manners.keyboard_failures(browser)
        failed += [f"{path}: {line}" for line in found]
        if picture:
            manners.screenshot(browser, picture)

    browser.get(served.url + "/console/api-keys")
    browser.find_element(By.ID, "name").send_keys("deploy bot")
    browser.find_element(By.ID, "domain").send_keys("acme")
    browser.find_element(By.ID, "create-key").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "secret")))
    found = manners.page_manners(browser) + manners.keyboard_failures(browser)
    failed += [f"key created: {line}" for line in found]
    assert not failed, "\n".join(failed)
