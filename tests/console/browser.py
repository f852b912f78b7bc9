"""The browser tests' machinery: the app served by uvicorn on a free port (a browser needs a
real socket) with the simulator as its cluster, in a thread of its own, and a headless
Debian chromium driven by Selenium.

The app starts as on a first start: no ADMIN_API_KEY, so it writes DATA_DIR/admin-api-key,
which the tests read as a user would.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from app.config.settings import Settings
from app.main import create_app
from simulator.kubedb import install
from simulator.server import Simulator, run_simulator
from tests.support import free_port

INSTALL_HINT = "no chromium for the browser tests: apt-get install -y chromium chromium-driver"


@dataclass
class Served:
    url: str
    admin_token: str
    # The app's DATA_DIR (its SQLite store), for a test that seeds records directly.
    data_dir: Path | None = None

    def api(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.admin_token}"},
            timeout=10,
        )


@dataclass
class _Holder:
    server: uvicorn.Server | None = None
    error: BaseException | None = None


def serve(settings: Settings, redis_url: str, folder: Path) -> Iterator[Served]:
    """Run the app and the simulator until the generator is closed."""
    port = free_port()
    holder = _Holder()

    async def main() -> None:
        async with run_simulator(simulator=Simulator(plugins=[install])) as cluster:
            cluster.simulator.config.update({"time_scale": 0.005})
            kubeconfig = folder / "kubeconfig"
            kubeconfig.write_text(json.dumps(cluster.kubeconfig()))
            app = create_app(
                settings.model_copy(
                    update={
                        "redis_url": redis_url,
                        "cluster_kubeconfig": kubeconfig,
                        "operation_poll_interval": 0.05,
                        "operation_step_timeout": 5,
                        "operation_visibility_timeout": 10,
                        "operation_retry_initial": 0.05,
                        "status_sync_interval": 0.5,
                    }
                )
            )
            config = uvicorn.Config(
                # log_config None: uvicorn must not reconfigure the test process's logging
                # (tests/unit/test_logging.py, when on the same worker, reads it).
                app,
                host="127.0.0.1",
                port=port,
                log_config=None,
                lifespan="on",
            )
            holder.server = uvicorn.Server(config)
            await holder.server.serve()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the waiting test
            holder.error = exc

    thread = threading.Thread(target=run, name="console-app", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if holder.error is not None or not thread.is_alive():
            raise AssertionError(f"the app did not start: {holder.error!r}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the app was not healthy within 30 s")
        time.sleep(0.05)
    key_file = settings.data_dir / "admin-api-key"
    try:
        yield Served(url=url, admin_token=key_file.read_text().strip(), data_dir=settings.data_dir)
    finally:
        if holder.server is not None:
            holder.server.should_exit = True
        thread.join(timeout=30)


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
    return WebDriverWait(driver, seconds, poll_frequency=0.1)


def sign_in(browser: WebDriver, served: Served, token: str, *, then: str = DATABASES) -> None:
    """Open `then`, sign in on the page it redirects to, wait for the signed-in header."""
    browser.get(served.url + then)
    wait(browser).until(ec.presence_of_element_located((By.ID, "api_key")))
    browser.find_element(By.ID, "api_key").send_keys(token)
    browser.find_element(By.ID, "sign-in").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "sign-out")))
