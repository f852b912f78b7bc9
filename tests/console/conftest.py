"""The console tests' fixtures: one app with the simulator per test module (`served`), a
fresh headless chromium per test (`browser`), and for HTTP-level tests the app in process
with the simulator per test (`platform`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from tests.console.browser import Served, chromium
from tests.e2e.conftest import platform  # the app in process with the simulator
from tests.serving import served_app


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedded_redis_url: str) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("console-app")
    yield from served_app(folder, embedded_redis_url, name="console")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    driver = chromium(tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        driver.quit()


__all__ = ["browser", "platform", "served"]
