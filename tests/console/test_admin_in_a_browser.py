"""The admin pages in a real browser: a key created on the keys page, its secret copied,
its creation on the audit page; the providers' capacity meters."""

from __future__ import annotations

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from tests.console.browser import Served, sign_in, wait


def test_an_admin_creates_a_key_copies_its_secret_and_finds_it_in_the_audit_log(
    browser: WebDriver, served: Served
) -> None:
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": served.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    sign_in(browser, served, served.admin_token, then="/console/api-keys")
    browser.find_element(By.ID, "name").send_keys("deploy bot")
    Select(browser.find_element(By.ID, "role")).select_by_value("member")
    browser.find_element(By.ID, "domain").send_keys("acme")
    browser.find_element(By.ID, "create-key").click()
    secret = wait(browser).until(ec.presence_of_element_located((By.ID, "secret"))).text
    key_id = browser.find_element(By.ID, "key-id").text
    assert secret.startswith("kdb_")
    browser.find_element(By.ID, "copy-secret").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "copy-secret"), "Copied"))
    copied = browser.execute_async_script(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, () => done(null));"
    )
    assert copied == secret
    with served.api(secret) as api:  # the copied secret is a working key
        assert api.get("/api/v1/domain/acme/project/shop/databases").status_code == 200
    browser.find_element(By.ID, "back-to-keys").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, f"key-{key_id}")))
    assert secret not in browser.page_source
    browser.find_element(By.LINK_TEXT, "Audit log").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "f-outcome")))
    browser.find_element(By.ID, "f-outcome").send_keys("201")
    browser.find_element(By.ID, "filter").click()
    wait(browser).until(ec.url_contains("outcome=201"))
    table = browser.find_element(By.ID, "audit").text
    assert "POST /console/api-keys" in table
    # The time is shown in the browser's zone, its UTC value on hover.
    when = browser.find_element(By.CSS_SELECTOR, "#audit time")
    assert when.get_attribute("data-local") == "1" and "UTC" in when.get_attribute("title")


def test_an_admin_sees_each_providers_capacity_as_meters(
    browser: WebDriver, served: Served
) -> None:
    sign_in(browser, served, served.admin_token, then="/console/admin/providers")
    meters = browser.find_elements(By.CSS_SELECTOR, "#providers meter")
    assert len(meters) == 3  # the local provider: cpu, memory, storage
    for meter in meters:
        assert float(meter.get_attribute("max")) > 0
        assert meter.get_attribute("value") is not None
    amounts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#providers .amount")]
    assert amounts[0].endswith("cores") and " of " in amounts[0]
    browser.find_element(By.LINK_TEXT, "local").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "provider-name")))
    assert browser.find_element(By.ID, "provider-name").text == "local"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#main meter")) == 3
