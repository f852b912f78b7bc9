"""The HTTP edge of the running process (issue 12, items 14, 15, 17): security headers on
every answer, the docs page with local assets only, proxy headers believed only from
FORWARDED_ALLOW_IPS (both ways the process starts), no `Host` in redirects, and CORS only
for configured origins."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import AppProcess
from tests.support import free_port
from tests.test_deployment import dockerfile

MakeApp = Callable[..., AppProcess]
CONSOLE = "https://console.example.com"
KEYS = "/api/v1/api-keys"


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value is not None:
                self.urls.append(value)


def admin(app: AppProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {(app.data_dir / 'admin-api-key').read_text().strip()}"}


def audited_client(app: AppProcess, headers: dict[str, str]) -> str | None:
    """Create a key with `headers` added; the `client` its audit entry records."""
    name = f"edge-{time.monotonic_ns()}"
    created = httpx.post(
        f"{app.url}{KEYS}",
        headers={**admin(app), **headers},
        json={"name": name, "role": "viewer", "domain": "acme"},
    )
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 10
    while True:
        page = httpx.get(f"{app.url}/api/v1/audit?page_size=100", headers=admin(app)).json()
        entries = [
            e for e in page["entries"] if e["action"] == f"POST {KEYS}" and e["outcome"] == 201
        ]
        if len(entries) >= audited_client.seen.get(app.url, 0) + 1:  # type: ignore[attr-defined]
            audited_client.seen[app.url] = len(entries)  # type: ignore[attr-defined]
            client: str | None = entries[0]["client"]
            return client
        assert time.monotonic() < deadline, "the audit entry was not written"
        time.sleep(0.05)


audited_client.seen = {}  # type: ignore[attr-defined]

SPOOFED = {
    "X-Forwarded-For": "6.6.6.6",
    "X-Forwarded-Proto": "https",
    "Forwarded": "for=7.7.7.7;proto=https",
}


@pytest.fixture(scope="module")
def default_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    with _app(tmp_path_factory.mktemp("edge-default")) as app:
        yield app


@pytest.fixture(scope="module")
def configured_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    with _app(
        tmp_path_factory.mktemp("edge-configured"),
        CORS_ALLOW_ORIGINS=CONSOLE,
        FORWARDED_ALLOW_IPS="127.0.0.1",
    ) as app:
        yield app


@contextmanager
def _app(base: Path, command: list[str] | None = None, **env: str) -> Iterator[AppProcess]:
    """`python -m app` (or `command`) on a free port with its own DATA_DIR, until the end."""
    port = free_port()
    process_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONGODB_", "REDIS_", "FORWARDED_", "CORS_"))
    }
    process_env.update(
        {"DATA_DIR": str(base / "var"), "PORT": str(port), "INSTANCE_ID": "edge", **env}
    )
    app = AppProcess(
        data_dir=base / "var", port=port, log_path=base / "app.observability.log", env=process_env
    )
    if command is not None:
        command = [c.replace("8000", str(port)).replace("0.0.0.0", "127.0.0.1") for c in command]
    try:
        app.start(command).wait_healthy()
        yield app
    finally:
        app.kill()


# --- item 14: security headers, local docs -----------------------------------------------


def test_every_answer_carries_nosniff_and_no_referrer(default_app: AppProcess) -> None:
    answers = [
        httpx.get(f"{default_app.url}/health/live"),
        httpx.get(f"{default_app.url}/api/v1/domain/acme/project/shop/databases"),  # 401
        httpx.get(f"{default_app.url}/no/such/route"),  # 404
        httpx.get(f"{default_app.url}/openapi.json"),
    ]

    assert [a.status_code for a in answers] == [200, 401, 404, 200]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in answer.headers["content-security-policy"]


def test_the_docs_page_loads_only_local_assets_that_answer_200_under_a_strict_policy(
    default_app: AppProcess,
) -> None:
    page = httpx.get(f"{default_app.url}/docs")
    parser = _Assets()
    parser.feed(page.text)

    policy = page.headers["content-security-policy"]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy
    assert "<script>" not in page.text  # no inline script: the policy would block it
    assert "http:" not in page.text and "https:" not in page.text and "//" not in page.text
    assert len([u for u in parser.urls if u.endswith(".js")]) >= 2
    assert any(u.endswith(".css") for u in parser.urls)
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = httpx.get(f"{default_app.url}{url}")
        assert asset.status_code == 200, url
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{default_app.url}/redoc").status_code == 404


# --- item 15: proxy headers, Host in redirects ------------------------------------------


def test_forwarded_headers_from_loopback_are_ignored_by_default(default_app: AppProcess) -> None:
    assert audited_client(default_app, SPOOFED) == "127.0.0.1"


def test_the_images_uvicorn_command_ignores_forwarded_headers_by_default(
    tmp_path: Path,
) -> None:
    command = json.loads(dict(dockerfile())["CMD"])
    assert command[0] == "uvicorn"
    with _app(tmp_path, ["-m", *command]) as app:
        assert audited_client(app, SPOOFED) == "127.0.0.1"


def test_forwarded_for_is_believed_from_a_listed_proxy(configured_app: AppProcess) -> None:
    assert audited_client(configured_app, {"X-Forwarded-For": "6.6.6.6"}) == "6.6.6.6"


def test_a_trailing_slash_redirect_does_not_reflect_the_host_header(
    default_app: AppProcess,
) -> None:
    answer = httpx.get(f"{default_app.url}/health/live/", headers={"Host": "evil.example"})

    assert answer.status_code in (307, 308)
    assert answer.headers["location"] == "/health/live"


# --- item 17: CORS ---------------------------------------------------------------------


def preflight(app: AppProcess, origin: str) -> httpx.Response:
    return httpx.options(
        f"{app.url}/api/v1/domain/acme/project/shop/databases",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def cors_headers(answer: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k.lower().startswith("access-control-")}


def test_without_cors_origins_no_answer_carries_a_cors_header(default_app: AppProcess) -> None:
    options = preflight(default_app, CONSOLE)
    get = httpx.get(f"{default_app.url}/health/live", headers={"Origin": CONSOLE})

    assert cors_headers(options) == {} and cors_headers(get) == {}


def test_a_preflight_from_an_allowed_origin_is_answered_with_the_cors_headers(
    configured_app: AppProcess,
) -> None:
    options = preflight(configured_app, CONSOLE)
    get = httpx.get(f"{configured_app.url}/health/live", headers={"Origin": CONSOLE})

    assert options.status_code == 200
    headers = cors_headers(options)
    assert headers["access-control-allow-origin"] == CONSOLE
    assert "POST" in headers["access-control-allow-methods"]
    assert "authorization" in headers["access-control-allow-headers"].lower()
    assert "vary" in {k.lower() for k in options.headers}
    assert get.headers["access-control-allow-origin"] == CONSOLE
    assert "x-request-id" in get.headers["access-control-expose-headers"].lower()


def test_a_preflight_from_another_origin_gets_no_cors_header(configured_app: AppProcess) -> None:
    options = preflight(configured_app, "https://evil.example")
    get = httpx.get(f"{configured_app.url}/health/live", headers={"Origin": "https://evil.example"})

    assert cors_headers(options) == {} and cors_headers(get) == {}


def test_a_refused_preflight_answers_the_error_shape_with_a_request_id(
    configured_app: AppProcess,
) -> None:
    other_origin = preflight(configured_app, "https://evil.example")
    bad_method = httpx.options(
        f"{configured_app.url}/api/v1/domain/acme/project/shop/databases",
        headers={"Origin": CONSOLE, "Access-Control-Request-Method": "TRACE"},
    )

    for answer, refused in ((other_origin, ["origin"]), (bad_method, ["method"])):
        assert answer.status_code == 400
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["error"]["code"] == "cors_preflight_refused"
        assert answer.json()["error"]["details"] == {"refused": refused}
        assert answer.headers["x-request-id"]
        assert cors_headers(answer) == {}


def test_an_accepted_preflight_carries_a_request_id(configured_app: AppProcess) -> None:
    answer = httpx.options(
        f"{configured_app.url}/api/v1/domain/acme/project/shop/databases",
        headers={
            "Origin": CONSOLE,
            "Access-Control-Request-Method": "POST",
            "X-Request-ID": "preflight-1",
        },
    )

    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "preflight-1"
