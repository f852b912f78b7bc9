"""The console tests' fixtures: one app with the simulator per test module (`served`), a
fresh headless chromium per test (`browser`), and for HTTP-level tests the app in process
with the simulator per test (`platform`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from app.broker.keys import RedisKeys
from app.config.settings import Settings
from tests import support
from tests.console.browser import Served, chromium, serve
from tests.e2e.conftest import platform  # the app in process with the simulator


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedded_redis_url: str) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("console-app")
    keys = RedisKeys(f"test-console-{uuid.uuid4().hex[:8]}")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=folder / "var",
        redis_key_prefix=keys.prefix,
        instance_id="console-test",
        num_operation_workers=2,
        operation_read_block=0.1,
        rate_limit_per_minute=0,
        anonymous_rate_limit_per_minute=0,
    )
    yield from serve(settings, embedded_redis_url, folder)
    support.delete_keys(embedded_redis_url, keys.pattern)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    driver = chromium(tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        driver.quit()


__all__ = ["browser", "platform", "served"]
