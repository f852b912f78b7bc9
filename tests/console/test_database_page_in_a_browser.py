"""A database's page in a real browser: credentials revealed and copied to the clipboard, a
Redis database scaled then upgraded from its forms, each watched to the end on the timeline."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from tests.console.browser import DATABASES, Served, sign_in, wait

API = "/api/v1/domain/acme/project/shop/databases"


def created(served: Served, **body: Any) -> str:
    with served.api() as api:
        answer = api.post(API, json={"engine": "redis", **body})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])


def last_operation_succeeded(operation_type: str) -> Any:
    """The timeline's newest entry is `operation_type` and has succeeded."""

    def check(driver: WebDriver) -> bool:
        newest = driver.find_elements(By.CSS_SELECTOR, "#operations li.operation")
        if not newest:
            return False
        kind = newest[0].find_element(By.CLASS_NAME, "op-type").text
        return kind == operation_type and "op-succeeded" in (newest[0].get_attribute("class") or "")

    return check


def test_credentials_are_revealed_on_a_click_and_copied_to_the_clipboard(
    browser: WebDriver, served: Served
) -> None:
    database_id = created(served, name="cache", version="8.2.2")
    # The page's origin may use the clipboard (a visitor's browser asks them instead).
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": served.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    sign_in(browser, served, served.admin_token, then=f"{DATABASES}/{database_id}")
    wait(browser, 25).until(ec.text_to_be_present_in_element((By.ID, "status"), "running"))
    assert browser.find_elements(By.ID, "password") == []
    browser.find_element(By.ID, "reveal").click()
    password = wait(browser).until(ec.visibility_of_element_located((By.ID, "password"))).text
    command = browser.find_element(By.ID, "client-command").text
    assert command.startswith("REDISCLI_AUTH=") and " redis-cli -h " in command
    for source in ("password", "client-command"):
        button = browser.find_element(By.CSS_SELECTOR, f'button[data-copy="#{source}"]')
        button.click()
        wait(browser).until(lambda _, b=button: b.text == "Copied")
        pasted = browser.execute_async_script(
            "navigator.clipboard.readText().then(arguments[0], e => arguments[0]('!' + e));"
        )
        expected = password if source == "password" else command
        assert pasted == expected, source


def test_a_redis_database_is_scaled_then_upgraded_from_its_page(
    browser: WebDriver, served: Served
) -> None:
    database_id = created(served, name="queue", version="7.4.6", high_availability=True, replicas=3)
    sign_in(browser, served, served.admin_token, then=f"{DATABASES}/{database_id}")
    # The forms come once the create operation has ended, and its progress bar goes.
    wait(browser, 25).until(ec.element_to_be_clickable((By.ID, "scale")))
    assert browser.find_elements(By.ID, "current-progress") == []
    replicas = Select(browser.find_element(By.ID, "replicas"))
    assert [o.text for o in replicas.options] == [str(n) for n in range(2, 10)]
    replicas.select_by_value("4")
    browser.find_element(By.ID, "scale").click()
    wait(browser, 25).until(last_operation_succeeded("scale_horizontal"))
    wait(browser, 15).until(ec.element_to_be_clickable((By.ID, "upgrade")))
    targets = Select(browser.find_element(By.ID, "target_version"))
    target = targets.options[0].get_attribute("value")
    assert target and target != "7.4.6"
    targets.select_by_value(target)
    browser.find_element(By.ID, "upgrade").click()
    wait(browser, 25).until(last_operation_succeeded("upgrade_version"))
    browser.refresh()
    overview = browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=overview]").text
    assert f"redis {target}" in overview and "of 4" in overview


def test_the_create_forms_versions_and_replicas_follow_the_engine(
    browser: WebDriver, served: Served
) -> None:
    sign_in(browser, served, served.admin_token, then=DATABASES + "/new")
    help_text = browser.find_element(By.ID, "topology-help")
    Select(browser.find_element(By.ID, "engine")).select_by_value("mariadb")
    wait(browser).until(ec.staleness_of(help_text))  # swapped in by htmx, no reload
    versions = Select(browser.find_element(By.ID, "version")).options
    assert versions and all(o.text.startswith("mariadb ") for o in versions)
    assert [o.text for o in Select(browser.find_element(By.ID, "replicas")).options] == ["1"]
    assert "Galera" in browser.find_element(By.ID, "topology-help").text
    browser.find_element(By.ID, "high_availability").click()
    wait(browser).until(
        lambda b: (
            [o.text for o in Select(b.find_element(By.ID, "replicas")).options]
            == ["3", "5", "7", "9"]
        )
    )
    assert browser.find_element(By.ID, "engine").get_attribute("value") == "mariadb"
