"""The console's good manners (tests/console/manners.py) applied in a real browser to the
pages it has: sign-in, an error page, a project's databases, the create form and a
database's page while an operation runs; and the screenshots the README shows."""

from __future__ import annotations

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from tests.console import manners
from tests.console.browser import DATABASES, Served, sign_in, wait


def assert_manners(browser: WebDriver, page: str) -> None:
    failed = manners.page_manners(browser) + manners.keyboard_failures(browser)
    assert not failed, f"{page}:\n" + "\n".join(failed)


def test_the_sign_in_and_error_pages_have_good_manners(browser: WebDriver, served: Served) -> None:
    browser.get(served.url + DATABASES)
    wait(browser).until(ec.presence_of_element_located((By.ID, "api_key")))
    assert_manners(browser, "sign-in")
    browser.find_element(By.ID, "api_key").send_keys("kdb_wrong")
    browser.find_element(By.ID, "sign-in").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "api_key_error")))
    assert_manners(browser, "sign-in with an error")
    sign_in(browser, served, served.admin_token)
    browser.get(served.url + DATABASES + "/no-such-database")
    wait(browser).until(ec.presence_of_element_located((By.ID, "error-title")))
    assert_manners(browser, "error page")


def test_the_databases_list_and_the_create_form_have_good_manners(
    browser: WebDriver, served: Served
) -> None:
    with served.api() as api:
        for name in ("inventory", "a-database-with-a-rather-long-name-for-a-phone"):
            created = api.post(
                "/api/v1/domain/acme/project/shop/databases",
                json={"name": name, "engine": "redis", "version": "8.2.2"},
            )
            assert created.status_code == 202, created.text
    sign_in(browser, served, served.admin_token)
    # Both running (the list is drawn once): the screenshot shows what a user mostly sees.
    wait(browser, 25).until(lambda b: b.refresh() or b.page_source.count("status-running") == 2)
    assert_manners(browser, "databases")
    manners.screenshot(browser, "databases")
    browser.get(served.url + DATABASES + "/new")
    browser.find_element(By.ID, "name").send_keys("ab")
    browser.find_element(By.ID, "submit-create").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "name_error")))
    assert_manners(browser, "create form with an error")
    browser.get(served.url + DATABASES + "/new")
    assert_manners(browser, "create form")
    manners.screenshot(browser, "create")


def keys(browser: WebDriver, *typed: str) -> None:
    ActionChains(browser).send_keys(*typed).perform()


def test_a_database_created_with_the_keyboard_alone_does_not_shift_while_it_refreshes(
    browser: WebDriver, served: Served
) -> None:
    sign_in(browser, served, served.admin_token, then=DATABASES + "/new")
    with manners.window(browser, *manners.PHONE_WHOLE_PAGE):  # every shift in view
        create_with_the_keyboard_and_watch(browser)
    browser.refresh()  # the overview and connection are drawn once: the settled ones
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "port"), "6379"))
    assert_manners(browser, "database page")
    manners.screenshot(browser, "database")


def create_with_the_keyboard_and_watch(browser: WebDriver) -> None:
    focused = browser.switch_to.active_element
    while focused.get_attribute("id") != "name":  # from the top: the header's links first
        keys(browser, Keys.TAB)
        focused = browser.switch_to.active_element
    keys(browser, "keyboard", Keys.TAB, "redis")
    # The versions follow the engine through htmx: wait for them before tabbing on (on a
    # busy machine the swap landed while the keys below went on, and focus went with it).
    wait(browser).until(lambda b: "redis 8" in b.find_element(By.ID, "version").text)
    for _ in range(20):  # on through the form's other controls (their defaults) to Create
        keys(browser, Keys.TAB)
        if browser.switch_to.active_element.get_attribute("id") == "submit-create":
            break
    keys(browser, Keys.ENTER)
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "database-name"), "keyboard"))
    manners.watch_layout_shift(browser)  # buffered: counts from the page's load
    assert browser.find_element(By.ID, "status").text != "running"  # it refreshes from here
    wait(browser, 25).until(ec.element_to_be_clickable((By.ID, "pause")))
    assert browser.find_element(By.ID, "status").text == "running"
    total, shifts = manners.layout_shift(browser)
    assert total < 0.1, f"cumulative layout shift {total:.3f}: {shifts}"


def test_a_database_page_keeps_its_size_over_hundreds_of_refreshes(
    browser: WebDriver, served: Served
) -> None:
    with served.api() as api:
        created = api.post(
            "/api/v1/domain/acme/project/shop/databases",
            json={"name": "long-lived", "engine": "redis", "version": "8.2.2"},
        )
        assert created.status_code == 202, created.text
    page = f"{DATABASES}/{created.json()['id']}"
    sign_in(browser, served, served.admin_token, then=page)
    wait(browser, 25).until(ec.element_to_be_clickable((By.ID, "pause")))  # settled

    def swaps(times: int) -> None:
        seen = manners.swap_repeatedly(
            browser, url=page + "/activity", target="#activity", times=times
        )
        assert seen == times

    swaps(20)  # warm: htmx's and the page's first allocations
    before = manners.dom_size(browser)
    swaps(200)  # nearly seven minutes of polling every 2 s
    after = manners.dom_size(browser)
    assert after["elements"] == before["elements"], (before, after)
    assert after["live nodes"] == before["live nodes"], (before, after)
    assert after["Nodes"] <= before["Nodes"] + 100, (before, after)  # detached, still held
    assert after["JSEventListeners"] <= before["JSEventListeners"] + 10, (before, after)
    assert after["JSHeapUsedSize"] <= before["JSHeapUsedSize"] + 1_000_000, (before, after)
