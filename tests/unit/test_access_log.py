"""The access log (issue 19): one structured event per request, scrubbed by structure,
sampled or turned off; uvicorn's own access line is not written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.api.middleware import RequestMiddleware
from app.config.settings import LogFormat, LogLevel
from app.observability.access_log import AccessLog, scrub_query
from app.observability.log import configure_logging
from app.observability.metrics import Metrics


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.JSON, stream=stream)
    yield stream
    structlog.contextvars.clear_contextvars()
    configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE)


async def thing(_request: Request) -> JSONResponse:
    return JSONResponse({"id": "db-1"}, status_code=201)


async def get(access_log: AccessLog, url: str, **headers: str) -> httpx.Response:
    app = RequestMiddleware(
        Starlette(routes=[Route("/things/{id}", thing)]), metrics=Metrics(), access_log=access_log
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(url, headers=headers)


def access_events(stream: io.StringIO) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line["event"] == "http_request"]


async def test_a_request_leaves_one_access_event_with_method_path_status_duration_and_id(
    json_lines: io.StringIO,
) -> None:
    response = await get(AccessLog(), "/things/db-1", **{"X-Request-ID": "trace-7"})

    (event,) = access_events(json_lines)
    assert response.status_code == 201
    assert (event["method"], event["path"], event["status"]) == ("GET", "/things/db-1", 201)
    assert isinstance(event["duration_ms"], float) and event["duration_ms"] >= 0
    assert event["request_id"] == "trace-7" and event["logger"] == "app.access"
    assert "query" not in event


async def test_a_secret_in_the_query_string_is_masked_and_other_parameters_kept(
    json_lines: io.StringIO,
) -> None:
    await get(AccessLog(), "/things/db-1?limit=5&api%5Fkey=kdb_abc_s3cr3t&token=t0k3n&page=2")

    (event,) = access_events(json_lines)
    assert event["query"] == "limit=5&api%5Fkey=***&token=***&page=2"
    assert "s3cr3t" not in json.dumps(event) and "t0k3n" not in json.dumps(event)


@pytest.mark.parametrize(
    "access_log",
    [AccessLog(enabled=False), AccessLog(sample=0.0), AccessLog(enabled=False, sample=1.0)],
    ids=["off", "sample_0", "off_despite_sample_1"],
)
async def test_an_access_log_turned_off_or_sampled_at_zero_writes_no_event(
    json_lines: io.StringIO, access_log: AccessLog
) -> None:
    response = await get(access_log, "/things/db-1")

    assert response.status_code == 201
    assert access_events(json_lines) == []


async def test_a_sample_writes_the_requests_whose_draw_falls_under_it(
    json_lines: io.StringIO,
) -> None:
    draws = iter([0.05, 0.5, 0.09, 0.99])
    access_log = AccessLog(sample=0.1, draw=lambda: next(draws))

    for _ in range(4):
        await get(access_log, "/things/db-1")

    assert len(access_events(json_lines)) == 2


def test_a_sample_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        AccessLog(sample=1.5)


def test_a_query_is_cut_to_a_bound_with_a_marker_and_a_secret_cut_short_still_masked() -> None:
    query = "token=" + "x" * 5000

    scrubbed = scrub_query(query)

    assert scrubbed.startswith("token=***...[truncated ")
    assert "x" not in scrubbed


def test_a_line_on_uvicorns_access_logger_is_not_written(console: io.StringIO) -> None:
    # The request middleware writes the access event; uvicorn's line would be a second one
    # per request (and uvicorn does not even format it for a logger without handlers).
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/health", "1.1", 200
    )
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)

    assert console.getvalue().startswith("Started server process [42]")
    assert "/health" not in console.getvalue()


async def test_no_access_event_is_written_below_its_level() -> None:
    stream = io.StringIO()
    configure_logging(level=LogLevel.WARNING, fmt=LogFormat.CONSOLE, stream=stream)
    try:
        await get(AccessLog(), "/things/db-1")
    finally:
        configure_logging(level=LogLevel.INFO, fmt=LogFormat.CONSOLE)

    assert "http_request" not in stream.getvalue()


def test_a_console_access_line_reads_like_every_other_line(console: io.StringIO) -> None:
    AccessLog().record(
        method="GET",
        path="/things/db-1",
        query=b"",
        status=200,
        seconds=0.00123,
        client=("10.0.0.7", 5123),
        request_id="r-1",
    )

    line = console.getvalue().strip()
    assert line.startswith(
        "http_request method=GET path=/things/db-1 status=200 duration_ms=1.23 "
        "client=10.0.0.7:5123 request_id=r-1 level=info logger=app.access timestamp="
    )
    assert line.endswith("Z")
