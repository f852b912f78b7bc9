"""The console's lists in a real browser: sorting a project's databases from the keyboard and
by clicking, and cancelling an operation from the project's operations page (the list
refreshing itself until it settles)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from app.domain import clock
from app.domain.databases import Database, DatabaseStatus
from app.domain.operations import Operation
from app.store.sqlite import SQLiteStore
from tests.console.browser import Served, sign_in, wait

OPERATIONS = "/console/domain/acme/project/shop/operations"


def seed(served: Served, names: list[tuple[str, str]], *, queued: bool = False) -> list[str]:
    """Databases (name, engine) written to the app's store, one second apart, and with
    `queued` a restart for the first that is not due for an hour (no worker takes it before
    the test acts); their ids, or the operation's id first."""

    async def write() -> list[str]:
        store = await SQLiteStore.open(served.data_dir / "kubedb-dbaas.sqlite3")
        try:
            start = clock.utcnow() - timedelta(hours=1)
            made = []
            for i, (name, engine) in enumerate(names):
                database = Database(
                    name=name,
                    domain="acme",
                    project="shop",
                    engine=engine,
                    version="8.2.2",
                    status=DatabaseStatus.RUNNING,
                    created_at=start + timedelta(seconds=i),
                )
                made.append((await store.databases.insert(database)).id)
            if queued:
                now = clock.utcnow()
                operation = Operation(
                    database_id=made[0],
                    domain="acme",
                    project="shop",
                    type="restart",
                    next_run_at=now + timedelta(hours=1),
                    deadline_at=now + timedelta(hours=2),
                )
                await store.operations.create_active(operation)
                made.insert(0, operation.id)
            return made
        finally:
            await store.close()

    return asyncio.run(write())


def shown_names(browser: WebDriver) -> list[str]:
    return [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#databases tbody td a")]


def test_a_projects_databases_are_sorted_from_their_headers_and_keep_the_filter(
    browser: WebDriver, served: Served
) -> None:
    seed(
        served,
        [("cherry", "redis"), ("apple", "redis"), ("aardvark", "mysql"), ("banana", "redis")],
    )
    sign_in(browser, served, served.admin_token)
    browser.find_element(By.ID, "f-engine").send_keys("redis")
    browser.find_element(By.ID, "filter").click()
    wait(browser).until(lambda b: shown_names(b) == ["banana", "apple", "cherry"])  # newest first

    header = browser.find_element(By.ID, "sort-name")
    header.send_keys(Keys.ENTER)  # a link: the keyboard sorts as a click does
    wait(browser).until(lambda b: shown_names(b) == ["apple", "banana", "cherry"])
    name_column = browser.find_element(By.XPATH, "//th[a[@id='sort-name']]")
    assert name_column.get_attribute("aria-sort") == "ascending"
    assert "engine=redis" in browser.current_url

    browser.find_element(By.ID, "sort-name").click()
    wait(browser).until(lambda b: shown_names(b) == ["cherry", "banana", "apple"])
    name_column = browser.find_element(By.XPATH, "//th[a[@id='sort-name']]")
    assert name_column.get_attribute("aria-sort") == "descending"
    assert browser.find_element(By.ID, "f-engine").get_attribute("value") == "redis"


def test_an_operation_is_cancelled_from_the_operations_page_which_stops_refreshing(
    browser: WebDriver, served: Served
) -> None:
    operation_id, _ = seed(served, [("queue-me", "redis")], queued=True)
    sign_in(browser, served, served.admin_token, then=OPERATIONS)
    listed = browser.find_element(By.ID, "operations-list")
    assert listed.get_attribute("hx-trigger") == "every 2s"  # an active operation is listed

    browser.find_element(By.ID, f"cancel-{operation_id}").click()

    row = f"#operation-{operation_id} .op-status"
    wait(browser, 20).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, row), "cancelled"))
    wait(browser, 10).until(
        lambda b: b.find_element(By.ID, "operations-list").get_attribute("hx-trigger") is None
    )
    assert browser.find_elements(By.ID, f"cancel-{operation_id}") == []
    with served.api() as api:
        assert api.get(f"/api/v1/operations/{operation_id}").json()["status"] == "cancelled"
