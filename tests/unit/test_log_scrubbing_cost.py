"""The log scrubber's cost: linear in its input, whatever a hostile client puts in a URL or a
header, and URLs and header values are bounded before they are logged (issue 12, item 1)."""

from __future__ import annotations

import io
import time

import pytest

from app.observability.access_log import AccessLog
from app.observability.log import (
    MAX_LOGGED_URL_CHARS,
    MAX_LOGGED_VALUE_CHARS,
    get_logger,
    scrub_text,
)

N = 100_000
# Each input ran for minutes through the old backtracking expressions (7 s at 10,000
# characters, growing with the square); a linear pass takes milliseconds. The deadline is
# generous for a loaded 2-core machine, and still orders of magnitude below the old cost.
DEADLINE = 2.0

ADVERSARIAL = {
    "query_name": "/api/v1/domain/acme/project/shop/databases?name=" + "a" * N,
    "equals": "=" * N,
    "colons": ":" * N,
    "password_words": "password" * (N // 8),
    "password_equals": "password=" * (N // 9),
    "double_quotes": '"' * N,
    "single_quotes": "'" * N,
    "at_signs": "@" * N,
    "scheme_letters": "a" * N + "://",
    "url_colons": "redis://" + ":" * N,
    "url_no_at": "redis://u:" + "p" * N,
    "bearer_spaces": "bearer" + " " * N + "!",
    "quoted_keys": "'password'" * (N // 10),
    "dotted": "a.-" * (N // 3),
    "key_space_colon": "token" + " " * N + "x",
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_scrubbing_a_hostile_100000_character_text_takes_linear_time(text: str) -> None:
    began = time.perf_counter()
    scrub_text(text)
    took = time.perf_counter() - began

    assert took < DEADLINE, f"scrubbing took {took:.2f}s"


def access(path: str, query: str = "") -> None:
    AccessLog().record(
        method="GET",
        path=path,
        query=query.encode(),
        status=401,
        seconds=0.001,
        client=("127.0.0.1", 5000),
        request_id="r-1",
    )


def test_a_hostile_access_line_is_logged_promptly_with_its_url_bounded_and_marked(
    console: io.StringIO,
) -> None:
    query = "name=" + "a" * N
    began = time.perf_counter()
    access("/api/v1/domain/acme/project/shop/databases", query)
    access("/api/v1/" + "b:" * N)
    took = time.perf_counter() - began

    first, second = console.getvalue().splitlines()
    assert took < DEADLINE
    assert len(first) < MAX_LOGGED_URL_CHARS + 500 and len(second) < MAX_LOGGED_URL_CHARS + 500
    assert f"[truncated {len(query) - MAX_LOGGED_URL_CHARS} chars]" in first
    assert first.startswith("http_request method=GET path=/api/v1/domain/acme/project/shop/")
    assert "status=401 " in first and "[truncated" in second


def test_a_secret_past_the_bound_of_a_long_url_does_not_reach_the_log(
    console: io.StringIO,
) -> None:
    url = "/api?x=" + "b" * 3000 + "&token=s3cr3t-token-value"
    access("/api", url.partition("?")[2])
    access("/api/password=s3cr3t-token-value/" + "c" * 3000)
    get_logger("app.test").info("request", url=url, authorization="Bearer " + "c" * 5000)

    assert "s3cr3t-token-value" not in console.getvalue()
    assert "c" * 5000 not in console.getvalue()


def test_a_long_header_value_in_an_event_is_bounded_with_a_marker(console: io.StringIO) -> None:
    get_logger("app.test").info("odd_header", user_agent="x" * N)

    text = console.getvalue()
    assert len(text) < MAX_LOGGED_VALUE_CHARS + 500
    assert "[truncated" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://default:hunter2@cache:6379/0", "redis://default:***@cache:6379/0"),
        ("redis://u:p@x@h:1 and more", "redis://u:***@h:1 and more"),
        ("see https://example.com/a:b no creds", "see https://example.com/a:b no creds"),
        ("Authorization: Bearer abc.def", "Authorization: *** ***"),
        ("sent Bearer abc.def here", "sent Bearer *** here"),
        ("user=app password=hunter2 host=db", "user=app password=*** host=db"),
        ("{'password': 'x y z'}", "{'password': '***'}"),
        ('{"api_key" : "k"}', '{"api_key" : "***"}'),
        ("/api?token=s&a=1", "/api?token=***&a=1"),
        ("passes=3 passed=yes", "passes=3 passed=yes"),
        ("db_password=hunter2, x=1", "db_password=***, x=1"),
        ("compass=north", "compass=north"),
    ],
)
def test_free_text_is_scrubbed_by_structure(text: str, expected: str) -> None:
    assert scrub_text(text) == expected
