"""The console's flows in a real browser (headless Debian chromium through Selenium) against
the app on a real port with the simulator as its cluster."""

from __future__ import annotations

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from app.domain.api_keys import new_token
from tests.console.browser import DATABASES, Served, sign_in, wait


def test_the_admin_signs_in_with_the_key_file_and_opens_a_projects_databases(
    browser: WebDriver, served: Served
) -> None:
    browser.get(served.url + "/")
    wait(browser).until(ec.presence_of_element_located((By.ID, "key-file")))
    assert "admin-api-key" in browser.find_element(By.ID, "key-file").text
    browser.find_element(By.ID, "api_key").send_keys(served.admin_token)
    browser.find_element(By.ID, "sign-in").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "open-project")))
    browser.find_element(By.ID, "domain").send_keys("acme")
    browser.find_element(By.ID, "project").send_keys("shop")
    browser.find_element(By.ID, "open-project").click()
    wait(browser).until(ec.title_contains("Databases of acme/shop"))
    assert browser.current_url == served.url + DATABASES
    assert browser.find_element(By.ID, "create").is_displayed()


def test_a_wrong_key_is_told_on_the_sign_in_page(browser: WebDriver, served: Served) -> None:
    browser.get(served.url + DATABASES)
    wait(browser).until(ec.presence_of_element_located((By.ID, "api_key")))
    browser.find_element(By.ID, "api_key").send_keys(new_token().text)  # well formed, unknown
    browser.find_element(By.ID, "sign-in").click()
    error = wait(browser).until(ec.presence_of_element_located((By.ID, "api_key_error")))
    assert "not valid" in error.text
    assert browser.find_elements(By.ID, "sign-out") == []


def test_a_validation_error_is_shown_by_its_field(browser: WebDriver, served: Served) -> None:
    sign_in(browser, served, served.admin_token, then=DATABASES + "/new")
    browser.find_element(By.ID, "name").send_keys("ab")
    browser.find_element(By.ID, "submit-create").click()
    error = wait(browser).until(ec.presence_of_element_located((By.ID, "name_error")))
    assert "at least 3 characters" in error.text
    assert browser.find_element(By.ID, "name").get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.ID, "name").get_attribute("value") == "ab"


def test_a_viewer_sees_no_create_button_and_a_forged_post_is_refused(
    browser: WebDriver, served: Served
) -> None:
    with served.api() as api:
        answer = api.post(
            "/api/v1/api-keys",
            json={"name": "viewer", "role": "viewer", "domain": "acme", "project": "shop"},
        )
        assert answer.status_code == 201, answer.text
    sign_in(browser, served, answer.json()["secret"])
    wait(browser).until(ec.title_contains("Databases of acme/shop"))
    assert browser.find_elements(By.ID, "create") == []
    # The page's own CSRF token, in a form the page does not offer.
    browser.execute_script(
        """
        const form = document.createElement("form");
        form.method = "post";
        form.action = arguments[0];
        for (const [name, value] of [["csrf", document.querySelector("[name=csrf]").value],
                                     ["name", "forged"], ["engine", "postgres"]]) {
          const input = document.createElement("input");
          input.name = name; input.value = value; form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
        """,
        DATABASES,
    )
    title = wait(browser).until(ec.presence_of_element_located((By.ID, "error-title")))
    assert title.text == "Not allowed"
    assert "viewer" in browser.find_element(By.ID, "error-message").text


def test_sign_out_ends_the_session_and_its_cookie_no_longer_works(
    browser: WebDriver, served: Served
) -> None:
    sign_in(browser, served, served.admin_token)
    cookie = browser.get_cookie("kdb_console")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    browser.find_element(By.ID, "sign-out").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "api_key")))
    browser.add_cookie({"name": "kdb_console", "value": cookie["value"], "path": "/console"})
    browser.get(served.url + DATABASES)
    wait(browser).until(ec.presence_of_element_located((By.ID, "api_key")))
    assert "/console/sign-in" in browser.current_url


# Last (these two): a database's real server (the simulator's data plane) keeps a core busy.
def test_a_database_created_through_the_form_becomes_running_on_its_page(
    browser: WebDriver, served: Served
) -> None:
    sign_in(browser, served, served.admin_token)
    browser.find_element(By.ID, "create").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "submit-create")))
    browser.find_element(By.ID, "name").send_keys("orders")
    Select(browser.find_element(By.ID, "engine")).select_by_value("postgres")
    Select(browser.find_element(By.ID, "version")).select_by_visible_text("postgres 16.13")
    browser.find_element(By.ID, "submit-create").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "database-name"), "orders"))
    assert browser.execute_script("return typeof htmx") == "object"  # served, not blocked
    # The badges refresh in place (htmx): no reload here.
    wait(browser, 25).until(ec.text_to_be_present_in_element((By.ID, "status"), "running"))
    browser.refresh()
    assert browser.find_element(By.ID, "port").text.isdigit()
    assert browser.find_elements(By.ID, "password") == []  # not in the page until asked
    browser.find_element(By.ID, "reveal").click()
    password = wait(browser).until(ec.visibility_of_element_located((By.ID, "password")))
    assert len(password.text) >= 8
    assert browser.find_element(By.ID, "connection-string").text.startswith("postgres")
    browser.get(served.url + DATABASES + "?engine=postgres&name=ord")
    assert browser.find_element(By.LINK_TEXT, "orders").is_displayed()


def test_a_database_is_paused_resumed_and_deleted_from_its_page(
    browser: WebDriver, served: Served
) -> None:
    with served.api() as api:
        created = api.post(
            "/api/v1/domain/acme/project/shop/databases",
            json={"name": "ledger", "engine": "redis", "version": "8.2.2"},
        )
        assert created.status_code == 202, created.text
    sign_in(browser, served, served.admin_token, then=f"{DATABASES}/{created.json()['id']}")
    # The actions appear in place (htmx) once the create operation has ended.
    wait(browser, 25).until(ec.element_to_be_clickable((By.ID, "pause"))).click()
    wait(browser, 15).until(ec.text_to_be_present_in_element((By.ID, "status"), "paused"))
    wait(browser, 15).until(ec.element_to_be_clickable((By.ID, "resume"))).click()
    wait(browser, 15).until(ec.element_to_be_clickable((By.ID, "pause")))
    timeline = browser.find_element(By.ID, "operations").text
    assert "pause" in timeline and "resume" in timeline and "succeeded" in timeline
    browser.find_element(By.ID, "confirm_name").send_keys("ledgers")
    browser.find_element(By.ID, "delete").click()
    error = wait(browser).until(ec.presence_of_element_located((By.ID, "confirm_name_error")))
    assert "type ledger" in error.text
    assert browser.find_element(By.ID, "status").text == "running"
    browser.find_element(By.ID, "confirm_name").send_keys("ledger")
    browser.find_element(By.ID, "delete").click()
    wait(browser, 15).until(ec.text_to_be_present_in_element((By.ID, "status"), "deleted"))
    assert browser.find_elements(By.ID, "delete") == []
