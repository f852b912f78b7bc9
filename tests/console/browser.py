"""The browser tests' machinery: the app served on a free port (`tests.serving`: a browser
needs a real socket) with the simulator as its cluster, and a headless Debian chromium
driven by Selenium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.serving import Served, serve

__all__ = ["Served", "serve"]

INSTALL_HINT = "no chromium for the browser tests: apt-get install -y chromium chromium-driver"


def chromium(folder: Path) -> WebDriver:
    """A headless chromium at 1280x900 with its own profile; skips without one."""
    binary = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.skip(INSTALL_HINT)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--user-data-dir={folder}",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


# The project every browser test works in, and its databases page.
DATABASES = "/console/domain/acme/project/shop/databases"


def wait(driver: WebDriver, seconds: float = 10) -> WebDriverWait[WebDriver]:
    """A wait whose condition is tried again when htmx swapped an element it was reading
    (a stale element is a page that moved on, not a failure)."""
    return WebDriverWait(
        driver, seconds, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
    )


def sign_in(browser: WebDriver, served: Served, token: str, *, then: str = DATABASES) -> None:
    """Open `then`, sign in on the page it redirects to, wait for the signed-in header."""
    browser.get(served.url + then)
    wait(browser).until(ec.presence_of_element_located((By.ID, "api_key")))
    browser.find_element(By.ID, "api_key").send_keys(token)
    browser.find_element(By.ID, "sign-in").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "sign-out")))
