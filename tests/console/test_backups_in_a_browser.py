"""Backups in a real browser: a PostgreSQL database backed up from its page, the backup
watched to its end, then cloned from the page into a new database that holds, read with a
real client, the rows written before the backup."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.console.browser import DATABASES, Served, sign_in, wait
from tests.e2e.platform import VERSIONS

API = "/api/v1/domain/acme/project/shop/databases"


def simulator_of(served: Served, base: Path) -> httpx.Client:
    """The module's simulator (its admin endpoint), found by the app's key file beside the
    kubeconfig the app was given."""
    for kubeconfig in base.glob("console-app*/kubeconfig"):
        key_file = kubeconfig.parent / "var" / "admin-api-key"
        if key_file.exists() and key_file.read_text().strip() == served.admin_token:
            config = json.loads(kubeconfig.read_text())
            server = config["clusters"][0]["cluster"]["server"]
            token = config["users"][0]["user"]["token"]
            return httpx.Client(
                base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
    raise AssertionError("no kubeconfig of this module's app")


def until(check: Any, *, timeout: float, message: str) -> Any:
    """`check()`'s first truthy answer, polled until `timeout` (seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def rows(api: httpx.Client, database_id: str, statement: str) -> list[Any]:
    """`statement`'s rows, through the connection string the API hands out."""
    credentials = api.get(f"{API}/{database_id}/credentials")
    assert credentials.status_code == 200, credentials.text
    with psycopg.connect(
        credentials.json()["connection_string"], connect_timeout=5, autocommit=True
    ) as connection:
        cursor = connection.execute(statement)
        return cursor.fetchall() if cursor.description else []


def real_and_healthy(api: httpx.Client, database_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"{API}/{database_id}").json()
        wanted = (body["data_plane"], body["health_status"], body["endpoint"])
        return body if wanted == ("real", "healthy", "127.0.0.1") else None

    found: dict[str, Any] = until(check, timeout=60, message=f"{database_id} real and healthy")
    return found


def settled(browser: WebDriver, status: str) -> bool:
    """The backups section shows its newest backup in `status` and polls no more."""
    try:
        section = browser.find_element(By.ID, "backups")
        badges = section.find_elements(By.CSS_SELECTOR, "#backup-list .badge")
        return bool(badges) and badges[0].text == status and not section.get_attribute("hx-trigger")
    except (NoSuchElementException, StaleElementReferenceException):  # mid-swap
        return False


def test_a_backup_taken_on_the_page_is_cloned_into_a_database_holding_the_rows_before_it(
    browser: WebDriver, served: Served, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with simulator_of(served, tmp_path_factory.getbasetemp()) as cluster:
        assert cluster.patch("/_sim/config", json={"real_databases": 2}).status_code == 200
    with served.api() as api:
        created = api.post(
            API,
            json={
                "name": "orders",
                "engine": "postgres",
                "version": VERSIONS["postgres"],
                "backup_enabled": False,  # only the backup taken here is listed
            },
        )
        assert created.status_code == 202, created.text
        source = created.json()["id"]
        real_and_healthy(api, source)
        rows(api, source, "create table orders (n int)")
        rows(api, source, "insert into orders values (1), (2)")

        sign_in(browser, served, served.admin_token, then=f"{DATABASES}/{source}")
        wait(browser, 20).until(ec.element_to_be_clickable((By.ID, "back-up-now"))).click()
        # The section polls while the backup runs and stops once it has succeeded.
        wait(browser, 60).until(lambda b: settled(b, "succeeded"))
        rows(api, source, "insert into orders values (3)")  # after the backup: not cloned

        browser.find_element(By.CSS_SELECTOR, "#backup-list a").click()
        wait(browser).until(ec.presence_of_element_located((By.ID, "name"))).send_keys(
            "orders-copy"
        )
        browser.find_element(By.ID, "clone-submit").click()
        wait(browser).until(
            ec.text_to_be_present_in_element((By.ID, "database-name"), "orders-copy")
        )
        copy = browser.current_url.rsplit("/", 1)[1]
        wait(browser, 60).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, ".status-running"))
        )
        real_and_healthy(api, copy)

        assert rows(api, copy, "select n from orders order by n") == [(1,), (2,)]
        assert rows(api, source, "select n from orders order by n") == [(1,), (2,), (3,)]
        listed = api.get(f"{API}/{source}/backups").json()["backups"]
        assert [(b["type"], b["status"]) for b in listed] == [("manual", "succeeded")]
